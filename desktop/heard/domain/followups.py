"""Waiting on the client: the user sent a client a question or a document and wants their
answer by a time ("remind me if they haven't replied by Thursday"). A follow-up is closed by
itself when the client writes; at its due time the client shows in a list of their own, "owes
you a reply" (never in the waiting count: the last word is the user's), with a nudge one click
away. Heard may also offer one from the Sent folder: a question to a client that had no reply
in N working days."""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as dtime
from enum import StrEnum
from typing import TYPE_CHECKING, NewType

from heard.domain.ids import ClientId

if TYPE_CHECKING:
    from heard.domain.clients import Client
    from heard.domain.clock import WorkingHours

FollowUpId = NewType("FollowUpId", int)

# The template a nudge is written from (one of the shipped ones; the user may change it).
NUDGE_TEMPLATE = "nudge"
# Beside a nudge's outbox row, the follow-up as it was before it (a nudge cancelled by Undo,
# or refused for good, puts it back: the client owes the reply again).
NUDGE_KEY = "nudge:"


class Origin(StrEnum):
    USER = "user"      # the user set it (the window, the tray, `heard follow-up`)
    SENT = "sent"      # offered from Sent: a question with no reply in N working days


class Closed(StrEnum):
    ANSWERED = "answered"   # the client wrote (or called)
    OFF = "off"             # the user took it back


@dataclass(frozen=True)
class FollowUp:
    client_id: ClientId
    set_at: datetime
    due: datetime
    note: str = ""
    subject: str = ""          # what the user asked about (a mail's subject, or the note)
    message_id: str = ""       # the mail it waits on an answer to ("" when none is known)
    origin: Origin = Origin.USER
    nudged_at: datetime | None = None
    nudges: int = 0
    closed_at: datetime | None = None
    closed_reason: str = ""    # "answered: <their subject>", "off"
    id: FollowUpId | None = None

    def __post_init__(self) -> None:
        for at in (self.set_at, self.due, self.nudged_at, self.closed_at):
            if at is not None and at.tzinfo is None:
                raise ValueError("follow-up times must be timezone-aware")

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    def is_due(self, now: datetime) -> bool:
        return self.is_open and self.due <= now

    @property
    def closed(self) -> Closed | None:
        code = self.closed_reason.partition(":")[0]
        return Closed(code) if code in Closed.__members__.values() else None

    def about(self) -> str:
        """What it is about, for the lists: the note, else the subject."""
        return self.note or self.subject or "your last message"

    def nudged(self, at: datetime) -> FollowUp:
        """A nudge went out: the client owes a reply again after as long as they had."""
        span = max(self.due - self.set_at, timedelta(days=1))
        return dataclasses.replace(self, nudged_at=at, nudges=self.nudges + 1, due=at + span)


@dataclass(frozen=True)
class Owed:
    """A client who owes the user a reply: a follow-up whose time came."""

    follow_up: FollowUp
    client: Client

    @property
    def since(self) -> datetime:
        return self.follow_up.due


def owed(follow_ups: list[FollowUp], clients: dict[ClientId, Client], now: datetime
         ) -> list[Owed]:
    """The follow-ups due now, longest owed first (a removed client's are left out)."""
    found = [Owed(f, clients[f.client_id]) for f in follow_ups
             if f.is_due(now) and f.client_id in clients]
    return sorted(found, key=lambda o: o.since)


# -- when: "in 2 working days", "thursday", "2026-12-10" ----------------------------------

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WORKING_DAYS = re.compile(r"^(?:in\s+)?(\d+)\s*(?:working|business|work)\s*days?$|^(\d+)wd$")


def working_days_later(start: datetime, days: int, hours: WorkingHours) -> datetime:
    """The opening of the `days`-th working day after `start`'s day (a day with working
    hours, not a holiday): a follow-up comes due when the user starts work that day."""
    day = start.astimezone(hours.zone).date()
    left = days
    for _ in range(days * 7 + 370):
        day += timedelta(days=1)
        if hours.openings(day):
            left -= 1
            if left <= 0:
                return hours.openings(day)[0][0]
    raise ValueError("no working days found: check [hours]")


def _day_opening(day: date, hours: WorkingHours) -> datetime:
    """The day's opening; a closed day: that day 9:00, or the next opening if that passed."""
    openings = hours.openings(day)
    if openings:
        return openings[0][0]
    return datetime.combine(day, dtime(9), tzinfo=hours.zone)


