"""What the engine's work returns to the faces: plain, typed results."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from heard.config import Assistant
from heard.domain.ids import InquiryId
from heard.domain.outbox import OutboxState


@dataclass(frozen=True)
class Skipped:
    source: str
    file: str
    reason: str


@dataclass
class SyncReport:
    seen: int = 0
    new_inquiries: list[InquiryId] = field(default_factory=list)
    answered: list[InquiryId] = field(default_factory=list)
    acknowledged: list[InquiryId] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    unreached: set[str] = field(default_factory=set)   # accounts this sync could not reach

    @property
    def changed(self) -> bool:
        return bool(self.new_inquiries or self.answered or self.acknowledged)

    def failed(self, account: str, problem: str) -> None:
        """The account could not be synced (the others still were)."""
        self.unreached.add(account)
        self.errors.append(f"{account}: {problem}")


class Delivery(StrEnum):
    """Where a reply stands after the click: an outbox state, or passed to another device."""

    QUEUED = OutboxState.QUEUED.value
    SENDING = OutboxState.SENDING.value
    SENT = OutboxState.SENT.value
    FILED = OutboxState.FILED.value
    FAILED = OutboxState.FAILED.value
    UNSURE = OutboxState.UNSURE.value
    CANCELLED = OutboxState.CANCELLED.value
    REQUESTED = "requested"   # the designated device sends it (a server without keywords)

    @classmethod
    def of(cls, state: OutboxState) -> Delivery:
        return cls(state.value)


@dataclass(frozen=True)
class AckResult:
    inquiry_id: InquiryId
    message_id: str
    to: str
    subject: str
    body: str
    reply_by: datetime
    template: str
    sent: bool
    state: Delivery | None = None    # None: a dry run, or a call back promised
    error: str = ""
    call_back: str = ""       # a call with no address to write to: "tel:+1..." to call
    automatic: bool = False
    # Every inquiry the one mail answers (the client's waiting messages), `inquiry_id`
    # (the newest, which it replies to) first.
    covers: tuple[InquiryId, ...] = ()


@dataclass(frozen=True)
class DelegateResult:
    inquiry_id: InquiryId
    assistant: Assistant
    forward_id: str
    forward_body: str
    due: datetime
    told_client: bool
    tell_body: str
    sent: bool
    error: str = ""
    state: Delivery | None = None    # REQUESTED: passed to the designated device
    covers: tuple[InquiryId, ...] = ()   # every inquiry handed over, `inquiry_id` first


@dataclass(frozen=True)
class Outcome:
    message_id: str
    state: OutboxState
    error: str = ""

    @property
    def out(self) -> bool:
        return self.state in (OutboxState.SENT, OutboxState.FILED)
