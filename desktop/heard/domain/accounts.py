"""Whether a mail account can be reached: what the status and the tray say about it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class AccountHealth:
    """Whether an account is reachable: the tray must never show a count that silently
    misses an account."""

    name: str
    kind: str                        # "maildir" | "imap"
    online: bool | None = None       # None: not tried yet
    problem: str = ""
    since: datetime | None = None    # when it went offline (or came online)
    push: bool | None = None         # IDLE in use (False: polling)
    last_sync: datetime | None = None
