"""Mail intake (heard.engine.intake): in the order things happened, whatever order the files
are read in and whatever hostile input the folders hold; what only a Maildir account does
(a folder that is not a Maildir, the file watcher); when things go wrong (a bug on one
message, hostile dates, copies); flags set over IMAP; and voicemail and contact-form
notifications through real IMAP intake. What every mail source does is in
test_intake_contract.py."""

from __future__ import annotations

import email.utils
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import heard.engine.intake
from heard.config import ConfigFile
from heard.domain.clients import Channel, Client
from heard.domain.clock import FixedClock
from heard.domain.inquiries import InquiryState
from heard.engine import Engine, EngineError, EngineEvent
from heard.engine.intake import Intake
from tests.conftest import BERLIN, NOW
from tests.support.dovecot import MailUser
from tests.support.engine import add_assistant, client_waits, lease_waits
from tests.support.imap import imap_profile
from tests.support.mail import ME, MEGGE, RAJ, SAM, MailFolders, drop, message
from tests.support.samples import (
    CALLERS,
    LABELS,
    NO_EMAIL,
    NO_EMAIL_CALLER,
    SAMPLES,
    SUBMITTERS,
    WITHHELD,
    form,
    voicemail,
)

# Voicemail and contact-form notifications through real IMAP intake (a Dovecot on loopback).
# A robot (a phone system, a website) sends these; the person is in the text. Intake must
# make the person the contact: a caller is matched to a client by number or becomes a
# prospect, a form's submitter becomes a prospect at their own address, and no reply is
# ever addressed to the robot.
#
# The samples are dated 25-26 Nov 2026 and the engine runs on the wall clock. Intake dates
# a message min(Date, INTERNALDATE) and skips what lies before its 30-day window, so
# appending with an INTERNALDATE of now (`at=`) cannot bring an old Date back into the
# window: a sample whose Date has fallen out of it is given a fresh Date instead.
WINDOW = timedelta(days=30)


def header(raw: bytes, name: str) -> str:
    found = re.search(rb"^" + name.encode() + rb": *([^\r\n]*)", raw, re.M | re.I)
    assert found, name
    return found.group(1).decode()


def sample_date(raw: bytes) -> datetime:
    return email.utils.parsedate_to_datetime(header(raw, "Date"))


def deliverable(path: Path, now: datetime) -> bytes:
    """The sample as a phone system or website sends it today: dated a few minutes before
    it reaches the server (the samples' own dates lie in the past)."""
    raw = path.read_bytes()
    offset = sorted(p.name for p in path.parent.glob("*.eml")).index(path.name)
    fresh = email.utils.format_datetime(now - timedelta(minutes=5 + offset)).encode()
    return re.sub(rb"^Date: [^\r\n]*", b"Date: " + fresh, raw, count=1, flags=re.M)


def open_engine(root: Path, user: MailUser, *, dana: bool = False) -> Engine:
    """An IMAP profile whose numbers written without a country code are American; with
    `dana`, also the address the samples are sent to (and some forms are sent from)."""
    profile = imap_profile(root, user)
    file = ConfigFile(profile.config)
    if dana:
        file.set("user", "addresses", [user.address, "dana@whitfield.example"])
    file.set("user", "phone_region", "US")
    return Engine.open(profile)


@pytest.fixture
def us_engine(tmp_path: Path, mailuser: MailUser, real_keyring: object) -> Iterator[Engine]:
    """The engine on an IMAP profile whose numbers without a country code are American."""
    engine = open_engine(tmp_path / "profile", mailuser)
    yield engine
    engine.close()


@pytest.fixture
def dana_engine(tmp_path: Path, mailuser: MailUser, real_keyring: object
                ) -> Iterator[Engine]:
    engine = open_engine(tmp_path / "profile", mailuser, dana=True)
    yield engine
    engine.close()


def take_in(engine: Engine, user: MailUser, *paths: Path) -> list[Any]:
    """APPEND the samples to INBOX as a phone system's mail would arrive, sync once, and
    return the new waiting items (oldest first)."""
    now = datetime.now(UTC).replace(microsecond=0)
    for path in paths:
        raw = deliverable(path, now)
        user.append(raw, at=now)
        assert min(sample_date(raw), now) > now - WINDOW
    report = engine.sync()
    assert report.errors == [] and report.skipped == []
    assert len(report.new_inquiries) == len(paths)
    items = {i.inquiry.id: i for i in engine.status().waiting}
    for path, inquiry_id in zip(sorted(paths, key=lambda p: sample_date(
            deliverable(p, now))), report.new_inquiries, strict=False):
        # When the call or the form came: its Date, a few minutes before the arrival.
        received = items[inquiry_id].inquiry.received_at
        assert received == sample_date(deliverable(path, now)), path.name
    return [items[i] for i in report.new_inquiries]


