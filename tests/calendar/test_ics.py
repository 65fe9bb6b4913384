from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from heard.calendar.ics import busy_intervals

BERLIN = ZoneInfo("Europe/Berlin")
DAY = datetime(2026, 11, 25, 0, 0, tzinfo=BERLIN)


def event(uid: str, start: str, end: str, summary: str, extra: str = "") -> str:
    return (f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20261101T000000Z\r\n{start}\r\n{end}\r\n"
            f"SUMMARY:{summary}\r\n{extra}END:VEVENT\r\n")


def calendar(*events: str) -> str:
    return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n" + "".join(events) + \
        "END:VCALENDAR\r\n"


def test_busy_events_with_recurrence_exceptions_and_what_does_not_count(
    tmp_path: Path
) -> None:
    ics = tmp_path / "cal.ics"
    ics.write_text(calendar(
        event("weekly", "DTSTART;TZID=America/New_York:20261104T090000",
              "DTEND;TZID=America/New_York:20261104T100000", "Weekly",
              "RRULE:FREQ=WEEKLY\r\nEXDATE;TZID=America/New_York:20261118T090000\r\n"),
        event("dep", "DTSTART;TZID=Europe/Berlin:20261125T093000",
              "DTEND;TZID=Europe/Berlin:20261125T110000", "Deposition"),
        event("free", "DTSTART;TZID=Europe/Berlin:20261125T120000",
              "DTEND;TZID=Europe/Berlin:20261125T130000", "Focus", "TRANSP:TRANSPARENT\r\n"),
        event("gone", "DTSTART;TZID=Europe/Berlin:20261125T140000",
              "DTEND;TZID=Europe/Berlin:20261125T150000", "Cancelled", "STATUS:CANCELLED\r\n"),
        event("bday", "DTSTART;VALUE=DATE:20261125", "DTEND;VALUE=DATE:20261126", "Birthday"),
        event("float", "DTSTART:20261125T160000", "DTEND:20261125T163000", "Floating"),
    ), encoding="utf-8")
    found, errors = busy_intervals(ics, DAY, DAY + timedelta(days=1), BERLIN)
    assert errors == []
    got = sorted((i.start.astimezone(BERLIN).strftime("%H:%M"), i.title) for i in found)
    # The weekly New York meeting at 09:00 is 15:00 in Berlin; floating times are local.
    assert got == [("09:30", "Deposition"), ("15:00", "Weekly"), ("16:00", "Floating")]


def test_a_broken_file_in_a_folder_is_reported_and_the_rest_counts(tmp_path: Path) -> None:
    (tmp_path / "good.ics").write_text(calendar(event(
        "a", "DTSTART:20261125T090000Z", "DTEND:20261125T100000Z", "Good")), encoding="utf-8")
    (tmp_path / "bad.ics").write_text("BEGIN:VCALENDAR\r\nthis is not ical\r\n",
                                      encoding="utf-8")
    (tmp_path / "notes.txt").write_text("ignored", encoding="utf-8")
    found, errors = busy_intervals(tmp_path, DAY, DAY + timedelta(days=1), BERLIN)
    assert [i.title for i in found] == ["Good"]
    assert len(errors) == 1 and errors[0].path.name == "bad.ics"
