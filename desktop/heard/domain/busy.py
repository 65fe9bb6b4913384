"""Busy or free at an instant, from the busy intervals a calendar yields."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from heard.domain.clock import WorkingHours


@dataclass(frozen=True)
class BusyInterval:
    start: datetime
    end: datetime
    title: str = ""
    # Out of the office (an all-day event, an out-of-office day, a trip), not in a meeting:
    # a reply says when the user is back, never "in a meeting until 12:00 am".
    away: bool = False

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("busy intervals must be timezone-aware")


@dataclass(frozen=True)
class BusyState:
    now: bool
    until: datetime | None       # end of the current busy block (after merging); None if free
    next_free: datetime | None   # first free slot of at least the asked length
    event: str | None = None     # title of the current event, if any
    away: bool = False           # out of the office now (see BusyInterval.away)
    # The busy blocks from now on (merged), so a promised time can keep clear of them.
    blocks: tuple[BusyInterval, ...] = ()

    def free_from(self, at: datetime) -> datetime:
        """`at`, or the end of the busy block `at` falls in (and of the blocks that follow
        on from it): the first instant from `at` on when the user is not busy."""
        for block in self.blocks:
            if block.start <= at < block.end:
                at = block.end
        return at


def merge(intervals: Iterable[BusyInterval]) -> list[BusyInterval]:
    """Overlapping and back-to-back meetings form one busy block."""
    merged: list[BusyInterval] = []
    for iv in sorted(intervals, key=lambda i: (i.start, i.end)):
        if iv.end <= iv.start:
            continue
        if merged and iv.start <= merged[-1].end:
            last = merged[-1]
            if iv.end > last.end or (iv.away and not last.away):
                merged[-1] = BusyInterval(last.start, max(last.end, iv.end), last.title,
                                          last.away or iv.away)
        else:
            merged.append(iv)
    return merged


def busy_at(
    intervals: Iterable[BusyInterval], at: datetime, min_free: timedelta = timedelta(minutes=15),
    hours: WorkingHours | None = None,
) -> BusyState:
    """Busy now or not, until when (after merging), and the next free slot of at least
    `min_free` — inside working hours when `hours` is given (None if none within a month).
    """
    raw = [iv for iv in intervals if iv.end > at]
    blocks = merge(raw)
    current = next((b for b in blocks if b.start <= at < b.end), None)
    title = None
    if current is not None:
        # The title shown is the meeting the user is in now (the latest one to start when
        # several overlap), not the first of the merged block.
        title = next(
            (iv.title for iv in sorted(raw, key=lambda i: i.start, reverse=True)
             if iv.start <= at < iv.end),
            current.title,
        )
    if hours is None:
        cursor = current.end if current else at
        for block in blocks:
            if block.end <= cursor:
                continue
            if block.start - cursor >= min_free:
                break
            cursor = max(cursor, block.end)
        free: datetime | None = cursor
    else:
        free = _next_free_in_hours(blocks, at, min_free, hours)
    return BusyState(
        now=current is not None,
        until=current.end if current else None,
        next_free=free,
        event=title,
        away=any(iv.away and iv.start <= at < iv.end for iv in raw),
        blocks=tuple(blocks),
    )


# How far ahead a free slot is looked for in working hours (a long holiday fits).
_SEARCH_DAYS = 31


def _next_free_in_hours(blocks: list[BusyInterval], at: datetime, min_free: timedelta,
                        hours: WorkingHours) -> datetime | None:
    """The first slot of at least `min_free` that is both free and inside working hours."""
    day = at.astimezone(hours.zone).date()
    for _ in range(_SEARCH_DAYS):
        for open_start, open_end in hours.openings(day):
            if open_end <= at:
                continue
            cursor = max(open_start, at)
            for block in blocks:
                if block.end <= cursor or block.start >= open_end:
                    continue
                if block.start - cursor >= min_free:
                    return cursor.astimezone(hours.zone)
                cursor = max(cursor, block.end)
            if open_end - cursor >= min_free:
                return cursor.astimezone(hours.zone)
        day += timedelta(days=1)
    return None
