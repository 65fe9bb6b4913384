"""Accounts: mail (IMAP or a Maildir folder, with SMTP for sending) and calendars (CalDAV,
an .ics file or folder, an https subscription), as `heard account add` has them.

Like the CLI, an account is tested before it is written: the password goes to the keyring,
Heard logs in (IMAP and SMTP) or reads the calendar, and only then is heard.toml changed.
A failure writes nothing and says why in plain words. Every login, keyring call and
discovery runs on a worker through Ops; the widgets only ask and show.

The checks themselves are heard.setup.accounts, as for `heard account`; this module puts
their failures into the forms' words (problem_text). The forms (MailAccountForm,
CalendarForm) are shared with the first-run wizard.
"""

from __future__ import annotations

import logging
import threading
import webbrowser
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from heard.config import (
    Account,
    CalendarSource,
    ConfigError,
    ImapAccount,
    MaildirAccount,
    Settings,
)
from heard.domain.wording import in_words, plural
from heard.engine import Engine
from heard.gui.fit import keep_on_screen, placeholders_fit
from heard.gui.ops import Ops
from heard.setup import accounts as setup
from heard.setup import signin
from heard.setup.accounts import (
    AccountProblem,
    CalendarsNotFound,
    Checked,
    FieldProblem,
    InvalidEntry,
    KeyringUnavailable,
    Part,
    PasswordNeeded,
    UnknownAccount,
    field_problems,
)

log = logging.getLogger(__name__)

# What each key of an account or calendar is called on screen, for messages that name
# the field the user has to fix.
FIELD_LABELS = {
    "name": "Name", "kind": "Kind", "address": "Your address", "inbox": "Inbox folder",
    "sent": "Sent folder", "outbox": "Outbox folder", "host": "IMAP server", "port": "Port",
    "security": "Security", "username": "User name", "folders": "Folders",
    "sent_folder": "Sent folder", "ca_file": "CA file", "poll_every": "Check every",
    "smtp_host": "SMTP server", "smtp_port": "SMTP port", "smtp_security": "SMTP security",
    "smtp_username": "SMTP user name", "smtp_ca_file": "SMTP CA file",
    "sent_copy": "Sent copy", "path": "File or folder", "url": "Address",
    "calendars": "Calendars", "refresh_every": "Refresh every",
}
SECURITY = {"TLS (port 993 / 465)": "tls", "STARTTLS (port 143 / 587)": "starttls",
            "None (only to this computer)": "plain"}
# How an IMAP account signs in: a password, or a provider's sign-in in the browser (OAuth2).
SIGN_IN = {"A password": "", "Microsoft (work, school or personal)": "microsoft",
           "Google": "google"}
SMTP_SECURITY = {"STARTTLS (port 587)": "starttls", "TLS (port 465)": "tls",
                 "None (only to this computer)": "plain"}
_MAIL_KEYS = frozenset({"name", "kind", "address", "inbox", "sent", "outbox", "host", "port",
                        "security", "username", "folders", "sent_folder", "ca_file",
                        "auth", "provider",
                        "smtp_host", "smtp_port", "smtp_security", "smtp_username",
                        "smtp_ca_file", "sent_copy"})
_CALENDAR_KEYS = frozenset({"name", "kind", "path", "url", "username", "calendars",
                            "ca_file"})
# What a form tells of the part of an account that failed while it was being set up.
_FAILED_PART = {Part.IMAP: "Receiving mail (IMAP): ", Part.MAILDIR: "Mail folder: ",
                Part.SMTP: "Sending replies (SMTP): ",
                Part.OUTBOX: "Sending replies (outbox folder): ", Part.CALENDAR: ""}


def _sign_in_fields(raw: Mapping[str, Any]) -> tuple[dict[str, str], QComboBox, QPushButton]:
    """An account form's "Sign in with" (a password, or a provider: one the file declares
    joins the known ones), with its choices by label, and the button that signs in."""
    provider = str(raw.get("provider", "")) if raw.get("auth") == "oauth2" else ""
    known = dict(SIGN_IN)
    if provider and provider not in known.values():
        known[provider.capitalize()] = provider
    button = QPushButton()
    button.setAccessibleName("Sign in")
    return known, _combo(known, provider), button


class FormProblem(Exception):
    """What a form finds wrong before anything is tried; str() is shown as it is."""


def _named(problems: Iterable[FieldProblem]) -> str:
    """'accounts[0].host: needs ...' -> 'IMAP server (host): needs ...'."""
    out = []
    for problem in problems:
        label = FIELD_LABELS.get(problem.field or "")
        out.append(f"{label} ({problem.field}): {problem.text}" if label else problem.raw)
    return "\n".join(out)


def problem_text(exc: Exception) -> str:
    """A failed check of an account being set up, in the words the forms show."""
    if isinstance(exc, InvalidEntry):
        return _named(exc.problems)
    if isinstance(exc, KeyringUnavailable):
        return f"{exc.problem}\nNothing was saved, and no password was written to any file."
    if isinstance(exc, PasswordNeeded):
        return "Password: type the password of the calendar account"
    if isinstance(exc, CalendarsNotFound):
        return ("The server has no calendar for this account: make one in your calendar"
                " app first.")
    if isinstance(exc, AccountProblem):
        return _FAILED_PART[exc.part] + exc.problem
    if isinstance(exc, FormProblem):
        return str(exc)
    return f"Unexpected problem: {exc}"


