from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from heard.domain.urgency import Urgency, most_urgent, urgency_at

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Europe/Berlin"))


@pytest.mark.parametrize(
    ("minutes_after", "expected"),
    [
        (0, Urgency.ON_TRACK),
        (22, Urgency.ON_TRACK),     # 8 of 30 minutes left: more than a quarter
        (23, Urgency.DUE_SOON),     # 7 minutes left: under a quarter (7.5)
        (29, Urgency.DUE_SOON),
        (30, Urgency.OVERDUE),      # at the deadline it is missed
        (90, Urgency.OVERDUE),
    ],
)
def test_urgency_moves_from_on_track_to_due_soon_to_overdue(
    minutes_after: int, expected: Urgency
) -> None:
    due = T0 + timedelta(minutes=30)
    assert urgency_at(T0 + timedelta(minutes=minutes_after), T0, due) is expected


def test_short_standards_still_get_a_two_minute_warning() -> None:
    due = T0 + timedelta(minutes=4)  # a quarter would be one minute
    assert urgency_at(T0 + timedelta(minutes=1, seconds=59), T0, due) is Urgency.ON_TRACK
    assert urgency_at(T0 + timedelta(minutes=2), T0, due) is Urgency.DUE_SOON


def test_most_urgent_picks_the_worst_and_none_for_nobody() -> None:
    assert most_urgent([Urgency.ON_TRACK, Urgency.OVERDUE, Urgency.DUE_SOON]) is Urgency.OVERDUE
    assert most_urgent([Urgency.ON_TRACK]) is Urgency.ON_TRACK
    assert most_urgent([]) is None


def test_in_working_hours_a_friday_evening_message_is_not_due_soon_over_the_weekend() -> None:
    from heard.domain.clock import WorkingHours

    berlin = ZoneInfo("Europe/Berlin")
    hours = WorkingHours.office(berlin)
    received = datetime(2026, 11, 27, 18, 0, tzinfo=berlin)   # Friday, after hours
    due = hours.add(received, timedelta(minutes=30))          # Monday 09:30
    assert due == datetime(2026, 11, 30, 9, 30, tzinfo=berlin)
    sunday_night = datetime(2026, 11, 29, 20, 0, tzinfo=berlin)
    assert urgency_at(sunday_night, received, due, hours) is Urgency.ON_TRACK
    # Counted around the clock, the same instant would already look alarming.
    assert urgency_at(sunday_night, received, due) is Urgency.DUE_SOON
    monday = datetime(2026, 11, 30, 9, 22, tzinfo=berlin)
    assert urgency_at(monday, received, due, hours) is Urgency.ON_TRACK
    assert urgency_at(monday + timedelta(seconds=30), received, due, hours) is Urgency.DUE_SOON
