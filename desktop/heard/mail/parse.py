"""Raw message bytes -> MessageFacts. Malformed mail becomes a typed error, never a crash."""

from __future__ import annotations

import email.utils
import re
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from heard.domain.messages import MessageFacts

# Headers kept for the auto-generated verdict (see domain.messages.auto_generated_reason).
AUTO_HEADERS = (
    "auto-submitted", "precedence", "list-id", "list-unsubscribe", "list-post",
    "x-auto-response-suppress", "return-path", "x-autoreply", "x-autorespond",
)
HEARD_ACK_HEADER = "X-Heard-Acknowledges"
PREVIEW_CHARS = 400
_MSGID = re.compile(r"<[^<>\s]+>")


class MalformedMessage(ValueError):
    """A message Heard cannot use; `reason` says why in a few words for the log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _text(value: object) -> str:
    """Header text with undecodable bytes (8-bit headers) shown as U+FFFD, not surrogates."""
    text = str(value)
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _header(msg: EmailMessage, name: str) -> str:
    try:
        value = msg.get(name)
    except Exception:  # the email package raises many kinds on hostile headers
        raw = msg.get_all(name, failobj=[]) if hasattr(msg, "get_all") else []
        value = raw[0] if raw else None
    return "" if value is None else _text(value)


def _ids(text: str) -> tuple[str, ...]:
    return tuple(_MSGID.findall(text))


def _address(msg: EmailMessage) -> tuple[str, str]:
    raw = _header(msg, "From")
    if not raw.strip():
        raise MalformedMessage("no From header")
    name, addr = email.utils.parseaddr(raw)
    if "@" not in addr:
        raise MalformedMessage(f"From header has no usable address: {raw[:80]!r}")
    return name.strip(), addr.strip().lower()


def _date(msg: EmailMessage) -> datetime | None:
    raw = _header(msg, "Date")
    if not raw:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:  # RFC 5322 "-0000": the zone is unknown; UTC is the honest guess
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _preview(msg: EmailMessage) -> str:
    """Plain text only; HTML is never rendered, so nothing remote can ever be loaded."""
    try:
        part = msg.get_body(preferencelist=("plain",))
        if part is None:
            return ""
        content = part.get_content()
    except Exception:  # broken charsets and transfer encodings: no preview, no crash
        return ""
    if not isinstance(content, str):
        return ""
    text = _text(content)
    lines = [ln for ln in text.splitlines() if not ln.startswith(">")]
    return " ".join(" ".join(lines).split())[:PREVIEW_CHARS]


def parse_message(raw: bytes, *, with_preview: bool = True) -> MessageFacts:
    try:
        msg = BytesParser(policy=policy.default).parsebytes(raw)
    except Exception as exc:
        raise MalformedMessage(f"unparseable message: {exc}") from exc
    if not isinstance(msg, EmailMessage):
        raise MalformedMessage("unparseable message")
    from_name, from_addr = _address(msg)
    to = tuple(
        addr.lower()
        for _n, addr in email.utils.getaddresses([_header(msg, "To"), _header(msg, "Cc")])
        if "@" in addr
    )
    auto = {name: _header(msg, name) for name in AUTO_HEADERS if name in msg}
    message_id = next(iter(_ids(_header(msg, "Message-ID"))), "")
    acknowledges = next(iter(_ids(_header(msg, HEARD_ACK_HEADER))), None)
    return MessageFacts(
        message_id=message_id,
        from_addr=from_addr,
        from_name=from_name,
        to=to,
        subject=" ".join(_header(msg, "Subject").split()),
        date=_date(msg),
        in_reply_to=_ids(_header(msg, "In-Reply-To")),
        references=_ids(_header(msg, "References")),
        auto_headers=auto,
        preview=_preview(msg) if with_preview else "",
        heard_acknowledges=acknowledges,
    )
