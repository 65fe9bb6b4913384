"""Toasts on the desktop: one small interface, three ways to show them, best first.

1. Freedesktop notifications over D-Bus (`org.freedesktop.Notifications`), where a
   notification server runs on the session bus: action buttons ("Acknowledge", "Open", ...)
   where the server supports actions, hints (urgency, category, desktop entry), and
   `replaces_id`, so a toast is updated in place instead of stacking.
2. plyer, where it has a working backend of its own (Windows; a Flatpak's portal): no
   actions. On other Linux desktops plyer would only go through the same notification server,
   so it is not offered there.
3. Qt's own tray message (`QSystemTrayIcon.showMessage`): a click opens the window.

What a toast says is text: titles and bodies carry subjects and names from mail, so they are
kept to printable characters and a sensible length (`heard.domain.naming.shown`), and the
body is escaped for a server that reads markup in it (`body-markup` among its capabilities,
as dunst's is), so `<span size="xx-large">Wire 50k</span>` shows as written. Heard keeps at
most `MAX_ON_SCREEN` toasts on screen: a later one in a slot not already there joins a
summary toast ("Heard: 2 more") instead of stacking, and at exit every one is closed.

The D-Bus client speaks the protocol with jeepney (pure Python), on the GUI thread: its
socket is watched by a QSocketNotifier, and nothing ever waits for a reply. QtDBus cannot be
used from PySide6 here: PySide marshals a Python int only as a 16- or 32-bit signed or 16-bit
unsigned integer, and Notify's `replaces_id` must be a uint32 (servers reject the call with
"Type of message (sisssasa{sv}i) does not match expected type (susssasa{sv}i)"), as its
urgency hint must be a byte. The session probe (connect, is there a server, what can it do)
is plain blocking I/O and runs off the GUI thread (`probe_dbus`).
"""

from __future__ import annotations

import html
import itertools
import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QSocketNotifier, Signal
from PySide6.QtWidgets import QSystemTrayIcon

from heard.domain.naming import shown

if TYPE_CHECKING:
    from jeepney.io.blocking import DBusConnection  # type: ignore[import-untyped]

log = logging.getLogger(__name__)

BUS_NAME = "org.freedesktop.Notifications"
OBJECT_PATH = "/org/freedesktop/Notifications"
APP_NAME = "Heard"
DESKTOP_ENTRY = "heard"
# How long a toast of the plyer or tray path is taken to stay on screen.
SHOWN_FOR_S = 10.0
PROBE_TIMEOUT_S = 2.0
# At most this many of Heard's toasts on screen, the summary of the rest included.
MAX_ON_SCREEN = 4
MORE_SLOT = "more"
# How long closing waits for the ids of toasts still on their way, to close them too.
CLOSE_WAIT_S = 1.0
TITLE_CHARS = 120
BODY_CHARS = 600
# NotificationClosed reasons (the spec): 1 expired, 2 dismissed, 3 closed by a call, 4 other.


@dataclass(frozen=True)
class Note:
    """One toast as the desktop shows it."""

    title: str
    text: str = ""
    actions: tuple[tuple[str, str], ...] = ()   # (key, label); "default": a click on it
    urgent: bool = False                        # critical urgency: stays until dismissed
    slot: str = ""             # a later note in the same slot replaces this one on screen
    ref: object = None         # handed back with its actions
    timeout_ms: int = -1       # -1: as the server likes; 0: until the user closes it
    category: str = "im.received"
    resident: bool = False     # stays until seen (not closed by the server on an action)

    def clean(self) -> Note:
        """The note with text fit to show: no control characters or bidi overrides from
        mail, titles on one line, nothing longer than a toast can hold."""
        return replace(self, title=shown(self.title, TITLE_CHARS),
                       text=shown(self.text, BODY_CHARS, lines=True))


class Notifier(QObject):
    """Shows notes; tells which action of which note the user chose (`invoked`)."""

    invoked = Signal(object, str)   # (note.ref, action key)
    closed = Signal(str)            # a slot's note left the screen

    kind = "none"

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.description = "no toasts"
        self.actions = False        # whether notes show their action buttons

    def show(self, note: Note) -> None:
        raise NotImplementedError

    def showing(self, slot: str) -> object | None:
        """The ref of the note in `slot` if it is still on screen (as far as is known)."""
        return None

    def withdraw(self, slot: str) -> None:
        """Take the note in `slot` off the screen (where the desktop allows it)."""

    def close(self) -> None:
        """Let go of the desktop (at exit)."""


