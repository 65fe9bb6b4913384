"""When the tray's next tick is due (heard.engine.schedule): the next real deadline, not a
poll, and never later than the safety interval."""

from __future__ import annotations

from datetime import timedelta

from heard.domain.clock import FixedClock
from heard.domain.urgency import Urgency
from heard.engine import Engine
from heard.engine.schedule import SAFETY
from tests.conftest import NOW
from tests.support.history import closed_history, sqlite_steps
from tests.support.mail import MEGGE, RAJ, MailFolders, drop, message

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


def test_the_badge_turning_due_soon_is_found_across_the_night(
        engine: Engine, mail: MailFolders, clock: FixedClock) -> None:
    # Raj (30 minutes, in working hours) writes at 16:35: 25 minutes today, 5 tomorrow, due
    # at 09:05. Due soon means a quarter (7.5 minutes) left: that is tonight at 16:57:30,
    # before the night, not tomorrow; the tick comes exactly then, and the badge turns.
    evening = NOW.replace(hour=16, minute=35)
    clock.set(evening)
    drop(mail.inbox, message(RAJ, "Drawings"), evening)
    engine.sync()
    clock.set(NOW.replace(hour=16, minute=56))
    amber = NOW.replace(hour=16, minute=57, second=30)
    assert engine.next_tick() == amber
    clock.set(amber - SECOND)
    assert engine.status().urgency is Urgency.ON_TRACK
    clock.set(amber)
    assert engine.status().urgency is Urgency.DUE_SOON


def test_a_schedule_reads_the_same_from_a_store_with_a_long_past(
        engine: Engine, mail: MailFolders) -> None:
    """The tray works out its next tick after every change: what it reads must be what is
    open (who waits, the promises, the outbox not done), never the history, which grows
    for as long as Heard is used."""
    drop(mail.inbox, message(MEGGE, "Closing"), NOW - timedelta(minutes=3))
    drop(mail.inbox, message(RAJ, "Drawings"), NOW - timedelta(minutes=1))
    engine.sync()
    clients = [c for c in engine.store.clients() if c.emails]
    instance = engine.settings.instance
    closed_history(engine.store, clients, 50, NOW, instance)
    few = sqlite_steps(engine.store, engine.next_tick)
    closed_history(engine.store, clients, 2000, NOW, instance, start=50)
    assert sqlite_steps(engine.store, engine.next_tick) == few
