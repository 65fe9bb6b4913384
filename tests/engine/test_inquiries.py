"""Closing what a client waits on without a reply from Heard (heard.engine.inquiries):
answered another way, or set aside."""

from __future__ import annotations

from datetime import timedelta

import pytest

from heard.domain.clock import FixedClock
from heard.domain.inquiries import InquiryState
from heard.engine import Engine, EngineError
from tests.conftest import NOW
from tests.support.engine import add_assistant, lease_waits
from tests.support.mail import MEGGE, RAJ, MailFolders, drop, message


def test_answered_by_hand_after_delegating_closes_it(engine: Engine, mail: MailFolders) -> None:
    add_assistant(engine)
    inquiry_id = lease_waits(engine, mail)
    engine.replies.delegate(inquiry_id, tell_client=False)
    assert engine.inquiries.mark_answered(inquiry_id)[0].state is InquiryState.ANSWERED
    assert engine.status().delegations == []


def test_an_inquiry_marked_answered_or_dismissed_leaves_the_count(
    engine: Engine, mail: MailFolders
) -> None:
    drop(mail.inbox, message(MEGGE, "Call me"), NOW)
    drop(mail.inbox, message("Rajesh <raj@patel-eng.example>", "Thanks!"), NOW)
    first, second = engine.sync().new_inquiries
    assert engine.inquiries.mark_answered(first)[0].state is InquiryState.ANSWERED
    assert engine.inquiries.dismiss(second)[0].state is InquiryState.DISMISSED
    assert engine.status().count == 0


def test_dismissing_a_client_sets_aside_everything_of_theirs_that_waits(
        engine: Engine, mail: MailFolders) -> None:
    drop(mail.inbox, message(MEGGE, "Thanks!", message_id="<t1@hale.example>"), NOW)
    drop(mail.inbox, message(MEGGE, "Thanks again", message_id="<t2@hale.example>"), NOW)
    drop(mail.inbox, message("Rajesh <raj@patel-eng.example>", "Drawings"), NOW)
    engine.sync()
    by_subject = {i.inquiry.subject: i.inquiry.id for i in engine.status().waiting}
    closed = engine.inquiries.dismiss(by_subject["Thanks again"])   # type: ignore[arg-type]
    assert [i.subject for i in closed] == ["Thanks again", "Thanks!"]   # the one asked first
    assert [i.inquiry.subject for i in engine.status().waiting] == ["Drawings"]
    for inquiry in closed:                                      # and each can be taken back
        assert inquiry.id is not None
        engine.inquiries.undismiss(inquiry.id)
    assert engine.status().count == 2 and len(engine.status().waiting) == 3


def test_one_message_can_be_answered_alone(engine: Engine, mail: MailFolders) -> None:
    drop(mail.inbox, message(MEGGE, "Lease", message_id="<l1@hale.example>"), NOW)
    drop(mail.inbox, message(MEGGE, "Keys", message_id="<k1@hale.example>"), NOW)
    engine.sync()
    by_subject = {i.inquiry.subject: i.inquiry.id for i in engine.status().waiting}
    (answered,) = engine.inquiries.mark_answered(by_subject["Lease"],  # type: ignore[arg-type]
                                                 only=True)
    assert answered.state is InquiryState.ANSWERED
    assert [i.inquiry.subject for i in engine.status().waiting] == ["Keys"]


def test_a_snoozed_client_leaves_the_count_but_their_deadline_still_warns_and_counts(
        engine: Engine, mail: MailFolders, clock: FixedClock) -> None:
    # Megge (VIP: acknowledge within 10 minutes) wrote at 10:00; Raj at 10:00 too.
    drop(mail.inbox, message(MEGGE, "Closing"), NOW)
    drop(mail.inbox, message(RAJ, "Drawings"), NOW)
    engine.sync()
    group, snooze = engine.inquiries.snooze("Margaret", NOW + timedelta(hours=1))
    status = engine.status()
    assert status.count == 1 and [i.client.name for i in status.waiting] == ["Rajesh Patel"]
    (snoozed,) = status.snoozed
    assert snoozed.waiting.client.name == "Margaret Hale" and snoozed.until == snooze.until
    assert snoozed.waiting.ids == group.ids
    clock.advance(timedelta(minutes=8, seconds=30))   # 1:30 left: the warning still comes
    assert any(t[0].startswith("Megge") for t in engine.reminders.alerts())
    clock.advance(timedelta(minutes=5))               # late while snoozed: still a breach
    (week,) = engine.statistics.stats(NOW - timedelta(hours=1), clock.now())
    assert week.ack_late == 1 and week.open == 2      # hers (Raj, standard, has longer)
    assert engine.status().count == 1                 # still set aside until 11:00


