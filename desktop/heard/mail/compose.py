"""Build the replies Heard sends: threaded correctly, with headers that cannot be injected."""

from __future__ import annotations

import email.policy
import email.utils
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage

from heard.domain.templates import header_safe
from heard.mail.parse import HEARD_ACK_HEADER, HEARD_PROMISE_HEADER

# On a forward to an assistant: the Message-ID of the client's message it hands over.
HEARD_DELEGATES_HEADER = "X-Heard-Delegates"
# On a nudge to a client who owes the user a reply: the follow-up it is for. Intake reads it
# in Sent as nothing answered (and no question to follow up on).
HEARD_NUDGE_HEADER = "X-Heard-Nudge"
# On the autopilot's absence and after-hours replies: which ("absence", "after_hours").
# They acknowledge nothing: the client still waits for the user.
HEARD_NOTICE_HEADER = "X-Heard-Notice"


def _address(name: str, addr: str) -> Address:
    username, _, domain = header_safe(addr).partition("@")
    return Address(display_name=header_safe(name), username=username, domain=domain)


# A long thread's References would grow without end: keep its root and the latest ids
# (as mail clients do), which is all threading needs.
MAX_REFERENCES = 20


# A Message-ID longer than this is hostile or broken: it could push a header line past
# the 998-character limit, and the whole reply would be refused.
MAX_ID_LENGTH = 250


def _trimmed(refs: list[str]) -> list[str]:
    refs = [header_safe(r) for r in refs if r and len(r) <= MAX_ID_LENGTH]
    if len(refs) <= MAX_REFERENCES:
        return refs
    return [refs[0], *refs[-(MAX_REFERENCES - 1):]]


def make_message_id(domain: str) -> str:
    return email.utils.make_msgid(domain=header_safe(domain) or "heard.invalid")


def build_reply(
    *,
    sender_name: str,
    sender_addr: str,
    to_name: str,
    to_addr: str,
    subject: str,
    body: str,
    in_reply_to: str,
    references: tuple[str, ...],
    date: datetime,
    message_id: str,
    acknowledges: str = "",
    promise: datetime | None = None,
    automatic: bool = False,
    nudges: str = "",
    notice: str = "",
) -> EmailMessage:
    """A plain-text reply threaded on the client's message (RFC 5322 section 3.6.4).

    `acknowledges` names the client's message when the reply is not threaded on it (a
    call: the client never saw the voicemail notification it came in); `promise` is the
    answer it promises (X-Heard-Promise), for the user's other devices. An `automatic`
    reply (the autopilot's: no person chose to send it) says so with `Auto-Submitted:
    auto-replied` (RFC 3834 section 5), so that other responders never answer it; one the
    user sent with a click does not, as a person chose to send it. A nudge (`nudges`: the
    follow-up it is for) acknowledges nothing, and keeps its subject when it starts a new
    conversation."""
    msg = EmailMessage()
    msg["From"] = _address(sender_name, sender_addr)
    msg["To"] = _address(to_name, to_addr)
    clean_subject = header_safe(subject)
    if not clean_subject.lower().startswith("re:") and (in_reply_to or not nudges):
        clean_subject = f"Re: {clean_subject}" if clean_subject else "Re: your message"
    msg["Subject"] = clean_subject
    msg["Date"] = email.utils.format_datetime(date)
    msg["Message-ID"] = message_id
    if in_reply_to and len(in_reply_to) <= MAX_ID_LENGTH:
        msg["In-Reply-To"] = in_reply_to
        refs = [r for r in references if r != in_reply_to] + [in_reply_to]
        msg["References"] = " ".join(_trimmed(refs))
    names = acknowledges or in_reply_to
    if nudges:
        msg[HEARD_NUDGE_HEADER] = header_safe(nudges)
    elif notice:
        msg[HEARD_NOTICE_HEADER] = header_safe(notice)
    elif names and len(names) <= MAX_ID_LENGTH:
        msg[HEARD_ACK_HEADER] = names
    if promise is not None and promise.tzinfo is not None:
        msg[HEARD_PROMISE_HEADER] = promise.astimezone(UTC).isoformat(timespec="seconds")
    if automatic:
        msg["Auto-Submitted"] = "auto-replied"
    msg.set_content(body)
    return msg


def build_forward(
    *,
    sender_name: str,
    sender_addr: str,
    to_name: str,
    to_addr: str,
    subject: str,
    note: str,
    original: bytes | None,
    date: datetime,
    message_id: str,
    delegates: str,
) -> EmailMessage:
    """A matter handed to an assistant: the note on top, the client's message attached
    as it arrived (message/rfc822), so the assistant can reply to the client from it."""
    msg = EmailMessage()
    msg["From"] = _address(sender_name, sender_addr)
    msg["To"] = _address(to_name, to_addr)
    clean = header_safe(subject)
    msg["Subject"] = clean if clean.lower().startswith("fwd:") else f"Fwd: {clean}"
    msg["Date"] = email.utils.format_datetime(date)
    msg["Message-ID"] = message_id
    if delegates:
        msg[HEARD_DELEGATES_HEADER] = header_safe(delegates)
    msg.set_content(note)
    if original:
        attached = email.message_from_bytes(original, policy=email.policy.default)
        try:
            msg.add_attachment(attached)
        except (TypeError, ValueError, LookupError):
            msg.add_attachment(original, maintype="application", subtype="octet-stream",
                               filename="original.eml")
    return msg
