"""What Heard knows of one mail message, and what it makes of it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime


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
    # ... and the answer it promised, so the user's other devices remind of it too.
    heard_promise: datetime | None = None
    reply_to: str = ""        # where the sender asks replies to go, if not From
    # Every header once (lower-case name -> decoded value of its first occurrence), for
    # the pattern sets that read voicemail and contact-form notifications.
    headers: Mapping[str, str] | None = None
    # The readable text (plain part, or HTML reduced to text), lines kept, capped in length.
    body_text: str = ""
    # Every Authentication-Results header (RFC 8601), topmost first: what the receiving
    # servers checked of the sender (heard.domain.authentication).
    auth_results: tuple[str, ...] = ()
    # Another address the From names, when it parses two ways (a comment or a second
    # angle address a mail program may show instead): such a From is nobody's client.
    from_also: str = ""

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


_SURROGATE = re.compile("[\ud800-\udfff]")


def valid_text(text: str) -> str:
    """`text` with every lone surrogate replaced by U+FFFD.

    A decoder can leave one in a str (UTF-7 allows half a pair, and undecodable bytes are
    kept as surrogates), and such a str cannot be written as UTF-8: to the store, a log
    file or the terminal. One bad character must never cost a client's message.
    """
    if text.isascii():
        return text
    return _SURROGATE.sub("\ufffd", text)
