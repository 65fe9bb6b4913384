"""`heard --selftest`, the Qt half: the platform plugin, the tray icon drawn from the SVG,
the tray, fonts, the single-instance socket and the notification path (QtDBus); then the
Qt-free checks of heard.selftest. `main` runs them all, in the order a start would need them.

PySide6 is imported inside the checks, so a build that lost it reports that as a failed
line instead of a traceback. With no display on Linux the checks run on Qt's offscreen
platform; on a real display they use it (xcb, wayland, windows, cocoa).
"""

from __future__ import annotations

import importlib
import os
import sys
import time
from pathlib import Path

from heard import selftest
from heard.selftest import Check, CheckFailed, Warning_

#: Qt platform plugins a Linux build must carry: X11, Wayland, and offscreen (for tests).
LINUX_PLATFORMS = ("xcb", "wayland", "offscreen")


class _Qt:
    """The QApplication the checks share (made by the first one)."""

    app: object | None = None


def _app() -> object:
    if _Qt.app is None:
        raise CheckFailed("no QApplication (the Qt platform check failed)")
    return _Qt.app


def check_startup_imports() -> str:
    """The modules that start the tray, loaded as `heard` loads them, must not pull in the
    libraries only an account needs (they cost ~0.3 s of start-up)."""
    before = set(selftest.heavy_modules_loaded())
    for name in ("heard.engine", "heard.gui.app", "heard.gui.badge"):
        importlib.import_module(name)
    extra = sorted(set(selftest.heavy_modules_loaded()) - before)
    if extra:
        raise CheckFailed(f"starting the tray would import {', '.join(extra)}")
    return "the tray's modules load without " + ", ".join(
        m for m in selftest.HEAVY_MODULES if m not in before)


def check_platform() -> str:
    no_display = not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    forced = ""
    if sys.platform.startswith("linux") and no_display and not os.environ.get("QT_QPA_PLATFORM"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        forced = " (no display here)"
    import PySide6
    from PySide6.QtCore import QLibraryInfo, qVersion
    from PySide6.QtWidgets import QApplication

    # A missing platform plugin makes Qt abort the process: say first what is tried.
    print(f"      (starting Qt on {os.environ.get('QT_QPA_PLATFORM') or 'the default platform'})",
          file=sys.stderr, flush=True)
    app = QApplication.instance() or QApplication(["heard-selftest"])
    assert isinstance(app, QApplication)
    _Qt.app = app
    plugins = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)) / "platforms"
    have = sorted(p.name.split(".")[0].removeprefix("libq").removeprefix("q")
                  for p in plugins.glob("*") if p.is_file())
    detail = (f"Qt {qVersion()} (PySide6 {PySide6.__version__}) on {app.platformName()}"
              f"{forced}; platform plugins: {', '.join(have)}")
    if sys.platform.startswith("linux"):
        missing = [p for p in LINUX_PLATFORMS if p not in have]
        if missing:
            raise CheckFailed(f"{detail}; missing: {', '.join(missing)}")
    return detail


def check_fonts() -> str:
    _app()
    from PySide6.QtGui import QFontDatabase, QFontInfo, QGuiApplication

    families = QFontDatabase.families()
    if not families:
        raise Warning_("no fonts found: text in the window and the badge number will be"
                       " missing (install fonts-dejavu-core or any font)")
    font = QFontInfo(QGuiApplication.font()).family()
    return f"{len(families)} font families; the interface uses {font}"


def _share(image: object, colour: tuple[int, int, int], tolerance: int = 40) -> float:
    from PySide6.QtGui import QImage

    assert isinstance(image, QImage)
    hits = total = 0
    for y in range(image.height()):
        for x in range(image.width()):
            pixel = image.pixelColor(x, y)
            total += 1
            if pixel.alpha() > 200 and all(abs(a - b) <= tolerance for a, b in zip(
                    (pixel.red(), pixel.green(), pixel.blue()), colour, strict=True)):
                hits += 1
    return hits / total if total else 0.0


def _opaque(image: object) -> float:
    from PySide6.QtGui import QImage

    assert isinstance(image, QImage)
    total = image.width() * image.height()
    return sum(image.pixelColor(x, y).alpha() > 0 for y in range(image.height())
               for x in range(image.width())) / total


