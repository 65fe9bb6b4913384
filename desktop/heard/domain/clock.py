"""Time sources and working-hours arithmetic.

Every duration here is real elapsed time: local wall times are turned into UTC instants first and
all subtraction happens in UTC. Aware datetimes that share a ZoneInfo subtract and compare by wall
time in Python, which would silently lose or gain an hour across a DST change.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from itertools import pairwise
from typing import Any, Protocol
from zoneinfo import ZoneInfo

_DAY = timedelta(days=1)
_ZERO = timedelta(0)
# Ten years: a search that finds no opening for this long is misconfigured, not waiting.
_SEARCH_DAYS = 3660
_DAYS_KEPT = 4096   # days whose openings equal WorkingHours remember (some eleven years)
_ADDED_KEPT = 1024   # deadlines (start, duration) they remember: those of the open work
_SHARED_KEPT = 64
_SHARED: dict[tuple[object, ...], tuple[dict[Any, Any], dict[Any, Any]]] = {}
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _utc(at: datetime, name: str) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {at.isoformat()}")
    return at.astimezone(UTC)


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, always timezone-aware."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that only moves when told to, so tests and the demo are repeatable."""

    def __init__(self, at: datetime) -> None:
        self.set(at)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        _utc(at, "at")
        self._at = at

    def advance(self, by: timedelta) -> None:
        # Through UTC, so advancing across a DST change moves by real time, not wall time.
        self._at = (self._at.astimezone(UTC) + by).astimezone(self._at.tzinfo)


@dataclass(frozen=True)
class Span:
    """One opening of a working day, in local wall time; never crosses midnight."""

    start: time
    end: time

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("span times are local wall times and must not carry a tzinfo")
        if self.end <= self.start:
            raise ValueError(f"span must end after it starts: {self.start}-{self.end}")


