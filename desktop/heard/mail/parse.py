"""Raw message bytes -> MessageFacts. Malformed mail becomes a typed error, never a crash.

Intake parses every message of a mailbox (10,000 on a first sync), so this decodes only
what MessageFacts holds: the email package's full header objects (policy.default) cost
about 2 ms a message, the plain structure (compat32) plus targeted decoding about 0.1 ms.
Other headers are decoded only when somebody reads them (voicemail and form patterns).
"""

from __future__ import annotations

import contextlib
import dataclasses
import email.utils
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesParser

from heard.domain.messages import MessageFacts, valid_text
from heard.domain.templates import header_safe

# Headers kept for the auto-generated verdict (see domain.messages.auto_generated_reason).
AUTO_HEADERS = (
    "auto-submitted", "precedence", "list-id", "list-unsubscribe", "list-post",
    "x-auto-response-suppress", "return-path", "x-autoreply", "x-autorespond",
)
HEARD_ACK_HEADER = "X-Heard-Acknowledges"
HEARD_PROMISE_HEADER = "X-Heard-Promise"
PREVIEW_CHARS = 400
BODY_CHARS = 16_000      # enough for any voicemail or contact-form notification
HEADER_CHARS = 2_000     # a 1 MB header is somebody's attack, not information
# Printable ASCII only: a NUL or DEL copied into In-Reply-To would get every reply refused.
_MSGID = re.compile(r"<[\x21-\x3b\x3d\x3f-\x7e]+>")
# compat32, BytesParser's own default (email.policy, ~35 ms of imports, stays unloaded
# until a From needs the strict reading).
_PARSER = BytesParser()


