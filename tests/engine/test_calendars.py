"""The whole path for a CalDAV account: `heard account add caldav`, sync, `heard busy`,
a server that goes away (stale, last known state), and comes back. Real Radicale, real
keyring."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from heard import cli
from heard.config import ConfigFile, load
from heard.engine import Engine
from heard.system import secrets
from heard.system.paths import Profile
from tests.support.dav import Radicale

DEPOSITION = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//heard tests//EN
BEGIN:VEVENT
UID:deposition@test
DTSTAMP:20261101T000000Z
DTSTART;TZID=America/New_York:20261125T090000
DTEND;TZID=America/New_York:20261125T103000
SUMMARY:Deposition
END:VEVENT
END:VCALENDAR
"""
# 09:00-10:30 in New York is 15:00-16:30 in Berlin.
DURING = "2026-11-25T15:30+01:00"


def run(capsys: pytest.CaptureFixture[str], *args: str, stdin: str = "") -> tuple[int, str, str]:
    old = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        code = cli.main(list(args))
    finally:
        sys.stdin = old
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def server() -> Iterator[Radicale]:
    own = Radicale().start()
    yield own
    own.close()


@pytest.fixture
def profile(tmp_path: Path) -> Profile:
    profile = Profile(tmp_path / "profile")
    profile.create()
    ConfigFile(profile.config).set("user", "timezone", "Europe/Berlin")
    return profile


@pytest.mark.usefixtures("real_keyring")
def test_a_caldav_account_answers_busy_and_survives_its_server_going_away(
        capsys: pytest.CaptureFixture[str], server: Radicale, profile: Profile) -> None:
    user = server.add_user()
    work = user.make_calendar("work")
    user.make_calendar("birthdays")
    user.put(work, "deposition.ics", DEPOSITION)
    root = str(profile.root)

    code, out, err = run(capsys, "--profile", root, "account", "add", "caldav", server.url,
                         "--username", user.name, "--calendar", "work", "--password-stdin",
                         stdin="wrong\n")
    assert code == 1 and "password" in err.lower()
    assert not load(profile.config).calendars          # nothing written on failure

    code, out, err = run(capsys, "--profile", root, "account", "add", "caldav", server.url,
                         "--username", user.name, "--calendar", "work", "--password-stdin",
                         "--name", "office", stdin=f"{user.password}\n")
    assert code == 0, err
    (calendar,) = load(profile.config).calendars
    assert calendar.kind == "caldav" and calendar.calendars == (work,)
    assert secrets.get_password(calendar.keyring_name) == user.password
    assert user.password not in profile.config.read_text()

    assert run(capsys, "--profile", root, "sync")[0] == 0
    code, out, _err = run(capsys, "--profile", root, "busy", "--at", DURING, "--json")
    answer = json.loads(out)
    assert answer["now"] is True and answer["stale"] is False
    assert answer["until"] == "2026-11-25T16:30:00+01:00"

    # The server goes away: the last known state keeps answering, marked stale.
    server.stop()
    engine = Engine.open(profile)
    try:
        engine.calendar.refresh(force=True)
        status = engine.status()
        assert status.calendar_stale
        assert any("office could not be refreshed" in p for p in status.problems)
        busy = engine.calendar.busy(datetime.fromisoformat(DURING))
        assert busy is not None and busy.now

        # Back again: the next refresh clears the stale mark by itself.
        server.start()
        engine.calendar.refresh(force=True)
        assert not engine.status().calendar_stale
    finally:
        engine.close()


@pytest.mark.usefixtures("real_keyring")
def test_an_unchanged_calendar_costs_one_request_per_refresh(
        server: Radicale, profile: Profile) -> None:
    user = server.add_user()
    work = user.make_calendar("work")
    user.put(work, "deposition.ics", DEPOSITION)
    ConfigFile(profile.config).append("calendars", {
        "name": "office", "kind": "caldav", "url": server.url, "username": user.name,
        "calendars": [work]})
    engine = Engine.open(profile)
    try:
        secrets.store_password(engine.settings.calendars[0].keyring_name, user.password)
        engine.calendar.refresh(force=True)
        first = engine.calendar.calendars.states["office"].requests
        engine.calendar.refresh(force=True)
        assert engine.calendar.calendars.states["office"].requests - first == 1
        busy = engine.calendar.busy(datetime.fromisoformat(DURING))
        assert busy is not None and busy.now
    finally:
        engine.close()
