"""When a follow-up comes due, said as the user says it, and what counts as a question
(heard.domain.followups)."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from heard.domain.clock import WorkingHours
from heard.domain.followups import asks_question, follow_up_time, parse_working_days

BERLIN = ZoneInfo("Europe/Berlin")
HOURS = WorkingHours.office(BERLIN, holidays=frozenset({date(2026, 11, 27)}))
WEDNESDAY = datetime(2026, 11, 25, 15, 0, tzinfo=BERLIN)


def at(day: int, hour: int = 9) -> datetime:
    return datetime.combine(date(2026, 11, day), time(hour), tzinfo=BERLIN)


@pytest.mark.parametrize(("said", "due"), [
    ("2 working days", at(30)),        # Thu, (Fri a holiday), Mon
    ("in 1 working day", at(26)),
    ("3wd", datetime(2026, 12, 1, 9, tzinfo=BERLIN)),
    ("tomorrow", at(26)),
    ("Thursday", at(26)),
    ("wed", datetime(2026, 12, 2, 9, tzinfo=BERLIN)),   # the next one, not today
    ("2026-11-28", at(28)),            # a Saturday: 9:00 that day
    ("tomorrow 14:00", at(26, 14)),
    ("16:30", datetime(2026, 11, 25, 16, 30, tzinfo=BERLIN)),
])
def test_a_due_time_as_said(said: str, due: datetime) -> None:
    assert follow_up_time(said, WEDNESDAY, HOURS) == due


@pytest.mark.parametrize("said", ["", "someday", "2026-11-25", "9:00"])
def test_a_time_that_cannot_be_says_why(said: str) -> None:
    with pytest.raises(ValueError, match=r"\S"):
        follow_up_time(said, WEDNESDAY, HOURS)


def test_working_days_are_counted_or_refused() -> None:
    assert parse_working_days("3 working days") == 3
    with pytest.raises(ValueError, match="working days"):
        parse_working_days("3 days")


def test_a_question_is_the_users_own_words_not_a_quote_or_a_link() -> None:
    assert asks_question("Could you sign it?\n\nBest,\nAlex")
    assert not asks_question("Signed copy attached.\n\n> Did you sign it?")
    assert not asks_question("Attached.\nOn Mon, Megge wrote:\nAny news?")
    assert not asks_question("See https://example.com/x?id=1 for the file.")
    assert not asks_question("Attached.\n-- \nWhy not call me?")
