"""Starting the desktop app: the tray on a profile (the first-run wizard first when it has
no settings yet), the demo, or the installation self-test; a failure to start is said on
screen too, since a tray app started at login has no terminal to print to.

Qt is imported inside the functions that need it: the self-test, started from here too,
reports a build that lost PySide6 as a failed check rather than a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from heard.config import ConfigError
from heard.domain.templates import TemplateError
from heard.engine import Engine, Status
from heard.errors import HeardError
from heard.system import log as heard_log
from heard.system.paths import Profile

if TYPE_CHECKING:
    from PySide6.QtCore import QObject

log = logging.getLogger(__name__)


def main(args: argparse.Namespace) -> int:
    if args.selftest is not None:
        from heard.gui.selftest_gui import main as selftest

        return selftest(None if args.selftest == "-" else args.selftest)
    missing = no_display()
    if missing:
        print(f"heard: {missing}", file=sys.stderr)
        return 1
    try:
        if args.command == "demo":
            return demo(args)
        return tray(args)
    except ConfigError as exc:
        return _fail(f"the settings file has problems:\n{exc}")
    except (HeardError, TemplateError, OSError, ValueError) as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130


def no_display() -> str | None:
    """Why the desktop app cannot show itself here, or None. Said before Qt is asked: Qt's
    own answer without a display is an abort advising to install xcb-cursor0, which sends
    the user after a library they have."""
    if sys.platform in ("win32", "darwin") or os.environ.get("DISPLAY") \
            or os.environ.get("WAYLAND_DISPLAY"):
        return None
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform and not platform.startswith(("xcb", "wayland")):
        return None   # offscreen, vnc, eglfs ...: a screen of its own
    return ("there is no display here (neither DISPLAY nor WAYLAND_DISPLAY is set): the"
            " tray app and the demo need a desktop session. Start them from one, or use"
            " the command line here (heard status, heard sync, heard --help).")


def tray(args: argparse.Namespace) -> int:
    profile = Profile.locate(args.profile)
    heard_log.setup(profile.log, args.verbose)
    engine = Engine.open(profile)
    try:
        # No settings file yet: the first-run wizard comes before the tray (never in the
        # demo, which has its own profile, nor when only measuring the start-up).
        first_run = not engine.profile.config.exists() and not args.exit_when_shown
        return run_tray(engine, exit_when_shown=args.exit_when_shown, first_run=first_run)
    finally:
        engine.close()


def demo(args: argparse.Namespace) -> int:
    from heard.setup.demo import DemoGenerator, create_demo_profile

    profile = create_demo_profile(Path(args.profile) if args.profile else None)
    # A demo in a folder of its own choosing goes with it; one the user named stays theirs.
    temporary = not args.profile
    try:
        heard_log.setup(profile.log, args.verbose)
        print(f"Demo profile: {profile.root}"
              + (" (removed when the demo ends)" if temporary else ""), file=sys.stderr)
        engine = Engine.open(profile)
        generator = None if args.no_generator else DemoGenerator(profile, engine.store)
        try:
            engine.sync()
            if generator:
                generator.start()
            return run_tray(engine, exit_when_shown=args.exit_when_shown)
        finally:
            if generator:
                generator.stop()
            engine.close()
    finally:
        if temporary:
            _remove_profile(profile)


def _remove_profile(profile: Profile) -> None:
    """The demo's temporary profile, its log handler closed first (Windows cannot remove an
    open file)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        name = getattr(handler, "baseFilename", "")
        if name and Path(name).is_relative_to(profile.root):
            root.removeHandler(handler)
            handler.close()
    shutil.rmtree(profile.root, ignore_errors=True)


def _fail(message: str) -> int:
    print(f"heard: {message}", file=sys.stderr)
    log.debug("the desktop app could not start", exc_info=True)
    show_fatal(message)
    return 1


def show_fatal(text: str) -> None:
    """Heard cannot start: say why on screen, since a tray app started at login has no
    terminal to print to."""
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
            or sys.platform in ("win32", "darwin")):
        return
    from PySide6.QtWidgets import QApplication, QMessageBox

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    QMessageBox.critical(None, "Heard cannot start", text)