def test_a_missing_maildir_is_reported_and_the_rest_works(
    engine: Engine, mail: MailFolders
) -> None:
    drop(mail.inbox, message(MEGGE), NOW)
    for sub in ("new", "cur", "tmp"):
        (mail.sent.path / sub).rmdir()
    report = engine.sync()
    assert any("is not a Maildir" in e for e in report.errors)
    assert engine.status().count == 1


def test_new_files_are_noticed_by_the_watcher(
    engine: Engine, mail: MailFolders, clock: FixedClock
) -> None:
    arrived = threading.Event()
    events: list[EngineEvent] = []

    def listener(event: EngineEvent) -> None:
        # A Maildir sync also reports the account's health ('accounts'): only the news counts.
        if event.kind == "changed":
            events.append(event)
            arrived.set()

    engine.subscribe(listener)
    engine.start_watching()
    try:
        drop(mail.inbox, message(MEGGE, "Watch me"), NOW)
        # A generous bound for a loaded CI machine; the benchmark measures the real latency.
        assert arrived.wait(10), "the watcher did not notice a new file"
    finally:
        engine.stop_watching()
    assert len(events[0].new) == 1
    assert engine.status().count == 1


def test_the_own_acknowledgement_seen_in_sent_is_not_an_answer(
    engine: Engine, mail: MailFolders
) -> None:
    inquiry_id = client_waits(engine, mail)
    engine.replies.acknowledge(inquiry_id)
    report = engine.sync()
    assert report.answered == []
    inquiry = engine.store.inquiry(inquiry_id)
    assert inquiry is not None and inquiry.state is InquiryState.ACKNOWLEDGED
    assert len(engine.status().promises) == 1


def test_the_real_answer_keeps_the_promise(engine: Engine, mail: MailFolders) -> None:
    inquiry_id = client_waits(engine, mail)
    engine.replies.acknowledge(inquiry_id)
    drop(mail.sent, message("Alex <alex@morgan-law.example>", "Re: Closing documents",
                            to=MEGGE, at=NOW + timedelta(minutes=20),
                            in_reply_to="<q2@hale.example>", references="<q2@hale.example>"),
         NOW + timedelta(minutes=20))
    assert engine.sync().answered == [inquiry_id]
    assert engine.status().promises == []


def test_the_assistants_reply_to_the_client_closes_the_delegation(
        engine: Engine, mail: MailFolders, clock: FixedClock) -> None:
    add_assistant(engine)
    inquiry_id = lease_waits(engine, mail)
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


def test_a_forged_from_of_the_assistant_closes_no_delegation(
        engine: Engine, mail: MailFolders, clock: FixedClock) -> None:
    """Anyone can write "From: Sam Reed": without the user's server vouching for it, the
    delegation stays open (and reminds the user when due)."""
    add_assistant(engine)
    inquiry_id = lease_waits(engine, mail)
    engine.replies.delegate(inquiry_id, tell_client=False)
    clock.advance(timedelta(minutes=30))
    drop(mail.inbox, message(f"Sam Reed <{SAM}>", "Re: Lease", to=MEGGE,
                             message_id="<forged@morgan-law.example>",
                             in_reply_to="<q2@hale.example>", authenticated=False,
                             references="<q1@hale.example> <q2@hale.example>",
                             at=NOW + timedelta(minutes=30)), NOW + timedelta(minutes=30))
    report = engine.sync()
    assert report.answered == []
    assert [d.inquiry_id for d in engine.status().delegations] == [inquiry_id]
    assert engine.store.inquiry(inquiry_id).state is InquiryState.DELEGATED  # type: ignore[union-attr]


def test_an_out_of_office_reply_from_the_assistant_confirms_nothing(
        engine: Engine, mail: MailFolders, clock: FixedClock) -> None:
    add_assistant(engine)
    inquiry_id = lease_waits(engine, mail)
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


