from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from heard.domain.busy import BusyInterval, busy_at, merge
from heard.domain.clock import WorkingHours

BERLIN = ZoneInfo("Europe/Berlin")
HOURS = WorkingHours.office(BERLIN)   # Monday to Friday, 09:00-17:00


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=BERLIN)


def meeting(start: datetime, minutes: int, title: str = "Meeting") -> BusyInterval:
    return BusyInterval(start, start + timedelta(minutes=minutes), title)


T = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Europe/Berlin"))


def iv(start_min: int, end_min: int, title: str = "") -> BusyInterval:
    return BusyInterval(T + timedelta(minutes=start_min), T + timedelta(minutes=end_min), title)


def test_overlapping_and_back_to_back_meetings_merge() -> None:
    blocks = merge([iv(0, 60), iv(30, 90), iv(90, 120), iv(180, 200)])
    assert [(b.start, b.end) for b in blocks] == [
        (T, T + timedelta(minutes=120)),
        (T + timedelta(minutes=180), T + timedelta(minutes=200)),
    ]


def test_busy_until_the_end_of_the_merged_block_with_the_current_title() -> None:
    state = busy_at([iv(-30, 30, "Deposition"), iv(20, 60, "Call")], T + timedelta(minutes=25))
    assert state.now
    assert state.until == T + timedelta(minutes=60)
    assert state.event == "Call"


def test_next_free_skips_gaps_shorter_than_the_minimum() -> None:
    state = busy_at([iv(-10, 20), iv(30, 60), iv(90, 100)], T, min_free=timedelta(minutes=15))
    # the 10-minute gap at 20-30 is too short; 60-90 is long enough
    assert state.next_free == T + timedelta(minutes=60)


def test_free_now() -> None:
    state = busy_at([iv(30, 60)], T)
    assert not state.now
    assert state.until is None
    assert state.next_free == T
    assert state.event is None


def test_past_events_do_not_count() -> None:
    assert not busy_at([iv(-60, -10)], T).now


def test_free_now_inside_hours_is_now() -> None:
    state = busy_at([], at(25, 10), hours=HOURS)
    assert not state.now and state.next_free == at(25, 10)


def test_a_meeting_running_to_closing_time_makes_the_next_slot_tomorrow_morning() -> None:
    state = busy_at([meeting(at(25, 16), 60)], at(25, 16, 10), hours=HOURS)
    assert state.now and state.until == at(25, 17)
    assert state.next_free == at(26, 9)


def test_friday_afternoon_leads_to_monday_morning() -> None:
    state = busy_at([meeting(at(27, 16, 30), 30)], at(27, 16, 40), hours=HOURS)
    assert state.next_free == at(30, 9)


def test_a_gap_too_short_is_skipped_and_back_to_back_meetings_are_one_block() -> None:
    day = [meeting(at(25, 10), 60), meeting(at(25, 11, 10), 50), meeting(at(25, 12), 30)]
    state = busy_at(day, at(25, 10, 30), min_free=timedelta(minutes=15), hours=HOURS)
    assert state.until == at(25, 11)            # a 10-minute gap ends this block
    assert state.next_free == at(25, 12, 30)    # the first 15 free minutes


def test_before_opening_the_slot_starts_at_opening() -> None:
    state = busy_at([], at(25, 7, 30), hours=HOURS)
    assert state.next_free == at(25, 9)


def test_across_the_autumn_clock_change() -> None:
    # Friday 23 October 2026 late: the next opening is Monday 26 October, after the
    # change to winter time; 09:00 local, whatever the offset.
    state = busy_at([], at(23, 18, month=10), hours=HOURS)
    assert state.next_free == at(26, 9, month=10)
    assert state.next_free.utcoffset() == timedelta(hours=1)


def test_around_the_clock_without_hours_keeps_the_old_answer() -> None:
    state = busy_at([meeting(at(25, 16), 60)], at(25, 16, 10))
    assert state.next_free == at(25, 17)


def test_a_time_inside_a_meeting_is_free_when_the_meetings_end() -> None:
    state = busy_at([iv(30, 60), iv(60, 90), iv(120, 150)], T)
    assert not state.now
    assert state.free_from(T + timedelta(minutes=10)) == T + timedelta(minutes=10)
    assert state.free_from(T + timedelta(minutes=45)) == T + timedelta(minutes=90)
    assert state.free_from(T + timedelta(minutes=125)) == T + timedelta(minutes=150)


def test_out_of_the_office_is_not_a_meeting() -> None:
    away = BusyInterval(T - timedelta(hours=2), T + timedelta(hours=8), "Off-site", away=True)
    assert busy_at([away, iv(0, 30, "Call")], T).away
    assert not busy_at([iv(0, 30, "Call")], T).away
    # merged with a meeting, the day stays away
    (block,) = merge([iv(-30, 10), away])
    assert block.away and block.end == away.end
