"""logind on a private D-Bus, for tests: a connection that takes logind's name and says
what logind says around a suspend (org.freedesktop.login1.Manager.PrepareForSleep)."""

from __future__ import annotations

from jeepney import DBusAddress, new_signal  # type: ignore[import-untyped]
from jeepney.bus_messages import message_bus  # type: ignore[import-untyped]
from jeepney.io.blocking import (  # type: ignore[import-untyped]
    DBusConnection,
    Proxy,
    open_dbus_connection,
)

from heard.system.sleep import LOGIND, LOGIND_PATH, MANAGER, SIGNAL

MANAGER_ADDRESS = DBusAddress(LOGIND_PATH, interface=MANAGER)


class Logind:
    """On `bus_address`; it speaks as anyone until `become()` takes logind's name."""

    def __init__(self, bus_address: str) -> None:
        self.conn: DBusConnection = open_dbus_connection(bus=bus_address)

    def become(self) -> None:
        (reply,) = Proxy(message_bus, self.conn, timeout=10).RequestName(LOGIND, 0)
        assert reply == 1, reply   # the primary owner

    def say(self, sleeping: bool) -> None:
        """PrepareForSleep(True): the machine goes to sleep; (False): it woke up."""
        self.conn.send(new_signal(MANAGER_ADDRESS, SIGNAL, "b", (sleeping,)))

    def close(self) -> None:
        self.conn.close()
