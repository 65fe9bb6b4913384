"""Building test messages and dropping them into Maildirs with a chosen arrival time."""

from __future__ import annotations

import email.utils
import os
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from heard.mail.maildir import Maildir, MaildirEntry

# Who writes, as a From or To header: the user, three people tests/conftest.py's profile
# knows as clients (Sofia by her address), a new person, and the user's assistant.
ME = "Alex Morgan <alex@morgan-law.example>"
MEGGE = "Margaret Hale <margaret@hale.example>"
RAJ = "Rajesh Patel <raj@patel-eng.example>"
SOFIA = "Sofia Lindqvist <sofia@lindqvist.example>"
JANE = "Jane Roe <jane@roe-bakery.example>"
SAM = "sam@morgan-law.example"


# The name the test mail server signs its Authentication-Results with (RFC 8601).
AUTHSERV = "mx.heard.test"


def message(
    sender: str,
    subject: str = "Question",
    *,
    to: str = "Alex Morgan <alex@morgan-law.example>",
    at: datetime | None = None,
    body: str = "Could you have a look?",
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: str | None = None,
    headers: dict[str, str] | None = None,
    authenticated: bool = True,
) -> bytes:
    """A message as the user's server delivers it: `authenticated`, with the server's
    Authentication-Results saying DKIM and DMARC passed for the From domain."""
    msg = EmailMessage()
    if authenticated:
        domain = email.utils.parseaddr(sender)[1].rpartition("@")[2]
        msg["Authentication-Results"] = (f"{AUTHSERV}; dkim=pass header.d={domain};"
                                         f" dmarc=pass header.from={domain}")
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    if at is not None:
        msg["Date"] = email.utils.format_datetime(at)
    msg["Message-ID"] = message_id or email.utils.make_msgid(domain="test.example")
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = references
    for key, value in (headers or {}).items():
        msg[key] = value
    msg.set_content(body)
    return bytes(msg)


def drop(maildir: Maildir, raw: bytes, at: datetime) -> MaildirEntry:
    """Deliver `raw` as if it arrived at `at` (a Maildir's arrival time is the file's mtime)."""
    entry = maildir.deliver(raw)
    os.utime(entry.path, (at.timestamp(), at.timestamp()))
    return entry


@dataclass(frozen=True)
class MailFolders:
    inbox: Maildir
    sent: Maildir
    outbox: Maildir

    @classmethod
    def create(cls, root: Path) -> MailFolders:
        folders = cls(Maildir(root / "INBOX"), Maildir(root / "Sent"), Maildir(root / "Outbox"))
        for folder in (folders.inbox, folders.sent, folders.outbox):
            folder.create()
        return folders

    def outbox_messages(self) -> list[bytes]:
        return [entry.path.read_bytes() for entry in self.outbox.entries()]


def sent_messages(mail: MailFolders) -> list[EmailMessage]:
    """What Heard put into the outbox Maildir, parsed."""
    return [message_from_bytes(raw, policy=policy.default)  # type: ignore[misc]
            for raw in mail.outbox_messages()]
