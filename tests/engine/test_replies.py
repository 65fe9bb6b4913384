"""Acknowledging, delegating and the autopilot (heard.engine.replies): the reply, its
threading and its promise, templates, names and subjects that try to inject headers, two
processes at once, the assistant, and the autopilot in a meeting."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.utils import make_msgid
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from heard import config
from heard.config import ConfigFile
from heard.domain.clients import ASSISTANT_PREFERENCE, Client
from heard.domain.clock import FixedClock
from heard.domain.inquiries import InquiryState
from heard.domain.outbox import OutboxKind
from heard.engine import Engine, EngineError, NotWaiting
from tests.conftest import BERLIN, NOW
from tests.support.engine import add_assistant, client_waits, lease_waits
from tests.support.mail import MEGGE, SAM, MailFolders, drop, message, sent_messages
from tests.support.scenes import Scene, accepted_by, copies
from tests.support.smtp import FaultySmtp, Postfix


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


def test_acknowledging_writes_a_threaded_reply_and_records_a_promise(
    engine: Engine, mail: MailFolders
) -> None:
    inquiry_id = client_waits(engine, mail)
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
    assert reply["Auto-Submitted"] is None   # a person chose to send it (RFC 3834)
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


def test_acknowledging_twice_is_refused_and_sends_nothing_more(
    engine: Engine, mail: MailFolders
) -> None:
    inquiry_id = client_waits(engine, mail)
    engine.replies.acknowledge(inquiry_id)
    with pytest.raises(NotWaiting, match="already acknowledged"):
        engine.replies.acknowledge(inquiry_id)
    assert len(mail.outbox_messages()) == 1


def test_dry_run_sends_nothing_and_changes_nothing(engine: Engine, mail: MailFolders) -> None:
    inquiry_id = client_waits(engine, mail)
    result = engine.replies.acknowledge(inquiry_id, dry_run=True)
    assert not result.sent
    assert "Megge" in result.body
    assert mail.outbox_messages() == []
    assert engine.status().count == 1


def test_while_busy_the_busy_template_names_the_end_of_the_meeting(
    engine: Engine, mail: MailFolders, profile_calendar: Path
) -> None:
    inquiry_id = client_waits(engine, mail)
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
    inquiry_id = client_waits(engine, mail, "Eve <eve@evil.example>")
    engine.replies.acknowledge(inquiry_id)
    [raw] = mail.outbox_messages()
    head = raw.split(b"\n\n", 1)[0]
    assert b"\nBcc:" not in head and b"\r\nBcc:" not in head
    reply = message_from_bytes(raw, policy=policy.default)
    assert reply["Bcc"] is None


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


def test_without_a_known_own_address_nothing_is_sent(engine: Engine, mail: MailFolders) -> None:
    from heard import config

    text = engine.profile.config.read_text()
    text = text.replace('addresses = ["alex@morgan-law.example"]', "addresses = []")
    text = text.replace('address = "alex@morgan-law.example"\n', "")
    engine.profile.config.write_text(text)
    engine.settings = config.load(engine.profile.config)
    inquiry_id = client_waits(engine, mail)
    with pytest.raises(EngineError, match="does not know your address"):
        engine.replies.acknowledge(inquiry_id)
    assert mail.outbox_messages() == []
    assert engine.status().count == 1


def test_a_promise_in_the_past_is_refused(engine: Engine, mail: MailFolders) -> None:
    inquiry_id = client_waits(engine, mail)
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
    engine.replies.acknowledge(int(sys.argv[2]), only=True)   # five races, one client
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


def test_delegating_forwards_the_original_and_tells_the_client_who_helps(
        engine: Engine, mail: MailFolders) -> None:
    add_assistant(engine)
    inquiry_id = lease_waits(engine, mail)
    result = engine.replies.delegate(inquiry_id, note="Please book the notary.")
    assert result.sent and result.told_client
    by_to = {m["To"].addresses[0].addr_spec: m for m in sent_messages(mail)}
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
    # The notice says when the assistant is due (10:00 + the default two hours).
    assert "Sam Reed is looking after this for me and will be in touch by 12:00 pm" \
        in told.get_content()

    inquiry = engine.store.inquiry(inquiry_id)
    assert inquiry is not None and inquiry.state is InquiryState.DELEGATED
    assert inquiry.acknowledged_at == NOW     # the hand-over counts as the acknowledgement
    status = engine.status()
    assert status.count == 0
    (delegation,) = status.delegations
    assert (delegation.assistant, delegation.due) == ("Sam Reed", NOW + timedelta(hours=2))


def test_a_client_who_wants_no_assistant_is_never_told(engine: Engine,
                                                       mail: MailFolders) -> None:
    add_assistant(engine)
    megge = next(c for c in engine.clients.all() if c.preferred_name == "Megge")
    engine.clients.update(dataclasses.replace(megge, preferences={ASSISTANT_PREFERENCE: "no"}))
    inquiry_id = lease_waits(engine, mail)
    with pytest.raises(EngineError, match="preference says no assistant"):
        engine.replies.delegate(inquiry_id, tell_client=True)
    result = engine.replies.delegate(inquiry_id)
    assert not result.told_client
    assert [m["To"].addresses[0].addr_spec for m in sent_messages(mail)] == [SAM]


def test_without_an_assistant_delegating_says_how_to_add_one(engine: Engine,
                                                             mail: MailFolders) -> None:
    inquiry_id = lease_waits(engine, mail)
    with pytest.raises(EngineError, match="no assistant is set up"):
        engine.replies.delegate(inquiry_id)
    assert mail.outbox_messages() == []
    assert engine.status().count == 1


def test_an_edited_acknowledgement_sends_the_edit_with_safe_headers(
        engine: Engine, mail: MailFolders) -> None:
    inquiry_id = lease_waits(engine, mail)
    engine.replies.acknowledge(inquiry_id, subject="Re: Lease\r\nBcc: all@evil.example",
                       body="Got it, Megge. Friday works.\n")
    (sent,) = sent_messages(mail)
    assert sent["Bcc"] is None
    assert sent["Subject"] == "Re: Lease Bcc: all@evil.example"
    assert sent.get_content() == "Got it, Megge. Friday works.\n"


@pytest.mark.usefixtures("deposition")
def test_autopilot_acknowledges_a_vip_shortly_before_the_deadline_in_a_meeting(
        engine: Engine, mail: MailFolders, clock: FixedClock) -> None:
    inquiry_id = lease_waits(engine, mail, ago=0)   # Megge (VIP, 10 min) writes at 10:00
    drop(mail.inbox, message("Raj <raj@patel-eng.example>", "Drawings",
                             message_id="<r1@patel-eng.example>"), NOW)
    engine.sync()
    assert engine.replies.autopilot() == []              # 10 minutes left: not yet
    clock.advance(timedelta(minutes=7, seconds=30))
    (result,) = engine.replies.autopilot()
    assert result.inquiry_id == inquiry_id and result.sent
    (sent,) = sent_messages(mail)                        # Raj (standard tier) is left to the user
    assert sent["To"].addresses[0].addr_spec == "margaret@hale.example"
    assert "in a meeting until 11:30 am" in sent.get_content()
    assert sent["Auto-Submitted"] == "auto-replied"      # RFC 3834: no responder answers it
    item = engine.store.outbox_item(result.message_id)
    assert item is not None and item.kind is OutboxKind.AUTO
    assert engine.replies.autopilot() == []


@pytest.mark.usefixtures("deposition")
def test_autopilot_answers_a_thread_at_most_once_a_day(
        engine: Engine, mail: MailFolders, clock: FixedClock) -> None:
    first = lease_waits(engine, mail, ago=0)
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
    assert len(sent_messages(mail)) == 1
    assert engine.store.inquiry(second).state is InquiryState.WAITING  # type: ignore[union-attr]
    # Never silently: the user sees why this one is theirs.
    skipped = engine.status().autopilot_skipped[second]
    assert skipped.reason == "an automatic reply already went to this conversation today"


def test_autopilot_answers_a_thread_again_the_next_morning(
        engine: Engine, mail: MailFolders, clock: FixedClock, tmp_path: Path) -> None:
    """Once per thread per calendar day: a VIP who writes again the next morning, in a
    meeting again, hears back again (the last 24 hours would have silenced them)."""
    _calendar(engine, tmp_path,
              "DTSTART;TZID=Europe/Berlin:20261125T093000\r\n"
              "DTEND;TZID=Europe/Berlin:20261125T113000\r\nSUMMARY:Deposition\r\n",
              "DTSTART;TZID=Europe/Berlin:20261126T090000\r\n"
              "DTEND;TZID=Europe/Berlin:20261126T113000\r\nSUMMARY:Hearing\r\n")
    ConfigFile(engine.profile.config).set("autopilot", "tiers", ["vip"])
    engine.settings = config.load(engine.profile.config)
    first = lease_waits(engine, mail, ago=0)
    clock.advance(timedelta(minutes=8))
    assert [r.inquiry_id for r in engine.replies.autopilot()] == [first]
    engine.inquiries.mark_answered(first)
    clock.set(datetime(2026, 11, 26, 9, 30, tzinfo=BERLIN))   # 23 h 22 min later
    drop(mail.inbox, message(MEGGE, "Re: Lease", message_id="<q3@hale.example>",
                             in_reply_to="<q2@hale.example>",
                             references="<q1@hale.example> <q2@hale.example>",
                             at=clock.now()), clock.now())
    (second,) = engine.sync().new_inquiries
    clock.advance(timedelta(minutes=8))
    assert [r.inquiry_id for r in engine.replies.autopilot()] == [second]
    assert len(sent_messages(mail)) == 2
    assert engine.status().autopilot_skipped == {}


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


@pytest.mark.usefixtures("deposition")
def test_autopilot_never_answers_what_heard_is_not_sure_a_person_wrote(
        engine: Engine, mail: MailFolders, clock: FixedClock) -> None:
    """Her own address, but sent through a mailing service: counted, shown, and left to
    the user with the reason."""
    drop(mail.inbox, message(MEGGE, "Lease", message_id="<m1@hale.example>",
                             headers={"X-Mailgun-Tag": "crm"}), NOW)
    (unsure,) = engine.sync().new_inquiries
    assert engine.status().count == 1
    clock.advance(timedelta(minutes=9))
    assert engine.replies.autopilot() == []
    assert mail.outbox_messages() == [] and sent_messages(mail) == []
    skipped = engine.status().autopilot_skipped[unsure]
    assert skipped.reason == ("Heard is not sure a person wrote it"
                              " (mailing service (Mailgun))")


def test_autopilot_is_off_by_default(engine: Engine, mail: MailFolders,
                                     clock: FixedClock) -> None:
    lease_waits(engine, mail, ago=0)
    clock.advance(timedelta(minutes=9))
    assert engine.replies.autopilot() == []
    assert mail.outbox_messages() == []


def test_while_free_the_autopilot_leaves_replies_to_the_user(
        engine: Engine, mail: MailFolders, clock: FixedClock) -> None:
    ConfigFile(engine.profile.config).set("autopilot", "tiers", ["vip"])
    engine.settings = config.load(engine.profile.config)
    lease_waits(engine, mail, ago=0)
    clock.advance(timedelta(minutes=9))
    assert engine.replies.autopilot() == []


@pytest.mark.parametrize(("template", "promised", "said"), [
    ("end-of-day", datetime(2026, 11, 25, 17, 0, tzinfo=BERLIN), "answer by 5:00 pm."),
    ("tomorrow", datetime(2026, 11, 26, 9, 30, tzinfo=BERLIN), "by tomorrow 9:30 am"),
])
def test_a_template_says_what_it_promises(engine: Engine, mail: MailFolders, template: str,
                                          promised: datetime, said: str) -> None:
    inquiry_id = lease_waits(engine, mail)
    result = engine.replies.acknowledge(inquiry_id, template=template)
    assert result.reply_by == promised
    assert said in result.body
    (promise,) = engine.status().promises
    assert promise.promise.due == promised


def test_a_call_back_promise_carries_the_number(engine: Engine, mail: MailFolders) -> None:
    from heard.domain.clients import Channel, Client

    engine.clients.add(Client("Theo Brandt", phones=("+49 30 1234567",), channel=Channel.CALL))
    inquiry = engine.inquiries.log_call("+49 30 1234567")
    assert inquiry.id is not None
    result = engine.replies.acknowledge(inquiry.id)
    assert result.call_back == "tel:+49301234567"
    (promise,) = engine.status().promises
    assert promise.promise.text.endswith("(tel:+49301234567)")


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


def test_reply_to_is_where_the_acknowledgement_goes(engine: Engine, mail: MailFolders) -> None:
    drop(mail.inbox, message(MEGGE, "Via my assistant",
                             headers={"Reply-To": "Pat <pat@hale.example>"}), NOW)
    [inquiry_id] = engine.sync().new_inquiries
    assert engine.replies.acknowledge(inquiry_id, dry_run=True).to == "pat@hale.example"


def test_header_injection_through_names_subjects_and_templates_is_defused(
        faulty_scene: Scene, faulty_smtp: FaultySmtp, tmp_path: Path) -> None:
    scene = faulty_scene
    (megge,) = scene.engine.clients.all()
    scene.engine.clients.update(dataclasses.replace(
        megge, name="Megge\r\nBcc: victim@evil.example", preferred_name="M\nCc: x@evil.example"))
    (scene.engine.profile.root / "templates.toml").write_text(
        '[sneaky]\nsubject = "Re: {subject}\\r\\nBcc: {client.name}"\nbody = "Hi {client.name}"\n',
        encoding="utf-8")

    scene.engine.reload_templates()
    # An encoded word that decodes to a line break: the realistic way in.
    inquiry_id, _ = scene.client_writes("=?utf-8?q?Hello=0D=0ABcc=3A_spy=40evil=2Eexample?=")
    assert "Bcc: spy" in scene.engine.store.inquiry(inquiry_id).subject  # type: ignore[union-attr]
    result = scene.engine.replies.acknowledge(inquiry_id, template="sneaky")
    assert result.sent
    (got,) = accepted_by(faulty_smtp)
    assert got.rcpt_tos == [scene.client.address]
    head = got.content.split(b"\r\n\r\n", 1)[0].decode()
    names = [line.split(":", 1)[0].lower() for line in head.splitlines()
             if line and not line[0].isspace()]
    assert "bcc" not in names and "cc" not in names
    assert names.count("subject") == 1 and names.count("to") == 1


def test_a_private_note_never_reaches_the_client(engine: Engine, mail: MailFolders) -> None:
    """A logged call's note and a delegation's note are the user's own: they reach no
    message to the client, in any template, only the forward to the assistant."""
    add_assistant(engine)
    call_note, handover_note = "wants to discuss the closing", "she is difficult, be firm"
    megge = next(c for c in engine.clients.all() if c.name == "Margaret Hale")
    call = engine.inquiries.log_call(str(megge.id), note=call_note)
    assert call.id is not None and call.preview == call_note   # shown to the user
    for name in engine.templates:
        drafted = engine.replies.acknowledge(call.id, name, dry_run=True)
        assert call_note not in drafted.subject and call_note not in drafted.body, name
    acknowledged = engine.replies.acknowledge(call.id)
    assert acknowledged.sent and acknowledged.subject.startswith("Re: Your call on Wed")
    inquiry_id = lease_waits(engine, mail)
    engine.replies.delegate(inquiry_id, note=handover_note, tell_client=True)

    to_client = [m for m in sent_messages(mail)
                 if m["To"].addresses[0].addr_spec == "margaret@hale.example"]
    assert len(to_client) == 2                     # the call's reply, and who will help
    for sent in to_client:
        seen = sent.as_string()
        assert call_note not in seen and handover_note not in seen
    (forward,) = [m for m in sent_messages(mail) if m["To"].addresses[0].addr_spec == SAM]
    assert forward.get_body(("plain",)).get_content().startswith(handover_note)


def _calendar(engine: Engine, tmp_path: Path, *events: str) -> None:
    """The engine's profile reads these VEVENT bodies as its calendar."""
    ics = tmp_path / "day.ics"
    ics.write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
        + "".join(f"BEGIN:VEVENT\r\nUID:e{n}\r\nDTSTAMP:20261101T000000Z\r\n{body}"
                  "END:VEVENT\r\n" for n, body in enumerate(events))
        + "END:VCALENDAR\r\n", encoding="utf-8")
    ConfigFile(engine.profile.config).append("calendars", {"name": "day", "kind": "ics",
                                                           "path": str(ics)})
    engine.settings = config.load(engine.profile.config)


