"""Closing what a client waits on without a reply from Heard (heard.engine.inquiries):
answered another way, or set aside."""

from __future__ import annotations

from heard.domain.inquiries import InquiryState
from heard.engine import Engine
from tests.conftest import NOW
from tests.support.engine import add_assistant, lease_waits
from tests.support.mail import MEGGE, MailFolders, drop, message


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
