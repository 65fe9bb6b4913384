"""The values a settings file holds, parsed: each parser takes what TOML gave and returns
the typed value, or raises Bad with what is wrong and how to write it."""

from __future__ import annotations

import itertools
import re
from datetime import date, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from heard.domain.clock import Counting, Span

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class Bad(ValueError):
    """A value that cannot be used: what is wrong, and how to write it."""


# value parsers: raise Bad("what is wrong; how to write it")

_DURATION = re.compile(r"^\s*(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m(?:in)?)?\s*$")


def parse_duration(value: object) -> timedelta:
    # A bare number has no unit, and no unit is obvious ("5": minutes? hours?): it is
    # refused with the likeliest reading as the fix, never guessed.
    if (isinstance(value, (int, float)) and not isinstance(value, bool)) or (
            isinstance(value, str) and re.fullmatch(r"\s*\d+(?:\.\d+)?\s*", value)):
        number = str(value).strip()
        raise Bad(f"{number} has no unit; did you mean \"{number}m\"? write a duration"
                  " like \"10m\", \"4h\" or \"1d 2h\"")
    match = _DURATION.match(value) if isinstance(value, str) else None
    if not match or not any(match.groups()):
        raise Bad(f"{value!r} is not a duration; write it like \"10m\", \"4h\" or \"1d 2h\"")
    days, hours, minutes = (int(g or 0) for g in match.groups())
    result = timedelta(days=days, hours=hours, minutes=minutes)
    if result <= timedelta(0):
        raise Bad("must be longer than zero")
    return result


def format_duration(value: timedelta) -> str:
    minutes = int(value.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [f"{n}{u}" for n, u in ((days, "d"), (hours, "h"), (mins, "m")) if n]
    return " ".join(parts) or "0m"


def parse_spans(value: object) -> tuple[Span, ...]:
    if not isinstance(value, str):
        raise Bad('write opening hours as a string like "09:00-17:00" (or "" for closed)')
    spans = []
    for part in filter(None, (p.strip() for p in value.split(","))):
        match = re.fullmatch(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})", part)
        if not match:
            raise Bad(f'{part!r} is not a time range; write it like "09:00-17:00"')
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        try:
            start = time(h1, m1)
            end = time(0) if (h2, m2) == (24, 0) else time(h2, m2)
        except ValueError as exc:
            raise Bad(f"{part!r}: {exc}") from exc
        if end == time(0):
            end = time(23, 59, 59, 999999)
        if end <= start:
            raise Bad(f"{part!r} ends before it starts")
        spans.append(Span(start, end))
    spans.sort(key=lambda s: s.start)
    for a, b in itertools.pairwise(spans):
        if b.start < a.end:
            raise Bad(f"{value!r} has overlapping ranges")
    return tuple(spans)


def parse_zone(value: object) -> str:
    if not isinstance(value, str):
        raise Bad('write a zone name like "Europe/Berlin", or "" for the system zone')
    if value:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise Bad(f"unknown time zone {value!r}; use a name like \"America/New_York\"")\
                from exc
    return value


def parse_str(value: object) -> str:
    if not isinstance(value, str):
        raise Bad("must be a string in quotes")
    return value


def parse_region(value: object) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z]{2}", value):
        raise Bad('write a two-letter country code, like "US", "DE" or "GB"')
    region = value.upper()
    if region != "US":  # the default needs no check (and no phonenumbers at start-up)
        import phonenumbers

        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise Bad(f"{value!r} is not a country code phone numbers know")
    return region


def parse_locale(value: object) -> str:
    """A language or locale ("de", "de_DE", "en-GB"); "" = the system's."""
    if not isinstance(value, str):
        raise Bad('write a language like "de" or "en_GB", or "" for the system\'s')
    if not value.strip():
        return ""
    from heard.domain.locales import LanguageError, parse_language  # Babel: only when set

    try:
        return parse_language(value)
    except LanguageError as exc:
        raise Bad(str(exc)) from exc


def parse_clock(value: object) -> str:
    if value not in ("auto", "12h", "24h"):
        raise Bad('write "24h", "12h" or "auto" (the custom of your language)')
    return str(value)


def parse_bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise Bad("must be true or false")
    return value


