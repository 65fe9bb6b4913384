"""One Heard per profile, the Qt side: a start hands over to the Heard already running on
its profile (`hand_over`), or listens on the profile's local socket (`Listener`) for a
second start ("show") and for CLI commands that changed the store ("refresh").
heard.system.instance names the socket and is the CLI's Qt-free client of it."""

from __future__ import annotations

import logging
import os

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from heard.system.instance import peer_uid

log = logging.getLogger(__name__)

# A running Heard answers at once; one that does not within this is hung or gone.
CONNECT_MS = 300


def _answers(name: str) -> QLocalSocket | None:
    """A socket connected to whoever listens on `name`, or None when nobody does."""
    socket = QLocalSocket()
    socket.connectToServer(name)
    if not socket.waitForConnected(CONNECT_MS):
        return None
    return socket


def hand_over(name: str) -> bool:
    """If Heard already runs on this profile, ask it to show its window. True if it did."""
    socket = _answers(name)
    if socket is None:
        return False
    socket.write(b"show\n")
    socket.waitForBytesWritten(CONNECT_MS)
    socket.disconnectFromServer()
    return True


class Listener(QObject):
    """The running Heard's end of the socket."""

    show_requested = Signal()      # a second `heard` was started: show the window
    refresh_requested = Signal()   # a CLI command changed the store: read the status again

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self._server = QLocalServer(self)
        self._server.newConnection.connect(self._connected)

    def listen(self) -> str | None:
        """Listen on the socket: None when it does, else why not, in words. A socket some
        Heard answers on is never taken from it; one nobody answers on is left from a crash,
        and would block listening, so it is removed first."""
        if self._server.isListening():
            return None
        other = _answers(self.name)
        if other is not None:
            other.disconnectFromServer()   # said nothing: it takes that as no request
            return (f"another Heard already listens on {self.name}: a second start or a"
                    " command will reach that one, not this one")
        QLocalServer.removeServer(self.name)
        # Only this user may connect (the folder is private too: see system/instance).
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not self._server.listen(self.name):
            return (f"cannot listen on {self.name} ({self._server.errorString()}): a second"
                    " start will not find this Heard, and commands will not refresh it")
        return None

    def close(self) -> None:
        self._server.close()

    def _connected(self) -> None:
        socket = self._server.nextPendingConnection()
        if socket is None:
            return
        peer = peer_uid(int(socket.socketDescriptor()))
        if peer is not None and hasattr(os, "getuid") and peer != os.getuid():
            log.warning("instance: a process of user %s tried to reach this Heard; refused",
                        peer)
            socket.abort()
            socket.deleteLater()
            return

        # A method, not a closure over the socket: a Python reference to it from its own
        # connection would make deleting it crash in the bindings.
        socket.readyRead.connect(self._read)
        # The server owns each connection until it is deleted: a tray that every command
        # tells "refresh" would otherwise keep all of them for its life.
        socket.disconnected.connect(socket.deleteLater)

    def _read(self) -> None:
        socket = self.sender()
        if not isinstance(socket, QLocalSocket):
            return
        for line in bytes(socket.readAll().data()).splitlines():
            if line.strip() == b"refresh":
                log.info("instance: a command changed the store; refreshing")
                self.refresh_requested.emit()
            else:
                log.info("instance: another start asked for the window")
                self.show_requested.emit()
