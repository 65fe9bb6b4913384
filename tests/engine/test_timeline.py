"""Intake in the order things happened, whatever order the files are read in, and
whatever hostile input the folders hold."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from heard.domain.inquiries import InquiryState
from heard.engine import Engine
from heard.mail.parse import MalformedMessage, parse_message
from tests.conftest import BERLIN, NOW
from tests.support.mail import ME, MEGGE, MailFolders, drop, message


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


def test_reply_to_is_where_the_acknowledgement_goes(engine: Engine, mail: MailFolders) -> None:
    drop(mail.inbox, message(MEGGE, "Via my assistant",
                             headers={"Reply-To": "Pat <pat@hale.example>"}), NOW)
    [inquiry_id] = engine.sync().new_inquiries
    assert engine.replies.acknowledge(inquiry_id, dry_run=True).to == "pat@hale.example"


HEADER_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)),
                      max_size=60)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(["From", "To", "Cc", "Subject", "Date", "Message-ID",
                             "References", "In-Reply-To", "Reply-To", "Content-Type"]),
       value=HEADER_TEXT, encode=st.booleans())
def test_no_header_value_makes_the_parser_raise_anything_but_malformed(
    name: str, value: str, encode: bool
) -> None:
    import base64

    text = (f"=?utf-8?b?{base64.b64encode(value.encode()).decode()}?=" if encode
            else value.replace("\r", " ").replace("\n", " "))
    raw = (f"From: a@b.example\r\n{name}: {text}\r\nSubject: s\r\n\r\nbody\r\n"
           ).encode("utf-8", "surrogateescape")
    try:
        facts = parse_message(raw)
    except MalformedMessage:
        return
    for header_value in (facts.subject, facts.from_addr, facts.reply_to, *facts.to):
        assert "\r" not in header_value and "\n" not in header_value


def test_an_inquiry_marked_answered_or_dismissed_leaves_the_count(
    engine: Engine, mail: MailFolders
) -> None:
    drop(mail.inbox, message(MEGGE, "Call me"), NOW)
    drop(mail.inbox, message("Rajesh <raj@patel-eng.example>", "Thanks!"), NOW)
    first, second = engine.sync().new_inquiries
    assert engine.inquiries.mark_answered(first).state is InquiryState.ANSWERED
    assert engine.inquiries.dismiss(second).state is InquiryState.DISMISSED
    assert engine.status().count == 0
