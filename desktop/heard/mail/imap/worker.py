"""One IMAP account's connections have one owner: its AccountWorker.

Every job on the account runs through the worker on a connection it keeps open: a sync, a
claim or a mark, filing a reply in Sent, fetching a client's original, the shared settings.
Nobody else opens a connection to keep, or a throwaway one for a single step (a login costs
more than most of these jobs). The push watchers (IDLE) are the worker's too, and so is the
queue of syncs they ask for.

Jobs run one at a time per lane, each on the connection of its lane:
- SYNC reads the mailbox; a first sync of a big mailbox takes seconds,
- COMMANDS is everything a click waits for (claims, marks, Sent, requests, settings),
so a long sync never holds back an acknowledgement. A job runs on the thread that asks for
it (the lane's lock keeps the connection to one thread at a time), and a job may start
another on the same lane. A kept connection that fails is dropped; the job is tried once
more on a fresh one when the failure may be the old connection's (see `run`).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import Generic, Protocol, TypeVar

from heard.mail.imap.connection import Connection, ImapError, Problem
from heard.mail.imap.watch import FolderWatcher

log = logging.getLogger(__name__)

T = TypeVar("T")


class Lane(StrEnum):
    SYNC = "sync"
    COMMANDS = "commands"


def always(_error: ImapError) -> bool:
    return True


class _Lane:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.conn: Connection | None = None


class AccountWorker:
    def __init__(self, name: str, connect: Callable[[], Connection]) -> None:
        self.name = name
        self._connect = connect
        self._lanes = {lane: _Lane() for lane in Lane}
        self._watchers: list[FolderWatcher] = []
        self._syncs: _SyncRequests | None = None
        self._closed = False

    def run(self, job: Callable[[Connection], T], lane: Lane = Lane.COMMANDS,
            retry: Callable[[ImapError], bool] = always) -> T:
        """Run `job` on the lane's kept connection (made on first use) and return what it
        returns. Any failure drops the connection. An ImapError on a connection that was
        kept from before, and that `retry` accepts, runs the job once more on a new one:
        a kept connection may have died quietly (a server restart, a laptop asleep).
        Every job must therefore be safe to run twice."""
        state = self._lanes[lane]
        with state.lock:
            for attempt in (1, 2):
                if self._closed:
                    raise ImapError(Problem.UNREACHABLE, f"{self.name}: Heard is stopping")
                conn = state.conn
                fresh = conn is None
                if conn is None:
                    conn = state.conn = self._connect()
                try:
                    return job(conn)
                except ImapError as exc:
                    self._drop(state)
                    if fresh or attempt == 2 or not retry(exc):
                        raise
                    log.info("%s: reconnecting (%s)", self.name, exc.message)
                except BaseException:
                    self._drop(state)
                    raise
            raise AssertionError("unreachable")

    def drop(self, lane: Lane) -> None:
        """Forget the lane's connection (the next job logs in afresh)."""
        with self._lanes[lane].lock:
            self._drop(self._lanes[lane])

    @staticmethod
    def _drop(state: _Lane) -> None:
        conn, state.conn = state.conn, None
        if conn is not None:
            conn.abort()

    # push

    def watch(self, watchers: Iterable[FolderWatcher], sync: Callable[[], None]) -> None:
        """Start the account's watchers; what they report is a sync asked for, run on the
        worker's own thread (a burst of pushes becomes one or two syncs, never a pile-up)."""
        self._syncs = _SyncRequests(self.name, sync)
        for watcher in watchers:
            watcher.start()
            self._watchers.append(watcher)

    def request_sync(self) -> None:
        if self._syncs is not None:
            self._syncs.request()

    def stop_watching(self) -> None:
        for watcher in self._watchers:
            watcher.stop()
        self._watchers = []
        if self._syncs is not None:
            self._syncs.stop()
            self._syncs = None

    def close(self) -> None:
        """Stop watching and log out (waiting for a job still running on a lane)."""
        self.stop_watching()
        self._closed = True
        for state in self._lanes.values():
            with state.lock:
                conn, state.conn = state.conn, None
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.close()


class _SyncRequests:
    """Syncs asked for by the watchers, run one after another on one thread of the
    worker's; a request while one waits is the same request."""

    def __init__(self, name: str, sync: Callable[[], None]) -> None:
        self._name = name
        self._sync = sync
        self._pending = False
        self._wake = threading.Condition()
        self._stopped = False
        self._thread: threading.Thread | None = None

    def request(self) -> None:
        with self._wake:
            if self._stopped:
                return
            self._pending = True
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name=f"imap-sync {self._name}",
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
                self._pending = False
            try:
                self._sync()
            except Exception:
                log.exception("sync of %s failed", self._name)

    def stop(self) -> None:
        with self._wake:
            self._stopped = True
            self._wake.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(30)


class Named(Protocol):
    @property
    def name(self) -> str: ...


A = TypeVar("A", bound=Named)


class Workers(Generic[A]):
    """The workers of the configured accounts, one per account, made on first use. An
    account whose settings change gets a new worker (the old one logs out)."""

    def __init__(self, connect: Callable[[A], Connection]) -> None:
        self._connect = connect
        self._lock = threading.Lock()
        self._workers: dict[str, tuple[A, AccountWorker]] = {}

    def of(self, account: A) -> AccountWorker:
        stale = None
        with self._lock:
            known = self._workers.get(account.name)
            if known is not None and known[0] == account:
                return known[1]
            if known is not None:
                stale = known[1]
            worker = AccountWorker(account.name, lambda: self._connect(account))
            self._workers[account.name] = (account, worker)
        if stale is not None:
            stale.close()
        return worker

    def known(self, name: str) -> AccountWorker | None:
        with self._lock:
            found = self._workers.get(name)
        return found[1] if found else None

    def retain(self, accounts: Iterable[A]) -> None:
        """Close the workers of accounts no longer configured (or configured anew)."""
        keep = {a.name: a for a in accounts}
        with self._lock:
            gone = [(name, w) for name, (a, w) in self._workers.items() if keep.get(name) != a]
            for name, _worker in gone:
                del self._workers[name]
        for _name, worker in gone:
            worker.close()

    def close(self) -> None:
        with self._lock:
            workers, self._workers = [w for _a, w in self._workers.values()], {}
        for worker in workers:
            worker.close()