class TrayNotifier(Notifier):
    """Qt's tray messages: an XEmbed tray draws Qt's own balloon, a StatusNotifierItem host
    passes it on to the notification server. No actions; a click opens the window."""

    kind = "tray"

    def __init__(self, tray: QSystemTrayIcon, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.description = "Qt's tray messages (no action buttons: a click opens Heard)"
        self._tray = tray
        self._last: Note | None = None
        tray.messageClicked.connect(self._clicked)

    def show(self, note: Note) -> None:
        note = note.clean()
        self._last = note
        icon = (QSystemTrayIcon.MessageIcon.Warning if note.urgent
                else QSystemTrayIcon.MessageIcon.Information)
        self._tray.showMessage(note.title, note.text, icon,
                               note.timeout_ms if note.timeout_ms > 0 else 8000)

    def _clicked(self) -> None:
        if self._last is not None:
            self.invoked.emit(self._last.ref, "default")


class PlyerNotifier(Notifier):
    """plyer's notification facade, called off the GUI thread (its backends block)."""

    kind = "plyer"

    def __init__(self, run: Callable[[Callable[[], None]], None],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.description = "plyer notifications (no action buttons)"
        self._run = run
        self._shown: dict[str, tuple[float, object]] = {}

    def show(self, note: Note) -> None:
        from plyer import notification

        note = note.clean()
        if note.slot:
            self._shown[note.slot] = (time.monotonic(), note.ref)
        icon = icon_path() or ""
        self._run(lambda: notification.notify(title=note.title, message=note.text,
                                              app_name=APP_NAME, app_icon=icon,
                                              timeout=int(SHOWN_FOR_S)))

    def showing(self, slot: str) -> object | None:
        shown = self._shown.get(slot)
        if shown is None or time.monotonic() - shown[0] > SHOWN_FOR_S:
            return None
        return shown[1]


@dataclass
class DBusProbe:
    """What the session's notification server is (found off the GUI thread)."""

    connection: DBusConnection
    server: str                      # "dunst 1.9.0"
    capabilities: tuple[str, ...]


def session_bus_address() -> str | None:
    address = os.environ.get("DBUS_SESSION_BUS_ADDRESS")
    if address:
        return address
    runtime = os.environ.get("XDG_RUNTIME_DIR")   # systemd's per-user bus
    if runtime and Path(runtime, "bus").exists():
        return f"unix:path={Path(runtime, 'bus')}"
    return None


def probe_dbus(timeout: float = PROBE_TIMEOUT_S) -> DBusProbe | None:
    """Connect to the session bus and ask for the notification server: None if there is no
    bus or no server (running, or startable by the bus). Blocking: run it on a worker."""
    address = session_bus_address()
    if address is None:
        log.info("notifications: no D-Bus session bus")
        return None
    from jeepney import (  # type: ignore[import-untyped]
        DBusAddress,
        MessageType,
        new_method_call,
    )
    from jeepney.bus_messages import MatchRule, message_bus  # type: ignore[import-untyped]
    from jeepney.io.blocking import open_dbus_connection

    try:
        conn = open_dbus_connection(address, auth_timeout=timeout)
    except Exception as exc:   # jeepney raises OSError, KeyError, AuthenticationError...
        log.info("notifications: cannot connect to the session bus (%s): %s", address, exc)
        return None
    try:
        def ask(message: Any) -> Any:
            reply = conn.send_and_get_reply(message, timeout=timeout)
            if reply.header.message_type is MessageType.error:
                raise RuntimeError(f"{reply.header.fields} {reply.body}")
            return reply.body

        owned = ask(message_bus.NameHasOwner(BUS_NAME))[0]
        if not owned and BUS_NAME not in ask(message_bus.ListActivatableNames())[0]:
            log.info("notifications: no notification server on the session bus")
            conn.close()
            return None
        server = DBusAddress(OBJECT_PATH, bus_name=BUS_NAME, interface=BUS_NAME)
        info = ask(new_method_call(server, "GetServerInformation"))
        capabilities = tuple(str(c) for c in ask(new_method_call(server,
                                                                 "GetCapabilities"))[0])
        # Some servers broadcast ActionInvoked and NotificationClosed rather than send them
        # to the caller: listen to them either way.
        ask(message_bus.AddMatch(MatchRule(type="signal", interface=BUS_NAME,
                                           path=OBJECT_PATH)))
    except Exception as exc:
        log.warning("notifications: the notification server does not answer: %s", exc)
        conn.close()
        return None
    name = f"{info[0]} {info[2]}".strip() if len(info) >= 3 else "a notification server"
    return DBusProbe(conn, name, capabilities)


class DBusNotifier(Notifier):
    """org.freedesktop.Notifications over a jeepney connection driven by the Qt event loop.

    Each Notify's reply (the notification's id) arrives later; a note for a slot whose
    previous Notify is still unanswered waits for that id, so it can replace it. If the
    server answers with an error, or the bus goes away, the note goes to `fallback`."""

    kind = "dbus"

    def __init__(self, probe: DBusProbe, fallback: Notifier,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        from jeepney import DBusAddress

        self._conn = probe.connection
        self._server = DBusAddress(OBJECT_PATH, bus_name=BUS_NAME, interface=BUS_NAME)
        self._fallback = fallback
        fallback.invoked.connect(self.invoked)
        fallback.closed.connect(self.closed)
        self.actions = "actions" in probe.capabilities
        self.markup = "body-markup" in probe.capabilities   # bodies must be escaped
        self.server = probe.server
        self.description = (f"freedesktop notifications over D-Bus ({probe.server}"
                            f"{', with action buttons' if self.actions else ', no actions'})")
        self._calls: dict[int, Note] = {}        # Notify serial -> note awaiting its id
        self._ids: dict[int, Note] = {}          # id -> note on screen
        self._slots: dict[str, int] = {}         # slot -> id on screen
        self._waiting: dict[str, Note] = {}      # slot -> note waiting for its slot's id
        self._withdrawn: set[str] = set()        # slots to close once their id is known
        self._overflow: dict[str, Note] = {}     # slot -> note said only in the summary
        self._unslotted = itertools.count(1)
        self._alive = True
        self._closing = False
        self._conn.sock.settimeout(PROBE_TIMEOUT_S)   # sends never hang the GUI for long
        self._reader = QSocketNotifier(self._conn.sock.fileno(), QSocketNotifier.Type.Read,
                                       self)
        self._reader.activated.connect(self._readable)
        self._dispatch()   # anything already read while probing

    # showing

    def show(self, note: Note) -> None:
        if not self._alive:
            self._fallback.show(note)
            return
        if not note.slot:   # a slot of its own, so it counts and can be closed at exit
            note = replace(note, slot=f"note:{next(self._unslotted)}")
        if note.slot != MORE_SLOT and (note.slot in self._overflow or (
                note.slot not in self._on_screen()
                and len(self._on_screen() - {MORE_SLOT}) >= MAX_ON_SCREEN - 1)):
            # No room: said in the summary of the rest, which it updates.
            self._overflow[note.slot] = note
            self._show_more()
            return
        self._send(note)

    def _on_screen(self) -> set[str]:
        """Slots on screen or on their way there."""
        return (set(self._slots) | {n.slot for n in self._calls.values()}
                | set(self._waiting)) - self._withdrawn

    def _show_more(self) -> None:
        if not self._overflow:
            self.withdraw(MORE_SLOT)
            return
        notes = list(self._overflow.values())[::-1]   # the newest first
        urgent = any(n.urgent for n in notes)
        more = Note(f"Heard: {len(notes)} more", "\n".join(n.title for n in notes[:5]),
                    (("default", "Open"),), urgent=urgent, slot=MORE_SLOT, ref=notes[0].ref,
                    timeout_ms=-1 if urgent else max(n.timeout_ms for n in notes),
                    category=notes[0].category)
        self._send(more)

    def _send(self, note: Note) -> None:
        if note.slot and any(n.slot == note.slot for n in self._calls.values()):
            self._waiting[note.slot] = note     # the newest wins
            self._withdrawn.discard(note.slot)
            return
        self._notify(note)

    def _notify(self, note: Note) -> None:
        from jeepney import new_method_call

        replaces = self._slots.get(note.slot, 0) if note.slot else 0
        actions = [part for pair in note.actions for part in pair] if self.actions else []
        hints: dict[str, tuple[str, object]] = {
            "urgency": ("y", 2 if note.urgent else 1),
            "category": ("s", note.category),
            "desktop-entry": ("s", DESKTOP_ENTRY)}
        if note.resident:
            hints["resident"] = ("b", True)
        timeout = 0 if note.urgent and note.timeout_ms < 0 else note.timeout_ms
        clean = note.clean()
        # The summary is plain text by the specification; the body is markup where the
        # server says so, and text from mail must stay text there.
        body = html.escape(clean.text, quote=False) if self.markup else clean.text
        message = new_method_call(self._server, "Notify", "susssasa{sv}i", (
            APP_NAME, replaces, icon_path() or "", clean.title, body, actions, hints,
            timeout))
        serial = next(self._conn.outgoing_serial)
        try:
            self._conn.send(message, serial=serial)
        except OSError as exc:
            self._lost(f"cannot send to the notification server: {exc}")
            self._fallback.show(note)
            return
        self._calls[serial] = note

    def showing(self, slot: str) -> object | None:
        if slot in self._overflow:
            return self._overflow[slot].ref
        on = self._slots.get(slot)
        if on is not None and on in self._ids:
            return self._ids[on].ref
        waiting = self._waiting.get(slot) or next(
            (n for n in self._calls.values() if n.slot == slot), None)
        return waiting.ref if waiting is not None else None

    def withdraw(self, slot: str) -> None:
        from jeepney import new_method_call

        if not self._alive:
            return
        if self._overflow.pop(slot, None) is not None:
            self._show_more()
            return
        self._waiting.pop(slot, None)
        if any(n.slot == slot for n in self._calls.values()):
            self._withdrawn.add(slot)   # closed as soon as its id is known
            return
        ident = self._slots.get(slot)
        if ident is None:
            return
        try:   # its reply is ignored; NotificationClosed frees the slot
            self._conn.send(new_method_call(self._server, "CloseNotification", "u", (ident,)),
                            serial=next(self._conn.outgoing_serial))
        except OSError as exc:
            self._lost(f"cannot send to the notification server: {exc}")

    def close(self) -> None:
        """Close every toast of Heard's still on screen (those whose id is still on its way
        too, waiting up to CLOSE_WAIT_S for it), then the connection."""
        from jeepney import new_method_call

        if self._alive:
            self._closing = True
            self._waiting.clear()
            self._overflow.clear()
            deadline = time.monotonic() + CLOSE_WAIT_S
            try:
                while self._calls and (left := deadline - time.monotonic()) > 0:
                    self._conn.sock.settimeout(left)
                    data = self._conn.sock.recv(65536)
                    if not data:
                        break
                    self._conn.parser.add_data(data)
                    self._dispatch()
                for ident in list(self._ids):
                    self._conn.send(new_method_call(self._server, "CloseNotification", "u",
                                                    (ident,)),
                                    serial=next(self._conn.outgoing_serial))
            except OSError as exc:   # the bus is gone: so are its notifications
                log.info("notifications: could not close them at exit: %s", exc)
            if self._ids:
                log.info("notifications: closed %d at exit", len(self._ids))
        self._alive = False
        self._reader.setEnabled(False)
        self._conn.close()

    # reading

    def _readable(self) -> None:
        try:
            data = self._conn.sock.recv(65536)
        except (BlockingIOError, TimeoutError):
            return
        except OSError as exc:
            self._lost(f"the session bus connection failed: {exc}")
            return
        if not data:
            self._lost("the session bus closed the connection")
            return
        self._conn.parser.add_data(data)
        self._dispatch()

    def _dispatch(self) -> None:
        while (message := self._conn.parser.get_next_message()) is not None:
            try:
                self._handle(message)
            except Exception:   # a bad message must not stop the rest
                log.exception("notifications: could not handle a D-Bus message")

    def _handle(self, message: Any) -> None:
        from jeepney import HeaderFields, MessageType

        header = message.header
        kind = header.message_type
        if kind in (MessageType.method_return, MessageType.error):
            note = self._calls.pop(header.fields.get(HeaderFields.reply_serial, -1), None)
            if note is None:
                return
            if kind is MessageType.error:
                log.warning("notifications: the server refused %r: %s", note.title,
                            message.body)
                self._fallback.show(note)
            else:
                self._shown(int(message.body[0]), note)
            if note.slot and (queued := self._waiting.pop(note.slot, None)) is not None:
                self._notify(queued)
            elif note.slot in self._withdrawn:
                self._withdrawn.discard(note.slot)
                self.withdraw(note.slot)
            return
        if kind is not MessageType.signal or header.fields.get(HeaderFields.interface) != BUS_NAME:
            return
        if self._closing:   # quitting: nobody is there to act on a choice
            return
        member = header.fields.get(HeaderFields.member)
        if member == "ActionInvoked":
            ident, key = int(message.body[0]), str(message.body[1])
            note = self._ids.get(ident)
            if note is not None:
                log.info("notifications: %r chosen on %r", key, note.title)
                self.invoked.emit(note.ref, key)
        elif member == "NotificationClosed":
            gone = self._ids.pop(int(message.body[0]), None)
            if gone is not None and gone.slot and self._slots.get(gone.slot) == message.body[0]:
                del self._slots[gone.slot]
                if gone.slot == MORE_SLOT:   # the rest were said there, and seen or expired
                    self._overflow.clear()
                self.closed.emit(gone.slot)

    def _shown(self, ident: int, note: Note) -> None:
        if note.slot:
            old = self._slots.get(note.slot)
            if old is not None and old != ident:
                self._ids.pop(old, None)
            self._slots[note.slot] = ident
        self._ids[ident] = note

    def _lost(self, why: str) -> None:
        if not self._alive:
            return
        log.warning("notifications: %s; toasts fall back to %s", why,
                    self._fallback.description)
        self._alive = False
        self._reader.setEnabled(False)
        pending = list(self._calls.values()) + list(self._waiting.values())
        self._calls.clear()
        self._waiting.clear()
        self._withdrawn.clear()
        for note in pending:
            self._fallback.show(note)


_icon: str | None = None


def icon_path() -> str | None:
    """Heard's icon as a file a notification server can read (None if it is not a file)."""
    global _icon
    if _icon is None:
        try:
            path = Path(str(resources.files("heard.resources").joinpath("icons/heard.svg")))
        except (ModuleNotFoundError, TypeError):
            path = None
        _icon = str(path) if path is not None and path.is_file() else ""
    return _icon or None


def plyer_usable(platform: str = sys.platform) -> bool:
    """Whether plyer can show a toast here by itself. On Linux it goes through the same
    notification server as path 1 (dbus-python or notify-send), except in a Flatpak
    sandbox, where it uses the portal."""
    # Asked before plyer is imported (~40 modules): elsewhere on Linux it is no use (RSS).
    if platform not in ("win32", "darwin") and not Path("/.flatpak-info").exists():
        return False
    try:
        import plyer  # noqa: F401
    except ImportError:
        return False
    if platform == "darwin":
        import importlib.util

        return importlib.util.find_spec("pyobjus") is not None
    return True


def first_choice(platform_name: str, platform: str = sys.platform) -> str:
    """The path to try first: "dbus" (probe it), "plyer" or "tray". Qt's offscreen platform
    (tests, benchmarks) has nobody to show a toast to: its tray messages do nothing."""
    if platform_name in ("offscreen", "minimal"):
        return "tray"
    if platform.startswith(("linux", "freebsd", "openbsd", "netbsd")) and session_bus_address():
        return "dbus"
    return "plyer" if plyer_usable(platform) else "tray"


def fallback_for(tray: QSystemTrayIcon, run: Callable[[Callable[[], None]], None],
                 platform: str = sys.platform) -> Notifier:
    """The best path after D-Bus."""
    return PlyerNotifier(run) if plyer_usable(platform) else TrayNotifier(tray)
