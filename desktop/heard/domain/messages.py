"""What Heard knows of one mail message, and what it makes of it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from heard.domain.clients import Channel, Client, ClientDirectory, normalize_email


@dataclass(frozen=True)
class MessageFacts:
    """The parsed headers (and a short plain-text preview) of one message.

    Built by the mail layer from raw bytes; the domain never sees raw mail.
    """

    message_id: str
    from_addr: str
    from_name: str
    to: tuple[str, ...]
    subject: str
    date: datetime | None
    in_reply_to: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    # Headers that mark mail as machine-made (lower-case name -> value).
    auto_headers: Mapping[str, str] | None = None
    preview: str = ""
    # Set on the acknowledgements Heard itself sends: the client message they answer.
    heard_acknowledges: str | None = None
    reply_to: str = ""        # where the sender asks replies to go, if not From
    # Every header once (lower-case name -> decoded value of its first occurrence), for
    # the pattern sets that read voicemail and contact-form notifications.
    headers: Mapping[str, str] | None = None
    # The readable text (plain part, or HTML reduced to text), lines kept, capped in length.
    body_text: str = ""

    @property
    def thread_ids(self) -> tuple[str, ...]:
        """Every Message-ID this message threads on, its own included."""
        seen: dict[str, None] = {}
        for mid in (*self.references, *self.in_reply_to, self.message_id):
            if mid:
                seen.setdefault(mid, None)
        return tuple(seen)


def auto_generated_reason(headers: Mapping[str, str]) -> str | None:
    """Why a message is machine-made (RFC 3834 and common practice), or None.

    Heard must never treat these as a client waiting, nor ever answer one.
    """
    auto = headers.get("auto-submitted", "").strip().lower()
    if auto and auto != "no":
        return "Auto-Submitted"
    if headers.get("precedence", "").strip().lower() in {"bulk", "list", "junk", "auto_reply"}:
        return "Precedence"
    for name in ("list-id", "list-unsubscribe", "list-post"):
        if name in headers:
            return name.title()
    if "x-auto-response-suppress" in headers:
        return "X-Auto-Response-Suppress"
    if headers.get("return-path", "").strip() == "<>":
        return "empty Return-Path (bounce)"
    if "x-autoreply" in headers or "x-autorespond" in headers:
        return "X-Autoreply"
    return None


class Verdict(StrEnum):
    INQUIRY = "inquiry"
    NOT_A_CLIENT = "not a client"
    AUTO_GENERATED = "auto-generated"
    OWN = "own message"


@dataclass(frozen=True)
class Classification:
    verdict: Verdict
    reason: str
    client: Client | None = None
    channel: Channel | None = None

    @property
    def is_inquiry(self) -> bool:
        return self.verdict is Verdict.INQUIRY


def classify(
    facts: MessageFacts, directory: ClientDirectory, own_addresses: frozenset[str]
) -> Classification:
    """Decide whether an incoming message is a client waiting for an answer, and why."""
    sender = normalize_email(facts.from_addr)
    if sender in own_addresses:
        return Classification(Verdict.OWN, "own message")
    auto = auto_generated_reason(facts.auto_headers or {})
    if auto:
        return Classification(Verdict.AUTO_GENERATED, f"auto-generated: {auto}")
    client = directory.match_email(sender)
    if client is None:
        return Classification(Verdict.NOT_A_CLIENT, "not a client")
    return Classification(Verdict.INQUIRY, "client message", client, Channel.EMAIL)
