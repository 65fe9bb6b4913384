"""The first start without settings: the set-up wizard, end to end with a real IMAP account
on Dovecot, a CalDAV calendar on Radicale and a real Secret Service, ending with the tray
icon live; without a keyring it says so, explains, and no password is written anywhere."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from PySide6.QtWidgets import QWizard
from pytestqt.qtbot import QtBot

from heard import config
from heard.config import ImapAccount
from heard.engine import Engine
from heard.gui.first_run import UNKNOWN, FirstRunWizard
from heard.gui.tray import HeardApp
from heard.system import secrets
from tests.support.dav import DavServer
from tests.support.dovecot import MailUser
from tests.support.gui import (
    PASSWORD,
    files_with,
    keyboard_problems,
    records_with,
)
from tests.support.oauth import OAuthWorld

VCARDS = """BEGIN:VCARD
VERSION:3.0
FN:Rajesh Patel
EMAIL:raj@patel-eng.example
END:VCARD
BEGIN:VCARD
VERSION:3.0
FN:Sofia Lindqvist
TEL:+46 8 123 456 78
END:VCARD
"""


def wizard_for(qtbot: QtBot, engine: Engine) -> FirstRunWizard:
    wizard = FirstRunWizard(engine)
    qtbot.addWidget(wizard)
    wizard.show()
    qtbot.waitUntil(lambda: wizard.keyring is not UNKNOWN, timeout=10000)
    return wizard


def next_page(qtbot: QtBot, wizard: FirstRunWizard, timeout: int = 20000) -> None:
    """Press Next and wait until the wizard moved on (checks run on a worker)."""
    page = wizard.currentPage()
    wizard.button(QWizard.WizardButton.NextButton).click()
    qtbot.waitUntil(lambda: wizard.currentPage() is not page, timeout=timeout)


@pytest.mark.usefixtures("real_keyring")
def test_the_wizard_sets_everything_up_and_ends_with_the_tray_live(
        qtbot: QtBot, fresh: Engine, secret_user: MailUser,
        radicale: DavServer, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    dav = radicale.add_user()
    work = dav.make_calendar("work")
    wizard = wizard_for(qtbot, fresh)
    assert wizard.keyring is None                       # the Secret Service answered
    assert keyboard_problems(wizard) == []
    wizard.welcome.name.setText("Alex Morgan")
    wizard.welcome.instance.setText("Desk 2")
    wizard.button(QWizard.WizardButton.NextButton).click()
    assert wizard.currentPage() is wizard.welcome          # refused, saying what is allowed
    assert "lower-case letters or digits" in wizard.welcome.status.text()
    wizard.welcome.instance.setText("desk2")
    next_page(qtbot, wizard)
    assert wizard.currentPage() is wizard.address
    next_page(qtbot, wizard)                            # no address: the form by hand

    mail = wizard.mail
    assert wizard.currentPage() is mail and not mail.keyring_note.isVisible()
    assert keyboard_problems(wizard) == []
    form = mail.form
    form.address.setText(secret_user.address)
    assert form.username.text() == secret_user.address   # follows until changed
    form.username.setText(secret_user.name)
    form.host.setText("127.0.0.1")
    form.port.setValue(secret_user.server.imap_port)
    form.security.setCurrentText("None (only to this computer)")
    form.password.setText(PASSWORD)
    next_page(qtbot, wizard)                            # logs in first, off the GUI thread
    assert mail.checked is not None

    calendar = wizard.calendar
    assert keyboard_problems(wizard) == []
    calendar.form.url.setText(radicale.url)
    calendar.form.username.setText(dav.name)
    calendar.form.password.setText(dav.password)
    wizard.button(QWizard.WizardButton.NextButton).click()
    qtbot.waitUntil(calendar.form.discovered, timeout=20000)   # found; the user chooses
    assert wizard.currentPage() is calendar
    assert calendar.form.chosen() == [work]
    next_page(qtbot, wizard)

    standards = wizard.standards
    assert "30m" in standards.ack.text()
    assert keyboard_problems(wizard) == []
    standards.ack.setText("whenever")
    wizard.button(QWizard.WizardButton.NextButton).click()
    assert wizard.currentPage() is standards           # refused, naming the field
    assert "standards.default.ack_within" in standards.status.text()
    standards.ack.setText("15m")
    standards.zone.setText("Europe/Berlin")
    next_page(qtbot, wizard)

    clients = wizard.clients
    assert keyboard_problems(wizard) == []
    clients.add_row("Margaret Hale", "margaret@hale.example", "Megge", vip=True)
    clients.table.item(0, 1).setText("@acme.example")   # a row with only a domain …
    wizard.button(QWizard.WizardButton.NextButton).click()
    assert "Row 1, Name: a client needs a name" in clients.status.text()
    clients.table.item(0, 0).setText("Acme Ltd")
    contacts = tmp_path / "contacts.vcf"
    contacts.write_text(VCARDS)
    clients.import_file(contacts)
    qtbot.waitUntil(lambda: "2 clients read" in clients.import_note.text(), timeout=10000)
    next_page(qtbot, wizard)

    done = wizard.done_page
    summary = done.summary.text()
    # No SMTP server was given: the summary says what that means instead of "Ready".
    assert f"Mail: {secret_user.name} at 127.0.0.1 (tested; no SMTP server, so replies" \
        " cannot be sent from this computer)" in summary
    assert "Clients: 4 to add." in summary
    assert "This computer: 'desk2' among your devices." in summary
    assert not fresh.profile.config.exists()           # nothing written before Finish
    with qtbot.waitSignal(wizard.accepted, timeout=20000):
        wizard.button(QWizard.WizardButton.FinishButton).click()

    s = config.load(fresh.profile.config)
    assert s.user.name == "Alex Morgan" and s.user.timezone == "Europe/Berlin"
    assert s.instance == "desk2"
    (account,) = s.accounts
    assert isinstance(account, ImapAccount) and account.username == secret_user.name
    (cal,) = s.calendars
    assert cal.kind == "caldav" and cal.calendars == (work,)
    assert s.standards.default.ack_within.total_seconds() == 15 * 60
    assert s.standards.by_tier["vip"].ack_within.total_seconds() == 10 * 60
    assert "# Heard settings." in fresh.profile.config.read_text()   # commented defaults
    names = {c.name: c for c in fresh.clients.all()}
    assert set(names) == {"Acme Ltd", "Margaret Hale", "Rajesh Patel", "Sofia Lindqvist"}
    assert names["Margaret Hale"].tier == "vip" and names["Acme Ltd"].domains == (
        "acme.example",)
    assert secrets.get_password(account.keyring_name) == PASSWORD
    assert secrets.get_password(cal.keyring_name) == dav.password

    # … and the tray comes up with it.
    assert fresh.reload_settings()
    heard = HeardApp(fresh, tray_available=True)
    with qtbot.waitSignal(heard.status_applied, timeout=10000):
        heard.start()
    try:
        assert heard.tray.isVisible()
        assert "No mail account yet" not in heard.tray.toolTip()
        qtbot.waitUntil(lambda: any(a.name == "work" and a.online
                                    for a in fresh.accounts()), timeout=20000)
    finally:
        heard.dispose()
    for handler in logging.getLogger().handlers:
        handler.flush()
    assert files_with(fresh.profile.root, PASSWORD) == []   # store, settings, log, caches
    assert records_with(caplog, PASSWORD) == []


def test_without_a_keyring_it_explains_and_no_password_is_written_anywhere(
        qtbot: QtBot, fresh: Engine, secret_user: MailUser) -> None:
    wizard = wizard_for(qtbot, fresh)
    next_page(qtbot, wizard)
    next_page(qtbot, wizard)   # past the address page, left empty
    mail = wizard.mail
    assert isinstance(wizard.keyring, str)
    note = mail.keyring_note.text()
    assert mail.keyring_note.isVisible()
    assert "No keyring is available" in note and "gnome-keyring" in note
    assert "go on without the mail account" in note
    assert mail.later.text().startswith("Continue without &a mail")
    # The form is usable: a Maildir folder needs no password, so it is offered first; only
    # the password fields are off.
    assert not mail.later.isChecked() and mail.form.isEnabled()
    assert not mail.form.imap and mail.form.inbox.isEnabled() and mail.form.outbox.isEnabled()
    assert not mail.form.password.isEnabled()
    # Even when a password gets into the field, an IMAP account is not made without one.
    mail.form.kind.setCurrentIndex(0)
    mail.form.host.setText("127.0.0.1")
    mail.form.port.setValue(secret_user.server.imap_port)
    mail.form.security.setCurrentText("None (only to this computer)")
    mail.form.username.setText(secret_user.name)
    mail.form.password.setText(PASSWORD)
    wizard.button(QWizard.WizardButton.NextButton).click()
    assert wizard.currentPage() is mail
    assert "No keyring is available" in mail.status.text()
    mail.later.setChecked(True)
    next_page(qtbot, wizard)
    wizard.calendar.later.setChecked(True)
    next_page(qtbot, wizard)
    next_page(qtbot, wizard)
    next_page(qtbot, wizard)
    assert "No keyring: no password was stored anywhere." in wizard.done_page.summary.text()
    with qtbot.waitSignal(wizard.accepted, timeout=10000):
        wizard.button(QWizard.WizardButton.FinishButton).click()
    s = config.load(fresh.profile.config)
    assert s.accounts == () and s.calendars == ()
    for handler in logging.getLogger().handlers:
        handler.flush()
    assert files_with(fresh.profile.root, PASSWORD) == []


def test_without_a_keyring_a_maildir_account_is_set_up_only_with_a_way_to_send(
        qtbot: QtBot, fresh: Engine, tmp_path: Path) -> None:
    # The wizard could finish with a Maildir account that watched but could not send: the
    # first Enter failed. Now the send path is asked for and tried before Next.
    mail_root = tmp_path / "Mail"
    for folder in ("INBOX", "Outbox"):
        for sub in ("cur", "new", "tmp"):
            (mail_root / folder / sub).mkdir(parents=True)
    wizard = wizard_for(qtbot, fresh)
    next_page(qtbot, wizard)
    next_page(qtbot, wizard)   # past the address page, left empty
    mail = wizard.mail
    assert isinstance(wizard.keyring, str) and mail.form.isEnabled() and not mail.form.imap
    mail.form.inbox.setText(str(mail_root / "INBOX"))
    mail.form.address.setText("alex@morgan-law.example")
    wizard.button(QWizard.WizardButton.NextButton).click()
    assert wizard.currentPage() is mail
    assert "Outbox folder" in mail.status.text() and "SMTP" in mail.status.text()
    mail.form.outbox.setText(str(mail_root / "Nowhere"))      # not a Maildir
    wizard.button(QWizard.WizardButton.NextButton).click()
    qtbot.waitUntil(lambda: "Nowhere" in mail.status.text(), timeout=10000)
    assert wizard.currentPage() is mail and "`" not in mail.status.text()
    mail.form.outbox.setText(str(mail_root / "Outbox"))
    next_page(qtbot, wizard)
    wizard.calendar.later.setChecked(True)
    next_page(qtbot, wizard)
    next_page(qtbot, wizard)
    next_page(qtbot, wizard)
    summary = wizard.done_page.summary.text()
    assert f"replies go into {mail_root / 'Outbox'} for your mail system to send, tested" \
        in summary
    with qtbot.waitSignal(wizard.accepted, timeout=10000):
        wizard.button(QWizard.WizardButton.FinishButton).click()
    (account,) = config.load(fresh.profile.config).accounts
    assert account.outbox == mail_root / "Outbox"
    assert list((mail_root / "Outbox" / "tmp").iterdir()) == []   # the probe went again


AUTOCONFIG = """<?xml version="1.0"?>
<clientConfig version="1.1"><emailProvider id="example.test">
  <incomingServer type="imap"><hostname>127.0.0.1</hostname><port>{imap}</port>
    <socketType>SSL</socketType><authentication>password-cleartext</authentication>
    <username>%EMAILADDRESS%</username></incomingServer>
