from __future__ import annotations

from datetime import UTC, datetime, timedelta

from heard.domain.outbox import OutboxItem, OutboxKind, OutboxState, retry_after

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def test_retries_start_quick_and_settle_at_a_quarter_hour() -> None:
    waits = [retry_after(n) for n in range(1, 10)]
    assert waits[0] == timedelta(seconds=30)
    assert waits == sorted(waits)
    assert waits[-1] == waits[-4] == timedelta(minutes=15)


def test_only_queued_messages_whose_time_has_come_are_due() -> None:
    item = OutboxItem("<a@x>", None, OutboxKind.ACK, "work", b"", OutboxState.QUEUED, T0,
                      next_try=T0 + timedelta(seconds=30))
    assert not item.due(T0)
    assert item.due(T0 + timedelta(seconds=30))
    sending = OutboxItem("<a@x>", None, OutboxKind.ACK, "work", b"", OutboxState.SENDING, T0)
    assert not sending.due(T0 + timedelta(hours=1))


def test_done_states() -> None:
    assert {s for s in OutboxState if s.is_done} == {
        OutboxState.FILED, OutboxState.FAILED, OutboxState.CANCELLED}
