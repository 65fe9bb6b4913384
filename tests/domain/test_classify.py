"""What an incoming message is (heard.domain.classify): machine mail, a client, a prospect,
the user's own; and why, in one phrase."""

import csv
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from heard.domain.classify import Rules, Verdict, classify
from heard.domain.clients import Client, ClientDirectory
from heard.domain.ids import ClientId
from heard.domain.messages import MessageFacts
from heard.mail.parse import MalformedMessage, parse_message

DIRECTORY = ClientDirectory([Client("Jane Roe", emails=("jane@roe.example",), id=ClientId(1))])
OWN = frozenset({"alex@morgan-law.example"})


def facts(sender: str, **headers: str) -> MessageFacts:
    return MessageFacts(message_id="<1@x>", from_addr=sender, from_name="", to=(),
                        subject="s", date=datetime(2026, 1, 1, tzinfo=ZoneInfo("UTC")),
                        auto_headers={k.lower().replace("_", "-"): v for k, v in headers.items()})


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"auto_submitted": "auto-replied"}, "Auto-Submitted"),
        ({"precedence": "bulk"}, "Precedence"),
        ({"list_id": "<x.y>"}, "List-Id"),
        ({"list_unsubscribe": "<mailto:u@x>"}, "List-Unsubscribe"),
        ({"x_auto_response_suppress": "All"}, "X-Auto-Response-Suppress"),
        ({"return_path": "<>"}, "empty Return-Path (bounce)"),
    ],
)
def test_machine_made_mail_is_never_an_inquiry(headers: dict[str, str], reason: str) -> None:
    verdict = classify(facts("jane@roe.example", **headers), DIRECTORY, OWN)
    assert verdict.verdict is Verdict.AUTO_GENERATED
    assert verdict.reason == f"auto-generated: {reason}"
    assert not verdict.is_inquiry


def test_client_mail_is_an_inquiry_and_others_say_why_not() -> None:
    client = classify(facts("Jane@Roe.example"), DIRECTORY, OWN)
    assert client.is_inquiry and client.client is not None and client.client.name == "Jane Roe"
    assert client.reason == "client message"
    assert classify(facts("stranger@x.example"), DIRECTORY,
                    Rules(own=OWN, prospects=None)).reason == "not a client"
    stranger = classify(facts("stranger@x.example"), DIRECTORY, OWN)
    assert stranger.reason == "possible prospect: new human sender"
    assert stranger.is_inquiry and stranger.prospect and stranger.client is None
    assert stranger.person is not None and stranger.person.email == "stranger@x.example"
    assert classify(facts("alex@morgan-law.example"), DIRECTORY, OWN).verdict is Verdict.OWN


def test_a_no_reply_sender_at_a_clients_domain_is_machine_mail() -> None:
    firm = ClientDirectory([Client("Roe & Co", domains=("roe.example",), id=ClientId(2))])
    assert classify(facts("pat@roe.example"), firm, OWN).is_inquiry
    robot = classify(facts("no-reply@roe.example"), firm, OWN)
    assert robot.verdict is Verdict.AUTO_GENERATED
    assert robot.reason == "auto-generated: no-reply sender"


# --- robots are never a client -------------------------------------------------------------

def mail(headers: str, body: str = "Hello,\n\nCould we talk about the lease?\n\nJane\n"
         ) -> MessageFacts:
    """A message as the mail layer reads it, from its header lines and text."""
    head = headers.strip("\n")
    for name, value in (("Date", "Tue, 3 Mar 2026 09:14:00 +0100"),
                        ("Message-ID", "<m@roe.example>"), ("To", "alex@morgan-law.example")):
        if f"\n{name}:" not in f"\n{head}":
            head += f"\n{name}: {value}"
    return parse_message(f"{head}\n\n{body}".replace("\n", "\r\n").encode())


ARF = """From: Jane Roe <jane@roe.example>
Subject: FW: Earn money
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="arf"
"""
ARF_BODY = """--arf
Content-Type: text/plain; charset="US-ASCII"

This is an email abuse report for an email message received from IP 192.0.2.1.

--arf
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: SomeGenerator/1.0
Version: 1

--arf--
"""
DSN = """From: Jane Roe <jane@roe.example>
Subject: Delivery Status Notification (Failure)
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="dsn"
"""
DSN_BODY = """--dsn
Content-Type: text/plain

Delivery to the following recipient failed permanently: pat@else.example

--dsn
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.roe.example
Final-Recipient: rfc822; pat@else.example
Action: failed
Status: 5.1.1

--dsn--
"""

# Robots that write from the client's very own address, none with an RFC 3834 header: each
# of these was a client's inquiry before (and the autopilot would have answered it).
ROBOTS_FROM_A_CLIENT = {
    "abuse report (ARF)": (ARF, ARF_BODY),
    "delivery report without Auto-Submitted": (DSN, DSN_BODY),
    "Exchange 2003 out-of-office, Latvian": (
        "From: <jane@roe.example>\nSubject: Arpus biroja atrasanas automatiska atbilde: Lease\n"
        "Thread-Topic: Lease\nX-MS-Has-Attach: ", "Esmu atvalinajuma lidz 9. martam.\n"),
    "Outlook out-of-office": ("From: Jane Roe <jane@roe.example>\n"
                              "Subject: Out of Office AutoReply: Lease", "I am away.\n"),
    "moderation notice answered to the list's -bounces address": (
        "From: jane@roe.example\nTo: gpc-talk-bounces@lists.example\n"
        "Subject: RE: Your message to GPC-talk awaits moderator approval",
        "Your message could not be delivered to userx@example.com\n"),
    "read receipt": ("From: Jane Roe <jane@roe.example>\nSubject: Read: Lease\n"
                     "Content-Type: multipart/report; report-type=disposition-notification;"
                     " boundary=\"r\"", "--r\n\nYour message was read.\n--r--\n"),
    "auto-responder text": ("From: jane@roe.example\nSubject: Re: Lease",
                            "This is an automated response to a message you have sent to"
                            " jane@roe.example.\n\nI will be out of the office until Monday.\n"),
    "X-Autoreply-From header": ("From: jane@roe.example\nSubject: Re: Lease\n"
                                "X-Autoreply-From: jane@roe.example", "Away.\n"),
}