</emailProvider></clientConfig>
"""


@pytest.mark.usefixtures("real_keyring")
def test_an_address_alone_fills_the_mail_page_and_its_account_logs_in(
        qtbot: QtBot, fresh: Engine, secret_user: MailUser, discovery: object) -> None:
    """The servers found from the address (autoconfig.example.test, through the test DNS
    server and verified HTTPS) fill the form; only the password is typed; Dovecot takes
    it."""
    discovery.https.files["autoconfig.example.test"] = AUTOCONFIG.format(  # type: ignore[attr-defined]
        imap=secret_user.server.imaps_port).encode()
    wizard = wizard_for(qtbot, fresh)
    next_page(qtbot, wizard)
    address = f"{secret_user.name}@example.test"   # Dovecot logs in by the local part
    wizard.address.address.setText(address)
    next_page(qtbot, wizard)                          # discovery runs on a worker
    mail = wizard.mail
    assert wizard.currentPage() is mail
    form = mail.form
    assert (form.host.text(), form.port.value(), form.username.text(),
            form.address.text()) == ("127.0.0.1", secret_user.server.imaps_port, address,
                                     address)
    assert form.security.currentText().startswith("TLS")
    assert mail.found_note.text() == ("Found in https://autoconfig.example.test/mail/"
                                      "config-v1.1.xml.")
    form.ca_file.setText(str(secret_user.server.cert))
    form.password.setText(PASSWORD)
    next_page(qtbot, wizard)                          # logs in, off the GUI thread
    assert mail.checked is not None
    assert mail.checked.entry["host"] == "127.0.0.1"


@pytest.mark.usefixtures("real_keyring")
def test_the_mail_page_says_what_a_provider_needs(qtbot: QtBot, fresh: Engine,
                                                  discovery: object) -> None:
    wizard = wizard_for(qtbot, fresh)
    next_page(qtbot, wizard)
    wizard.address.address.setText("alex@icloud.com")
    next_page(qtbot, wizard)
    note = wizard.mail.found_note.text()
    assert note.startswith("Found in Heard's own knowledge of iCloud Mail.")
    assert "app password" in note and "https://account.apple.com/account/manage" in note
    assert wizard.mail.form.host.text() == "imap.mail.me.com"
    assert wizard.mail.form.provider == ""            # an app password
    wizard.back()
    wizard.address.address.setText("alex@m365.test")   # Microsoft 365 by its MX record
    next_page(qtbot, wizard)
    note = wizard.mail.found_note.text()
    assert "sign in with Microsoft in the browser" in note and "Sign in button" in note
    assert wizard.mail.form.host.text() == "outlook.office365.com"
    assert wizard.mail.form.provider == "microsoft"   # the sign-in button, no password
    wizard.back()
    wizard.address.address.setText("lee@nothing.test")
    next_page(qtbot, wizard)
    assert wizard.mail.found_note.text().startswith("Nothing was found for lee@nothing.test")
    assert (wizard.mail.form.host.text(), wizard.mail.form.provider) == ("", "")


@pytest.mark.usefixtures("real_keyring")
def test_an_address_whose_server_takes_oauth2_is_signed_in_in_the_browser_and_logs_in(
        qtbot: QtBot, fresh: Engine, discovery: object, oauth_world: OAuthWorld) -> None:
    """The wizard's whole OAuth2 path from an address: autoconfig.example.test says OAuth2
    for the Dovecot that checks the test OAuth2 server's tokens ([oauth.microsoft] pointed
    at that server, as an organisation's settings would); the mail page offers the Sign in
    button instead of a password; the browser (an HTTP client that consents) signs in;
    Next logs in to IMAP with the token; the sign-in is in the keyring and in no file."""
    file = config.ConfigFile(fresh.profile.config)
    for key, value in oauth_world.provider_settings().items():
        file.set("oauth.microsoft", key, value)
    user = oauth_world.dovecot.add_user()
    discovery.https.files["autoconfig.example.test"] = AUTOCONFIG.replace(  # type: ignore[attr-defined]
        "password-cleartext", "OAuth2").format(imap=oauth_world.dovecot.imaps_port).encode()
    wizard = wizard_for(qtbot, fresh)
    next_page(qtbot, wizard)
    address = f"{user.name}@example.test"   # Dovecot's oauth2 passdb takes the local part
    wizard.address.address.setText(address)
    next_page(qtbot, wizard)                          # discovery runs on a worker
    mail = wizard.mail
    form = mail.form
    assert wizard.currentPage() is mail
    assert (form.host.text(), form.port.value()) == ("127.0.0.1", oauth_world.dovecot.imaps_port)
    assert mail.found_note.text().startswith("Found in https://autoconfig.example.test/")
    form.use_provider("microsoft")                    # the organisation's sign-in
    assert form.password.isHidden() and not form.sign_in_button.isHidden()
    form.ca_file.setText(str(oauth_world.dovecot.cert))
    pages: list[str] = []
    form.open_url = lambda url: pages.append(oauth_world.server.consent(url, user.name).text)
    form.sign_in_button.click()
    qtbot.waitUntil(lambda: mail.status.text().startswith("Signed in"), timeout=20000)
    assert pages and "Signed in" in pages[0]
    next_page(qtbot, wizard)                          # IMAP with the token, off the GUI thread
    assert mail.checked is not None
    assert (mail.checked.entry["auth"], mail.checked.entry["provider"]) == ("oauth2",
                                                                            "microsoft")
    kept = secrets.get_password(f"oauth:microsoft:{address}")
    assert kept and files_with(fresh.profile.root, kept) == []