def test_a_promised_time_never_falls_inside_a_meeting(
        engine: Engine, mail: MailFolders, tmp_path: Path) -> None:
    """Free at 10:15; the margin's 10:45 falls in the 10:34-11:04 call: the promise moves
    past it, to 11:15."""
    _calendar(engine, tmp_path,
              "DTSTART;TZID=Europe/Berlin:20261125T093000\r\n"
              "DTEND;TZID=Europe/Berlin:20261125T101500\r\nSUMMARY:Deposition\r\n",
              "DTSTART;TZID=Europe/Berlin:20261125T103400\r\n"
              "DTEND;TZID=Europe/Berlin:20261125T110400\r\nSUMMARY:Call\r\n")
    inquiry_id = client_waits(engine, mail)
    result = engine.replies.acknowledge(inquiry_id, dry_run=True)
    assert result.reply_by == datetime(2026, 11, 25, 11, 15, tzinfo=BERLIN)
    assert "by 11:15 am" in result.body and "10:45" not in result.body


@pytest.mark.parametrize("event", [
    "DTSTART;VALUE=DATE:20261125\r\nDTEND;VALUE=DATE:20261126\r\nTRANSP:OPAQUE\r\n"
    "SUMMARY:Off-site\r\n",
    "DTSTART;TZID=Europe/Berlin:20261125T080000\r\nDTEND;TZID=Europe/Berlin:20261125T180000"
    "\r\nX-MICROSOFT-CDO-BUSYSTATUS:OOF\r\nSUMMARY:Out of office\r\n",
], ids=["all-day", "out-of-office"])
def test_out_of_the_office_a_reply_says_when_the_user_is_back(
        engine: Engine, mail: MailFolders, tmp_path: Path, event: str) -> None:
    _calendar(engine, tmp_path, event)
    inquiry_id = client_waits(engine, mail)
    result = engine.replies.acknowledge(inquiry_id, dry_run=True)
    assert result.template == "acknowledge-away"
    assert "out of the office and back tomorrow morning" in result.body
    assert "meeting" not in result.body and "12:00 am" not in result.body
    assert "by tomorrow 9:30 am" in result.body     # the next opening plus the margin


