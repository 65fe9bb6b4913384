"""Busy or free at an instant, from the busy intervals a calendar yields."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class BusyInterval:
    start: datetime
    end: datetime
    title: str = ""

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("busy intervals must be timezone-aware")


@dataclass(frozen=True)
class BusyState:
    now: bool
    until: datetime | None       # end of the current busy block (after merging); None if free
    next_free: datetime | None   # first free slot of at least the asked length
    event: str | None = None     # title of the current event, if any


def merge(intervals: Iterable[BusyInterval]) -> list[BusyInterval]:
    """Overlapping and back-to-back meetings form one busy block."""
    merged: list[BusyInterval] = []
    for iv in sorted(intervals, key=lambda i: (i.start, i.end)):
        if iv.end <= iv.start:
            continue
        if merged and iv.start <= merged[-1].end:
            last = merged[-1]
            if iv.end > last.end:
                merged[-1] = BusyInterval(last.start, iv.end, last.title)
        else:
            merged.append(iv)
    return merged


def busy_at(
    intervals: Iterable[BusyInterval], at: datetime, min_free: timedelta = timedelta(minutes=15)
) -> BusyState:
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
    cursor = current.end if current else at
    for block in blocks:
        if block.end <= cursor:
            continue
        if block.start - cursor >= min_free:
            break
        cursor = max(cursor, block.end)
    return BusyState(
        now=current is not None,
        until=current.end if current else None,
        next_free=cursor,
        event=title,
    )
