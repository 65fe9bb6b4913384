"""A TCP relay on loopback that a test can put to sleep, as a laptop's lid puts its network.

Asleep, the relay forwards nothing and closes nothing: both ends of every connection think
it is still there, as after a real suspend where the server (or a NAT box between) let go
of the connection meanwhile. A connection made before a sleep stays dead after it (what
either side sends is dropped, nothing is ever answered, nothing is ever closed); one made
after the wake works, and so does one begun during the sleep, from the wake on (TCP tries
its handshake and data again until the network is back). So a client that keeps its old
connections waits on them until its own timeouts tell it, and one that connects again at
once is served at once.
"""

from __future__ import annotations

import contextlib
import socket
import threading

from tests.support.dovecot import free_port


class _Pair:
    def __init__(self, client: socket.socket, server: socket.socket,
                 awake: threading.Event) -> None:
        self.client, self.server = client, server
        self.awake = awake
        self.dead = False

    def pump(self, src: socket.socket, dst: socket.socket) -> None:
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data:
                break
            self.awake.wait()   # (begun during the sleep: it goes on at the wake)
            if self.dead:
                continue   # dropped on the floor, like packets to a sleeping machine
            try:
                dst.sendall(data)
            except OSError:
                break
        if not self.dead:   # a real close goes through; a dead connection says nothing
            self.close()

    def close(self) -> None:
        for sock in (self.client, self.server):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


class Relay:
    """Forwards 127.0.0.1:`port` to 127.0.0.1:`target`."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.port = free_port()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._lock = threading.Lock()
        self._pairs: list[_Pair] = []
        self._awake = threading.Event()
        self._awake.set()
        self._closed = False
        self.connections = 0   # connections made through the relay, ever
        threading.Thread(target=self._accept, name="relay", daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _addr = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(("127.0.0.1", self.target), timeout=5)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            pair = _Pair(client, server, self._awake)
            with self._lock:
                if self._closed:
                    pair.close()
                    return
                self._pairs.append(pair)
                self.connections += 1
            for src, dst in ((client, server), (server, client)):
                threading.Thread(target=pair.pump, args=(src, dst), name="relay-pump",
                                 daemon=True).start()

    def sleep(self) -> None:
        """Every connection open now goes dead for good; nothing is closed."""
        with self._lock:
            self._awake.clear()
            for pair in self._pairs:
                pair.dead = True

    def wake(self) -> None:
        """New connections work again; the old ones stay dead."""
        self._awake.set()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            pairs, self._pairs = self._pairs, []
        self._awake.set()
        self._listener.close()
        for pair in pairs:
            pair.close()