def _saved_problem_text(exc: Exception) -> str:
    """A failed test of a saved account or calendar, named."""
    if isinstance(exc, AccountProblem):
        where = ", sending (SMTP)" if exc.part is Part.SMTP else ""
        return f"{exc.account}{where}: {exc.problem}"
    return str(exc)


def _try_saved(source: Account | CalendarSource, zone: tzinfo, now: datetime) -> str:
    """On a worker: a saved account or calendar tried as the tray would use it; the
    result in words, or AccountProblem."""
    name = source.name
    if isinstance(source, CalendarSource):
        setup.try_calendar(source, zone, now)
        return f"{name}: the calendar can be read."
    report = setup.try_mail(source)
    notes = "; ".join(report.notes)
    done = [f"{name}: works" + (f" ({notes})" if notes else "")]
    if source.smtp is not None:
        setup.try_smtp(source)
        done.append(f"sending through {source.smtp.host} works")
    return "; ".join(done) + "."


# -- small widget helpers ---------------------------------------------------------------------


def problem_label() -> QLabel:
    label = QLabel("")
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def show_result(label: QLabel, text: str, ok: bool) -> None:
    label.setStyleSheet("" if ok else "color: #c62828")
    label.setText(in_words(text))   # the engine's fixes name commands; a window says words


def _combo(choices: Mapping[str, str], value: str) -> QComboBox:
    combo = QComboBox()
    combo.addItems(list(choices))
    values = list(choices.values())
    combo.setCurrentIndex(values.index(value) if value in values else 0)
    return combo


def _choose_value(combo: QComboBox, choices: Mapping[str, str], value: str) -> None:
    labels = [k for k, v in choices.items() if v == value]
    if labels:
        combo.setCurrentText(labels[0])


def _value(combo: QComboBox, choices: Mapping[str, str]) -> str:
    return choices[combo.currentText()]


def _port() -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(0, 65535)
    spin.setSpecialValueText("usual")
    return spin


def _path_row(edit: QLineEdit, folder: bool, title: str) -> QWidget:
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    browse = QPushButton("Browse…")
    browse.setAccessibleName(f"Browse for {title}")

    def pick() -> None:
        path = (QFileDialog.getExistingDirectory(row, title, edit.text()) if folder else
                QFileDialog.getOpenFileName(row, title, edit.text())[0])
        if path:
            edit.setText(path)

    browse.clicked.connect(pick)
    layout.addWidget(edit, 1)
    layout.addWidget(browse)
    row.setFocusProxy(edit)
    return row


