"""Opens each of Heard's windows and dialogs the way the app does, on a real X server, and
says what does not fit its screen: a window larger than the screen's available area, a
button that lies (partly) outside it, a header or label whose text is cut. Run by
tests/gui/test_fit.py in a DesktopSession of a given size; prints one JSON object:
{"windows": {name: {"frame": [x, y, w, h], "problems": [...]}}, "screen": [x, y, w, h]}.

    python -m tests.support.fit_check [--shots DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTabWidget,
    QWidget,
)


def settle(app: QApplication, seconds: float = 0.4) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)


def mapped(app: QApplication, window: QWidget, timeout: float = 10.0) -> None:
    """Until the window manager has framed and shown `window`, then a little longer for
    its layout to settle."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        handle = window.windowHandle()
        if handle is not None and handle.isExposed() and window.width() > 1:
            break
        app.processEvents()
        time.sleep(0.02)
    else:
        handle = window.windowHandle()
        raise TimeoutError(f"{window.windowTitle()!r} was never shown (exposed:"
                           f" {handle is not None and handle.isExposed()}, frame"
                           f" {window.frameGeometry().getRect()})")
    settle(app, 0.5)   # the frame the window manager adds, and a move it asks for


def _visible(widget: QWidget, top: QWidget) -> bool:
    return widget.isVisibleTo(top) and widget.isVisible()


def problems_of(top: QWidget, screen: QRect) -> list[str]:
    """Everything of `top` that does not fit `screen` (global coordinates)."""
    found: list[str] = []
    frame = top.frameGeometry()
    if frame.width() < top.width():   # the frame not known yet: the window itself
        frame = top.geometry()
    if not screen.contains(frame):
        found.append(f"window {frame.getRect()} is not inside the screen {screen.getRect()}")
    for button in top.findChildren(QAbstractButton):
        if not _visible(button, top) or button.width() <= 0:
            continue
        if isinstance(button.parentWidget(), QTabWidget) or "qt_" in button.objectName():
            continue
        corner = button.mapToGlobal(QPoint(0, 0))
        rect = QRect(corner, button.size())
        # A button scrolled out of view in a scroll area is reachable: only the part of it
        # that its clipping ancestors show must be on the screen.
        shown = _clipped(button, rect)
        if shown.isEmpty():
            continue
        if not screen.contains(shown):
            found.append(f"button {button.text()!r} at {rect.getRect()} is outside the"
                         f" screen")
        elif shown.width() < rect.width() and _in_no_scroll_area(button):
            found.append(f"button {button.text()!r} is cut by its window")
    for header in top.findChildren(QHeaderView):
        if not _visible(header, top):
            continue
        model = header.model()
        if model is None:
            continue
        for section in range(header.count()):
            if header.isSectionHidden(section):
                continue
            text = str(model.headerData(section, header.orientation(),
                                        Qt.ItemDataRole.DisplayRole) or "")
            if not text or header.orientation() != Qt.Orientation.Horizontal:
                continue
            need = header.sectionSizeFromContents(section).width()   # with its margins
            if header.sectionSize(section) < need:
                found.append(f"header {text!r}: {header.sectionSize(section)} px for"
                             f" {need}")
    for label in top.findChildren(QLabel):
        if not _visible(label, top) or label.wordWrap() or not label.text():
            continue
        text = label.text()
        if label.textFormat() == Qt.TextFormat.RichText or "<" in text:
            continue
        plain = text.replace("&&", "\0").replace("&", "").replace("\0", "&")
        need = max(label.fontMetrics().horizontalAdvance(line) for line in plain.split("\n"))
        room = label.contentsRect().width() - 2 * label.margin() - label.indent() \
            if label.indent() > 0 else label.contentsRect().width() - 2 * label.margin()
        if room < need:
            found.append(f"label {plain!r}: {room} px for {need}")
    for edit in top.findChildren(QLineEdit):
        if not _visible(edit, top) or edit.text() or not edit.placeholderText():
            continue
        need = edit.fontMetrics().horizontalAdvance(edit.placeholderText()) + 8
        if edit.width() < need:
            found.append(f"placeholder {edit.placeholderText()!r}: {edit.width()} px for"
                         f" {need}")
    return found


def _clipped(widget: QWidget, rect: QRect) -> QRect:
    shown = QRect(rect)
    parent = widget.parentWidget()
    while parent is not None:
        corner = parent.mapToGlobal(QPoint(0, 0))
        shown = shown.intersected(QRect(corner, parent.size()))
        if parent.isWindow():
            break
        parent = parent.parentWidget()
    return shown


def _in_no_scroll_area(widget: QWidget) -> bool:
    from PySide6.QtWidgets import QAbstractScrollArea

    parent = widget.parentWidget()
    while parent is not None and not parent.isWindow():
        if isinstance(parent, QAbstractScrollArea):
            return False
        parent = parent.parentWidget()
    return True


