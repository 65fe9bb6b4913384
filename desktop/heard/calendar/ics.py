"""Busy time from a local .ics file or a folder of .ics files (a vdir, as khal keeps it)."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path

import icalendar

from heard.calendar.events import busy_from_calendars
from heard.domain.busy import BusyInterval

log = logging.getLogger(__name__)


class CalendarError(ValueError):
    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix.lower() == ".ics" and p.is_file())
    if path.is_file():
        return [path]
    raise CalendarError(path, "no such file or folder")


def _load(file: Path) -> icalendar.Calendar:
    try:
        calendar = icalendar.Calendar.from_ical(file.read_bytes())
    except (ValueError, IndexError, KeyError, UnicodeDecodeError) as exc:
        raise CalendarError(file, f"not a valid iCalendar file ({exc})") from exc
    except OSError as exc:
        raise CalendarError(file, f"cannot read ({exc.strerror})") from exc
    return calendar


def busy_intervals(path: Path, start: datetime, end: datetime, zone: tzinfo, *,
                   me: frozenset[str] = frozenset(), tentative_busy: bool = True,
                   ) -> tuple[list[BusyInterval], list[CalendarError]]:
    """Busy intervals between start and end; broken files and events are reported, not
    fatal (see heard.calendar.events for what counts as busy)."""
    intervals: list[BusyInterval] = []
    errors: list[CalendarError] = []
    for file in _files(path):
        try:
            calendar = _load(file)
        except CalendarError as exc:
            log.warning("calendar skipped: %s", exc)
            errors.append(exc)
            continue
        found, problems = busy_from_calendars([calendar], start, end, zone, me=me,
                                              tentative_busy=tentative_busy)
        intervals.extend(found)
        errors.extend(CalendarError(file, problem) for problem in problems)
    return intervals, errors


def holidays(path: Path) -> frozenset[date]:
    """The dates an .ics holiday calendar marks: each all-day event's days (any year)."""
    found: set[date] = set()
    for calendar in (_load(f) for f in _files(path)):
        for event in calendar.walk("VEVENT"):
            start = event.get("DTSTART")
            if start is None or isinstance(start.dt, datetime):
                continue  # a timed event is not a day off
            end = event.get("DTEND")
            last = end.dt if end is not None and not isinstance(end.dt, datetime) \
                else start.dt + timedelta(days=1)
            day = start.dt
            while day < last and len(found) < 10_000:
                found.add(day)
                day += timedelta(days=1)
    return frozenset(found)