def _csv(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


def _abs(text: str) -> str:
    return str(Path(text.strip()).expanduser().absolute())


# -- the mail account form --------------------------------------------------------------------


class MailAccountForm(QWidget):
    """Everything `heard account add imap|maildir` asks, as a form. entry() is the
    [[accounts]] table to write; the passwords never go into it."""

    changed = Signal()

    def __init__(self, raw: Mapping[str, Any] | None = None, *, default_name: str = "work",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        raw = dict(raw or {})
        self._raw = raw
        self._editing = bool(raw)
        self.kind = QComboBox()
        self.kind.addItems(["A mail server (IMAP)", "A Maildir folder on this computer"])
        self.kind.setCurrentIndex(1 if raw.get("kind") == "maildir" else 0)
        self.name = QLineEdit(str(raw.get("name", default_name)))
        self.address = QLineEdit(str(raw.get("address", "")))
        self.address.setPlaceholderText("you@example.com (replies are sent from it)")

        # IMAP
        self.host = QLineEdit(str(raw.get("host", "")))
        self.host.setPlaceholderText("imap.example.com")
        self.port = _port()
        self.port.setValue(int(raw.get("port", 0) or 0))
        self.security = _combo(SECURITY, str(raw.get("security", "tls")))
        self.username = QLineEdit(str(raw.get("username", "")))
        self.username.setPlaceholderText("usually your address")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("kept in the keyring" if self._editing else "")
        self._sign_in_choices, self.sign_in_with, self.sign_in_button = _sign_in_fields(raw)
        self._cancel_sign_in = threading.Event()
        self.folders = QLineEdit(", ".join(raw.get("folders", ["INBOX"])))
        self.sent_folder = QLineEdit(str(raw.get("sent_folder", "")))
        self.sent_folder.setPlaceholderText("found on the server")
        self.ca_file = QLineEdit(str(raw.get("ca_file", "")))
        self.ca_file.setPlaceholderText("only for a server with its own certificate authority")

        # Maildir
        self.inbox = QLineEdit(str(raw.get("inbox", "")))
        self.sent = QLineEdit(str(raw.get("sent", "")))
        self.sent.setPlaceholderText("optional")
        # How a Maildir account's replies leave: into an outbox Maildir the local mail
        # system sends from (README), unless an SMTP server below sends them.
        self.outbox = QLineEdit(str(raw.get("outbox", "")))
        self.outbox.setPlaceholderText("your mail system sends from it (or use SMTP below)")
        # one form, so the labels line up; the rows of the other kind are hidden
        form = self._form = QFormLayout()
        form.addRow("&Kind:", self.kind)
        form.addRow("Nam&e:", self.name)
        form.addRow("Your a&ddress:", self.address)
        self._imap_rows: list[QWidget] = []
        self._maildir_rows: list[QWidget] = []
        for label, widget, rows in (
                ("&Server:", self.host, self._imap_rows),
                ("P&ort:", self.port, self._imap_rows),
                ("Securit&y:", self.security, self._imap_rows),
                ("&User name:", self.username, self._imap_rows),
                ("Sign in wit&h:", self.sign_in_with, self._imap_rows),
                ("&Password:", self.password, self._imap_rows),
                ("", self.sign_in_button, self._imap_rows),
                ("&Folders clients write to:", self.folders, self._imap_rows),
                ("Sen&t folder:", self.sent_folder, self._imap_rows),
                ("CA f&ile:", _path_row(self.ca_file, False, "CA certificate file"),
                 self._imap_rows),
                ("&Inbox folder:", _path_row(self.inbox, True, "Maildir inbox"),
                 self._maildir_rows),
                ("Sent &folder:", _path_row(self.sent, True, "Maildir sent folder"),
                 self._maildir_rows),
                ("Out&box folder:", _path_row(self.outbox, True, "Maildir outbox folder"),
                 self._maildir_rows)):
            form.addRow(label, widget)
            rows.append(widget)
        self.kind.currentIndexChanged.connect(self._show_rows)
        self.sign_in_with.currentIndexChanged.connect(self._show_rows)
        self.open_url: Callable[[str], object] = webbrowser.open
        self.signed_in = False
        self._show_rows()

        # SMTP
        self.smtp = QGroupBox("Send replies through an SMTP server")
        self.smtp.setCheckable(True)
        self.smtp.setChecked(bool(raw.get("smtp_host")))
        self.smtp_host = QLineEdit(str(raw.get("smtp_host", "")))
        self.smtp_host.setPlaceholderText("smtp.example.com")
        self.smtp_port = _port()
        self.smtp_port.setValue(int(raw.get("smtp_port", 0) or 0))
        self.smtp_security = _combo(SMTP_SECURITY, str(raw.get("smtp_security", "starttls")))
        self.smtp_username = QLineEdit(str(raw.get("smtp_username", "")))
        self.smtp_username.setPlaceholderText("the same as for receiving")
        self.smtp_password = QLineEdit()
        self.smtp_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.smtp_password.setPlaceholderText("the same as for receiving")
        self.smtp_ca_file = QLineEdit(str(raw.get("smtp_ca_file", "")))
        self.server_files_sent = QCheckBox("&Gmail and others: the server files sent mail itself")
        self.server_files_sent.setChecked(raw.get("sent_copy") == "server")
        form = QFormLayout(self.smtp)
        form.addRow("SMTP ser&ver:", self.smtp_host)
        form.addRow("SMTP po&rt:", self.smtp_port)
        form.addRow("SMTP se&curity:", self.smtp_security)
        form.addRow("SMTP user na&me:", self.smtp_username)
        form.addRow("SMTP pass&word:", self.smtp_password)
        form.addRow("SMTP CA fi&le:", _path_row(self.smtp_ca_file, False, "CA file"))
        form.addRow(self.server_files_sent)

        self.keyring_note = problem_label()
        self.keyring_note.hide()
        self._keyring_problem: str | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self._form)
        layout.addWidget(self.smtp)
        layout.addWidget(self.keyring_note)
        for edit in (self.name, self.address, self.host, self.username, self.password,
                     self.folders, self.sent_folder, self.ca_file, self.inbox, self.sent,
                     self.outbox,
                     self.smtp_host, self.smtp_username, self.smtp_password,
                     self.smtp_ca_file):
            edit.textChanged.connect(self.changed)
        for spin in (self.port, self.smtp_port):
            spin.valueChanged.connect(self.changed)
        for combo in (self.kind, self.security, self.smtp_security, self.sign_in_with):
            combo.currentIndexChanged.connect(self.changed)
        self.smtp.toggled.connect(self.changed)
        self.smtp.toggled.connect(self._show_keyring_note)
        self.kind.currentIndexChanged.connect(self._show_keyring_note)
        self.server_files_sent.toggled.connect(self.changed)
        self.address.textChanged.connect(self._username_follows)

    def _show_rows(self) -> None:
        for widget in self._imap_rows:
            self._form.setRowVisible(widget, self.imap)
        for widget in self._maildir_rows:
            self._form.setRowVisible(widget, not self.imap)
        provider = self.provider
        self._form.setRowVisible(self.password, self.imap and not provider)
        self._form.setRowVisible(self.sign_in_button, self.imap and bool(provider))
        label = next((k for k, v in self._sign_in_choices.items() if v == provider), "")
        self.sign_in_button.setText(
            "Sign in again…" if self._editing and self._raw.get("provider") == provider
            else f"Sign in with {label.split(' (')[0]}…")

    @property
    def provider(self) -> str:
        """The provider this account signs in with ("": a password)."""
        return _value(self.sign_in_with, self._sign_in_choices)

    def connect_sign_in(self, ops: Ops, config: Path, result: QLabel) -> None:
        """The sign-in button signs in in the system browser (setup.signin, on a worker),
        telling how it went in `result`. `open_url` is the browser (tests: a consent)."""
        def sign_in() -> None:
            problem = self.missing(signing_in=True)
            if problem is not None:
                show_result(result, problem, False)
                return
            self.sign_in_button.setEnabled(False)
            show_result(result, "Sign in in your browser; Heard waits here…", True)
            entry = self.entry()

            def done(text: str) -> None:
                self.sign_in_button.setEnabled(True)
                self.signed_in = True
                show_result(result, text, True)

            def failed(exc: Exception) -> None:
                self.sign_in_button.setEnabled(True)
                show_result(result, f"Not signed in: {problem_text(exc)}", False)

            ops.run(lambda: signin.sign_in_entry(entry, config, self.open_url,
                                                 self._cancel_sign_in), done, failed)

        self.sign_in_button.clicked.connect(sign_in)
        self.destroyed.connect(self._cancel_sign_in.set)

    def use_provider(self, provider: str) -> None:
        """Sign in with `provider` ("microsoft", "google", one of [oauth]; "" = a
        password), as setup from an address finds it."""
        if provider and provider not in self._sign_in_choices.values():
            self._sign_in_choices[provider.capitalize()] = provider
            self.sign_in_with.addItem(provider.capitalize())
        _choose_value(self.sign_in_with, self._sign_in_choices, provider)

    def cancel_sign_in(self) -> None:
        self._cancel_sign_in.set()

    def _username_follows(self, text: str) -> None:
        if not self._editing and not self.username.isModified():
            self.username.setText(text.strip())

    @property
    def imap(self) -> bool:
        return self.kind.currentIndex() == 0

    def set_keyring_problem(self, problem: str | None, say: bool = True) -> None:
        """No keyring: say so and how to get one (unless the caller says it); the password
        fields stay empty and off, so no password can be typed only to end up nowhere (or
        in a file)."""
        for edit in (self.password, self.smtp_password):
            edit.setEnabled(problem is None)
            if problem is not None:
                edit.clear()
        self._keyring_problem = problem if say else None
        show_result(self.keyring_note, f"{problem}\nHeard never writes a password into a"
                    " file." if problem else "", False)
        self._show_keyring_note()

    def _show_keyring_note(self) -> None:
        # A Maildir account that leaves its replies in an outbox folder needs no password:
        # a keyring problem is no problem of its form, and a red paragraph would say it is.
        needs_one = self.imap or self.smtp.isChecked()
        self.keyring_note.setVisible(self._keyring_problem is not None and needs_one)

    def entry(self) -> dict[str, Any]:
        """The [[accounts]] table: the keys the form does not know are kept as they were."""
        entry: dict[str, Any] = {k: v for k, v in self._raw.items() if k not in _MAIL_KEYS}
        entry["name"] = self.name.text().strip()
        entry["kind"] = "imap" if self.imap else "maildir"
        if self.address.text().strip():
            entry["address"] = self.address.text().strip()
        if self.imap:
            entry["host"] = self.host.text().strip()
            if self.port.value():
                entry["port"] = self.port.value()
            entry["security"] = _value(self.security, SECURITY)
            entry["username"] = self.username.text().strip() or self.address.text().strip()
            if self.provider:
                entry["auth"], entry["provider"] = "oauth2", self.provider
            folders = _csv(self.folders.text())
            if folders != ["INBOX"]:
                entry["folders"] = folders
            if self.sent_folder.text().strip():
                entry["sent_folder"] = self.sent_folder.text().strip()
            if self.ca_file.text().strip():
                entry["ca_file"] = _abs(self.ca_file.text())
        else:
            for key, edit in (("inbox", self.inbox), ("sent", self.sent),
                              ("outbox", self.outbox)):
                if edit.text().strip():
                    entry[key] = _abs(edit.text())
        if self.smtp.isChecked():
            entry["smtp_host"] = self.smtp_host.text().strip()
            entry["smtp_security"] = _value(self.smtp_security, SMTP_SECURITY)
            if self.smtp_port.value():
                entry["smtp_port"] = self.smtp_port.value()
            if self.smtp_username.text().strip():
                entry["smtp_username"] = self.smtp_username.text().strip()
            if self.smtp_ca_file.text().strip():
                entry["smtp_ca_file"] = _abs(self.smtp_ca_file.text())
            if self.server_files_sent.isChecked():
                entry["sent_copy"] = "server"
        return entry

    def passwords(self) -> tuple[str, str]:
        """(IMAP, SMTP): typed now, or "" for the one already in the keyring."""
        imap = self.password.text() if self.imap else ""
        smtp = self.smtp_password.text() if self.smtp.isChecked() else ""
        return imap, smtp

    def check(self, engine: Engine) -> Callable[[], Checked]:
        """What Test connection runs on a worker: the form as it reads now."""
        entry, config = self.entry(), engine.profile.config
        password, smtp_password = self.passwords()
        return lambda: setup.check_mail(entry, config, password, smtp_password)

    def missing(self, signing_in: bool = False) -> str | None:
        """What must be filled in before a test (or a sign-in) makes sense, naming the
        field."""
        if not self.name.text().strip():
            return "Name (name): give the account a short name, like \"work\""
        if self.imap:
            if not self.host.text().strip():
                return "Server (host): type your IMAP server, e.g. imap.example.com"
            if self.provider and not (self.username.text().strip()
                                      or self.address.text().strip()):
                return "User name (username): type the address you sign in with"
            if self.provider and not signing_in and not self._editing \
                    and not self.signed_in:
                return (f"Sign in: press {self.sign_in_button.text().replace('&', '')!r}"
                        " first")
            if not self.provider and not self._editing and not self.password.text():
                return "Password: type the password of the account"
        elif not self.inbox.text().strip():
            return "Inbox folder (inbox): choose the Maildir folder that receives client mail"
        elif not self.outbox.text().strip() and not self.smtp.isChecked():
            # Heard is for acknowledging: an account whose replies cannot leave is not set up.
            return ("Outbox folder (outbox): choose the Maildir folder your mail system sends"
                    " replies from, or send them through an SMTP server below")
        return None


# -- the calendar form ------------------------------------------------------------------------


CALENDAR_KINDS = {"A CalDAV account (Nextcloud, Fastmail, iCloud, Radicale…)": "caldav",
                  "An .ics file or a folder of .ics files": "ics",
                  "A subscription (an https .ics address)": "url",
                  "Microsoft 365 (with its mail account's sign-in)": "graph"}


class CalendarForm(QWidget):
    """Everything `heard account add caldav|calendar` asks. For CalDAV, the calendars found
    on the server are listed to choose from (all of them count unless unticked)."""

    changed = Signal()

    def __init__(self, raw: Mapping[str, Any] | None = None, *,
                 default_name: str = "calendar", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        raw = dict(raw or {})
        self._raw = raw
        self._editing = bool(raw)
        self.kind = _combo(CALENDAR_KINDS, str(raw.get("kind", "caldav")))
        self.name = QLineEdit(str(raw.get("name", default_name)))
        self.url = QLineEdit(str(raw.get("url", "")))
        self.url.setPlaceholderText("https://cal.example.com/")
        self.username = QLineEdit(str(raw.get("username", "")))
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("kept in the keyring" if self._editing else "")
        self._sign_in_choices, self.sign_in_with, self.sign_in_button = _sign_in_fields(raw)
        self._cancel_sign_in = threading.Event()
        self.path = QLineEdit(str(raw.get("path", "")))
        self.ca_file = QLineEdit(str(raw.get("ca_file", "")))
        self.ca_file.setPlaceholderText("only for a server with its own certificate authority")
        self.found = QListWidget()
        self.found.setAccessibleName("Calendars found on the server")
        self.found.setMaximumHeight(110)
        self._chosen = set(raw.get("calendars", []))
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("&Kind:", self.kind)
        form.addRow("Nam&e:", self.name)
        self._rows: dict[str, list[QWidget]] = {}
        for label, widget, kinds in (
                ("Add&ress:", self.url, ("caldav", "url")),
                ("&User name:", self.username, ("caldav", "graph")),
                ("&Password:", self.password, ("caldav",)),
                ("&File or folder:", _path_row(self.path, False, "Calendar file"), ("ics",)),
                ("CA f&ile:", _path_row(self.ca_file, False, "CA certificate file"),
                 ("caldav", "url")),
                ("Calendars that &count:", self.found, ("caldav",))):
            form.addRow(label, widget)
            for kind in kinds:
                self._rows.setdefault(kind, []).append(widget)
        self._form = form
        self.keyring_note = problem_label()
        self.keyring_note.hide()
        form.addRow(self.keyring_note)
        self.kind.currentIndexChanged.connect(self._show_rows)
        self.sign_in_with.currentIndexChanged.connect(self._show_rows)
        self.open_url: Callable[[str], object] = webbrowser.open
        self.signed_in = False
        self._show_rows()
        for edit in (self.name, self.url, self.username, self.password, self.path,
                     self.ca_file):
            edit.textChanged.connect(self.changed)
        for edit in (self.url, self.username, self.password, self.ca_file):
            edit.textChanged.connect(self.found.clear)   # found with other credentials
        self.kind.currentIndexChanged.connect(self.changed)
        self.found.itemChanged.connect(lambda _item: self.changed.emit())

    @property
    def kind_value(self) -> str:
        return _value(self.kind, CALENDAR_KINDS)

    def _show_rows(self) -> None:
        kind = self.kind_value
        every = {w for widgets in self._rows.values() for w in widgets}
        for widget in every:
            self._form.setRowVisible(widget, widget in self._rows.get(kind, []))

    def set_keyring_problem(self, problem: str | None) -> None:
        self.password.setEnabled(problem is None)
        if problem is not None:
            self.password.clear()
        self.keyring_note.setVisible(problem is not None)
        show_result(self.keyring_note, f"{problem}\nA CalDAV account needs the keyring for its"
                    " password; an .ics file or a subscription does not." if problem else "",
                    False)

    def show_found(self, calendars: tuple[tuple[str, str], ...]) -> None:
        self.found.clear()
        for name, url in calendars:
            item = QListWidgetItem(name)
            item.setData(Qt.ItemDataRole.UserRole, url)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            chosen = not self._chosen or url in self._chosen
            item.setCheckState(Qt.CheckState.Checked if chosen else Qt.CheckState.Unchecked)
            self.found.addItem(item)

    def discovered(self) -> bool:
        return self.found.count() > 0

    def chosen(self) -> list[str]:
        return [str(self.found.item(i).data(Qt.ItemDataRole.UserRole))
                for i in range(self.found.count())
                if self.found.item(i).checkState() == Qt.CheckState.Checked]

    def entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = {k: v for k, v in self._raw.items()
                                 if k not in _CALENDAR_KEYS}
        entry["name"] = self.name.text().strip()
        kind = entry["kind"] = self.kind_value
        if kind == "ics":
            entry["path"] = _abs(self.path.text()) if self.path.text().strip() else ""
            return entry
        entry["url"] = self.url.text().strip()
        if kind == "graph":   # Microsoft Graph, with the sign-in of this login
            entry["username"] = self.username.text().strip()
            if not entry["url"]:
                del entry["url"]
        if kind == "caldav":
            entry["username"] = self.username.text().strip()
            if self.discovered():
                entry["calendars"] = self.chosen()
            elif self._raw.get("calendars"):
                entry["calendars"] = self._raw["calendars"]
        if self.ca_file.text().strip():
            entry["ca_file"] = _abs(self.ca_file.text())
        return entry

    def secret(self) -> str:
        return self.password.text() if self.kind_value == "caldav" else ""

    def check(self, engine: Engine) -> Callable[[], Checked]:
        """What Test connection runs on a worker: the form as it reads now."""
        entry, password, config = self.entry(), self.secret(), engine.profile.config
        zone, now = engine.settings.zone, engine.clock.now()
        return lambda: setup.check_calendar(entry, config, password, zone, now)

    def missing(self) -> str | None:
        if not self.name.text().strip():
            return "Name (name): give the calendar a short name, like \"work\""
        kind = self.kind_value
        if kind == "ics" and not self.path.text().strip():
            return "File or folder (path): choose the .ics file or folder"
        if kind in ("caldav", "url") and not self.url.text().strip():
            return "Address (url): type the address, like https://cal.example.com/"
        if kind == "caldav" and not self.username.text().strip():
            return "User name (username): type the login of the calendar account"
        if kind == "graph" and not self.username.text().strip():
            return ("User name (username): type your Microsoft 365 address (its mail"
                    " account's sign-in reads the calendar)")
        return None


# -- the dialogs ------------------------------------------------------------------------------


class _AccountDialog(QDialog):
    """Test, then write: the OK button runs the same check as Test connection and writes
    heard.toml only when it passes."""

    def __init__(self, engine: Engine, ops: Ops, form: QWidget, taken: set[str],
                 old_name: str | None, title: str, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.engine, self.ops = engine, ops
        self.form = form
        self.taken = taken
        self.old_name = old_name
        self.result_label = problem_label()
        self.result_label.setAccessibleName("Connection test result")
        self.test_button = QPushButton("Test co&nnection")
        self.test_button.clicked.connect(self.test)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.addButton(
            "Save" if old_name else "Add", QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok_button.setDefault(True)
        self.buttons.accepted.connect(self.add)
        self.buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(self.test_button)
        row.addWidget(self.buttons, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(form)
        layout.addWidget(self.result_label)
        layout.addLayout(row)
        self.written: dict[str, Any] | None = None
        self._running = False
        self.setMinimumWidth(520)
        placeholders_fit(self)
        # Whether passwords can be kept at all: asked at once, on a worker (D-Bus, and
        # maybe an unlock prompt), so the form can say so before anything is typed.
        self.keyring: str | None = None
        ops.run(setup.keyring_problem, self._keyring_known,
                lambda exc: self._keyring_known(str(exc)))

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802  (Qt's name)
        super().showEvent(event)
        keep_on_screen(self)   # centred on a parent near the screen's edge, it may not be

    def _keyring_known(self, problem: str | None) -> None:
        self.keyring = problem
        set_problem = getattr(self.form, "set_keyring_problem", None)
        if set_problem is not None:
            set_problem(problem)

    def _needs_password(self) -> bool:
        return False

    # subclasses: what to check, on a worker
    def _missing(self) -> str | None:
        raise NotImplementedError

    def _work(self) -> Callable[[], Checked]:
        raise NotImplementedError

    def _entry(self, checked: Checked) -> dict[str, Any] | None:
        return checked.entry

    def _name(self) -> str:
        raise NotImplementedError

    def _array(self) -> str:
        raise NotImplementedError

    def _start(self, then_write: bool) -> None:
        if self._running:
            return
        problem = None
        if self.keyring is not None and self._needs_password():
            problem = problem_text(KeyringUnavailable(self._name(), self.keyring))
        problem = problem or self._missing()
        if problem is None and self._name() != self.old_name and self._name() in self.taken:
            problem = f"Name (name): there is already an account named {self._name()!r}"
        if problem:
            show_result(self.result_label, problem, False)
            return
        self._running = True
        self.test_button.setEnabled(False)
        self.ok_button.setEnabled(False)
        show_result(self.result_label, "Testing… (this window stays usable)", True)
        self.ops.run(self._work(), lambda checked: self._tested(checked, then_write),
                     self._failed)

    def test(self) -> None:
        self._start(then_write=False)

    def add(self) -> None:
        self._start(then_write=True)

    def _done(self) -> None:
        self._running = False
        self.test_button.setEnabled(True)
        self.ok_button.setEnabled(True)

    def _failed(self, exc: Exception) -> None:
        self._done()
        suffix = "" if isinstance(exc, KeyringUnavailable) else "\nNothing was saved."
        show_result(self.result_label, problem_text(exc) + suffix, False)

    def _tested(self, checked: Checked, then_write: bool) -> None:
        self._done()
        entry = self._entry(checked)
        if entry is None:   # a choice is still to be made (CalDAV calendars)
            return
        note = f" ({checked.notes})" if checked.notes else ""
        if not then_write:
            show_result(self.result_label, f"The connection works{note}.", True)
            return
        try:
            setup.save_entry(self.engine.profile.config, self._array(), entry, self.old_name)
        except ConfigError as exc:
            show_result(self.result_label, "Not saved:\n" + _named(
                field_problems(exc.problems, self._array())), False)
            return
        except OSError as exc:
            show_result(self.result_label, f"Not saved: {exc}", False)
            return
        self.written = entry
        self.accept()


class MailAccountDialog(_AccountDialog):
    def __init__(self, engine: Engine, ops: Ops, taken: set[str],
                 raw: Mapping[str, Any] | None = None, parent: QWidget | None = None) -> None:
        self.mail = MailAccountForm(raw, default_name=_free_name("work", taken))
        old = str(raw["name"]) if raw else None
        super().__init__(engine, ops, self.mail, taken, old,
                         "Edit mail account — Heard" if raw else "Add a mail account — Heard",
                         parent)
        self.mail.connect_sign_in(ops, engine.profile.config, self.result_label)
        self.finished.connect(self.mail.cancel_sign_in)

    def _missing(self) -> str | None:
        return self.mail.missing()

    def _needs_password(self) -> bool:
        smtp_login = self.mail.smtp.isChecked() and (
            self.mail.imap or bool(self.mail.smtp_username.text().strip()))
        return self.mail.imap or smtp_login

    def _name(self) -> str:
        return self.mail.name.text().strip()

    def _array(self) -> str:
        return "accounts"

    def _work(self) -> Callable[[], Checked]:
        return self.mail.check(self.engine)


class CalendarDialog(_AccountDialog):
    def __init__(self, engine: Engine, ops: Ops, taken: set[str],
                 raw: Mapping[str, Any] | None = None, parent: QWidget | None = None) -> None:
        self.calendar = CalendarForm(raw, default_name=_free_name("calendar", taken))
        old = str(raw["name"]) if raw else None
        super().__init__(engine, ops, self.calendar, taken, old,
                         "Edit calendar — Heard" if raw else "Add a calendar — Heard", parent)

    def _missing(self) -> str | None:
        return self.calendar.missing()

    def _needs_password(self) -> bool:
        return self.calendar.kind_value == "caldav"

    def _name(self) -> str:
        return self.calendar.name.text().strip()

    def _array(self) -> str:
        return "calendars"

    def _work(self) -> Callable[[], Checked]:
        return self.calendar.check(self.engine)

    def _entry(self, checked: Checked) -> dict[str, Any] | None:
        if self.calendar.kind_value != "caldav":
            return checked.entry
        if not self.calendar.discovered():
            self.calendar.show_found(checked.calendars)
            found = plural(len(checked.calendars), "calendar")
            show_result(self.result_label, f"Found {found}:"
                        " untick any that should not count, then press Add (or Save).", True)
            return None
        chosen = self.calendar.chosen()
        if not chosen:
            show_result(self.result_label, "Calendars (calendars): tick at least one"
                        " calendar.", False)
            return None
        return {**checked.entry, "calendars": chosen}


def _free_name(base: str, taken: set[str]) -> str:
    if base not in taken:
        return base
    n = 2
    while f"{base}{n}" in taken:
        n += 1
    return f"{base}{n}"


# -- the page ---------------------------------------------------------------------------------


class AccountsPage(QWidget):
    """The accounts of heard.toml, each with Test connection; adding, editing and removing
    write heard.toml at once (after a test), like `heard account add|remove`."""

    changed = Signal()   # heard.toml's accounts changed: the engine should reload

    def __init__(self, engine: Engine, ops: Ops, settings: Settings,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.engine, self.ops = engine, ops
        self._settings = settings
        self.list = QTreeWidget()
        self.list.setHeaderLabels(["Name", "Kind", "Where", "Last test"])
        self.list.setRootIsDecorated(False)
        self.list.setAccessibleName("Mail accounts and calendars")
        header = self.list.header()
        header.setStretchLastSection(False)
        for column in (0, 1, 3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.list.itemSelectionChanged.connect(self._selection)
        self.list.itemActivated.connect(lambda _item, _col: self.edit())
        self.add_mail = QPushButton("Add &mail account…")
        self.add_mail.clicked.connect(self.add_mail_account)
        self.add_calendar_button = QPushButton("Add ca&lendar…")
        self.add_calendar_button.clicked.connect(self.add_calendar)
        self.edit_button = QPushButton("&Edit…")
        self.edit_button.clicked.connect(self.edit)
        self.test_button = QPushButton("Te&st connection")
        self.test_button.clicked.connect(self.test)
        self.remove_button = QPushButton("Remo&ve")
        self.remove_button.clicked.connect(self.remove)
        self.result = problem_label()
        self.result.setAccessibleName("Connection test result")
        buttons = QVBoxLayout()
        for button in (self.add_mail, self.add_calendar_button, self.edit_button,
                       self.test_button, self.remove_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        row = QHBoxLayout()
        row.addWidget(self.list, 1)
        row.addLayout(buttons)
        note = QLabel("Passwords are kept in the system keyring only. An account is tested"
                      " before it is saved.")
        note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.result)
        layout.addWidget(note)
        self._dialog: QDialog | None = None
        self._testing: str | None = None
        self.fill()

    def fill(self) -> None:
        selected = self.selected()
        self.list.clear()
        for account in self._settings.accounts:
            if isinstance(account, ImapAccount):
                where = f"{account.username} at {account.host}:{account.port}"
                kind = "IMAP"
            else:
                assert isinstance(account, MaildirAccount)
                where, kind = str(account.inbox), "Maildir"
            if account.smtp is not None:
                where += f"; sends via {account.smtp.host}"
            self._add_item(account.name, kind, where, "accounts")
        for calendar in self._settings.calendars:
            kind = {"caldav": "CalDAV", "url": "Subscription", "ics": "Calendar file"}[
                calendar.kind]
            self._add_item(calendar.name, kind, calendar.url or str(calendar.path),
                           "calendars")
        if selected is not None:
            self.select(selected)
        elif self._items():
            self.list.setCurrentItem(self._items()[0])
        self._selection()

    def _add_item(self, name: str, kind: str, where: str, array: str) -> None:
        item = QTreeWidgetItem([name, kind, where, ""])
        item.setData(0, Qt.ItemDataRole.UserRole, array)
        self.list.addTopLevelItem(item)

    def _items(self) -> list[QTreeWidgetItem]:
        items = (self.list.topLevelItem(i) for i in range(self.list.topLevelItemCount()))
        return [item for item in items if item is not None]

    def names(self) -> list[str]:
        return [item.text(0) for item in self._items()]

    def selected(self) -> str | None:
        item = self.list.currentItem()
        return item.text(0) if item is not None else None

    def select(self, name: str) -> None:
        for item in self._items():
            if item.text(0) == name:
                self.list.setCurrentItem(item)

    def _selection(self) -> None:
        chosen = self.list.currentItem() is not None
        for button in (self.edit_button, self.remove_button):
            button.setEnabled(chosen)
        self.test_button.setEnabled(chosen and self._testing is None)

    def _reload(self) -> None:
        """heard.toml changed: show what it says now, and let the engine take it up."""
        from heard import config

        try:
            self._settings = config.load(self.engine.profile.config)
        except ConfigError as exc:
            show_result(self.result, "The settings file has problems:\n"
                        + "\n".join(exc.problems), False)
        self.fill()
        self.changed.emit()

    # actions

    def add_mail_account(self) -> None:
        self._open(MailAccountDialog(self.engine, self.ops, set(self.names()), parent=self))

    def add_calendar(self) -> None:
        self._open(CalendarDialog(self.engine, self.ops, set(self.names()), parent=self))

    def edit(self) -> None:
        item = self.list.currentItem()
        if item is None:
            return
        array = str(item.data(0, Qt.ItemDataRole.UserRole))
        raw = next((e for e in setup.raw_entries(self.engine.profile.config, array)
                    if e.get("name") == item.text(0)), None)
        if raw is None:
            show_result(self.result, f"{item.text(0)} has no entry of its own in the"
                        " settings file.", False)
            return
        taken = set(self.names())
        dialog = (MailAccountDialog if array == "accounts" else CalendarDialog)(
            self.engine, self.ops, taken, raw, parent=self)
        self._open(dialog)

    def _open(self, dialog: _AccountDialog) -> None:
        def accepted() -> None:
            name = dialog.written.get("name") if dialog.written else None
            self._reload()
            if name:
                self.select(str(name))
                show_result(self.result, f"Saved {name}: the connection was tested and works;"
                            " the password is in the keyring.", True)

        dialog.accepted.connect(accepted)
        dialog.open()
        self._dialog = dialog

    def test(self) -> None:
        name = self.selected()
        if name is None or self._testing is not None:
            return
        source: Account | CalendarSource | None = next(
            (a for a in self._settings.accounts if a.name == name), None) or next(
            (c for c in self._settings.calendars if c.name == name), None)
        if source is None:
            return
        item = self.list.currentItem()
        self._testing = name
        self.test_button.setEnabled(False)
        if item is not None:
            item.setText(3, "testing…")
        show_result(self.result, f"Testing {name}…", True)
        zone, now = self.engine.settings.zone, self.engine.clock.now()

        def done(text: str) -> None:
            self._tested(name, text, True)

        def failed(exc: Exception) -> None:
            self._tested(name, _saved_problem_text(exc), False)

        self.ops.run(lambda: _try_saved(source, zone, now), done, failed)

    def _tested(self, name: str, text: str, ok: bool) -> None:
        self._testing = None
        for item in self._items():
            if item.text(0) == name:
                item.setText(3, "works" if ok else "failed")
        show_result(self.result, text, ok)
        self._selection()

    def remove(self) -> None:
        item = self.list.currentItem()
        if item is None:
            return
        name = item.text(0)
        answer = QMessageBox.question(
            self, "Remove — Heard", f"Remove {name} from Heard? Its mail and calendar stay"
            " where they are; Heard stops reading them.")
        if answer != QMessageBox.StandardButton.Yes:
            return
        self.remove_now(name)

    def remove_now(self, name: str) -> None:
        try:
            unused = setup.remove_entry(self.engine.profile.config, self._settings, name)
        except UnknownAccount:
            show_result(self.result, f"{name} is not in the settings file.", False)
            return
        except (ConfigError, OSError) as exc:
            show_result(self.result, f"Not removed: {exc}", False)
            return
        if unused:
            self.ops.run(lambda: setup.forget_passwords(unused), _kept_in_keyring,
                         lambda exc: show_result(self.result, f"{exc}", False))
        self._reload()
        show_result(self.result, f"Removed {name}.", True)


def _kept_in_keyring(kept: dict[str, str]) -> None:
    for name, problem in kept.items():
        log.warning("the password of %s could not be removed from the keyring: %s",
                    name, problem)
