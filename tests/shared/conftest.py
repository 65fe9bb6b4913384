"""Shared state between Heard instances, against real Dovecots on loopback.

`shared_dovecot` (this folder's session): METADATA, ACLs and a shared namespace
(tests/support/dovecot.SHARED_STATE); `plain_dovecot`: one that does not advertise
CONDSTORE or QRESYNC (NO_CONDSTORE). Each test takes its own users from them.
"""

from __future__ import annotations

import email.utils
import os
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from heard.mail.imap import Connection
from heard.mail.imap.commands import imap_client as raw_imap
from tests.shared.instances import open_conn
from tests.support.dovecot import NO_CONDSTORE, SHARED_STATE, Dovecot, MailUser

# Test mail needs no fsync; without it the race runs about twice as fast on a busy box.
FAST = "mail_fsync = never\n"


@pytest.fixture(scope="session")
def shared_dovecot() -> Iterator[Dovecot]:
    server = Dovecot(extra_conf=SHARED_STATE + FAST).start()
    yield server
    server.close()


@pytest.fixture(scope="session")
def plain_dovecot() -> Iterator[Dovecot]:
    server = Dovecot(extra_conf=NO_CONDSTORE + FAST).start()
    yield server
    server.close()


@pytest.fixture
def owner(shared_dovecot: Dovecot) -> MailUser:
    return shared_dovecot.add_user()


@pytest.fixture
def conns() -> Iterator[list[Connection]]:
    """Connections a test opens (append to the list); all closed at the end."""
    opened: list[Connection] = []
    yield opened
    for conn in opened:
        if getattr(raw_imap(conn), "_idle_tag", None) is not None:
            conn.abort()   # a test that failed in IDLE: logging out would wait 30 s
        conn.close()


def connection(user: MailUser, conns: list[Connection]) -> Connection:
    conn = open_conn(user.server.imap_port, user.name, user.password)
    conns.append(conn)
    return conn


def client_message(n: int, sender: str = "margaret@hale.example") -> bytes:
    return (f"From: Margaret Hale <{sender}>\r\nTo: alex@morgan-law.example\r\n"
            f"Subject: Closing documents {n}\r\nMessage-ID: <q{n}@hale.example>\r\n"
            f"Date: Wed, 25 Nov 2026 10:00:00 +0100\r\n\r\nCould you call me? ({n})\r\n"
            ).encode()


def client_writes(user: MailUser, message_id: str = "", refs: str = "",
                  sender: str = "margaret@hale.example", subject: str = "Lease") -> str:
    """A client's message (now, threaded on `refs` if given) put into `user`'s INBOX;
    returns its Message-ID."""
    message_id = message_id or email.utils.make_msgid(domain="hale.example")
    user.append((f"From: Margaret Hale <{sender}>\r\nTo: {user.address}\r\n"
                 f"Subject: {subject}\r\nMessage-ID: {message_id}\r\n"
                 + (f"In-Reply-To: {refs}\r\nReferences: {refs}\r\n" if refs else "")
                 + f"Date: {email.utils.format_datetime(datetime.now(UTC))}\r\n\r\nHi\r\n"
                 ).encode())
    return message_id


def restrict(user: MailUser, rights: str) -> None:
    """Give the owner of INBOX only `rights` (a Dovecot ACL file in the mailbox's folder),
    as a provider or an admin who withholds keywords (no `w`) or all writes would."""
    user.client().logout()   # Dovecot makes the Maildir, owned by the mail user
    path = user.maildir / "dovecot-acl"
    path.write_text(f"owner {rights}\n")
    os.chown(path, user.server.uid, user.server.gid)
