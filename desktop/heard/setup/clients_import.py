"""Clients from a contacts export: what was read, what was skipped and why.

Reads what people actually have on disk:
- vCard (.vcf): Apple Contacts and iCloud (3.0: `itemN.` groups, X-ABLabel, `type=pref`,
  company cards, contact groups, folded PHOTO blobs), Google Contacts, Outlook and old
  phones (2.1: bare types, QUOTED-PRINTABLE with soft line breaks), vCard 4.0 (`tel:`
  URIs, KIND);
- CSV (.csv): Google Contacts (the 2024 export: "First Name", "E-mail 1 - Value", values
  joined by " ::: "; and the older one: "Name", "Given Name", "E-mail 1 - Type"), Outlook
  (desktop and Outlook.com: "First Name", "E-mail Address", "Mobile Phone", "Company"),
  and Heard's own columns (name, email, domain, phone, preferred_name, tier, channel,
  language, zone). A card's LANG and TZ (a zone name; an offset such as -05:00 says
  nothing of summer time and is left out with a note) are the client's language and zone.
  The format is told by the header row; the separator (comma, semicolon as European
  Excel writes, or tab) by the same row; the encoding by the bytes (UTF-8 with or without
  a byte-order mark, UTF-16, else Windows-1252 as Outlook and Excel write on Windows).

Phone numbers are kept as written: the engine reads them in the user's region.

Nothing here touches the store: `read_clients` reads a file, `without_clashes` sets aside
what would collide with the directory, and `import_clients` adds through whatever `add` it
is given (the engine's), so the CLI and the GUI report an import the same way.
"""

from __future__ import annotations

import codecs
import csv
import io
import quopri
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NamedTuple

from heard.domain.clients import (
    DEFAULT_TIER,
    Channel,
    Client,
    is_domain,
    is_email,
    is_phone,
    is_zone,
    normalize_email,
    normalize_phone,
)
from heard.domain.locales import LanguageError, parse_language
from heard.errors import HeardError, InvalidClient


class Skipped(NamedTuple):
    entry: str    # "line 4", "card 2 (Jane Roe)", or a client's name
    reason: str


@dataclass(frozen=True)
class Entry:
    label: str    # where in the file: "line 4", "card 2 (Jane Roe)"
    client: Client


@dataclass
class ImportResult:
    entries: list[Entry] = field(default_factory=list)
    # Entries that are not imported, each (which entry, why): a problem in the file...
    skipped: list[tuple[str, str]] = field(default_factory=list)
    # ... or an address that already belongs to a client (see without_clashes).
    clashing: list[tuple[str, str]] = field(default_factory=list)
    # Entries imported with something left out (a malformed second address, a fax number
    # shared with an earlier entry, an Exchange directory address), each (entry, what).
    notes: list[tuple[str, str]] = field(default_factory=list)
    format: str = ""      # "Google Contacts CSV", "vCard", ...
    encoding: str = ""    # "UTF-8", "Windows-1252", ...

    @property
    def clients(self) -> list[Client]:
        return [entry.client for entry in self.entries]


class ImportFormatError(HeardError, ValueError):
    """A file Heard cannot read as contacts: what is wrong with it, in words."""


SUFFIXES = (".vcf", ".vcard", ".csv")


def read_clients(path: Path) -> ImportResult:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ImportFormatError(f"{path.name}: use a .vcf or .csv file (a vCard or CSV"
                                " export from Google Contacts, Apple Contacts or Outlook)")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImportFormatError(f"cannot read {path}: {exc.strerror}") from exc
    text, encoding = decode(data)
    if suffix == ".csv" and not text.lstrip().upper().startswith("BEGIN:VCARD"):
        result = parse_csv(text)
    else:
        result = parse_vcards(text)
    result.encoding = encoding
    return result


