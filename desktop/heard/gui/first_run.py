"""First start without a profile: a short wizard before the tray icon appears.

Welcome (your name) -> your e-mail address (the servers found from it fill the mail
page: heard.setup.discover, on a worker) -> mail account -> calendar -> response
standards (the defaults explained) -> a few clients or an import -> done. Each account is
tested on a worker before the wizard moves on, exactly as the settings window and `heard
account add` test them; nothing is written until Finish, and then heard.toml is written in
one validated write and the clients are added. Passwords go to the system keyring only:
with no keyring, the mail page says so, explains how to get one, and offers to go on
without the account.

`heard` (cmd_tray) shows it when the profile has no heard.toml; `heard demo` never does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from heard.config import ConfigError, default_instance, format_duration, system_zone
from heard.config.editing import SettingsFile, append_entry
from heard.domain.clients import DEFAULT_TIER, Client
from heard.domain.shared import instance_id
from heard.domain.standards import DEFAULT_STANDARD
from heard.domain.wording import plural
from heard.engine import Engine
from heard.gui.fit import fit_to_screen, scrolling, short_combos
from heard.gui.ops import Ops
from heard.gui.settings_accounts import (
    SECURITY,
    SMTP_SECURITY,
    CalendarForm,
    FormProblem,
    MailAccountForm,
    problem_label,
    problem_text,
    show_result,
)
from heard.setup.accounts import Checked, keyring_problem
from heard.setup.clients_import import ImportResult

if TYPE_CHECKING:
    from heard.setup.discover import Discovered

log = logging.getLogger(__name__)

UNKNOWN = object()   # the keyring has not answered yet
NO_KEYRING_HINT = ("You can go on without the mail account now (tick the box below) and"
                   " add it later in Settings, once a keyring runs. A local Maildir folder"
                   " needs no password and works without a keyring.")


def _label(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label


class _Page(QWizardPage):
    """A page whose Next (or Finish) runs a check on a worker first; the wizard moves on
    by itself when the check passes, and stays with the reason in words when it fails."""

    def __init__(self, wizard: FirstRunWizard, title: str, subtitle: str) -> None:
        super().__init__()
        self.setTitle(title)
        self.setSubTitle(subtitle)
        self.owner = wizard
        self.status = problem_label()
        self.status.setAccessibleName("Result")
        self._passed = False
        self.running = False
        self.running_text = "Testing… (you can still read and change everything)"

    def invalidate(self) -> None:
        self._passed = False

    def isComplete(self) -> bool:  # noqa: N802  (Qt's name)
        return not self.running and super().isComplete()

    def work(self) -> Callable[[], Any] | None:
        """What to run on a worker before moving on; None: nothing (move on now)."""
        return None

    def take(self, result: Any) -> bool:
        """The check passed: keep its result; False to stay on the page (say why)."""
        return True

    def validatePage(self) -> bool:  # noqa: N802
        if self._passed:
            return True
        if self.running:
            return False
        try:
            work = self.work()
        except FormProblem as exc:
            show_result(self.status, problem_text(exc), False)
            return False
        if work is None:
            return True
        self._set_running(True)
        show_result(self.status, self.running_text, True)
        self.owner.ops.run(work, self._done, self._failed)
        return False

    def _set_running(self, running: bool) -> None:
        self.running = running
        self.completeChanged.emit()

    def _done(self, result: Any) -> None:
        self._set_running(False)
        if not self.take(result):
            return
        self._passed = True
        if self.owner.currentPage() is self:
            if self.isFinalPage():
                self.owner.accept()
            else:
                self.owner.next()

    def _failed(self, exc: Exception) -> None:
        self._set_running(False)
        show_result(self.status, problem_text(exc), False)


class WelcomePage(_Page):
    def __init__(self, wizard: FirstRunWizard) -> None:
        super().__init__(wizard, "Welcome to Heard",
                         "Every client hears back within minutes, even on a day of meetings.")
        self.name = QLineEdit()
        self.name.setPlaceholderText("e.g. Alex Morgan")
        # Several devices (and an assistant) may share one mailbox: each needs a name.
        self.instance = QLineEdit()
        self.instance.setPlaceholderText(default_instance())
        self.instance.setMaxLength(12)
        self.instance.setToolTip("1 to 12 lower-case letters or digits, e.g. desk, lap or"
                                 " asst; shown to your other devices and your assistant")
        intro = _label(
            "Heard sits in the tray, counts the clients who are waiting for you and helps"
            " you acknowledge them in one click. Four short steps set it up: your mail,"
            " your calendar, your response standards and a few clients. Everything can be"
            " changed later in Settings. Passwords go to the system keyring, never into a"
            " file.")
        form = QFormLayout()
        form.addRow("Your name (signs the &replies):", self.name)
        form.addRow("This &computer's name among your devices:", self.instance)
        self.instance.textChanged.connect(self.invalidate)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addStretch(1)

    def work(self) -> Callable[[], Any] | None:
        device = self.instance.text().strip().lower()
        if device:
            try:
                instance_id(device)
            except ValueError as exc:
                raise FormProblem(f"This computer's name: {exc}") from exc
        return None


class AddressPage(_Page):
    """Your e-mail address: the servers found from it (on a worker) fill the mail page;
    empty, or nothing found, the mail page is filled in by hand as before."""

    def __init__(self, wizard: FirstRunWizard) -> None:
        super().__init__(wizard, "Your e-mail address",
                         "Heard finds your mail servers from it.")
        self.running_text = "Looking for your mail servers…"
        self.address = QLineEdit()
        self.address.setPlaceholderText("you@yourfirm.example")
        self.address.setAccessibleName("Your e-mail address")
        self.found: Discovered | None = None
        intro = _label(
            "Type the address your clients write to. Heard knows Microsoft 365 and"
            " Outlook.com, Google, iCloud, Fastmail and Yahoo, and finds other servers from"
            " your domain's own settings; the next page shows what it found, to check."
            " Leave it empty to fill in your servers yourself.")
        form = QFormLayout()
        form.addRow("Your e-mail &address:", self.address)
        self.address.textChanged.connect(self.invalidate)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addStretch(1)

    def work(self) -> Callable[[], Discovered] | None:
        from heard.setup.discover import Network, discover

        address = self.address.text().strip()
        self.found = None
        if not address:
            return None
        if "@" not in address.strip("@"):
            raise FormProblem("Your e-mail address: write it as name@example.com")
        network = Network.from_environment()
        return lambda: discover(address, network)

    def take(self, result: Discovered) -> bool:
        self.found = result
        self.owner.mail.fill_from(result)
        return True


def _choose(combo: Any, choices: dict[str, str], value: str) -> None:
    values = list(choices.values())
    if value in values:
        combo.setCurrentIndex(values.index(value))


class _AccountPage(_Page):
    """A page that sets an account or a calendar up, or leaves it for later: a form, a
    "later" box, and Next trying what the form says (on a worker)."""

    def __init__(self, wizard: FirstRunWizard, title: str, subtitle: str,
                 form: MailAccountForm | CalendarForm, later: str,
                 above: tuple[QWidget, ...] = (), stretch: bool = False) -> None:
        super().__init__(wizard, title, subtitle)
        self.later = QCheckBox(later)
        self.checked: Checked | None = None
        form.changed.connect(self.invalidate)
        self.later.toggled.connect(lambda _on: self.invalidate())
        layout = QVBoxLayout(self)
        # The form scrolls: a mail form with its SMTP part is taller than a small screen.
        for widget in (*above, scrolling(form), self.later, self.status):
            layout.addWidget(widget)
        if stretch:
            layout.addStretch(1)

    def work(self) -> Callable[[], Checked] | None:
        self.checked = None
        if self.later.isChecked():
            return None
        missing = self._form().missing()
        if missing:
            raise FormProblem(missing)
        return self._check()

    def _form(self) -> MailAccountForm | CalendarForm:
        raise NotImplementedError

    def _check(self) -> Callable[[], Checked] | None:
        raise NotImplementedError

    def take(self, result: Checked) -> bool:
        self.checked = result
        return True


class MailPage(_AccountPage):
    def __init__(self, wizard: FirstRunWizard) -> None:
        self.form = MailAccountForm(default_name="work")
        self.keyring_note = problem_label()
        self.keyring_note.setAccessibleName("Keyring")
        self.keyring_note.hide()
        self.found_note = problem_label()
        self.found_note.setAccessibleName("Found from your address")
        self.found_note.hide()
        super().__init__(wizard, "Your mail", "The account your clients write to. Heard logs"
                         " in once to check it.", self.form,
                         "Set up m&ail later (Heard counts nothing until then)",
                         (self.found_note, self.keyring_note))
        self.later.toggled.connect(self._later)
        self.form.connect_sign_in(wizard.ops, wizard.engine.profile.config, self.status)

    def _later(self, later: bool) -> None:
        self.form.setEnabled(not later)
        if later:
            show_result(self.status, "", True)

    def keyring_known(self, problem: str | None) -> None:
        self.form.set_keyring_problem(problem, say=False)   # said once, at the top
        if problem is None:
            self.keyring_note.hide()
            return
        self.keyring_note.show()
        show_result(self.keyring_note, f"{problem}\n\n{NO_KEYRING_HINT}", False)
        self.later.setText("Continue without &a mail account for now")
        # The form stays usable: a Maildir account needs no password (only the password
        # fields are off), so it is offered first.
        if self.form.imap and not self.form.host.text().strip():
            self.form.kind.setCurrentIndex(1)

    def fill_from(self, found: Discovered) -> None:
        """The servers found from the address, in the form (to check and change), and
        where they were found; nothing found: the form as it was, with the address."""
        form = self.form
        form.address.setText(found.address)
        self.found_note.show()
        if found.imap is None:
            for edit in (form.host, form.smtp_host):   # nothing of an earlier address stays
                edit.clear()
            form.use_provider("")
            show_result(self.found_note, f"Nothing was found for {found.address}: fill in"
                        " your mail servers below (your provider's help pages name them).",
                        False)
            return
        form.kind.setCurrentIndex(0)   # IMAP
        form.host.setText(found.imap.host)
        form.port.setValue(found.imap.port)
        _choose(form.security, SECURITY, found.imap.security)
        form.username.setText(found.username)
        if found.smtp is not None:
            form.smtp.setChecked(True)
            form.smtp_host.setText(found.smtp.host)
            form.smtp_port.setValue(found.smtp.port)
            _choose(form.smtp_security, SMTP_SECURITY, found.smtp.security)
        provider = found.provider
        form.server_files_sent.setChecked(provider is not None
                                          and provider.sent_copy == "server")
        # OAuth2: the form's Sign in with ... button in place of the password.
        oauth = found.oauth2 or ""
        form.use_provider(oauth if oauth in self.owner.engine.settings.oauth else "")
        text = f"Found in {found.where}."
        if found.oauth2 and provider is not None:
            text += (f" {provider.note}. Use the Sign in button below"
                     + (f", or an app password where your administrator allows them"
                        f" ({provider.app_password_url}): choose A password"
                        if provider.app_password_url else "") + ".")
        elif found.app_password_url and provider is not None:
            text += (f" {provider.name} takes an app password, not your own: make one at"
                     f" {found.app_password_url} and type it below.")
        show_result(self.found_note, text, True)

    def _form(self) -> MailAccountForm:
        return self.form

    def _check(self) -> Callable[[], Checked] | None:
        if self.form.imap and self.owner.keyring not in (None, UNKNOWN):
            raise FormProblem(f"{self.owner.keyring}\n\n{NO_KEYRING_HINT}")
        return self.form.check(self.owner.engine)


class CalendarPage(_AccountPage):
    def __init__(self, wizard: FirstRunWizard) -> None:
        self.form = CalendarForm(default_name="calendar")
        super().__init__(wizard, "Your calendar", "So Heard knows when you are in a meeting,"
                         " until when, and when you are next free.", self.form,
                         "No calendar &for now", stretch=True)
        self.later.toggled.connect(self.form.setDisabled)

    def keyring_known(self, problem: str | None) -> None:
        self.form.set_keyring_problem(problem)

    def _form(self) -> CalendarForm:
        return self.form

    def _check(self) -> Callable[[], Checked] | None:
        if self.form.kind_value == "caldav" and self.form.discovered():
            if not self.form.chosen():
                raise FormProblem("Calendars (calendars): tick at least one calendar.")
            self.checked = Checked(self.form.entry())
            return None
        return self.form.check(self.owner.engine)

    def take(self, result: Checked) -> bool:
        if self.form.kind_value == "caldav":
            self.form.show_found(result.calendars)
            found = plural(len(result.calendars), "calendar")
            show_result(self.status, f"Found {found}: untick any that should not count,"
                        " then press Next.", True)
            return False
        return super().take(result)


class StandardsPage(_Page):
    def __init__(self, wizard: FirstRunWizard) -> None:
        super().__init__(wizard, "Your response standards",
                         "How soon a client hears from you. Heard measures every contact"
                         " against it.")
        d = DEFAULT_STANDARD
        explained = _label(
            f"The defaults: acknowledge within {format_duration(d.ack_within)} (a short"
            " \"I have your message; you'll hear from me by …\", one click in Heard) and"
            f" answer within {format_duration(d.answer_within)}. Both are counted in working"
            " hours, so a deadline pauses overnight and at weekends. The goal is to"
            f" acknowledge {d.ack_goal:.0%} and answer {d.answer_goal:.0%} of contacts in"
            " time. VIP clients can have a stricter standard.")
        self.ack = QLineEdit(format_duration(d.ack_within))
        self.answer = QLineEdit(format_duration(d.answer_within))
        self.vip = QCheckBox("A stricter standard for &VIP clients")
        self.vip.setChecked(True)
        self.vip_ack = QLineEdit("10m")
        self.vip_answer = QLineEdit("2h")
        self.vip.toggled.connect(self.vip_ack.setEnabled)
        self.vip.toggled.connect(self.vip_answer.setEnabled)
        self.hours = QLineEdit("09:00-17:00")
        self.zone = QLineEdit(system_zone().key)
        form = QFormLayout()
        form.addRow("Ac&knowledge within:", self.ack)
        form.addRow("&Answer within:", self.answer)
        form.addRow(self.vip)
        form.addRow("VIP: ackno&wledge within:", self.vip_ack)
        form.addRow("VIP: answer wi&thin:", self.vip_answer)
        form.addRow("Working &hours, Monday to Friday:", self.hours)
        form.addRow("Time &zone:", self.zone)
        hint = _label('Times like "10m", "4h" or "1d 2h"; hours like "09:00-12:30,'
                      ' 13:30-17:00".')
        layout = QVBoxLayout(self)
        layout.addWidget(explained)
        layout.addLayout(form)
        layout.addWidget(hint)
        layout.addWidget(self.status)
        layout.addStretch(1)

    def changes(self) -> list[tuple[str, str, Any]]:
        changes: list[tuple[str, str, Any]] = [
            ("standards.default", "ack_within", self.ack.text().strip()),
            ("standards.default", "answer_within", self.answer.text().strip()),
            ("user", "timezone", self.zone.text().strip()),
        ]
        if self.vip.isChecked():
            changes += [("standards.vip", "ack_within", self.vip_ack.text().strip()),
                        ("standards.vip", "answer_within", self.vip_answer.text().strip())]
        changes += [("hours", day, self.hours.text().strip())
                    for day in ("monday", "tuesday", "wednesday", "thursday", "friday")]
        return changes

    def validatePage(self) -> bool:  # noqa: N802
        try:   # the file's own checks, without writing anything yet
            SettingsFile(self.owner.engine.profile.config).save(self.changes(), dry_run=True)
        except ConfigError as exc:
            show_result(self.status, "Please fix:\n" + "\n".join(exc.problems), False)
            return False
        show_result(self.status, "", True)
        return True


CLIENT_COLUMNS = ("Name", "Email, @domain or phone", "Called (optional)", "VIP")


class ClientsPage(_Page):
    def __init__(self, wizard: FirstRunWizard) -> None:
        super().__init__(wizard, "A few clients",
                         "Whose mail counts. Add a few now, or import your contacts; the"
                         " client directory in Settings holds the rest.")
        self.table = QTableWidget(0, len(CLIENT_COLUMNS))
        self.table.setHorizontalHeaderLabels(CLIENT_COLUMNS)
        self.table.setAccessibleName("Clients to add")
        self.table.setTabKeyNavigation(False)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for column in (0, 2, 3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setColumnWidth(0, 160)
        for _ in range(3):
            self.add_row()
        label = QLabel("&Clients:")
        label.setBuddy(self.table)
        add = QPushButton("A&dd a row")
        add.clicked.connect(lambda: self.add_row())
        self.import_button = QPushButton("&Import contacts (.vcf or .csv)…")
        self.import_button.clicked.connect(self._choose_file)
        self.imported = ImportResult()
        self.import_note = problem_label()
        buttons = QHBoxLayout()
        buttons.addWidget(add)
        buttons.addWidget(self.import_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(label)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.import_note)
        layout.addWidget(self.status)
        self.clients: list[Client] = []

    def add_row(self, name: str = "", contact: str = "", called: str = "",
                vip: bool = False) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        for column, text in enumerate((name, contact, called)):
            self.table.setItem(row, column, QTableWidgetItem(text))
        box = QTableWidgetItem()
        box.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled
                     | Qt.ItemFlag.ItemIsSelectable)
        box.setCheckState(Qt.CheckState.Checked if vip else Qt.CheckState.Unchecked)
        self.table.setItem(row, 3, box)

    def _choose_file(self) -> None:
        path, _filter = QFileDialog.getOpenFileName(
            self, "Import contacts", str(Path.home()), "Contacts (*.vcf *.vcard *.csv)")
        if path:
            self.import_file(Path(path))

    def import_file(self, path: Path) -> None:
        """Read the file on a worker; its clients are added at Finish."""
        from heard.setup.clients_import import read_clients

        self.import_button.setEnabled(False)
        show_result(self.import_note, f"Reading {path.name}…", True)

        def done(result: ImportResult) -> None:
            self.import_button.setEnabled(True)
            self.imported = result
            skipped = "".join(f"\n  skipped {entry}: {why}" for entry, why in result.skipped[:5])
            more = len(result.skipped) - 5
            skipped += f"\n  … and {more} more" if more > 0 else ""
            show_result(self.import_note, f"{plural(len(result.clients), 'client')} read from"
                        f" {path.name}; they are added when you press Finish.{skipped}", True)

        def failed(exc: Exception) -> None:
            self.import_button.setEnabled(True)
            show_result(self.import_note, f"Not imported: {exc}", False)

        self.owner.ops.run(lambda: read_clients(path), done, failed)

    def rows(self) -> tuple[list[Client], list[str]]:
        clients, problems = [], []
        for row in range(self.table.rowCount()):
            cells = [self.table.item(row, c) for c in range(3)]
            name, contact, called = (c.text().strip() if c else "" for c in cells)
            box = self.table.item(row, 3)
            vip = box is not None and box.checkState() == Qt.CheckState.Checked
            if not (name or contact or called):
                continue
            if not name:
                problems.append(f"Row {row + 1}, Name: a client needs a name")
                continue
            emails, domains, phones = [], [], []
            for part in (p.strip() for p in contact.replace(";", ",").split(",")):
                if not part:
                    continue
                if part.startswith("@") or ("@" not in part and "." in part
                                             and not part.replace(".", "").isdigit()):
                    domains.append(part)
                elif "@" in part:
                    emails.append(part)
                elif sum(ch.isdigit() for ch in part) >= 5:
                    phones.append(part)
                else:
                    problems.append(f"Row {row + 1}, {CLIENT_COLUMNS[1]}: {part!r} is not an"
                                    " address, a domain or a phone number")
            if not (emails or domains or phones):
                problems.append(f"Row {row + 1}, {CLIENT_COLUMNS[1]}: how does {name} write"
                                " or call? (an address, @domain or a phone number)")
                continue
            clients.append(Client(name, emails=tuple(emails), domains=tuple(domains),
                                  phones=tuple(phones), preferred_name=called or None,
                                  tier="vip" if vip else DEFAULT_TIER))
        return clients, problems

    def validatePage(self) -> bool:  # noqa: N802
        clients, problems = self.rows()
        if problems:
            show_result(self.status, "Please fix:\n" + "\n".join(problems), False)
            return False
        show_result(self.status, "", True)
        self.clients = clients
        return True


class DonePage(_Page):
    def __init__(self, wizard: FirstRunWizard) -> None:
        super().__init__(wizard, "Ready",
                         "Press Finish: Heard saves this and its icon appears in the tray.")
        self.summary = _label("")
        self.summary.setAccessibleName("Summary")
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.status)
        layout.addStretch(1)
        self.written = False
        self.skipped: list[tuple[str, str]] = []

    def initializePage(self) -> None:  # noqa: N802
        self.summary.setText(self.owner.summary())

    def work(self) -> Callable[[], list[tuple[str, str]]] | None:
        if not self.written:
            try:
                self.owner.write_settings()
            except ConfigError as exc:
                raise FormProblem("Not saved:\n" + "\n".join(exc.problems)) from exc
            except OSError as exc:
                raise FormProblem(f"Not saved: {exc}") from exc
            self.written = True
        engine = self.owner.engine
        clients = self.owner.all_clients()

        def add() -> list[tuple[str, str]]:
            skipped = []
            for client in clients:
                try:
                    engine.clients.add(client)
                except Exception as exc:   # a duplicate, say: the rest still go in
                    skipped.append((client.name, str(exc)))
            return skipped

        return add

    def take(self, result: list[tuple[str, str]]) -> bool:
        self.skipped = result
        for name, why in result:
            log.warning("first run: client %s not added: %s", name, why)
        return True


class FirstRunWizard(QWizard):
    def __init__(self, engine: Engine, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Set up Heard")
        self.engine = engine
        self.ops = Ops(self)
        self.keyring: object = UNKNOWN
        self.welcome = WelcomePage(self)
        self.address = AddressPage(self)
        self.mail = MailPage(self)
        self.calendar = CalendarPage(self)
        self.standards = StandardsPage(self)
        self.clients = ClientsPage(self)
        self.done_page = DonePage(self)
        for page in (self.welcome, self.address, self.mail, self.calendar, self.standards,
                     self.clients, self.done_page):
            self.addPage(page)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage)
        short_combos(self)
        fit_to_screen(self, 640, 620)
        # The keyring may take a moment (D-Bus, an unlock prompt): asked on a worker.
        self.ops.run(keyring_problem, self._keyring_known,
                     lambda exc: self._keyring_known(str(exc)))

    def _keyring_known(self, problem: str | None) -> None:
        self.keyring = problem
        if problem is not None:
            log.warning("no keyring for passwords: %s", problem)
        self.mail.keyring_known(problem)
        self.calendar.keyring_known(problem)

    def all_clients(self) -> list[Client]:
        return [*self.clients.clients, *self.clients.imported.clients]

    def summary(self) -> str:
        lines = []
        mail = self.mail.checked
        if mail is not None:
            entry = mail.entry
            where = f"{entry.get('username')} at {entry.get('host')}" \
                if entry["kind"] == "imap" else str(entry.get("inbox"))
            # The send path was tried as well (setup.check_mail): say which it is.
            sends = f"; replies go out through {entry['smtp_host']}, tested" \
                if entry.get("smtp_host") else \
                f"; replies go into {entry['outbox']} for your mail system to send, tested" \
                if entry.get("outbox") else \
                "; no SMTP server, so replies cannot be sent from this computer"
            lines.append(f"Mail: {where} (tested{sends}).")
        else:
            lines.append("Mail: none yet. Add it in Settings > Accounts.")
        calendar = self.calendar.checked
        if calendar is not None:
            entry = calendar.entry
            count = len(entry.get("calendars", [])) if entry["kind"] == "caldav" else 1
            lines.append(f"Calendar: {entry.get('url') or entry.get('path')}"
                         f" ({count} calendar{'s' if count != 1 else ''}).")
        else:
            lines.append("Calendar: none yet (Heard then assumes you are free).")
        s = self.standards
        lines.append(f"Standard: acknowledge within {s.ack.text()}, answer within"
                     f" {s.answer.text()}" + (f"; VIP: {s.vip_ack.text()} and"
                                              f" {s.vip_answer.text()}"
                                              if s.vip.isChecked() else "") + ".")
        n = len(self.all_clients())
        lines.append(f"Clients: {n} to add." if n else "Clients: none yet.")
        device = self.welcome.instance.text().strip().lower() or default_instance()
        lines.append(f"This computer: '{device}' among your devices.")
        if self.keyring not in (None, UNKNOWN):
            lines.append("No keyring: no password was stored anywhere.")
        return "\n".join(lines)

    def changes(self) -> list[tuple[str, str, Any]]:
        changes = list(self.standards.changes())
        name = self.welcome.name.text().strip()
        if name:
            changes.append(("user", "name", name))
        device = self.welcome.instance.text().strip().lower()
        if device:
            changes.append(("sharing", "instance", device))
        mail = self.mail.checked
        if mail is not None and mail.entry.get("address"):
            changes.append(("user", "addresses", [mail.entry["address"]]))
        return changes

    def write_settings(self) -> None:
        """heard.toml in one validated write (the commented defaults plus these choices)."""
        edits = []
        if self.mail.checked is not None:
            edits.append(append_entry("accounts", self.mail.checked.entry))
        if self.calendar.checked is not None:
            edits.append(append_entry("calendars", self.calendar.checked.entry))
        SettingsFile(self.engine.profile.config).save(self.changes(), edits=edits)
        log.info("first run: settings written to %s", self.engine.profile.config)

    def done(self, result: int) -> None:
        super().done(result)
        if not self.isVisible():
            self.ops.close()


def run_first_run(engine: Engine) -> bool:
    """Show the wizard and wait; True if the user finished it (heard.toml is written)."""
    wizard = FirstRunWizard(engine)
    finished = wizard.exec() == QWizard.DialogCode.Accepted
    wizard.deleteLater()
    if finished:
        engine.reload_settings()   # the settings just written
    return finished
