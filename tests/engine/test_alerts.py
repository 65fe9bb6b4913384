"""Warnings before a deadline passes: given once, remembered across a restart."""

from __future__ import annotations

from datetime import timedelta

from heard.domain.clock import FixedClock
from heard.engine import Engine, EngineEvent
from heard.paths import Profile
from tests.conftest import NOW
from tests.support.mail import MailFolders, drop, message


def test_a_deadline_warns_once_and_not_again_after_a_restart(
        engine: Engine, mail: MailFolders, clock: FixedClock, profile: Profile) -> None:
    events: list[EngineEvent] = []
    engine.subscribe(events.append)
    # Megge is VIP: acknowledge within 10 minutes; the warning comes 2 minutes before.
    drop(mail.inbox, message("Margaret Hale <margaret@hale.example>", "Closing"),
         NOW - timedelta(minutes=7))
    engine.sync()
    assert engine.alerts() == []                 # 3 minutes left: not yet
    clock.advance(timedelta(minutes=1, seconds=30))
    (toast,) = engine.alerts()
    assert toast[0].startswith("Megge") and "acknowledge" in toast[0].lower()
    assert [e.toasts for e in events if e.kind == "alerts"] == [(toast,)]
    assert engine.alerts() == []                 # never twice for the same deadline

    again = Engine.open(profile, clock)          # a restart remembers what was said
    try:
        assert again.alerts() == []
        clock.advance(timedelta(minutes=45))     # answer due 11:53 (2 h): warned from 10:53
        assert again.alerts() == []
        clock.advance(timedelta(minutes=20))
        (answer,) = again.alerts()
        assert "answer" in (answer[0] + answer[1]).lower()
    finally:
        again.close()
