"""The settings window's Absence tab (heard.gui.settings_absence): an absence added and
taken back at once through the engine, the after-hours tiers and the deputy saved with the
window, every field reachable from the keyboard."""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from heard import config
from heard.engine import Engine
from heard.gui.tray import HeardApp, tooltip_text
from tests.conftest import NOW
from tests.support.gui import keyboard_problems, window_for


def test_an_absence_is_added_and_taken_back_and_the_fields_are_saved(
        qtbot: QtBot, engine: Engine) -> None:
    window = window_for(qtbot, engine)
    window.show()
    page = window.absence
    window.tabs.setCurrentIndex(window.tabs.indexOf(page.parentWidget().parentWidget()))
    QApplication.processEvents()
    assert window.tabs.tabText(window.tabs.currentIndex()) == "Absence"
    assert keyboard_problems(window) == []
    assert page.list.item(0).text() == "None: you are not away."
    page.deputy.setText("Jordan Lee")
    page.add_button.click()
    qtbot.waitUntil(lambda: page.message.text() == "Absence 1 set.", timeout=5000)
    (absence,) = engine.absences.listing()
    assert absence.deputy == "Jordan Lee" and absence.tiers == ("*",)
    qtbot.waitUntil(lambda: "Jordan Lee stands in" in page.list.item(0).text(), timeout=5000)
    page.list.setCurrentRow(0)
    page.remove_button.click()
    qtbot.waitUntil(lambda: engine.absences.listing() == [], timeout=5000)
    page.after_tiers.setText("vip")
    page.offer_after.setText("3 working days")
    assert window.save()
    saved = config.load(engine.profile.config)
    assert saved.afterhours.tiers == ("vip",) and saved.absence.deputy == "Jordan Lee"
    assert saved.followups.offer_after == 3 and saved.absence.calendar_tiers == ()


def test_the_window_and_the_tooltip_say_the_absence_in_force(
        qtbot: QtBot, app: HeardApp, engine: Engine) -> None:
    engine.absences.add(NOW, NOW + timedelta(days=5), deputy="Jordan Lee")
    app.refresh()
    qtbot.waitUntil(lambda: app.status is not None and app.status.away is not None,
                    timeout=5000)
    assert app.status is not None
    tip = tooltip_text(app.status, engine.settings.zone)
    assert "Away until Mon 10:00, Jordan Lee stands in" in tip
    app.open_window()
    qtbot.waitUntil(lambda: "Away until Mon 10:00" in app.window.summary.text(),
                    timeout=5000)
