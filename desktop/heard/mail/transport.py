"""Ways a reply leaves Heard. Every transport is idempotent on the Message-ID."""

from __future__ import annotations

import hashlib
from typing import Protocol

from heard.mail.maildir import Maildir


class SendError(RuntimeError):
    def __init__(self, transport: str, problem: str) -> None:
        super().__init__(f"{transport}: {problem}")
        self.transport = transport
        self.problem = problem


class Transport(Protocol):
    name: str

    def send(self, raw: bytes, message_id: str) -> None: ...


def message_key(message_id: str) -> str:
    """A Maildir file name derived from the Message-ID, so a retry finds the first copy."""
    return "heard-" + hashlib.sha256(message_id.encode()).hexdigest()[:32]


class MaildirTransport:
    """Local delivery: into an outbox Maildir (a stand-in for SMTP), filed in Sent too."""

    def __init__(self, name: str, outbox: Maildir, sent: Maildir | None) -> None:
        self.name = name
        self._outbox = outbox
        self._sent = sent

    def send(self, raw: bytes, message_id: str) -> None:
        key = message_key(message_id)
        try:
            self._outbox.deliver(raw, key)
            if self._sent is not None:
                self._sent.deliver(raw, key)
        except OSError as exc:
            raise SendError(self.name, f"cannot write to the outbox: {exc}") from exc
