"""Delegating to an assistant, holding a send back for Undo, and the autopilot (Maildir
transport, fixed clock). The same flows over real SMTP and IMAP are in tests/outbox."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from heard import config
from heard.config import ConfigFile
from heard.domain.clients import ASSISTANT_PREFERENCE
from heard.domain.clock import FixedClock
from heard.domain.ids import InquiryId
from heard.domain.inquiries import InquiryState
from heard.domain.outbox import OutboxKind, OutboxState
from heard.engine import Engine, EngineError
from tests.conftest import BERLIN, NOW
from tests.support.mail import MEGGE, SAM, MailFolders, drop, message


def _assistant(engine: Engine) -> None:
    file = ConfigFile(engine.profile.config)
    file.set("assistant", "name", "Sam Reed")
    file.set("assistant", "address", SAM)
    engine.settings = config.load(engine.profile.config)


def _waiting(engine: Engine, mail: MailFolders, sender: str = MEGGE, subject: str = "Lease",
             mid: str = "<q2@hale.example>", ago: int = 4) -> InquiryId:
    drop(mail.inbox, message(sender, subject, message_id=mid, in_reply_to="<q1@hale.example>",
                             references="<q1@hale.example>", body="Can we sign on Friday?"),
         NOW - timedelta(minutes=ago))
    [inquiry_id] = engine.sync().new_inquiries
    return inquiry_id


def _sent(mail: MailFolders) -> list[EmailMessage]:
    return [message_from_bytes(raw, policy=policy.default)  # type: ignore[misc]
            for raw in mail.outbox_messages()]


# delegating

def test_delegating_forwards_the_original_and_tells_the_client_who_helps(
        engine: Engine, mail: MailFolders) -> None:
    _assistant(engine)
    inquiry_id = _waiting(engine, mail)
    result = engine.replies.delegate(inquiry_id, note="Please book the notary.")
    assert result.sent and result.told_client
    by_to = {m["To"].addresses[0].addr_spec: m for m in _sent(mail)}
    assert set(by_to) == {SAM, "margaret@hale.example"}

    forward = by_to[SAM]
    assert forward["Subject"] == "Fwd: Lease"
    assert forward["X-Heard-Delegates"] == "<q2@hale.example>"
    text = forward.get_body(("plain",)).get_content()
    assert text.startswith("Please book the notary.")
    assert "by 12:00 pm" in text              # the default two hours from 10:00
    (attached,) = [p for p in forward.iter_attachments()]
    assert attached.get_content_type() == "message/rfc822"
    assert attached.get_content()["Message-ID"] == "<q2@hale.example>"

    told = by_to["margaret@hale.example"]
    assert told["In-Reply-To"] == "<q2@hale.example>"
    assert "My assistant Sam Reed will contact you" in told.get_content()

    inquiry = engine.store.inquiry(inquiry_id)
    assert inquiry is not None and inquiry.state is InquiryState.DELEGATED
    assert inquiry.acknowledged_at == NOW     # the hand-over counts as the acknowledgement
    status = engine.status()
    assert status.count == 0
    (delegation,) = status.delegations
    assert (delegation.assistant, delegation.due) == ("Sam Reed", NOW + timedelta(hours=2))


def test_a_client_who_wants_no_assistant_is_never_told(engine: Engine,
                                                       mail: MailFolders) -> None:
    _assistant(engine)
    megge = next(c for c in engine.clients.all() if c.preferred_name == "Megge")
    engine.clients.update(dataclasses.replace(megge, preferences={ASSISTANT_PREFERENCE: "no"}))
    inquiry_id = _waiting(engine, mail)
    with pytest.raises(EngineError, match="preference says no assistant"):
        engine.replies.delegate(inquiry_id, tell_client=True)
    result = engine.replies.delegate(inquiry_id)
    assert not result.told_client
    assert [m["To"].addresses[0].addr_spec for m in _sent(mail)] == [SAM]


def test_without_an_assistant_delegating_says_how_to_add_one(engine: Engine,
                                                             mail: MailFolders) -> None:
    inquiry_id = _waiting(engine, mail)
    with pytest.raises(EngineError, match="no assistant is set up"):
        engine.replies.delegate(inquiry_id)
    assert mail.outbox_messages() == []
    assert engine.status().count == 1


def test_the_assistants_reply_to_the_client_closes_the_delegation(
        engine: Engine, mail: MailFolders, clock: FixedClock) -> None:
    _assistant(engine)
    inquiry_id = _waiting(engine, mail)
    engine.replies.delegate(inquiry_id, tell_client=False)
    clock.advance(timedelta(minutes=30))
    drop(mail.inbox, message(f"Sam Reed <{SAM}>", "Re: Lease", to=MEGGE,
                             message_id="<sam1@morgan-law.example>",
                             in_reply_to="<q2@hale.example>",
                             references="<q1@hale.example> <q2@hale.example>",
                             at=NOW + timedelta(minutes=30)), NOW + timedelta(minutes=30))
    report = engine.sync()
    assert report.answered == [inquiry_id]
    assert engine.status().delegations == []
    inquiry = engine.store.inquiry(inquiry_id)
    assert inquiry is not None and inquiry.state is InquiryState.ANSWERED
    assert engine.status().count == 0     # the assistant's mail is no new inquiry


def test_an_assistant_who_has_not_taken_it_up_by_the_due_time_is_reminded_once(
        engine: Engine, mail: MailFolders, clock: FixedClock) -> None:
    _assistant(engine)
    inquiry_id = _waiting(engine, mail)
    engine.replies.delegate(inquiry_id, due=NOW + timedelta(minutes=45), tell_client=False)
    assert engine.reminders.alerts() == []
    clock.advance(timedelta(minutes=46))
    (toast,) = [t for t in engine.reminders.alerts() if "taken it up" in t[0]]
    assert toast[0] == "Sam Reed has not taken it up"
    assert "Margaret Hale" in toast[1] and "10:45 am" in toast[1]
    assert [t for t in engine.reminders.alerts() if "taken it up" in t[0]] == []


def test_answered_by_hand_after_delegating_closes_it(engine: Engine, mail: MailFolders) -> None:
    _assistant(engine)
    inquiry_id = _waiting(engine, mail)
    engine.replies.delegate(inquiry_id, tell_client=False)
    assert engine.inquiries.mark_answered(inquiry_id).state is InquiryState.ANSWERED
    assert engine.status().delegations == []


# undo of a send held back

def test_a_held_back_acknowledgement_can_be_cancelled_and_nothing_goes_out(
        engine: Engine, mail: MailFolders) -> None:
    inquiry_id = _waiting(engine, mail)
    result = engine.replies.acknowledge(inquiry_id, delay=timedelta(seconds=5))
    assert (result.sent, result.state) == (False, "queued")
    assert engine.status().count == 0          # acknowledged while it waits to go
    engine.retry_outbox()                      # not yet: the delay has not passed
    assert mail.outbox_messages() == []
    engine.outbox.cancel(result.message_id)
    assert mail.outbox_messages() == []
    status = engine.status()
    assert status.count == 1 and status.promises == []
    assert engine.store.outbox_item(result.message_id).state is OutboxState.CANCELLED  # type: ignore[union-attr]
    # ... and can be acknowledged again.
    assert engine.replies.acknowledge(inquiry_id).sent


def test_a_held_back_acknowledgement_goes_out_after_the_delay_even_after_a_restart(
        engine: Engine, mail: MailFolders, clock: FixedClock) -> None:
    inquiry_id = _waiting(engine, mail)
    result = engine.replies.acknowledge(inquiry_id, delay=timedelta(seconds=5))
    again = Engine.open(engine.profile, clock)  # the tray restarted meanwhile
    try:
        clock.advance(timedelta(seconds=6))
        again.retry_outbox()
    finally:
        again.close()
    (sent,) = _sent(mail)
    assert sent["Message-ID"] == result.message_id
    with pytest.raises(EngineError, match="filed"):
        engine.outbox.cancel(result.message_id)   # too late to undo


def test_an_edited_acknowledgement_sends_the_edit_with_safe_headers(
        engine: Engine, mail: MailFolders) -> None:
    inquiry_id = _waiting(engine, mail)
    engine.replies.acknowledge(inquiry_id, subject="Re: Lease\r\nBcc: all@evil.example",
                       body="Got it, Megge. Friday works.\n")
    (sent,) = _sent(mail)
    assert sent["Bcc"] is None
    assert sent["Subject"] == "Re: Lease Bcc: all@evil.example"
    assert sent.get_content() == "Got it, Megge. Friday works.\n"


# the autopilot

@pytest.fixture
def deposition(engine: Engine, tmp_path: Path) -> None:
    """In a deposition 09:30-11:30; the autopilot on for VIPs, 3 minutes ahead."""
    ics = tmp_path / "work.ics"
    ics.write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
        "BEGIN:VEVENT\r\nUID:a\r\nDTSTAMP:20261101T000000Z\r\n"
        "DTSTART;TZID=Europe/Berlin:20261125T093000\r\n"
        "DTEND;TZID=Europe/Berlin:20261125T113000\r\nSUMMARY:Deposition\r\nEND:VEVENT\r\n"
        "END:VCALENDAR\r\n", encoding="utf-8")
    file = ConfigFile(engine.profile.config)
    file.append("calendars", {"name": "work", "kind": "ics", "path": str(ics)})
    file.set("autopilot", "tiers", ["vip"])
    engine.settings = config.load(engine.profile.config)


@pytest.mark.usefixtures("deposition")
def test_autopilot_acknowledges_a_vip_shortly_before_the_deadline_in_a_meeting(
        engine: Engine, mail: MailFolders, clock: FixedClock) -> None:
    inquiry_id = _waiting(engine, mail, ago=0)   # Megge (VIP, 10 min) writes at 10:00
    drop(mail.inbox, message("Raj <raj@patel-eng.example>", "Drawings",
                             message_id="<r1@patel-eng.example>"), NOW)
    engine.sync()
    assert engine.replies.autopilot() == []              # 10 minutes left: not yet
    clock.advance(timedelta(minutes=7, seconds=30))
    (result,) = engine.replies.autopilot()
    assert result.inquiry_id == inquiry_id and result.sent
    (sent,) = _sent(mail)                        # Raj (standard tier) is left to the user
    assert sent["To"].addresses[0].addr_spec == "margaret@hale.example"
    assert "in a meeting until 11:30 am" in sent.get_content()
    item = engine.store.outbox_item(result.message_id)
    assert item is not None and item.kind is OutboxKind.AUTO
    assert engine.replies.autopilot() == []


@pytest.mark.usefixtures("deposition")
def test_autopilot_answers_a_thread_at_most_once_a_day(
        engine: Engine, mail: MailFolders, clock: FixedClock) -> None:
    first = _waiting(engine, mail, ago=0)
    clock.advance(timedelta(minutes=8))
    assert [r.inquiry_id for r in engine.replies.autopilot()] == [first]
    engine.inquiries.mark_answered(first)
    # Megge writes again in the same thread: a new inquiry, but no second automatic reply.
    clock.advance(timedelta(minutes=2))
    drop(mail.inbox, message(MEGGE, "Re: Lease", message_id="<q3@hale.example>",
                             in_reply_to="<q2@hale.example>",
                             references="<q1@hale.example> <q2@hale.example>",
                             at=clock.now()), clock.now())
    (second,) = engine.sync().new_inquiries
    clock.advance(timedelta(minutes=8))
    assert engine.replies.autopilot() == []
    assert len(_sent(mail)) == 1
    assert engine.store.inquiry(second).state is InquiryState.WAITING  # type: ignore[union-attr]


@pytest.mark.usefixtures("deposition")
def test_autopilot_never_answers_lists_or_automatic_mail(
        engine: Engine, mail: MailFolders, clock: FixedClock) -> None:
    drop(mail.inbox, message(MEGGE, "Newsletter", message_id="<n1@hale.example>",
                             headers={"List-Id": "<news.hale.example>",
                                    "List-Unsubscribe": "<mailto:u@hale.example>"}), NOW)
    drop(mail.inbox, message(MEGGE, "Out of office", message_id="<o1@hale.example>",
                             headers={"Auto-Submitted": "auto-replied"}), NOW)
    engine.sync()
    clock.advance(timedelta(minutes=9))
    assert engine.replies.autopilot() == []
    assert mail.outbox_messages() == []


def test_autopilot_is_off_by_default(engine: Engine, mail: MailFolders,
                                     clock: FixedClock) -> None:
    _waiting(engine, mail, ago=0)
    clock.advance(timedelta(minutes=9))
    assert engine.replies.autopilot() == []
    assert mail.outbox_messages() == []


def test_while_free_the_autopilot_leaves_replies_to_the_user(
        engine: Engine, mail: MailFolders, clock: FixedClock) -> None:
    ConfigFile(engine.profile.config).set("autopilot", "tiers", ["vip"])
    engine.settings = config.load(engine.profile.config)
    _waiting(engine, mail, ago=0)
    clock.advance(timedelta(minutes=9))
    assert engine.replies.autopilot() == []


def test_a_long_threads_references_keep_the_root_and_the_latest() -> None:
    from heard.mail.compose import MAX_REFERENCES, build_reply

    chain = tuple(f"<m{n}@hale.example>" for n in range(60))
    msg = build_reply(sender_name="Alex", sender_addr="alex@morgan-law.example",
                      to_name="Megge", to_addr="margaret@hale.example", subject="Lease",
                      body="ok", in_reply_to="<m60@hale.example>", references=chain,
                      date=NOW, message_id="<ack@morgan-law.example>")
    refs = str(msg["References"]).split()
    assert len(refs) == MAX_REFERENCES
    assert refs[0] == "<m0@hale.example>" and refs[-1] == "<m60@hale.example>"
    assert refs[-2] == "<m59@hale.example>"


@pytest.mark.parametrize(("template", "promised", "said"), [
    ("end-of-day", datetime(2026, 11, 25, 17, 0, tzinfo=BERLIN), "answer by 5:00 pm."),
    ("tomorrow", datetime(2026, 11, 26, 9, 30, tzinfo=BERLIN), "by tomorrow 9:30 am"),
])
def test_a_template_says_what_it_promises(engine: Engine, mail: MailFolders, template: str,
                                          promised: datetime, said: str) -> None:
    inquiry_id = _waiting(engine, mail)
    result = engine.replies.acknowledge(inquiry_id, template=template)
    assert result.reply_by == promised
    assert said in result.body
    (promise,) = engine.status().promises
    assert promise.promise.due == promised


def test_an_unknown_promise_is_refused_when_the_template_is_loaded(tmp_path: Path) -> None:
    from heard.config.templates import load_templates
    from heard.domain.templates import TemplateError

    file = tmp_path / "templates.toml"
    file.write_text('[x]\npromise = "next_week"\nbody = "Hi"\n', encoding="utf-8")
    with pytest.raises(TemplateError, match="promise 'next_week' is not known"):
        load_templates(file)


def test_an_out_of_office_reply_from_the_assistant_confirms_nothing(
        engine: Engine, mail: MailFolders, clock: FixedClock) -> None:
    _assistant(engine)
    inquiry_id = _waiting(engine, mail)
    result = engine.replies.delegate(inquiry_id, tell_client=False)
    clock.advance(timedelta(minutes=5))
    drop(mail.inbox, message(f"Sam Reed <{SAM}>", "Out of office", message_id="<ooo@x>",
                             in_reply_to=result.forward_id, references=result.forward_id,
                             headers={"Auto-Submitted": "auto-replied"},
                             at=clock.now()), clock.now())
    engine.sync()
    assert [d.inquiry_id for d in engine.status().delegations] == [inquiry_id]
    # ... while a real reply to the forward does.
    drop(mail.inbox, message(f"Sam Reed <{SAM}>", "Re: Fwd: Lease", message_id="<ok@x>",
                             in_reply_to=result.forward_id, references=result.forward_id,
                             at=clock.now()), clock.now())
    engine.sync()
    assert engine.status().delegations == []


def test_an_undo_during_a_failing_send_stays_undone(engine: Engine, mail: MailFolders,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The user cancels while the server is being reached; the attempt then fails: the
    message must stay cancelled, never come back for a retry."""
    from heard.mail.transport import MaildirTransport, SendError

    inquiry_id = _waiting(engine, mail)
    result = engine.replies.acknowledge(inquiry_id, delay=timedelta(seconds=5))

    def slow_then_down(self: MaildirTransport, raw: bytes, message_id: str,
                       on_the_wire: object = None) -> None:
        engine.outbox.cancel(message_id)            # Undo, meanwhile
        raise SendError("work", "the server did not answer in time")

    monkeypatch.setattr(MaildirTransport, "send", slow_then_down)
    engine.replies.send_queued(result.message_id)
    item = engine.store.outbox_item(result.message_id)
    assert item is not None and item.state is OutboxState.CANCELLED
    assert engine.status().count == 1


def test_a_call_back_promise_carries_the_number(engine: Engine, mail: MailFolders) -> None:
    from heard.domain.clients import Channel, Client

    engine.clients.add(Client("Theo Brandt", phones=("+49 30 1234567",), channel=Channel.CALL))
    inquiry = engine.inquiries.log_call("+49 30 1234567")
    assert inquiry.id is not None
    result = engine.replies.acknowledge(inquiry.id)
    assert result.call_back == "tel:+49301234567"
    (promise,) = engine.status().promises
    assert promise.promise.text.endswith("(tel:+49301234567)")
