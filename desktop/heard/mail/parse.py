"""Raw message bytes -> MessageFacts. Malformed mail becomes a typed error, never a crash."""

from __future__ import annotations

import email.utils
import re
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from heard.domain.messages import MessageFacts
from heard.domain.templates import header_safe
from heard.mail.html_text import html_to_text

# Headers kept for the auto-generated verdict (see domain.messages.auto_generated_reason).
AUTO_HEADERS = (
    "auto-submitted", "precedence", "list-id", "list-unsubscribe", "list-post",
    "x-auto-response-suppress", "return-path", "x-autoreply", "x-autorespond",
)
HEARD_ACK_HEADER = "X-Heard-Acknowledges"
PREVIEW_CHARS = 400
BODY_CHARS = 16_000      # enough for any voicemail or contact-form notification
HEADER_CHARS = 2_000     # a 1 MB header is somebody's attack, not information
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
        # Fall back to the raw, undecoded text: never a crash, never a lost message.
        value = next((v for k, v in msg.raw_items() if k.lower() == name.lower()), None)
    return "" if value is None else " ".join(_text(value).split())


def _ids(text: str) -> tuple[str, ...]:
    return tuple(_MSGID.findall(text))


def _address(msg: EmailMessage) -> tuple[str, str]:
    raw = _header(msg, "From")
    if not raw.strip():
        raise MalformedMessage("no From header")
    name, addr = email.utils.parseaddr(raw)
    if not valid_address(addr):
        raise MalformedMessage(f"From header has no usable address: {raw[:80]!r}")
    return header_safe(name), addr.strip().lower()


_ADDR = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")


def valid_address(addr: str) -> bool:
    """A plain user@domain address: what Heard will ever write into a header.

    Quoted local parts and other exotica are refused rather than passed on, since a reply
    to them could go to someone else.
    """
    return bool(_ADDR.match(addr)) and ".." not in addr and len(addr) <= 254


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
    try:
        parsed.astimezone(UTC)
    except (OverflowError, ValueError):  # year 9999 with a negative offset, and the like
        return None
    return parsed


def _body_text(msg: EmailMessage) -> str:
    """The readable text: the plain part, or the HTML part reduced to its text.

    HTML is never rendered, so nothing remote can ever be loaded.
    """
    try:
        part = msg.get_body(preferencelist=("plain", "html"))
        if part is None:
            return ""
        content = part.get_content()
    except Exception:  # broken charsets and transfer encodings: no text, no crash
        return ""
    if not isinstance(content, str):
        return ""
    text = _text(content[:BODY_CHARS * 4])
    if part.get_content_subtype() == "html":
        text = html_to_text(text)
    return text[:BODY_CHARS]


def preview_of(body_text: str) -> str:
    """One line of what the sender wrote, quoted lines left out."""
    lines = [ln for ln in body_text.splitlines() if not ln.lstrip().startswith(">")]
    return " ".join(" ".join(lines).split())[:PREVIEW_CHARS]


def _headers(msg: EmailMessage) -> dict[str, str]:
    names: dict[str, None] = {}
    for name, _value in msg.raw_items():
        names.setdefault(name.lower(), None)
    return {name: _header(msg, name)[:HEADER_CHARS] for name in names}


def parse_message(raw: bytes, *, with_preview: bool = True) -> MessageFacts:
    """Facts of one message; anything unusable is a MalformedMessage, never another error."""
    try:
        return _parse(raw, with_preview)
    except MalformedMessage:
        raise
    except Exception as exc:  # hostile input finds corners of the email package
        raise MalformedMessage(f"unparseable message ({type(exc).__name__}: {exc})") from exc


def _parse(raw: bytes, with_preview: bool) -> MessageFacts:
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    if not isinstance(msg, EmailMessage):
        raise MalformedMessage("unparseable message")
    from_name, from_addr = _address(msg)
    to = tuple(
        addr.lower()
        for _n, addr in email.utils.getaddresses([_header(msg, "To"), _header(msg, "Cc")])
        if valid_address(addr)
    )
    reply_to = next((addr.lower() for _n, addr in email.utils.getaddresses(
        [_header(msg, "Reply-To")]) if valid_address(addr)), "")
    headers = _headers(msg)
    auto = {name: headers[name] for name in AUTO_HEADERS if name in headers}
    body = _body_text(msg) if with_preview else ""
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
        preview=preview_of(body),
        heard_acknowledges=acknowledges,
        reply_to=reply_to if reply_to != from_addr else "",
        headers=headers,
        body_text=body,
    )
