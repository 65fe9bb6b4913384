"""The engine's events (heard.engine.events): the store's changes are numbered, so a face
reads the status once for a burst of them."""

from __future__ import annotations

import threading
from datetime import timedelta

from heard.engine import Engine, EngineEvent, EventKind
from heard.engine.events import Events
from tests.conftest import NOW
from tests.support.mail import MEGGE, MailFolders, drop, message


def test_changes_are_numbered_before_anyone_hears_of_them() -> None:
    events = Events()
    heard: list[tuple[int, int]] = []
    events.subscribe(lambda e: heard.append((e.seq, events.changes)))
    events.changed()
    events.error("not a change")
    events.changed()
    assert heard == [(1, 1), (0, 1), (2, 2)]


def test_numbers_from_many_threads_are_each_given_once() -> None:
    events = Events()
    seen: list[int] = []
    lock = threading.Lock()

    def told(event: EngineEvent) -> None:
        with lock:
            seen.append(event.seq)

    events.subscribe(told)
    threads = [threading.Thread(target=lambda: [events.changed() for _ in range(200)])
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(seen) == list(range(1, 801)) and events.changes == 800


def test_a_status_says_which_changes_it_has_seen(engine: Engine, mail: MailFolders) -> None:
    """A read that began after a change was told has seen it (Status.changes)."""
    told: list[EngineEvent] = []
    engine.subscribe(lambda e: told.append(e) if e.kind is EventKind.CHANGED else None)
    before = engine.status()
    drop(mail.inbox, message(MEGGE, "Closing"), NOW - timedelta(minutes=1))
    engine.sync()
    assert told and told[-1].seq > before.changes
    after = engine.status()
    assert after.count == before.count + 1 and after.changes == told[-1].seq