def test_a_meeting_that_is_over_is_never_named(engine: Engine, mail: MailFolders,
                                               clock: FixedClock, tmp_path: Path) -> None:
    """The busy variant asked for by name after the meeting ended: the free wording."""
    _calendar(engine, tmp_path,
              "DTSTART;TZID=Europe/Berlin:20261125T093000\r\n"
              "DTEND;TZID=Europe/Berlin:20261125T100500\r\nSUMMARY:Deposition\r\n")
    inquiry_id = client_waits(engine, mail)
    assert engine.replies.acknowledge(inquiry_id, dry_run=True).template == "acknowledge-busy"
    clock.advance(timedelta(minutes=6))
    result = engine.replies.acknowledge(inquiry_id, "acknowledge-busy", dry_run=True)
    assert result.template == "acknowledge"
    assert "until now" not in result.body and "meeting" not in result.body


def test_a_call_back_is_promised_only_to_someone_with_a_number(
        engine: Engine, mail: MailFolders) -> None:
    """A web form with no phone number: an acknowledgement, not "I'll call you back"."""
    inquiry = engine.inquiries.log_call("Sofia Lindqvist")      # she has a number now
    sofia = next(c for c in engine.clients.all() if c.name == "Sofia Lindqvist")
    assert inquiry.id is not None and sofia.phones == ()
    assert "call you back" not in engine.replies.acknowledge(inquiry.id, dry_run=True).body
    engine.clients.update(dataclasses.replace(sofia, phones=("+46 8 123 456 78",)))
    drafted = engine.replies.acknowledge(inquiry.id, dry_run=True)
    assert drafted.template == "call-back" and "call you back" in drafted.body


