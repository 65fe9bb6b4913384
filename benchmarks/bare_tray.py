"""The floor: the least a PySide6 tray app can do (QApplication + tray icon + menu).

    python benchmarks/bare_tray.py                    # stays in the tray until Quit
    python benchmarks/bare_tray.py --exit-when-shown  # prints "shown <secs> cpu <cpu secs>"
                                                      # once embedded, exits 0

``<secs>`` counts from the creation of the process (``/proc/self/stat`` start time), so the
interpreter's own start-up and the imports are included. "Shown" (XEmbed) means
``QSystemTrayIcon.geometry()`` is non-empty and not at (0, 0), i.e. the tray host has
embedded the icon; it is polled every 5 ms. Under an SNI host Qt reports no geometry, so there
the flag times out (exit 2) - use an XEmbed tray (trayer) for this benchmark.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from PySide6.QtCore import QRect, Qt, QTimer
from PySide6.QtGui import QAction, QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QApplication, QMenu, QSystemTrayIcon

from _proc import seconds_since_process_start

ICON_PX = 22
POLL_MS = 5


def painted_icon(px: int = ICON_PX) -> QIcon:
    """A plain filled circle: no files, no theme lookup."""
    pixmap = QPixmap(px, px)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor("#2e86de"))
    painter.drawEllipse(1, 1, px - 2, px - 2)
    painter.end()
    return QIcon(pixmap)


def is_embedded(geometry: QRect) -> bool:
    return not geometry.isEmpty() and not (geometry.x() == 0 and geometry.y() == 0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--exit-when-shown", action="store_true",
        help="print 'shown <seconds since process start>' once the icon is embedded, exit 0",
    )
    parser.add_argument(
        "--timeout", type=float, default=30.0,
        help="with --exit-when-shown: give up (exit 2) after this many seconds",
    )
    args = parser.parse_args(argv)

    app = QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)
    if not QSystemTrayIcon.isSystemTrayAvailable():
        print("no system tray available", file=sys.stderr)

    tray = QSystemTrayIcon(painted_icon())
    tray.setToolTip("bare tray")
    menu = QMenu()
    quit_action = QAction("Quit", menu)
    quit_action.triggered.connect(app.quit)
    menu.addAction(quit_action)
    tray.setContextMenu(menu)
    tray.show()

    exit_code = 0
    if args.exit_when_shown:
        poll = QTimer()
        poll.setInterval(POLL_MS)

        def check() -> None:
            nonlocal exit_code
            if is_embedded(tray.geometry()):
                poll.stop()
                print(f"shown {seconds_since_process_start():.4f} cpu {time.process_time():.3f}",
                      flush=True)
                app.quit()
            elif seconds_since_process_start() > args.timeout:
                poll.stop()
                print(f"not shown after {args.timeout:g}s", file=sys.stderr, flush=True)
                exit_code = 2
                app.quit()

        poll.timeout.connect(check)
        poll.start()
        QTimer.singleShot(0, check)  # first check as soon as the event loop runs

    rc = app.exec()
    tray.hide()
    return exit_code or rc


if __name__ == "__main__":
    sys.exit(main())
