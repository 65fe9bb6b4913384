"""Acknowledging: the reply, its threading, the promise, and the crash-safe outbox."""

from __future__ import annotations

from datetime import datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from heard.config import ConfigFile
from heard.domain.ids import InquiryId
from heard.domain.inquiries import InquiryState
from heard.engine import Engine, NotWaiting
from heard.mail.transport import MaildirTransport
from tests.conftest import BERLIN, NOW
from tests.support.mail import MailFolders, drop, message

MEGGE = "Margaret Hale <margaret@hale.example>"


def _waiting(engine: Engine, mail: MailFolders, sender: str = MEGGE) -> InquiryId:
    drop(mail.inbox, message(sender, "Closing documents", message_id="<q2@hale.example>",
                             in_reply_to="<q1@hale.example>", references="<q1@hale.example>"),
         NOW - timedelta(minutes=4))
    [inquiry_id] = engine.sync().new_inquiries
    return inquiry_id


def test_acknowledging_writes_a_threaded_reply_and_records_a_promise(
    engine: Engine, mail: MailFolders
) -> None:
    inquiry_id = _waiting(engine, mail)
    result = engine.acknowledge(inquiry_id)

    assert result.sent
    [raw] = mail.outbox_messages()
    reply = message_from_bytes(raw, policy=policy.default)
    assert reply["In-Reply-To"] == "<q2@hale.example>"
    assert reply["References"] == "<q1@hale.example> <q2@hale.example>"
    assert reply["X-Heard-Acknowledges"] == "<q2@hale.example>"
    assert reply["To"].addresses[0].addr_spec == "margaret@hale.example"
    assert reply["From"].addresses[0].addr_spec == "alex@morgan-law.example"
    assert reply["Subject"] == "Re: Closing documents"
    assert reply["Message-ID"] == result.message_id
    body = reply.get_content()
    assert body.startswith("Hi Megge,")
    assert "by 10:30 am" in body  # free now: 10:00 + 30 min margin, on a quarter hour
    # filed in Sent too, and the same copy
    assert [e.path.read_bytes() for e in mail.sent.entries()] == [raw]

    inquiry = engine.store.inquiry(inquiry_id)
    assert inquiry is not None and inquiry.state is InquiryState.ACKNOWLEDGED
    status = engine.status()
    assert status.count == 0
    [promise] = status.promises
    assert promise.promise.due == datetime(2026, 11, 25, 10, 30, tzinfo=BERLIN)
    assert promise.client is not None and promise.client.preferred_name == "Megge"


def test_the_own_acknowledgement_seen_in_sent_is_not_an_answer(
    engine: Engine, mail: MailFolders
) -> None:
    inquiry_id = _waiting(engine, mail)
    engine.acknowledge(inquiry_id)
    report = engine.sync()
    assert report.answered == []
    inquiry = engine.store.inquiry(inquiry_id)
    assert inquiry is not None and inquiry.state is InquiryState.ACKNOWLEDGED
    assert len(engine.status().promises) == 1


def test_the_real_answer_keeps_the_promise(engine: Engine, mail: MailFolders) -> None:
    inquiry_id = _waiting(engine, mail)
    engine.acknowledge(inquiry_id)
    drop(mail.sent, message("Alex <alex@morgan-law.example>", "Re: Closing documents",
                            to=MEGGE, at=NOW + timedelta(minutes=20),
                            in_reply_to="<q2@hale.example>", references="<q2@hale.example>"),
         NOW + timedelta(minutes=20))
    assert engine.sync().answered == [inquiry_id]
    assert engine.status().promises == []


def test_acknowledging_twice_is_refused_and_sends_nothing_more(
    engine: Engine, mail: MailFolders
) -> None:
    inquiry_id = _waiting(engine, mail)
    engine.acknowledge(inquiry_id)
    with pytest.raises(NotWaiting, match="already acknowledged"):
        engine.acknowledge(inquiry_id)
    assert len(mail.outbox_messages()) == 1


def test_dry_run_sends_nothing_and_changes_nothing(engine: Engine, mail: MailFolders) -> None:
    inquiry_id = _waiting(engine, mail)
    result = engine.acknowledge(inquiry_id, dry_run=True)
    assert not result.sent
    assert "Megge" in result.body
    assert mail.outbox_messages() == []
    assert engine.status().count == 1