# the client is the unit

def _megge_writes_three_times(engine: Engine, mail: MailFolders) -> list:
    """Lease (10 min ago, a thread), Keys (6 min ago, new) and Parking (2 min ago, new)."""
    client_waits(engine, mail, subject="Lease", ago=10)
    drop(mail.inbox, message(MEGGE, "Keys", message_id="<k1@hale.example>"),
         NOW - timedelta(minutes=6))
    drop(mail.inbox, message(MEGGE, "Parking", message_id="<p1@hale.example>"),
         NOW - timedelta(minutes=2))
    engine.sync()
    return sorted(i.inquiry.id for i in engine.status().waiting)


def test_one_acknowledgement_answers_everything_the_client_wrote(
        engine: Engine, mail: MailFolders) -> None:
    lease, keys, parking = _megge_writes_three_times(engine, mail)
    assert engine.status().count == 1 and len(engine.status().clients) == 1
    (megge,) = engine.status().clients
    assert megge.ids == (parking, keys, lease)            # newest first
    result = engine.replies.acknowledge(lease)            # any of her messages will do
    assert result.sent and result.inquiry_id == parking
    assert set(result.covers) == {lease, keys, parking}
    (sent,) = sent_messages(mail)                         # one mail, not three
    assert sent["Subject"] == "Re: Parking"
    assert sent["In-Reply-To"] == "<p1@hale.example>"
    assert set(sent["References"].split()) == {"<q1@hale.example>", "<q2@hale.example>",
                                               "<k1@hale.example>", "<p1@hale.example>"}
    assert "Thank you for your messages. I have them" in sent.get_content()
    assert engine.status().count == 0
    for inquiry_id in (lease, keys, parking):
        assert engine.store.inquiry(inquiry_id).state is InquiryState.ACKNOWLEDGED  # type: ignore[union-attr]
    # Each contact keeps its own promise (the statistics count each against its standard).
    assert sorted(p.inquiry_id for p in engine.store.open_promises()) == [lease, keys, parking]


