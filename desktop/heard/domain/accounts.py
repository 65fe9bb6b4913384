"""Whether a mail account can be reached: what the status and the tray say about it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# What a problem says when only signing in to the account's provider again helps (OAuth2:
# the grant was revoked or has expired); heard.mail.oauth writes it.
SIGN_IN_AGAIN = "Sign in again"


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

    @property
    def needs_sign_in(self) -> bool:
        """Offline because the provider no longer honours the sign-in."""
        return self.online is False and SIGN_IN_AGAIN in self.problem
