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

from heard.mail.imap import Connection, ImapError, Problem
from heard.mail.imap.connection import Dial

log = logging.getLogger(__name__)

# RFC 2177 asks clients to renew IDLE within 29 minutes; many servers and NAT boxes cut
# idle connections after 10, so Heard renews well before.
RENEW_AFTER = 9 * 60.0
BACKOFF_FIRST = 1.0
BACKOFF_MAX = 60.0


class FolderWatcher:
    def __init__(self, label: str, folder: str | Callable[[Connection], str | None],
                 connect: Callable[[], Connection],
                 on_change: Callable[[str], None],
                 on_state: Callable[[str, ImapError | None, bool], None],
                 poll_every: float = 120.0, renew_after: float = RENEW_AFTER,
                 also: Callable[[Connection], list[str]] | None = None) -> None:
        """`on_change(folder)` must return at once (the engine queues a sync);
        `on_state(folder, problem, idle)` reports online (problem None) or offline.
        `folder` may be a function that finds the folder once connected (Sent).
        `also` finds, once connected, other folders (Sent) to look at on the same
        connection (one-connection): by STATUS between IDLEs, after each change, at each
        renewal and every `poll_every`; one whose UIDNEXT or HIGHESTMODSEQ moved is told
        to `on_change` like the watched one."""
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
            conn, dial = self._conn, self._dial
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
                    self._on_change(self.folder)  # catch up on what came while away
                    if conn.idle:
                        self._idle(conn)
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

    def _idle(self, conn: Connection) -> None:
        conn.start_idle(self.folder)
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