@pytest.mark.parametrize("kind", sorted(ROBOTS_FROM_A_CLIENT))
def test_a_clients_own_address_sending_a_robots_mail_does_not_count(kind: str) -> None:
    headers, body = ROBOTS_FROM_A_CLIENT[kind]
    verdict = classify(mail(headers, body), DIRECTORY, OWN)
    assert verdict.verdict is Verdict.AUTO_GENERATED, verdict.reason
    assert verdict.reason.startswith("auto-generated: ") and not verdict.is_inquiry


FIRM = ClientDirectory([Client("Roe & Co", domains=("roe.example",), id=ClientId(2))])


@pytest.mark.parametrize(("headers", "body"), [
    ("From: Mail Delivery System <MAILER-DAEMON@mx.roe.example>\n"
     "Subject: Undelivered Mail Returned to Sender", "This is the mail system at host mx.\n"),
    ("From: postmaster@roe.example\nSubject: Undeliverable: Lease", "Delivery failed.\n"),
    ("From: Roe & Co <noreply@roe.example>\nSubject: Your invoice", "Attached.\n"),
    ("From: Roe Support <help@roe.example>\nSubject: [roe.example #1234] Lease\n"
     "RT-Ticket: roe.example #1234\nX-RT-Loop-Prevention: roe.example",
     "Greetings,\n\nThis message has been automatically generated in response to the"
     " creation of a trouble ticket.\n"),
    ("From: Roe Support <support@roe.example>\nSubject: Request received: Lease\n"
     "X-Zendesk-From-Account-Id: 12ab", "Your request (1234) has been received.\n"),
    ("From: Roe & Co News <news@roe.example>\nSubject: Spring newsletter",
     "Our news.\n\nUnsubscribe: https://roe.example/u\n"),
], ids=["mailer-daemon", "postmaster", "noreply", "RT ticket", "Zendesk", "newsletter"])
def test_a_domain_match_never_makes_a_robot_a_client(headers: str, body: str) -> None:
    verdict = classify(mail(headers, body), FIRM, OWN)
    assert verdict.verdict is Verdict.AUTO_GENERATED, verdict.reason
    assert verdict.client is None


def test_a_person_at_a_clients_domain_is_the_client_for_sure() -> None:
    verdict = classify(mail("From: Pat Roe <pat@roe.example>\nSubject: Lease"), FIRM, OWN)
    assert verdict.is_inquiry and verdict.client is not None and verdict.sure


def test_a_clients_own_mail_with_machine_signs_short_of_certain_counts_unsure() -> None:
    # Sent through a mailing service by the client themselves: a person may well have
    # written it, so it counts, and nothing answers it automatically.
    verdict = classify(mail("From: Jane Roe <jane@roe.example>\nSubject: Lease\n"
                            "X-Mailgun-Tag: tag"), DIRECTORY, OWN)
    assert verdict.is_inquiry and verdict.client is not None
    assert not verdict.sure and verdict.unsure == "mailing service (Mailgun)"
    assert verdict.reason == "client message (unsure: mailing service (Mailgun))"
    plain = classify(mail("From: Jane Roe <jane@roe.example>\nSubject: Lease"), DIRECTORY, OWN)
    assert plain.sure and plain.unsure == "" and plain.reason == "client message"


def test_a_strangers_robot_is_machine_mail_in_the_prospect_rules_words() -> None:
    dsn = mail(DSN.replace("jane@roe.example", "pat@else.example"), DSN_BODY)
    verdict = classify(dsn, DIRECTORY, OWN)
    assert verdict.verdict is Verdict.AUTO_GENERATED
    assert verdict.reason == "not a prospect: bounce report"
    assert classify(dsn, DIRECTORY, Rules(own=OWN, prospects=None)).reason == "not a client"


ROBOT_KINDS = ("bounce", "auto-reply", "abuse report")


def test_on_the_public_corpus_robots_from_clients_do_not_count_and_people_always_do() -> None:
    """benchmarks/corpus (SOURCES.md): every sender a client, by address. The goal of issue
    18 is 98% of robot mail not counted; benchmarks/robot_corpus.py prints the figures."""
    corpus = Path(__file__).resolve().parents[2] / "benchmarks" / "corpus"
    with (corpus / "labels.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    parsed: list[tuple[dict[str, str], MessageFacts]] = []
    for row in rows:
        try:
            parsed.append((row, parse_message((corpus / row["file"]).read_bytes())))
        except MalformedMessage:
            continue   # no usable From: nobody's mail, a client's least of all
    clients = ClientDirectory(Client(f"C{i}", emails=(facts.from_addr,), id=ClientId(i))
                              for i, (_row, facts) in enumerate(parsed, 1))
    robots = [facts for row, facts in parsed
              if row["label"] == "machine" and row["kind"].startswith(ROBOT_KINDS)]
    people = [(row["file"], facts) for row, facts in parsed if row["label"] != "machine"]
    counted = [f.from_addr for f in robots if classify(f, clients, OWN).is_inquiry]
    assert len(robots) >= 150 and len(counted) <= 0.02 * len(robots), counted
    lost = [name for name, f in people if not classify(f, clients, OWN).is_inquiry]
    assert len(people) >= 50 and lost == []
