"""UID FETCH answers read straight from imaplib's raw responses (issue 25, first sync).

A first sync fetches the headers, INTERNALDATE and FLAGS of thousands of messages.
imapclient's general parser tokenises every byte of every response (~0.4 ms a message,
half the fetch); the answers intake asks for have a fixed shape, so three regular
expressions and the literals imaplib already cut out read them. A response of another
shape (a body sent as a quoted string, a date in an odd form) goes to imapclient's parser,
so nothing a server may legally send is lost.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Parts:
    """What one FETCH response said of one message."""

    uid: int
    flags: frozenset[str]
    arrived: datetime | None           # INTERNALDATE, with its offset
    bodies: dict[bytes, bytes]         # b"BODY[HEADER]", b"BODY[TEXT]<0>" ... -> bytes


# imaplib hands a response with literals as (text up to "{n}", literal) pairs and then
# the rest of the line; the text before each literal ends with the item it belongs to.
_LITERAL_ITEM = re.compile(rb"([^\s()]+) \{\d+\}\Z")
_UID = re.compile(rb"(?:^|[ (])UID (\d+)")
_FLAGS = re.compile(rb"(?:^|[ (])FLAGS \(([^()]*)\)")
_DATE = re.compile(rb'(?:^|[ (])INTERNALDATE "([^"]*)"')
_DATE_PARTS = re.compile(
    rb" ?(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)\Z")
_MONTHS = {name: n for n, name in enumerate(
    (b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov",
     b"dec"), start=1)}
_ZONES: dict[int, timezone] = {}


def uid_ranges(uids: Iterable[int]) -> bytes:
    """A UID set naming exactly `uids`, runs written as ranges ("4:9,12")."""
    parts: list[bytes] = []
    ordered = sorted(set(uids))
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(b"%d" % ordered[i] if i == j else b"%d:%d" % (ordered[i], ordered[j]))
        i = j + 1
    return b",".join(parts)


def internaldate(raw: bytes) -> datetime | None:
    """An INTERNALDATE ("17-Jul-1996 02:44:25 -0700") with its offset; None if unreadable."""
    found = _DATE_PARTS.match(raw)
    if found is not None and (month := _MONTHS.get(found.group(2).lower())) is not None:
        day, _m, year, hour, minute, second, sign, zh, zm = found.groups()
        offset = (int(zh) * 60 + int(zm)) * (-1 if sign == b"-" else 1)
        zone = _ZONES.get(offset)
        if zone is None:
            zone = _ZONES[offset] = timezone(timedelta(minutes=offset))
        try:
            return datetime(int(year), month, int(day), int(hour), int(minute), int(second),
                            tzinfo=zone)
        except ValueError:
            return None
    try:
        from imapclient.datetime_util import parse_to_datetime

        found_date: datetime = parse_to_datetime(raw, normalise=False)
        return found_date
    except Exception:   # a date no parser reads: the caller uses the time of the fetch
        return None


def read_fetches(data: Sequence[Any], names: Sequence[bytes]) -> dict[int, Parts]:
    """The untagged FETCH responses of one command (imaplib's list) by UID. `names` are the
    body items asked for (b"BODY[HEADER]"): each response gives every one of them, or an
    empty value. Responses without a UID (another session's flag change, by sequence
    number) are left out."""
    out: dict[int, Parts] = {}
    pending: list[tuple[bytes, bytes]] = []
    for item in data:
        if isinstance(item, tuple) and len(item) == 2:
            pending.append((bytes(item[0]), bytes(item[1])))
            continue
        if not isinstance(item, bytes):
            continue
        read = _read_one(pending, item, names)
        parts = _read_slowly([*pending, item]) if read == "slow" else read
        if isinstance(parts, Parts):
            out[parts.uid] = parts
        pending = []
    if pending:   # a response cut short: what imapclient can make of it
        parts = _read_slowly(pending)
        if parts is not None:
            out[parts.uid] = parts
    return out


def _read_one(literals: list[tuple[bytes, bytes]], tail: bytes, names: Sequence[bytes]
              ) -> Parts | Literal["slow", "skip"]:
    """One response read by the fast path; "slow" when imapclient must read it, "skip"
    when it names no UID."""
    texts: list[bytes] = []
    bodies: dict[bytes, bytes] = {}
    for prefix, literal in literals:
        item = _LITERAL_ITEM.search(prefix)
        if item is None:
            return "slow"
        bodies[item.group(1).upper()] = literal
        texts.append(prefix[:item.start()])
    texts.append(tail)
    text = b" ".join(texts)
    uid = _UID.search(text)
    if uid is None:
        return "slow" if literals else "skip"
    for name in names:
        if name not in bodies:
            if re.search(re.escape(name) + rb' (?:NIL|"")', text, re.IGNORECASE) is None:
                return "slow"   # a body as a quoted string: imapclient unquotes it
            bodies[name] = b""
    flags = _FLAGS.search(text)
    date = _DATE.search(text)
    return Parts(int(uid.group(1)),
                 frozenset(f.decode(errors="replace") for f in flags.group(1).split())
                 if flags else frozenset(),
                 internaldate(date.group(1)) if date else None, bodies)


def _read_slowly(items: list[Any]) -> Parts | None:
    from imapclient.response_parser import parse_fetch_response

    try:
        parsed = parse_fetch_response(items, False, False)
    except Exception:   # imapclient's ProtocolError: a response nobody can read
        log.debug("unreadable FETCH response skipped: %.200r", items)
        return None
    for data in parsed.values():
        uid = data.get(b"UID")
        if not isinstance(uid, int):
            continue
        flags = data.get(b"FLAGS") or ()
        arrived = data.get(b"INTERNALDATE")
        bodies = {key.upper(): bytes(value or b"") for key, value in data.items()
                  if isinstance(key, bytes) and key.upper().startswith(b"BODY")
                  and isinstance(value, bytes | None)}
        return Parts(uid, frozenset(f.decode(errors="replace") if isinstance(f, bytes)
                                    else str(f) for f in flags),
                     arrived if isinstance(arrived, datetime) else None, bodies)
    return None
