"""From parsed iCalendar data to busy intervals: the rules every calendar source shares.

What counts as busy: timed events, unless TRANSP:TRANSPARENT or STATUS:CANCELLED, or the
user (one of `me`) declined them; tentative ones (the user's PARTSTAT or the event's
STATUS) only when `tentative_busy`; all-day events only when TRANSP:OPAQUE is explicit
(most are birthdays and reminders). Recurrence (RRULE, RDATE, EXDATE, moved or cancelled
instances) is expanded with recurring-ical-events, within the asked window only.

Malformed data costs one event, never the calendar: each problem is logged and returned
as a short sentence, and the rest still counts.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

import icalendar
import recurring_ical_events
import x_wr_timezone

from heard.domain.busy import BusyInterval

log = logging.getLogger(__name__)

# Expanding a rule walks it from its first instance, so a rule that repeats every minute
# since 1970 would take hours; past this many steps a series is skipped and reported.
MAX_RULE_STEPS = 100_000
# Occurrences are asked for in a window this much wider than the one wanted, so that
# floating and all-day times (placed in the user's zone afterwards) are never cut off.
_MARGIN = timedelta(days=1)
_FREQ_SECONDS = {"SECONDLY": 1, "MINUTELY": 60, "HOURLY": 3600, "DAILY": 86400,
                 "WEEKLY": 7 * 86400, "MONTHLY": 28 * 86400, "YEARLY": 365 * 86400}


@dataclass(frozen=True)
class _Problem(Exception):
    text: str


def _describe(event: Any) -> str:
    uid = str(event.get("UID", "")) or "?"
    summary = str(event.get("SUMMARY", ""))
    return f"event {uid!r}" + (f" ({summary})" if summary else "")


def _address(value: str) -> str:
    value = value.strip().lower()
    return value[len("mailto:"):] if value.startswith("mailto:") else value


def _my_partstat(event: Any, me: frozenset[str]) -> str | None:
    if not me:
        return None
    attendees = event.get("ATTENDEE")
    if attendees is None:
        return None
    if not isinstance(attendees, list):
        attendees = [attendees]
    for attendee in attendees:
        if _address(str(attendee)) in me:
            params = getattr(attendee, "params", {})
            return str(params.get("PARTSTAT", "NEEDS-ACTION")).upper()
    return None


def _counts(event: Any, me: frozenset[str], tentative_busy: bool, all_day: bool) -> bool:
    status = str(event.get("STATUS", "")).upper()
    transp = str(event.get("TRANSP", "")).upper()
    if status == "CANCELLED":
        return False
    if all_day and transp != "OPAQUE":
        return False
    if transp == "TRANSPARENT":
        return False
    partstat = _my_partstat(event, me)
    if partstat == "DECLINED":
        return False
    if "TENTATIVE" in (partstat, status):
        return tentative_busy
    return True


# An event this long is a day away (a trip, an off-site), not a meeting.
AWAY_AFTER = timedelta(hours=10)


def _away(event: Any, start: datetime, end: datetime, all_day: bool) -> bool:
    """Out of the office rather than in a meeting: an all-day event, Outlook's and
    Exchange's out-of-office status, or an event of most of a day."""
    status = str(event.get("X-MICROSOFT-CDO-BUSYSTATUS", "")).upper()
    return all_day or status == "OOF" or end - start >= AWAY_AFTER


def _aware(value: date | datetime, zone: tzinfo) -> datetime:
    """In UTC: Python compares and subtracts datetimes of one zone by their wall-clock
    times, which is wrong on the DST nights; UTC is exact, and shown in the user's zone."""
    if not isinstance(value, datetime):  # a date: from midnight in the user's zone
        value = datetime(value.year, value.month, value.day, tzinfo=zone)
    elif value.tzinfo is None:  # floating: the user's zone
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def _rule_steps(event: Any, end: datetime, zone: tzinfo) -> float:
    """How many steps expanding the event's RRULEs up to `end` takes, roughly."""
    rules = event.get("RRULE")
    if rules is None:
        return 0
    steps = 0.0
    first = _aware(event["DTSTART"].dt, zone)
    for rule in rules if isinstance(rules, list) else [rules]:
        freq = str((rule.get("FREQ") or ["?"])[0]).upper()
        if freq not in _FREQ_SECONDS:
            raise _Problem(f"has a repeat rule with an unknown frequency {freq!r}")
        interval = max(int((rule.get("INTERVAL") or [1])[0]), 1)
        per_period = math.prod(len(rule.get(k) or [0]) for k in ("BYHOUR", "BYMINUTE",
                                                                  "BYSECOND"))
        span = max((end - first).total_seconds(), 0)
        rule_steps = span / (_FREQ_SECONDS[freq] * interval) * per_period
        if rule.get("COUNT"):
            rule_steps = min(rule_steps, float(rule["COUNT"][0]))
        steps += rule_steps
    return steps