def test_acknowledging_only_one_message_leaves_the_others_waiting(
        engine: Engine, mail: MailFolders) -> None:
    lease, keys, parking = _megge_writes_three_times(engine, mail)
    result = engine.replies.acknowledge(keys, only=True)
    assert result.covers == (keys,)
    (sent,) = sent_messages(mail)
    assert sent["Subject"] == "Re: Keys"
    assert "Thank you for your message. I have it" in sent.get_content()
    assert sorted(i.inquiry.id for i in engine.status().waiting) == [lease, parking]


def test_an_acknowledgement_undone_puts_every_message_it_answered_back(
        engine: Engine, mail: MailFolders) -> None:
    lease, keys, parking = _megge_writes_three_times(engine, mail)
    held = engine.replies.acknowledge(keys, delay=timedelta(seconds=10))
    assert engine.status().count == 0
    engine.outbox.cancel(held.message_id)
    assert sorted(i.inquiry.id for i in engine.status().waiting) == [lease, keys, parking]
    assert engine.store.open_promises() == []
    assert sent_messages(mail) == []
    # and acknowledged again, once
    assert set(engine.replies.acknowledge(lease).covers) == {lease, keys, parking}
    assert len(sent_messages(mail)) == 1


def test_a_preview_shows_the_words_for_several_messages(
        engine: Engine, mail: MailFolders) -> None:
    lease, _keys, _parking = _megge_writes_three_times(engine, mail)
    drafted = engine.replies.acknowledge(lease, dry_run=True)
    assert "your messages" in drafted.body and len(drafted.covers) == 3
    assert engine.status().count == 1 and sent_messages(mail) == []


