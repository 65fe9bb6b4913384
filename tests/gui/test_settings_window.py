"""The settings window edits standards and working hours through heard.toml's own
validation: a good edit reaches the running engine, a bad one names its key and changes
nothing."""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtWidgets import QComboBox
from pytestqt.qtbot import QtBot

from heard import config
from heard.domain.clients import Channel
from heard.domain.clock import Counting
from heard.engine import Engine
from heard.gui.app import HeardApp
from heard.gui.settings_window import SettingsWindow
from tests.gui.test_tray_app import app  # noqa: F401  (the app fixture)


def window_for(qtbot: QtBot, engine: Engine) -> SettingsWindow:
    window = SettingsWindow(engine.profile.config, engine.settings)
    qtbot.addWidget(window)
    return window


def test_shows_the_configured_tiers_and_saves_an_edit_the_engine_takes_up(
        qtbot: QtBot, app: HeardApp, engine: Engine) -> None:  # noqa: F811
    app.open_settings()
    window = app._settings_window
    assert isinstance(window, SettingsWindow)
    assert window.tiers() == ["default", "vip"]
    vip = window.tiers().index("vip")
    assert window.table.item(vip, 0).text() == "10m"
    window.table.item(vip, 0).setText("5m")
    window.table.item(vip, 3).setText("95%")
    combo = window.table.cellWidget(vip, 2)
    assert isinstance(combo, QComboBox)
    combo.setCurrentText("around the clock")
    window.days["friday"].setText("09:00-12:00, 13:00-15:00")
    window.holidays.setText("2026-12-24, 2026-12-31")
    with qtbot.waitSignal(window.saved, timeout=3000):
        window.save()
    qtbot.waitUntil(lambda: engine.settings.standards.for_contact(
        "vip", Channel.EMAIL).ack_within == timedelta(minutes=5), timeout=5000)
    vip_standard = engine.settings.standards.for_contact("vip", Channel.EMAIL)
    assert vip_standard.ack_goal == 0.95 and vip_standard.counting is Counting.CLOCK
    loaded = config.load(engine.profile.config)
    assert len(loaded.week[4]) == 2                           # Friday has a lunch break
    assert {str(d) for d in loaded.holidays} == {"2026-12-24", "2026-12-31"}
    assert "Megge" not in engine.profile.config.read_text()   # only settings were written


def test_a_mistake_names_its_key_and_nothing_is_written(
        qtbot: QtBot, engine: Engine) -> None:
    before = engine.profile.config.read_text()
    window = window_for(qtbot, engine)
    window.table.item(0, 0).setText("soon")
    window.days["monday"].setText("9 to 5")
    window.save()
    assert "standards.default.ack_within" in window.problems.text()
    assert "hours.monday" in window.problems.text()
    assert engine.profile.config.read_text() == before
    assert window.result() != SettingsWindow.DialogCode.Accepted


def test_a_tier_can_be_added_and_removed(qtbot: QtBot, engine: Engine) -> None:
    window = window_for(qtbot, engine)
    window._add_row("gold", engine.settings.standards.default)
    window.table.item(window.tiers().index("gold"), 0).setText("15m")
    window.save()
    assert config.load(engine.profile.config).standards.by_tier["gold"].ack_within == \
        timedelta(minutes=15)
    engine.reload_settings()
    again = window_for(qtbot, engine)
    again.table.setCurrentCell(again.tiers().index("gold"), 0)
    again._remove_tier()
    again.save()
    assert "gold" not in config.load(engine.profile.config).standards.by_tier
