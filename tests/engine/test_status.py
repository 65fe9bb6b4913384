"""The status (heard.engine.status): what the badge, the window and `heard status` are made
from, read on every change and every tick of a tray that runs for weeks."""

from __future__ import annotations

from datetime import timedelta

from heard.domain.clients import Channel
from heard.domain.inquiries import Inquiry, InquiryState
from heard.engine import Engine
from tests.conftest import NOW
from tests.support.history import closed_history, sqlite_steps
from tests.support.mail import MEGGE, RAJ, MailFolders, drop, message


def test_a_status_reads_the_same_from_a_store_with_a_long_past(
        engine: Engine, mail: MailFolders) -> None:
    """Each status reads what is open and what another device did lately, never this
    device's past: with 2,050 inquiries answered today instead of 50, it does the same
    SQLite work (it read every inquiry this device acted on in the last day, each of its
    acknowledgements claiming one, so a soak's statuses grew dearer with every reply)."""
    drop(mail.inbox, message(MEGGE, "Closing"), NOW - timedelta(minutes=3))
    drop(mail.inbox, message(RAJ, "Drawings"), NOW - timedelta(minutes=1))
    engine.sync()
    store = engine.store
    clients = store.clients()
    instance = engine.settings.instance
    # What another of the user's devices answered an hour ago is listed, not what it did
    # yesterday, nor what this device did.
    sofia = next(c for c in clients if c.name.startswith("Sofia"))
    assert sofia.id is not None
    for hours, subject in ((1, "Lease"), (30, "Old lease")):
        at = NOW - timedelta(hours=hours)
        done = store.add_inquiry(Inquiry(sofia.id, Channel.CALL, at, subject, "+4930",
                                         state=InquiryState.ANSWERED, closed_at=at))
        assert done.id is not None
        store.set_owner(done.id, "phone")
    closed_history(store, clients, 50, NOW, instance)

    status = engine.status()
    assert status.count == 2
    assert [(i.subject, by) for i, _c, by in status.handled_elsewhere] == [("Lease", "phone")]
    few = sqlite_steps(store, engine.status)
    closed_history(store, clients, 2000, NOW, instance, start=50)
    assert sqlite_steps(store, engine.status) == few
    assert [(i.subject, by) for i, _c, by in engine.status().handled_elsewhere] == [
        ("Lease", "phone")]


def test_a_status_lists_each_other_device_once_whatever_their_names(engine: Engine) -> None:
    store = engine.store
    sofia = next(c for c in store.clients() if c.name.startswith("Sofia"))
    assert sofia.id is not None
    for owner in ("", "a-desk", "laptop", engine.settings.instance, "zz-phone", "laptop"):
        done = store.add_inquiry(Inquiry(sofia.id, Channel.CALL, NOW - timedelta(minutes=5),
                                         f"by {owner or 'nobody'}", "+4930",
                                         state=InquiryState.ANSWERED, closed_at=NOW))
        assert done.id is not None
        if owner:
            store.set_owner(done.id, owner)
    assert sorted(by for _i, _c, by in engine.status().handled_elsewhere) == [
        "a-desk", "laptop", "laptop", "zz-phone"]
