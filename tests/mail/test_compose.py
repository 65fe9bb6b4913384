from __future__ import annotations

from datetime import datetime
from email import message_from_bytes, policy
from zoneinfo import ZoneInfo

from heard.mail.compose import build_reply
from tests.conftest import NOW


def reply(**overrides: object) -> bytes:
    args: dict[str, object] = dict(
        sender_name="Alex Morgan", sender_addr="alex@morgan-law.example",
        to_name="Margaret Hale", to_addr="margaret@hale.example", subject="Lease",
        body="Hi Megge,\n\nI'm on it.\n", in_reply_to="<q2@hale.example>",
        references=("<q1@hale.example>",),
        date=datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Europe/Berlin")),
        message_id="<r1@morgan-law.example>")
    args.update(overrides)
    return bytes(build_reply(**args))  # type: ignore[arg-type]


def test_reply_threads_on_the_client_message() -> None:
    msg = message_from_bytes(reply(), policy=policy.default)
    assert msg["Subject"] == "Re: Lease"
    assert msg["In-Reply-To"] == "<q2@hale.example>"
    assert msg["References"] == "<q1@hale.example> <q2@hale.example>"
    assert msg["Date"] == "Wed, 25 Nov 2026 10:00:00 +0100"
    assert msg.get_content() == "Hi Megge,\n\nI'm on it.\n"


def test_an_existing_re_is_not_doubled() -> None:
    msg = message_from_bytes(reply(subject="RE: Lease"), policy=policy.default)
    assert msg["Subject"] == "RE: Lease"


def test_line_breaks_in_names_and_subjects_never_make_new_headers() -> None:
    raw = reply(to_name="Eve\r\nBcc: victim@example.com", subject="Hi\nX-Evil: 1")
    head = raw.split(b"\n\n", 1)[0]
    for line in head.splitlines():
        assert not line.startswith((b"Bcc:", b"X-Evil:"))
    msg = message_from_bytes(raw, policy=policy.default)
    assert msg["Bcc"] is None and msg["X-Evil"] is None


def test_the_promise_travels_in_a_header_the_other_devices_read_back() -> None:
    from heard.mail.parse import parse_message

    due = datetime(2026, 11, 25, 16, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    raw = reply(promise=due)
    assert b"X-Heard-Promise: 2026-11-25T15:30:00+00:00\n" in raw
    assert parse_message(raw).heard_promise == due
    assert parse_message(reply()).heard_promise is None
    for bad in (b"soon", b"2026-11-25T16:30", b""):   # unreadable or without a zone
        tampered = raw.replace(b"2026-11-25T15:30:00+00:00", bad)
        assert parse_message(tampered).heard_promise is None


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
