"""A prospect is thanked for reaching out; a call is promised a call back."""

from __future__ import annotations

from datetime import timedelta

from heard.engine import Engine
from tests.conftest import NOW
from tests.support.mail import MailFolders, drop, message


def test_a_prospect_gets_the_first_contact_template(engine: Engine, mail: MailFolders) -> None:
    drop(mail.inbox, message("Jane Roe <jane@roe-bakery.example>", "A lease question"),
         NOW - timedelta(minutes=2))
    [inquiry_id] = engine.sync().new_inquiries
    reply = engine.replies.acknowledge(inquiry_id, dry_run=True)
    assert reply.template == "first-contact"
    assert reply.body.startswith("Dear Jane Roe,\n\nThank you for reaching out.")
    assert reply.to == "jane@roe-bakery.example"
    # The user can still pick another one.
    chosen = engine.replies.acknowledge(inquiry_id, "acknowledge", dry_run=True).template
    assert chosen == "acknowledge"


def test_a_call_gets_the_call_back_template(engine: Engine) -> None:
    sofia = next(c for c in engine.clients.all() if c.name == "Sofia Lindqvist")
    engine.clients.update(sofia.__class__(**{**sofia.__dict__, "phones": ("+46 8 123 456 78",),
                                            "emails": ("sofia@lindqvist.example",)}))
    inquiry = engine.inquiries.log_call("+46812345678", NOW - timedelta(minutes=1), "contract")
    assert inquiry.id is not None and inquiry.sender == "+46812345678"
    reply = engine.replies.acknowledge(inquiry.id, dry_run=True)
    assert reply.template == "call-back"
    assert "I saw you tried to reach me" in reply.body
    assert reply.to == "sofia@lindqvist.example"
