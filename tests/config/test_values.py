"""The values a settings file holds (heard.config.values): opening hours and durations,
parsed, refused with what is wrong, and written back the way they are read."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from heard.config import (
    format_duration,
    parse_duration,
    parse_spans,
)
from heard.domain.clock import Span


def test_a_day_can_have_several_opening_spans() -> None:
    assert parse_spans("09:00-12:00, 13:00-17:00") == (
        Span(time(9), time(12)), Span(time(13), time(17)))
    assert parse_spans("13:00-17:00,9:00-12:00") == (
        Span(time(9), time(12)), Span(time(13), time(17)))


def test_an_empty_day_is_closed() -> None:
    assert parse_spans("") == ()


def test_a_day_can_run_until_midnight_written_as_24_00() -> None:
    (span,) = parse_spans("18:00-24:00")
    assert span.start == time(18)
    assert span.end > time(23, 59, 59)


@pytest.mark.parametrize(("value", "complaint"), [
    ("09:00-12:00, 11:00-13:00", "overlapping"),
    ("17:00-09:00", "ends before it starts"),
    ("9 to 5", "is not a time range"),
    ("09:00-25:00", "09:00-25:00"),
])
def test_bad_opening_hours_are_refused(value: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        parse_spans(value)


@pytest.mark.parametrize(("text", "expected"), [
    ("10m", timedelta(minutes=10)),
    ("10min", timedelta(minutes=10)),
    ("4h", timedelta(hours=4)),
    ("1d 2h", timedelta(days=1, hours=2)),
    ("1d2h30m", timedelta(days=1, hours=2, minutes=30)),
])
def test_durations_are_parsed(text: str | int, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("bad", ["", "soon", "10", "0m", "-5m", "1.5h", 0, -3, True, 2.5])
def test_bad_durations_are_refused(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(bad)


@pytest.mark.parametrize(("bare", "suggestion"), [(5, '"5m"'), (90, '"90m"'), ("10", '"10m"')])
def test_a_duration_without_a_unit_is_refused_with_the_likely_fix(
        bare: object, suggestion: str) -> None:
    with pytest.raises(ValueError, match=f"has no unit; did you mean {suggestion}"):
        parse_duration(bare)


def test_durations_are_formatted_the_way_they_are_written() -> None:
    assert format_duration(timedelta(days=1, hours=2)) == "1d 2h"
    assert format_duration(timedelta(minutes=90)) == "1h 30m"
    assert format_duration(timedelta(minutes=10)) == "10m"


@given(st.integers(min_value=1, max_value=60 * 24 * 400))
def test_a_formatted_duration_parses_back_to_itself(minutes: int) -> None:
    duration = timedelta(minutes=minutes)
    assert parse_duration(format_duration(duration)) == duration
