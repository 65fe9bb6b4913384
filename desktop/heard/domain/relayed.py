"""Mail that a robot sends on behalf of a person: voicemail and contact-form notifications.

A phone system turns a missed call into a voicemail email; a website turns a visitor's
message into a contact-form email. The robot is the sender, the person is in the text.
A `PatternSet` says how to recognise one such system (its match rules) and where it
writes each fact about the person (its field rules). Admins reword these mails, so the
sets are data: shipped as defaults and overridable by the user (see pattern_files).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from heard.domain.clients import normalize_phone
from heard.domain.messages import MessageFacts
from heard.domain.templates import header_safe


class RelayKind(StrEnum):
    VOICEMAIL = "voicemail"
    CONTACT_FORM = "contact_form"


class Field(StrEnum):
    """The facts about the person that a pattern set can read."""

    NAME = "name"
    NUMBER = "number"
    EMAIL = "email"
    MESSAGE = "message"
    SUBJECT = "subject"


class Source(StrEnum):
    """Where a field rule looks."""

    HEADER = "header"
    SUBJECT = "subject"
    BODY = "body"


_VALUE_GROUP = re.compile(r"value\d*")


def value_groups(pattern: re.Pattern[str]) -> tuple[str, ...]:
    """The groups a field rule keeps: `value`, or `value`, `value2`, ... joined by a space."""
    named = sorted(pattern.groupindex.items(), key=lambda item: item[1])
    return tuple(name for name, _index in named if _VALUE_GROUP.fullmatch(name))


@dataclass(frozen=True)
class FieldRule:
    """One place a field may be written: a header (whole, or the regex's value in it),
    or a regex over the subject or the body with a named group `value`."""

    source: Source
    pattern: re.Pattern[str] | None = None
    header: str = ""

    def __post_init__(self) -> None:
        if self.source is Source.HEADER:
            if not self.header.strip():
                raise ValueError("a header rule needs the header's name")
            object.__setattr__(self, "header", self.header.strip().lower())
        elif self.pattern is None:
            raise ValueError(f"a {self.source} rule needs a regex")
        if self.pattern is not None and not value_groups(self.pattern):
            raise ValueError("the regex needs a named group (?P<value>...) around the part "
                             "to keep")

    def read(self, facts: MessageFacts) -> str | None:
        if self.source is Source.HEADER:
            text = (facts.headers or {}).get(self.header)
            if text is None:
                return None
        else:
            text = facts.subject if self.source is Source.SUBJECT else facts.body_text
        if self.pattern is None:
            return text
        found = self.pattern.search(text)
        if found is None:
            return None
        parts = [found.group(name) for name in value_groups(self.pattern)]
        kept = [part for part in parts if part and part.strip()]
        if len(kept) == 1:
            return kept[0]
        return " ".join(part.strip() for part in kept) or None


@dataclass(frozen=True)
class PatternSet:
    """How to recognise one robot's notifications, and where the person is in them.

    Every given match rule must match for the set to apply; a header rule for a header
    the message does not have fails. For each field, the first rule that yields a usable
    value wins.
    """

    name: str
    kind: RelayKind
    label: str
    fields: Mapping[Field, tuple[FieldRule, ...]] = field(default_factory=dict)
    headers: Mapping[str, re.Pattern[str]] = field(default_factory=dict)
    sender: re.Pattern[str] | None = None
    subject: re.Pattern[str] | None = None
    body: re.Pattern[str] | None = None

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("a pattern set needs a name")
        if not (self.headers or self.sender or self.subject or self.body):
            raise ValueError(f"pattern set {self.name!r} needs at least one match rule, "
                             "or it would claim every message")
        object.__setattr__(self, "kind", RelayKind(self.kind))
        object.__setattr__(self, "headers",
                           {name.strip().lower(): rx for name, rx in self.headers.items()})
        object.__setattr__(self, "fields",
                           {Field(name): tuple(rules) for name, rules in self.fields.items()})

    def matches(self, facts: MessageFacts) -> bool:
        headers = facts.headers or {}
        for name, rx in self.headers.items():
            value = headers.get(name)
            if value is None or not rx.search(value):
                return False
        checks = ((self.sender, facts.from_addr), (self.subject, facts.subject),
                  (self.body, facts.body_text))
        return all(rx is None or rx.search(text) for rx, text in checks)

    def candidates(self, which: Field, facts: MessageFacts) -> Iterator[str]:
        """The raw values the field's rules find, in rule order."""
        for rule in self.fields.get(which, ()):
            value = rule.read(facts)
            if value is not None:
                yield value


@dataclass(frozen=True)
class Relayed:
    """The person behind a robot's notification, as far as the mail says."""

    kind: RelayKind
    system: str                 # the pattern set's name
    label: str
    name: str | None
    number: str | None          # E.164 when the number parses
    number_raw: str | None      # as the mail wrote it
    withheld: bool              # a voicemail with no callable number (anonymous, restricted...)
    email: str | None           # one valid address to reply to, lower-case, never the robot's
    message: str                # what the person wrote, or the voicemail's transcription
    complete: bool              # contact form: has an email; voicemail: has a number
    subject: str | None = None  # the subject the person gave, where the form asks for one


_ADDRESS = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+")
_WITHHELD = re.compile(
    r"anonymous|unknown|restricted|private|withheld|unavailable|blocked|no caller ?id|"
    r"out of area|presentation", re.IGNORECASE)
# What carriers and phone systems put where a caller's name would be, when there is none.
_NO_NAME = re.compile(
    r"(?:wireless caller|(?:an )?unknown(?: caller| name| number)?|anonymous(?: caller)?|"
    r"restricted|private(?: caller| number| name)?|unavailable|withheld|blocked|"
    r"no caller ?id|out of area|toll free(?: caller)?|cell phone(?: [a-z]{2})?|"
    r"voice ?mail|caller)", re.IGNORECASE)
_PHONE_RUN = re.compile(r"\+?\(?\d[\d ()./-]*\d")
_PHONE_HEAD = re.compile(r"^\+?\(?\d[\d ()./-]{4,}\d\)?")
_PHONE_TAIL = re.compile(r"\+?\(?\d[\d ()./-]{4,}\d\)?$")
_NAME_EDGES = " \"'<>,;:-"
_MIN_DIGITS = 6
_MAX_LINE = 200
_MAX_NAME = 100
_MAX_NUMBER = 64


def recognise(facts: MessageFacts, sets: Sequence[PatternSet],
              region: str = "US") -> Relayed | None:
    """The person behind a voicemail or contact-form notification, read with the first
    set that matches; None when no set does. Whether the person is a client is not asked
    here: a caller nobody knows is exactly who matters most."""
    for pattern_set in sets:
        if pattern_set.matches(facts):
            return _read(pattern_set, facts, region)
    return None


def _read(pattern_set: PatternSet, facts: MessageFacts, region: str) -> Relayed:
    robot = {facts.from_addr.strip().lower(), *(addr.strip().lower() for addr in facts.to)}
    name = _first(pattern_set, Field.NAME, facts, _clean_name)
    number_raw = _first(pattern_set, Field.NUMBER, facts, _clean_number)
    email = _first(pattern_set, Field.EMAIL, facts, lambda value: _clean_email(value, robot))
    message = _first(pattern_set, Field.MESSAGE, facts, _clean_message) or ""
    subject = _first(pattern_set, Field.SUBJECT, facts, _clean_line)
    number = _phone(number_raw, region)
    voicemail = pattern_set.kind is RelayKind.VOICEMAIL
    withheld = voicemail and number is None and (
        number_raw is None or bool(_WITHHELD.search(number_raw)))
    return Relayed(
        kind=pattern_set.kind,
        system=pattern_set.name,
        label=pattern_set.label,
        name=name,
        number=number,
        number_raw=number_raw,
        withheld=withheld,
        email=email,
        message=message,
        complete=(number is not None) if voicemail else (email is not None),
        subject=subject,
    )


def _first(pattern_set: PatternSet, which: Field, facts: MessageFacts,
           clean: Callable[[str], str | None]) -> str | None:
    for value in pattern_set.candidates(which, facts):
        cleaned = clean(value)
        if cleaned:
            return cleaned
    return None


def _clean_line(value: str) -> str | None:
    line = header_safe(value).strip(" \"'")
    return line[:_MAX_LINE] or None


def _clean_name(value: str) -> str | None:
    """A person's name, or None for what phone systems write when they have none.

    A number written beside the name ("WIRELESS CALLER (650) 555-0117", "Oliver Grant -
    3125550166") is not part of it, so rules may simply keep the whole line.
    """
    line = _clean_line(value)
    if line is None:
        return None
    name = _PHONE_TAIL.sub("", _PHONE_HEAD.sub("", line.strip(_NAME_EDGES))).strip(_NAME_EDGES)
    if (not name or len(name) > _MAX_NAME or "@" in name
            or not any(ch.isalpha() for ch in name) or _NO_NAME.fullmatch(name)):
        return None
    # Caller-ID databases shout ("ROSALIND OKAFOR"); a greeting should not.
    return name.title() if name.isupper() else name


def _clean_number(value: str) -> str | None:
    """The phone number as written: the longest run of digits in the value when it has one
    ("WIRELESS CALLER (650) 555-0117" gives "(650) 555-0117"), else the value itself
    ("anonymous", "Restricted", an extension)."""
    line = _clean_line(value)
    if line is None:
        return None
    runs = [run.strip() for run in _PHONE_RUN.findall(line)]
    best = max(runs, key=_digits, default="")
    if _digits(best) >= _MIN_DIGITS:
        return best
    return line.strip(" <>,;:")[:_MAX_NUMBER] or None


def _digits(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


def _phone(raw: str | None, region: str) -> str | None:
    if raw is None or _digits(raw) < _MIN_DIGITS:
        return None
    return normalize_phone(raw, region)


def _clean_email(value: str, robot: set[str]) -> str | None:
    """One syntactically valid address, lower-case, that is not the robot's (or ours)."""
    found = {addr.lower() for addr in _ADDRESS.findall(value[:1000])} - robot
    if len(found) != 1:
        return None
    addr = found.pop()
    return None if ".." in addr or len(addr) > 254 else addr


def _clean_message(value: str) -> str | None:
    text = value.replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(ch for ch in text if ch in "\n\t" or not (ch < " " or ch == "\x7f"))
    lines = [line.rstrip() for line in text.split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return text or None
