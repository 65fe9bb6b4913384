"""The engine's IMAP side: syncing each account, and its push watchers.

Each account's connections belong to its worker (heard.mail.imap.worker): syncs run on
the worker's SYNC lane, on a connection it keeps open between syncs, and its watchers (one
per account: IDLE on its first folder, the others and Sent by STATUS on the same
connection) only ask for a sync. One login per account at start: the watcher takes the
connection the tray's catch-up sync kept (or logs in), lends it to the worker for the
catch-up sync it asks for, and IDLEs on it once that is done. The syncs they ask for wait
in one queue, run one after another on one thread whichever account asked (a burst of
pushes is one or two syncs, never a pile-up, and two accounts never sync at once). Each
part's health (the sync, each watcher) is recorded for the status.
"""

from __future__ import annotations

import logging
import threading
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
    from heard.mail.imap.worker import AccountWorker

log = logging.getLogger(__name__)


class ImapAccounts:
    def __init__(self, ctx: EngineContext, intake: MailSync, health: HealthRecord) -> None:
        self._ctx = ctx
        self._intake = intake
        self._health = health
        self._watched: list[str] = []
        self._queue: SyncQueue | None = None

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
        the account (`sync(name)`), queued."""
        from heard.mail.imap.watch import FolderWatcher

        queue = self._queue = SyncQueue(sync)
        for account in accounts:
            worker = self._ctx.workers.of(account)

            def find_sent(conn: Connection, account: ImapAccount = account) -> str | None:
                found = conn.find_sent(account.sent_folder)
                return None if found in account.folders else found

            def connect(account: ImapAccount = account, worker: AccountWorker = worker
                        ) -> Connection:
                # The connection the last sync left kept, if no job runs on it: with the
                # catch-up sync run on the watcher's connection (lent to the worker), one
                # login per account at start.
                return worker.hand_over() or logins.open_imap(account)

            def changed(_folder: str, name: str = account.name) -> None:
                queue.request(name)

            def catch_up(_folder: str, name: str = account.name) -> threading.Event:
                return queue.request(name)

            def others(conn: Connection, account: ImapAccount = account,
                       find_sent: Callable[[Connection], str | None] = find_sent
                       ) -> list[str]:
                sent = find_sent(conn)
                return [*account.folders[1:], *([sent] if sent else [])]

            # One connection, one IDLE (one-connection): on the first folder; the others
            # and Sent by STATUS on the same connection between IDLEs (FolderWatcher).
            label = account.folders[0]

            def on_state(_folder: str, problem: ImapError | None, idle: bool,
                         account: ImapAccount = account, part: str = label) -> None:
                self._health.record(account.name, problem.message if problem else None,
                                    push=idle if problem is None else None,
                                    part=f"watch:{part}")

            watcher = FolderWatcher(f"{account.name}:{label}", label, connect, changed,
                                    on_state, poll_every=account.poll_every.total_seconds(),
                                    also=others, catch_up=catch_up, lender=worker)
            worker.watch([watcher])
            self._watched.append(account.name)

    def stop(self) -> None:
        """Stop every watcher and the queued syncs (the connections stay with their
        workers, for the syncs and clicks still to come)."""
        for name in self._watched:
            worker = self._ctx.known_worker(name)
            if worker is not None:
                worker.stop_watching()
        self._watched = []
        if self._queue is not None:
            self._queue.stop()
            self._queue = None


class SyncQueue:
    """Syncs asked for by the watchers, run one after another on one thread; an account
    asked for while it waits is the same request."""

    def __init__(self, run: Callable[[str], None]) -> None:
        self._run = run
        # name -> the events of those who wait for it (ordered: first asked, first synced)
        self._pending: dict[str, list[threading.Event]] = {}
        self._wake = threading.Condition()
        self._stopped = False
        self._thread: threading.Thread | None = None

    def request(self, name: str) -> threading.Event:
        """Queue a sync of `name`; the event returned is set once a sync of it that began
        after this request has ended (or the queue stopped)."""
        done = threading.Event()
        with self._wake:
            if self._stopped:
                done.set()
                return done
            self._pending.setdefault(name, []).append(done)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="imap-sync",
                                                daemon=True)
                self._thread.start()
            self._wake.notify()
        return done

    def _loop(self) -> None:
        while True:
            with self._wake:
                while not self._pending and not self._stopped:
                    self._wake.wait()
                if self._stopped:
                    return
                name = next(iter(self._pending))
                waiting = self._pending.pop(name)
            try:
                self._run(name)
            except Exception:
                log.exception("sync of %s failed", name)
            finally:
                for done in waiting:
                    done.set()

    def stop(self) -> None:
        with self._wake:
            self._stopped = True
            self._wake.notify_all()
            thread = self._thread
            for waiting in self._pending.values():
                for done in waiting:
                    done.set()
            self._pending = {}
        if thread is not None and thread is not threading.current_thread():
            thread.join(30)
