"""The engine on a Maildir: what becomes an inquiry, what closes it, what is skipped."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import pytest

from heard.domain.clock import FixedClock
from heard.domain.inquiries import InquiryState
from heard.engine import Engine, EngineEvent
from tests.conftest import NOW
from tests.support.mail import MailFolders, drop, message

MEGGE = "Margaret Hale <margaret@hale.example>"
RAJ = "Rajesh Patel <raj@patel-eng.example>"


def test_client_mail_becomes_an_inquiry_and_other_mail_is_skipped_with_a_reason(
    engine: Engine, mail: MailFolders
) -> None:
    at = NOW - timedelta(minutes=5)
    drop(mail.inbox, message(MEGGE, "Closing documents"), at)
    drop(mail.inbox, message(RAJ, "Site visit"), at)
    drop(mail.inbox, message("News <news@weekly.example>", "Digest",
                             headers={"List-Unsubscribe": "<mailto:u@weekly.example>"}), at)
    drop(mail.inbox, message("Stranger <who@else.example>", "Hello"), at)
    drop(mail.inbox, message("Robot <robot@hale.example>", "Receipt",
                             headers={"Auto-Submitted": "auto-generated"}), at)
    drop(mail.inbox, message("Alex Morgan <alex@morgan-law.example>", "Note to self"), at)

    report = engine.sync()

    assert report.seen == 6
    assert len(report.new_inquiries) == 3
    reasons = sorted(s.reason for s in report.skipped)
    assert reasons == ["auto-generated: Auto-Submitted", "auto-generated: List-Unsubscribe",
                       "own message"]
    status = engine.status()
    assert status.count == 3  # the stranger is a possible prospect, and counts
    assert {i.client.display_name for i in status.waiting} == {"Megge", "Rajesh", "Stranger"}
    stranger = next(c for c in engine.clients() if c.name == "Stranger")
    assert stranger.prospect and stranger.tier == "prospect"
    assert stranger.emails == ("who@else.example",)
    megge = next(i for i in status.waiting if i.client.display_name == "Megge")
    assert megge.inquiry.received_at == at
    assert megge.inquiry.subject == "Closing documents"
    assert megge.inquiry.preview == "Could you have a look?"


def test_sync_is_incremental(engine: Engine, mail: MailFolders) -> None:
    drop(mail.inbox, message(MEGGE), NOW)
    assert engine.sync().seen == 1
    assert engine.sync().seen == 0
    assert engine.status().count == 1


def test_a_client_who_wrote_three_times_counts_once(engine: Engine, mail: MailFolders) -> None:
    first = message(MEGGE, "One", message_id="<one@hale.example>")
    drop(mail.inbox, first, NOW - timedelta(minutes=9))
    drop(mail.inbox, message(MEGGE, "Re: One", in_reply_to="<one@hale.example>",
                             references="<one@hale.example>"), NOW - timedelta(minutes=5))
    drop(mail.inbox, message(MEGGE, "Another matter"), NOW - timedelta(minutes=1))
    report = engine.sync()
    # The follow-up in the same thread joins the first inquiry; a new matter is a new one.
    assert len(report.new_inquiries) == 2
    status = engine.status()
    assert status.count == 1
    assert len(status.waiting) == 2


def test_a_reply_in_sent_threaded_on_the_message_closes_the_inquiry(
    engine: Engine, mail: MailFolders
) -> None:
    drop(mail.inbox, message(MEGGE, "Lease", message_id="<lease@hale.example>"),
         NOW - timedelta(minutes=20))
    drop(mail.inbox, message(MEGGE, "Other thing", message_id="<other@hale.example>"),
         NOW - timedelta(minutes=15))
    engine.sync()
    drop(mail.sent, message("Alex Morgan <alex@morgan-law.example>", "Re: Lease",
                            to=MEGGE, at=NOW - timedelta(minutes=2),
                            in_reply_to="<lease@hale.example>",
                            references="<lease@hale.example>"), NOW - timedelta(minutes=2))
    report = engine.sync()
    assert len(report.answered) == 1
    [still] = engine.status().waiting
    assert still.inquiry.subject == "Other thing"
    answered = engine.store.inquiry(report.answered[0])
    assert answered is not None
    assert answered.state is InquiryState.ANSWERED
    assert answered.closed_at == NOW - timedelta(minutes=2)


def test_an_unthreaded_mail_to_the_client_after_the_inquiry_answers_it(
    engine: Engine, mail: MailFolders
) -> None:
    drop(mail.inbox, message(RAJ, "Drawings"), NOW - timedelta(minutes=30))
    engine.sync()
    # Written before the client's message arrived: not an answer to it.
    drop(mail.sent, message("Alex <alex@morgan-law.example>", "Earlier", to=RAJ,
                            at=NOW - timedelta(minutes=40)), NOW - timedelta(minutes=40))
    assert engine.sync().answered == []
    drop(mail.sent, message("Alex <alex@morgan-law.example>", "Call me", to=RAJ,
                            at=NOW - timedelta(minutes=1)), NOW - timedelta(minutes=1))
    assert len(engine.sync().answered) == 1
    assert engine.status().count == 0


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"To: alex@morgan-law.example\r\nSubject: no sender\r\n\r\nbody\r\n",
         "malformed: no From header"),
        (b"From: nobody\r\nSubject: x\r\n\r\nbody\r\n",
         "malformed: From header has no usable address"),
    ],
)
def test_malformed_messages_are_skipped_with_a_log_line(
    engine: Engine, mail: MailFolders, caplog: pytest.LogCaptureFixture, raw: bytes,
    reason: str
) -> None:
    drop(mail.inbox, raw, NOW)
    drop(mail.inbox, message(MEGGE, "Still counted"), NOW)
    with caplog.at_level(logging.WARNING):
        report = engine.sync()
    assert [s.reason[: len(reason)] for s in report.skipped] == [reason]
    assert any("skipped" in r.getMessage() and reason.split(": ", 1)[1] in r.getMessage()
               for r in caplog.records)
    assert engine.status().count == 1


def test_broken_encodings_and_8bit_headers_do_not_stop_intake(
    engine: Engine, mail: MailFolders
) -> None:
    eight_bit = ("From: Margaret H\xe4le <margaret@hale.example>\r\n"
                 "Subject: K\xf6ln \xff\xfe contract\r\nMessage-ID: <8bit@hale.example>\r\n"
                 "\r\nGr\xfc\xdfe\r\n").encode("latin-1")
    bad_charset = (b"From: Rajesh <raj@patel-eng.example>\r\nSubject: =?x-unknown?q?Hi?=\r\n"
                   b"Content-Type: text/plain; charset=x-does-not-exist\r\n"
                   b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64!!!\r\n")
    garbage = b"\x00\x01\x02 this is not a mail message at all \xff\xfe"
    for raw in (eight_bit, bad_charset, garbage):
        drop(mail.inbox, raw, NOW)
    drop(mail.inbox, message("Sofia <sofia@lindqvist.example>", "Fine mail"), NOW)
    report = engine.sync()
    assert report.seen == 4
    status = engine.status()
    names = sorted(i.client.display_name for i in status.waiting)
    assert names == ["Megge", "Rajesh", "Sofia"]
    megge = next(i for i in status.waiting if i.client.display_name == "Megge")
    assert "\ufffd" in megge.inquiry.subject  # undecodable bytes shown, not crashing
    assert [s.reason.split(":")[0] for s in report.skipped] == ["malformed"]


def test_mail_older_than_the_intake_window_is_not_waiting(
    engine: Engine, mail: MailFolders
) -> None:
    drop(mail.inbox, message(MEGGE, "Ancient"), NOW - timedelta(days=45))
    engine.sync()
    assert engine.status().count == 0


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
    assert events[0].kind == "changed"
    assert len(events[0].new) == 1
    assert engine.status().count == 1
