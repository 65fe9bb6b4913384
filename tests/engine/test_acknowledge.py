"""Acknowledging: the reply, its threading, the promise, and the crash-safe outbox."""

from __future__ import annotations

from datetime import datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from heard.config import ConfigFile
from heard.domain.clock import FixedClock
from heard.domain.ids import InquiryId
from heard.domain.inquiries import InquiryState
from heard.domain.outbox import OutboxItem, OutboxState
from heard.engine import Engine, EngineError, NotWaiting
from heard.mail.transport import MaildirTransport
from tests.conftest import BERLIN, NOW
from tests.support.mail import MEGGE, MailFolders, drop, message


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
    result = engine.replies.acknowledge(inquiry_id)

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
    engine.replies.acknowledge(inquiry_id)
    report = engine.sync()
    assert report.answered == []
    inquiry = engine.store.inquiry(inquiry_id)
    assert inquiry is not None and inquiry.state is InquiryState.ACKNOWLEDGED
    assert len(engine.status().promises) == 1


def test_the_real_answer_keeps_the_promise(engine: Engine, mail: MailFolders) -> None:
    inquiry_id = _waiting(engine, mail)
    engine.replies.acknowledge(inquiry_id)
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
    engine.replies.acknowledge(inquiry_id)
    with pytest.raises(NotWaiting, match="already acknowledged"):
        engine.replies.acknowledge(inquiry_id)
    assert len(mail.outbox_messages()) == 1


def test_dry_run_sends_nothing_and_changes_nothing(engine: Engine, mail: MailFolders) -> None:
    inquiry_id = _waiting(engine, mail)
    result = engine.replies.acknowledge(inquiry_id, dry_run=True)
    assert not result.sent
    assert "Megge" in result.body
    assert mail.outbox_messages() == []
    assert engine.status().count == 1


def test_while_busy_the_busy_template_names_the_end_of_the_meeting(
    engine: Engine, mail: MailFolders, profile_calendar: Path
) -> None:
    inquiry_id = _waiting(engine, mail)
    result = engine.replies.acknowledge(inquiry_id)
    assert result.template == "acknowledge-busy"
    assert "in a meeting until 11:00 am" in result.body
    # The 10-minute gap before lunch is too short to call back in: next free is 12:00,
    # plus the 30-minute margin.
    assert result.reply_by == datetime(2026, 11, 25, 12, 30, tzinfo=BERLIN)
    assert "by 12:30 pm" in result.body


def test_names_with_line_breaks_cannot_inject_headers(engine: Engine, mail: MailFolders) -> None:
    from heard.domain.clients import Client

    engine.clients.add(Client("Eve\r\nBcc: victim@example.com", emails=("eve@evil.example",)))
    inquiry_id = _waiting(engine, mail, "Eve <eve@evil.example>")
    engine.replies.acknowledge(inquiry_id)
    [raw] = mail.outbox_messages()
    head = raw.split(b"\n\n", 1)[0]
    assert b"\nBcc:" not in head and b"\r\nBcc:" not in head
    reply = message_from_bytes(raw, policy=policy.default)
    assert reply["Bcc"] is None


def test_a_send_interrupted_by_a_crash_is_sent_once_on_the_next_sync(
    engine: Engine, mail: MailFolders, monkeypatch: pytest.MonkeyPatch
) -> None:
    inquiry_id = _waiting(engine, mail)

    def crash(self: MaildirTransport, raw: bytes, message_id: str,
              on_the_wire: object = None) -> None:
        raise KeyboardInterrupt  # the process dies between recording intent and sending

    monkeypatch.setattr(MaildirTransport, "send", crash)
    with pytest.raises(KeyboardInterrupt):
        engine.replies.acknowledge(inquiry_id)
    monkeypatch.undo()
    assert mail.outbox_messages() == []
    assert len(unsent(engine)) == 1

    engine.sync()
    engine.sync()
    assert len(mail.outbox_messages()) == 1
    assert unsent(engine) == []
    inquiry = engine.store.inquiry(inquiry_id)
    assert inquiry is not None and inquiry.state is InquiryState.ACKNOWLEDGED


def test_delivering_the_same_message_id_twice_keeps_one_copy(mail: MailFolders) -> None:
    transport = MaildirTransport("t", mail.outbox)
    transport.send(b"Subject: x\r\n\r\nbody\r\n", "<same@x>")
    transport.send(b"Subject: x\r\n\r\nbody\r\n", "<same@x>")
    assert len(mail.outbox_messages()) == 1


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


