"""The desktop part of `heard doctor`: can Qt show a window here, is there a tray, and
which notification server answers (and whether it shows action buttons)."""

from __future__ import annotations

import os
from collections.abc import Iterator

from heard.engine.doctor import Check, Verdict, ok

GNOME_TRAY = ("GNOME shows no tray icons by itself: install the AppIndicator extension"
              " (Debian/Ubuntu: gnome-shell-extension-appindicator) and log in again")


def desktop_checks() -> Iterator[Check]:
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
            or os.environ.get("QT_QPA_PLATFORM")):
        yield Check("desktop", Verdict.WARN, "no display in this terminal (no DISPLAY or"
                    " WAYLAND_DISPLAY): the tray and notifications were not checked",
                    "run `heard doctor` in a terminal of your desktop session")
        return
    from PySide6.QtWidgets import QApplication, QSystemTrayIcon

    app = QApplication.instance() or QApplication(["heard-doctor"])
    assert isinstance(app, QApplication)
    yield ok("qt", f"platform {app.platformName()}")
    if QSystemTrayIcon.isSystemTrayAvailable():
        yield ok("tray", "a system tray is available")
    else:
        desktop = os.environ.get("XDG_CURRENT_DESKTOP", "")
        yield Check("tray", Verdict.WARN, "no system tray: Heard shows a small window"
                    " that stays on top instead",
                    GNOME_TRAY if "GNOME" in desktop.upper() else
                    "add a tray (notification area) to your panel")
    yield notification_check()


def notification_check() -> Check:
    from PySide6.QtDBus import QDBusConnection, QDBusInterface

    bus = QDBusConnection.sessionBus()
    if not bus.isConnected():
        return Check("notifications", Verdict.WARN, "no D-Bus session bus: toasts fall back"
                     " to the tray's own balloons")
    iface = QDBusInterface("org.freedesktop.Notifications", "/org/freedesktop/Notifications",
                           "org.freedesktop.Notifications", bus)
    if not iface.isValid():
        return Check("notifications", Verdict.WARN, "no notification server on the session"
                     " bus: toasts fall back to the tray's own balloons",
                     "install one (dunst, mako, xfce4-notifyd; GNOME and KDE have their own)")
    info = iface.call("GetServerInformation").arguments()
    caps = iface.call("GetCapabilities").arguments()
    name = f"{info[0]} {info[2]}" if len(info) >= 3 else "a notification server"
    capabilities = [str(c) for c in (caps[0] if caps else [])]
    if "actions" in capabilities:
        return ok("notifications", f"{name}, with action buttons (Acknowledge, Open)")
    return Check("notifications", Verdict.WARN, f"{name} shows no action buttons: click a"
                 " toast's text, or the tray icon, to reply")
