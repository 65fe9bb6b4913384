"""Busy time from a local .ics file or a folder of .ics files (a vdir, as khal keeps it)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import icalendar
import recurring_ical_events
import x_wr_timezone

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
    standard: icalendar.Calendar = x_wr_timezone.to_standard(calendar)
    return standard


def _is_busy(event: Any) -> bool:
    if str(event.get("STATUS", "")).upper() == "CANCELLED":
        return False
    transp = str(event.get("TRANSP", "")).upper()
    start = event.get("DTSTART")
    all_day = start is not None and not isinstance(start.dt, datetime)
    if all_day:
        # All-day entries are mostly reminders and birthdays: busy only when marked so.
        return transp == "OPAQUE"
    return transp != "TRANSPARENT"


def _aware(value: date | datetime, zone: Any) -> datetime:
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=zone)
    return value if value.tzinfo else value.replace(tzinfo=zone)  # floating: user's zone


def busy_intervals(path: Path, start: datetime, end: datetime, zone: Any
                   ) -> tuple[list[BusyInterval], list[CalendarError]]:
    """Busy intervals between start and end; broken files are reported, not fatal."""
    intervals: list[BusyInterval] = []
    errors: list[CalendarError] = []
    for file in _files(path):
        try:
            calendar = _load(file)
            occurrences: Iterable[Any] = recurring_ical_events.of(calendar).between(
                start - timedelta(days=1), end)
            for event in occurrences:
                if event.name != "VEVENT" or not _is_busy(event):
                    continue
                s = _aware(event["DTSTART"].dt, zone)
                e_prop = event.get("DTEND")
                e = _aware(e_prop.dt, zone) if e_prop is not None else s
                title = str(event.get("SUMMARY", ""))
                if e > start and s < end:
                    intervals.append(BusyInterval(s, e, title))
        except CalendarError as exc:
            log.warning("calendar skipped: %s", exc)
            errors.append(exc)
        except Exception as exc:  # a broken event must not hide the rest of the calendar
            log.warning("calendar skipped: %s: %s", file, exc)
            errors.append(CalendarError(file, f"cannot expand its events ({exc})"))
    return intervals, errors
