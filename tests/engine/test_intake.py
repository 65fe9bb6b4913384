"""The engine on a Maildir: what only a Maildir account does (a folder that is not a
Maildir, the file watcher). What every mail source does is in test_intake_contract.py."""

from __future__ import annotations

import threading

from heard.domain.clock import FixedClock
from heard.engine import Engine, EngineEvent
from tests.conftest import NOW
from tests.support.mail import MEGGE, MailFolders, drop, message


def test_a_missing_maildir_is_reported_and_the_rest_works(
    engine: Engine, mail: MailFolders
) -> None:
    drop(mail.inbox, message(MEGGE), NOW)
    for sub in ("new", "cur", "tmp"):
        (mail.sent.path / sub).rmdir()
    report = engine.sync()
    assert any("is not a Maildir" in e for e in report.errors)
    assert engine.status().count == 1


def test_new_files_are_noticed_by_the_watcher(
    engine: Engine, mail: MailFolders, clock: FixedClock
) -> None:
    arrived = threading.Event()
    events: list[EngineEvent] = []

    def listener(event: EngineEvent) -> None:
        events.append(event)
        arrived.set()

    engine.subscribe(listener)
    engine.start_watching()
    try:
        drop(mail.inbox, message(MEGGE, "Watch me"), NOW)
        # A generous bound for a loaded CI machine; the benchmark measures the real latency.
        assert arrived.wait(10), "the watcher did not notice a new file"
    finally:
        engine.stop_watching()
    assert events[0].kind == "changed"
    assert len(events[0].new) == 1
    assert engine.status().count == 1
