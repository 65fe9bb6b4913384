"""A matter handed to an assistant: who has it, and by when they should have taken it up."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from heard.domain.ids import InquiryId


@dataclass(frozen=True)
class Delegation:
    inquiry_id: InquiryId
    assistant: str
    address: str
    forward_id: str            # the Message-ID of the forward: the assistant's reply cites it
    made_at: datetime
    due: datetime
    note: str = ""
    confirmed_at: datetime | None = None
    prior_ack: datetime | None = None   # the acknowledgement before it was handed over

    def __post_init__(self) -> None:
        if self.made_at.tzinfo is None or self.due.tzinfo is None:
            raise ValueError("delegation times must be timezone-aware")

    @property
    def is_open(self) -> bool:
        return self.confirmed_at is None

    def overdue(self, now: datetime) -> bool:
        return self.is_open and self.due <= now

    def confirm(self, at: datetime) -> Delegation:
        return dataclasses.replace(self, confirmed_at=at)


@dataclass(frozen=True)
class Assignment:
    """A delegation made on another device, as this device learnt it from the server: what
    the assistant's own Heard lists as "delegated to you" (and the professional's other
    devices as "with <assistant>")."""

    inquiry_id: InquiryId
    by: str                    # the device that delegated
    assistant: str
    address: str
    made_at: datetime
    due: datetime
    note: str = ""

    def __post_init__(self) -> None:
        if self.made_at.tzinfo is None or self.due.tzinfo is None:
            raise ValueError("assignment times must be timezone-aware")

    def to(self, addresses: frozenset[str]) -> bool:
        """Whether it was handed to the owner of one of `addresses` (lower-case)."""
        return self.address.lower() in addresses

    def overdue(self, now: datetime) -> bool:
        return self.due <= now