def test_delegating_a_client_hands_over_everything_of_theirs_that_waits(
        engine: Engine, mail: MailFolders) -> None:
    add_assistant(engine)
    lease, keys, parking = _megge_writes_three_times(engine, mail)
    result = engine.replies.delegate(keys, note="Please call her.")
    assert result.sent and result.inquiry_id == parking
    assert set(result.covers) == {lease, keys, parking}
    by_to = {m["To"].addresses[0].addr_spec: m for m in sent_messages(mail)}
    assert len(sent_messages(mail)) == 2                         # one forward, one notice
    forward = by_to[SAM].get_body(("plain",)).get_content()      # type: ignore[union-attr]
    assert "Also waiting from Margaret Hale" in forward and ": Keys" in forward
    assert ": Lease" in forward
    assert "Thank you for your messages" in by_to["margaret@hale.example"].get_content()
    assert engine.status().count == 0
    for inquiry_id in (lease, keys, parking):
        assert engine.store.inquiry(inquiry_id).state is InquiryState.DELEGATED  # type: ignore[union-attr]


def test_delegating_one_message_leaves_the_others_waiting(
        engine: Engine, mail: MailFolders) -> None:
    add_assistant(engine)
    lease, keys, parking = _megge_writes_three_times(engine, mail)
    result = engine.replies.delegate(keys, tell_client=False, only=True)
    assert result.covers == (keys,)
    assert sorted(i.inquiry.id for i in engine.status().waiting) == [lease, parking]


# the autopilot writes only where the user would (issue 24)

FORGED = "Margaret Hale <margaret@hale.example>"


@pytest.mark.usefixtures("deposition")
@pytest.mark.parametrize(("forgery", "reason"), [
    ({"headers": {"Reply-To": "victim@stranger.example"}},
     "the reply would go to victim@stranger.example, which is not Margaret Hale's address"),
    ({"authenticated": False}, "your mail server did not vouch for its sender"),
    ({"authenticated": False, "headers": {
        "Authentication-Results": "mx.heard.test; dkim=fail header.d=hale.example;"
                                  " dmarc=fail header.from=hale.example"}},
     "it failed DKIM/DMARC at your mail server"),
    ({"authenticated": False, "headers": {
        "Authentication-Results": "mx.evil.example; dmarc=pass header.from=hale.example"}},
     "your mail server did not vouch for its sender"),
    ({"to": "Someone Else <someone@else.example>"}, "you were not in its To or Cc"),
    ({"headers": {"X-Heard-Acknowledges": "<x@elsewhere.example>"}},
     "it is another Heard's message"),
], ids=["reply-to", "unauthenticated", "dmarc-fail", "untrusted-authserv", "bcc",
        "another-heard"])
def test_the_autopilot_cannot_be_aimed(engine: Engine, mail: MailFolders, clock: FixedClock,
                                       forgery: dict, reason: str) -> None:
    drop(mail.inbox, message(FORGED, "Urgent: bank details", **forgery), NOW)
    (inquiry_id,) = engine.sync().new_inquiries
    clock.advance(timedelta(minutes=8))
    assert engine.replies.autopilot() == []
    assert mail.outbox_messages() == []
    assert reason in engine.status().autopilot_skipped[inquiry_id].reason
    assert engine.status().count == 1            # still waiting, for the user to see


