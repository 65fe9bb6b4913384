"""Ways a reply leaves Heard. Every transport is idempotent on the Message-ID."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from enum import StrEnum
from typing import Protocol

from heard.mail.maildir import Maildir


class Failure(StrEnum):
    TEMPORARY = "temporary"  # try again later: the server or the network is not there now
    PERMANENT = "permanent"  # the server refused it: sending again would fail the same way
    UNSURE = "unsure"        # the link broke while the message was on the wire


class SendError(RuntimeError):
    def __init__(self, transport: str, problem: str,
                 failure: Failure = Failure.TEMPORARY) -> None:
        super().__init__(f"{transport}: {problem}")
        self.transport = transport
        self.problem = problem
        self.failure = failure


class Transport(Protocol):
    name: str
    # True when sending the same Message-ID twice still delivers one copy.
    idempotent: bool

    def send(self, raw: bytes, message_id: str,
             on_the_wire: Callable[[], None] | None = None) -> None:
        """Deliver, calling `on_the_wire` just before the point after which the message may
        have reached the server (so a crash past it is never blindly repeated)."""
        ...


def crlf(raw: bytes) -> bytes:
    """Line ends as the wire (SMTP DATA, IMAP APPEND) wants them."""
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def message_key(message_id: str) -> str:
    """A Maildir file name derived from the Message-ID, so a retry finds the first copy."""
    return "heard-" + hashlib.sha256(message_id.encode()).hexdigest()[:32]


class MaildirTransport:
    """Local delivery into an outbox Maildir (for local mail setups and the demo): once the
    file is there, the client has it. Filing the copy in Sent is the outbox's next step, as
    for SMTP, so a Sent folder that cannot be written never makes a delivered reply look
    unsent. Delivering twice under one Message-ID leaves one file."""

    idempotent = True

    def __init__(self, name: str, outbox: Maildir) -> None:
        self.name = name
        self._outbox = outbox

    def send(self, raw: bytes, message_id: str,
             on_the_wire: Callable[[], None] | None = None) -> None:
        if on_the_wire is not None:
            on_the_wire()
        try:
            self._outbox.deliver(raw, message_key(message_id))
        except OSError as exc:
            raise SendError(self.name, f"cannot write to the outbox: {exc}") from exc
