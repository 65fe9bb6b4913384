"""What an acknowledgement promised the client, and by when."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from heard.domain.ids import ClientId, InquiryId, PromiseId


@dataclass(frozen=True)
class Promise:
    inquiry_id: InquiryId
    client_id: ClientId
    made_at: datetime
    due: datetime
    text: str = ""
    kept_at: datetime | None = None
    id: PromiseId | None = None

    def __post_init__(self) -> None:
        if self.due.tzinfo is None or self.made_at.tzinfo is None:
            raise ValueError("promise times must be timezone-aware")

    @property
    def is_open(self) -> bool:
        return self.kept_at is None

    def keep(self, at: datetime) -> Promise:
        return dataclasses.replace(self, kept_at=at)

    def was_kept(self) -> bool | None:
        """True if kept in time, False if kept late, None while still open."""
        return None if self.kept_at is None else self.kept_at <= self.due
