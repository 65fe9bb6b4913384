"""`heard --selftest`, the Qt half: the platform plugin, the tray icon drawn from the SVG,
the tray, fonts, the single-instance socket and the notification path (QtDBus); then the
Qt-free checks of heard.setup.selftest. `main` runs them all, in the order a start would need them.

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

from heard.setup import selftest
from heard.setup.selftest import Check, CheckFailed, CheckWarning

#: Qt platform plugins a build must carry: on Linux X11, Wayland, and offscreen (for tests
#: and this self-test on a machine without a display).
NEEDED_PLATFORMS = {"linux": ("xcb", "wayland", "offscreen"), "win32": ("windows", "offscreen"),
                    "darwin": ("cocoa", "offscreen")}


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
    for name in ("heard.engine", "heard.gui.launch", "heard.gui.tray", "heard.gui.badge"):
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
    from PySide6.QtCore import QCoreApplication, QLibraryInfo, qVersion
    from PySide6.QtWidgets import QApplication

    # A missing platform plugin makes Qt abort the process: say first what is tried.
    print(f"      (starting Qt on {os.environ.get('QT_QPA_PLATFORM') or 'the default platform'})",
          file=sys.stderr, flush=True)
    app = QApplication.instance() or QApplication(["heard-selftest"])
    assert isinstance(app, QApplication)
    _Qt.app = app
    # Where Qt looks for plugins: its own folder and any set by the bundle's start-up.
    folders = {Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)),
               *(Path(p) for p in QCoreApplication.libraryPaths())}
    have = sorted({p.name.split(".")[0].removeprefix("libq").removeprefix("q")
                   for folder in folders for p in (folder / "platforms").glob("*")
                   if p.is_file()})
    detail = (f"Qt {qVersion()} (PySide6 {PySide6.__version__}) on {app.platformName()}"
              f"{forced}; platform plugins: {', '.join(have)}")
    platform = "linux" if sys.platform.startswith("linux") else sys.platform
    missing = [p for p in NEEDED_PLATFORMS.get(platform, ()) if p not in have]
    if missing:
        raise CheckFailed(f"{detail}; missing: {', '.join(missing)}")
    return detail


def check_fonts() -> str:
    _app()
    from PySide6.QtGui import QFontDatabase, QFontInfo, QGuiApplication

    families = QFontDatabase.families()
    if not families:
        raise CheckWarning("no fonts found: text in the window and the badge number will be"
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
        raise CheckWarning(f"no system tray on {app.platformName()} here: Heard would show its"
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


def _plyer_backend() -> str:
    """Where Heard shows toasts through plyer (notify.plyer_usable: Windows, macOS with
    pyobjus, a Flatpak): plyer picks its backend by name at run time, and a build without it
    falls back to plyer's facade, which shows nothing, without an error."""
    import warnings

    from heard.gui import notify

    if not notify.plyer_usable():
        return "plyer is not used here"
    from plyer import notification

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        module = str(notification.__class__.__module__)
    if not module.startswith("plyer.platforms."):
        raise CheckFailed(f"plyer's notification backend is missing from this build ({module})")
    return f"plyer backend {module.removeprefix('plyer.platforms.')}"


def check_notifications() -> str:
    """The path Heard's toasts take here (heard.gui.notify): the freedesktop server over
    D-Bus on Linux, plyer on Windows (and macOS with pyobjus), else the tray's balloons."""
    _app()
    from heard.gui import notify

    if notify.icon_path() is None:
        raise CheckFailed("Heard's icon is not a file a notification server can show")
    plyer = _plyer_backend()
    if not sys.platform.startswith("linux"):
        way = "plyer" if notify.plyer_usable() else "the tray icon's messages"
        return f"toasts go through {way}; {plyer}"
    from PySide6 import QtDBus  # noqa: F401  (the StatusNotifierItem tray speaks through it)

    probe = notify.probe_dbus()
    if probe is None:
        raise CheckWarning("no notification server on a D-Bus session bus here: toasts would be"
                       f" the tray's own balloons; {plyer}")
    try:
        actions = "with" if "actions" in probe.capabilities else "without"
        return (f"{probe.server} on the session bus (jeepney), {actions} action buttons;"
                f" {plyer}")
    finally:
        probe.connection.close()


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