def _wall_to_utc(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a local wall time; fold=0 when ambiguous, the jump's end when missing."""
    wall = datetime.combine(day, at).replace(fold=0)
    guess = wall.replace(tzinfo=zone).astimezone(UTC)
    if guess.astimezone(zone).replace(tzinfo=None) == wall:
        return guess
    # zoneinfo accepts wall times inside a spring-forward gap; the first instant that really
    # exists after them is the transition, which lies between the two folds' readings.
    other = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    lo, hi = min(guess, other), max(guess, other)
    while hi - lo > timedelta(microseconds=1):
        mid = lo + (hi - lo) // 2
        if mid.astimezone(zone).replace(tzinfo=None) > wall:
            hi = mid
        else:
            lo = mid
    return hi


@dataclass(frozen=True)
class WorkingHours:
    zone: ZoneInfo
    week: tuple[tuple[Span, ...], ...]  # Monday=0 .. Sunday=6
    holidays: frozenset[date] = frozenset()  # local dates, all closed
    # Each day's openings in UTC, worked out once: every status, tick and schedule measures
    # each open deadline in working time, day by day (no part of the value nor its hash;
    # shared by equal hours).
    _days: dict[date, tuple[tuple[datetime, datetime], ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False)
    # The same for each deadline (`add`): every open item's are asked for again and again.
    _added: dict[tuple[datetime, timedelta], datetime] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        # Callers building from config tend to pass lists; tuples keep the value hashable.
        object.__setattr__(self, "week", tuple(tuple(spans) for spans in self.week))
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        if len(self.week) != 7:
            raise ValueError(f"week must have 7 entries (Monday..Sunday), got {len(self.week)}")
        for name, spans in zip(_WEEKDAYS, self.week, strict=True):
            for before, after in pairwise(spans):
                if after.start < before.end:
                    raise ValueError(
                        f"{name} spans overlap or are out of order: "
                        f"{before.start}-{before.end} then {after.start}-{after.end}"
                    )
        # Equal hours share what was worked out: the settings make a new WorkingHours on
        # each read, and each status, tick and schedule reads them.
        key = (self.zone, self.week, self.holidays)
        shared = _SHARED.get(key)
        if shared is None:
            if len(_SHARED) >= _SHARED_KEPT:
                _SHARED.clear()
            shared = _SHARED[key] = (self._days, self._added)
        object.__setattr__(self, "_days", shared[0])
        object.__setattr__(self, "_added", shared[1])

    @classmethod
    def office(
        cls,
        zone: ZoneInfo,
        start: time = time(9),
        end: time = time(17),
        holidays: frozenset[date] = frozenset(),
    ) -> WorkingHours:
        """Monday to Friday, start to end."""
        weekday = (Span(start, end),)
        return cls(zone, (weekday,) * 5 + ((), ()), holidays)

    def openings(self, day: date) -> list[tuple[datetime, datetime]]:
        """The openings of a local date as aware datetimes in `zone`; subtract them in UTC."""
        zone = self.zone
        return [(s.astimezone(zone), e.astimezone(zone)) for s, e in self._day_openings(day)]

    def is_open(self, at: datetime) -> bool:
        now = _utc(at, "at")
        return any(s <= now < e for s, e in self._day_openings(self._local_day(now)))

    def next_opening(self, at: datetime) -> datetime:
        """`at` itself if open, else the start of the next opening."""
        now = _utc(at, "at")
        start, _ = next(self._openings_after(now))
        return max(start, now).astimezone(self.zone)

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The instant at which `duration` of working time has elapsed since `start`.

        A start outside hours counts from the next opening. Time that runs out exactly at closing
        yields the closing instant, not the next morning.
        """
        key = (start, duration)
        found = self._added.get(key)
        if found is None:
            if len(self._added) >= _ADDED_KEPT:
                self._added.clear()
            found = self._added[key] = self._add(start, duration)
        return found

    def _add(self, start: datetime, duration: timedelta) -> datetime:
        now = _utc(start, "start")
        if duration < _ZERO:
            raise ValueError(f"duration must not be negative, got {duration}")
        if not duration:
            return self.next_opening(start)
        left = duration
        for s, e in self._openings_after(now):
            begin = max(s, now)
            if left <= e - begin:
                return (begin + left).astimezone(self.zone)
            left -= e - begin
        raise AssertionError("unreachable: _openings_after never ends without raising")

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Working time between two instants; zero if `end` is not after `start`."""
        lo, hi = _utc(start, "start"), _utc(end, "end")
        total = _ZERO
        day, last = self._local_day(lo), self._local_day(hi)
        while lo < hi and day <= last:
            for s, e in self._day_openings(day):
                total += max(_ZERO, min(e, hi) - max(s, lo))
            day += _DAY
        return total

    def _local_day(self, at: datetime) -> date:
        return at.astimezone(self.zone).date()

    def _day_openings(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        days = self._days
        found = days.get(day)
        if found is None:
            if len(days) >= _DAYS_KEPT:
                days.clear()
            found = days[day] = self._work_out_openings(day)
        return found

    def _work_out_openings(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        if day in self.holidays:
            return ()
        spans = self.week[day.weekday()]
        zone = self.zone
        pairs = [(_wall_to_utc(day, s.start, zone), _wall_to_utc(day, s.end, zone)) for s in spans]
        # A span wholly inside a spring-forward gap never happens that day.
        return tuple((s, e) for s, e in pairs if s < e)

    def _openings_after(self, at: datetime) -> Iterator[tuple[datetime, datetime]]:
        """UTC openings that end after `at`, in order, for as long as the caller wants."""
        if not any(self.week):
            raise ValueError("no working hours configured")
        day, idle = self._local_day(at), 0
        while idle <= _SEARCH_DAYS:
            found = [(s, e) for s, e in self._day_openings(day) if e > at]
            yield from found
            idle = 0 if found else idle + 1
            day += _DAY
        raise ValueError(f"no working hours within {_SEARCH_DAYS} days after {at.isoformat()}")


class Counting(StrEnum):
    CLOCK = "clock"  # around the clock
    WORKING_HOURS = "working_hours"


def deadline(
    start: datetime, within: timedelta, counting: Counting, hours: WorkingHours
) -> datetime:
    """When a promise to answer `within` a time, counted as `counting`, falls due; in hours.zone."""
    if counting is Counting.CLOCK:
        return (_utc(start, "start") + within).astimezone(hours.zone)
    return hours.add(start, within)
