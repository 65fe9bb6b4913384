"""Delegation records in the Heard folder (heard.devices.wire.delegations): only what the
user's devices signed counts in their own folder; in the professional's folder shared
with the assistant's login, anything but mail delivery."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from heard.devices.wire import trust
from heard.devices.wire.delegations import (
    DELEGATION_HEADER,
    DelegationRecord,
    read_delegations,
    record_delegation,
)
from heard.devices.wire.trust import Verdict
from heard.mail.imap import Connection
from tests.support.devices import AT, KEY, connection
from tests.support.dovecot import MailUser


def _forged(message_id: str, note: str, headers: str = "") -> bytes:
    body = json.dumps({"version": 1, "message_id": message_id, "assistant": "Eve",
                       "address": "eve@evil.example", "made_at": AT.isoformat(),
                       "due": (AT + timedelta(hours=1)).isoformat(), "by": "desk",
                       "note": note})
    return (f"From: Heard <heard@heard.invalid>\r\nSubject: Heard delegation\r\n"
            f"Message-ID: <{note}@heard.invalid>\r\n{DELEGATION_HEADER}: 1\r\n{headers}"
            f"\r\n{body}\r\n").encode()


def test_a_forged_delegation_record_is_ignored_and_a_signed_one_is_read(
        owner: MailUser, conns: list[Connection]) -> None:
    desk = connection(owner, conns)
    now = datetime.now(UTC)
    record = DelegationRecord("<q1@hale.example>", "Sam Reed", "sam@reed.example", now,
                              now + timedelta(hours=3), "desk", "Call her")
    record_delegation(desk, record, KEY)
    owner.deliver(_forged("<q1@hale.example>", "delivered"), detail="Heard")
    owner.append(_forged("<q1@hale.example>", "appended"), folder="Heard")
    other = trust.signature(bytes(32), DELEGATION_HEADER, "1", "<other@heard.invalid>",
                            _forged("<q1@hale.example>", "other").split(b"\r\n\r\n")[1]
                            .rstrip())
    owner.append(_forged("<q1@hale.example>", "other",
                         f"X-Heard-Signature: {other}\r\n"), folder="Heard")

    found = read_delegations(desk, KEY)
    assert [(r.assistant, r.note) for r in found.records] == [("Sam Reed", "Call her")]
    assert [u.verdict for u in found.untrusted] == [
        Verdict.DELIVERED, Verdict.UNSIGNED, Verdict.OTHER_KEY]
    assert found.last == max(u.uid for u in found.untrusted)
    # Without the key nothing in the login's own folder counts.
    assert read_delegations(desk, None).records == []
    # The professional's folder as the assistant's login sees it: ACLs decide who may
    # APPEND there, so only what came by mail is refused.
    shared = read_delegations(desk, None, shared=True)
    assert [r.note for r in shared.records] == ["Call her", "appended", "other"]
    assert [u.verdict for u in shared.untrusted] == [Verdict.DELIVERED]