@pytest.mark.usefixtures("deposition")
def test_a_client_not_signing_mail_is_answered_on_the_users_word(
        engine: Engine, mail: MailFolders, clock: FixedClock) -> None:
    megge = next(c for c in engine.clients.all() if c.name == "Margaret Hale")
    engine.clients.update(dataclasses.replace(megge, preferences={"signs": "no"}))
    drop(mail.inbox, message(FORGED, "Lease", authenticated=False), NOW)
    engine.sync()
    clock.advance(timedelta(minutes=8))
    (result,) = engine.replies.autopilot()
    assert result.sent and result.to == "margaret@hale.example"


@pytest.mark.usefixtures("deposition")
def test_the_autopilot_answers_one_client_at_most_the_daily_limit(
        engine: Engine, mail: MailFolders, clock: FixedClock) -> None:
    """25 messages at once are one client: one reply. Writing again and again in new
    threads: at most [autopilot] per_client_per_day (2) automatic replies."""
    for n in range(25):
        drop(mail.inbox, message(FORGED, f"Matter {n}", message_id=f"<f{n}@hale.example>"),
             NOW + timedelta(seconds=n))
    engine.sync()
    clock.advance(timedelta(minutes=8))
    (first,) = engine.replies.autopilot()
    assert len(first.covers) == 25 and len(mail.outbox_messages()) == 1
    for n in range(4):
        drop(mail.inbox, message(FORGED, f"Again {n}", message_id=make_msgid()), clock.now())
        (again,) = engine.sync().new_inquiries
        clock.advance(timedelta(minutes=8))
        engine.replies.autopilot()
    assert len(mail.outbox_messages()) == 2
    assert "per_client_per_day" in engine.status().autopilot_skipped[again].reason


