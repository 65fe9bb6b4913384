"""Where the desktop has no system tray: a small window that stays on top, showing the
same badge and count, and opening the quick-reply window on a click."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QMouseEvent, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMenu, QPushButton, QWidget

from heard.domain.urgency import Urgency
from heard.gui import badge

NO_TRAY = ("Your desktop shows no system tray, so Heard lives in this small window."
           " {hint}")
GNOME_HINT = ("On GNOME, install the AppIndicator extension (gnome-shell-extension-"
              "appindicator) and log in again to get the tray icon.")


KEPT_PICTURES = 16   # badge pictures kept for a count that comes back


def no_tray_hint() -> str:
    desktop = os.environ.get("XDG_CURRENT_DESKTOP", "").upper()
    return NO_TRAY.format(hint=GNOME_HINT if "GNOME" in desktop else
                          "Add a notification area (tray) to your panel to get the icon.")


class MiniWindow(QWidget):
    open_requested = Signal()

    def __init__(self, menu: QMenu, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Tool | Qt.WindowType.WindowStaysOnTopHint)
        self.setWindowTitle("Heard")
        self.setToolTip(no_tray_hint())
        self._menu = menu
        self.icon = QLabel()
        self._shown: tuple[object, ...] | None = None   # what the badge shows
        # The pictures painted, by what they show, the latest last: a count that comes back
        # (13, 14, 13...) shows the same pixmap again, where a new one would take a new
        # place in Qt's pixmap cache each time (the soak: +95 KiB a minute up to 10 MiB).
        self._pictures: dict[tuple[object, ...], QPixmap] = {}
        self.count = QLabel("Heard")
        self.count.setTextFormat(Qt.TextFormat.PlainText)
        self.open_button = QPushButton("&Open")
        self.open_button.clicked.connect(self.open_requested.emit)
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 6, 8, 6)
        row.addWidget(self.icon)
        row.addWidget(self.count, 1)
        row.addWidget(self.open_button)
        self.show_count(0, None)

    def show_count(self, count: int, urgency: Urgency | None, offline: bool = False,
                   tooltip: str = "") -> None:
        # Painted at the screen's pixel density, so it is sharp on HiDPI screens too.
        ratio = self.devicePixelRatioF()
        # Painted again only when it changes: each new pixmap a label shows takes a place
        # in Qt's pixmap cache (up to 10 MiB), and most refreshes change nothing.
        if (shown := (count, urgency, offline, ratio)) != self._shown:
            self._shown = shown
            picture = self._pictures.pop(shown, None)
            if picture is None:
                image = badge.paint(count, urgency, round(32 * ratio), offline)
                image.setDevicePixelRatio(ratio)
                picture = QPixmap.fromImage(image)
            self._pictures[shown] = picture
            while len(self._pictures) > KEPT_PICTURES:
                del self._pictures[next(iter(self._pictures))]
            self.icon.setPixmap(picture)
        self.count.setText("Nobody is waiting" if count == 0 else
                           f"{badge.badge_text(count)} waiting")
        self.setToolTip(f"{tooltip}\n\n{no_tray_hint()}" if tooltip else no_tray_hint())

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt's name)
        if event.button() == Qt.MouseButton.RightButton:
            self._menu.popup(event.globalPosition().toPoint())
        else:
            self.open_requested.emit()
