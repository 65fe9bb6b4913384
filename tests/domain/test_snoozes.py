"""When a snooze of one client ends, said as the user says it (heard.domain.snoozes)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from heard.domain.busy import BusyState
from heard.domain.clock import Span, WorkingHours
from heard.domain.snoozes import NotInMeeting, snooze_time

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=BERLIN)   # a Wednesday
NINE_TO_FIVE = tuple((Span(time(9), time(17)),) if d < 5 else () for d in range(7))
HOURS = WorkingHours(BERLIN, NINE_TO_FIVE)


@pytest.mark.parametrize(("said", "expected"), [
    ("15:00", datetime(2026, 11, 25, 15, 0, tzinfo=BERLIN)),
    ("tomorrow 9:00", datetime(2026, 11, 26, 9, 0, tzinfo=BERLIN)),
    ("tomorrow", datetime(2026, 11, 26, 9, 0, tzinfo=BERLIN)),
    ("90m", NOW + timedelta(minutes=90)),
    ("2h", NOW + timedelta(hours=2)),
    ("2026-11-27T08:30", datetime(2026, 11, 27, 8, 30, tzinfo=BERLIN)),
])
def test_a_snooze_ends_when_the_user_says(said: str, expected: datetime) -> None:
    assert snooze_time(said, NOW, HOURS, None) == expected


def test_meeting_end_is_the_end_of_the_current_block_and_needs_a_meeting() -> None:
    until = NOW + timedelta(minutes=45)
    busy = BusyState(now=True, until=until, next_free=until)
    assert snooze_time("meeting-end", NOW, HOURS, busy) == until
    with pytest.raises(NotInMeeting):
        snooze_time("meeting-end", NOW, HOURS, None)


def test_a_time_already_past_or_not_a_time_is_refused_in_words() -> None:
    with pytest.raises(ValueError, match=r"has passed.*tomorrow 9:00"):
        snooze_time("9:00", NOW, HOURS, None)
    with pytest.raises(ValueError, match="not a time"):
        snooze_time("after lunch", NOW, HOURS, None)
