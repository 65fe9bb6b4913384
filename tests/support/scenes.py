"""Sending for real: Postfix (STARTTLS, SASL by Dovecot) or the fault-injecting aiosmtpd
server deliver into the session's Dovecot, where the tests read both the client's inbox
and the user's Sent folder back over IMAP. Passwords live in the real Secret Service.

`postfix_scene` and `faulty_scene` are fixtures for every test folder (tests/conftest.py
imports them); `heard` runs `python -m heard` on a scene's profile, killed at a step when
`crash_at` names one."""

from __future__ import annotations

import email.utils
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from heard.domain.clients import Client
from heard.domain.clock import FixedClock
from heard.domain.ids import InquiryId
from heard.engine import Engine
from heard.engine.context import CRASH_ENV
from tests.support.dovecot import Dovecot, MailUser
from tests.support.imap import sending_profile

if TYPE_CHECKING:
    from tests.support.smtp import FaultySmtp, Received


def accepted_by(server: FaultySmtp) -> list[Received]:
    """What the fault-injecting server accepted, in order."""
    return list(server.received)


ACK = "X-Heard-Acknowledges"


def heard(scene: Scene, *args: str, crash_at: str | None = None
          ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop(CRASH_ENV, None)
    if crash_at:
        env[CRASH_ENV] = crash_at
    return subprocess.run([sys.executable, "-m", "heard", "--profile",
                           str(scene.engine.profile.root), *args],
                          capture_output=True, text=True, env=env, timeout=120, check=False)


class Scene:
    """The user (`me`), a client with their own mailbox, and an engine on a fixed clock."""

    def __init__(self, engine: Engine, me: MailUser, client: MailUser,
                 clock: FixedClock) -> None:
        self.engine = engine
        self.me = me
        self.client = client
        self.clock = clock

    def client_writes(self, subject: str = "Closing documents") -> tuple[InquiryId, str]:
        """`subject` goes into the header as written (it may hold RFC 2047 words)."""
        msg = EmailMessage()
        msg["From"] = f"Margaret Hale <{self.client.address}>"
        msg["To"] = f"Alex Morgan <{self.me.address}>"
        msg["Subject"] = "SUBJECT"
        msg["Date"] = email.utils.format_datetime(self.clock.now())
        msg_id = email.utils.make_msgid(domain="hale.example")
        msg["Message-ID"] = msg_id
        msg["In-Reply-To"] = "<q1@hale.example>"
        msg["References"] = "<q1@hale.example>"
        msg.set_content("Can we sign on Friday?")
        self.me.deliver(bytes(msg).replace(b"Subject: SUBJECT", b"Subject: " + subject.encode()))
        (inquiry_id,) = self.engine.sync().new_inquiries
        return inquiry_id, msg_id


def copies(user: MailUser, folder: str, header: str, value: str) -> list[EmailMessage]:
    """The messages in a user's folder whose header has this value (read over IMAP)."""
    client = user.client()
    try:
        client.select_folder(folder, readonly=True)
        uids = client.search(["HEADER", header, value])
        fetched = client.fetch(uids, ["BODY.PEEK[]"]) if uids else {}
        return [message_from_bytes(data[b"BODY[]"], policy=policy.default)  # type: ignore[misc]
                for data in fetched.values()]
    finally:
        client.logout()


def scene_for(tmp_path: Path, dovecot: Dovecot, port: int, ca_file: Path,
              security: str = "starttls") -> Iterator[Scene]:
    me, them = dovecot.add_user(), dovecot.add_user()
    clock = FixedClock(datetime.now(UTC).replace(microsecond=0))  # IMAP dates are real
    engine = Engine.open(sending_profile(tmp_path / "profile", me, port, ca_file, security),
                         clock)
    engine.clients.add(Client("Margaret Hale", emails=(them.address,), preferred_name="Megge",
                             tier="vip"))
    try:
        yield Scene(engine, me, them, clock)
    finally:
        engine.close()


@pytest.fixture
def postfix_scene(tmp_path: Path, dovecot: Dovecot, postfix: object,
                  real_keyring: object) -> Iterator[Scene]:
    from tests.support.smtp import Postfix

    assert isinstance(postfix, Postfix)
    yield from scene_for(tmp_path, dovecot, postfix.starttls_port, postfix.cert)


@pytest.fixture
def faulty_scene(tmp_path: Path, dovecot: Dovecot, faulty_smtp: object,
                 real_keyring: object) -> Iterator[Scene]:
    from tests.support.smtp import FaultySmtp

    assert isinstance(faulty_smtp, FaultySmtp)
    yield from scene_for(tmp_path, dovecot, faulty_smtp.port, faulty_smtp.cert)
