"""When the tray's next tick is due (heard.engine.schedule): the next real deadline, not a
poll, and never later than the safety interval."""

from __future__ import annotations

from datetime import timedelta

from heard.domain.clock import FixedClock
from heard.engine import Engine
from heard.engine.schedule import SAFETY
from tests.conftest import NOW
from tests.support.mail import MEGGE, MailFolders, drop, message

SECOND = timedelta(seconds=1)


def test_with_nothing_open_the_next_tick_is_the_safety_interval(engine: Engine) -> None:
    assert engine.next_tick() == NOW + SAFETY


def test_the_next_tick_is_the_badge_colour_then_the_warning_then_the_deadline(
        engine: Engine, mail: MailFolders, clock: FixedClock) -> None:
    # Megge is VIP (acknowledge within 10 minutes): six minutes in, 4 are left; she turns
    # amber with a quarter (2.5 min) left, is warned 2 min before, and is late at 4.
    drop(mail.inbox, message(MEGGE, "Closing"), NOW - timedelta(minutes=6))
    engine.sync()
    amber = NOW + timedelta(seconds=90)
    assert amber <= engine.next_tick() < amber + SECOND
    clock.set(amber + SECOND)
    assert engine.next_tick() == NOW + timedelta(minutes=2)    # the warning's lead begins
    clock.set(NOW + timedelta(minutes=2))
    assert engine.next_tick() == NOW + timedelta(minutes=4)    # the deadline
    clock.set(NOW + timedelta(minutes=4))
    # Overdue: nothing changes for the acknowledgement; the answer (2 h) warns an hour ahead.
    assert engine.next_tick() == NOW + timedelta(minutes=4) + SAFETY


def test_an_outbox_retry_brings_the_next_tick_to_its_time_one_unsure_does_not(
        engine: Engine) -> None:
    from heard.domain.outbox import OutboxItem, OutboxKind, OutboxState

    engine.store.add_outbox(OutboxItem("<a@heard>", None, OutboxKind.ACK, "work", b"x",
                                       OutboxState.UNSURE, NOW))
    assert engine.next_tick() == NOW + SAFETY
    engine.store.add_outbox(OutboxItem("<b@heard>", None, OutboxKind.ACK, "work", b"x",
                                       OutboxState.QUEUED, NOW, attempts=1,
                                       next_try=NOW + timedelta(minutes=3)))
    assert engine.next_tick() == NOW + timedelta(minutes=3)


def test_a_client_snoozed_until_a_time_brings_the_next_tick_to_it(
        engine: Engine, mail: MailFolders) -> None:
    # Megge (VIP, 10 minutes) would next turn amber at 7:30; snoozed for a minute, the badge
    # must count her again at 1:00, so the tick comes then.
    drop(mail.inbox, message(MEGGE, "Closing"), NOW)
    engine.sync()
    engine.inquiries.snooze("Margaret", NOW + timedelta(minutes=1))
    assert engine.next_tick() == NOW + timedelta(minutes=1)
