"""Which waiting clients the autopilot acknowledges on the user's behalf.

Only while the calendar says busy, only for the tiers the user chose, and only when the
acknowledgement deadline would pass before the meeting ends: then the calendar-aware
acknowledgement goes out shortly before the deadline. Mail that is not a person writing
(lists, bulk, auto-replies, bounces) never becomes an inquiry, so it never gets here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from heard.domain.busy import BusyState
from heard.domain.waiting import WaitingItem


def autopilot_picks(items: Iterable[WaitingItem], busy: BusyState | None, now: datetime,
                    tiers: Iterable[str], before: timedelta) -> list[WaitingItem]:
    wanted = frozenset(tiers)
    if not wanted or busy is None or not busy.now or busy.until is None:
        return []
    return [item for item in items
            if item.client.tier in wanted
            and item.ack_due < busy.until          # would pass during the meeting
            and item.ack_due - before <= now       # and is about to
            and now - before <= item.ack_due]      # (not one long overdue before it began)


# The key under which the store keeps why the autopilot left an inquiry to the user.
SKIP_KEY = "autopilot-skip:"


@dataclass(frozen=True)
class Skipped:
    """Why the autopilot left a waiting client to the user, and since when."""

    at: datetime
    reason: str

    def to_text(self) -> str:
        return json.dumps({"at": self.at.isoformat(), "reason": self.reason})

    @classmethod
    def from_text(cls, text: str) -> Skipped | None:
        try:
            data = json.loads(text)
            return cls(datetime.fromisoformat(data["at"]), str(data["reason"]))
        except (ValueError, KeyError, TypeError):
            return None
