"""What Heard has promised to send, and where each message stands.

A message is written to the store as QUEUED before anything goes on the wire. It becomes
SENDING just before the SMTP DATA command (past that point the server may have it),
SENT when the server accepted it and FILED once a copy is in the Sent folder. After a
crash, a SENDING message is only sent again if a transport can prove it never went out
(a copy in Sent proves the opposite); otherwise it is UNSURE and the user decides. That
is what "at most once" costs: one visible question in the rare crash mid-DATA.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from heard.domain.ids import InquiryId


class OutboxState(StrEnum):
    QUEUED = "queued"        # written down, not on the wire yet (also: waiting to retry)
    SENDING = "sending"      # DATA under way: the server may have it
    SENT = "sent"            # the server accepted it; the copy in Sent is still to file
    FILED = "filed"          # done
    FAILED = "failed"        # refused for good; the inquiry went back to waiting
    UNSURE = "unsure"        # a crash or a broken link mid-DATA: the user decides
    CANCELLED = "cancelled"  # the user chose not to send it after all

    @property
    def is_done(self) -> bool:
        return self in (OutboxState.FILED, OutboxState.FAILED, OutboxState.CANCELLED)


class OutboxKind(StrEnum):
    ACK = "ack"              # an acknowledgement the user asked for
    AUTO = "auto"            # an acknowledgement the autopilot sent
    FORWARD = "forward"      # a delegated matter, forwarded to the assistant
    TELL = "tell"            # telling the client who will help
    NUDGE = "nudge"          # to a client who owes the user a reply (a follow-up's)
    ABSENCE = "absence"      # the autopilot's reply while the user is away
    AFTER_HOURS = "after_hours"  # the autopilot's reply outside working hours


@dataclass(frozen=True)
class OutboxItem:
    message_id: str
    inquiry_id: InquiryId | None
    kind: OutboxKind
    account: str
    raw: bytes
    state: OutboxState
    created_at: datetime
    attempts: int = 0
    next_try: datetime | None = None
    sent_at: datetime | None = None
    filed_at: datetime | None = None
    error: str = ""
    thread: str = ""         # the thread's first Message-ID: "once per thread per day"
    recipient: str = ""
    claim: str = ""          # while SENDING: "host:pid:start" of the process sending it
    shared: str = ""         # the client's message on the server (heard.devices.imap.Where)

    def due(self, now: datetime) -> bool:
        """Whether a retry may run now."""
        return self.state is OutboxState.QUEUED and (self.next_try is None
                                                     or self.next_try <= now)


# Retries of temporary failures: quick at first (a blip), then every 15 minutes.
_BACKOFF = (timedelta(seconds=30), timedelta(minutes=1), timedelta(minutes=2),
            timedelta(minutes=5), timedelta(minutes=10), timedelta(minutes=15))


def retry_after(attempts: int) -> timedelta:
    """The wait before attempt number `attempts + 1` (attempts already made >= 1)."""
    return _BACKOFF[min(max(attempts, 1), len(_BACKOFF)) - 1]


# One acknowledgement answers everything a client wrote: the outbox row names the newest
# message's inquiry, and a state under this key (plus the message's id) names the others,
# so a reply that never goes out puts them all back, and one that does closes them all.
COVERS_KEY = "covers:"


def covers_text(ids: Iterable[InquiryId]) -> str:
    return ",".join(str(i) for i in ids)


def covers_of(text: str | None) -> tuple[InquiryId, ...]:
    return tuple(InquiryId(int(part)) for part in (text or "").split(",")
                 if part.strip().isdigit())


# A reply held back for Undo is the window's to send when its delay is over; a flush takes
# it only this much later (the window is gone, or Heard quit), never at the same moment.
HOLD_GRACE = timedelta(seconds=15)


def held_until(item: OutboxItem) -> datetime | None:
    """When a flush may send a reply held back for Undo; None for any other message."""
    if item.state is OutboxState.QUEUED and item.attempts == 0 and item.next_try is not None:
        return item.next_try + HOLD_GRACE
    return None
