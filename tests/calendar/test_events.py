"""The busy-time rules every calendar source shares (heard.calendar.events)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import icalendar
import pytest

from heard.calendar.events import busy_from_calendars
from heard.domain.busy import busy_at
from tests.support.calendar import BERLIN, ME, WINDOW, as_table, at, vcalendar, vevent

DAY = (at("11-04", "00:00"), at("11-05", "00:00"))


def parse(*events: str, extra: str = "") -> icalendar.Calendar:
    text = vcalendar(*events)
    if extra:
        prodid = "PRODID:-//Heard tests//EN\r\n"
        text = text.replace(prodid, prodid + extra)
    return icalendar.Calendar.from_ical(text)


def busy(*events: str, window: tuple[datetime, datetime] = DAY, **kw: object
         ) -> tuple[list[tuple[str, str, str]], list[str]]:
    found, problems = busy_from_calendars([parse(*events)], *window, BERLIN, **kw)  # type: ignore[arg-type]
    return as_table(found), problems


def timed(uid: str, start: str, end: str, *lines: str, summary: str = "") -> str:
    return vevent(uid, summary or uid, f"DTSTART;TZID=Europe/Berlin:20261104T{start}00",
                  f"DTEND;TZID=Europe/Berlin:20261104T{end}00", *lines)


def test_a_meeting_in_another_zone_lands_at_the_right_instant() -> None:
    found, problems = busy_from_calendars([parse(vevent(
        "tokyo", "Tokyo call", "DTSTART;TZID=Asia/Tokyo:20261104T220000",
        "DTEND;TZID=Asia/Tokyo:20261104T230000"))], *DAY, BERLIN)
    assert problems == []
    # In UTC, for exact arithmetic on DST nights; 14:00-15:00 in Berlin.
    assert [(i.start.tzinfo, i.start.hour, i.end.hour) for i in found] == [(UTC, 13, 14)]
    assert as_table(found) == [("11-04 14:00", "11-04 15:00", "Tokyo call")]


@pytest.mark.parametrize(("partstat", "status", "tentative_busy", "counts"), [
    ("ACCEPTED", "", True, True),
    ("NEEDS-ACTION", "", True, True),
    ("DECLINED", "", True, False),
    ("TENTATIVE", "", True, True),
    ("TENTATIVE", "", False, False),
    ("ACCEPTED", "TENTATIVE", False, False),
    ("ACCEPTED", "CONFIRMED", False, True),
])
def test_the_users_answer_to_an_invitation(partstat: str, status: str, tentative_busy: bool,
                                           counts: bool) -> None:
    lines = [f"ATTENDEE;PARTSTAT={partstat}:MAILTO:ME@example.com",
             "ATTENDEE;PARTSTAT=DECLINED:mailto:someone@example.com"]
    if status:
        lines.append(f"STATUS:{status}")
    found, _ = busy(timed("inv", "0900", "1000", *lines), me=ME, tentative_busy=tentative_busy)
    assert bool(found) is counts


def test_a_decline_by_someone_else_does_not_free_the_user() -> None:
    found, _ = busy(timed("inv", "0900", "1000",
                          "ATTENDEE;PARTSTAT=DECLINED:mailto:other@example.com"), me=ME)
    assert found == [("11-04 09:00", "11-04 10:00", "inv")]


def test_me_may_be_given_with_mailto_and_in_any_case() -> None:
    event = timed("inv", "0900", "1000", "ATTENDEE;PARTSTAT=DECLINED:mailto:me@example.com")
    assert busy(event, me=frozenset({"MAILTO:Me@Example.com"}))[0] == []


def test_all_day_events_count_only_when_marked_busy() -> None:
    found, _ = busy(
        vevent("bday", "Birthday", "DTSTART;VALUE=DATE:20261104", "DTEND;VALUE=DATE:20261105"),
        vevent("hol", "Holiday", "DTSTART;VALUE=DATE:20261104", "TRANSP:TRANSPARENT"),
        vevent("trial", "Trial", "DTSTART;VALUE=DATE:20261104", "TRANSP:OPAQUE"))
    # No DTEND on a date: one day (RFC 5545), midnight to midnight in the user's zone.
    assert found == [("11-04 00:00", "11-05 00:00", "Trial")]


def test_duration_instead_of_an_end() -> None:
    found, problems = busy(timed("d", "0900", "0900").replace(
        "DTEND;TZID=Europe/Berlin:20261104T090000", "DURATION:PT90M"))
    assert (found, problems) == ([("11-04 09:00", "11-04 10:30", "d")], [])


def test_a_cancelled_single_instance_of_a_series() -> None:
    found, _ = busy(
        vevent("s", "Daily", "DTSTART;TZID=Europe/Berlin:20261103T090000",
               "DTEND;TZID=Europe/Berlin:20261103T100000", "RRULE:FREQ=DAILY;COUNT=3"),
        vevent("s", "Daily", "RECURRENCE-ID;TZID=Europe/Berlin:20261104T090000",
               "DTSTART;TZID=Europe/Berlin:20261104T090000",
               "DTEND;TZID=Europe/Berlin:20261104T100000", "STATUS:CANCELLED"),
        window=(at("11-03", "00:00"), at("11-06", "00:00")))
    assert found == [("11-03 09:00", "11-03 10:00", "Daily"),
                     ("11-05 09:00", "11-05 10:00", "Daily")]


def test_a_recurring_meeting_keeps_its_local_time_across_dst() -> None:
    found, _ = busy(vevent("w", "Weekly", "DTSTART;TZID=Europe/Berlin:20261021T090000",
                           "DTEND;TZID=Europe/Berlin:20261021T100000", "RRULE:FREQ=WEEKLY"),
                    window=(at("10-20", "00:00"), at("11-01", "00:00")))
    assert found == [("10-21 09:00", "10-21 10:00", "Weekly"),
                     ("10-28 09:00", "10-28 10:00", "Weekly")]
    assert [i.start.astimezone(BERLIN).utcoffset().total_seconds() / 3600  # type: ignore[union-attr]
            for i in busy_from_calendars(
        [parse(vevent("w", "Weekly", "DTSTART;TZID=Europe/Berlin:20261021T090000",
                      "DTEND;TZID=Europe/Berlin:20261021T100000", "RRULE:FREQ=WEEKLY"))],
        at("10-20", "00:00"), at("11-01", "00:00"), BERLIN)[0]] == [2, 1]


def test_an_event_over_the_autumn_dst_night_lasts_its_real_length() -> None:
    intervals, _ = busy_from_calendars([parse(vevent(
        "night", "Night shift", "DTSTART;TZID=Europe/Berlin:20261025T013000",
        "DTEND;TZID=Europe/Berlin:20261025T033000"))], at("10-24", "00:00"),
        at("10-26", "00:00"), BERLIN)
    assert (intervals[0].end - intervals[0].start).total_seconds() == 3 * 3600
    state = busy_at(intervals, datetime(2026, 10, 25, 2, 30, tzinfo=BERLIN, fold=1))
    assert state.now and state.until == intervals[0].end


def test_google_exports_with_x_wr_timezone() -> None:
    calendar = parse(vevent("g", "Google", "DTSTART:20261104T080000Z",
                            "DTEND:20261104T090000Z", "RRULE:FREQ=DAILY;COUNT=2"),
                     extra="X-WR-TIMEZONE:America/New_York\r\n")
    found, problems = busy_from_calendars([calendar], *DAY, BERLIN)
    assert problems == []
    assert as_table(found) == [("11-04 09:00", "11-04 10:00", "Google")]


def test_only_the_window_is_returned() -> None:
    found, _ = busy(timed("early", "0000", "0100").replace("20261104", "20261103"),
                    timed("late", "2300", "2359").replace("20261104", "20261105"),
                    timed("edge", "2330", "2359").replace("20261104", "20261103"))
    assert found == []


def test_malformed_events_are_skipped_one_by_one(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "heard.calendar.events")
    found, problems = busy(
        vevent("bad-date", "Bad date", "DTSTART:2026110XT090000Z", "DTEND:20261104T100000Z"),
        vevent("mars", "Mars", "DTSTART;TZID=Mars/Olympus:20261104T110000",
               "DTEND;TZID=Mars/Olympus:20261104T120000"),
        vevent("no-end", "No end", "DTSTART;TZID=Europe/Berlin:20261104T130000"),
        vevent("no-start", "No start", "DTEND:20261104T100000Z"),
        vevent("backwards", "Backwards", "DTSTART:20261104T150000Z", "DTEND:20261104T140000Z"),
        vevent("mixed", "Mixed", "DTSTART;VALUE=DATE:20261104", "DTEND:20261104T100000Z"),
        vevent("storm", "Every second", "DTSTART:20200101T000000Z",
               "DTEND:20200101T000001Z", "RRULE:FREQ=SECONDLY"),
        vevent("minutes", "Every minute", "DTSTART:19700101T000000Z",
               "DTEND:19700101T000030Z", "RRULE:FREQ=MINUTELY;BYHOUR=9"),
        vevent("bad-rule", "Bad rule", "DTSTART:20261104T160000Z", "DTEND:20261104T170000Z",
               "RRULE:FREQ=FORTNIGHTLY"),
        vevent("daily", "Daily since 1990", "DTSTART;TZID=Europe/Berlin:19900101T073000",
               "DTEND;TZID=Europe/Berlin:19900101T074500", "RRULE:FREQ=DAILY"),
        timed("good", "1800", "1900"))
    # The unknown zone is read as the user's, and said so; the rest count.
    assert found == [("11-04 07:30", "11-04 07:45", "Daily since 1990"),
                     ("11-04 11:00", "11-04 12:00", "Mars"),
                     ("11-04 18:00", "11-04 19:00", "good")]
    said = "\n".join(problems)
    for uid, words in [("bad-date", "unreadable DTSTART"), ("mars", "unknown time zone"),
                       ("no-end", "no end"), ("no-start", "no start"),
                       ("backwards", "ends before it starts"), ("mixed", "mixes a date"),
                       ("storm", "repeats too often"), ("minutes", "repeats too often"),
                       ("bad-rule", "unreadable RRULE")]:
        assert any(p.startswith(f"event '{uid}'") and words in p for p in problems), (uid, said)
    assert len(problems) == 9
    assert len(caplog.records) == 9


def test_a_broken_series_does_not_hide_another_calendar() -> None:
    good = parse(timed("ok", "0900", "1000"))
    broken = parse(vevent("r", "Odd", "DTSTART:20261104T090000Z", "DTEND:20261104T100000Z",
                          "RRULE:FREQ=DAILY;UNTIL=garbage"))
    found, problems = busy_from_calendars([broken, good], *DAY, BERLIN)
    assert as_table(found) == [("11-04 09:00", "11-04 10:00", "ok")]
    assert len(problems) == 1 and problems[0].startswith("event 'r'")


def test_a_wide_window_over_the_scenario_is_consistent() -> None:
    from tests.support.calendar import EXPECTED, one_file
    found, problems = busy_from_calendars([icalendar.Calendar.from_ical(one_file())],
                                          *WINDOW, BERLIN, me=ME)
    assert (as_table(found), problems) == (EXPECTED, [])
