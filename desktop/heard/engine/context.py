"""What every service of the engine shares, handed to each one instead of closures and
back-references: the profile, the store, the clock, the events, the settings in force, the
templates, the write lock, and the owners of the IMAP accounts' connections."""

from __future__ import annotations

import logging
import os
import signal
import threading
from typing import TYPE_CHECKING

from heard.config import Account, ImapAccount, Settings
from heard.domain.clients import Client, ClientDirectory, normalize_email
from heard.domain.clock import Clock
from heard.domain.ids import ClientId
from heard.domain.templates import Template
from heard.engine.events import Events
from heard.errors import EngineError
from heard.store import Store
from heard.system.paths import Profile

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from heard.mail.imap.worker import AccountWorker, Workers

log = logging.getLogger(__name__)

# For the crash tests only: kill this process the moment the named state is committed.
CRASH_ENV = "HEARD_TEST_CRASH_AT"


def crash_point(state: str) -> None:
    if os.environ.get(CRASH_ENV) == state:
        log.warning("%s=%s: killing this process", CRASH_ENV, state)
        os.kill(os.getpid(), signal.SIGKILL)


class EngineContext:
    def __init__(self, profile: Profile, store: Store, clock: Clock, settings: Settings,
                 templates: dict[str, Template]) -> None:
        self.profile = profile
        self.store = store
        self.clock = clock
        self.events = Events()
        # Replaced as a whole when heard.toml changes (never mutated): a service reads it
        # afresh for each piece of work.
        self.settings = settings
        self.templates = templates
        # One writer of the inquiries at a time (a sync applying what it learnt, a click,
        # a request from another device); reentrant, since one use case may call another.
        self.lock = threading.RLock()
        self.closed = False
        self._workers: Workers[ImapAccount] | None = None

    @property
    def zone(self) -> ZoneInfo:
        return self.settings.zone

    @property
    def workers(self) -> Workers[ImapAccount]:
        """One worker per IMAP account owns its connections (made on first use: imapclient,
        ssl and the keyring stay off the start-up path of a profile without IMAP)."""
        if self._workers is None:
            from heard.engine.logins import open_imap
            from heard.mail.imap.worker import Workers

            self._workers = Workers(open_imap)
        return self._workers

    def known_worker(self, name: str) -> AccountWorker | None:
        """The account's worker if one was made (asking makes none)."""
        return self._workers.known(name) if self._workers is not None else None

    def close_workers(self) -> None:
        if self._workers is not None:
            self._workers.close()

    def reconnect_workers(self) -> None:
        """After a sleep: every kept IMAP connection and watcher's socket anew."""
        if self._workers is not None:
            self._workers.reconnect()

    def retain_workers(self) -> None:
        """Settings changed: accounts removed or changed log out."""
        if self._workers is not None:
            self._workers.retain(self.imap_accounts())

    # facts every service asks for

    def own_addresses(self) -> frozenset[str]:
        settings = self.settings
        return frozenset({*settings.user.addresses,
                          *(normalize_email(a.address) for a in settings.accounts if a.address)})

    def account(self, name: str) -> Account | None:
        return next((a for a in self.settings.accounts if a.name == name), None)

    def imap_accounts(self) -> list[ImapAccount]:
        return [a for a in self.settings.accounts if isinstance(a, ImapAccount)]

    def directory(self) -> ClientDirectory:
        return ClientDirectory(self.store.clients())

    def clients_by_id(self) -> dict[ClientId, Client]:
        return {c.id: c for c in self.store.clients() if c.id is not None}

    def client_named(self, key: str) -> Client | None:
        """A client by id, by name, or by a unique part of the name."""
        clients = self.store.clients()
        if key.strip().isdigit():
            return next((c for c in clients if c.id == int(key)), None)
        wanted = key.lower().strip()
        found = [c for c in clients if c.name.lower() == wanted] or [
            c for c in clients if wanted in c.name.lower()]
        if len(found) > 1:
            raise EngineError(f"{key!r} matches {len(found)} clients; use the id from"
                              " `heard clients list`")
        return found[0] if found else None
