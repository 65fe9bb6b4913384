"""The engine's facade (heard.engine.facade): what it checks when it opens a profile, the
settings it takes up while running, and the holidays it adds to the opening hours."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from heard.config import ConfigFile
from heard.domain.clients import Channel
from heard.domain.clock import FixedClock
from heard.engine import Engine, EngineError
from heard.system.paths import Profile
from tests.conftest import BERLIN

HOLIDAYS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//heard tests//EN
BEGIN:VEVENT
UID:christmas@test
DTSTART;VALUE=DATE:20261225
DTEND;VALUE=DATE:20261227
SUMMARY:Christmas
END:VEVENT
BEGIN:VEVENT
UID:party@test
DTSTART;TZID=Europe/Berlin:20261224T180000
DTEND;TZID=Europe/Berlin:20261224T230000
SUMMARY:Office party (timed: not a day off)
END:VEVENT
END:VCALENDAR
"""


def test_a_default_template_that_does_not_exist_is_refused_at_start(
    profile: object, clock: object
) -> None:
    from heard.config import ConfigFile
    from heard.system.paths import Profile

    assert isinstance(profile, Profile)
    ConfigFile(profile.config).set("replies", "template", "acknowlegde")
    with pytest.raises(EngineError, match=r"replies\.template names 'acknowlegde'"):
        Engine.open(profile)


def test_holiday_calendar_days_push_deadlines_past_them(profile: Profile, tmp_path: Path,
                                                        clock: FixedClock) -> None:
    ics = tmp_path / "holidays.ics"
    ics.write_text(HOLIDAYS)
    ConfigFile(profile.config).set("hours", "holiday_calendar", str(ics))
    engine = Engine.open(profile, clock)
    try:
        hours = engine.settings.hours
        assert {date(2026, 12, 25), date(2026, 12, 26)} <= engine.settings.opening.holidays
        assert date(2026, 12, 24) not in engine.settings.opening.holidays
        # Thursday 24 December, 16:50: 30 working minutes run into Monday 28th (Friday 25th
        # is a holiday, then the weekend).
        arrived = datetime(2026, 12, 24, 16, 50, tzinfo=BERLIN)
        due = engine.settings.standards.for_contact("standard", Channel.EMAIL).ack_due(
            arrived, hours)
        assert due == datetime(2026, 12, 28, 9, 20, tzinfo=BERLIN)
        assert due - arrived > timedelta(days=3)
    finally:
        engine.close()


def test_settings_edited_while_running_are_taken_up_and_a_broken_edit_is_reported(
    engine: Engine, tmp_path: object
) -> None:
    import os
    from pathlib import Path

    from heard.mail.maildir import Maildir

    second = Maildir(Path(str(tmp_path)) / "second")
    second.create()
    ConfigFile(engine.profile.config).append(
        "accounts", {"name": "home", "kind": "maildir", "inbox": str(second.path)})
    engine.status()
    assert [a.name for a in engine.settings.accounts] == ["work", "home"]

    path = engine.profile.config
    good = path.read_text()
    path.write_text(good.replace('ack_within = "30m"', 'ack_within = "soon"'))
    os.utime(path, ns=(0, 10**9))  # a different mtime, whatever the file system's resolution
    status = engine.status()
    assert any("standards.default.ack_within" in p for p in status.problems)
    assert [a.name for a in engine.settings.accounts] == ["work", "home"]  # kept
    path.write_text(good)
    assert engine.status().problems == []


def test_the_status_at_start_loads_nothing_of_taking_mail_in(tmp_path: Path) -> None:
    """Opening the engine and reading the first status (what the tray's icon waits for)
    loads neither intake nor the MIME parser: they come with the first sync (issue 25)."""
    import subprocess
    import sys

    script = ("import sys; from pathlib import Path; from heard.engine import Engine;"
              " from heard.system.paths import Profile;"
              " e = Engine.open(Profile(Path(sys.argv[1]))); s = e.status();"
              " before = [m for m in ('heard.engine.intake', 'heard.mail.parse')"
              "           if m in sys.modules];"
              " print(s.count, before, type(e.intake).__name__); e.close()")
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "profile")],
                          capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["0", "[]", "IntakeService"]


def test_no_file_watcher_runs_until_a_maildir_account_is_added(
        tmp_path: Path, clock: FixedClock) -> None:
    """With no Maildir to watch, watching starts no watchdog observer thread (issue 25: the
    idle tray's RSS and threads); a Maildir account added while it runs is watched."""
    import threading

    from heard.engine import EngineEvent
    from tests.conftest import CLIENTS
    from tests.support.mail import MEGGE, MailFolders, drop, message

    profile = Profile(tmp_path / "profile")
    profile.create()
    ConfigFile(profile.config).set("user", "name", "Alex Morgan")
    engine = Engine.open(profile, clock)
    engine.clients.add(CLIENTS[0])
    arrived = threading.Event()

    def listener(event: EngineEvent) -> None:
        if event.kind == "changed" and event.new:
            arrived.set()

    engine.subscribe(listener)
    threads = threading.active_count()
    engine.start_watching()
    try:
        assert threading.active_count() == threads
        mail = MailFolders.create(tmp_path / "mail")
        ConfigFile(profile.config).append("accounts", {"name": "work", "kind": "maildir",
                                                       "inbox": str(mail.inbox.path)})
        assert engine.reload_settings()
        assert threading.active_count() > threads          # the observer now runs
        drop(mail.inbox, message(MEGGE, "Watch me"), clock.now())
        assert arrived.wait(10), "the watcher did not notice a new file"
    finally:
        engine.stop_watching()
        engine.close()
