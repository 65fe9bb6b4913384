"""Clients from a vCard (.vcf) or CSV file: what was read, and what was skipped and why."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from heard.domain.clients import DEFAULT_TIER, Channel, Client


@dataclass
class ImportResult:
    clients: list[Client] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)   # (which entry, why)


class ImportFormatError(ValueError):
    pass


def read_clients(path: Path) -> ImportResult:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        text = path.read_text(encoding="latin-1")
    except OSError as exc:
        raise ImportFormatError(f"cannot read {path}: {exc.strerror}") from exc
    suffix = path.suffix.lower()
    if suffix in (".vcf", ".vcard"):
        return parse_vcards(text)
    if suffix == ".csv":
        return parse_csv(text)
    raise ImportFormatError(f"{path.name}: use a .vcf or .csv file")


def _split(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in re.split(r"[;,]", value) if v.strip())


CSV_COLUMNS = ("name", "email", "domain", "phone", "preferred_name", "tier", "channel")


def parse_csv(text: str) -> ImportResult:
    """Columns (header row, any order): name, email, domain, phone, preferred_name, tier,
    channel. Several addresses in one cell are separated by ';'."""
    result = ImportResult()
    reader = csv.DictReader(io.StringIO(text))
    headers = {h.strip().lower() for h in (reader.fieldnames or [])}
    if "name" not in headers:
        raise ImportFormatError(f"the CSV needs a header row with a 'name' column; columns: "
                                f"{', '.join(CSV_COLUMNS)}")
    for line, row in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        label = f"line {line}"
        try:
            channel = Channel(row.get("channel") or "email")
        except ValueError:
            result.skipped.append((label, f"channel {row.get('channel')!r} is not email or call"))
            continue
        client = _client(row.get("name", ""), _split(row.get("email", "")),
                         _split(row.get("domain", "")), _split(row.get("phone", "")),
                         row.get("preferred_name") or None, row.get("tier") or DEFAULT_TIER,
                         channel, label, result)
        if client:
            result.clients.append(client)
    return result


def _unfold(text: str) -> list[str]:
    lines: list[str] = []
    for raw in text.splitlines():
        if raw[:1] in (" ", "\t") and lines:
            lines[-1] += raw[1:]
        else:
            lines.append(raw)
    return lines


def _unescape(value: str) -> str:
    return value.replace("\\,", ",").replace("\\;", ";").replace("\\n", " ").replace("\\\\", "\\")


def parse_vcards(text: str) -> ImportResult:
    """vCard 3.0/4.0: FN (or N), EMAIL, TEL, NICKNAME (as preferred name)."""
    result = ImportResult()
    card: dict[str, list[str]] | None = None
    number = 0
    for line in _unfold(text):
        name, _, value = line.partition(":")
        prop = name.split(";", 1)[0].split(".")[-1].upper()
        if prop == "BEGIN" and value.strip().upper() == "VCARD":
            card, number = {}, number + 1
        elif prop == "END" and card is not None:
            full = next(iter(card.get("FN", [])), "")
            if not full and card.get("N"):
                family, _, rest = card["N"][0].partition(";")
                full = f"{rest.split(';')[0]} {family}".strip()
            nick = next(iter(card.get("NICKNAME", [])), "") or None
            client = _client(full, tuple(card.get("EMAIL", [])), (),
                             tuple(card.get("TEL", [])), nick, DEFAULT_TIER, Channel.EMAIL,
                             f"card {number}" + (f" ({full})" if full else ""), result)
            if client:
                result.clients.append(client)
            card = None
        elif card is not None and value:
            card.setdefault(prop, []).append(_unescape(value.strip()).removeprefix("tel:")
                                             .removeprefix("mailto:"))
    return result


def _client(name: str, emails: tuple[str, ...], domains: tuple[str, ...],
            phones: tuple[str, ...], preferred: str | None, tier: str, channel: Channel,
            label: str, result: ImportResult) -> Client | None:
    if not name.strip():
        result.skipped.append((label, "no name"))
        return None
    if not (emails or domains or phones):
        result.skipped.append((label, "no email address, domain or phone number"))
        return None
    bad = [e for e in emails if "@" not in e]
    if bad:
        result.skipped.append((label, f"not an email address: {bad[0]!r}"))
        return None
    return Client(name=name.strip(), emails=emails, domains=domains, phones=phones,
                  preferred_name=preferred, tier=tier, channel=channel)