def parse_str_list(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Bad('must be a list of strings, like ["a@example.com"]')
    return tuple(value)


def parse_share(value: object) -> float:
    text = str(value).strip() if isinstance(value, (str, int, float)) else ""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*%", text)
    if not match or not 0 < float(match.group(1)) <= 100:
        raise Bad('write a share like "90%" (more than 0%, at most 100%)')
    return float(match.group(1)) / 100


def parse_port(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
        raise Bad("must be a port number like 993 (0 = the usual port for the security)")
    return value


def parse_security(value: object) -> str:
    if value not in ("tls", "starttls", "plain"):
        raise Bad('must be "tls" (IMAPS, port 993), "starttls" (port 143) or "plain"'
                   " (only to this machine)")
    return str(value)


def parse_auth(value: object) -> str:
    if value not in ("password", "oauth2"):
        raise Bad('must be "password" or "oauth2" (sign in with Microsoft or Google)')
    return str(value)


def parse_instance(value: object) -> str:
    if value == "":
        return ""
    if not isinstance(value, str) or not re.fullmatch(r"[a-z0-9]{1,12}", value):
        raise Bad('must be 1 to 12 lower-case letters or digits, e.g. "desk" or "lap"')
    return value


def default_instance() -> str:
    """This computer's name as an instance id ("Alex-Laptop.local" -> "alexlaptop")."""
    import socket

    name = re.sub(r"[^a-z0-9]", "", socket.gethostname().split(".")[0].lower())[:12]
    return name or "heard"


def parse_undo(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 60:
        raise Bad("must be a number of seconds from 0 to 60, e.g. 5")
    return value


def parse_count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise Bad(f"{value!r} is not a count; write a whole number of at least 1, like 5")
    return value


def parse_smtp_security(value: object) -> str:
    if value not in ("tls", "starttls", "plain"):
        raise Bad('must be "starttls" (port 587), "tls" (port 465) or "plain" (only to'
                   " this machine)")
    return str(value)


def parse_open_app(value: object) -> str:
    from heard.domain.mail_links import OpenWith

    choices = [w.value for w in OpenWith]
    if value not in choices:
        raise Bad("must be one of " + ", ".join(f'"{c}"' for c in choices))
    return str(value)


def parse_sent_copy(value: object) -> str:
    if value not in ("append", "server"):
        raise Bad('must be "append" (Heard files replies in Sent) or "server" (the server'
                   " files them itself, like Gmail)")
    return str(value)


def parse_optional_path(value: object) -> Path | None:
    if value == "":
        return None
    return parse_path(value)


def parse_dates(value: object) -> frozenset[date]:
    if not isinstance(value, list):
        raise Bad('must be a list of dates, like ["2026-12-25"]')
    out = set()
    for item in value:
        if isinstance(item, date):
            out.add(item)
            continue
        try:
            out.add(date.fromisoformat(str(item)))
        except ValueError as exc:
            raise Bad(f"{item!r} is not a date; write it like 2026-12-25") from exc
    return frozenset(out)


def parse_counting(value: object) -> Counting:
    try:
        return Counting(str(value))
    except ValueError as exc:
        raise Bad('must be "working_hours" or "clock"') from exc


def parse_path(value: object) -> Path:
    if not isinstance(value, str) or not value:
        raise Bad("must be a path in quotes")
    return Path(value).expanduser()


def parse_addresses(value: object) -> tuple[str, ...]:
    """Mail addresses, compared without case."""
    return tuple(a.lower() for a in parse_str_list(value))


def parse_domains(value: object) -> tuple[str, ...]:
    """Domains, with or without a leading @, compared without case."""
    return tuple(d.strip().lstrip("@").lower() for d in parse_str_list(value))


def system_zone() -> ZoneInfo:
    """The system's zone from /etc/localtime or TZ; UTC when it cannot be told."""
    import os

    name = os.environ.get("TZ", "").lstrip(":")
    if not name:
        try:
            target = Path("/etc/localtime").resolve()
            name = str(target).split("zoneinfo/", 1)[1] if "zoneinfo/" in str(target) else ""
        except OSError:
            name = ""
    try:
        return ZoneInfo(name) if name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")