def test_while_busy_the_busy_template_names_the_end_of_the_meeting(
    engine: Engine, mail: MailFolders, profile_calendar: Path
) -> None:
    inquiry_id = _waiting(engine, mail)
    result = engine.acknowledge(inquiry_id)
    assert result.template == "acknowledge-busy"
    assert "in a meeting until 11:00 am" in result.body
    # The 10-minute gap before lunch is too short to call back in: next free is 12:00,
    # plus the 30-minute margin.
    assert result.reply_by == datetime(2026, 11, 25, 12, 30, tzinfo=BERLIN)
    assert "by 12:30 pm" in result.body


def test_names_with_line_breaks_cannot_inject_headers(engine: Engine, mail: MailFolders) -> None:
    from heard.domain.clients import Client

    engine.add_client(Client("Eve\r\nBcc: victim@example.com", emails=("eve@evil.example",)))
    inquiry_id = _waiting(engine, mail, "Eve <eve@evil.example>")
    engine.acknowledge(inquiry_id)
    [raw] = mail.outbox_messages()
    head = raw.split(b"\n\n", 1)[0]
    assert b"\nBcc:" not in head and b"\r\nBcc:" not in head
    reply = message_from_bytes(raw, policy=policy.default)
    assert reply["Bcc"] is None


def test_a_send_interrupted_by_a_crash_is_sent_once_on_the_next_sync(
    engine: Engine, mail: MailFolders, monkeypatch: pytest.MonkeyPatch
) -> None:
    inquiry_id = _waiting(engine, mail)

    def crash(self: MaildirTransport, raw: bytes, message_id: str) -> None:
        raise KeyboardInterrupt  # the process dies between recording intent and sending

    monkeypatch.setattr(MaildirTransport, "send", crash)
    with pytest.raises(KeyboardInterrupt):
        engine.acknowledge(inquiry_id)
    monkeypatch.undo()
    assert mail.outbox_messages() == []
    assert len(engine.store.pending_outbox()) == 1

    engine.sync()
    engine.sync()
    assert len(mail.outbox_messages()) == 1
    assert engine.store.pending_outbox() == []
    inquiry = engine.store.inquiry(inquiry_id)
    assert inquiry is not None and inquiry.state is InquiryState.ACKNOWLEDGED


def test_delivering_the_same_message_id_twice_keeps_one_copy(mail: MailFolders) -> None:
    transport = MaildirTransport("t", mail.outbox, mail.sent)
    transport.send(b"Subject: x\r\n\r\nbody\r\n", "<same@x>")
    transport.send(b"Subject: x\r\n\r\nbody\r\n", "<same@x>")
    assert len(mail.outbox_messages()) == 1
    assert len(list(mail.sent.entries())) == 1


@pytest.fixture
def profile_calendar(engine: Engine, tmp_path: Path) -> Path:
    """A meeting 09:30-11:00 and lunch 11:10-12:00 on the test day, in the engine's profile."""
    ics = tmp_path / "work.ics"
    ics.write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
        "BEGIN:VEVENT\r\nUID:a\r\nDTSTAMP:20261101T000000Z\r\n"
        "DTSTART;TZID=Europe/Berlin:20261125T093000\r\n"
        "DTEND;TZID=Europe/Berlin:20261125T110000\r\nSUMMARY:Deposition\r\nEND:VEVENT\r\n"
        "BEGIN:VEVENT\r\nUID:b\r\nDTSTAMP:20261101T000000Z\r\n"
        "DTSTART;TZID=Europe/Berlin:20261125T111000\r\n"
        "DTEND;TZID=Europe/Berlin:20261125T120000\r\nSUMMARY:Lunch\r\nEND:VEVENT\r\n"
        "END:VCALENDAR\r\n", encoding="utf-8")
    ConfigFile(engine.profile.config).append(
        "calendars", {"name": "work", "kind": "ics", "path": str(ics)})
    from heard import config

    engine.settings = config.load(engine.profile.config)
    return ics