def parse_working_days(text: str) -> int:
    """"3 working days" (or "3wd", "in 3 working days") -> 3; ValueError otherwise."""
    match = _WORKING_DAYS.match(" ".join(text.lower().split()))
    if not match:
        raise ValueError(f"{text!r} is not a number of working days; write \"3 working"
                         " days\"")
    days = int(match.group(1) or match.group(2))
    if days < 1:
        raise ValueError("at least 1 working day")
    return days


def follow_up_time(text: str, now: datetime, hours: WorkingHours) -> datetime:
    """When a follow-up comes due, said as the user says it: "2 working days" (the opening
    of the second working day from today), a weekday ("thursday": the next one's opening),
    a date ("2026-12-10": its opening), "tomorrow" (the next working day's opening),
    "tomorrow 9:00", "15:00", "90m", "2h" or an ISO-8601 time. ValueError says what is wrong
    in words."""
    from heard.domain.snoozes import snooze_time

    said = " ".join(text.lower().split())
    if not said:
        raise ValueError("say when: \"2 working days\", thursday, 2026-12-10 or 15:00")
    zone = hours.zone
    today = now.astimezone(zone).date()
    if _WORKING_DAYS.match(said):
        return working_days_later(now, parse_working_days(said), hours)
    if said in ("tomorrow", "next working day"):
        return working_days_later(now, 1, hours)
    if said in _WEEKDAYS or (said[:3] in {w[:3] for w in _WEEKDAYS} and len(said) == 3):
        wanted = next(i for i, w in enumerate(_WEEKDAYS) if w.startswith(said[:3]))
        ahead = (wanted - today.weekday()) % 7 or 7
        return _day_opening(today + timedelta(days=ahead), hours)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", said):
        day = date.fromisoformat(said)
        if day <= today:
            raise ValueError(f"{said} is not after today; a follow-up comes due later")
        return _day_opening(day, hours)
    try:
        return snooze_time(text, now, hours, None)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a time; use \"2 working days\", thursday,"
                         " 2026-12-10, tomorrow 9:00 or 15:00") from exc


# -- offered from Sent ----------------------------------------------------------------------

_QUOTE_START = re.compile(r"^(on .{4,200} wrote:|-----\s*original message\s*-----|from: )",
                          re.IGNORECASE)


def asks_question(text: str) -> bool:
    """Whether the user's own words in a mail (above any quoted message) ask something: a
    question mark outside quoted lines and the signature."""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith(">"):
            continue
        if _QUOTE_START.match(stripped) or stripped in ("--", "-- "):
            break
        if "?" in stripped and not re.search(r"https?://\S*\?", stripped):
            return True
    return False


def before_nudge(follow_up: FollowUp) -> str:
    """What a nudge changes of a follow-up, as it was (kept beside the nudge's outbox row)."""
    return json.dumps({"id": follow_up.id, "due": follow_up.due.isoformat(),
                       "nudged_at": follow_up.nudged_at.isoformat()
                       if follow_up.nudged_at else None, "nudges": follow_up.nudges})


def before_nudge_id(text: str) -> int:
    return int(json.loads(text)["id"])


def restore_before_nudge(text: str, current: FollowUp) -> FollowUp:
    """The follow-up as it was before a nudge that never went out."""
    data = json.loads(text)
    return dataclasses.replace(
        current, due=datetime.fromisoformat(data["due"]), nudges=int(data["nudges"]),
        nudged_at=datetime.fromisoformat(data["nudged_at"]) if data["nudged_at"] else None)


@dataclass(frozen=True)
class FollowUpTally:
    """The follow-ups set in a period, for the statistics: how many the client answered
    before they came due, how many came due (the client owed a reply), how many of those
    were answered after all, nudged, taken back, still open."""

    set: int = 0
    answered_in_time: int = 0     # the client wrote before the due time
    came_due: int = 0             # the client owed a reply
    answered_late: int = 0        # ... and wrote after all
    nudged: int = 0               # a nudge went to them
    off: int = 0                  # the user took it back
    open: int = 0                 # still waited on
    offered: int = 0              # offered from Sent (among `set`)


def tally(follow_ups: list[FollowUp], now: datetime) -> FollowUpTally:
    counts = dict.fromkeys(("set", "answered_in_time", "came_due", "answered_late", "nudged",
                            "off", "open", "offered"), 0)
    for f in follow_ups:
        counts["set"] += 1
        counts["offered"] += f.origin is Origin.SENT
        counts["nudged"] += f.nudges > 0
        end = f.closed_at or now
        due = f.due <= end or f.nudges > 0
        counts["came_due"] += due
        if f.closed is Closed.ANSWERED:
            counts["answered_late" if due else "answered_in_time"] += 1
        elif f.closed is Closed.OFF:
            counts["off"] += 1
        else:
            counts["open"] += 1
    return FollowUpTally(**counts)
