"""Push from IMAP: one thread per watched folder waits in IDLE and says when to sync.

The watcher never reads mail itself; it only tells the engine "something changed in this
folder" (after every (re)connection too, so whatever arrived while offline is caught up
by UID). IDLE is renewed before servers cut it; a server without IDLE is polled. A lost
connection is reported and retried with growing pauses, so the engine can show the
account as offline instead of a silently wrong count. After the machine slept, the
connection may be dead without knowing it (TCP keepalive would take about two minutes to
tell): `reconnect()` drops it and connects again at once, with no offline report and no
pause.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Protocol

from heard.mail.imap import Connection, FolderState, ImapError, Problem
from heard.mail.imap.connection import Dial

log = logging.getLogger(__name__)

# RFC 2177 asks clients to renew IDLE within 29 minutes; many servers and NAT boxes cut
# idle connections after 10, so Heard renews well before.
RENEW_AFTER = 9 * 60.0
BACKOFF_FIRST = 1.0
BACKOFF_MAX = 60.0


class Lender(Protocol):
    """Where the watcher lends its connection for the catch-up sync (the account's
    worker: AccountWorker.lend and take_back)."""

    def lend(self, conn: Connection) -> None: ...

    def take_back(self, conn: Connection) -> bool: ...


class FolderWatcher:
    def __init__(self, label: str, folder: str | Callable[[Connection], str | None],
                 connect: Callable[[], Connection],
                 on_change: Callable[[str], None],
                 on_state: Callable[[str, ImapError | None, bool], None],
                 poll_every: float = 120.0, renew_after: float = RENEW_AFTER,
                 also: Callable[[Connection], list[str]] | None = None,
                 catch_up: Callable[[str], threading.Event] | None = None,
                 lender: Lender | None = None) -> None:
        """`on_change(folder)` must return at once (the engine queues a sync);
        `on_state(folder, problem, idle)` reports online (problem None) or offline.
        `folder` may be a function that finds the folder once connected (Sent).
        `also` finds, once connected, other folders (Sent) to look at on the same
        connection (one-connection): by STATUS between IDLEs, after each change, at each
        renewal and every `poll_every`; one whose UIDNEXT or HIGHESTMODSEQ moved is told
        to `on_change` like the watched one.
        With `catch_up` and `lender`, the catch-up after each (re)connection runs on the
        watcher's own connection (one login per account): lent to `lender`, the sync
        `catch_up(folder)` asks for (its event set when done) takes it, and the watcher
        takes it back before it IDLEs; what the sync saw (Connection.seen) tells whether
        anything came between the sync and the IDLE."""
        self.label = label
        self._folder = folder
        self.folder = folder if isinstance(folder, str) else ""
        self._connect = connect
        self._on_change = on_change
        self._on_state = on_state
        self.poll_every = poll_every
        self.renew_after = renew_after
        self._stopped = threading.Event()
        self._restart = threading.Event()   # reconnect() asked: a new connection, now
        self._wake = threading.Event()      # ends a pause early (stop, reconnect)
        self._also = also
        self._catch_up = catch_up
        self._lender = lender
        self._waiting: threading.Event | None = None   # the catch-up sync's end
        self._others: dict[str, object] = {}   # folder -> its last STATUS
        self._conn: Connection | None = None
        self._dial: Dial | None = None   # the connection being made
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"imap-watch {label}",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopped.set()
        self._wake.set()
        self._cut()  # wakes the thread out of IDLE, or out of connecting, at once
        self._thread.join(timeout)

    def reconnect(self) -> None:
        """Drop the connection and connect again at once (from another thread): after a
        sleep it may be dead without knowing it. Not a failure: nothing is reported, and
        the reconnection's catch-up asks for a sync as after any reconnection."""
        self._restart.set()
        self._wake.set()
        self._cut()

    def _cut(self) -> None:
        """Abort the connection, or give up the one being made (it may wait on a dead
        socket until TIMEOUT: a login begun before a sleep)."""
        with self._lock:
            conn, dial, waiting = self._conn, self._dial, self._waiting
        if waiting is not None:
            waiting.set()   # stop waiting for the catch-up sync
        if dial is not None:
            dial.give_up()
        if conn is not None:
            conn.abort()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        delay = BACKOFF_FIRST
        while not self._stopped.is_set():
            self._restart.clear()
            self._wake.clear()
            dial = Dial(self._connect, name=f"imap-dial {self.label}")
            with self._lock:
                self._dial = dial
            try:
                made = dial.wait()
            except ImapError as exc:
                self._report(exc)
            else:
                if made is None:
                    continue   # given up (stop, reconnect): at once
                conn = made
                with self._lock:
                    self._conn, self._dial = conn, None
                if self._stopped.is_set() or self._restart.is_set():
                    conn.abort()   # (a reconnect() while connecting: that one may be stale)
                try:
                    if not isinstance(self._folder, str):
                        found = self._folder(conn)
                        if found is None:
                            log.info("%s: nothing to watch", self.label)
                            return
                        self.folder = found
                    if self._also is not None:
                        self._others = {f: conn.status(f) for f in self._also(conn)
                                        if f != self.folder}
                    delay = BACKOFF_FIRST
                    self._on_state(self.folder, None, conn.idle)
                    # Catch up on what came while away.
                    lent = self._catch_up is not None and self._lender is not None
                    if lent:
                        if not self._caught_up(conn):
                            continue   # stopping, or reconnecting
                    else:
                        self._on_change(self.folder)
                    if conn.idle:
                        self._idle(conn, lent)
                    else:
                        self._poll(conn)
                except ImapError as exc:
                    self._report(exc)
                except Exception as exc:  # a bug must not end push for good
                    log.exception("%s: watcher failed", self.label)
                    self._report(ImapError(Problem.PROTOCOL, f"unexpected failure: {exc}"))
                finally:
                    with self._lock:
                        self._conn = self._dial = None
                    conn.close() if not self._stopped.is_set() else conn.abort()
            if self._restart.is_set():
                delay = BACKOFF_FIRST   # asked to reconnect: at once
                continue
            # Growing pauses with jitter, so many clients do not reconnect in step.
            self._wake.wait(delay * random.uniform(0.8, 1.2))
            delay = min(delay * 2, BACKOFF_MAX)

    def _report(self, exc: ImapError) -> None:
        if self._stopped.is_set() or self._restart.is_set():
            return   # stopping, or a reconnection asked for: no failure to tell
        log.warning("%s: %s", self.label, exc.message)
        self._on_state(self.folder, exc, False)

    def _caught_up(self, conn: Connection) -> bool:
        """The catch-up sync, run on this connection (lent to the worker, taken back):
        False if the watcher is stopping or reconnecting meanwhile; an ImapError if the
        connection did not come back (a job failed on it)."""
        assert self._catch_up is not None and self._lender is not None
        self._lender.lend(conn)
        try:
            done = self._catch_up(self.folder)
            with self._lock:
                self._waiting = done
            if self._stopped.is_set() or self._restart.is_set():
                return False
            done.wait()   # (stop() and reconnect() set it too)
        finally:
            with self._lock:
                self._waiting = None
            back = self._lender.take_back(conn)
        if self._stopped.is_set() or self._restart.is_set():
            return False
        if not back:
            raise ImapError(Problem.UNREACHABLE,
                            "the connection lent to the catch-up sync was lost")
        # What the sync saw of the other folders is where their changes count from.
        for folder in self._others:
            if folder in conn.seen:
                self._others[folder] = conn.seen[folder]
        return True

    def _idle(self, conn: Connection, lent: bool = False) -> None:
        state: FolderState = conn.start_idle(self.folder)
        if lent and state != conn.seen.get(self.folder):
            # Something came between the catch-up sync (on this connection) and the
            # IDLE, which reports only what comes after it.
            self._on_change(self.folder)
        every = min(self.renew_after, self.poll_every) if self._others else self.renew_after
        while not self._wake.is_set():
            deadline = time.monotonic() + every
            changed = False
            while not self._wake.is_set() and not changed:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                changed = conn.wait(left)
            if self._wake.is_set():
                return   # stopping, or reconnecting
            # DONE then IDLE again on the same session: nothing that arrives in between
            # is missed, because the session's view of the folder carries on.
            changed = conn.end_idle() or changed
            if changed:
                self._on_change(self.folder)
            self._look_at_others(conn)
            conn.renew_idle()

    def _look_at_others(self, conn: Connection) -> None:
        """STATUS of the other folders on this connection (one-connection): one that
        moved is a change like the watched folder's."""
        for folder, before in list(self._others.items()):
            now = conn.status(folder)
            if now != before:
                self._others[folder] = now
                self._on_change(folder)

    def _poll(self, conn: Connection) -> None:
        while not self._wake.wait(self.poll_every):
            conn.noop()  # fails fast on a dead connection, so the account shows offline
            self._on_change(self.folder)
            for folder in self._others:
                self._on_change(folder)