def decode(data: bytes) -> tuple[str, str]:
    """The text and the name of its encoding. A byte-order mark decides; else UTF-8 if the
    bytes are UTF-8; else Windows-1252 (what Outlook and Excel write on Windows)."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8):].decode("utf-8", errors="replace"), "UTF-8"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace"), "UTF-16"
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "Windows-1252"
    except UnicodeDecodeError:   # one of the five bytes Windows-1252 leaves undefined
        return data.decode("latin-1"), "ISO-8859-1"


# --- checks shared by every format (is_email, is_domain, is_phone: heard.domain.clients,
# the same checks as every other way a client is added) ---


def _clean(text: str) -> str:
    """One line of plain text: control characters (a CR/LF that would end up in a mail
    header or a template) become spaces, runs of spaces become one."""
    return " ".join("".join(" " if ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0
                            or ch in "\u2028\u2029" else ch for ch in text).split())


def _address(value: str) -> str:
    """The bare address from 'mailto:a@b', 'SMTP:a@b' or 'Jane Roe <a@b>'."""
    value = value.strip()
    if "<" in value and value.endswith(">"):
        value = value[value.rindex("<") + 1:-1]
    value = re.sub(r"^(mailto|smtp):", "", value.strip(), flags=re.IGNORECASE)
    return value.strip().strip("<>").strip()


def _digits(number: str) -> str:
    return ("+" if number.strip().startswith("+") else "") + "".join(
        ch for ch in number if ch.isdigit())


@dataclass
class _Contact:
    """What one row or card says, before it becomes a Client."""
    name: str = ""
    first: str = ""
    middle: str = ""
    last: str = ""
    suffix: str = ""
    nickname: str = ""
    organisation: str = ""
    fallback_name: str = ""     # a display name when nothing better is known
    emails: list[str] = field(default_factory=list)
    domains: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    # Addresses found but not usable, each (value, why): an Exchange directory address.
    unusable: list[tuple[str, str]] = field(default_factory=list)
    tier: str = DEFAULT_TIER
    channel: Channel | None = None
    group: bool = False
    language: str = ""
    zone: str = ""

    def full_name(self) -> str:
        for candidate in (self.name,
                          " ".join(p for p in (self.first, self.middle, self.last, self.suffix)
                                   if p.strip()),
                          self.organisation, self.fallback_name):
            if _clean(candidate):
                return _clean(candidate)
        return ""


class _Collector:
    """Turns contacts into entries, skipping (with a reason) what cannot be a client, and
    duplicates within the file."""

    def __init__(self, result: ImportResult) -> None:
        self.result = result
        self.emails: dict[str, str] = {}    # address -> the entry that has it
        self.domains: dict[str, str] = {}
        self.phones: dict[str, str] = {}

    def skip(self, label: str, reason: str) -> None:
        self.result.skipped.append(Skipped(label, reason))

    def add(self, label: str, contact: _Contact, named_label: bool = False) -> None:
        name = contact.full_name()
        if named_label and name:
            label = f"{label} ({name})"
        if contact.group:
            self.skip(label, "a contact group, not a person")
            return
        emails: list[str] = []
        bad: list[tuple[str, str]] = list(contact.unusable)
        for raw in contact.emails:
            address = _address(raw)
            if not address:
                continue
            if is_email(address):
                if normalize_email(address) not in (normalize_email(e) for e in emails):
                    emails.append(address)
            else:
                bad.append((raw.strip(), "not an email address"))
        domains = [d.strip() for d in contact.domains if d.strip()]
        for domain in domains:
            if not is_domain(domain):
                bad.append((domain, "not a domain"))
        domains = [d for d in domains if is_domain(d)]
        phones: list[str] = []
        for raw in contact.phones:
            number = _clean(raw)
            number = number[4:] if number.lower().startswith("tel:") else number
            if not number:
                continue
            if not is_phone(number):
                bad.append((number, "not a phone number"))
            elif _digits(number) not in (_digits(p) for p in phones):
                phones.append(number)
        found_any = bool(emails or domains or phones or bad)
        if not name:
            self.skip(label, "no name" if found_any else "no name, email address or phone number")
            return
        if not (emails or domains or phones):
            if bad:
                value, why = bad[0]
                self.skip(label, f"{why}: {value!r}")
            else:
                self.skip(label, "no email address, domain or phone number")
            return
        for address in emails:
            if (first := self.emails.get(normalize_email(address))) is not None:
                self.skip(label, f"{normalize_email(address)} is already in this file: {first}")
                return
        for domain in domains:
            if (first := self.domains.get(domain.lower().lstrip("@"))) is not None:
                self.skip(label, f"domain {domain} is already in this file: {first}")
                return
        notes = [f"left out {value!r}: {why}" for value, why in bad]
        language, zone = contact.language.strip() or None, contact.zone.strip() or None
        if language is not None:
            try:
                language = parse_language(language)
            except LanguageError:
                notes.append(f"left out language {language!r}: not a language Heard knows")
                language = None
        if zone is not None and not is_zone(zone):
            notes.append(f"left out time zone {zone!r}: not a zone name (like Europe/Berlin)")
            zone = None
        kept: list[str] = []
        for number in phones:
            if (first := self.phones.get(_digits(number))) is not None:
                notes.append(f"left out phone {number}: it is also on {first}")
            else:
                kept.append(number)
        if not (emails or domains or kept):
            self.skip(label, f"phone {phones[0]} is already in this file: "
                             f"{self.phones[_digits(phones[0])]}")
            return
        where = label if named_label else f"{label} ({name})"
        for address in emails:
            self.emails[normalize_email(address)] = where
        for domain in domains:
            self.domains[domain.lower().lstrip("@")] = where
        for number in kept:
            self.phones[_digits(number)] = where
        channel = contact.channel or (Channel.CALL if kept and not (emails or domains)
                                      else Channel.EMAIL)
        client = Client(name=name, emails=tuple(emails), domains=tuple(domains),
                        phones=tuple(kept), preferred_name=_clean(contact.nickname) or None,
                        tier=contact.tier or DEFAULT_TIER, channel=channel,
                        language=language, zone=zone)
        self.result.entries.append(Entry(label, client))
        self.result.notes.extend(Skipped(label, note) for note in notes)


# --- CSV ---

def _key(header: str) -> str:
    return " ".join(header.replace("\ufeff", "").strip().lower().split())


def _delimiter(first_line: str) -> str:
    """The separator the header row uses most, outside quotes."""
    counts = dict.fromkeys(",;\t", 0)
    quoted = False
    for ch in first_line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(counts, key=lambda ch: counts[ch])
    return best if counts[best] else ","


def _split(value: str, separators: str = r"[;,]") -> list[str]:
    return [v.strip() for v in re.split(separators, value) if v.strip()]


CSV_COLUMNS = ("name", "email", "domain", "phone", "preferred_name", "tier", "channel",
               "language", "zone")

# Outlook's phone columns that reach the person (not faxes, pagers, their assistant, or the
# switchboard that every contact at the firm shares).
OUTLOOK_PHONES = ("primary phone", "mobile phone", "business phone", "business phone 2",
                  "home phone", "home phone 2", "other phone", "car phone", "callback",
                  "radio phone")
# What a Google export may call its columns, in the 2024 export and in the older one.
GOOGLE_NAMES = {"name": ("name",), "first": ("first name", "given name"),
                "middle": ("middle name", "additional name"),
                "last": ("last name", "family name"), "suffix": ("name suffix",),
                "nickname": ("nickname",),
                "organisation": ("organization name", "organization 1 - name"),
                "fallback": ("file as",)}


def _csv_format(keys: set[str]) -> str | None:
    if any(re.fullmatch(r"(e-mail|phone) \d+ - value", k) for k in keys) or \
            {"given name", "family name"} & keys:
        return ("Google Contacts CSV (older export)"
                if {"given name", "group membership"} & keys else "Google Contacts CSV")
    if "e-mail address" in keys or {"first name", "company"} <= keys:
        return "Outlook CSV"
    if "name" in keys:
        return "Heard CSV"
    return None


def parse_csv(text: str) -> ImportResult:
    """A CSV export (see the module's docstring). Every row becomes a client or a skipped
    entry with its reason; rows with nothing in them (Excel's trailing ",,,,") are passed
    over. An entry is named by its first line in the file ("line 4")."""
    text = text.removeprefix("\ufeff")
    first_line, _, rest = text.partition("\n")
    line_offset = 0
    sep = re.fullmatch(r"\s*\"?sep=(.)\"?\s*", first_line)   # Excel's "sep=;" first line
    if sep:
        delimiter, text, line_offset = sep.group(1), rest, 1
    else:
        delimiter = _delimiter(first_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFormatError("the CSV file is empty: it needs a header row") from None
    except csv.Error as exc:
        raise ImportFormatError(f"the CSV file cannot be read: {exc}") from exc
    keys = [_key(h) for h in header]
    kind = _csv_format(set(keys))
    if kind is None:
        shown = ", ".join(repr(h.strip()) for h in header[:6] if h.strip())
        raise ImportFormatError(
            f"the CSV's columns ({shown}{', ...' if len(header) > 6 else ''}) are not an export"
            " Heard knows: export from Google Contacts or Outlook, or use a header row with a"
            f" 'name' column and any of {', '.join(CSV_COLUMNS[1:])}")
    result = ImportResult(format=kind)
    collect = _Collector(result)
    row_reader: Callable[[Mapping[str, str], str, _Collector], _Contact | None] = (
        _google_row if kind.startswith("Google") else
        _outlook_row if kind.startswith("Outlook") else _heard_row)
    previous_end = reader.line_num
    while True:
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            result.skipped.append(Skipped(f"line {previous_end + 1 + line_offset}",
                                          f"the CSV cannot be read from here on: {exc}"))
            break
        label = f"line {previous_end + 1 + line_offset}"
        previous_end = reader.line_num
        if not any(v.strip() for v in values):
            continue
        row: dict[str, str] = {}
        for key, value in zip(keys, values, strict=False):
            if key and key not in row:
                row[key] = value.strip()
        contact = row_reader(row, label, collect)
        if contact is not None:
            collect.add(label, contact)
    return result


def _first(row: Mapping[str, str], names: Iterable[str]) -> str:
    return next((row[n] for n in names if row.get(n)), "")


def _google_row(row: Mapping[str, str], _label: str, _collect: _Collector) -> _Contact:
    """Google joins several values in one cell with " ::: "."""
    def many(pattern: str) -> list[str]:
        return [v.strip() for k, cell in row.items() if re.fullmatch(pattern, k)
                for v in cell.split(":::") if v.strip()]

    names = {role: _first(row, columns) for role, columns in GOOGLE_NAMES.items()}
    return _Contact(name=names["name"], first=names["first"], middle=names["middle"],
                    last=names["last"], suffix=names["suffix"], nickname=names["nickname"],
                    organisation=names["organisation"], fallback_name=names["fallback"],
                    emails=many(r"e-mail \d+ - value"), phones=many(r"phone \d+ - value"))


def _outlook_row(row: Mapping[str, str], _label: str, _collect: _Collector) -> _Contact:
    """Outlook (desktop and Outlook.com). Desktop Outlook writes a colleague's address as
    the Exchange directory path ("/o=ExchangeLabs/ou=.../cn=...", type EX): the display name
    sometimes holds the real address in brackets, else the address is left out."""
    contact = _Contact(first=row.get("first name", ""), middle=row.get("middle name", ""),
                       last=row.get("last name", ""), suffix=row.get("suffix", ""),
                       nickname=row.get("nickname", ""), organisation=row.get("company", ""))
    for n in ("", " 2", " 3"):
        address = row.get(f"e-mail{n} address", "")
        kind = row.get(f"e-mail{n} type", "").upper()
        shown = row.get(f"e-mail{n} display name", "")
        if not contact.fallback_name and shown:
            contact.fallback_name = re.sub(r"\s*\([^()]*@[^()]*\)\s*$", "", shown)
        if not address:
            continue
        if kind == "EX" or address.lower().startswith("/o="):
            inside = re.search(r"\(([^()\s]+@[^()\s]+)\)", shown)
            if inside:
                contact.emails.append(inside.group(1))
            else:
                contact.unusable.append((address, "an Exchange directory address, not an"
                                                  " email address"))
            continue
        contact.emails.append(address)
    contact.phones = [row[k] for k in OUTLOOK_PHONES if row.get(k)]
    return contact


def _heard_row(row: Mapping[str, str], label: str, collect: _Collector) -> _Contact | None:
    """Heard's own columns; several addresses in one cell are separated by ';' or ','."""
    try:
        channel = Channel((row.get("channel") or "email").lower())
    except ValueError:
        collect.skip(label, f"channel {row.get('channel')!r} is not email or call")
        return None
    return _Contact(name=row.get("name", ""), nickname=row.get("preferred_name", ""),
                    emails=_split(row.get("email", "")), domains=_split(row.get("domain", "")),
                    phones=_split(row.get("phone", "")),
                    tier=row.get("tier") or DEFAULT_TIER, channel=channel,
                    language=_first(row, ("language", "lang")),
                    zone=_first(row, ("zone", "time zone", "timezone", "tz")))


# --- vCard ---

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# Properties whose values are never read (photos can be megabytes of base64).
_BLOBS = {"PHOTO", "LOGO", "SOUND", "KEY"}
_NOT_A_VOICE = {"FAX", "PAGER", "TEXTPHONE"}


def _head_and_value(line: str) -> tuple[str, str] | None:
    """Split 'item1.EMAIL;type=INTERNET:a@b' at the first colon outside double quotes."""
    quoted = False
    for i, ch in enumerate(line):
        if ch == '"':
            quoted = not quoted
        elif ch == ":" and not quoted:
            return line[:i], line[i + 1:]
    return None


def _quoted_printable(line: str) -> bool:
    """Whether a (vCard 2.1) line's value is quoted-printable: then '=' at the end of a
    line is a soft break, and the value goes on on the next line."""
    parts = _head_and_value(line)
    return parts is not None and "QUOTED-PRINTABLE" in parts[0].upper()


def _content_lines(text: str) -> Iterator[str]:
    """Unfolded lines: one that starts with a space or tab continues the line before
    (RFC 6350 3.2); so does any line after a quoted-printable '=' soft break (vCard 2.1)."""
    parts: list[str] = []
    for raw in _LINE_BREAK.split(text):
        if parts and parts[-1].endswith("=") and _quoted_printable(parts[0]):
            parts[-1] = parts[-1][:-1]
            parts.append(raw[1:] if raw[:1] in (" ", "\t") else raw)
            continue
        if parts and raw[:1] in (" ", "\t"):
            parts.append(raw[1:])
            continue
        if parts:
            yield "".join(parts)
        parts = [raw]
    if parts:
        yield "".join(parts)


class _Property(NamedTuple):
    name: str
    types: frozenset[str]
    value: str      # decoded (quoted-printable), still escaped


def _property(line: str) -> _Property | None:
    parts = _head_and_value(line)
    if parts is None:
        return None      # a stray line (base64 that a 2.1 exporter did not indent)
    head, value = parts
    pieces = head.split(";")
    name = pieces[0].rsplit(".", 1)[-1].strip().upper()   # 'item1.EMAIL' -> 'EMAIL'
    if name in _BLOBS:
        return _Property(name, frozenset(), "")
    types: set[str] = set()
    encoding, charset = "", ""
    for piece in pieces[1:]:
        key, eq, val = piece.partition("=")
        key = key.strip().upper()
        if not eq:            # vCard 2.1: bare types (TEL;WORK;VOICE) and encodings
            if key in ("QUOTED-PRINTABLE", "BASE64", "B", "8BIT"):
                encoding = key
            else:
                types.add(key)
        elif key == "TYPE":
            types.update(t.strip().strip('"').upper() for t in val.split(","))
        elif key == "ENCODING":
            encoding = val.strip().upper()
        elif key == "CHARSET":
            charset = val.strip().strip('"')
        elif key == "PREF":   # vCard 4.0: PREF=1
            types.add("PREF")
    if encoding == "QUOTED-PRINTABLE":
        raw = quopri.decodestring(value.encode("utf-8"))
        try:
            value = raw.decode(charset or "utf-8")
        except (LookupError, UnicodeDecodeError):
            value = raw.decode("cp1252", errors="replace")
    elif encoding in ("BASE64", "B"):
        value = ""        # binary, never a name or an address
    return _Property(name, frozenset(types), value)


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def _components(value: str, separator: str = ";") -> list[str]:
    """A structured value's parts (N, ORG), split at separators that are not escaped."""
    parts: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            current.append(value[i:i + 2])
            i += 2
            continue
        if ch == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    return [_unescape(p) for p in parts]


def _card_contact(props: list[_Property]) -> _Contact:
    contact = _Contact()
    emails: list[tuple[bool, str]] = []
    phones: list[tuple[bool, str]] = []
    for prop in props:
        if prop.name == "FN" and not contact.name:
            contact.name = _unescape(prop.value)
        elif prop.name == "N" and not (contact.first or contact.last):
            parts = [p.replace(",", " ") for p in _components(prop.value)] + [""] * 5
            contact.last, contact.first, contact.middle, _prefix, contact.suffix = parts[:5]
        elif prop.name == "NICKNAME" and not contact.nickname:
            contact.nickname = next((n for n in _components(prop.value, ",") if n.strip()), "")
        elif prop.name == "ORG" and not contact.organisation:
            contact.organisation = _components(prop.value)[0]
        elif prop.name == "EMAIL" and prop.value.strip():
            emails.append(("PREF" in prop.types, _unescape(prop.value)))
        elif prop.name == "TEL" and prop.value.strip() and not any(
                t in _NOT_A_VOICE or "FAX" in t for t in prop.types):
            phones.append(("PREF" in prop.types, _unescape(prop.value)))
        elif prop.name == "LANG" and prop.value.strip() and (
                not contact.language or "PREF" in prop.types):
            contact.language = _unescape(prop.value).strip()
        elif prop.name == "TZ" and prop.value.strip() and not contact.zone:
            contact.zone = _unescape(prop.value).strip()
        elif prop.name in ("KIND", "X-ADDRESSBOOKSERVER-KIND"):
            contact.group = prop.value.strip().lower() == "group"
    # The preferred address first (sorting is stable: the file's order otherwise).
    contact.emails = [v for _, v in sorted(emails, key=lambda e: not e[0])]
    contact.phones = [v for _, v in sorted(phones, key=lambda p: not p[0])]
    return contact


def _card_label(number: int, props: list[_Property]) -> str:
    name = _card_contact(props).full_name()
    return f"card {number}" + (f" ({name})" if name else "")


def parse_vcards(text: str) -> ImportResult:
    """Every card in a .vcf (see the module's docstring): FN (else N, else ORG) as the name,
    NICKNAME as the preferred name, EMAIL, TEL (not faxes or pagers). An entry is named by
    its place in the file: "card 3 (Jane Roe)"."""
    result = ImportResult(format="vCard")
    collect = _Collector(result)
    props: list[_Property] | None = None
    number = 0
    versions: set[str] = set()
    for line in _content_lines(text):
        prop = _property(line)
        if prop is None:
            continue
        if prop.name == "BEGIN" and prop.value.strip().upper() == "VCARD":
            if props is not None:   # never keep a card cut short
                collect.skip(_card_label(number, props), "the card has no END:VCARD")
            props, number = [], number + 1
        elif prop.name == "END" and prop.value.strip().upper() == "VCARD":
            if props is not None:
                collect.add(f"card {number}", _card_contact(props), named_label=True)
            props = None
        elif props is not None:
            if prop.name == "VERSION":
                versions.add(prop.value.strip())
            props.append(prop)
    if props is not None:
        collect.skip(_card_label(number, props), "the file ends inside this card (no END:VCARD)")
    if number == 0:
        raise ImportFormatError("no vCard in this file (no BEGIN:VCARD line)")
    if versions:
        result.format = f"vCard {', '.join(sorted(versions))}"
    return result


# --- against the directory ---

def without_clashes(result: ImportResult, existing: Iterable[Client],
                    region: str = "US") -> ImportResult:
    """The result with every entry whose address already belongs to a client (or prospect)
    moved to `clashing`: what the store would refuse, told before anything is added.
    Phone numbers are compared as the engine stores them (E.164, read in `region`)."""
    owners: dict[tuple[str, str], Client] = {}
    for client in existing:
        for kind, values in (("email", client.emails), ("domain", client.domains),
                             ("phone", client.phones)):
            for value in values:
                owners.setdefault((kind, value), client)
    keep: list[Entry] = []
    clashing = list(result.clashing)
    for entry in result.entries:
        c = entry.client
        wanted = [*(("email", e) for e in c.emails), *(("domain", d) for d in c.domains),
                  *(("phone", normalize_phone(p, region) or p) for p in c.phones)]
        owner = next(((k, v, owners[(k, v)]) for k, v in wanted if (k, v) in owners), None)
        if owner is None:
            keep.append(entry)
            continue
        kind, value, who = owner
        clashing.append(Skipped(c.name, f"{kind} {value} already belongs to "
                                        f"{'prospect' if who.prospect else 'client'} "
                                        f"{who.name!r}"))
    return replace(result, entries=keep, clashing=clashing,
                   skipped=list(result.skipped), notes=list(result.notes))


@dataclass
class ImportReport:
    added: list[Client] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)    # problems in the file
    clashing: list[tuple[str, str]] = field(default_factory=list)   # refused: address taken
    notes: list[tuple[str, str]] = field(default_factory=list)      # added, something left out

    def lines(self) -> list[str]:
        """The report in words, for a terminal or a window."""
        n = len(self.added)
        out = [f"Imported {n} client{'' if n == 1 else 's'}, skipped "
               f"{len(self.skipped) + len(self.clashing)}."]
        if self.skipped:
            out.append("Skipped (a problem in the file):")
            out += [f"  {entry}: {reason}" for entry, reason in self.skipped]
        if self.clashing:
            out.append("Not added (an address already belongs to someone in Heard):")
            out += [f"  {entry}: {reason}" for entry, reason in self.clashing]
        if self.notes:
            out.append("Added, with something left out:")
            out += [f"  {entry}: {note}" for entry, note in self.notes]
        return out


def import_clients(result: ImportResult, add: Callable[[Client], Client],
                   refused: tuple[type[Exception], ...]) -> ImportReport:
    """Add every entry through `add` (the engine's add_client). An entry `add` refuses with
    one of the `refused` errors (ClientClash: an address that already
    belongs to a client) is reported as clashing, under the client's name; any other error
    stops the import and is raised, with what was added so far kept."""
    report = ImportReport(skipped=list(result.skipped), clashing=list(result.clashing),
                          notes=list(result.notes))
    for entry in result.entries:
        try:
            report.added.append(add(entry.client))
        except InvalidClient as exc:   # the engine's checks (a tier with no standard)
            report.skipped.append(Skipped(entry.client.name, str(exc)))
        except refused as exc:
            report.clashing.append(Skipped(entry.client.name, str(exc)))
    return report
