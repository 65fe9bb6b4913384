"""Settings: you, accounts, response standards, working hours and holidays, templates,
assistants, notifications and the client directory.

heard.toml stays the one source of truth: the window reads it, and Save writes it through
the file's own validation (ConfigFile, tomlkit), so the user's comments survive and a
mistake names its key while nothing is written. Accounts are different: like
`heard account add`, each is tested (off the GUI thread) and written on its own, at once.
Templates go to the profile's templates.toml in the same Save.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from heard import config
from heard.config import WEEKDAYS, ConfigError, ImapAccount, Settings, format_duration
from heard.config.editing import SettingsFile, set_array, unchanged, write_templates
from heard.domain.clock import Counting, Span
from heard.domain.standards import Standard
from heard.domain.templates import TemplateError
from heard.domain.wording import in_words
from heard.engine import DeviceMode, Engine, Status
from heard.gui.fit import fit_to_screen, scrolling, short_combos
from heard.gui.ops import Ops
from heard.gui.settings_absence import AbsencePage
from heard.gui.settings_accounts import AccountsPage
from heard.gui.settings_templates import TemplatesPage

log = logging.getLogger(__name__)

COLUMNS = ("Acknowledge within", "Answer within", "Counted", "Acknowledge goal",
           "Answer goal")
COUNTING = {"working hours": Counting.WORKING_HOURS.value, "around the clock":
            Counting.CLOCK.value}
BAD = "border: 2px solid #c62828"
DAY_LABELS = {"monday": "&Monday:", "tuesday": "Tu&esday:", "wednesday": "We&dnesday:",
              "thursday": "T&hursday:", "friday": "&Friday:", "saturday": "S&aturday:",
              "sunday": "Sunda&y:"}


def _share(value: float) -> str:
    return f"{value * 100:g}%"


def _spans(spans: tuple[Span, ...]) -> str:
    def hhmm(t: Any) -> str:
        return "24:00" if (t.hour, t.minute, t.second) == (23, 59, 59) else f"{t:%H:%M}"

    return ", ".join(f"{hhmm(s.start)}-{hhmm(s.end)}" for s in spans)


def _csv(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


def _note(text: str, name: str) -> QLabel:
    """A wrapped plain-text line for screen readers by `name` (never rich text: it may
    quote a file or a server)."""
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setAccessibleName(name)
    return label


def _scrolling(page: QWidget) -> QScrollArea:
    return scrolling(page)


def _checked(label: str, on: bool) -> QCheckBox:
    box = QCheckBox(label)
    box.setChecked(on)
    return box


def _line(text: str, placeholder: str) -> QLineEdit:
    edit = QLineEdit(text)
    edit.setPlaceholderText(placeholder)
    return edit


def _group(title: str, rows: list[tuple[str, QWidget]]) -> QGroupBox:
    """A titled box of rows; a row without a label spans the box."""
    box = QGroupBox(title)
    form = QFormLayout(box)
    for label, widget in rows:
        if label:
            form.addRow(label, widget)
        else:
            form.addRow(widget)
    return box


# [locale] time_format: what the choice says, and its value.
CLOCK_FORMATS = (("As is the custom of your language", "auto"), ("24-hour (14:30)", "24h"),
                 ("12-hour (2:30 pm)", "12h"))

class SettingsWindow(QDialog):
    saved = Signal()              # Save wrote heard.toml / templates.toml
    accounts_changed = Signal()   # an account or calendar was added, edited or removed

    def __init__(self, engine: Engine, ops: Ops, parent: QWidget | None = None, *,
                 status: Status | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Heard — settings")
        self.engine = engine
        self.ops = ops
        self.config = engine.profile.config
        try:   # the file, not the running settings: it is what Save writes back
            settings = config.load(self.config)
            load_problem = ""
        except ConfigError as exc:
            settings = engine.settings
            load_problem = ("The settings file has problems; the settings in use are shown"
                            " and Save will name what to fix:\n" + "\n".join(exc.problems))
        self._dropped: list[str] = []
        self.fields: dict[str, QWidget] = {}   # "section.key" -> the widget that edits it
        self._marked: list[QWidget] = []

        self.tabs = QTabWidget()
        self.tabs.addTab(_scrolling(self._general_tab(settings)), "&General")
        self.accounts = AccountsPage(engine, ops, settings)
        self.accounts.changed.connect(self.accounts_changed)
        self.tabs.addTab(self.accounts, "Acco&unts")
        self.tabs.addTab(self._standards_tab(settings), "&Response standards")
        self.tabs.addTab(_scrolling(self._hours_tab(settings)), "&Working hours")
        self.templates = TemplatesPage(engine, settings, status, self.user_name.text,
                                       self._first_assistant)
        self.fields.update(self.templates.fields())
        self.tabs.addTab(self.templates, "&Templates")
        self.tabs.addTab(self._assistants_tab(settings), "Assista&nts")
        self.tabs.addTab(_scrolling(self._notifications_tab(settings)), "N&otifications")
        # Away and after hours (heard.gui.settings_absence): its own page. No mnemonic: every
        # letter is taken on some page; Ctrl+Tab reaches it.
        self.absence = AbsencePage(engine, ops, settings)
        self.fields.update(self.absence.fields())
        self.tabs.addTab(_scrolling(self.absence), "Absence")
        self.clients_slot = QWidget()
        self._clients_layout = QVBoxLayout(self.clients_slot)
        self.clients_page: QWidget | None = None
        self.tabs.addTab(self.clients_slot, "&Clients")
        self.tabs.currentChanged.connect(self._tab_shown)
        self.user_name.textChanged.connect(self.templates.update_preview)
        self.assistants.itemChanged.connect(lambda _item: self.templates.update_preview())
        self.templates.update_preview()

        self.problems = _note(load_problem or self.templates.load_problem, "Problems")
        self.problems.setStyleSheet("color: #c62828")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(self.problems)
        layout.addWidget(buttons)
        short_combos(self)
        fit_to_screen(self, 860, 620)
        # What the window showed: Save writes only what the user changed since, so a
        # change another device made meanwhile (taken up into heard.toml) is not undone,
        # and a shared change saved over a newer version is reported (opened_version).
        # (A file with problems shows the settings in use: saving them is the fix.)
        self._initial = [] if load_problem else self.changes()
        self._initial_templates = dict(self.templates.working)
        self.opened_version = engine.shared_settings.status().version

    # general

    def _general_tab(self, settings: Settings) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        self.user_name = _line(settings.user.name, "as it appears in replies")
        self.addresses = _line(", ".join(settings.user.addresses),
                               "you@example.com, you@other.example")
        self.phone_region = QLineEdit(settings.user.phone_region)
        self.phone_region.setMaxLength(2)
        self.start_at_login = _checked("Start Heard when I &log in",
                                       settings.desktop.start_at_login)
        # [locale]: times, dates and weekdays as the user reads them, and the language of
        # the shipped templates for clients who have none of their own. (No mnemonic: every
        # letter is taken on this page; Tab reaches them.)
        self.language = _line(settings.locale.language,
                              "e.g. de or en_GB; empty: your system's")
        self.clock_format = QComboBox()
        for label, value in CLOCK_FORMATS:
            self.clock_format.addItem(label, value)
        self.clock_format.setCurrentIndex(max(0, self.clock_format.findData(
            settings.locale.time_format)))
        you = _group("You", [("Your na&me:", self.user_name),
                             ("Your a&ddresses:", self.addresses),
                             ("Country for phone num&bers:", self.phone_region),
                             ("Language:", self.language),
                             ("Times written:", self.clock_format),
                             ("", self.start_at_login)])
        cal = settings.calendar
        self.share_titles = _checked("Meeting titles may appear in re&plies", cal.share_titles)
        self.min_free = QLineEdit(format_duration(cal.min_free))
        self.tentative_busy = _checked("Tentati&ve meetings count as busy", cal.tentative_busy)
        calendar = _group("Calendar", [("", self.share_titles),
                                       ("Shortest &free slot that counts:", self.min_free),
                                       ("", self.tentative_busy)])
        new = settings.prospects
        self.prospects = _checked("Notice new peopl&e who may be clients", new.enabled)
        self.internal_domains = _line(", ".join(new.internal_domains),
                                      "your organisation's domains")
        self.prospects_apart = _checked("Li&st them apart from clients", new.show_apart)
        prospects = _group("New people (prospects)", [
            ("", self.prospects), ("&Internal domains (never prospects):",
                                   self.internal_domains), ("", self.prospects_apart)])
        self.mail_window = QLineEdit(format_duration(settings.mail.window))
        mail = _group("Mail", [("A first look at a mailbox goes bac&k:", self.mail_window)])
        devices = self._devices_box(settings)
        for box in (you, calendar, prospects, mail, devices):
            layout.addWidget(box)
        layout.addStretch(1)
        self.fields.update({
            "user.name": self.user_name, "user.addresses": self.addresses,
            "user.phone_region": self.phone_region,
            "locale.language": self.language, "locale.time_format": self.clock_format,
            "desktop.start_at_login": self.start_at_login,
            "calendar.share_titles": self.share_titles, "calendar.min_free": self.min_free,
            "calendar.tentative_busy": self.tentative_busy,
            "prospects.enabled": self.prospects,
            "prospects.internal_domains": self.internal_domains,
            "prospects.show_apart": self.prospects_apart, "mail.window": self.mail_window})
        return page

    def _devices_box(self, settings: Settings) -> QGroupBox:
        """This device among the user's others; the settings they share, and any conflict."""
        box = QGroupBox("Your devices (and your assistant's)")
        # The names in a form; the words, the change and the buttons below it, one under
        # the other (a form's spanning rows gave wrapped words the wrong height in the
        # scrolling page, and the change waiting for a yes was drawn over).
        rows = QVBoxLayout(box)
        form = QFormLayout()
        rows.addLayout(form)
        self.instance = QLineEdit(settings.sharing.instance)
        self.instance.setPlaceholderText(settings.instance)
        self.autopilot_instance = QLineEdit(settings.sharing.autopilot_instance)
        self.autopilot_instance.setPlaceholderText("any device with the autopilot on")
        self.designated_instance = QLineEdit(settings.sharing.designated_instance)
        self.designated_instance.setPlaceholderText("this one")
        shared = self.engine.shared_settings.status()
        self.shared_state = _note("", "Shared settings")
        # Another device's change, as a diff: lines of a file, in a box of their own that
        # scrolls (as a label it was cut at both ends once longer than a few lines).
        self.shared_diff = QPlainTextEdit()
        self.shared_diff.setReadOnly(True)
        self.shared_diff.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.shared_diff.setAccessibleName("The other device's change")
        self.shared_diff.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.shared_diff.setFixedHeight(self.shared_diff.fontMetrics().lineSpacing() * 9 + 12)
        form.addRow("T&his device's name:", self.instance)
        form.addRow("Automatic acknowledgements onl&y from:", self.autopilot_instance)
        form.addRow("Design&ated device (servers without keywords):",
                    self.designated_instance)
        rows.addWidget(self.shared_state)
        rows.addWidget(self.shared_diff)
        # Another device changed the templates or which device acts: it applies only on
        # the user's yes, here (or `heard sharing sync --accept`).
        self.take_shared = QPushButton("&Take the other device's change")
        self.take_shared.setToolTip("Apply the templates and devices another of your"
                                    " devices shared (the change is shown above)")
        self.take_shared.clicked.connect(self._take_shared)
        rows.addWidget(self.take_shared)
        self._show_shared(shared)
        # The key the devices sign with reaches a new device only through a one-time code
        # shown here on one that has it (issue 24, 1; `heard sharing invite` / `join`).
        self.invite_button = QPushButton("Invite another device…")
        self.invite_button.setToolTip("Show a one-time code that lets another device of yours"
                                      " (or your assistant's Heard) take the key your devices"
                                      " sign with")
        self.invite_button.clicked.connect(self.invite_device)
        self.join_button = QPushButton("&Join with a code…")
        self.join_button.setToolTip("Take the key your devices sign with, with the code"
                                    " another of your devices shows")
        self.join_button.clicked.connect(self.join_devices)
        has_imap = any(isinstance(a, ImapAccount) for a in settings.accounts)
        for button in (self.invite_button, self.join_button):
            button.setEnabled(has_imap)   # a Maildir folder is not shared: nothing to join
        keys = QHBoxLayout()
        keys.addWidget(self.invite_button)
        keys.addWidget(self.join_button)
        keys.addStretch(1)
        rows.addLayout(keys)
        self.device_dialog: QDialog | None = None
        # How each account's server lets the devices coordinate: a login, so off the GUI
        # thread; what the server lacks is said, and a fallback mode stands out.
        self.devices_mode = _note("", "How your devices coordinate")
        rows.addWidget(self.devices_mode)
        imap = [a for a in settings.accounts if isinstance(a, ImapAccount)]
        if imap:
            self.devices_mode.setText("Asking your mail server how your devices can"
                                      " coordinate…")
            engine = self.engine
            self.ops.run(engine.device_modes, self._show_modes,
                         lambda exc: self.devices_mode.setText(f"Could not tell: {exc}"))
        else:
            self.devices_mode.setText("No IMAP account: this computer works alone (a Maildir"
                                      " folder is not shared between devices).")
        self.fields.update({"sharing.instance": self.instance,
                            "sharing.autopilot_instance": self.autopilot_instance,
                            "sharing.designated_instance": self.designated_instance})
        return box

    def _take_shared(self) -> None:
        self.take_shared.setEnabled(False)

        def done(status: Any) -> None:   # a SharedStatus (the devices' module stays unloaded)
            self._show_shared(status)
            self.take_shared.setEnabled(True)

        def failed(exc: Exception) -> None:
            self.shared_state.setText(f"Could not take the change: {in_words(str(exc))}")
            self.take_shared.setEnabled(True)

        self.ops.run(lambda: self.engine.share_settings(accept=True), done, failed)

    def _show_shared(self, status: Any) -> None:
        """The shared settings as they are now (a SharedStatus), and the button that takes
        another device's change when one waits for the user's yes."""
        text = status.describe(self.engine.settings.zone)
        if status.pending:   # the change itself: in the box below
            text = text.replace(status.pending, "").rstrip()
        self.shared_state.setText(in_words("Shared with your other devices (standards,"
                                           " templates and the two devices below): " + text))
        self.shared_state.setStyleSheet("color: #c62828" if status.conflict or status.error
                                        else "")
        self.shared_diff.setPlainText(status.pending or "")
        self.shared_diff.setVisible(bool(status.pending))
        self.take_shared.setVisible(bool(status.pending))

    def invite_device(self) -> None:
        """A code for another device, after the user's yes (InviteDialog)."""
        from heard.gui.settings_devices import InviteDialog

        self.device_dialog = InviteDialog(self.engine.devices.invite, self.ops,
                                          self.engine.settings.zone, self)
        self.device_dialog.open()

    def join_devices(self) -> None:
        """This device takes the key with a code another device shows (JoinDialog); the
        shared settings, checked with it, show at once (a change may wait for a yes)."""
        from heard.gui.settings_devices import JoinDialog, join_devices

        engine = self.engine
        dialog = JoinDialog(lambda code: join_devices(engine, code), self.ops, self)
        def joined(result: Any) -> None:   # a Joined
            if result.shared is not None:
                self._show_shared(result.shared)

        dialog.joined.connect(joined)
        self.device_dialog = dialog
        dialog.open()

    def _show_modes(self, modes: list[DeviceMode]) -> None:
        shared = [m for m in modes if m.mode != "local"]
        self.devices_mode.setText("\n".join(f"{m.account}: {m.describe}" for m in shared))
        if any(not m.full for m in shared):
            self.devices_mode.setStyleSheet("color: #c62828")

    # standards

    def _standards_tab(self, settings: Settings) -> QWidget:
        page = QWidget()
        self._default = settings.standards.default
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setAccessibleName("Response standards per tier")
        self.table.setTabKeyNavigation(False)   # Tab leaves the table; arrows move in it
        # Each column as wide as its header or its values, whichever is wider.
        self.table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents)
        rows = [("default", settings.standards.default), *settings.standards.by_tier.items()]
        for tier, standard in rows:
            self._add_row(tier, standard)
        add = QPushButton("A&dd tier…")
        add.clicked.connect(self._new_tier)
        remove = QPushButton("Re&move tier")
        remove.clicked.connect(self._remove_tier)
        row = QHBoxLayout()
        hint = QLabel('Times like "10m", "4h" or "1d 2h"; goals like "90%". The default'
                      " applies to every client without a tier of its own; counted in"
                      " working hours, a deadline pauses overnight and at weekends.")
        hint.setWordWrap(True)
        row.addWidget(hint, 1)
        row.addWidget(add)
        row.addWidget(remove)
        label = QLabel("Response &standards per client tier:")
        label.setBuddy(self.table)
        layout = QVBoxLayout(page)
        layout.addWidget(label)
        layout.addWidget(self.table)
        layout.addLayout(row)
        self.fields["standards"] = self.table
        return page

    def _add_row(self, tier: str, standard: Standard) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        self.table.setVerticalHeaderItem(row, QTableWidgetItem(tier))
        values = (format_duration(standard.ack_within), format_duration(standard.answer_within),
                  None, _share(standard.ack_goal), _share(standard.answer_goal))
        for column, value in enumerate(values):
            if value is not None:
                self.table.setItem(row, column, QTableWidgetItem(value))
        counting = QComboBox()
        counting.addItems(list(COUNTING))
        counting.setCurrentIndex(list(COUNTING.values()).index(standard.counting.value))
        counting.setAccessibleName(f"Counted ({tier})")
        self.table.setCellWidget(row, 2, counting)

    def tiers(self) -> list[str]:
        return [self.table.verticalHeaderItem(r).text() for r in range(self.table.rowCount())]

    def _new_tier(self) -> None:
        name, ok = QInputDialog.getText(self, "New tier", "Tier name (e.g. vip):")
        name = name.strip().lower()
        if ok and name and name not in self.tiers():
            self._add_row(name, self._default)  # a new tier starts like the default

    def _remove_tier(self) -> None:
        row = self.table.currentRow()
        if row > 0:  # the default stays
            self._dropped.append(f"standards.{self.tiers()[row]}")
            self.table.removeRow(row)

    # hours

    def _hours_tab(self, settings: Settings) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        week = settings.opening.week or tuple(() for _ in WEEKDAYS)
        self.days: dict[str, QLineEdit] = {}
        for day, spans in zip(WEEKDAYS, week, strict=True):
            edit = QLineEdit(_spans(spans))
            edit.setPlaceholderText("closed")
            self.days[day] = edit
            form.addRow(DAY_LABELS[day], edit)
            self.fields[f"hours.{day}"] = edit
        self.zone = QLineEdit(settings.user.timezone)
        self.zone.setPlaceholderText("the system's zone")
        form.addRow("Time &zone:", self.zone)
        self.holidays = QLineEdit(", ".join(sorted(str(d) for d in settings.opening.holidays)))
        self.holidays.setPlaceholderText("2026-12-24, 2026-12-25")
        form.addRow("Hol&idays:", self.holidays)
        self.holiday_calendar = QLineEdit(str(settings.opening.holiday_calendar or ""))
        self.holiday_calendar.setPlaceholderText("an .ics file of holidays (optional)")
        form.addRow("Holiday calendar fi&le:", self.holiday_calendar)
        hint = QLabel('Opening hours like "09:00-12:30, 13:30-17:00"; empty = closed.'
                      " Holidays are dates like 2026-12-24.")
        hint.setWordWrap(True)
        form.addRow(hint)
        self.fields.update({"user.timezone": self.zone, "hours.holidays": self.holidays,
                            "hours.holiday_calendar": self.holiday_calendar})
        return page

    # assistants

    def _assistants_tab(self, settings: Settings) -> QWidget:
        page = QWidget()
        self.assistants = QTableWidget(0, 2)
        self.assistants.setHorizontalHeaderLabels(("Name", "Address"))
        self.assistants.setAccessibleName("Assistants")
        self.assistants.setTabKeyNavigation(False)
        self.assistants.horizontalHeader().setStretchLastSection(True)
        for helper in settings.assistants:
            self.add_assistant(helper.name, helper.address)
        label = QLabel("&Assistants who can take a client's message over (the first is the"
                       " usual one):")
        label.setWordWrap(True)
        label.setBuddy(self.assistants)
        add = QPushButton("Add as&sistant")
        add.clicked.connect(lambda: self.add_assistant("", "", edit=True))
        remove = QPushButton("Remo&ve assistant")
        remove.clicked.connect(self._remove_assistant)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(add)
        buttons.addWidget(remove)
        self.delegation_due = QLineEdit(format_duration(settings.delegation.due))
        self.tell_client = QCheckBox("Te&ll the client who will help (never for clients whose"
                                     " preference says no assistant)")
        self.tell_client.setChecked(settings.delegation.tell_client)
        form = QFormLayout()
        form.addRow("An assistant has this long to ta&ke it up:", self.delegation_due)
        form.addRow(self.tell_client)
        layout = QVBoxLayout(page)
        layout.addWidget(label)
        layout.addWidget(self.assistants, 1)
        layout.addLayout(buttons)
        layout.addLayout(form)
        self.fields.update({"assistant": self.assistants, "assistants": self.assistants,
                            "delegation.due": self.delegation_due,
                            "delegation.tell_client": self.tell_client})
        return page

    def add_assistant(self, name: str, address: str, edit: bool = False) -> None:
        row = self.assistants.rowCount()
        self.assistants.insertRow(row)
        self.assistants.setItem(row, 0, QTableWidgetItem(name))
        self.assistants.setItem(row, 1, QTableWidgetItem(address))
        item = self.assistants.item(row, 0)
        if edit and item is not None:
            self.assistants.setCurrentCell(row, 0)
            self.assistants.editItem(item)

    def assistant_rows(self) -> list[tuple[str, str]]:
        rows = []
        for r in range(self.assistants.rowCount()):
            cells = [self.assistants.item(r, c) for c in (0, 1)]
            name, address = (c.text().strip() if c else "" for c in cells)
            if name or address:
                rows.append((name, address))
        return rows

    def _remove_assistant(self) -> None:
        row = self.assistants.currentRow()
        if row >= 0:
            self.assistants.removeRow(row)

    def _first_assistant(self) -> str:
        if not hasattr(self, "assistants"):   # the templates tab is made first
            return ""
        rows = self.assistant_rows()
        return rows[0][0] if rows else ""

    # notifications

    def _notifications_tab(self, settings: Settings) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.paused = _checked("&Pause notifications (the tray keeps counting)",
                               settings.notifications.paused)
        self.warn_ack = QLineEdit(format_duration(settings.notifications.warn_before_ack))
        self.warn_answer = QLineEdit(format_duration(settings.notifications.warn_before_answer))
        self.warn_promise = QLineEdit(format_duration(settings.notifications.warn_before_promise))
        self.urgent_tiers = QLineEdit(", ".join(settings.notifications.urgent_tiers))
        self.urgent_tiers.setPlaceholderText("none")
        self.quiet_in_meetings = QCheckBox("&Quiet in meetings: only urgent tiers and"
                                           " deadlines about to pass pop up")
        self.quiet_in_meetings.setChecked(settings.notifications.quiet_in_meetings)
        form.addRow(self.paused)
        form.addRow("Warn before an ac&knowledgement is due:", self.warn_ack)
        form.addRow("Warn before an answ&er is due:", self.warn_answer)
        form.addRow("Warn before a pro&mise is due:", self.warn_promise)
        form.addRow("Tiers that warn out&side working hours too:", self.urgent_tiers)
        form.addRow(self.quiet_in_meetings)
        self.fields.update({
            "notifications.paused": self.paused, "notifications.warn_before_ack": self.warn_ack,
            "notifications.warn_before_answer": self.warn_answer,
            "notifications.warn_before_promise": self.warn_promise,
            "notifications.urgent_tiers": self.urgent_tiers,
            "notifications.quiet_in_meetings": self.quiet_in_meetings})
        return page

    # clients (the client directory is its own page, made when first shown)

    def _tab_shown(self, index: int) -> None:
        if self.tabs.widget(index) is self.clients_slot:
            self.show_clients()

    def show_clients(self) -> None:
        if self.clients_page is not None:
            return
        try:   # another part of Heard: looked up when first shown
            import importlib

            clients_page = importlib.import_module("heard.gui.clients_page")
        except ImportError:
            note = QLabel("The client directory is not part of this build yet. Meanwhile:"
                          " heard clients add NAME --email ADDRESS, or heard clients import"
                          " FILE.vcf|FILE.csv.")
            note.setWordWrap(True)
            self._clients_layout.addWidget(note)
            self.clients_page = note
            return
        self.clients_page = clients_page.ClientsPage(self.engine, self.ops, self.clients_slot)
        self._clients_layout.addWidget(self.clients_page)

    # saving

    def changes(self) -> list[tuple[str, str, Any]]:
        changes: list[tuple[str, str, Any]] = []
        for row, tier in enumerate(self.tiers()):
            section = f"standards.{tier}"
            cells = [self.table.item(row, c) for c in (0, 1, 3, 4)]
            ack, answer, ack_goal, answer_goal = (c.text().strip() if c else "" for c in cells)
            combo = self.table.cellWidget(row, 2)
            counting = COUNTING[combo.currentText()] if isinstance(combo, QComboBox) else \
                Counting.WORKING_HOURS.value
            changes += [(section, "ack_within", ack), (section, "answer_within", answer),
                        (section, "counting", counting), (section, "ack_goal", ack_goal),
                        (section, "answer_goal", answer_goal)]
        changes += [("hours", day, edit.text().strip()) for day, edit in self.days.items()]
        changes += [("hours", "holidays", _csv(self.holidays.text())),
                    ("hours", "holiday_calendar", self.holiday_calendar.text().strip()),
                    ("user", "timezone", self.zone.text().strip())]
        changes += [
            ("user", "name", self.user_name.text().strip()),
            ("user", "addresses", _csv(self.addresses.text())),
            ("user", "phone_region", self.phone_region.text().strip()),
            ("locale", "language", self.language.text().strip()),
            ("locale", "time_format", str(self.clock_format.currentData())),
            ("desktop", "start_at_login", self.start_at_login.isChecked()),
            ("calendar", "share_titles", self.share_titles.isChecked()),
            ("calendar", "min_free", self.min_free.text().strip()),
            ("calendar", "tentative_busy", self.tentative_busy.isChecked()),
            ("prospects", "enabled", self.prospects.isChecked()),
            ("prospects", "internal_domains", _csv(self.internal_domains.text())),
            ("prospects", "show_apart", self.prospects_apart.isChecked()),
            ("mail", "window", self.mail_window.text().strip()),
            ("sharing", "instance", self.instance.text().strip().lower()),
            ("sharing", "autopilot_instance", self.autopilot_instance.text().strip().lower()),
            ("sharing", "designated_instance",
             self.designated_instance.text().strip().lower()),
            ("notifications", "paused", self.paused.isChecked()),
            ("notifications", "warn_before_ack", self.warn_ack.text().strip()),
            ("notifications", "warn_before_answer", self.warn_answer.text().strip()),
            ("notifications", "warn_before_promise", self.warn_promise.text().strip()),
            ("notifications", "urgent_tiers",
             [t.lower() for t in _csv(self.urgent_tiers.text())]),
            ("notifications", "quiet_in_meetings", self.quiet_in_meetings.isChecked()),
            ("delegation", "due", self.delegation_due.text().strip()),
            ("delegation", "tell_client", self.tell_client.isChecked()),
        ]
        helpers = self.assistant_rows()
        first = helpers[0] if helpers else ("", "")
        changes += [("assistant", "name", first[0]), ("assistant", "address", first[1])]
        changes += self.templates.changes()
        changes += self.absence.changes()
        return changes

    def _edits(self) -> list[Any]:
        more = [{"name": n, "address": a} if n else {"address": a}
                for n, a in self.assistant_rows()[1:]]
        return [set_array("assistants", more)]

    def save(self) -> bool:
        """Write everything, or nothing: every problem is named by its key."""
        self._unmark()
        changes = [c for c in self.changes() if c not in self._initial]
        same = unchanged(self.config, changes)
        changes = [c for c in changes if c not in same]
        problems = self._assistant_problems() + self.templates.problems()
        file = SettingsFile(self.config)
        try:
            file.save(changes, drop=self._dropped, edits=self._edits(), dry_run=True)
        except ConfigError as exc:
            problems = exc.problems + problems
        if problems:
            self._refuse(problems)
            return False
        try:
            file.save(changes, drop=self._dropped, edits=self._edits())
            if self.templates.working != self._initial_templates:
                write_templates(self.engine.profile.templates, self._templates_to_write())
        except ConfigError as exc:   # the file changed meanwhile
            self._refuse(exc.problems)
            return False
        except OSError as exc:
            self._refuse([f"cannot write the settings: {exc}"])
            return False
        self._dropped = []
        self.problems.setText("")
        log.info("settings saved to %s", self.config)
        self.saved.emit()
        self.accept()
        return True

    def _templates_to_write(self) -> dict[str, tuple[str, str, str]]:
        """The templates as the file has them now (another device's change may have come
        in while the window was open), with only the user's edits and removals on top."""
        from heard.config.templates import load_templates

        working, initial = self.templates.working, self._initial_templates
        try:
            current = {n: (t.subject, t.body, t.promise)
                       for n, t in load_templates(self.engine.profile.templates).items()}
        except TemplateError:
            return dict(working)   # the file is broken: the window's copy is the fix
        for name in initial.keys() - working.keys():
            current.pop(name, None)
        current.update({n: v for n, v in working.items() if initial.get(n) != v})
        return current

    def _assistant_problems(self) -> list[str]:
        return [f"assistants (row {i + 1}).address: an assistant needs an address"
                for i, (_name, address) in enumerate(self.assistant_rows()) if not address]

    def _refuse(self, problems: list[str]) -> None:
        self.problems.setText("Not saved:\n" + "\n".join(problems))
        first = None
        for problem in problems:
            widget = self._field_of(problem.partition(":")[0])
            if widget is not None and widget not in self._marked:
                widget.setStyleSheet(BAD)
                self._marked.append(widget)
                first = first or widget
        if first is not None:
            for index in range(self.tabs.count()):
                page = self.tabs.widget(index)
                if page is not None and page.isAncestorOf(first):
                    self.tabs.setCurrentIndex(index)
                    break
            first.setFocus()

    def _field_of(self, key: str) -> QWidget | None:
        key = key.split(" ")[0]
        while key:
            if key in self.fields:
                return self.fields[key]
            key = key.rpartition(".")[0].split("[")[0]
        return None

    def _unmark(self) -> None:
        for widget in self._marked:
            widget.setStyleSheet("")
        self._marked = []