@pytest.mark.expect_log_errors(r"heard\.engine\.intake: could not take in .*\[RuntimeError: a bug")
def test_a_failure_on_one_message_is_undone_and_the_rest_goes_in(
    engine: Engine, mail: MailFolders, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_record = Intake._record

    def flaky(self: Intake, account, facts, verdict, client, arrived):  # type: ignore[no-untyped-def]
        inquiry_id = real_record(self, account, facts, verdict, client, arrived)  # written...
        if facts.subject == "Boom":
            raise RuntimeError("a bug")  # ...then fails: the write must be undone
        return inquiry_id

    monkeypatch.setattr(Intake, "_record", flaky)
    drop(mail.inbox, message(MEGGE, "Boom"), NOW - timedelta(minutes=2))
    drop(mail.inbox, message(RAJ, "Fine"), NOW - timedelta(minutes=1))
    report = engine.sync()
    assert [s.reason for s in report.skipped] == ["failed: RuntimeError: a bug"]
    assert [i.inquiry.subject for i in engine.status().waiting] == ["Fine"]
    assert engine.sync().seen == 0  # remembered as failed, not retried forever


@pytest.mark.expect_log_errors(r"heard\.engine\.intake: could not take in .*\[RuntimeError: a bug")
def test_a_failure_in_a_chunk_is_applied_again_one_by_one_and_counted_once(
    engine: Engine, mail: MailFolders, monkeypatch: pytest.MonkeyPatch
) -> None:

    real_record = Intake._record

    def flaky(self: Intake, account, facts, verdict, client, arrived):  # type: ignore[no-untyped-def]
        inquiry_id = real_record(self, account, facts, verdict, client, arrived)
        if facts.subject == "Boom":
            raise RuntimeError("a bug")
        return inquiry_id

    # Chunks of two: the failure is in the second, after a good message of its own.
    monkeypatch.setattr(heard.engine.intake, "APPLY_CHUNK", 2)
    monkeypatch.setattr(Intake, "_record", flaky)
    subjects = ["One", "Two", "Three", "Boom", "Five"]
    for n, subject in enumerate(subjects):
        drop(mail.inbox, message(MEGGE, subject, message_id=f"<chunk-{n}@hale.example>"),
             NOW - timedelta(minutes=10 - n))
    report = engine.sync()
    assert report.seen == 5
    assert [s.reason for s in report.skipped] == ["failed: RuntimeError: a bug"]
    assert len(report.new_inquiries) == len(set(report.new_inquiries)) == 4
    waiting = engine.status().waiting
    assert sorted(i.inquiry.subject for i in waiting) == ["Five", "One", "Three", "Two"]
    assert {i.inquiry.id for i in waiting} == set(report.new_inquiries)
    assert engine.store.seen_count() == 5
    assert engine.sync().seen == 0


@pytest.mark.expect_log_errors(r"heard\.engine\.intake: could not take in .*\[RuntimeError: a bug")
def test_a_message_that_cannot_be_taken_in_stays_a_problem_the_user_sees(
    engine: Engine, mail: MailFolders, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(Intake, "_record", broken)
    entry = drop(mail.inbox, message(MEGGE, "Boom"), NOW - timedelta(minutes=2))
    engine.sync()
    (problem,) = [p for p in engine.status().problems if "could not be taken in" in p]
    # Where it is and who sent it, so the user can read it themselves.
    assert f"work:inbox {entry.path.name}" in problem
    assert "margaret@hale.example: 'Boom'" in problem and "RuntimeError: a bug" in problem
    clock.advance(timedelta(days=8))   # long seen by then (the doctor still lists it)
    assert not [p for p in engine.status().problems if "could not be taken in" in p]


_SEEN = iter(range(10**9))


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(sender=st.sampled_from([MEGGE.encode(), b"Stranger <who@else.example>"]),
       name=st.binary(max_size=24), subject=st.binary(max_size=80),
       charset=st.sampled_from(["utf-7", "utf-16", "utf-8", "iso-8859-1", "shift_jis",
                                "x-unknown"]),
       transfer=st.sampled_from(["7bit", "8bit", "base64", "quoted-printable"]),
       encoded=st.booleans(), body=st.binary(max_size=300))
@example(sender=MEGGE.encode(), name=b"+2D0-", subject=b"Lease+2D0-x", charset="utf-7",
         transfer="8bit", encoded=True, body=b"See +2D0-x you")
@example(sender=MEGGE.encode(), name=b"", subject=b"Lease", charset="utf-7",
         transfer="8bit", encoded=False, body=b"See +3gA-x you")
def test_arbitrary_header_and_body_bytes_never_lose_a_message(
    engine: Engine, mail: MailFolders, sender: bytes, name: bytes, subject: bytes,
    charset: str, transfer: str, encoded: bool, body: bytes
) -> None:
    import base64

    if encoded:   # the bytes as encoded words in the declared charset
        subject = f"=?{charset}?B?{base64.b64encode(subject).decode()}?=".encode()
        name = f"=?{charset}?B?{base64.b64encode(name).decode()}?=".encode()
    if transfer == "base64":
        body = base64.b64encode(body)
    raw = (b"From: " + (name + b" " if name else b"") + b"<" + sender.split(b"<")[-1]
           + b"\r\nTo: " + ME.encode() + b"\r\nSubject: " + subject
           + f"\r\nMessage-ID: <n{next(_SEEN)}@bytes.example>\r\nMIME-Version: 1.0\r\n"
             f"Content-Type: text/plain; charset={charset}\r\n"
             f"Content-Transfer-Encoding: {transfer}\r\n\r\n".encode() + body)
    drop(mail.inbox, raw, NOW - timedelta(minutes=1))
    report = engine.sync()
    assert report.seen == 1
    assert not [s.reason for s in report.skipped if s.reason.startswith("failed")]
    # Whatever was stored reads back as text that can be written anywhere.
    for item in engine.status().waiting:
        for text in (item.inquiry.subject, item.inquiry.preview, item.client.name):
            text.encode("utf-8")


def test_a_clients_own_out_of_office_without_rfc3834_headers_is_not_a_waiting_client(
        engine: Engine, mail: MailFolders) -> None:
    # Exchange 2003 writes its out-of-office as a plain message from the client's address;
    # the postmaster of a client registered by domain is nobody's client either.
    drop(mail.inbox, message(MEGGE, "Out of Office AutoReply: Closing documents",
                             body="I am out of the office until Monday.",
                             headers={"Thread-Topic": "Closing documents"}),
         NOW - timedelta(minutes=2))
    drop(mail.inbox, message("Postmaster <postmaster@patel-eng.example>", "Undeliverable: Lease",
                             body="Delivery has failed to these recipients or groups:"),
         NOW - timedelta(minutes=1))
    report = engine.sync()
    assert report.new_inquiries == []
    assert [s.reason for s in report.skipped] == ["auto-generated: auto-reply",
                                                  "auto-generated: bounce report"]
    assert engine.status().count == 0


def test_a_clients_message_with_weaker_machine_signs_counts_and_is_kept_unsure(
        engine: Engine, mail: MailFolders) -> None:
    drop(mail.inbox, message(MEGGE, "Lease", headers={"X-Mailgun-Tag": "crm"}),
         NOW - timedelta(minutes=2))
    drop(mail.inbox, message(RAJ, "Site visit"), NOW - timedelta(minutes=1))
    engine.sync()
    unsure = {i.inquiry.subject: i.inquiry.unsure for i in engine.status().waiting}
    assert unsure == {"Lease": "mailing service (Mailgun)", "Site visit": ""}


def test_a_date_beyond_what_python_can_represent_does_not_stop_intake(
    engine: Engine, mail: MailFolders
) -> None:
    raw = (b"From: Margaret Hale <margaret@hale.example>\r\nSubject: Far future\r\n"
           b"Date: Fri, 31 Dec 9999 23:59:59 -1200\r\nMessage-ID: <ff@hale.example>\r\n\r\n"
           b"hi\r\n")
    drop(mail.inbox, raw, NOW - timedelta(minutes=1))
    drop(mail.inbox, message(RAJ, "Normal"), NOW)
    engine.sync()
    subjects = sorted(i.inquiry.subject for i in engine.status().waiting)
    assert subjects == ["Far future", "Normal"]


def test_a_copy_arriving_after_the_acknowledgement_is_not_a_new_inquiry(
    engine: Engine, mail: MailFolders
) -> None:
    raw = message(MEGGE, "Copy", message_id="<same@hale.example>")
    drop(mail.inbox, raw, NOW - timedelta(minutes=2))
    [inquiry_id] = engine.sync().new_inquiries
    engine.replies.acknowledge(inquiry_id)
    drop(mail.inbox, raw, NOW - timedelta(minutes=1))  # e.g. a second account got it too
    report = engine.sync()
    assert report.new_inquiries == []
    assert engine.status().count == 0


def test_acknowledging_one_client_does_not_acknowledge_another_in_the_same_thread(
    engine: Engine, mail: MailFolders
) -> None:
    drop(mail.inbox, message(MEGGE, "Site meeting", message_id="<m1@hale.example>",
                             to=f"{ME}, {RAJ}"), NOW - timedelta(minutes=5))
    drop(mail.inbox, message(RAJ, "Re: Site meeting", message_id="<r1@patel-eng.example>",
                             in_reply_to="<m1@hale.example>", references="<m1@hale.example>"),
         NOW - timedelta(minutes=4))
    megge, raj = engine.sync().new_inquiries
    engine.replies.acknowledge(megge)
    engine.sync()  # reads Heard's own copy in Sent
    assert engine.store.inquiry(raj).state is InquiryState.WAITING  # type: ignore[union-attr]
    assert [i.client.display_name for i in engine.status().waiting] == ["Rajesh"]


def test_an_acknowledgement_sent_late_does_not_cover_a_question_asked_after_it(
    engine: Engine, mail: MailFolders
) -> None:
    drop(mail.inbox, message(MEGGE, "Lease", message_id="<l1@hale.example>"),
         NOW - timedelta(minutes=10))
    [first] = engine.sync().new_inquiries
    outbox = mail.outbox.path
    outbox.rename(outbox.with_name("away"))
    outbox.write_text("not a folder")
    assert not engine.replies.acknowledge(first).sent
    # The client asks something new in the thread before the acknowledgement got out.
    engine.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]
    drop(mail.inbox, message(MEGGE, "Re: Lease", in_reply_to="<l1@hale.example>",
                             references="<l1@hale.example>", at=NOW + timedelta(minutes=3)),
         NOW + timedelta(minutes=3))
    [second] = engine.sync().new_inquiries
    outbox.unlink()
    outbox.with_name("away").rename(outbox)
    engine.retry_outbox()
    engine.sync()  # the acknowledgement, dated before the follow-up, now sits in Sent
    assert engine.store.inquiry(second).state is InquiryState.WAITING  # type: ignore[union-attr]


def test_a_follow_up_after_the_reply_leaves_the_client_waiting_when_read_in_one_sync(
    engine: Engine, mail: MailFolders
) -> None:
    t0 = NOW - timedelta(minutes=30)
    drop(mail.inbox, message(MEGGE, "Lease", at=t0, message_id="<l1@hale.example>"), t0)
    drop(mail.sent, message(ME, "Re: Lease", to=MEGGE, at=t0 + timedelta(minutes=20),
                            in_reply_to="<l1@hale.example>", references="<l1@hale.example>"),
         t0 + timedelta(minutes=20))
    drop(mail.inbox, message(MEGGE, "Re: Re: Lease", at=t0 + timedelta(minutes=25),
                             in_reply_to="<r@morgan-law.example>",
                             references="<l1@hale.example> <r@morgan-law.example>"),
         t0 + timedelta(minutes=25))
    report = engine.sync()
    assert len(report.answered) == 1
    assert len(report.new_inquiries) == 2
    [waiting] = engine.status().waiting
    assert waiting.inquiry.subject == "Re: Re: Lease"
    assert waiting.inquiry.received_at == t0 + timedelta(minutes=25)


def test_a_reply_written_before_the_clients_follow_up_does_not_answer_it(
    engine: Engine, mail: MailFolders
) -> None:
    t0 = NOW - timedelta(minutes=30)
    drop(mail.inbox, message(MEGGE, "Lease", at=t0, message_id="<l1@hale.example>"), t0)
    drop(mail.inbox, message(MEGGE, "Re: Lease", at=t0 + timedelta(minutes=25),
                             in_reply_to="<l1@hale.example>", references="<l1@hale.example>"),
         t0 + timedelta(minutes=25))
    engine.sync()  # the follow-up joined the waiting inquiry
    # The phone's reply from 10 minutes in reaches Sent only now.
    drop(mail.sent, message(ME, "Re: Lease", to=MEGGE, at=t0 + timedelta(minutes=10),
                            in_reply_to="<l1@hale.example>", references="<l1@hale.example>"),
         NOW)
    assert engine.sync().answered == []
    assert engine.status().count == 1


def test_forwarding_a_clients_mail_to_a_colleague_does_not_answer_it(
    engine: Engine, mail: MailFolders
) -> None:
    drop(mail.inbox, message(MEGGE, "Lease", message_id="<l1@hale.example>"),
         NOW - timedelta(minutes=5))
    engine.sync()
    drop(mail.sent, message(ME, "Fwd: Lease", to="Chris <chris@morgan-law.example>",
                            at=NOW, references="<l1@hale.example>"), NOW)
    assert engine.sync().answered == []
    assert engine.status().count == 1


def test_freshly_mirrored_old_mail_is_dated_by_its_date_header(
    engine: Engine, mail: MailFolders
) -> None:
    # mbsync and friends give every file the time of the fetch: today.
    old = datetime(2019, 3, 4, 9, 0, tzinfo=BERLIN)
    drop(mail.inbox, message(MEGGE, "From 2019", at=old), NOW - timedelta(minutes=1))
    recent = NOW - timedelta(minutes=7)
    drop(mail.inbox, message(MEGGE, "Today", at=recent), NOW - timedelta(minutes=1))
    engine.sync()
    [waiting] = engine.status().waiting
    assert waiting.inquiry.subject == "Today"
    assert waiting.inquiry.received_at == recent


def test_a_date_from_the_future_is_not_trusted(engine: Engine, mail: MailFolders) -> None:
    arrived = NOW - timedelta(minutes=3)
    drop(mail.inbox, message(MEGGE, "Clock wrong", at=NOW + timedelta(days=2)), arrived)
    engine.sync()
    assert engine.status().waiting[0].inquiry.received_at == arrived


def test_a_second_copy_of_the_same_message_counts_once(engine: Engine, mail: MailFolders,
) -> None:
    raw = message(MEGGE, "Copy", message_id="<same@hale.example>")
    drop(mail.inbox, raw, NOW - timedelta(minutes=2))
    engine.sync()
    drop(mail.inbox, raw, NOW - timedelta(minutes=1))
    report = engine.sync()
    assert report.new_inquiries == []
    assert len(engine.status().waiting) == 1


def test_a_header_that_decodes_to_a_line_break_is_skipped_and_intake_goes_on(
    engine: Engine, mail: MailFolders
) -> None:
    # "eve@client.example\r\nBcc: x@evil.example", base64 in an encoded word.
    poison = (b"From: =?utf-8?b?ZXZlQGNsaWVudC5leGFtcGxlDQpCY2M6IHhAZXZpbC5leGFtcGxl?=\r\n"
              b"Subject: enc\r\nMessage-ID: <a7@client.example>\r\n\r\nbody\r\n")
    drop(mail.inbox, poison, NOW)
    drop(mail.inbox, message(MEGGE, "Fine"), NOW)
    report = engine.sync()
    assert [s.reason.split(":")[0] for s in report.skipped] == ["malformed"]
    assert engine.status().count == 1
    assert engine.sync().seen == 0  # the bad file is remembered, not retried forever


def test_imap_mail_is_parsed_while_the_next_batch_is_fetched(
        imap_engine: Engine, mailuser: MailUser, monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of two: each is handed to the parsing thread as it comes; the verdicts are
    those of parsing in line (a bulk message's text is not fetched, a client's is)."""
    import heard.mail.imap.connection

    monkeypatch.setattr(heard.mail.imap.connection, "BATCH", 2)
    for n in range(5):
        mailuser.append(message(MEGGE, f"Question {n}", body=f"Could you call me? {n}"))
    mailuser.append(message("News <news@list.example>", "Weekly", headers={
        "List-Id": "<weekly.list.example>"}))
    threads: set[str] = set()
    real = heard.engine.intake._parse   # type: ignore[attr-defined]

    def spy(fetched: Any) -> Any:
        threads.add(threading.current_thread().name)
        return real(fetched)

    monkeypatch.setattr(heard.engine.intake, "_parse", spy)
    report = imap_engine.sync()
    assert threads == {"intake-parse"}
    assert report.seen == 6 and len(report.new_inquiries) == 5
    previews = sorted(i.inquiry.preview for i in imap_engine.status().waiting)
    assert previews == [f"Could you call me? {n}" for n in range(5)]


def test_a_failing_parser_ends_the_fetch_and_the_next_sync_takes_it_all_in(
        imap_engine: Engine, mailuser: MailUser, monkeypatch: pytest.MonkeyPatch) -> None:
    import heard.mail.imap.connection

    monkeypatch.setattr(heard.mail.imap.connection, "BATCH", 2)
    for n in range(6):
        mailuser.append(message(MEGGE, f"Question {n}"))

    def broken(_fetched: object) -> None:
        # What parse_message does not turn into a malformed message.
        raise MemoryError("the parser died")

    real = heard.engine.intake._parse   # type: ignore[attr-defined]
    monkeypatch.setattr(heard.engine.intake, "_parse", broken)
    outcome: list[BaseException | None] = []

    def sync() -> None:
        try:
            imap_engine.sync()
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    runner = threading.Thread(target=sync)
    runner.start()
    runner.join(60)
    assert not runner.is_alive(), "the fetch waited for a parser that had died"
    assert isinstance(outcome[0], RuntimeError) and "the parser died" in str(outcome[0])
    assert imap_engine.status().count == 0        # nothing applied, no position saved
    monkeypatch.setattr(heard.engine.intake, "_parse", real)
    report = imap_engine.sync()                   # on the same connection
    assert report.seen == 6 and len(imap_engine.status().waiting) == 6


def test_answered_flag_set_elsewhere_answers_the_inquiry(
        imap_engine: Engine, mailuser: MailUser) -> None:
    uid = mailuser.append(message(RAJ, "Drawings"))
    imap_engine.sync()
    assert imap_engine.status().count == 1
    mailuser.set_flags(uid, [b"\\Answered"])
    report = imap_engine.sync()
    assert len(report.answered) == 1
    assert imap_engine.status().count == 0
    (inquiry,) = imap_engine.store.inquiries_between(datetime(2000, 1, 1, tzinfo=UTC),
                                                      datetime(2100, 1, 1, tzinfo=UTC))
    assert inquiry.state is InquiryState.ANSWERED


def test_mail_already_answered_elsewhere_when_first_seen_is_not_waiting(
        imap_engine: Engine, mailuser: MailUser) -> None:
    mailuser.append(message(MEGGE, "Answered from my other account"), flags=[b"\\Answered"])
    mailuser.append(message(RAJ, "Still open"))
    report = imap_engine.sync()
    assert len(report.new_inquiries) == 1
    assert [i.inquiry.subject for i in imap_engine.status().waiting] == ["Still open"]


def test_a_sender_clock_far_in_the_past_does_not_hide_the_message(
        imap_engine: Engine, mailuser: MailUser) -> None:
    mailuser.append(message(RAJ, "Sent from a phone set to 1970",
                            at=datetime(1970, 1, 1, tzinfo=UTC)))
    report = imap_engine.sync()
    assert len(report.new_inquiries) == 1
    (item,) = imap_engine.status().waiting
    assert item.inquiry.received_at.year == datetime.now(UTC).year


def test_the_tables_cover_every_sample() -> None:
    assert {p.name for p in (SAMPLES / "voicemail").glob("*.eml")} == {*CALLERS, WITHHELD}
    assert {p.name for p in (SAMPLES / "contact_forms").glob("*.eml")} == {*SUBMITTERS,
                                                                          NO_EMAIL}


@pytest.mark.parametrize("sample", sorted(CALLERS))
def test_voicemail_from_a_clients_number_is_a_call_from_that_client(
        us_engine: Engine, mailuser: MailUser, sample: str) -> None:
    name, number, as_written = CALLERS[sample]
    client = us_engine.clients.add(Client("Harbor Freight Partners", emails=("ops@harbor.example",),
                                      phones=(as_written,), tier="vip"))
    assert client.phones == (number,)   # the card's number, read in the user's region

    (item,) = take_in(us_engine, mailuser, voicemail(sample))

    assert item.inquiry.channel is Channel.CALL
    assert item.client.id == client.id and not item.client.prospect
    assert item.inquiry.sender == number
    assert item.inquiry.subject == f"Voicemail from {name or number}"
    assert [c.id for c in us_engine.clients.all()] == [client.id]   # no prospect on the side
    # An acknowledgement goes to the client's address, never to the phone system.
    assert us_engine.replies.acknowledge(item.inquiry.id, dry_run=True).to == "ops@harbor.example"


@pytest.mark.parametrize("sample", sorted(CALLERS))
def test_voicemail_from_an_unknown_number_makes_a_prospect(
        us_engine: Engine, mailuser: MailUser, sample: str) -> None:
    name, number, _written = CALLERS[sample]
    us_engine.clients.add(Client("Someone Else", phones=("(212) 555-0100",)))

    (item,) = take_in(us_engine, mailuser, voicemail(sample))

    prospect = item.client
    assert item.inquiry.channel is Channel.CALL
    assert prospect.prospect is True and prospect.tier == "prospect"
    assert prospect.name == (name or number)
    assert prospect.phones == (number,) and prospect.emails == ()
    assert prospect.channel is Channel.CALL
    assert prospect.preferences.get("via") == f"voicemail ({LABELS[sample]})"
    assert item.inquiry.sender == number
    # A caller who is not a client has no address: there is no one to write to, and
    # certainly not the phone system; acknowledging becomes a promise to call back.
    reply = us_engine.replies.acknowledge(item.inquiry.id, dry_run=True)
    robot = email.utils.parseaddr(header(voicemail(sample).read_bytes(), "From"))[1]
    assert (reply.to, reply.message_id, reply.call_back) == ("", "", f"tel:{number}")
    assert robot not in repr(reply)


def test_voicemail_from_a_withheld_number_is_a_prospect_call_with_no_number(
        us_engine: Engine, mailuser: MailUser) -> None:
    (item,) = take_in(us_engine, mailuser, voicemail(WITHHELD))

    assert item.inquiry.channel is Channel.CALL
    assert item.client.prospect is True and item.client.tier == "prospect"
    assert item.client.phones == () and item.client.emails == ()
    assert item.inquiry.sender == ""
    assert item.inquiry.subject == "Voicemail from unknown caller"
    with pytest.raises(EngineError, match="left no number and no address"):
        us_engine.replies.acknowledge(item.inquiry.id, dry_run=True)


def test_the_same_unknown_caller_twice_is_one_prospect(
        us_engine: Engine, mailuser: MailUser) -> None:
    first = voicemail("asterisk.eml").read_bytes()
    again = first.replace(b"<Asterisk-3-1804289383", b"<Asterisk-4-1804289384")
    now = datetime.now(UTC).replace(microsecond=0)
    mailuser.append(deliverable(voicemail("asterisk.eml"), now), at=now)
    us_engine.sync()
    mailuser.append(again, at=now)
    us_engine.sync()
    status = us_engine.status()
    assert len(status.waiting) == 2 and status.count == 1
    (prospect,) = [c for c in us_engine.clients.all() if c.prospect]
    assert prospect.phones == ("+16175550142",)


@pytest.mark.parametrize("sample", sorted(SUBMITTERS))
def test_a_contact_form_makes_a_prospect_answered_at_the_submitters_address(
        us_engine: Engine, mailuser: MailUser, sample: str) -> None:
    name, address, _label = SUBMITTERS[sample]
    robot = email.utils.parseaddr(header(form(sample).read_bytes(), "From"))[1]
    assert robot != address

    (item,) = take_in(us_engine, mailuser, form(sample))

    prospect = item.client
    assert prospect.prospect is True and prospect.tier == "prospect"
    assert (prospect.name, prospect.emails) == (name, (address,))
    assert item.inquiry.channel is Channel.EMAIL
    assert item.inquiry.sender == address and item.inquiry.reply_address == address
    assert robot not in prospect.emails
    assert all(not c.emails or robot not in c.emails for c in us_engine.clients.all())
    reply = us_engine.replies.acknowledge(item.inquiry.id, dry_run=True)
    assert reply.to == address


# Form plugins often send from the user's own address (classify recognises relayed mail
# before it looks for own messages, and `heard explain` does find these forms). Over IMAP
# the intake fetches no text for mail from the user's own address (intake.needs_text), so
# the form is never recognised and the submitter is lost as "own message".
@pytest.mark.parametrize("sample", ["google-forms.eml", "gravity-forms.eml", "wpforms.eml"])
def test_a_form_sent_from_the_users_own_address_is_still_a_form(
        dana_engine: Engine, mailuser: MailUser, sample: str) -> None:
    name, address, _label = SUBMITTERS[sample]
    raw = form(sample).read_bytes()
    assert email.utils.parseaddr(header(raw, "From"))[1] == "dana@whitfield.example"
    (item,) = take_in(dana_engine, mailuser, form(sample))
    assert (item.client.name, item.client.emails) == (name, (address,))
    assert dana_engine.replies.acknowledge(item.inquiry.id, dry_run=True).to == address


def test_a_form_sent_from_the_users_own_address_is_recognised_by_explain(
        dana_engine: Engine) -> None:
    for sample in ("google-forms.eml", "gravity-forms.eml", "wpforms.eml"):
        found = dana_engine.intake.explain(form(sample).read_bytes())
        assert found.verdict is not None and found.verdict.is_inquiry, sample
        assert found.verdict.person is not None
        assert found.verdict.person.email == SUBMITTERS[sample][1]


def test_a_form_whose_message_names_another_address_still_replies_to_the_submitter(
        us_engine: Engine, mailuser: MailUser) -> None:
    (item,) = take_in(us_engine, mailuser, form("cf7-other-address-in-message.eml"))
    # The office manager's address is part of what Jonas wrote, not who wrote.
    assert "office@weber-bakery.example.com" in item.inquiry.preview
    assert item.inquiry.subject == "Contract review for our bakery"
    assert us_engine.replies.acknowledge(item.inquiry.id, dry_run=True).to == (
        "jonas.weber@example.org")
    assert [c.emails for c in us_engine.clients.all()] == [("jonas.weber@example.org",)]


def test_a_form_without_an_email_field_is_a_call_back_never_a_reply_to_the_robot(
        us_engine: Engine, mailuser: MailUser) -> None:
    (item,) = take_in(us_engine, mailuser, form(NO_EMAIL))

    name, number = NO_EMAIL_CALLER
    assert item.inquiry.channel is Channel.CALL
    assert item.client.prospect is True
    assert (item.client.name, item.client.phones, item.client.emails) == (name, (number,), ())
    assert item.inquiry.sender == number
    reply = us_engine.replies.acknowledge(item.inquiry.id, dry_run=True)
    assert "squarespace" not in repr(reply).lower()
    assert (reply.to, reply.call_back) == ("", f"tel:{number}")
    # Acknowledging for real: a promise to call back, and the caller is still waiting.
    us_engine.replies.acknowledge(item.inquiry.id)
    status = us_engine.status()
    (promise,) = status.promises
    assert promise.promise.text.startswith("call back by ")
    assert [w.inquiry.id for w in status.waiting] == [item.inquiry.id]
    with pytest.raises(EngineError, match="already promised"):
        us_engine.replies.acknowledge(item.inquiry.id)


def test_a_client_who_writes_through_the_website_form_is_that_client(
        us_engine: Engine, mailuser: MailUser) -> None:
    client = us_engine.clients.add(Client("Amelia Brooks", emails=("amelia.brooks@example.net",)))
    (item,) = take_in(us_engine, mailuser, form("cf7.eml"))
    assert item.client.id == client.id and not item.client.prospect
    reply = us_engine.replies.acknowledge(item.inquiry.id, dry_run=True)
    assert reply.to == "amelia.brooks@example.net"


def test_every_sample_in_one_mailbox_is_one_contact_each(
        us_engine: Engine, mailuser: MailUser) -> None:
    paths = sorted([*(SAMPLES / "voicemail").glob("*.eml"),
                    *(SAMPLES / "contact_forms").glob("*.eml")])
    items = take_in(us_engine, mailuser, *paths)
    assert len(items) == 19
    assert us_engine.status().count == 19
    assert sorted(i.inquiry.channel.value for i in items) == ["call"] * 12 + ["email"] * 7
    assert all(i.client.prospect for i in items)


@settings(max_examples=500, deadline=None)
@given(lines=st.lists(st.tuples(
           st.sampled_from(["List-Id", "list-unsubscribe", "LIST-ID ", "X-List-Id", "Precedence",
                            "precedence", " Precedence", "Subject", "List-Idx", "\tList-Id"]),
           st.sampled_from([": <l.example>", ":bulk", ": =?utf-8?q?bulk?=", ": Junk ", ": first",
                            ":", ": list\r\n folded"])),
           max_size=5),
       body=st.sampled_from([b"", b"List-Id: <in the body>\r\n"]))
def test_which_texts_to_fetch_is_decided_from_the_raw_headers_as_from_the_parsed(
        lines: list[tuple[str, str]], body: bytes) -> None:
    """A first sync decides from the raw header block (intake.head_needs_text) what
    needs_text decides from the parsed message."""
    from heard.engine.intake import head_needs_text, needs_text
    from heard.mail.parse import parse_message

    # An indented name folds into the line before it: a Subject, not the From, whose
    # address Debian 12's Python (3.11.2) then refuses to read.
    head = ("From: Margaret Hale <margaret@hale.example>\r\nSubject: Keys\r\n"
            + "".join(f"{n}{v}\r\n" for n, v in lines) + "\r\n").encode() + body
    assert head_needs_text(head) == needs_text(parse_message(head, with_preview=False))
