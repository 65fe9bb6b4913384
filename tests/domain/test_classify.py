"""What an incoming message is (heard.domain.classify): machine mail, a client, a prospect,
the user's own; and why, in one phrase."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from heard.domain.classify import Rules, Verdict, classify
from heard.domain.clients import Client, ClientDirectory
from heard.domain.ids import ClientId
from heard.domain.messages import MessageFacts

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
