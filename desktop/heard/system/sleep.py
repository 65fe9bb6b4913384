"""When the machine wakes up: logind's PrepareForSleep signal on the D-Bus system bus.

systemd-logind (and elogind) sends `org.freedesktop.login1.Manager.PrepareForSleep(true)`
before a suspend or hibernation and `PrepareForSleep(false)` after the resume. After a
resume every TCP connection may be dead without knowing it (the server or a NAT box let
go of it meanwhile) and TCP keepalive takes about two minutes to tell; SleepWatcher calls
`on_resume` at once instead, on a thread of its own, so the tray can reconnect and catch
up (heard.engine.Engine.resumed).

Optional by nature: without a system bus (a container, another platform) or without
logind on it, nothing is ever said, start() says why in the log, and the connections
notice on their own as before. Spoken with jeepney (pure Python, already Heard's way to the
notification server), never Qt: the engine and the tray may both use it.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jeepney.io.blocking import DBusConnection  # type: ignore[import-untyped]

log = logging.getLogger(__name__)

LOGIND = "org.freedesktop.login1"
LOGIND_PATH = "/org/freedesktop/login1"
MANAGER = "org.freedesktop.login1.Manager"
SIGNAL = "PrepareForSleep"


class SleepWatcher:
    """Calls `on_resume()` after each resume from sleep (logind's PrepareForSleep(false)
    on `bus`: "SYSTEM", or a bus address for tests), and `on_sleep()`, if given, as the
    machine goes to sleep. A failure of either is logged and the watcher goes on
    listening."""

    def __init__(self, on_resume: Callable[[], None], bus: str = "SYSTEM",
                 on_sleep: Callable[[], None] | None = None) -> None:
        self._on_resume = on_resume
        self._on_sleep = on_sleep
        self._bus = bus
        self._conn: DBusConnection | None = None
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def listening(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> bool:
        """Listen from now on; False (and a line in the log) when there is no bus to listen
        on. Blocks for one round trip to the bus."""
        try:
            from jeepney import MatchRule  # type: ignore[import-untyped]
            from jeepney.bus_messages import message_bus  # type: ignore[import-untyped]
            from jeepney.io.blocking import Proxy, open_dbus_connection
        except ImportError as exc:   # not installed on this platform
            log.info("resume from sleep is not noticed here: %s", exc)
            return False
        try:
            conn = open_dbus_connection(bus=self._bus)
        except Exception as exc:   # no bus: KeyError, OSError, an auth error, ...
            log.info("resume from sleep is not noticed: no D-Bus %s bus (%s)",
                     self._bus.lower() if self._bus == "SYSTEM" else self._bus, exc)
            return False
        # The bus routes only logind's own signal to us (it knows which connection owns
        # the name); the local filter then needs no sender (messages carry the owner's
        # unique name, not the well-known one).
        rule = MatchRule(type="signal", interface=MANAGER, member=SIGNAL, path=LOGIND_PATH)
        queue = conn.filter(rule, bufsize=16)
        try:
            Proxy(message_bus, conn, timeout=10).AddMatch(
                MatchRule(type="signal", sender=LOGIND, interface=MANAGER, member=SIGNAL,
                          path=LOGIND_PATH))
        except Exception as exc:
            conn.close()
            log.info("resume from sleep is not noticed: the bus refused to listen (%s)", exc)
            return False
        self._conn = conn
        self._thread = threading.Thread(target=self._run, args=(conn, queue.queue),
                                        name="sleep-watcher", daemon=True)
        self._thread.start()
        log.info("listening for resume from sleep (%s)", LOGIND)
        return True

    def _run(self, conn: DBusConnection, queue: object) -> None:
        while not self._stopped.is_set():
            try:
                message = conn.recv_until_filtered(queue)
            except Exception as exc:   # the bus went away, or stop() closed the socket
                if not self._stopped.is_set():
                    log.warning("no longer listening for resume from sleep: %s", exc)
                return
            resumed = message.body == (False,)
            log.info("resumed from sleep" if resumed else "going to sleep")
            act = self._on_resume if resumed else self._on_sleep
            try:
                if act is not None:
                    act()
            except Exception:
                log.exception("after the %s", "resume from sleep" if resumed else
                              "signal that the machine goes to sleep")

    def stop(self, timeout: float = 5.0) -> None:
        self._stopped.set()
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(OSError):   # wakes the thread out of its read at once
                conn.sock.shutdown(socket.SHUT_RDWR)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        if conn is not None:
            conn.close()