def run_tray(engine: Engine, exit_when_shown: bool = False, first_run: bool = False) -> int:
    """The tray app until Quit. `first_run`: the set-up wizard comes first (a profile with
    no settings yet); whether or not it is finished, the tray icon follows."""
    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from heard.gui import badge, single_instance
    from heard.gui.tray import HeardApp
    from heard.system.instance import NoPrivateFolder, socket_path

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("Heard")
    app.setDesktopFileName("heard")
    app.setQuitOnLastWindowClosed(False)
    app.setWindowIcon(QIcon(badge.icon(0, None)))

    try:
        name: str | None = socket_path(engine.profile)
    except NoPrivateFolder as exc:   # runs all the same; only a second start cannot reach it
        name = None
        not_listening: str | None = (f"a second start or a command cannot reach this Heard:"
                                     f" {exc}")
    if name is not None and single_instance.hand_over(name):
        print("Heard is already running; its window is shown.", file=sys.stderr)
        return 0
    listener = single_instance.Listener(name) if name is not None else None
    if listener is not None:
        not_listening = listener.listen()
    if first_run:
        from heard.gui.first_run import run_first_run

        if not run_first_run(engine):
            log.info("first run: the set-up was left; the defaults apply until it is done")

    from heard.system import autostart

    autostart.apply(engine.settings.desktop.start_at_login)   # the setting is the truth
    heard = HeardApp(engine, send_delay_ms=int(
        engine.settings.replies.undo_delay.total_seconds() * 1000))
    if listener is not None:
        listener.show_requested.connect(lambda: heard.open_window())
        listener.refresh_requested.connect(heard.refresh)
    if not_listening is not None:
        heard.show_error(not_listening)

    def announce(status: Status, attempt: int = 0) -> None:
        geometry = heard.tray.geometry()
        # XEmbed trays report where the icon sits; StatusNotifierItem hosts never do, so
        # after two seconds the icon is taken as shown.
        if heard.tray_available and geometry.isEmpty() and attempt < 100:
            QTimer.singleShot(20, lambda: announce(status, attempt + 1))
            return
        log.info("tray: shown with count %d at %d,%d size %dx%d", status.count, geometry.x(),
                 geometry.y(), geometry.width(), geometry.height())
        if exit_when_shown:
            print(f"shown {_seconds_since_start():.3f} cpu {time.process_time():.3f}",
                  flush=True)
            QTimer.singleShot(0, heard.quit)

    def first_status(status: Status) -> None:
        heard.status_applied.disconnect(first_status)
        announce(status)

    heard.status_applied.connect(first_status)
    # Ctrl-C in a terminal and SIGTERM from a session manager quit cleanly.
    wakeup = watch_signals(heard, lambda: QTimer.singleShot(0, heard.quit))
    heard.start()
    code = app.exec()
    wakeup.close()
    if listener is not None:
        listener.close()
    heard.dispose()
    return int(code)


class SignalWakeup:
    """Python runs a signal handler only when the interpreter next gets control, and Qt's
    event loop may sleep in C++ for minutes. Instead of a timer that lets Python in twice a
    second (idle-wakeups: it woke the process 2 times a second all day), the C-level
    handler writes the signal's number to a socket (signal.set_wakeup_fd), a
    QSocketNotifier on its other end wakes the loop, and reading it runs the handler."""

    def __init__(self, parent: QObject) -> None:
        import socket

        from PySide6.QtCore import QSocketNotifier

        self._reader, self._writer = socket.socketpair()
        for end in (self._reader, self._writer):
            end.setblocking(False)
        self._previous = signal.set_wakeup_fd(self._writer.fileno(), warn_on_full_buffer=False)
        self.notifier = QSocketNotifier(self._reader.fileno(), QSocketNotifier.Type.Read,
                                        parent)
        self.notifier.activated.connect(self._drain)

    def _drain(self) -> None:
        got = b""
        try:
            while chunk := self._reader.recv(64):
                got += chunk
        except (BlockingIOError, InterruptedError):
            pass
        for signum in got:   # the handler itself runs as this returns to Python's loop
            log.info("signal %s woke the tray", signal.Signals(signum).name)

    def close(self) -> None:
        signal.set_wakeup_fd(self._previous)
        self.notifier.setEnabled(False)
        self._reader.close()
        self._writer.close()


def watch_signals(parent: QObject, quit: Callable[[], None]) -> SignalWakeup:
    """SIGINT and SIGTERM call `quit` on the GUI thread, promptly, with no polling."""
    wakeup = SignalWakeup(parent)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: quit())
    return wakeup


def _seconds_since_start() -> float:
    """Since the process began (interpreter start-up included), for --exit-when-shown."""
    try:
        stat = Path("/proc/self/stat").read_text(encoding="ascii")
        start_ticks = int(stat.rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text(encoding="ascii").split()[0])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return time.process_time()
