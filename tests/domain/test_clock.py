"""Working-hours arithmetic: weekends, holidays, DST in both directions, foreign zones.

Expected instants are written as ISO strings with their UTC offset, so each one pins both the
local wall time and the real instant; a wall-time-only bug across DST shows up as a wrong offset.
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from heard.domain.clock import (
    Counting,
    FixedClock,
    Span,
    SystemClock,
    WorkingHours,
    deadline,
)

BERLIN = ZoneInfo("Europe/Berlin")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
TOKYO = ZoneInfo("Asia/Tokyo")
H = timedelta(hours=1)

NINE_TO_FIVE = (Span(time(9), time(17)),)


def sunday_night(zone: ZoneInfo, *sunday: Span) -> WorkingHours:
    """Office hours on weekdays plus the given spans on Sunday, where European and US DST bite."""
    return WorkingHours(zone, (NINE_TO_FIVE,) * 5 + ((), tuple(sunday)))


def iso(at: datetime) -> str:
    return at.isoformat()


# --- weekends, holidays, closing time -----------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "expected"),
    [(BERLIN, "2026-06-08T09:30:00+02:00"), (LOS_ANGELES, "2026-06-08T09:30:00-07:00")],
)
def test_friday_afternoon_hour_runs_into_monday(zone: ZoneInfo, expected: str) -> None:
    hours = WorkingHours.office(zone)
    result = hours.add(datetime(2026, 6, 5, 16, 30, tzinfo=zone), H)
    assert iso(result) == expected
    assert result.tzinfo == zone


def test_holiday_friday_is_skipped() -> None:
    hours = WorkingHours.office(BERLIN, holidays=frozenset({date(2026, 12, 25)}))
    start = datetime(2026, 12, 24, 16, tzinfo=BERLIN)
    result = hours.add(start, 2 * H)
    assert iso(result) == "2026-12-28T10:00:00+01:00"
    assert hours.openings(date(2026, 12, 25)) == []
    assert not hours.is_open(datetime(2026, 12, 25, 12, tzinfo=BERLIN))
    assert hours.elapsed(start, result) == 2 * H


def test_long_duration_spans_many_weeks() -> None:
    hours = WorkingHours.office(BERLIN)
    # 80 working hours = two full weeks; Monday 09:00 lands on Friday 17:00 of the second week.
    result = hours.add(datetime(2026, 6, 1, 9, tzinfo=BERLIN), 80 * H)
    assert iso(result) == "2026-06-12T17:00:00+02:00"


def test_arrival_after_closing_starts_next_morning() -> None:
    hours = WorkingHours.office(BERLIN)
    result = hours.add(datetime(2026, 6, 9, 20, tzinfo=BERLIN), H)
    assert iso(result) == "2026-06-10T10:00:00+02:00"


def test_arrival_before_opening_starts_at_opening() -> None:
    hours = WorkingHours.office(BERLIN)
    result = hours.add(datetime(2026, 6, 9, 7, tzinfo=BERLIN), 30 * timedelta(minutes=1))
    assert iso(result) == "2026-06-09T09:30:00+02:00"


def test_arrival_exactly_at_closing_counts_as_closed() -> None:
    hours = WorkingHours.office(BERLIN)
    closing = datetime(2026, 6, 9, 17, tzinfo=BERLIN)
    assert not hours.is_open(closing)
    assert hours.is_open(closing - timedelta(microseconds=1))
    assert hours.is_open(datetime(2026, 6, 9, 9, tzinfo=BERLIN))
    assert iso(hours.next_opening(closing)) == "2026-06-10T09:00:00+02:00"
    assert iso(hours.add(closing, H)) == "2026-06-10T10:00:00+02:00"


def test_time_running_out_at_closing_returns_closing_not_next_morning() -> None:
    hours = WorkingHours.office(BERLIN)
    result = hours.add(datetime(2026, 6, 9, 16, tzinfo=BERLIN), H)
    assert iso(result) == "2026-06-09T17:00:00+02:00"


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (datetime(2026, 6, 9, 10, 15, tzinfo=BERLIN), "2026-06-09T10:15:00+02:00"),  # open
        (datetime(2026, 6, 9, 17, tzinfo=BERLIN), "2026-06-10T09:00:00+02:00"),  # closing
        (datetime(2026, 6, 6, 12, tzinfo=BERLIN), "2026-06-08T09:00:00+02:00"),  # Saturday
    ],
)
def test_zero_duration_is_next_opening(start: datetime, expected: str) -> None:
    hours = WorkingHours.office(BERLIN)
    assert iso(hours.add(start, timedelta(0))) == expected
    assert iso(hours.next_opening(start)) == expected


def test_elapsed_is_zero_when_end_not_after_start() -> None:
    hours = WorkingHours.office(BERLIN)
    at = datetime(2026, 6, 9, 12, tzinfo=BERLIN)
    assert hours.elapsed(at, at) == timedelta(0)
    assert hours.elapsed(at, at - H) == timedelta(0)


def test_elapsed_over_a_week() -> None:
    hours = WorkingHours.office(BERLIN)
    monday = datetime(2026, 6, 8, tzinfo=BERLIN)
    assert hours.elapsed(monday, monday + timedelta(days=7)) == 40 * H


def test_split_day_skips_lunch() -> None:
    split = (Span(time(9), time(12)), Span(time(13), time(17)))
    hours = WorkingHours(BERLIN, (split,) * 5 + ((), ()))
    result = hours.add(datetime(2026, 6, 9, 11, 30, tzinfo=BERLIN), H)
    assert iso(result) == "2026-06-09T13:30:00+02:00"
    assert not hours.is_open(datetime(2026, 6, 9, 12, 30, tzinfo=BERLIN))


# --- starts given in other zones ---------------------------------------------------------------


def test_start_in_utc_is_read_in_the_hours_zone() -> None:
    hours = WorkingHours.office(BERLIN)
    result = hours.add(datetime(2026, 6, 5, 14, 30, tzinfo=UTC), H)  # Friday 16:30 in Berlin
    assert iso(result) == "2026-06-08T09:30:00+02:00"
    assert result.tzinfo == BERLIN


def test_start_in_tokyo_friday_night_is_berlin_friday_afternoon() -> None:
    hours = WorkingHours.office(BERLIN)
    result = hours.add(datetime(2026, 6, 5, 23, 30, tzinfo=TOKYO), H)  # 16:30 in Berlin
    assert iso(result) == "2026-06-08T09:30:00+02:00"


def test_start_on_tokyo_monday_is_still_berlin_sunday() -> None:
    hours = WorkingHours.office(BERLIN)
    start = datetime(2026, 6, 8, 6, tzinfo=TOKYO)  # Sunday 23:00 in Berlin
    assert not hours.is_open(start)
    assert iso(hours.add(start, H)) == "2026-06-08T10:00:00+02:00"


# --- daylight saving time ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "day", "span", "real"),
    [
        (BERLIN, date(2026, 3, 29), Span(time(0), time(4)), 3 * H),
        (BERLIN, date(2026, 10, 25), Span(time(0), time(4)), 5 * H),
        (BERLIN, date(2026, 3, 29), Span(time(9), time(17)), 8 * H),
        (BERLIN, date(2026, 10, 25), Span(time(9), time(17)), 8 * H),
        (LOS_ANGELES, date(2026, 3, 8), Span(time(0), time(4)), 3 * H),
        (LOS_ANGELES, date(2026, 11, 1), Span(time(0), time(4)), 5 * H),
        (LOS_ANGELES, date(2026, 3, 8), Span(time(9), time(17)), 8 * H),
        (LOS_ANGELES, date(2026, 11, 1), Span(time(9), time(17)), 8 * H),
        (LORD_HOWE, date(2026, 10, 4), Span(time(0), time(4)), 3.5 * H),
        (LORD_HOWE, date(2026, 4, 5), Span(time(0), time(4)), 4.5 * H),
    ],
)
def test_opening_holds_real_hours_on_dst_days(
    zone: ZoneInfo, day: date, span: Span, real: timedelta
) -> None:
    assert day.weekday() == 6
    hours = sunday_night(zone, span)
    [(start, end)] = hours.openings(day)
    assert end.astimezone(UTC) - start.astimezone(UTC) == real
    assert hours.elapsed(start, end) == real
    assert hours.add(start, real).astimezone(UTC) == end.astimezone(UTC)


def test_berlin_spring_forward_night() -> None:
    hours = sunday_night(BERLIN, Span(time(0), time(6)))
    midnight = datetime(2026, 3, 29, tzinfo=BERLIN)
    assert iso(hours.add(midnight, 2 * H)) == "2026-03-29T03:00:00+02:00"
    assert iso(hours.add(midnight, 5 * H)) == "2026-03-29T06:00:00+02:00"
    assert iso(hours.add(midnight, 5.5 * H)) == "2026-03-30T09:30:00+02:00"


def test_berlin_fall_back_night_lands_in_the_repeated_hour() -> None:
    hours = sunday_night(BERLIN, Span(time(0), time(6)))
    midnight = datetime(2026, 10, 25, tzinfo=BERLIN)
    second_two = hours.add(midnight, 3 * H)
    assert iso(second_two) == "2026-10-25T02:00:00+01:00"
    assert second_two.fold == 1
    assert iso(hours.add(midnight, 7 * H)) == "2026-10-25T06:00:00+01:00"
    assert hours.is_open(second_two)


def test_los_angeles_spring_forward_night() -> None:
    hours = sunday_night(LOS_ANGELES, Span(time(0), time(6)))
    midnight = datetime(2026, 3, 8, tzinfo=LOS_ANGELES)
    assert iso(hours.add(midnight, 2 * H)) == "2026-03-08T03:00:00-07:00"
    assert iso(hours.add(midnight, 5 * H)) == "2026-03-08T06:00:00-07:00"
    assert iso(hours.add(midnight, 6 * H)) == "2026-03-09T10:00:00-07:00"


def test_los_angeles_fall_back_night_lands_in_the_repeated_hour() -> None:
    hours = sunday_night(LOS_ANGELES, Span(time(0), time(6)))
    midnight = datetime(2026, 11, 1, tzinfo=LOS_ANGELES)
    assert iso(hours.add(midnight, H)) == "2026-11-01T01:00:00-07:00"
    assert iso(hours.add(midnight, 2 * H)) == "2026-11-01T01:00:00-08:00"
    assert iso(hours.add(midnight, 7 * H)) == "2026-11-01T06:00:00-08:00"


@pytest.mark.parametrize(
    ("zone", "friday", "monday"),
    [
        (BERLIN, datetime(2026, 3, 27, 16), "2026-03-30T10:00:00+02:00"),
        (BERLIN, datetime(2026, 10, 23, 16), "2026-10-26T10:00:00+01:00"),
        (LOS_ANGELES, datetime(2026, 3, 6, 16), "2026-03-09T10:00:00-07:00"),
        (LOS_ANGELES, datetime(2026, 10, 30, 16), "2026-11-02T10:00:00-08:00"),
    ],
)
def test_office_hours_across_a_dst_weekend(zone: ZoneInfo, friday: datetime, monday: str) -> None:
    hours = WorkingHours.office(zone)
    friday = friday.replace(tzinfo=zone)
    result = hours.add(friday, 2 * H)
    assert iso(result) == monday
    assert hours.elapsed(friday, result) == 2 * H


def test_nonexistent_span_start_moves_to_the_end_of_the_gap() -> None:
    hours = sunday_night(BERLIN, Span(time(2, 30), time(5)))
    assert [(iso(s), iso(e)) for s, e in hours.openings(date(2026, 3, 29))] == [
        ("2026-03-29T03:00:00+02:00", "2026-03-29T05:00:00+02:00")
    ]


def test_nonexistent_span_end_moves_to_the_end_of_the_gap() -> None:
    hours = sunday_night(BERLIN, Span(time(0), time(2, 30)))
    [(start, end)] = hours.openings(date(2026, 3, 29))
    assert (iso(start), iso(end)) == ("2026-03-29T00:00:00+01:00", "2026-03-29T03:00:00+02:00")
    assert hours.elapsed(start, end) == 2 * H


def test_a_skipped_calendar_day_has_no_openings() -> None:
    # Samoa crossed the date line: 2011-12-30 never happened in Pacific/Apia.
    apia = ZoneInfo("Pacific/Apia")
    hours = WorkingHours.office(apia)
    assert hours.openings(date(2011, 12, 30)) == []
    result = hours.add(datetime(2011, 12, 29, 16, 30, tzinfo=apia), H)
    assert iso(result) == "2012-01-02T09:30:00+14:00"


def test_span_wholly_inside_the_gap_never_opens() -> None:
    hours = sunday_night(BERLIN, Span(time(2), time(2, 45)))
    assert hours.openings(date(2026, 3, 29)) == []
    assert hours.openings(date(2026, 3, 22)) != []


def test_ambiguous_span_start_takes_the_first_occurrence() -> None:
    hours = sunday_night(BERLIN, Span(time(2, 30), time(5)))
    [(start, end)] = hours.openings(date(2026, 10, 25))
    assert (iso(start), iso(end)) == ("2026-10-25T02:30:00+02:00", "2026-10-25T05:00:00+01:00")
    assert hours.elapsed(start, end) == 3.5 * H


def test_lord_howe_half_hour_gap() -> None:
    hours = sunday_night(LORD_HOWE, Span(time(2, 15), time(4)))
    [(start, end)] = hours.openings(date(2026, 10, 4))
    assert (iso(start), iso(end)) == ("2026-10-04T02:30:00+11:00", "2026-10-04T04:00:00+11:00")
    office = WorkingHours.office(LORD_HOWE)
    result = office.add(datetime(2026, 10, 2, 16, 30, tzinfo=LORD_HOWE), H)
    assert iso(result) == "2026-10-05T09:30:00+11:00"


@pytest.mark.parametrize(
    ("zone", "start", "expected"),
    [
        (BERLIN, datetime(2026, 3, 28, 12), "2026-03-29T13:00:00+02:00"),
        (BERLIN, datetime(2026, 10, 24, 12), "2026-10-25T11:00:00+01:00"),
        (LOS_ANGELES, datetime(2026, 3, 7, 12), "2026-03-08T13:00:00-07:00"),
        (LOS_ANGELES, datetime(2026, 10, 31, 12), "2026-11-01T11:00:00-08:00"),
        (LORD_HOWE, datetime(2026, 10, 3, 12), "2026-10-04T12:30:00+11:00"),
    ],
)
def test_clock_deadline_is_real_hours_across_dst(
    zone: ZoneInfo, start: datetime, expected: str
) -> None:
    hours = WorkingHours.office(zone)
    result = deadline(start.replace(tzinfo=zone), 24 * H, Counting.CLOCK, hours)
    assert iso(result) == expected


def test_clock_deadline_is_given_in_the_hours_zone() -> None:
    hours = WorkingHours.office(BERLIN)
    result = deadline(datetime(2026, 6, 6, 12, tzinfo=TOKYO), 2 * H, Counting.CLOCK, hours)
    assert iso(result) == "2026-06-06T07:00:00+02:00"


def test_working_hours_deadline_uses_the_hours() -> None:
    hours = WorkingHours.office(BERLIN)
    start = datetime(2026, 6, 5, 16, 30, tzinfo=BERLIN)
    assert iso(deadline(start, H, Counting.WORKING_HOURS, hours)) == "2026-06-08T09:30:00+02:00"
    assert Counting("working_hours") is Counting.WORKING_HOURS


# --- configuration and bad input -----------------------------------------------------------------


def test_office_is_monday_to_friday() -> None:
    hours = WorkingHours.office(BERLIN, time(8), time(16))
    assert hours.week == ((Span(time(8), time(16)),),) * 5 + ((), ())
    assert hours.holidays == frozenset()


@pytest.mark.parametrize(
    ("week", "message"),
    [
        ((NINE_TO_FIVE,) * 6, "7 entries"),
        ((NINE_TO_FIVE,) * 8, "7 entries"),
        (((Span(time(9), time(13)), Span(time(12), time(17))),) + ((),) * 6, "overlap"),
        (((Span(time(13), time(17)), Span(time(9), time(12))),) + ((),) * 6, "out of order"),
    ],
)
def test_invalid_week_is_rejected(week: tuple[tuple[Span, ...], ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        WorkingHours(BERLIN, week)


def test_adjacent_spans_are_allowed() -> None:
    week = ((Span(time(9), time(12)), Span(time(12), time(17))),) + ((),) * 6
    hours = WorkingHours(BERLIN, week)
    assert hours.elapsed(datetime(2026, 6, 8, tzinfo=BERLIN), datetime(2026, 6, 9, tzinfo=BERLIN))
    assert iso(hours.add(datetime(2026, 6, 8, 11, tzinfo=BERLIN), 2 * H)) == (
        "2026-06-08T13:00:00+02:00"
    )


@pytest.mark.parametrize(
    ("start", "end"),
    [(time(17), time(9)), (time(9), time(9)), (time(9, tzinfo=UTC), time(17))],
)
def test_invalid_span_is_rejected(start: time, end: time) -> None:
    with pytest.raises(ValueError, match="span"):
        Span(start, end)


def test_naive_datetimes_are_rejected() -> None:
    hours = WorkingHours.office(BERLIN)
    naive = datetime(2026, 6, 9, 12)
    aware = naive.replace(tzinfo=BERLIN)
    for call in (
        lambda: hours.is_open(naive),
        lambda: hours.next_opening(naive),
        lambda: hours.add(naive, H),
        lambda: hours.elapsed(naive, aware),
        lambda: hours.elapsed(aware, naive),
        lambda: deadline(naive, H, Counting.CLOCK, hours),
        lambda: deadline(naive, H, Counting.WORKING_HOURS, hours),
        lambda: FixedClock(naive),
    ):
        with pytest.raises(ValueError, match="timezone-aware"):
            call()


def test_negative_duration_is_rejected() -> None:
    hours = WorkingHours.office(BERLIN)
    with pytest.raises(ValueError, match="negative"):
        hours.add(datetime(2026, 6, 9, 12, tzinfo=BERLIN), -H)


def test_no_hours_raises_instead_of_hanging() -> None:
    hours = WorkingHours(BERLIN, ((),) * 7)
    at = datetime(2026, 6, 9, 12, tzinfo=BERLIN)
    with pytest.raises(ValueError, match="no working hours configured"):
        hours.add(at, H)
    with pytest.raises(ValueError, match="no working hours configured"):
        hours.next_opening(at)
    with pytest.raises(ValueError, match="no working hours configured"):
        deadline(at, timedelta(0), Counting.WORKING_HOURS, hours)
    assert not hours.is_open(at)
    assert hours.elapsed(at, at + 1000 * H) == timedelta(0)


def test_endless_holidays_raise_instead_of_hanging() -> None:
    first = date(2026, 1, 1)
    forever = frozenset(first + timedelta(days=n) for n in range(20 * 366))
    hours = WorkingHours.office(BERLIN, holidays=forever)
    with pytest.raises(ValueError, match="no working hours within"):
        hours.add(datetime(2026, 1, 1, tzinfo=BERLIN), H)


def test_a_year_of_holidays_is_still_crossed() -> None:
    year = frozenset(date(2026, 1, 1) + timedelta(days=n) for n in range(365))
    hours = WorkingHours.office(BERLIN, holidays=year)
    result = hours.add(datetime(2025, 12, 31, 16, tzinfo=BERLIN), 2 * H)
    assert iso(result) == "2027-01-01T10:00:00+01:00"


# --- clocks ------------------------------------------------------------------------------------


def test_fixed_clock_moves_only_when_told_and_by_real_time() -> None:
    clock = FixedClock(datetime(2026, 3, 29, tzinfo=BERLIN))
    assert iso(clock.now()) == "2026-03-29T00:00:00+01:00"
    clock.advance(3 * H)
    assert iso(clock.now()) == "2026-03-29T04:00:00+02:00"
    clock.set(datetime(2026, 1, 1, tzinfo=UTC))
    assert iso(clock.now()) == "2026-01-01T00:00:00+00:00"
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.set(datetime(2026, 1, 1))


def test_system_clock_is_aware_utc() -> None:
    now = SystemClock().now()
    assert now.utcoffset() == timedelta(0)
    assert now.year >= 2025


# --- properties --------------------------------------------------------------------------------

BERLIN_OFFICE = WorkingHours.office(BERLIN)
NIGHTS = tuple(
    WorkingHours(zone, ((Span(time(0), time(6)), Span(time(9), time(17))),) * 7)
    for zone in (BERLIN, LOS_ANGELES, LORD_HOWE)
)

ZONES = st.sampled_from([UTC, BERLIN, TOKYO, LOS_ANGELES])
# Starts spread over a decade almost never meet a DST night, so the other branches draw from the
# days just before each 2026 change in Berlin, Los Angeles and Lord Howe. Imaginary local times
# (inside a gap) stay in: they are valid aware input and must not break anything.
DST_CHANGES = [date(2026, m, d) for m, d in ((3, 29), (10, 25), (3, 8), (11, 1), (4, 5), (10, 4))]
starts = st.one_of(
    st.datetimes(datetime(2020, 1, 1), datetime(2030, 12, 31), timezones=ZONES),
    *(
        st.datetimes(
            datetime.combine(day - timedelta(days=4), time()),
            datetime.combine(day + timedelta(days=1), time()),
            timezones=ZONES,
        )
        for day in DST_CHANGES
    ),
)
durations = st.timedeltas(min_value=timedelta(0), max_value=100 * H)
schedules = st.sampled_from((BERLIN_OFFICE, *NIGHTS))


def is_open_or_closing(hours: WorkingHours, at: datetime) -> bool:
    if hours.is_open(at):
        return True
    instant = at.astimezone(UTC)
    day = instant.astimezone(hours.zone).date()
    return any(end.astimezone(UTC) == instant for _, end in hours.openings(day))


@settings(deadline=None)
@given(starts, durations, schedules)
def test_elapsed_undoes_add(start: datetime, duration: timedelta, hours: WorkingHours) -> None:
    assert hours.elapsed(start, hours.add(start, duration)) == duration


@settings(deadline=None)
@given(starts, durations, durations, schedules)
def test_add_is_monotonic(start: datetime, a: timedelta, b: timedelta, hours: WorkingHours) -> None:
    shorter, longer = sorted((a, b))
    # astimezone(UTC): same-zone aware datetimes compare by wall time, wrong in a repeated hour.
    assert hours.add(start, shorter).astimezone(UTC) <= hours.add(start, longer).astimezone(UTC)


@settings(deadline=None)
@given(starts, durations, schedules)
def test_add_lands_in_hours_or_at_closing(
    start: datetime, duration: timedelta, hours: WorkingHours
) -> None:
    result = hours.add(start, duration)
    assert result.tzinfo == hours.zone
    assert is_open_or_closing(hours, result)
    assert result.astimezone(UTC) >= start.astimezone(UTC)


@given(starts)
def test_next_opening_is_open_and_costs_nothing(start: datetime) -> None:
    opening = BERLIN_OFFICE.next_opening(start)
    assert BERLIN_OFFICE.is_open(opening)
    assert BERLIN_OFFICE.elapsed(start, opening) == timedelta(0)


@given(starts, durations)
def test_clock_deadline_is_plain_elapsed_time(start: datetime, within: timedelta) -> None:
    result = deadline(start, within, Counting.CLOCK, BERLIN_OFFICE)
    # Both sides in UTC: `+` on a ZoneInfo datetime is wall-clock arithmetic, and PEP 495 makes a
    # time in a repeated hour compare unequal to every datetime in another zone.
    assert result.astimezone(UTC) == start.astimezone(UTC) + within
    assert result.tzinfo == BERLIN


def test_working_hours_remember_their_days_without_changing_their_value() -> None:
    used, fresh = WorkingHours.office(BERLIN), WorkingHours.office(BERLIN)
    start = datetime(2026, 3, 27, 16, 0, tzinfo=BERLIN)   # a Friday, the DST weekend ahead
    assert used.elapsed(start, start + timedelta(days=4)) == timedelta(hours=16)
    assert used.elapsed(start, start + timedelta(days=4)) == timedelta(hours=16)   # remembered
    assert used == fresh and hash(used) == hash(fresh) and repr(used) == repr(fresh)
    # The settings make new hours on each read: equal ones share what was worked out.
    assert fresh._days is used._days and fresh._days
    assert fresh.add(start, timedelta(hours=2)) == datetime(2026, 3, 30, 10, 0, tzinfo=BERLIN)
    assert fresh._added is used._added and (start, timedelta(hours=2)) in used._added
    assert WorkingHours.office(BERLIN, end=time(18))._days is not used._days
