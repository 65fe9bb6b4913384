"""The engine's IMAP side: connections, push watchers, queued syncs and account health.

Each account has one connection for syncing (kept open between syncs) and one watcher
per watched folder plus Sent. Watchers only ask for a sync; syncs run one at a time on a
queue thread, so a burst of pushes becomes one or two syncs, never a pile-up.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from threading import RLock
from typing import TYPE_CHECKING

from heard.config import ImapAccount
from heard.domain.accounts import AccountHealth
from heard.domain.clock import Clock
from heard.engine.intake import Intake, SyncReport
from heard.mail.imap import Connection, ImapError, Problem, Security, ServerSettings, connect

if TYPE_CHECKING:
    from heard.domain.clients import ClientDirectory
    from heard.mail.imap.watch import FolderWatcher

log = logging.getLogger(__name__)


def server_settings(account: ImapAccount) -> ServerSettings:
    return ServerSettings(account.host, account.port, Security(account.security),
                          account.username, account.ca_file)


def password_of(account: ImapAccount) -> str:
    from heard.system import (
        secrets,  # the keyring library costs ~40 ms: not on the tray's start path
    )

    try:
        password = secrets.get_password(account.keyring_name)
    except secrets.SecretsUnavailable as exc:
        raise ImapError(Problem.AUTH, str(exc)) from exc
    if password is None:
        raise ImapError(Problem.AUTH, (
            f"no password for {account.username}@{account.host} in the keyring; store it"
            f" with `heard account password {account.name}`"))
    return password


def open_connection(account: ImapAccount) -> Connection:
    return connect(server_settings(account), password_of(account))


class _SyncQueue:
    """Runs requested account syncs one after another on its own thread."""

    def __init__(self, run: Callable[[str], None]) -> None:
        self._run = run
        self._pending: dict[str, None] = {}
        self._wake = threading.Condition()
        self._stopped = False
        self._thread: threading.Thread | None = None

    def request(self, name: str) -> None:
        with self._wake:
            if self._stopped:
                return
            self._pending.setdefault(name, None)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="imap-sync",
                                                daemon=True)
                self._thread.start()
            self._wake.notify()

    def _loop(self) -> None:
        while True:
            with self._wake:
                while not self._pending and not self._stopped:
                    self._wake.wait()
                if self._stopped:
                    return
                name = next(iter(self._pending))
                del self._pending[name]
            try:
                self._run(name)
            except Exception:
                log.exception("sync of %s failed", name)

    def stop(self) -> None:
        with self._wake:
            self._stopped = True
            self._wake.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(30)


class ImapAccounts:
    def __init__(self, intake: Callable[[], Intake],
                 context: Callable[[], tuple[ClientDirectory, frozenset[str]]],
                 lock: RLock, clock: Clock, changed: Callable[[], None],
                 progress: Callable[[str], None],
                 saved: Callable[[AccountHealth], None] | None = None) -> None:
        self._intake = intake
        self._context = context
        self._lock = lock
        self._clock = clock
        self._changed = changed
        self._progress = progress
        self._saved = saved
        self.health: dict[str, AccountHealth] = {}
        self._health_lock = threading.Lock()
        self._connections: dict[str, Connection] = {}
        self._connection_locks: dict[str, threading.Lock] = {}
        self._watchers: list[FolderWatcher] = []
        self._parts: dict[str, dict[str, ImapError | None]] = {}
        self._reused = False
        self._queue: _SyncQueue | None = None

    # health

    def _set_health(self, account: ImapAccount, problem: ImapError | None,
                    push: bool | None = None, synced: bool = False, part: str = "sync"
                    ) -> None:
        """Record how one part (the sync connection, or a folder's watcher) fares; the
        account is online only when every part is."""
        now = self._clock.now()
        with self._health_lock:
            parts = self._parts.setdefault(account.name, {})
            parts[part] = problem
            problem = next((p for p in parts.values() if p is not None), None)
            old = self.health.get(account.name) or AccountHealth(account.name, "imap")
            online = problem is None
            new = replace(
                old, online=online, problem=problem.message if problem else "",
                since=old.since if old.online == online and old.since else now,
                push=push if push is not None else old.push,
                last_sync=now if synced else old.last_sync)
            self.health[account.name] = new
        if self._saved is not None:
            self._saved(new)
        if (old.online, old.problem, old.push) != (new.online, new.problem, new.push):
            if problem is not None:
                log.warning("%s is offline: %s", account.name, problem.message)
            else:
                log.info("%s is online", account.name)
            self._changed()

    # syncing

    def _lock_for(self, name: str) -> threading.Lock:
        with self._health_lock:
            return self._connection_locks.setdefault(name, threading.Lock())

    def sync(self, account: ImapAccount, report: SyncReport) -> None:
        with self._lock_for(account.name):
            try:
                try:
                    self._sync_once(account, report)
                except ImapError as exc:
                    # A kept connection may have died quietly (a server restart, a laptop
                    # asleep): one fresh try before calling the account offline.
                    if exc.problem is not Problem.UNREACHABLE or not self._reused:
                        raise
                    log.info("%s: reconnecting (%s)", account.name, exc.message)
                    self._drop(account.name)
                    self._sync_once(account, report)
            except ImapError as exc:
                self._drop(account.name)
                report.errors.append(f"{account.name}: {exc.message}")
                self._set_health(account, exc)
                return
            except BaseException:
                self._drop(account.name)
                raise
        self._set_health(account, None, synced=True)

    def _sync_once(self, account: ImapAccount, report: SyncReport) -> None:
        conn = self._connections.get(account.name)
        self._reused = conn is not None
        if conn is None:
            conn = self._connections[account.name] = open_connection(account)
        directory, own = self._context()
        self._intake().sync_imap(
            account, conn, directory, own, report,
            progress=lambda folder, done, total: self._progress(
                f"{account.name}: {folder} {done}/{total}"),
            apply_lock=self._lock)

    def _drop(self, name: str) -> None:
        conn = self._connections.pop(name, None)
        if conn is not None:
            conn.abort()

    def test(self, account: ImapAccount) -> AccountHealth:
        """Log in once and look for the folders; every problem in plain words."""
        try:
            conn = open_connection(account)
        except ImapError as exc:
            return AccountHealth(account.name, "imap", False, exc.message)
        try:
            missing = [f for f in account.folders if not conn.folder_exists(f)]
            notes = []
            if missing:
                notes.append(f"no folder {', '.join(map(repr, missing))} on the server")
            if conn.find_sent(account.sent_folder) is None:
                notes.append("no Sent folder found (set sent_folder)")
            if not conn.idle:
                notes.append("the server has no IDLE, so Heard checks for mail every"
                             f" {int(account.poll_every.total_seconds() // 60)} min"
                             " instead of at once")
            return AccountHealth(account.name, "imap", not missing, "; ".join(notes),
                                 push=conn.idle)
        except ImapError as exc:
            return AccountHealth(account.name, "imap", False, exc.message)
        finally:
            conn.close()

    # push

    def watch(self, accounts: list[ImapAccount], sync: Callable[[str], None]) -> None:
        from heard.mail.imap.watch import FolderWatcher

        if not accounts:
            return
        self._queue = queue = _SyncQueue(sync)
        for account in accounts:
            def find_sent(conn: Connection, account: ImapAccount = account) -> str | None:
                found = conn.find_sent(account.sent_folder)
                return None if found in account.folders else found

            def connect(account: ImapAccount = account) -> Connection:
                return open_connection(account)

            def changed(_folder: str, name: str = account.name) -> None:
                queue.request(name)

            targets: list[str | Callable[[Connection], str | None]] = [*account.folders,
                                                                         find_sent]
            for target in targets:
                label = target if isinstance(target, str) else "Sent"

                def on_state(_folder: str, problem: ImapError | None, idle: bool,
                             account: ImapAccount = account, part: str = label) -> None:
                    self._set_health(account, problem,
                                     push=idle if problem is None else None,
                                     part=f"watch:{part}")

                watcher = FolderWatcher(f"{account.name}:{label}", target, connect, changed,
                                        on_state, poll_every=account.poll_every.total_seconds())
                watcher.start()
                self._watchers.append(watcher)

    def stop(self) -> None:
        for watcher in self._watchers:
            watcher.stop()
        self._watchers = []
        if self._queue is not None:
            self._queue.stop()
            self._queue = None
        for name in list(self._connections):
            with self._lock_for(name):
                conn = self._connections.pop(name, None)
                if conn is not None:
                    conn.close()