def test_delivered_but_not_marked_sent_before_a_crash_is_not_sent_again(
    engine: Engine, mail: MailFolders, monkeypatch: pytest.MonkeyPatch
) -> None:
    inquiry_id = _waiting(engine, mail)

    real = type(engine.store).update_outbox

    def crash_after_delivery(self: object, message_id: str, state: OutboxState,
                             *args: object, **kwargs: object) -> bool:
        if state is OutboxState.SENT:  # dies after the file is in the outbox
            raise KeyboardInterrupt
        return real(self, message_id, state, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(type(engine.store), "update_outbox", crash_after_delivery)
    with pytest.raises(KeyboardInterrupt):
        engine.replies.acknowledge(inquiry_id)
    monkeypatch.undo()
    assert len(mail.outbox_messages()) == 1
    assert [i.state for i in unsent(engine)] == [OutboxState.SENDING]
    engine.sync()  # reconciles the row: same Message-ID, same file
    assert len(mail.outbox_messages()) == 1
    assert unsent(engine) == []


def test_a_failed_send_stays_visible_until_it_goes_out(engine: Engine, mail: MailFolders,
                                                       clock: FixedClock) -> None:
    inquiry_id = _waiting(engine, mail)
    outbox = mail.outbox.path
    outbox.rename(outbox.with_name("Outbox.away"))
    outbox.write_text("a file where the outbox should be")
    result = engine.replies.acknowledge(inquiry_id)
    assert not result.sent
    status = engine.status()
    assert status.count == 0
    assert len(status.problems) == 1
    assert "1 message(s) not sent yet" in status.problems[0]
    outbox.unlink()
    outbox.with_name("Outbox.away").rename(outbox)
    engine.retry_outbox()
    assert mail.outbox_messages() == []   # the retry waits its back-off
    clock.advance(timedelta(seconds=30))
    engine.retry_outbox()
    assert len(mail.outbox_messages()) == 1
    assert engine.status().problems == []


def test_without_a_known_own_address_nothing_is_sent(engine: Engine, mail: MailFolders) -> None:
    from heard import config

    text = engine.profile.config.read_text()
    text = text.replace('addresses = ["alex@morgan-law.example"]', "addresses = []")
    text = text.replace('address = "alex@morgan-law.example"\n', "")
    engine.profile.config.write_text(text)
    engine.settings = config.load(engine.profile.config)
    inquiry_id = _waiting(engine, mail)
    with pytest.raises(EngineError, match="does not know your address"):
        engine.replies.acknowledge(inquiry_id)
    assert mail.outbox_messages() == []
    assert engine.status().count == 1


def test_a_promise_in_the_past_is_refused(engine: Engine, mail: MailFolders) -> None:
    inquiry_id = _waiting(engine, mail)
    with pytest.raises(EngineError, match="has passed"):
        engine.replies.acknowledge(inquiry_id, reply_by=NOW - timedelta(minutes=1))
    assert engine.status().count == 1


RACE = """
import sys, time
from heard.engine import Engine, EngineError, NotWaiting
from heard.system.paths import Profile
engine = Engine.open(Profile.locate(sys.argv[1]))
start = float(sys.argv[3])
while time.time() < start:
    pass
try:
    engine.replies.acknowledge(int(sys.argv[2]))
    print("sent")
except NotWaiting:
    print("refused")
engine.close()
"""


def test_two_processes_acknowledging_at_once_send_one_reply(
    engine: Engine, mail: MailFolders
) -> None:
    import subprocess
    import sys
    import time

    ids = []
    for n in range(5):
        drop(mail.inbox, message(f"Raj <raj{n}@patel-eng.example>", f"Matter {n}"), NOW)
    ids = engine.sync().new_inquiries
    assert len(ids) == 5
    for inquiry_id in ids:
        start = time.time() + 1.0
        procs = [subprocess.Popen([sys.executable, "-c", RACE, str(engine.profile.root),
                                   str(inquiry_id), str(start)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
        results = [p.communicate(timeout=60) for p in procs]
        outcomes = sorted(out.strip() for out, _err in results)
        assert outcomes == ["refused", "sent"], [err for _out, err in results]
    assert len(mail.outbox_messages()) == 5
    assert len(engine.status().promises) == 5


def test_only_the_first_failure_is_announced_retries_stay_quiet(
    engine: Engine, mail: MailFolders, clock: FixedClock
) -> None:
    from heard.engine import EngineEvent

    events: list[EngineEvent] = []
    engine.subscribe(events.append)
    inquiry_id = _waiting(engine, mail)
    outbox = mail.outbox.path
    outbox.rename(outbox.with_name("away"))
    outbox.write_text("not a folder")
    engine.replies.acknowledge(inquiry_id)
    clock.advance(timedelta(minutes=1))
    engine.retry_outbox()
    clock.advance(timedelta(minutes=5))
    engine.retry_outbox()
    assert engine.store.outbox()[0].attempts == 3
    assert [e.kind for e in events].count("error") == 1


def test_a_default_template_that_does_not_exist_is_refused_at_start(
    profile: object, clock: object
) -> None:
    from heard.config import ConfigFile
    from heard.system.paths import Profile

    assert isinstance(profile, Profile)
    ConfigFile(profile.config).set("replies", "template", "acknowlegde")
    with pytest.raises(EngineError, match=r"replies\.template names 'acknowlegde'"):
        Engine.open(profile)


def unsent(engine: Engine) -> list[OutboxItem]:
    return engine.store.outbox([OutboxState.QUEUED, OutboxState.SENDING, OutboxState.SENT,
                                OutboxState.UNSURE])