def windows(app: QApplication, root: Path) -> Iterator[tuple[str, Callable[[], QWidget]]]:
    """(name, a function that shows the window as the app does) for each window."""
    from heard.engine import Engine
    from heard.gui.ops import Ops
    from heard.setup.demo import create_demo_profile
    from heard.system.paths import Profile

    demo = create_demo_profile(root / "demo")
    engine = Engine.open(demo)
    engine.sync()
    ops = Ops()

    def settings(index: int) -> Callable[[], QWidget]:
        def show() -> QWidget:
            from heard.gui.settings_window import SettingsWindow

            window = SettingsWindow(engine, ops)
            window.tabs.setCurrentIndex(index)
            window.show()
            return window
        return show

    for index, name in enumerate(("general", "accounts", "standards", "hours", "templates",
                                  "assistants", "notifications", "absence", "clients")):
        yield f"settings/{name}", settings(index)

    def wizard(page: int) -> Callable[[], QWidget]:
        def show() -> QWidget:
            from heard.gui.first_run import FirstRunWizard

            empty = Profile(root / f"empty-{page}")
            empty.create()
            window = FirstRunWizard(Engine.open(empty))
            window.show()
            for _ in range(page):
                current = window.currentPage()
                if hasattr(current, "later"):
                    current.later.setChecked(True)
                window.next()
            return window
        return show

    for page in range(7):
        yield f"wizard/{page}", wizard(page)

    def log_call() -> QWidget:
        from heard.gui.log_call import LogCallDialog

        dialog = LogCallDialog()
        dialog.show()
        return dialog

    yield "log call", log_call

    def delegate() -> QWidget:
        from heard.config.settings import Assistant
        from heard.gui.delegate_dialog import DelegateDialog

        now = engine.clock.now()
        dialog = DelegateDialog("Margaret Hale", "Closing documents for the lease",
                                (Assistant("Jordan", "jordan@morgan-law.example"),),
                                now + timedelta(hours=2), engine.settings.zone,
                                tell_client=True, assistant_allowed=True, now=now)
        dialog.show()
        return dialog

    yield "delegate", delegate

    def nudge() -> QWidget:
        from heard.gui.owed_panel import NudgeDialog

        dialog = NudgeDialog("Megge", "margaret@hale.example", "Re: Closing documents for"
                             " the lease", "Hi Megge,\n\nJust checking in on Closing"
                             " documents for the lease: did you have a chance to look at"
                             " it?\n\nBest regards,\nAlex Morgan\n")
        dialog.show()
        return dialog

    yield "nudge", nudge

    def devices(which: str) -> Callable[[], QWidget]:
        def show() -> QWidget:
            from types import SimpleNamespace

            from heard.gui.settings_devices import InviteDialog, JoinDialog, Joined

            dialog: QWidget
            if which == "invite":   # the code shown (the demo has no IMAP account to ask)
                invite = InviteDialog(lambda: None, ops, engine.settings.zone)
                invite.show()
                invite.show_invitation(SimpleNamespace(
                    code="ABCD-EFGH-JKLM-NPQR", accounts=["work"],
                    expires=engine.clock.now() + timedelta(hours=1)))
                dialog = invite
            else:                   # a code no invitation opens, said
                join = JoinDialog(lambda _code: Joined({}), ops)
                join.show()
                join.code.setText("ABCD-EFGH-JKLM-NPQX")
                join.show_result(Joined({"work": None}))
                dialog = join
            return dialog
        return show

    yield "devices/invite", devices("invite")
    yield "devices/join", devices("join")

    def stats() -> QWidget:
        from heard.gui.stats_window import StatsWindow, stats_for_window

        window = StatsWindow()
        window.show_stats(*stats_for_window(engine))
        window.show()
        return window

    yield "statistics", stats

    def client() -> QWidget:
        from heard.gui.clients_page import ClientDialog, tiers_of

        dialog = ClientDialog(tiers_of(engine), engine.clients.all()[0])
        dialog.show()
        return dialog

    yield "client", client

    def accounts(which: str) -> Callable[[], QWidget]:
        def show() -> QWidget:
            from heard.gui.settings_window import SettingsWindow

            window = SettingsWindow(engine, ops)
            window.tabs.setCurrentIndex(1)
            window.show()
            button = window.accounts.add_mail if which == "mail" \
                else window.accounts.add_calendar_button
            button.click()
            dialog = window.accounts._dialog
            assert dialog is not None
            return dialog
        return show

    yield "account/mail", accounts("mail")
    yield "account/calendar", accounts("calendar")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shots", type=Path)
    parser.add_argument("--only")
    args = parser.parse_args(argv)
    app = QApplication(sys.argv[:1])
    screen = app.primaryScreen().availableGeometry()
    report: dict[str, Any] = {"screen": list(screen.getRect()), "windows": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for name, show in windows(app, Path(tmp)):
            if args.only and args.only not in name:
                continue
            window = show()
            mapped(app, window)
            report["windows"][name] = {"frame": list(window.frameGeometry().united(
                                           window.geometry()).getRect()),
                                       "problems": problems_of(window, screen)}
            if args.shots:
                args.shots.mkdir(parents=True, exist_ok=True)
                shot = app.primaryScreen().grabWindow(0)
                shot.save(str(args.shots / (name.replace("/", "-").replace(" ", "-")
                                            + ".png")))
            top = window.window()
            top.close()
            if top is not window:
                window.close()
            settle(app, 0.1)
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
