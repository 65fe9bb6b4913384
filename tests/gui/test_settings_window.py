"""The settings window edits heard.toml through the file's own validation: a good edit on
any tab is saved, read back and reaches the running engine; a bad one names its field and
changes nothing. Accounts are tested before they are written, off the GUI thread, against
real servers (Dovecot, Postfix, Radicale); passwords go to a real Secret Service and
nowhere else (every file of the profile and the log are scanned)."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QApplication,
    QCheckBox,
    QComboBox,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTabWidget,
    QWidget,
)
from pytestqt.qtbot import QtBot

from heard import config
from heard.config import ImapAccount
from heard.config.templates import load_templates
from heard.domain.clients import Channel
from heard.domain.clock import Counting
from heard.engine import Engine
from heard.gui.ops import Ops
from heard.gui.settings_accounts import CalendarDialog, MailAccountDialog
from heard.gui.settings_window import BAD, SettingsWindow
from heard.gui.tray import HeardApp
from heard.setup import accounts as setup_accounts
from heard.system import log as heard_log
from heard.system import secrets
from tests.conftest import NOW
from tests.gui.test_tray_app import app  # noqa: F401  (the app fixture)
from tests.support.dav import DavServer, Radicale
from tests.support.dovecot import Dovecot, MailUser
from tests.support.mail import MailFolders, drop, message

# A password no file could contain by chance (the test servers' own is "secret").
PASSWORD = "Hrd-7Qz!x9-kW2p"


def window_for(qtbot: QtBot, engine: Engine) -> SettingsWindow:
    ops = Ops()
    window = SettingsWindow(engine, ops)
    ops.setParent(window)
    qtbot.addWidget(window)
    return window


@pytest.fixture(scope="module")
def secret_user() -> Iterator[MailUser]:
    """A Dovecot of this module whose user has PASSWORD (so a scan for it means something)."""
    server = Dovecot()
    user = server.add_user()
    users = server.dir / "users"
    users.write_text(users.read_text().replace(f"{user.name}:{{PLAIN}}secret:",
                                               f"{user.name}:{{PLAIN}}{PASSWORD}:"))
    server.start()
    yield MailUser(user.name, PASSWORD, server)
    server.close()


@pytest.fixture(scope="module")
def radicale() -> Iterator[DavServer]:
    server = Radicale().start()
    yield server
    server.close()


@pytest.fixture
def logged(engine: Engine) -> Iterator[Path]:
    """Heard's log goes to the profile's heard.log (with debug lines), as `heard` does."""
    heard_log.setup(engine.profile.log, verbose=True)
    yield engine.profile.log
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_heard", False):
            handler.close()
            root.removeHandler(handler)


def files_with(root: Path, secret: str) -> list[Path]:
    """Every file under `root` that holds `secret` (as UTF-8 or UTF-16, any case)."""
    needles = [secret.encode(), secret.lower().encode(), secret.encode("utf-16-le")]
    return [path for path in root.rglob("*") if path.is_file()
            and any(n in path.read_bytes() for n in needles)]


def records_with(caplog: pytest.LogCaptureFixture, secret: str) -> list[logging.LogRecord]:
    """Log records (before any redaction) that carry `secret`."""
    def text(record: logging.LogRecord) -> str:
        try:
            return record.getMessage()
        except (TypeError, ValueError):   # a library's record with odd arguments
            return f"{record.msg} {record.args}"

    return [r for r in caplog.records if secret in text(r)]


def on_threads(monkeypatch: pytest.MonkeyPatch, owner: object, *names: str
               ) -> list[tuple[str, threading.Thread]]:
    """Record which thread runs each of the functions (or methods) `names` of `owner`."""
    seen: list[tuple[str, threading.Thread]] = []
    for name in names:
        real = getattr(owner, name)

        def spy(*args: Any, _real: Callable[..., Any] = real, _name: str = name) -> Any:
            seen.append((_name, threading.current_thread()))
            return _real(*args)

        monkeypatch.setattr(owner, name, spy)
    return seen


def fill_imap(dialog: MailAccountDialog, user: MailUser, password: str) -> None:
    form = dialog.mail
    form.name.setText("office")
    form.address.setText(user.address)
    form.host.setText("127.0.0.1")
    form.port.setValue(user.server.imap_port)
    form.security.setCurrentText("None (only to this computer)")
    form.username.setText(user.name)
    form.password.setText(password)


# -- round trip ------------------------------------------------------------------------------


def test_shows_the_configured_tiers_and_saves_an_edit_the_engine_takes_up(
        qtbot: QtBot, app: HeardApp, engine: Engine) -> None:  # noqa: F811
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


# -- templates: the live preview ---------------------------------------------------------------


def test_the_template_preview_follows_every_keystroke(
        qtbot: QtBot, engine: Engine, mail: MailFolders) -> None:
    window = window_for(qtbot, engine)
    page = window.templates
    page.select("acknowledge")
    preview = page.preview.toPlainText()
    assert "Hi Megge," in preview and "12:30 pm" in preview and "Alex Morgan" in preview
    page.body.setPlainText("Hello {client.full_name}, busy until {busy_until}.")
    assert page.preview.toPlainText().endswith("Hello Margaret Hale, busy until 11:00 am.")
    window.user_name.setText("A. Morgan")
    page.body.setPlainText("Regards, {user.name}")
    assert page.preview.toPlainText().endswith("Regards, A. Morgan")
    page.body.setPlainText("Hi {client.nmae}")
    assert "unknown placeholder {client.nmae}" in page.problem.text()
    assert "no preview" in page.preview.toPlainText()

    # With a client who is really waiting: the values the engine would send now.
    drop(mail.inbox, message("Rajesh Patel <raj@patel-eng.example>", "Drawings for site B"),
         NOW - timedelta(minutes=3))
    engine.sync()
    ops = Ops()
    real = SettingsWindow(engine, ops, status=engine.status())
    ops.setParent(real)
    qtbot.addWidget(real)
    real.templates.select("acknowledge")
    real.templates.preview_for.setCurrentIndex(1)
    shown = real.templates.preview.toPlainText()
    assert shown.startswith("Subject: Re: Drawings for site B")
    assert "Hi Rajesh," in shown
    expected = engine.replies.acknowledge(
        engine.status().waiting[0].inquiry.id, "acknowledge", dry_run=True)
    assert expected.body in shown                       # exactly what would be sent


# -- accounts: tested off the GUI thread, against real servers ---------------------------------


def account_dialog(qtbot: QtBot, window: SettingsWindow) -> MailAccountDialog:
    window.accounts.add_mail_account()
    dialog = window.accounts._dialog
    assert isinstance(dialog, MailAccountDialog)
    qtbot.addWidget(dialog)
    return dialog


@pytest.mark.usefixtures("real_keyring")
def test_test_connection_runs_off_the_gui_thread_against_dovecot_and_postfix(
        qtbot: QtBot, engine: Engine, mailuser: MailUser, postfix: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    seen = on_threads(monkeypatch, setup_accounts, "try_mail", "try_smtp")
    release = threading.Event()
    real_test = setup_accounts.try_mail

    def held(account: Any) -> Any:   # the worker waits until the GUI has shown it is free
        assert release.wait(10)
        return real_test(account)

    monkeypatch.setattr(setup_accounts, "try_mail", held)
    before = engine.profile.config.read_text()
    window = window_for(qtbot, engine)
    dialog = account_dialog(qtbot, window)
    fill_imap(dialog, mailuser, mailuser.password)
    form = dialog.mail
    form.smtp.setChecked(True)
    form.smtp_host.setText("127.0.0.1")
    form.smtp_port.setValue(postfix.starttls_port)
    form.smtp_ca_file.setText(str(postfix.cert))
    dialog.test()
    # The GUI thread is not waiting: it shows "Testing…" while the worker is held.
    qtbot.waitUntil(lambda: dialog.result_label.text().startswith("Testing"), timeout=2000)
    assert not dialog.test_button.isEnabled()
    release.set()
    qtbot.waitUntil(lambda: dialog.result_label.text().startswith("The connection works"),
                    timeout=20000)
    assert engine.profile.config.read_text() == before          # a test writes nothing
    main = threading.main_thread()
    assert {name for name, _t in seen} == {"try_mail", "try_smtp"}
    assert all(thread is not main for _n, thread in seen)

    with qtbot.waitSignal(window.accounts.changed, timeout=20000):
        dialog.add()
    s = config.load(engine.profile.config)
    account = next(a for a in s.accounts if a.name == "office")
    assert isinstance(account, ImapAccount) and account.smtp is not None
    assert account.smtp.port == postfix.starttls_port
    assert secrets.get_password(account.keyring_name) == mailuser.password
    assert "office" in window.accounts.names()
    assert mailuser.password not in engine.profile.config.read_text()

    # The saved account's own Test connection: off the GUI thread too.
    seen.clear()
    window.accounts.select("office")
    window.accounts.test()
    qtbot.waitUntil(lambda: "works" in window.accounts.result.text(), timeout=20000)
    assert "sending through 127.0.0.1 works" in window.accounts.result.text()
    assert seen and all(thread is not main for _n, thread in seen)


@pytest.mark.usefixtures("real_keyring")
def test_a_failed_test_says_why_in_plain_words_and_writes_nothing(
        qtbot: QtBot, engine: Engine, mailuser: MailUser, faulty_smtp: Any) -> None:
    from tests.support.dovecot import free_port

    before = engine.profile.config.read_bytes()
    window = window_for(qtbot, engine)
    dialog = account_dialog(qtbot, window)
    fill_imap(dialog, mailuser, mailuser.password)
    dialog.mail.port.setValue(free_port())           # nobody listens there
    dialog.add()
    qtbot.waitUntil(lambda: "Nothing was saved" in dialog.result_label.text(), timeout=20000)
    text = dialog.result_label.text()
    assert text.startswith("Receiving mail (IMAP): ")
    assert "Traceback" not in text and "Errno" not in text
    assert dialog.isVisible() and engine.profile.config.read_bytes() == before

    # IMAP works, but the SMTP server refuses the login: named, and still nothing written.
    dialog.mail.port.setValue(mailuser.server.imap_port)
    dialog.mail.smtp.setChecked(True)
    dialog.mail.smtp_host.setText("127.0.0.1")
    dialog.mail.smtp_port.setValue(faulty_smtp.port)
    dialog.mail.smtp_security.setCurrentText("None (only to this computer)")
    dialog.mail.smtp_username.setText(mailuser.name)
    dialog.mail.smtp_password.setText("not-the-password")
    dialog.add()
    qtbot.waitUntil(lambda: "Sending replies (SMTP)" in dialog.result_label.text(),
                    timeout=20000)
    assert "Nothing was saved" in dialog.result_label.text()
    assert engine.profile.config.read_bytes() == before

    # A field the file refuses is named too, before anything is tried.
    dialog.mail.smtp.setChecked(False)
    dialog.mail.security.setCurrentText("None (only to this computer)")
    dialog.mail.host.setText("imap.example.com")      # plain only to this machine
    dialog.add()
    qtbot.waitUntil(lambda: "Security (security)" in dialog.result_label.text(),
                    timeout=5000)
    assert engine.profile.config.read_bytes() == before


@pytest.mark.usefixtures("real_keyring")
def test_a_caldav_account_is_found_chosen_tested_and_saved_on_radicale(
        qtbot: QtBot, engine: Engine, radicale: DavServer) -> None:
    user = radicale.add_user()
    work = user.make_calendar("work")
    user.make_calendar("private")
    window = window_for(qtbot, engine)
    window.accounts.add_calendar()
    dialog = window.accounts._dialog
    assert isinstance(dialog, CalendarDialog)
    qtbot.addWidget(dialog)
    form = dialog.calendar
    form.url.setText(radicale.url)
    form.username.setText(user.name)
    form.password.setText(user.password)
    dialog.add()
    qtbot.waitUntil(form.discovered, timeout=20000)       # first the calendars to choose
    assert "Found 2 calendar(s)" in dialog.result_label.text()
    for i in range(form.found.count()):
        if form.found.item(i).text() == "private":
            form.found.item(i).setCheckState(Qt.CheckState.Unchecked)
    with qtbot.waitSignal(window.accounts.changed, timeout=20000):
        dialog.add()
    (calendar,) = config.load(engine.profile.config).calendars
    assert (calendar.kind, calendar.username, calendar.calendars) == (
        "caldav", user.name, (work,))
    assert secrets.get_password(calendar.keyring_name) == user.password
    window.accounts.select(calendar.name)
    window.accounts.test()
    qtbot.waitUntil(lambda: "can be read" in window.accounts.result.text(), timeout=20000)

    # Removing it forgets its password.
    window.accounts.remove_now(calendar.name)
    assert config.load(engine.profile.config).calendars == ()
    assert window.ops.wait(10000)
    assert secrets.get_password(calendar.keyring_name) is None


def test_local_accounts_need_no_keyring_and_an_edit_keeps_the_rest_of_the_entry(
        qtbot: QtBot, engine: Engine, mail: MailFolders, tmp_path: Path) -> None:
    from tests.support.calendar import vcalendar, vevent

    window = window_for(qtbot, engine)
    dialog = account_dialog(qtbot, window)
    form = dialog.mail
    form.kind.setCurrentIndex(1)                       # a Maildir folder
    form.name.setText("archive")
    form.inbox.setText(str(tmp_path / "nowhere"))
    dialog.add()
    qtbot.waitUntil(lambda: "Mail folder: not a Maildir" in dialog.result_label.text(),
                    timeout=10000)
    form.inbox.setText(str(mail.inbox.path))
    form.sent.setText(str(mail.sent.path))
    with qtbot.waitSignal(window.accounts.changed, timeout=10000):
        dialog.add()
    archive = next(a for a in config.load(engine.profile.config).accounts
                   if a.name == "archive")
    assert archive.inbox == mail.inbox.path

    # Editing the conftest's account keeps its outbox (not a field of the form) and
    # its place in the file.
    window.accounts.select("work")
    window.accounts.edit()
    edit = window.accounts._dialog
    assert isinstance(edit, MailAccountDialog)
    qtbot.addWidget(edit)
    edit.mail.address.setText("alex@morgan.example")
    with qtbot.waitSignal(window.accounts.changed, timeout=10000):
        edit.add()
    work, again = config.load(engine.profile.config).accounts
    assert (work.name, work.address, again.name) == ("work", "alex@morgan.example",
                                                     "archive")
    assert work.outbox == mail.outbox.path

    ics = tmp_path / "meetings.ics"
    ics.write_text(vcalendar(vevent("m1", "Deposition",
                                    "DTSTART;TZID=Europe/Berlin:20261125T090000",
                                    "DTEND;TZID=Europe/Berlin:20261125T110000")))
    window.accounts.add_calendar()
    calendar = window.accounts._dialog
    assert isinstance(calendar, CalendarDialog)
    qtbot.addWidget(calendar)
    calendar.calendar.kind.setCurrentIndex(1)          # an .ics file or folder
    calendar.calendar.path.setText(str(ics))
    with qtbot.waitSignal(window.accounts.changed, timeout=10000):
        calendar.add()
    (cal,) = config.load(engine.profile.config).calendars
    assert cal.kind == "ics" and cal.path == ics
    window.accounts.select(cal.name)
    window.accounts.test()
    qtbot.waitUntil(lambda: "can be read" in window.accounts.result.text(), timeout=10000)


@pytest.mark.usefixtures("real_keyring")
def test_secrets_live_in_the_real_keyring_and_in_no_file_of_the_profile_or_the_log(
        qtbot: QtBot, engine: Engine, secret_user: MailUser, logged: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    window = window_for(qtbot, engine)
    dialog = account_dialog(qtbot, window)
    fill_imap(dialog, secret_user, PASSWORD)
    dialog.test()
    qtbot.waitUntil(lambda: "works" in dialog.result_label.text(), timeout=20000)
    with qtbot.waitSignal(window.accounts.changed, timeout=20000):
        dialog.add()
    account = next(a for a in config.load(engine.profile.config).accounts
                   if a.name == "office")
    assert isinstance(account, ImapAccount)
    assert secrets.get_password(account.keyring_name) == PASSWORD   # the real keyring
    assert secrets.backend_name().startswith("Secret Service")

    # Edit it (a new folder list, the password left empty = the keyring's) and use it.
    window.accounts.select("office")
    window.accounts.edit()
    edit = window.accounts._dialog
    assert isinstance(edit, MailAccountDialog)
    qtbot.addWidget(edit)
    assert edit.mail.password.text() == "" and edit.mail.host.text() == "127.0.0.1"
    edit.mail.sent_folder.setText("Sent")
    with qtbot.waitSignal(window.accounts.changed, timeout=20000):
        edit.add()
    assert "sent_folder" in engine.profile.config.read_text()
    assert engine.settings_saved()
    engine.sync()                                   # the tray's use of it, logged
    window.save()
    for handler in logging.getLogger().handlers:
        handler.flush()
    assert logged.exists() and logged.read_text()
    assert files_with(engine.profile.root, PASSWORD) == []
    assert files_with(logged.parent, PASSWORD) == []
    assert records_with(caplog, PASSWORD) == []


def test_without_a_keyring_the_dialog_says_so_and_no_password_is_written(
        qtbot: QtBot, engine: Engine, secret_user: MailUser, logged: Path) -> None:
    before = engine.profile.config.read_bytes()
    window = window_for(qtbot, engine)
    dialog = account_dialog(qtbot, window)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.keyring is not None, timeout=10000)
    assert dialog.mail.keyring_note.isVisible()          # said before anything is typed
    assert "No keyring is available" in dialog.mail.keyring_note.text()
    assert not dialog.mail.password.isEnabled()
    fill_imap(dialog, secret_user, PASSWORD)             # typed anyway (by a script)
    dialog.add()
    qtbot.waitUntil(lambda: "Nothing was saved" in dialog.result_label.text(), timeout=10000)
    text = dialog.result_label.text()
    assert "No keyring is available" in text and "gnome-keyring" in text
    assert "no password was written to any file" in text
    assert engine.profile.config.read_bytes() == before
    for handler in logging.getLogger().handlers:
        handler.flush()
    assert files_with(engine.profile.root, PASSWORD) == []


# -- the client directory and the keyboard -----------------------------------------------------


def test_the_clients_tab_holds_the_client_directory(qtbot: QtBot, engine: Engine) -> None:
    window = window_for(qtbot, engine)
    index = next(i for i in range(window.tabs.count())
                 if window.tabs.tabText(i) == "&Clients")
    window.tabs.setCurrentIndex(index)
    page = window.clients_page
    assert page is not None and window.clients_slot.isAncestorOf(page)
    assert type(page).__name__ == "ClientsPage"


def _mnemonic(text: str) -> str | None:
    match = re.search(r"&([^&])", text.replace("&&", ""))
    return match.group(1).lower() if match else None


def keyboard_problems(top: QWidget) -> list[str]:
    """Inputs no label (with a buddy) or accessible name tells about, and mnemonics used
    twice among what is on screen together."""
    problems = []
    visible = [w for w in top.findChildren(QWidget) if w.isVisibleTo(top)]
    buddies = {label.buddy() for label in top.findChildren(QLabel) if label.buddy()}
    for widget in visible:
        if isinstance(widget, QLineEdit | QComboBox | QAbstractSpinBox | QPlainTextEdit) \
                and widget.focusPolicy() != Qt.FocusPolicy.NoFocus \
                and not isinstance(widget.parent(), QComboBox | QAbstractSpinBox):
            proxies = {widget, widget.parentWidget()}
            if not (proxies & buddies) and not widget.accessibleName():
                hint = widget.placeholderText() if isinstance(widget, QLineEdit) else ""
                problems.append(f"no label for {type(widget).__name__} {hint}")
    keys: dict[str, list[str]] = {}
    texts = [(w.text(), w) for w in visible if isinstance(w, QLabel | QAbstractButton)]
    texts += [(w.title(), w) for w in visible if isinstance(w, QGroupBox)]
    for tabs in (w for w in visible if isinstance(w, QTabWidget)):
        texts += [(tabs.tabText(i), tabs) for i in range(tabs.count())]
    for text, _widget in texts:
        key = _mnemonic(text)
        if key:
            keys.setdefault(key, []).append(text)
    problems += [f"Alt+{k.upper()} for {', '.join(v)}" for k, v in keys.items() if len(v) > 1]
    return problems


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