def test_a_snooze_ends_by_itself_at_its_time(engine: Engine, mail: MailFolders,
                                             clock: FixedClock) -> None:
    drop(mail.inbox, message(MEGGE, "Closing"), NOW)
    engine.sync()
    engine.inquiries.snooze("Margaret", NOW + timedelta(minutes=30))
    assert engine.status().count == 0
    clock.advance(timedelta(minutes=30))
    status = engine.status()
    assert status.count == 1 and status.snoozed == []


def test_a_new_message_or_a_follow_up_wakes_a_snooze_at_once(
        engine: Engine, mail: MailFolders, clock: FixedClock) -> None:
    drop(mail.inbox, message(MEGGE, "Closing", message_id="<c1@hale.example>"), NOW)
    engine.sync()
    engine.inquiries.snooze("Margaret", NOW + timedelta(hours=2))
    clock.advance(timedelta(minutes=3))
    drop(mail.inbox, message(MEGGE, "Re: Closing", message_id="<c2@hale.example>",
                             in_reply_to="<c1@hale.example>", at=clock.now()), clock.now())
    engine.sync()   # the follow-up joins her waiting inquiry
    assert engine.status().count == 1 and engine.status().snoozed == []
    engine.inquiries.snooze("Margaret", NOW + timedelta(hours=2))
    assert engine.status().count == 0
    clock.advance(timedelta(minutes=3))
    drop(mail.inbox, message(MEGGE, "Keys", at=clock.now()), clock.now())   # a new one
    engine.sync()
    status = engine.status()
    assert status.count == 1 and len(status.clients[0].items) == 2


def test_a_snooze_is_taken_off_by_hand_and_needs_someone_waiting(
        engine: Engine, mail: MailFolders) -> None:
    drop(mail.inbox, message(MEGGE, "Closing"), NOW)
    (inquiry_id,) = engine.sync().new_inquiries
    with pytest.raises(EngineError, match="later than now"):
        engine.inquiries.snooze(str(inquiry_id), NOW)
    with pytest.raises(EngineError, match="not waiting"):
        engine.inquiries.snooze("Rajesh", NOW + timedelta(hours=1))
    _group, snooze = engine.inquiries.snooze(str(inquiry_id), NOW + timedelta(hours=1))
    assert engine.status().count == 0
    _group, ended = engine.inquiries.unsnooze("Margaret")
    assert ended == snooze and engine.status().count == 1
    engine.inquiries.restore_snooze(ended, snooze.client_id)   # Undo of a wake
    assert engine.status().count == 0


def test_a_delegation_nobody_took_up_by_its_due_time_comes_back_flagged_and_counted(
        engine: Engine, mail: MailFolders, clock: FixedClock) -> None:
    add_assistant(engine)
    inquiry_id = lease_waits(engine, mail)
    engine.replies.delegate(inquiry_id, due=NOW + timedelta(minutes=45), tell_client=False)
    assert engine.status().count == 0
    clock.advance(timedelta(minutes=44))
    assert engine.status().count == 0                  # Sam still has time
    clock.advance(timedelta(minutes=2))
    status = engine.status()
    (item,) = status.waiting
    assert status.count == 1 and item.inquiry.id == inquiry_id
    assert item.escalated_from == "Sam Reed" and item.ack_due == NOW + timedelta(minutes=45)
    assert item.urgency.value == "overdue"
    # The reminder that already existed comes with it, once.
    assert [t for t in engine.reminders.alerts() if "taken it up" in t[0]]
    engine.inquiries.mark_answered(inquiry_id)        # the user answered it themselves
    assert engine.status().count == 0 and engine.status().delegations == []
