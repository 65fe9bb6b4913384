"""The engine's IMAP side: syncing each account, and its push watchers.

Each account's connections belong to its worker (heard.mail.imap.worker): syncs run on
the worker's SYNC lane, on a connection it keeps open between syncs, and its watchers (one
per watched folder, plus Sent) only ask the worker for a sync. Each part's health (the sync,
each watcher) is recorded for the status.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from heard.config import ImapAccount
from heard.domain.accounts import AccountHealth
from heard.engine import logins
from heard.engine.context import EngineContext
from heard.engine.ports import HealthRecord, MailSync
from heard.engine.results import SyncReport
from heard.mail.imap import ImapError, Problem
from heard.mail.imap.worker import Lane

if TYPE_CHECKING:
    from heard.mail.imap import Connection

log = logging.getLogger(__name__)


class ImapAccounts:
    def __init__(self, ctx: EngineContext, intake: MailSync, health: HealthRecord) -> None:
        self._ctx = ctx
        self._intake = intake
        self._health = health
        self._watched: list[str] = []

    # syncing

    def sync(self, account: ImapAccount, report: SyncReport) -> None:
        """Read what is new in the account (on its worker's SYNC lane); a failure is
        reported, and the account shown offline, never raised."""
        worker = self._ctx.workers.of(account)
        try:
            # A kept connection may have died quietly (a server restart, a laptop asleep):
            # one fresh try before calling the account offline.
            worker.run(lambda conn: self._intake.sync_imap(account, conn, report),
                       lane=Lane.SYNC,
                       retry=lambda exc: exc.problem is Problem.UNREACHABLE)
        except ImapError as exc:
            report.failed(account.name, exc.message)
            self._health.record(account.name, exc.message)
            return
        self._health.record(account.name, None, synced=True)

    def test(self, account: ImapAccount) -> AccountHealth:
        """Log in afresh (a kept connection proves nothing of a new password) and look for
        the folders; every problem in plain words."""
        from heard.mail.imap.probe import probe

        try:
            found = probe(logins.imap_server(account), logins.imap_password(account),
                          account.folders, account.sent_folder, account.poll_every)
        except ImapError as exc:
            return AccountHealth(account.name, "imap", False, exc.message)
        return AccountHealth(account.name, "imap", found.usable, "; ".join(found.notes),
                             push=found.idle)

    # push

    def watch(self, accounts: list[ImapAccount], sync: Callable[[str], None]) -> None:
        """Each account's watchers, started by its worker; what they report is a sync of
        the account (`sync(name)`), queued on the worker."""
        from heard.mail.imap.watch import FolderWatcher

        for account in accounts:
            worker = self._ctx.workers.of(account)

            def find_sent(conn: Connection, account: ImapAccount = account) -> str | None:
                found = conn.find_sent(account.sent_folder)
                return None if found in account.folders else found

            def connect(account: ImapAccount = account) -> Connection:
                return logins.open_imap(account)

            def changed(_folder: str, request: Callable[[], None] = worker.request_sync
                        ) -> None:
                request()

            watchers = []
            targets: list[str | Callable[[Connection], str | None]] = [*account.folders,
                                                                         find_sent]
            for target in targets:
                label = target if isinstance(target, str) else "Sent"

                def on_state(_folder: str, problem: ImapError | None, idle: bool,
                             account: ImapAccount = account, part: str = label) -> None:
                    self._health.record(account.name, problem.message if problem else None,
                                        push=idle if problem is None else None,
                                        part=f"watch:{part}")

                watchers.append(FolderWatcher(f"{account.name}:{label}", target, connect,
                                              changed, on_state,
                                              poll_every=account.poll_every.total_seconds()))
            worker.watch(watchers, functools.partial(sync, account.name))
            self._watched.append(account.name)

    def stop(self) -> None:
        """Stop every watcher (the connections stay with their workers until Heard ends)."""
        for name in self._watched:
            worker = self._ctx.known_worker(name)
            if worker is not None:
                worker.stop_watching()
        self._watched = []
