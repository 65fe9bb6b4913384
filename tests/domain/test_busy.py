from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from heard.domain.busy import BusyInterval, busy_at, merge

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
