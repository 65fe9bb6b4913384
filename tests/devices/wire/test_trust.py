"""Signed device messages and the sealed key of an invitation (heard.devices.wire.trust)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from heard.devices.wire import trust
from heard.devices.wire.trust import Verdict
from heard.mail.imap import Connection
from tests.support.devices import AT, KEY, connection
from tests.support.dovecot import MailUser


def _signed(body: str = '{"version": 1}') -> bytes:
    return trust.signed_message(KEY, "<r1.lap@heard.invalid>", "Heard request: ack",
                                "X-Heard-Request", "ack", body, AT)


def test_a_signed_message_checks_and_any_change_to_what_it_says_does_not() -> None:
    raw = _signed()
    assert trust.check(raw, "X-Heard-Request", KEY).verdict is Verdict.TRUSTED
    for old, new in ((b'"version": 1', b'"version": 2'),          # the body
                     (b"X-Heard-Request: ack", b"X-Heard-Request: dismiss"),   # the kind
                     (b"<r1.lap@", b"<r2.lap@")):                 # its identity
        assert trust.check(raw.replace(old, new), "X-Heard-Request", KEY).verdict \
            is Verdict.FORGED
    assert trust.check(raw, "X-Heard-Request", bytes(32)).verdict is Verdict.OTHER_KEY
    assert trust.check(raw, "X-Heard-Request", None).verdict is Verdict.NO_KEY
    relayed = b"Received: from mx.example.net\r\n" + raw
    assert trust.check(relayed, "X-Heard-Request", KEY).verdict is Verdict.DELIVERED
    unsigned = b"\r\n".join(line for line in raw.split(b"\r\n")
                            if not line.startswith(b"X-Heard-Signature"))
    assert trust.check(unsigned, "X-Heard-Request", KEY).verdict is Verdict.UNSIGNED


def test_signed_json_for_metadata() -> None:
    data = trust.sign_json(KEY, {"version": 3, "settings": {"a": 1}})
    assert trust.check_json(data, KEY) is Verdict.TRUSTED
    assert trust.check_json({**data, "version": 4}, KEY) is Verdict.FORGED
    assert trust.check_json({"version": 3}, KEY) is Verdict.UNSIGNED
    assert trust.check_json(data, bytes(32)) is Verdict.OTHER_KEY


def test_an_invitation_opens_with_its_code_only_and_only_in_time(
        owner: MailUser, conns: list[Connection]) -> None:
    conn = connection(owner, conns)
    now = datetime.now(UTC)
    code = trust.new_code()
    assert len(trust.normal_code(code)) == 16
    trust.write_invite(conn, "Heard", KEY, code, "desk", now)
    assert trust.open_invite(conn, "Heard", trust.new_code(), now) is None   # another code
    late = now + trust.INVITE_VALID + timedelta(seconds=1)
    assert trust.open_invite(conn, "Heard", code, late) is None
    opened = trust.open_invite(conn, "Heard", code.lower().replace("-", " "), now)
    assert opened is not None and opened.key == KEY and opened.by == "desk"
    # What came by mail never carries a key, even a well-formed invitation.
    raw = owner.client()
    try:
        raw.select_folder("Heard", readonly=True)
        (message,) = raw.fetch([opened.uid], ["BODY.PEEK[]"]).values()
    finally:
        raw.logout()
    trust.remove(conn, "Heard", [opened.uid])
    owner.deliver(message[b"BODY[]"], detail="Heard")
    assert trust.open_invite(conn, "Heard", code, now) is None
    with pytest.raises(ValueError):
        trust.normal_code("ABCD-EFGH")