def check_icon() -> str:
    _app()
    from importlib import resources

    from heard.domain.urgency import Urgency
    from heard.gui import badge

    # Read it the way badge does before painting: a painter left open by an exception
    # would take the process down.
    resources.files("heard.resources").joinpath("icons/heard.svg").read_bytes()

    bare = badge.paint(0, None, 64)
    if _opaque(bare) < 0.2:
        raise CheckFailed(f"the SVG mark rendered {_opaque(bare):.0%} opaque at 64 px"
                          " (QtSvg cannot draw it)")
    with_badge = badge.paint(3, Urgency.OVERDUE, 64)
    red = _share(with_badge, (0xC6, 0x28, 0x28))
    if red < 0.05:
        raise CheckFailed(f"the badge '3' covered {red:.0%} of the icon in its colour")
    sizes = sorted({s.width() for s in badge.icon(3, Urgency.OVERDUE).availableSizes()})
    return (f"the SVG mark draws ({_opaque(bare):.0%} opaque at 64 px), the overdue badge"
            f" covers {red:.0%}; sizes {', '.join(map(str, sizes))}")


def check_tray() -> str:
    app = _app()
    from PySide6.QtGui import QAction, QIcon
    from PySide6.QtWidgets import QApplication, QMenu, QSystemTrayIcon

    from heard.domain.urgency import Urgency
    from heard.gui import badge

    assert isinstance(app, QApplication)
    tray = QSystemTrayIcon(QIcon(badge.icon(3, Urgency.OVERDUE)))
    menu = QMenu()
    menu.addAction(QAction("Quit Heard", menu))
    tray.setContextMenu(menu)
    tray.setToolTip("Heard self-test")
    available = QSystemTrayIcon.isSystemTrayAvailable()
    tray.show()
    deadline = time.monotonic() + 0.3
    while time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    visible = tray.isVisible()
    tray.hide()
    app.processEvents()
    del tray, menu
    if not available:
        raise Warning_(f"no system tray on {app.platformName()} here: Heard would show its"
                       " small window instead (the icon and its menu were made)")
    if not visible:
        raise CheckFailed("a system tray is there, but the icon did not become visible")
    return f"a system tray is available on {app.platformName()}; the icon showed with its menu"


def check_single_instance() -> str:
    app = _app()
    from PySide6.QtNetwork import QLocalServer, QLocalSocket
    from PySide6.QtWidgets import QApplication

    assert isinstance(app, QApplication)
    name = f"heard-selftest-{os.getpid()}"
    server = QLocalServer()
    QLocalServer.removeServer(name)
    if not server.listen(name):
        raise CheckFailed(f"cannot listen on a local socket: {server.errorString()}")
    try:
        client = QLocalSocket()
        client.connectToServer(name)
        if not client.waitForConnected(2000):
            raise CheckFailed(f"cannot connect to the local socket: {client.errorString()}")
        client.write(b"show\n")
        client.waitForBytesWritten(1000)
        if not server.waitForNewConnection(2000):
            raise CheckFailed("the local server saw no connection")
        incoming = server.nextPendingConnection()
        got = b""
        deadline = time.monotonic() + 2
        while incoming is not None and not got.endswith(b"\n") and time.monotonic() < deadline:
            incoming.waitForReadyRead(100)
            got += bytes(incoming.readAll().data())
        client.disconnectFromServer()
        if got != b"show\n":
            raise CheckFailed(f"the local socket carried {got!r}")
    finally:
        server.close()
    return "QtNetwork's local socket (one Heard per profile) carries a message"


def check_notifications() -> str:
    _app()
    if not sys.platform.startswith("linux"):
        return "toasts go through the tray icon (the system's own notifications)"
    from PySide6.QtDBus import QDBusConnection

    from heard.doctor import Verdict
    from heard.gui.checks import notification_check

    result = notification_check()   # the same question `heard doctor` asks
    if not QDBusConnection.sessionBus().isConnected():
        raise Warning_("QtDBus loads, but there is no D-Bus session bus here: toasts would"
                       " fall back to the tray's own balloons")
    if result.verdict is Verdict.OK:
        return f"QtDBus on the session bus: {result.detail}"
    raise Warning_(f"QtDBus on the session bus: {result.detail}")


def qt_checks() -> list[Check]:
    return [
        Check("qt platform", check_platform),
        Check("fonts", check_fonts),
        Check("tray icon", check_icon),
        Check("tray", check_tray),
        Check("single instance", check_single_instance),
        Check("notifications", check_notifications),
    ]


def main(report: str | None = None) -> int:
    with selftest.scratch() as tmp:
        return selftest.main(
            [Check("startup imports", check_startup_imports), selftest.PACKAGE_DATA,
             *qt_checks(), *selftest.checks(tmp)],
            report)