class MalformedMessage(ValueError):
    """A message Heard cannot use; `reason` says why in a few words for the log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# Surrogates that no undecodable byte became (surrogateescape uses U+DC80..U+DCFF only):
# what a UTF-7 or UTF-16 encoded word can leave behind.
_LONE_SURROGATE = re.compile("[\ud800-\udc7f\udd00-\udfff]")


def _text(value: object) -> str:
    """Valid Unicode: 8-bit header bytes read as UTF-8 where they are (else U+FFFD), and
    the lone surrogates a broken encoded word decodes to as U+FFFD."""
    text = str(value)
    if text.isascii():
        return text
    text = _LONE_SURROGATE.sub("\ufffd", text)
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def decode(raw: str) -> str:
    """One header value, unfolded, encoded words (RFC 2047) decoded, spaces collapsed."""
    value = " ".join(raw[:HEADER_CHARS * 4].split())
    if "=?" in value:
        with contextlib.suppress(Exception):  # a broken encoded word: keep the raw text
            value = str(make_header(decode_header(value)))
    return " ".join(_text(value).split())[:HEADER_CHARS]


class Headers(Mapping[str, str]):
    """Every header once (lower-case name -> its first value), decoded when read."""

    def __init__(self, items: list[tuple[str, str]]) -> None:
        self._raw: dict[str, str] = {}
        for name, value in items:
            self._raw.setdefault(name.lower(), value if isinstance(value, str) else "")
        self._decoded: dict[str, str] = {}

    def __getitem__(self, name: str) -> str:
        if name not in self._decoded:
            self._decoded[name] = decode(self._raw[name])
        return self._decoded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def __contains__(self, name: object) -> bool:
        return name in self._raw

    def raw(self, name: str) -> str:
        return self._raw.get(name, "")


def _ids(text: str) -> tuple[str, ...]:
    return tuple(_MSGID.findall(text))


def _address(headers: Headers) -> tuple[str, str]:
    raw = " ".join(headers.raw("from").split())
    if not raw.strip():
        raise MalformedMessage("no From header")
    plain = _plain_mailbox(raw)
    if plain is not None and valid_address(plain[1]):
        # What email.utils.parseaddr reads in one plain mailbox, 20 times faster (the
        # address parsers were a third of a first sync's parsing).
        return header_safe(decode(plain[0])), plain[1].lower()
    return _address_slowly(raw)


def _address_slowly(raw: str) -> tuple[str, str]:
    name, addr = email.utils.parseaddr(raw)
    addr = _text(addr)
    if not valid_address(addr):
        # An encoded word around the whole header ("=?utf-8?q?Jane_<j@x>?="): decode
        # first, but a From that decodes to a line break is an injection attempt.
        try:
            decoded = str(make_header(decode_header(raw)))
        except Exception:
            decoded = raw
        if any(ch in decoded for ch in "\r\n\0"):
            raise MalformedMessage("From header decodes to a line break")
        name, addr = email.utils.parseaddr(decoded)
        if not valid_address(addr):
            # A display name the address parser trips over (an unbalanced quote in an
            # encoded word): the angle-bracketed address at the end still says who it is.
            angle = _ANGLE_ADDR.search(raw)
            if angle is None or not valid_address(_text(angle.group(2))):
                raise MalformedMessage(f"From header has no usable address: {raw[:80]!r}")
            name, addr = angle.group(1), _text(angle.group(2))
    return header_safe(decode(name)), addr.strip().lower()


_ANGLE_ADDR = re.compile(r"^(.*)<([^<>\s]+)>\s*$")


_ADDR = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")


def valid_address(addr: str) -> bool:
    """A plain user@domain address: what Heard will ever write into a header.

    Quoted local parts and other exotica are refused rather than passed on, since a reply
    to them could go to someone else.
    """
    return bool(_ADDR.match(addr)) and ".." not in addr and len(addr) <= 254


def _addresses(*values: str) -> list[str]:
    found: list[str] = []
    for value in values:
        value = " ".join(value.split())
        for part in value.split(",") if value else ():
            plain = _plain_mailbox(part.strip(), in_list=True)
            if plain is None:
                return _addresses_slowly(*values)
            if valid_address(plain[1]):
                found.append(plain[1].lower())
    return found


def _addresses_slowly(*values: str) -> list[str]:
    try:
        pairs = email.utils.getaddresses([" ".join(v.split()) for v in values])
    except Exception:  # hostile address lists
        return []
    return [_text(addr).lower() for _name, addr in pairs if valid_address(_text(addr))]


def _date(raw: str) -> datetime | None:
    raw = " ".join(_text(raw).split())
    if not raw:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:  # RFC 5322 "-0000": the zone is unknown; UTC is the honest guess
        parsed = parsed.replace(tzinfo=UTC)
    try:
        parsed.astimezone(UTC)
    except (OverflowError, ValueError):  # year 9999 with a negative offset, and the like
        return None
    return parsed


def _readable_part(msg: Message) -> Message | None:
    """The first plain-text part that is not an attachment, else the first HTML one."""
    html = None
    for part in msg.walk():
        if part.is_multipart():
            continue
        disposition = str(part.get("Content-Disposition", "")).lower()
        if disposition.startswith("attachment"):
            continue
        kind = part.get_content_type()
        if kind == "text/plain":
            return part
        if kind == "text/html" and html is None:
            html = part
    return html


def _body_text(msg: Message) -> str:
    """The readable text: the plain part, or the HTML part reduced to its text.

    HTML is never rendered, so nothing remote can ever be loaded.
    """
    try:
        part = _readable_part(msg)
        if part is None:
            return ""
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            return ""
        payload = payload[:BODY_CHARS * 4]
        charset = part.get_content_charset() or "utf-8"
        try:
            text = payload.decode(charset, "replace")
        except LookupError:  # a charset Python does not know
            text = payload.decode("utf-8", "replace")
        if part.get_content_type() == "text/html":
            from heard.mail.html_text import html_to_text  # (html.parser: ~70 ms,
            text = html_to_text(text)                      # not before the icon)
    except Exception:  # broken transfer encodings: no text, no crash
        return ""
    # "replace" does not cover what a decoder lets through: UTF-7 decodes "+2D0-" to half a
    # surrogate pair without complaint.
    return valid_text(text.replace("\r\n", "\n")[:BODY_CHARS])


def preview_of(body_text: str) -> str:
    """One line of what the sender wrote, quoted lines left out."""
    lines = [ln for ln in body_text.splitlines() if not ln.lstrip().startswith(">")]
    return " ".join(" ".join(lines).split())[:PREVIEW_CHARS]


def parse_message(raw: bytes, *, with_preview: bool = True) -> MessageFacts:
    """Facts of one message; anything unusable is a MalformedMessage, never another error.

    Without `with_preview` only the headers are read (enough to decide what a message is).
    """
    try:
        return _parse(raw, with_preview)
    except MalformedMessage:
        raise
    except Exception as exc:  # hostile input finds corners of the email package
        raise MalformedMessage(f"unparseable message ({type(exc).__name__}: {exc})") from exc


def with_text(facts: MessageFacts, raw: bytes) -> MessageFacts:
    """`facts` read from the headers alone (parse_message(head, with_preview=False)), with
    the text of `raw` (the same headers and the start of the body) added: what
    parse_message(raw) gives, without reading the headers twice (a first sync fetches the
    text of a third of the messages, after their headers)."""
    try:
        body = _body_text(_PARSER.parsebytes(raw))
    except Exception as exc:  # as parse_message says it
        raise MalformedMessage(f"unparseable message ({type(exc).__name__}: {exc})") from exc
    return dataclasses.replace(facts, preview=preview_of(body), body_text=body)


def auto_headers(head: bytes) -> dict[str, str]:
    """The machine-made marks (AUTO_HEADERS) of a header block: parse_message's
    auto_headers, without reading the rest (a first sync decides from these alone which
    texts to fetch, while the whole is parsed on another thread)."""
    headers = Headers(header_items(head))
    return {name: headers[name] for name in AUTO_HEADERS if name in headers}


_LINE = re.compile(r"\r?\n")
_END_OF_HEADERS = re.compile(rb"\r?\n\r?\n")


def header_items(raw: bytes) -> list[tuple[str, str]]:
    """The header block as (name, raw value) pairs, unfolded lines kept as they are.

    Ten times faster than the email package's feed parser, which only the body needs.
    """
    end = _END_OF_HEADERS.search(raw)
    block = raw[:end.start()] if end else raw
    items: list[tuple[str, str]] = []
    for line in _LINE.split(block.decode("ascii", "surrogateescape")):
        if line[:1] in (" ", "\t"):
            if items:
                name, value = items[-1]
                items[-1] = (name, f"{value} {line.strip()}")
            continue
        name, colon, value = line.partition(":")
        if colon and name and name == name.strip() and " " not in name:
            items.append((name, value.strip()))
    return items


def _promise(value: str) -> datetime | None:
    """The promised time an acknowledgement carries (ISO 8601 with its offset)."""
    try:
        at = datetime.fromisoformat(value.strip()) if value else None
    except ValueError:
        return None
    return at if at is not None and at.tzinfo is not None else None


def _other_address(raw: str, addr: str) -> str:
    """An address other than `addr` that a From header also names (read the way another
    mail program may: a second angle address, a list, what the strict parser finds), or
    "" when it names one address only."""
    raw = " ".join(raw.split())
    plain = _PLAIN_FROM.match(raw)
    if plain is not None:
        # One plain mailbox: the strict parser could name no other address (and costs
        # 0.5 ms a message, a third of a first sync's parsing; this match 2 µs).
        only = (plain.group(1) or plain.group(2)).lower()
        return only if only != addr else ""
    found = {a.lower() for a in _ANY_ANGLE.findall(raw)}
    try:
        from email import policy

        parsed = policy.default.header_factory("from", raw)
        found |= {a.addr_spec.lower() for a in parsed.addresses if a.addr_spec}
    except Exception:   # the strict parser gives up: the lenient reading stands alone
        pass
    others = sorted(a for a in found if a != addr and "@" in a)
    return others[0] if others else ""


_ANY_ANGLE = re.compile(r"<\s*([^<>\s]+@[^<>\s]+)\s*>")
# A From that names one mailbox in the plainest way: a name of words (or quoted, with no
# escape, angle, @ or encoded word in it) and an angle address, or the bare address; the
# address a dot-atom (no "=" or "?", which could start an encoded word) at a dot-atom
# domain. Both readings of such a header find that address and no other.
_NAME_WORDS = r"[A-Za-z0-9'._-]+(?: [A-Za-z0-9'._-]+)*"
_NAME_QUOTED = r'"[^"\\<>@=?\r\n]*"'
_DOT_ATOM = r"[A-Za-z0-9!#$%&'*+/^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/^_`{|}~-]+)*"
_DOMAIN_ATOMS = r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
# One plain mailbox, its display name and address in groups: (words | "quoted") <addr>,
# or the bare addr; in a list, a quoted name holds no comma (the list is cut at commas).
_PLAIN_MAILBOX = re.compile(
    rf'^(?:({_NAME_WORDS})|"([^"\\<>@=?\r\n]*)")? ?<({_DOT_ATOM}@{_DOMAIN_ATOMS})>$'
    rf"|^({_DOT_ATOM}@{_DOMAIN_ATOMS})$")


def _plain_mailbox(raw: str, in_list: bool = False) -> tuple[str, str] | None:
    """(display name, address) of a header that is one plain mailbox (whitespace
    collapsed), as email.utils.parseaddr reads it; None for anything else."""
    found = _PLAIN_MAILBOX.match(raw)
    if found is None:
        return None
    words, quoted, angle, bare = found.groups()
    if in_list and quoted and "," in quoted:
        return None
    return words or quoted or "", angle or bare


_PLAIN_FROM = re.compile(
    rf"^(?:(?:{_NAME_WORDS}|{_NAME_QUOTED}) ?)?<({_DOT_ATOM}@{_DOMAIN_ATOMS})>$"
    rf"|^({_DOT_ATOM}@{_DOMAIN_ATOMS})$")


def _parse(raw: bytes, with_preview: bool) -> MessageFacts:
    items = header_items(raw)
    headers = Headers(items)
    from_name, from_addr = _address(headers)
    reply_to = next(iter(_addresses(headers.raw("reply-to"))), "")
    body = _body_text(_PARSER.parsebytes(raw)) if with_preview else ""
    return MessageFacts(
        message_id=next(iter(_ids(headers.raw("message-id"))), ""),
        from_addr=from_addr,
        from_name=from_name,
        to=tuple(_addresses(headers.raw("to"), headers.raw("cc"))),
        subject=headers.get("subject", ""),
        date=_date(headers.raw("date")),
        in_reply_to=_ids(headers.raw("in-reply-to")),
        references=_ids(headers.raw("references")),
        auto_headers={name: headers[name] for name in AUTO_HEADERS if name in headers},
        preview=preview_of(body),
        heard_acknowledges=next(iter(_ids(headers.raw(HEARD_ACK_HEADER.lower()))), None),
        heard_promise=_promise(headers.get(HEARD_PROMISE_HEADER.lower(), "")),
        reply_to=reply_to if reply_to != from_addr else "",
        headers=headers,
        body_text=body,
        auth_results=tuple(_text(v) for n, v in items
                           if n.lower() == "authentication-results"),
        from_also=_other_address(headers.raw("from"), from_addr),
    )
