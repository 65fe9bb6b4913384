"""A store with a long past, and how much SQLite work a call does: for tests that the
timed work (each status, tick and schedule of a tray that runs for weeks) costs what is
open, not what ever was. Counted in SQLite's virtual-machine steps, which depend on the
rows read and not on the machine's speed or load."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from heard.domain.clients import Channel, Client
from heard.domain.inquiries import Inquiry, InquiryState
from heard.domain.outbox import OutboxItem, OutboxKind, OutboxState
from heard.domain.promises import Promise
from heard.store.db import Store


def closed_history(store: Store, clients: list[Client], count: int, before: datetime,
                   owner: str, start: int = 0) -> None:
    """`count` inquiries acknowledged and answered within the last hours before `before`
    (so within 'the last day' too), each as Heard leaves one: claimed by `owner`, its
    acknowledgement filed, its promise kept, its warnings given, its message seen."""
    clients = [c for c in clients if c.emails]
    with store.transaction():
        for n in range(start, start + count):
            client = clients[n % len(clients)]
            assert client.id is not None
            at = before - timedelta(seconds=4 * (start + count - n))
            mid = f"<old-{n}@history.example>"
            inquiry = store.add_inquiry(Inquiry(
                client.id, Channel.EMAIL, at, f"Question {n}", client.emails[0],
                message_id=mid, thread_ids=(mid,), state=InquiryState.ANSWERED,
                acknowledged_at=at + timedelta(seconds=1), closed_at=at + timedelta(seconds=2),
                account="work"))
            assert inquiry.id is not None
            store.mark_seen("maildir:work:inbox", f"old-{n}", mid, "inquiry", "", at)
            store.add_outbox(OutboxItem(
                f"<ack-{n}@heard>", inquiry.id, OutboxKind.ACK, "work", b"x", OutboxState.FILED,
                at, thread=mid, recipient=client.emails[0]))
            store.add_promise(Promise(inquiry.id, client.id, at, at + timedelta(hours=8),
                                      "by tonight", at + timedelta(seconds=2)))
            store.set_owner(inquiry.id, owner)
            store.mark_alerts([f"ack:{inquiry.id}:soon", f"toast:new:{inquiry.id}"], at)


def sqlite_steps(store: Store, call: Callable[[], object]) -> int:
    """SQLite virtual-machine steps `call` made on the store's connection."""
    steps = 0

    def step() -> int:
        nonlocal steps
        steps += 1
        return 0

    store._conn.set_progress_handler(step, 1)
    try:
        call()
    finally:
        store._conn.set_progress_handler(None, 1)
    return steps
