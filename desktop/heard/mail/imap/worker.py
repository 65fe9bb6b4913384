"""One IMAP account's connections have one owner: its AccountWorker.

Every job on the account runs through the worker on a connection it keeps open: a sync, a
claim or a mark, filing a reply in Sent, fetching a client's original, the shared settings.
Nobody else opens a connection to keep, or a throwaway one for a single step (a login costs
more than most of these jobs). The push watchers (IDLE) are the worker's too; the syncs they
ask for are queued by the engine (one after another, whichever account asked).

Jobs run one at a time per lane, each on the connection of its lane, made when a job needs
it and let go LINGER seconds after the last one (so at idle an account holds only its
watcher's connection, in IDLE; the watcher takes a kept connection rather than log in
(`hand_over`), and lends its own to the catch-up sync it asks for (`lend`, `take_back`),
so an account logs in once at start):
- SYNC reads the mailbox; a first sync of a big mailbox takes seconds,
- COMMANDS is everything else: what a click waits for (claims, marks, requests, shared
  settings) and the outbox's filing of a sent reply in Sent and of its original,
so a long sync never holds back an acknowledgement (the price: filing in Sent waits for a
claim, and the other way round; both take milliseconds). A job runs on the thread that asks
for it; the lane's lock keeps the connection to one thread at a time, and is reentrant so
that a job which asks for another on its own lane runs it on the same connection rather
than waiting for itself. A kept connection that fails is dropped; the job is tried once
more on a fresh one when the failure may be the old connection's (see `run`).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import Generic, Protocol, TypeVar

from heard.mail.imap.connection import Connection, Dial, ImapError, Problem
from heard.mail.imap.watch import FolderWatcher

log = logging.getLogger(__name__)

T = TypeVar("T")


class Lane(StrEnum):
    SYNC = "sync"
    COMMANDS = "commands"


def always(_error: ImapError) -> bool:
    return True


# A lane's connection is let go this long after its last job (one-connection): at idle an
# account holds only its watcher's connection; a burst of jobs shares one login.
LINGER = 30.0


class _Lane:
    def __init__(self) -> None:
        self.lock = threading.RLock()    # one job at a time
        # conn, dial and resets, which reconnect() changes without waiting for the job
        self.guard = threading.Lock()
        self.conn: Connection | None = None
        self.dial: Dial | None = None    # the lane's connection being made
        self.resets = 0                  # reconnect()s so far
        self.depth = 0                   # jobs running (a job may ask for another)
        self.timer: threading.Timer | None = None


class AccountWorker:
    def __init__(self, name: str, connect: Callable[[], Connection],
                 linger: float = LINGER) -> None:
        self.name = name
        self.linger = linger
        self._connect = connect
        self._lanes = {lane: _Lane() for lane in Lane}
        self._watchers: list[FolderWatcher] = []
        self._closed: str | None = None   # why the worker takes no more jobs
        # The watcher's connection lent for its catch-up sync (lend): the next job that
        # needs a connection takes it, as a lane's kept one (one login at start).
        self._spare_guard = threading.Lock()
        self._spare: Connection | None = None

    def run(self, job: Callable[[Connection], T], lane: Lane = Lane.COMMANDS,
            retry: Callable[[ImapError], bool] = always) -> T:
        """Run `job` on the lane's kept connection (made on first use) and return what it
        returns. Any failure drops the connection. An ImapError on a connection that was
        kept from before, and that `retry` accepts, runs the job once more on a new one:
        a kept connection may have died quietly (a server restart, a laptop asleep).
        Every job must therefore be safe to run twice."""
        state = self._lanes[lane]
        with state.lock:
            state.depth += 1
            try:
                return self._run(state, job, retry)
            finally:
                state.depth -= 1
                self._let_go_later(state)

    def _let_go_later(self, state: _Lane) -> None:
        """Close the lane's connection `linger` seconds after this job, unless another job
        comes first (one-connection)."""
        if state.timer is not None:
            state.timer.cancel()
        if state.conn is None or self._closed is not None:
            state.timer = None
            return
        timer = state.timer = threading.Timer(self.linger, self._let_go, (state, state.conn))
        timer.daemon = True
        timer.start()

    def _let_go(self, state: _Lane, conn: Connection) -> None:
        if not state.lock.acquire(blocking=False):
            return   # a job runs on it: it sets its own timer when done
        try:
            with state.guard:
                if state.conn is not conn:
                    return
                state.conn = None
        finally:
            state.lock.release()
        with contextlib.suppress(Exception):
            conn.close()   # logs out

    def _run(self, state: _Lane, job: Callable[[Connection], T],
             retry: Callable[[ImapError], bool]) -> T:
        with state.lock:
            for attempt in (1, 2):
                if self._closed is not None:
                    raise ImapError(Problem.UNREACHABLE, f"{self.name}: {self._closed}")
                with state.guard:
                    conn, resets = state.conn, state.resets
                if conn is None and (conn := self._borrow(state)) is not None \
                        and state.resets != resets:
                    self._drop(state)   # reconnect() came while it moved: it may be dead
                    conn = None
                fresh = conn is None
                if conn is None:
                    conn = self._dial(state)
                try:
                    return job(conn)
                except ImapError as exc:
                    self._drop(state)
                    # A new connection that fails is the server's answer, unless
                    # reconnect() cut it under the job (the machine woke meanwhile).
                    woke = state.resets != resets
                    if (fresh and not woke) or attempt == 2 or not retry(exc):
                        raise
                    log.info("%s: reconnecting (%s)", self.name, exc.message)
                except BaseException:
                    self._drop(state)
                    raise
            raise AssertionError("unreachable")

    def _borrow(self, state: _Lane) -> Connection | None:
        """The watcher's connection lent to the worker, or the kept connection of a lane
        with no job running, moved to this one (the lane's lock held): a claim after a
        sync, or a sync after a claim, needs no login of its own (one-connection)."""
        with self._spare_guard:
            conn, self._spare = self._spare, None
        if conn is not None:
            with state.guard:
                state.conn = conn
            return conn
        for other in self._lanes.values():
            if other is state or not other.lock.acquire(blocking=False):
                continue
            try:
                if other.depth:
                    continue   # this thread's own job runs on it (a job inside a job)
                with other.guard:
                    conn, other.conn = other.conn, None
                    if other.timer is not None:
                        other.timer.cancel()
                        other.timer = None
            finally:
                other.lock.release()
            if conn is not None:
                with state.guard:
                    state.conn = conn
                return conn
        return None

    def _dial(self, state: _Lane) -> Connection:
        """A new connection for the lane (the lane's lock held). One being made when
        reconnect() comes may wait on a dead socket until TIMEOUT: it is given up and
        another made at once."""
        while True:
            with state.guard:
                if self._closed is not None:
                    raise ImapError(Problem.UNREACHABLE, f"{self.name}: {self._closed}")
                dial = state.dial = Dial(self._connect, name=f"imap-dial {self.name}")
            try:
                conn = dial.wait()
            except BaseException:
                with state.guard:
                    state.dial = None
                raise
            with state.guard:
                state.dial = None
                if conn is not None and not dial.given_up:
                    state.conn = conn
                    return conn
            if conn is not None:
                conn.abort()
            log.info("%s: connecting again (the last attempt may be dead)", self.name)

    @staticmethod
    def _drop(state: _Lane) -> None:
        with state.guard:
            conn, state.conn = state.conn, None
        if conn is not None:
            conn.abort()

    # push: the watcher's connection comes from the worker and goes back to it

    def hand_over(self) -> Connection | None:
        """A kept connection no job is running on, taken out of the worker for good (the
        watcher IDLEs on it: the catch-up sync's connection needs no second login), or
        None."""
        for state in self._lanes.values():
            if not state.lock.acquire(blocking=False):
                continue
            try:
                if state.depth:
                    continue
                with state.guard:
                    conn, state.conn = state.conn, None
                    if state.timer is not None:
                        state.timer.cancel()
                        state.timer = None
            finally:
                state.lock.release()
            if conn is not None:
                return conn
        return None

    def lend(self, conn: Connection) -> None:
        """The watcher's connection, not needed until it IDLEs: the next job on either lane
        that has no connection runs on it (instead of logging in), until `take_back`."""
        with self._spare_guard:
            self._spare = conn

    def take_back(self, conn: Connection) -> bool:
        """The lent connection back, once the job running on it is done (waits for it).
        False if it is gone: a job failed on it, reconnect() dropped it, or it was let go."""
        with self._spare_guard:
            if self._spare is conn:
                self._spare = None
                return True
        # Twice: a job on one lane may move it to the other (_borrow) between two looks.
        for state in [*self._lanes.values()] * 2:
            with state.lock, state.guard:   # the lock: the job on it, done
                if state.conn is conn:
                    state.conn = None
                    if state.timer is not None:
                        state.timer.cancel()
                        state.timer = None
                    return True
        return False

    def watch(self, watchers: Iterable[FolderWatcher]) -> None:
        """Start the account's watchers (they stop with the worker)."""
        if self._closed is not None:
            raise ImapError(Problem.UNREACHABLE, f"{self.name}: {self._closed}")
        for watcher in watchers:
            watcher.start()
            self._watchers.append(watcher)

    def stop_watching(self) -> None:
        for watcher in self._watchers:
            watcher.stop()
        self._watchers = []

    def reconnect(self) -> None:
        """The machine woke up: every kept connection may be dead without knowing it (TCP
        keepalive would take about two minutes to tell). Drop them, without a word to the
        server (it may not answer): a job running on one fails at once and runs again on a
        new connection (see `run`), the next job connects afresh, a connection being made
        is given up for a new one (Dial); and each watcher connects again now."""
        # Every lane at once, under all their guards: a lane moving another's kept
        # connection to itself (_borrow) between two lanes' turns would otherwise carry a
        # dead one past both, unseen (its job then waited out the socket's timeout).
        with contextlib.ExitStack() as held:
            for state in self._lanes.values():
                held.enter_context(state.guard)
            taken = []
            for state in self._lanes.values():
                state.resets += 1
                taken.append((state.conn, state.dial))
                state.conn = None
        with self._spare_guard:   # (the watcher that lent it reconnects too)
            taken.append((self._spare, None))
            self._spare = None
        for conn, dial in taken:
            if dial is not None:
                dial.give_up()   # a login begun before the sleep: another one, now
            if conn is not None:
                conn.abort()     # a job on it fails now and runs again on a new one
        for watcher in self._watchers:
            watcher.reconnect()

    def close(self, why: str = "Heard is stopping") -> None:
        """Stop watching and log out (waiting for a job still running on a lane); a job
        asked for afterwards fails, saying `why`."""
        self.stop_watching()
        self._closed = why
        with self._spare_guard:
            self._spare = None   # (its watcher, stopped, logs it out)
        for state in self._lanes.values():
            with state.guard:
                dial = state.dial
            if dial is not None:
                dial.give_up()   # its job fails now, saying `why`
            with state.lock, state.guard:
                conn, state.conn = state.conn, None
                if state.timer is not None:
                    state.timer.cancel()
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.close()


class Named(Protocol):
    @property
    def name(self) -> str: ...


A = TypeVar("A", bound=Named)


class Workers(Generic[A]):
    """The workers of the configured accounts, one per account, made on first use. An
    account whose settings change gets a new worker when the engine takes up the settings
    (`retain`; the old one logs out and stops its watchers)."""

    def __init__(self, connect: Callable[[A], Connection]) -> None:
        self._connect = connect
        self._lock = threading.Lock()
        self._workers: dict[str, tuple[A, AccountWorker]] = {}

    def of(self, account: A) -> AccountWorker:
        """The account's worker (made for it if it has none). Only `retain` replaces a
        worker: a job never closes another's connection, or its watchers, on the way."""
        with self._lock:
            known = self._workers.get(account.name)
            if known is not None:
                return known[1]
            worker = AccountWorker(account.name, lambda: self._connect(account),
                                   linger=LINGER)
            self._workers[account.name] = (account, worker)
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
        for name, worker in gone:
            worker.close("its settings changed; try again" if name in keep
                         else "it is no longer set up")

    def reconnect(self) -> None:
        """Every worker's connections anew (AccountWorker.reconnect)."""
        with self._lock:
            workers = [w for _a, w in self._workers.values()]
        for worker in workers:
            worker.reconnect()

    def close(self) -> None:
        with self._lock:
            workers, self._workers = [w for _a, w in self._workers.values()], {}
        for worker in workers:
            worker.close()
