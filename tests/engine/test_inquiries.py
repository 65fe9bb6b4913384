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
    assert engine.inquiries.mark_answered(inquiry_id).state is InquiryState.ANSWERED
    assert engine.status().delegations == []


def test_an_inquiry_marked_answered_or_dismissed_leaves_the_count(
    engine: Engine, mail: MailFolders
) -> None:
    drop(mail.inbox, message(MEGGE, "Call me"), NOW)
    drop(mail.inbox, message("Rajesh <raj@patel-eng.example>", "Thanks!"), NOW)
    first, second = engine.sync().new_inquiries
    assert engine.inquiries.mark_answered(first).state is InquiryState.ANSWERED
    assert engine.inquiries.dismiss(second).state is InquiryState.DISMISSED
    assert engine.status().count == 0
