"""`heard busy`: the calendar's answer at an instant, for people and as JSON."""

from __future__ import annotations

from pathlib import Path

import pytest

from heard.config import ConfigFile
from heard.system.paths import Profile
from tests.cli.test_cli import empty, run, run_json  # noqa: F401  (a fixture)

ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//heard tests//EN
BEGIN:VEVENT
UID:deposition@test
DTSTART;TZID=Europe/Berlin:20261125T100000
DTEND;TZID=Europe/Berlin:20261125T120000
SUMMARY:Deposition Hale v. Patel
END:VEVENT
BEGIN:VEVENT
UID:lunch@test
DTSTART;TZID=Europe/Berlin:20261125T120000
DTEND;TZID=Europe/Berlin:20261125T123000
SUMMARY:Lunch with Raj
END:VEVENT
END:VCALENDAR
"""


@pytest.fixture
def root(profile: Profile, tmp_path: Path) -> str:
    calendar = tmp_path / "work.ics"
    calendar.write_text(ICS)
    ConfigFile(profile.config).append("calendars", {"name": "work", "kind": "ics",
                                                    "path": str(calendar)})
    return str(profile.root)


def test_busy_in_a_meeting_until_the_end_of_back_to_back_meetings(
        capsys: pytest.CaptureFixture[str], root: str) -> None:
    answer = run_json(capsys, "--profile", root, "busy", "--at", "2026-11-25T10:30+01:00")
    assert answer["now"] is True
    assert answer["until"] == "2026-11-25T12:30:00+01:00"     # lunch follows at once
    assert answer["next_free"] == "2026-11-25T12:30:00+01:00"
    assert answer["event"] is None                            # titles are private by default
    assert answer["calendars"] == 1 and answer["problems"] == []


def test_titles_show_only_when_the_user_allows_it(
        capsys: pytest.CaptureFixture[str], root: str) -> None:
    ConfigFile(Profile(Path(root)).config).set("calendar", "share_titles", True)
    answer = run_json(capsys, "--profile", root, "busy", "--at", "2026-11-25T12:10+01:00")
    assert answer["event"] == "Lunch with Raj"
    code, out, _err = run(capsys, "--profile", root, "busy", "--at", "2026-11-25T12:10+01:00")
    assert code == 0 and "Busy Wed 12:10 (Lunch with Raj) until Wed 12:30." in out


def test_free_after_hours_points_to_the_next_morning(
        capsys: pytest.CaptureFixture[str], root: str) -> None:
    answer = run_json(capsys, "--profile", root, "busy", "--at", "2026-11-25T18:00+01:00")
    assert answer["now"] is False and answer["until"] is None
    assert answer["next_free"] == "2026-11-26T09:00:00+01:00"


def test_without_a_calendar_everything_is_unknown(
        capsys: pytest.CaptureFixture[str], empty: str) -> None:  # noqa: F811
    answer = run_json(capsys, "--profile", empty, "busy")
    assert (answer["now"], answer["until"], answer["next_free"], answer["event"]) == (
        None, None, None, None)
    assert answer["calendars"] == 0
