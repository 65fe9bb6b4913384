"""The deadline table from issue 7, with fixed instants: what a standard makes due when."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from heard.domain.clock import Counting, Span, WorkingHours
from heard.domain.standards import Standard

BERLIN = ZoneInfo("Europe/Berlin")
LA = ZoneInfo("America/Los_Angeles")
TEN_MINUTES = Standard(timedelta(minutes=10), timedelta(hours=4))
DAY_AROUND_THE_CLOCK = Standard(timedelta(hours=24), timedelta(hours=48), Counting.CLOCK)


def hours(zone: ZoneInfo, holidays: frozenset[date] = frozenset()) -> WorkingHours:
    weekday = (Span(time(9), time(18)),)
    return WorkingHours(zone, (weekday,) * 5 + ((), ()), holidays)


@pytest.mark.parametrize(("arrived", "due"), [
    # Friday 17:55: five minutes before closing, five more on Monday morning.
    (datetime(2026, 11, 27, 17, 55, tzinfo=BERLIN), datetime(2026, 11, 30, 9, 5, tzinfo=BERLIN)),
    # Saturday: the clock starts at Monday's opening.
    (datetime(2026, 11, 28, 11, 0, tzinfo=BERLIN), datetime(2026, 11, 30, 9, 10, tzinfo=BERLIN)),
    # Spring forward (Sunday 29 March 2026): Friday 17:55 to Monday 09:05, one hour less
    # of real time than on a normal weekend.
    (datetime(2026, 3, 27, 17, 55, tzinfo=BERLIN), datetime(2026, 3, 30, 9, 5, tzinfo=BERLIN)),
    # Fall back (Sunday 25 October 2026).
    (datetime(2026, 10, 23, 17, 55, tzinfo=BERLIN), datetime(2026, 10, 26, 9, 5, tzinfo=BERLIN)),
    # Los Angeles: spring forward 8 March 2026, fall back 1 November 2026.
    (datetime(2026, 3, 6, 17, 55, tzinfo=LA), datetime(2026, 3, 9, 9, 5, tzinfo=LA)),
    (datetime(2026, 10, 30, 17, 55, tzinfo=LA), datetime(2026, 11, 2, 9, 5, tzinfo=LA)),
])
def test_ten_working_minutes(arrived: datetime, due: datetime) -> None:
    assert TEN_MINUTES.ack_due(arrived, hours(arrived.tzinfo)) == due  # type: ignore[arg-type]


def test_arrival_on_a_holiday_starts_the_next_working_morning() -> None:
    closed = hours(BERLIN, frozenset({date(2026, 12, 24), date(2026, 12, 25)}))
    arrived = datetime(2026, 12, 24, 10, 0, tzinfo=BERLIN)     # Thursday, a holiday
    assert TEN_MINUTES.ack_due(arrived, closed) == datetime(2026, 12, 28, 9, 10, tzinfo=BERLIN)


@pytest.mark.parametrize(("arrived", "wall_due"), [
    # 24 real hours across the spring-forward night read 25 hours later on the wall...
    (datetime(2026, 3, 28, 12, 0, tzinfo=BERLIN), datetime(2026, 3, 29, 13, 0, tzinfo=BERLIN)),
    # ...and across the fall-back night 23.
    (datetime(2026, 10, 24, 12, 0, tzinfo=BERLIN), datetime(2026, 10, 25, 11, 0, tzinfo=BERLIN)),
])
def test_24_hours_around_the_clock_across_dst(arrived: datetime, wall_due: datetime) -> None:
    due = DAY_AROUND_THE_CLOCK.ack_due(arrived, hours(BERLIN))
    assert due == wall_due
    utc = ZoneInfo("UTC")
    assert due.astimezone(utc) - arrived.astimezone(utc) == timedelta(hours=24)
