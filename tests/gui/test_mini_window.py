"""Where the desktop has no system tray (heard.gui.mini_window): a small window on top with
the count, opening the quick-reply window."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from heard.engine import Engine
from heard.gui.tray import HeardApp
from tests.conftest import NOW
from tests.support.mail import RAJ, MailFolders, drop, message


def test_without_a_tray_a_small_window_stays_on_top_with_the_count(
    qtbot: QtBot, engine: Engine, mail: MailFolders
) -> None:
    from PySide6.QtCore import Qt

    heard = HeardApp(engine, tray_available=False)
    try:
        heard.start()
        mini = heard.mini
        assert mini is not None and mini.isVisible()
        assert mini.windowFlags() & Qt.WindowType.WindowStaysOnTopHint
        assert "no system tray" in mini.toolTip()
        drop(mail.inbox, message(RAJ, "Drawings"), NOW)
        engine.sync()
        qtbot.waitUntil(lambda: mini.count.text() == "1 waiting", timeout=5000)
        qtbot.mouseClick(mini.open_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: heard.window.isVisible(), timeout=5000)
    finally:
        heard.dispose()


def test_the_badge_is_painted_again_only_when_it_changes(
    qtbot: QtBot, engine: Engine, mail: MailFolders
) -> None:
    """A refresh that changes nothing gives neither the window nor the tray a new picture:
    each new one takes a place in Qt's pixmap cache (a tray refreshes for weeks)."""
    heard = HeardApp(engine, tray_available=False)
    try:
        with qtbot.waitSignal(heard.status_applied, timeout=5000):
            heard.start()
        mini = heard.mini
        assert mini is not None
        pixmap, icon = mini.icon.pixmap().cacheKey(), heard.tray.icon().cacheKey()
        for _n in range(3):
            with qtbot.waitSignal(heard.status_applied, timeout=5000):
                heard.refresh()
        assert mini.icon.pixmap().cacheKey() == pixmap
        assert heard.tray.icon().cacheKey() == icon
        drop(mail.inbox, message(RAJ, "Drawings"), NOW)
        engine.sync()
        qtbot.waitUntil(lambda: mini.count.text() == "1 waiting", timeout=5000)
        assert mini.icon.pixmap().cacheKey() != pixmap
        assert heard.tray.icon().cacheKey() != icon
    finally:
        heard.dispose()
