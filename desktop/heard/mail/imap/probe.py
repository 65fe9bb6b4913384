"""One login to see whether an IMAP account can be used as set up: the folders clients
write to, a Sent folder, and whether the server pushes new mail (IDLE). For a person
setting an account up (`heard account add|test`, the settings window), not for syncing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from heard.mail.imap.connection import ServerSettings, connect
from heard.mail.oauth import Bearer


@dataclass(frozen=True)
class Probe:
    """What the login found, and `notes`: what of it the user should know, in words."""

    missing: tuple[str, ...]     # folders the account names that the server does not have
    sent: str | None             # the Sent folder found (None: none)
    idle: bool                   # the server pushes new mail
    notes: tuple[str, ...]

    @property
    def usable(self) -> bool:
        return not self.missing


def probe(server: ServerSettings, password: str | Bearer, folders: Sequence[str], sent_folder: str,
          poll_every: timedelta) -> Probe:
    """Log in, look, log out. ImapError (in words) when the server cannot be reached or
    refuses the login."""
    conn = connect(server, password)
    try:
        missing = tuple(f for f in folders if not conn.folder_exists(f))
        sent = conn.find_sent(sent_folder)
        idle = conn.idle
    finally:
        conn.close()
    notes = []
    if missing:
        notes.append(f"no folder {', '.join(map(repr, missing))} on the server")
    if sent is None:
        notes.append("no Sent folder found (set sent_folder)")
    if not idle:
        notes.append("the server has no IDLE, so Heard checks for mail every"
                     f" {int(poll_every.total_seconds() // 60)} min instead of at once")
    return Probe(missing, sent, idle, tuple(notes))
