"""Accounts in the settings window (heard.gui.settings_accounts): each tested off the GUI
thread against real servers before it is written, passwords in the real keyring and
nowhere else (every file of the profile and the log are scanned)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from heard import config
from heard.config import ImapAccount
from heard.engine import Engine
from heard.gui.settings_accounts import CalendarDialog, MailAccountDialog
from heard.setup import accounts as setup_accounts
from heard.system import log as heard_log
from heard.system import secrets
from tests.support.dav import DavServer
from tests.support.dovecot import MailUser
from tests.support.gui import PASSWORD, account_dialog, files_with, records_with, window_for
from tests.support.mail import MailFolders
from tests.support.oauth import OAuthWorld


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
    assert "Found 2 calendars" in dialog.result_label.text()
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
    # A Maildir account whose replies cannot leave is not set up: the form says what is
    # missing (an outbox folder, or SMTP) before anything is tried.
    dialog.add()
    qtbot.waitUntil(lambda: "Outbox folder" in dialog.result_label.text(), timeout=10000)
    form.outbox.setText(str(mail.outbox.path))
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

    # Editing the conftest's account keeps its outbox and its place in the file.
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
    # A Maildir account with an outbox folder needs no password: no red paragraph for it,
    # until it is to send through SMTP, which does.
    dialog.mail.kind.setCurrentIndex(1)
    assert not dialog.mail.imap and not dialog.mail.keyring_note.isVisible()
    dialog.mail.smtp.setChecked(True)
    assert dialog.mail.keyring_note.isVisible()
    dialog.mail.smtp.setChecked(False)
    dialog.mail.kind.setCurrentIndex(0)
    assert dialog.mail.keyring_note.isVisible()
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


@pytest.mark.usefixtures("real_keyring")
def test_sign_in_with_microsoft_in_the_browser_then_add_and_later_sign_in_again(
        qtbot: QtBot, engine: Engine, oauth_world: OAuthWorld) -> None:
    """The browser is an HTTP client that consents (tests/support/oauth.py); the provider
    is [oauth.microsoft] pointed at the loopback OAuth2 server."""
    file = config.ConfigFile(engine.profile.config)
    for key, value in oauth_world.provider_settings().items():
        file.set("oauth.microsoft", key, value)
    user = oauth_world.dovecot.add_user()
    window = window_for(qtbot, engine)
    dialog = account_dialog(qtbot, window)
    form = dialog.mail
    form.name.setText("office")
    form.address.setText(user.address)
    form.host.setText("127.0.0.1")
    form.port.setValue(oauth_world.dovecot.imap_port)
    form.security.setCurrentText("None (only to this computer)")
    form.username.setText(user.name)
    form.use_provider("microsoft")
    assert form.password.isHidden() and not form.sign_in_button.isHidden()
    assert form.sign_in_button.text() == "Sign in with Microsoft…"
    dialog.test()   # not signed in yet: says what to press
    assert "Sign in with Microsoft" in dialog.result_label.text()
    pages: list[str] = []
    form.open_url = lambda url: pages.append(oauth_world.server.consent(url, user.name).text)
    qtbot.mouseClick(form.sign_in_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.result_label.text().startswith("Signed in to Test ID"),
                    timeout=20000)
    assert "Signed in" in pages[0]
    with qtbot.waitSignal(window.accounts.changed, timeout=20000):
        dialog.add()
    account = next(a for a in config.load(engine.profile.config).accounts
                   if a.name == "office")
    assert isinstance(account, ImapAccount)
    assert (account.auth, account.provider) == ("oauth2", "microsoft")
    kept = secrets.get_password(account.keyring_name)
    assert kept and not files_with(engine.profile.root, kept)

    # The grant is revoked; editing the account offers "Sign in again", which mends it.
    oauth_world.server.revoke_user(user.name)
    window.accounts.select("office")
    window.accounts.edit()
    edit = window.accounts._dialog
    assert isinstance(edit, MailAccountDialog)
    qtbot.addWidget(edit)
    assert edit.mail.sign_in_button.text() == "Sign in again…"
    edit.mail.open_url = lambda url: oauth_world.server.consent(url, user.name)
    qtbot.mouseClick(edit.mail.sign_in_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: edit.result_label.text().startswith("Signed in"), timeout=20000)
    edit.test()
    qtbot.waitUntil(lambda: edit.result_label.text().startswith("The connection works"),
                    timeout=20000)
    assert secrets.get_password(account.keyring_name) != kept


def test_a_microsoft_365_calendar_is_edited_as_one(qtbot: QtBot) -> None:
    """A [[calendars]] kind = "graph" entry opens as itself and is written back so: only
    its login to fill in (the mail account's sign-in reads it)."""
    from heard.gui.settings_accounts import CalendarForm

    raw = {"name": "outlook", "kind": "graph", "username": "alex@firm.example",
           "refresh_every": "10m"}
    form = CalendarForm(raw)
    qtbot.addWidget(form)
    assert form.kind_value == "graph"
    assert form.entry() == raw
    assert form.secret() == "" and form.missing() is None
    form.username.setText("")
    assert (form.missing() or "").startswith("User name (username): type your Microsoft 365")
