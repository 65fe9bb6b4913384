"""Helpers for the tests of Heard on several devices of one mailbox: IMAP connections a
test closes at the end (the `conns` fixture), client mail put into a user's INBOX, and
rights withheld."""

from __future__ import annotations

import email.utils
import os
from datetime import UTC, datetime

from heard.mail.imap import Connection
from tests.support.dovecot import MailUser
from tests.support.instances import open_conn


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
