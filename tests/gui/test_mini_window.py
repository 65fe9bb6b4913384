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


def test_a_count_that_comes_back_shows_the_same_picture(qtbot: QtBot) -> None:
    """13, 14, 13 waiting: the badge for 13 is the one painted first, not a new picture
    (each new one takes a place in Qt's pixmap cache, up to 10 MiB: the soak's RSS rose
    with the count moving 13-16); and only a few are kept, however many counts were shown."""
    from PySide6.QtWidgets import QMenu

    from heard.gui.mini_window import KEPT_PICTURES, MiniWindow

    menu = QMenu()
    mini = MiniWindow(menu)
    qtbot.addWidget(mini)
    mini.show_count(13, None)
    thirteen = mini.icon.pixmap().cacheKey()
    mini.show_count(14, None)
    assert mini.icon.pixmap().cacheKey() != thirteen
    mini.show_count(13, None)
    assert mini.icon.pixmap().cacheKey() == thirteen
    for n in range(100):
        mini.show_count(n, None)
    assert len(mini._pictures) == KEPT_PICTURES