def _check(event: Any, end: datetime, zone: tzinfo) -> list[str]:
    """Raise _Problem if the event cannot count; return notes on what was assumed."""
    errors = getattr(event, "errors", None)
    if errors:
        name, message = errors[0]
        raise _Problem(f"has an unreadable {name} ({message})")
    start_prop = event.get("DTSTART")
    if start_prop is None:
        raise _Problem("has no start (DTSTART)")
    notes = []
    for name in ("DTSTART", "DTEND", "RECURRENCE-ID"):
        prop = event.get(name)
        if prop is None:
            continue
        tzid = prop.params.get("TZID") if hasattr(prop, "params") else None
        if tzid and isinstance(prop.dt, datetime) and prop.dt.tzinfo is None:
            notes.append(f"has an unknown time zone {tzid!r}; read as {zone}")
            break
    start = start_prop.dt
    end_prop = event.get("DTEND")
    if end_prop is not None:
        if isinstance(start, datetime) != isinstance(end_prop.dt, datetime):
            raise _Problem("mixes a date and a date-time for its start and end")
        if _aware(end_prop.dt, zone) < _aware(start, zone):
            raise _Problem("ends before it starts")
    elif event.get("DURATION") is None and isinstance(start, datetime):
        raise _Problem("has no end (DTEND or DURATION) and so takes no time; not counted")
    if _rule_steps(event, end, zone) > MAX_RULE_STEPS:
        raise _Problem("repeats too often to expand (a rule without end at a fine "
                       "frequency); not counted")
    return notes


def _single(event: Any, zone: tzinfo) -> tuple[datetime, datetime, bool]:
    """Start, end and all-day of a non-recurring event, without recurring-ical-events."""
    start = event["DTSTART"].dt
    all_day = not isinstance(start, datetime)
    if event.get("DTEND") is not None:
        end = event["DTEND"].dt
    elif event.get("DURATION") is not None:
        end = start + event["DURATION"].dt
    else:
        end = start + timedelta(days=1)  # only date-only events get here (see _check)
    return _aware(start, zone), _aware(end, zone), all_day


def _standard(calendar: icalendar.Calendar) -> icalendar.Calendar:
    if "X-WR-TIMEZONE" not in calendar:
        return calendar
    standard: icalendar.Calendar = x_wr_timezone.to_standard(calendar)
    return standard


def _occurrences(group: list[Any], start: datetime, end: datetime
                 ) -> Iterator[Any]:
    calendar = icalendar.Calendar()
    calendar.subcomponents.extend(group)
    yield from recurring_ical_events.of(calendar).between(start - _MARGIN, end + _MARGIN)


def busy_from_calendars(
    calendars: Iterable[icalendar.Calendar], start: datetime, end: datetime, zone: tzinfo,
    *, me: frozenset[str] = frozenset(), tentative_busy: bool = True,
) -> tuple[list[BusyInterval], list[str]]:
    """The busy intervals that overlap [start, end), and the problems met on the way (one
    sentence each; each is also logged). Floating and all-day times are read in `zone`;
    the intervals are in UTC, for exact arithmetic (show them with .astimezone(zone))."""
    me = frozenset(_address(a) for a in me)
    intervals: list[BusyInterval] = []
    problems: list[str] = []

    def problem(event: Any, text: str) -> None:
        line = f"{_describe(event)} {text}"
        log.warning("calendar: %s", line)
        problems.append(line)

    def add(event: Any, s: datetime, e: datetime, all_day: bool) -> None:
        if e > start and s < end and e > s and _counts(event, me, tentative_busy, all_day):
            intervals.append(BusyInterval(s, e, str(event.get("SUMMARY", "")),
                                          away=_away(event, s, e, all_day)))

    for calendar in calendars:
        try:
            calendar = _standard(calendar)
        except Exception as exc:  # a broken X-WR-TIMEZONE: read it as it is
            log.warning("calendar: cannot apply X-WR-TIMEZONE: %s", exc)
        series: dict[str, list[Any]] = {}
        for event in calendar.walk("VEVENT"):
            try:
                for note in _check(event, end, zone):
                    problem(event, note)
            except _Problem as exc:
                problem(event, exc.text)
                continue
            recurring = any(k in event for k in ("RRULE", "RDATE", "RECURRENCE-ID"))
            if recurring:
                series.setdefault(str(event.get("UID", "")), []).append(event)
                continue
            try:
                s, e, all_day = _single(event, zone)
            except Exception as exc:
                problem(event, f"cannot be read ({exc})")
                continue
            add(event, s, e, all_day)
        for group in series.values():
            try:
                for occurrence in _occurrences(group, start, end):
                    o_start = occurrence["DTSTART"].dt
                    o_end = occurrence["DTEND"].dt if "DTEND" in occurrence else o_start
                    add(occurrence, _aware(o_start, zone), _aware(o_end, zone),
                        not isinstance(o_start, datetime))
            except Exception as exc:  # one broken series must not hide the rest
                problem(group[0], f"cannot be expanded ({exc})")
    return intervals, problems