def test_the_autopilot_writes_at_most_per_hour_replies_in_all(
        faulty_scene: Scene, faulty_smtp: FaultySmtp, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Twelve clients, each vouched for and each writing once, while the user is in a
    meeting: at most [autopilot] per_hour (10 by default) automatic replies go out in any
    hour (on the real IMAP and SMTP servers); the other two are left to the user with the
    reason, in the status and in `heard outbox`, and go once the hour has passed."""
    from heard.cli import main
    from tests.support.devices import busy_for_weeks

    scene = faulty_scene
    engine = scene.engine
    busy_for_weeks(engine, tmp_path)   # in a meeting; the autopilot on for "standard"
    assert engine.settings.autopilot.per_hour == 10
    # At 23:45 the user's time, so that the hour below crosses midnight: the last hour is
    # not "today" (this failed only when CI happened to run near midnight in Berlin).
    local = scene.clock.now().astimezone(engine.settings.zone)
    scene.clock.set(local.replace(hour=23, minute=45, second=0))
    addresses = [f"client{n}@firm{n}.example" for n in range(12)]
    for n, address in enumerate(addresses):
        engine.clients.add(Client(f"Client {n}", emails=(address,)))
        scene.me.append(message(f"Client {n} <{address}>", f"Matter {n}", to=scene.me.address,
                                at=scene.clock.now()))
    # The sync runs the autopilot on what it found (as the tray's and `heard sync` do).
    assert len(engine.sync().new_inquiries) == 12
    first = [message_from_bytes(m.content, policy=policy.default)  # type: ignore[misc]
             for m in accepted_by(faulty_smtp) if isinstance(m.content, bytes)]
    assert len(first) == 10
    assert len({str(m["To"]) for m in first}) == 10
    assert all(m["Auto-Submitted"] == "auto-replied" for m in first)
    status = engine.status()
    assert status.count == 2
    reason = "10 automatic replies went out in the last hour ([autopilot] per_hour)"
    left = [w for w in status.waiting if w.inquiry.id in status.autopilot_skipped]
    assert len(left) == 2
    assert all(status.autopilot_skipped[w.inquiry.id].reason == reason
               for w in left if w.inquiry.id is not None)
    # Said where the user looks: `heard outbox` lists who was left to them, and why.
    capsys.readouterr()
    assert main(["--profile", str(engine.profile.root), "outbox"]) == 0
    out = capsys.readouterr().out
    assert "Left to you by the autopilot:" in out
    assert all(w.client.name in out for w in left) and out.count(reason) == 2
    assert main(["--profile", str(engine.profile.root), "status"]) == 0
    assert capsys.readouterr().out.count(f"left to you by the autopilot: {reason}") == 2
    # Another run within the hour writes nothing more; past it, the two are answered.
    scene.clock.advance(timedelta(minutes=30))
    assert engine.replies.autopilot() == [] and len(accepted_by(faulty_smtp)) == 10
    scene.clock.advance(timedelta(minutes=31))
    later = [r for r in engine.replies.autopilot() if r.sent]
    assert sorted(r.to for r in later) == sorted(
        a for a in addresses if all(a not in str(m["To"]) for m in first))
    assert len(accepted_by(faulty_smtp)) == 12 and engine.status().count == 0


def test_a_from_that_parses_two_ways_is_nobodys(engine: Engine, mail: MailFolders) -> None:
    drop(mail.inbox, message("margaret@hale.example)<attacker@evil.example>", "Wire"), NOW)
    report = engine.sync()
    assert report.new_inquiries == []
    (skipped,) = report.skipped
    assert "From names two addresses" in skipped.reason and "attacker@evil.example" in \
        skipped.reason


# the client's language and time (issue 22, 4)

NEW_YORK = ZoneInfo("America/New_York")


def _abroad(engine: Engine, language: str | None, zone: str | None) -> Client:
    """The user works from New York; Megge gets a language and a zone."""
    ConfigFile(engine.profile.config).set("user", "timezone", "America/New_York")
    engine.settings = config.load(engine.profile.config)
    megge = next(c for c in engine.clients.all() if c.preferred_name == "Megge")
    return engine.clients.update(dataclasses.replace(megge, language=language, zone=zone))


def test_a_german_client_in_berlin_reads_german_with_their_time_and_mine(
        engine: Engine, mail: MailFolders) -> None:
    _abroad(engine, "de", "Europe/Berlin")
    inquiry_id = client_waits(engine, mail)
    # 04:00 in New York: the promise is the opening, 09:00, plus the margin.
    result = engine.replies.acknowledge(inquiry_id)
    assert result.reply_by == datetime(2026, 11, 25, 9, 30, tzinfo=NEW_YORK)
    [raw] = mail.outbox_messages()
    body = message_from_bytes(raw, policy=policy.default).get_content()
    assert body == ("Hallo Megge,\n\nvielen Dank für Ihre Nachricht. Ich habe sie erhalten"
                    " und kümmere mich darum: Sie hören bis 15:30 Uhr Ihrer Zeit (09:30 Uhr"
                    " bei mir) von mir.\n\nViele Grüße\nAlex Morgan\n")
    # The promise the user reads is theirs: English, their zone.
    [promise] = engine.status().promises
    assert promise.promise.text == "reply by 9:30 am"


def test_a_client_in_the_users_zone_reads_one_time_and_one_in_english_zone_only_two(
        engine: Engine, mail: MailFolders) -> None:
    _abroad(engine, None, "America/New_York")
    inquiry_id = client_waits(engine, mail)
    assert "you'll hear back from me by 9:30 am.\n" in engine.replies.acknowledge(
        inquiry_id, dry_run=True).body
    _abroad(engine, "en_GB", "Europe/London")
    assert "you'll hear back from me by 14:30 your time (09:30 mine).\n" in \
        engine.replies.acknowledge(inquiry_id, dry_run=True).body


def test_an_acknowledgement_to_a_german_client_lands_in_their_mailbox_in_german(
        postfix_scene: Scene, postfix: Postfix) -> None:
    """Through the real servers: a user in New York, a client in Berlin who reads German;
    Postfix delivers into the client's Dovecot mailbox the text with both times."""
    scene = postfix_scene
    _abroad(scene.engine, "de_DE", "Europe/Berlin")
    inquiry_id, _mid = scene.client_writes("Unterlagen")
    result = scene.engine.replies.acknowledge(inquiry_id)
    assert result.sent
    postfix.wait_delivered(result.message_id)
    (received,) = copies(scene.client, "INBOX", "Message-ID", result.message_id)
    body = received.get_content().replace("\r\n", "\n")
    assert body == result.body    # what was composed (and shown) is what arrived
    assert body.startswith("Hallo Megge,\n\nvielen Dank für Ihre Nachricht.")
    theirs = f"{result.reply_by.astimezone(BERLIN):%H:%M} Uhr Ihrer Zeit ("
    mine = f"{result.reply_by.astimezone(NEW_YORK):%H:%M} Uhr bei mir) von mir."
    assert theirs in body and mine in body, body
    assert received["Subject"] == "Re: Unterlagen"
