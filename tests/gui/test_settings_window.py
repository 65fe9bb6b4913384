"""The settings window edits heard.toml through the file's own validation: a good edit on
any tab is saved, read back and reaches the running engine; a bad one names its field and
changes nothing; every field can be reached from the keyboard. The accounts tab and the
templates tab have tests of their own (test_settings_accounts.py,
test_settings_templates.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QLineEdit,
    QWidget,
)
from pytestqt.qtbot import QtBot

from heard import config
from heard.config.templates import load_templates
from heard.domain.clients import Channel
from heard.domain.clock import Counting
from heard.engine import Engine
from heard.gui.settings_accounts import CalendarDialog
from heard.gui.settings_window import BAD, SettingsWindow
from heard.gui.tray import HeardApp
from tests.conftest import NOW
from tests.support.devices import (
    designated_devices,
)
from tests.support.dovecot import Dovecot
from tests.support.gui import account_dialog, keyboard_problems, wait_status, window_for
from tests.support.hostile import SAMPLES, feed, shown_texts
from tests.support.mail import MailFolders
from tests.support.smtp import FaultySmtp

# -- round trip ------------------------------------------------------------------------------


def test_shows_the_configured_tiers_and_saves_an_edit_the_engine_takes_up(
        qtbot: QtBot, app: HeardApp, engine: Engine) -> None:
    app.open_settings()
    window = app._settings_window
    assert isinstance(window, SettingsWindow)
    app.open_settings()                       # one window at a time
    assert app._settings_window is window
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
    window.templates.add_template("short")
    window.templates.subject.setText("Got it: {subject}")
    window.templates.body.setPlainText("Hi {client.name}, by {reply_by}. {user.name}")
    with qtbot.waitSignal(window.saved, timeout=3000):
        window.save()
    qtbot.waitUntil(lambda: engine.settings.standards.for_contact(
        "vip", Channel.EMAIL).ack_within == timedelta(minutes=5), timeout=5000)
    vip_standard = engine.settings.standards.for_contact("vip", Channel.EMAIL)
    assert vip_standard.ack_goal == 0.95 and vip_standard.counting is Counting.CLOCK
    loaded = config.load(engine.profile.config)
    assert len(loaded.opening.week[4]) == 2                           # Friday has a lunch break
    assert {str(d) for d in loaded.opening.holidays} == {"2026-12-24", "2026-12-31"}
    assert "Megge" not in engine.profile.config.read_text()   # only settings were written
    qtbot.waitUntil(lambda: "short" in engine.templates, timeout=5000)  # templates too
    assert engine.templates["short"].subject == "Got it: {subject}"


def test_every_tab_round_trips_through_the_file(qtbot: QtBot, engine: Engine) -> None:
    path = engine.profile.config
    mine = path.read_text().replace('warn_before_answer = "1h"', 'warn_before_answer = "60m"')
    path.write_text("# my own notes about these settings\n" + mine)
    window = window_for(qtbot, engine)
    # General
    window.user_name.setText("Alex M. Morgan")
    window.addresses.setText("alex@morgan-law.example, am@morgan.example")
    window.phone_region.setText("DE")
    window.language.setText("de")
    window.clock_format.setCurrentIndex(window.clock_format.findData("12h"))
    window.tentative_busy.setChecked(False)
    window.internal_domains.setText("morgan-law.example")
    window.mail_window.setText("14d")
    # Standards
    window._add_row("gold", engine.settings.standards.default)
    window.table.item(window.tiers().index("gold"), 1).setText("3h")
    # Working hours
    window.days["saturday"].setText("10:00-12:00")
    window.zone.setText("America/Los_Angeles")
    # Templates: an edited shipped one, a new one, a new default, replies and autopilot
    window.templates.select("acknowledge")
    window.templates.body.setPlainText("Dear {client.name}, you'll hear from me by"
                                       " {reply_by}.\n{user.name}")
    window.templates.add_template("short")
    window.templates.body.setPlainText('Noted, {client.name} — "{subject}". {user.name}')
    window.templates.default.setCurrentText("short")
    window.templates.margin.setText("45m")
    window.templates.undo.setValue(10)
    window.templates.autopilot_tiers.setText("vip")
    # Assistants
    window.add_assistant("Sam Lee", "sam@morgan-law.example")
    window.add_assistant("Kim", "kim@morgan-law.example")
    window.delegation_due.setText("1h")
    window.tell_client.setChecked(False)
    # Notifications
    window.paused.setChecked(True)
    window.warn_ack.setText("5m")
    window.urgent_tiers.setText("vip, gold")
    window.quiet_in_meetings.setChecked(False)
    assert window.save()

    text = path.read_text()
    assert text.startswith("# my own notes about these settings")   # comments survive
    s = config.load(path)
    assert (s.user.name, s.user.addresses, s.user.phone_region) == (
        "Alex M. Morgan", ("alex@morgan-law.example", "am@morgan.example"), "DE")
    assert (s.locale.language, s.locale.time_format) == ("de", "12h")
    assert not s.calendar.tentative_busy and s.prospects.internal_domains == ("morgan-law.example",)
    assert s.mail.window == timedelta(days=14)
    assert s.standards.by_tier["gold"].answer_within == timedelta(hours=3)
    assert len(s.opening.week[5]) == 1 and s.user.timezone == "America/Los_Angeles"
    assert (s.replies.template, s.replies.margin, s.replies.undo_delay, s.autopilot.tiers) == (
        "short", timedelta(minutes=45), timedelta(seconds=10), ("vip",))
    assert [(a.name, a.address) for a in s.assistants] == [
        ("Sam Lee", "sam@morgan-law.example"), ("Kim", "kim@morgan-law.example")]
    assert s.delegation.due == timedelta(hours=1) and not s.delegation.tell_client
    assert s.notifications.paused and s.notifications.warn_before_ack == timedelta(minutes=5)
    assert s.notifications.urgent_tiers == ("vip", "gold") and not s.notifications.quiet_in_meetings
    assert 'warn_before_answer = "60m"' in text        # unchanged keys stay as written
    templates = load_templates(engine.profile.templates)
    assert templates["acknowledge"].body.startswith("Dear {client.name}")
    assert templates["short"].body == 'Noted, {client.name} — "{subject}". {user.name}'
    assert "call-back" not in engine.profile.templates.read_text()   # unchanged: not copied

    # The engine takes it all up, and a new window shows what the file says.
    assert engine.settings_saved()
    assert engine.settings.replies.template == "short" and "short" in engine.templates
    again = window_for(qtbot, engine)
    assert again.user_name.text() == "Alex M. Morgan"
    assert (again.language.text(), again.clock_format.currentData()) == ("de", "12h")
    assert again.zone.text() == "America/Los_Angeles"
    assert again.days["saturday"].text() == "10:00-12:00"
    assert "gold" in again.tiers()
    assert again.assistant_rows() == [("Sam Lee", "sam@morgan-law.example"),
                                      ("Kim", "kim@morgan-law.example")]
    assert again.templates.default.currentText() == "short"
    assert again.templates.undo.value() == 10
    assert again.paused.isChecked() and again.urgent_tiers.text() == "vip, gold"
    # Saving again unchanged changes nothing; removing what was added restores the file.
    before = path.read_text()
    assert again.save()
    assert path.read_text() == before
    third = window_for(qtbot, engine)
    third.assistants.setCurrentCell(1, 0)
    third._remove_assistant()
    third.templates.select("acknowledge")
    third.templates.remove_template()     # back to the shipped text
    assert third.save()
    assert [a.name for a in config.load(path).assistants] == ["Sam Lee"]
    assert "[acknowledge]" not in engine.profile.templates.read_text()


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


BAD_VALUES: list[tuple[str, Callable[[SettingsWindow], QWidget], str]] = [
    ("user.phone_region", lambda w: w.phone_region, "XX"),
    ("locale.language", lambda w: w.language, "klingon"),
    ("calendar.min_free", lambda w: w.min_free, "a while"),
    ("user.timezone", lambda w: w.zone, "Mars/Olympus"),
    ("hours.holidays", lambda w: w.holidays, "Christmas"),
    ("notifications.warn_before_ack", lambda w: w.warn_ack, "soon"),
    ("delegation.due", lambda w: w.delegation_due, "-1h"),
    ("replies.margin", lambda w: w.templates.margin, "half an hour"),
    ("autopilot.before", lambda w: w.templates.autopilot_before, "3 mins"),
]


@pytest.mark.parametrize(("key", "field", "value"), BAD_VALUES,
                         ids=[key for key, _f, _v in BAD_VALUES])
def test_a_bad_value_on_any_tab_is_refused_with_its_field_named(
        qtbot: QtBot, engine: Engine, key: str, field: Callable[[SettingsWindow], QWidget],
        value: str) -> None:
    before = engine.profile.config.read_bytes()
    window = window_for(qtbot, engine)
    window.show()
    widget = field(window)
    assert isinstance(widget, QLineEdit)
    shown = widget.text()
    widget.setText(value)
    window.user_name.setText("Someone Else")     # a good change in the same save
    assert not window.save()
    assert f"{key}:" in window.problems.text()
    assert engine.profile.config.read_bytes() == before      # nothing, not even the name
    assert not engine.profile.templates.exists()
    assert widget.styleSheet() == BAD                         # marked, and shown
    current = window.tabs.currentWidget()
    assert current is not None and current.isAncestorOf(widget)
    widget.setText(shown)  # fixed: the save goes through
    assert window.save(), window.problems.text()
    assert widget.styleSheet() == ""


def test_bad_templates_and_assistants_are_refused_with_their_names(
        qtbot: QtBot, engine: Engine) -> None:
    before = engine.profile.config.read_bytes()
    window = window_for(qtbot, engine)
    window.templates.select("call-back")
    window.templates.body.setPlainText("Hi {client.nmae}")
    assert "unknown placeholder {client.nmae}" in window.templates.problem.text()
    window.add_assistant("Sam Lee", "")
    assert not window.save()
    problems = window.problems.text()
    assert "templates.call-back: unknown placeholder {client.nmae}" in problems
    assert "assistants (row 1).address: an assistant needs an address" in problems
    assert engine.profile.config.read_bytes() == before
    assert not engine.profile.templates.exists()
    # The default template cannot be removed: it is named, and stays.
    window = window_for(qtbot, engine)
    window.templates.add_template("mine")
    window.templates.default.setCurrentText("mine")
    window.templates.remove_template()
    assert "replies.template: 'mine' is the default" in window.templates.problem.text()
    assert "mine" in window.templates.working
    window.templates.default.setCurrentText("acknowledge")
    window.templates.select("mine")
    window.templates.remove_template()
    assert "mine" not in window.templates.working


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


# -- the client directory and the keyboard -----------------------------------------------------


def test_the_clients_tab_holds_the_client_directory(qtbot: QtBot, engine: Engine) -> None:
    window = window_for(qtbot, engine)
    index = next(i for i in range(window.tabs.count())
                 if window.tabs.tabText(i) == "&Clients")
    window.tabs.setCurrentIndex(index)
    page = window.clients_page
    assert page is not None and window.clients_slot.isAncestorOf(page)
    assert type(page).__name__ == "ClientsPage"


def test_every_field_can_be_reached_from_the_keyboard(qtbot: QtBot, engine: Engine) -> None:
    window = window_for(qtbot, engine)
    window.show()
    for index in range(window.tabs.count()):
        window.tabs.setCurrentIndex(index)
        QApplication.processEvents()
        assert keyboard_problems(window) == [], window.tabs.tabText(index)
    dialog = account_dialog(qtbot, window)
    dialog.show()
    dialog.mail.smtp.setChecked(True)
    assert keyboard_problems(dialog) == []
    dialog.mail.kind.setCurrentIndex(1)
    assert keyboard_problems(dialog) == []
    window.accounts.add_calendar()
    calendar = window.accounts._dialog
    assert isinstance(calendar, CalendarDialog)
    qtbot.addWidget(calendar)
    calendar.show()
    for kind in range(calendar.calendar.kind.count()):
        calendar.calendar.kind.setCurrentIndex(kind)
        assert keyboard_problems(calendar) == []
    assert isinstance(window.start_at_login, QCheckBox)


def test_a_broken_settings_file_is_named_and_only_a_fix_is_written(
        qtbot: QtBot, engine: Engine) -> None:
    path = engine.profile.config
    good = path.read_text()
    assert 'monday = "09:00-17:00"' in good
    path.write_text(good.replace('monday = "09:00-17:00"', 'mondey = "09:00-17:00"'))
    broken = path.read_text()
    window = window_for(qtbot, engine)
    assert "The settings file has problems" in window.problems.text()
    assert "hours.mondey: unknown setting (did you mean \"monday\"?)" in \
        window.problems.text()
    assert not window.save()                   # the window cannot fix a misspelt key
    assert path.read_text() == broken
    # A bad value it shows can be fixed from the window: only that key changes.
    path.write_text(good.replace('monday = "09:00-17:00"', "monday = 9"))
    window = window_for(qtbot, engine)
    assert "hours.monday" in window.problems.text()
    assert window.save()
    assert path.read_text() == good


@pytest.mark.usefixtures("real_keyring")
def test_the_settings_window_points_out_a_fallback_mode(
        tmp_path: Path, shared_dovecot: Dovecot, faulty_smtp: FaultySmtp,
        qtbot: QtBot) -> None:
    from tests.support.gui import window_for

    with designated_devices(tmp_path, shared_dovecot, faulty_smtp) as (_me, lap, _desk):
        window = window_for(qtbot, lap)
        qtbot.waitUntil(lambda: "designated-only" in window.devices_mode.text(),
                        timeout=10000)
        assert "keywords" in window.devices_mode.text()   # what the server lacks
        assert "c62828" in window.devices_mode.styleSheet()
        assert window.designated_instance.text() == "desk"
        # ... and the laptop's main window says what it means, once a sync learnt it.
        lap.sync()
        notice = lap.status().sharing_notice
        assert "replies go out from 'desk'" in notice
        from heard.gui.quick_reply import QuickReplyWindow

        quick = QuickReplyWindow()
        qtbot.addWidget(quick)
        quick.show()   # hidden, the window keeps the status for when it opens
        quick.show_status(lap.status(), lap.settings.zone)
        assert quick.banner.text() == notice and not quick.banner.isHidden()


# -- text from mail ------------------------------------------------------------------------


def test_text_from_hostile_mail_is_text_on_every_tab(
        qtbot: QtBot, app: HeardApp, engine: Engine, mail: MailFolders) -> None:
    """Issue 24, 3: names and subjects from mail reach the settings window (the clients
    tab's prospects, the templates tab's 'Preview for' list of who waits) as text: no
    markup taken as rich text, no bidi override or control character, cut to fit."""
    feed(mail.inbox, NOW)
    engine.sync()
    app.refresh()
    wait_status(qtbot, app, len(SAMPLES))
    app.open_settings()   # as the tray opens it: with the status of who waits
    window = app._settings_window
    assert isinstance(window, SettingsWindow)
    for index in range(window.tabs.count()):
        window.tabs.setCurrentIndex(index)
    page = window.clients_page
    assert page is not None
    qtbot.waitUntil(lambda: page.table.rowCount() == 5, timeout=5000)
    texts, problems = shown_texts(window)
    assert problems == []
    assert "<b>Urgent</b> KCOLB Bank" in texts            # the stranger, as written
    entries = [window.templates.preview_for.itemText(i)
               for i in range(window.templates.preview_for.count())]
    assert "<b>Urgent</b>: Account gpj.exe[2J" in entries
    assert any(e.startswith("Megge: <span foreground=") for e in entries)
    assert max(len(e) for e in entries) <= 120            # the 10,000-character subject
    window.reject()
