"""The client directory: add, edit and remove clients and their preferences, and import
them from a vCard or CSV export with a preview of what will be added and what is skipped.

Every engine call runs through Ops (off the GUI thread); every failure is shown in plain
words on the page or in the dialog it came from, never swallowed. Text that comes from
contacts is only ever shown as plain text.

Keys: Ctrl+N adds, Enter edits the selected client, Delete removes it (after asking),
Ctrl+I imports a file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import available_timezones

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from heard.domain.clients import (
    ASSISTANT_PREFERENCE,
    DEFAULT_TIER,
    Channel,
    Client,
    is_domain,
    is_email,
    is_phone,
    is_zone,
)
from heard.domain.ids import ClientId
from heard.domain.locales import LanguageError, parse_language
from heard.domain.naming import shown
from heard.domain.wording import in_words
from heard.errors import ClientClash, EngineError, HeardError
from heard.gui.fit import keep_on_screen, placeholders_fit
from heard.setup.clients_import import (
    ImportReport,
    ImportResult,
    import_clients,
    read_clients,
    without_clashes,
)

_D = TypeVar("_D", bound=QWidget)

if TYPE_CHECKING:
    from heard.engine import Engine
    from heard.gui.ops import Ops

COLUMNS = ("Name", "Preferred name", "Tier", "Channel", "Addresses", "Prospect",
           "Language, zone")
# Offered in the client's Language box (any locale may be typed): the languages Heard's
# templates are shipped in, in the regions where people most often write them.
LANGUAGES = ("en_US", "en_GB", "de_DE", "de_AT", "de_CH")
DETAIL = ("brief", "normal", "detailed")              # preferences["detail"]
STATUS_REPORTS = ("none", "weekly", "monthly", "quarterly")   # preferences["status_reports"]
CHANNELS = (("Email", Channel.EMAIL), ("Call", Channel.CALL))
# What the engine refuses in plain words (an address that belongs to someone else, ...).
REFUSED = (ClientClash, EngineError)


def words(exc: BaseException) -> str:
    """A failure as the user reads it: expected errors say what they say; a bug says sorry
    (its traceback is in the log, written by Ops)."""
    if isinstance(exc, (HeardError, ValueError)):
        return in_words(str(exc))
    if isinstance(exc, OSError):
        return f"{exc.filename or 'the file'}: {exc.strerror or exc}"
    return f"sorry, that failed unexpectedly ({type(exc).__name__}); the log has the details"


def _plain_label(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    return label


def _text(table: QTableWidget, row: int, column: int) -> str:
    item = table.item(row, column)
    return item.text() if item is not None else ""


def _item(text: str, data: Any = None) -> QTableWidgetItem:
    """A cell of text (table items never render rich text). A name may be what a stranger's
    mail or an imported card said: shown without direction overrides or control characters,
    and cut to fit (the record keeps it whole)."""
    item = QTableWidgetItem(shown(text, 200))
    item.setFlags(Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled)
    if data is not None:
        item.setData(Qt.ItemDataRole.UserRole, data)
    return item


def _addresses(client: Client) -> str:
    return ", ".join([*client.emails, *("@" + d for d in client.domains), *client.phones])


def _values(text: str) -> list[str]:
    """'a@b.example, c@d.example; e@f.example' -> three values."""
    return [v.strip() for v in text.replace(";", ",").replace("\n", ",").split(",")
            if v.strip()]


def tiers_of(engine: Engine) -> list[str]:
    """The tiers the user's standards name, with "standard" and "vip" always offered."""
    standards = engine.settings.standards
    named = {*standards.by_tier, *(tier for tier, _ in standards.by_tier_channel)}
    named.discard("default")
    named.discard(DEFAULT_TIER)
    return [DEFAULT_TIER, *sorted(named | {"vip"}, key=str.lower)]


class ClientDialog(QDialog):
    """Add or edit one client. Save emits `submitted` with the client; the page saves it
    through the engine and closes the dialog only when that worked, so a refused address
    can be fixed in place."""

    submitted = Signal(object)   # Client

    def __init__(self, tiers: Sequence[str], client: Client | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.original = client
        self.setWindowTitle("Edit client — Heard" if client else "Add client — Heard")
        preferences = dict(client.preferences) if client else {}
        self.name = QLineEdit(client.name if client else "")
        self.name.setPlaceholderText("Margaret Hale")
        self.emails = QLineEdit(", ".join(client.emails) if client else "")
        self.emails.setPlaceholderText("margaret@hale.example, meg@home.example")
        self.domains = QLineEdit(", ".join(client.domains) if client else "")
        self.domains.setPlaceholderText("hale.example (every address at the firm)")
        self.phones = QLineEdit(", ".join(client.phones) if client else "")
        self.phones.setPlaceholderText("+1 415 555 0199")
        self.preferred = QLineEdit((client.preferred_name or "") if client else "")
        self.preferred.setPlaceholderText("the name they want to be called, e.g. Megge")
        self.tier = QComboBox()
        self.tier.setEditable(True)
        self.tier.addItems(list(dict.fromkeys([*tiers, *([client.tier] if client else [])])))
        self.tier.setCurrentText(client.tier if client else DEFAULT_TIER)
        self.tier.setToolTip("Response standards are set per tier in the settings")
        self.channel = QComboBox()
        for label, channel in CHANNELS:
            self.channel.addItem(label, channel.value)
        self.channel.setCurrentIndex(
            self.channel.findData((client.channel if client else Channel.EMAIL).value))
        self.detail = self._choice(DETAIL, preferences.get("detail", "normal"))
        self.status_reports = self._choice(STATUS_REPORTS,
                                           preferences.get("status_reports", "none"))
        self.assistant = QCheckBox("My &assistant may deal with this client")
        self.assistant.setChecked(client.assistant_allowed if client else True)
        self.prospect = QCheckBox("Still a pr&ospect (not yet confirmed as a client)")
        self.prospect.setChecked(bool(client and client.prospect))
        self.prospect.setVisible(bool(client and client.prospect))
        self.prospect.toggled.connect(self._prospect_toggled)
        self.language = self._typed(LANGUAGES, (client.language or "") if client else "",
                                    "yours")
        self.language.setToolTip("The language replies to them are written in (the"
                                 " templates, the times and days), e.g. de or en_GB; empty:"
                                 " yours")
        self.zone = self._typed(sorted(available_timezones()),
                                (client.zone or "") if client else "", "yours")
        self.zone.setToolTip("Their time zone, e.g. Europe/Berlin: a promise is written in"
                             " their time, with yours beside it; empty: yours")
        self.problem = _plain_label()
        self.problem.setStyleSheet("color: #c62828")

        form = QFormLayout()
        form.addRow("&Name:", self.name)
        form.addRow("&Emails:", self.emails)
        form.addRow("&Domains:", self.domains)
        form.addRow("P&hones:", self.phones)
        form.addRow("&Preferred name:", self.preferred)
        form.addRow("&Tier:", self.tier)
        form.addRow("&Channel:", self.channel)
        form.addRow("Lan&guage:", self.language)
        form.addRow("Time &zone:", self.zone)
        form.addRow("Detai&l:", self.detail)
        form.addRow("Status &reports:", self.status_reports)
        form.addRow("", self.assistant)
        form.addRow("", self.prospect)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                   | QDialogButtonBox.StandardButton.Cancel)
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setDefault(True)
        buttons.accepted.connect(self.submit)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(buttons)
        placeholders_fit(self)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802  (Qt's name)
        super().showEvent(event)
        keep_on_screen(self)   # centred on a parent near the screen's edge, it may not be

    def _prospect_toggled(self, still: bool) -> None:
        """Confirming a prospect as a client moves them off the "prospect" tier."""
        if not still and self.tier.currentText() == "prospect":
            self.tier.setCurrentText(DEFAULT_TIER)

    @staticmethod
    def _typed(values: Sequence[str], current: str, empty: str) -> QComboBox:
        """A box to pick from `values` or type another; empty means `empty`."""
        combo = QComboBox()
        combo.setEditable(True)
        combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        combo.addItems(["", *values])
        line = combo.lineEdit()
        assert line is not None
        line.setPlaceholderText(empty)
        combo.setCurrentText(current)
        return combo

    @staticmethod
    def _choice(values: Sequence[str], current: str) -> QComboBox:
        combo = QComboBox()
        combo.addItems(list(values))
        if current not in values:   # a value set elsewhere (the CLI, a demo) is kept
            combo.addItem(current)
        combo.setCurrentText(current)
        return combo

    def client(self) -> Client:
        """The client as filled in; ValueError says what is wrong."""
        name = " ".join(self.name.text().split())
        if not name:
            raise ValueError("a client needs a name")
        emails, domains, phones = (_values(self.emails.text()), _values(self.domains.text()),
                                   _values(self.phones.text()))
        for email in emails:
            if not is_email(email):
                raise ValueError(f"{email!r} is not an email address")
        for domain in domains:
            if not is_domain(domain):
                raise ValueError(f"{domain!r} is not a domain (like firm.example)")
        for phone in phones:
            if not is_phone(phone):
                raise ValueError(f"{phone!r} is not a phone number")
        language = self.language.currentText().strip() or None
        if language is not None:
            try:
                language = parse_language(language)
            except LanguageError as exc:
                raise ValueError(str(exc)) from None
        zone = self.zone.currentText().strip() or None
        if zone is not None and not is_zone(zone):
            raise ValueError(f"{zone!r} is not a time zone; pick one like Europe/Berlin")
        tier = self.tier.currentText().strip() or DEFAULT_TIER
        preferences = dict(self.original.preferences) if self.original else {}
        preferences["detail"] = self.detail.currentText()
        if self.status_reports.currentText() == "none":
            preferences.pop("status_reports", None)
        else:
            preferences["status_reports"] = self.status_reports.currentText()
        preferences[ASSISTANT_PREFERENCE] = "yes" if self.assistant.isChecked() else "no"
        return Client(
            name=name, emails=tuple(emails), domains=tuple(domains), phones=tuple(phones),
            preferred_name=" ".join(self.preferred.text().split()) or None, tier=tier,
            channel=Channel(self.channel.currentData()), preferences=preferences,
            prospect=self.prospect.isChecked(), language=language, zone=zone,
            id=self.original.id if self.original else None)

    def submit(self) -> None:
        try:
            client = self.client()
        except ValueError as exc:
            self.show_problem(words(exc))
            return
        self.problem.setText("")
        self.save_button.setEnabled(False)   # until the engine answers
        self.submitted.emit(client)

    def show_problem(self, text: str) -> None:
        self.save_button.setEnabled(True)
        self.problem.setText(text)


def _replace(old: _D | None, new: _D) -> _D:
    """Keep one dialog of a kind: the one it replaces is deleted (not at once: Qt may still
    be delivering its last signal)."""
    if old is not None:
        old.deleteLater()
    return new


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], name: str) -> QTableWidget:
    rows = list(rows)
    table = QTableWidget(len(rows), len(headers))
    table.setHorizontalHeaderLabels(list(headers))
    table.setAccessibleName(name)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setStretchLastSection(True)
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            table.setItem(r, c, _item(text))
    table.resizeColumnsToContents()
    return table


class ImportPreview(QDialog):
    """What an import will do, before it does it: who will be added, which entries are
    skipped and why (a problem in the file, or an address that is already a client's), and
    which are added with something left out."""

    def __init__(self, result: ImportResult, file_name: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.import_result = result
        self.setWindowTitle("Import clients — Heard")
        n, skipped = len(result.entries), len(result.skipped) + len(result.clashing)
        self.summary = _plain_label(
            f"{file_name}: {result.format or 'contacts'}"
            f"{f' ({result.encoding})' if result.encoding else ''}. "
            f"{n} to add, {skipped} skipped"
            + (f" ({len(result.clashing)} already in Heard)." if result.clashing else "."))
        self.to_add = _table(
            ("Name", "Preferred name", "Emails", "Phones", "Channel", "From"),
            ((c.name, c.preferred_name or "", ", ".join(c.emails), ", ".join(c.phones),
              c.channel.value, e.label) for e in result.entries for c in (e.client,)),
            "Clients to add")
        self.skipped = _table(
            ("Entry", "Why it is skipped"),
            [*result.skipped, *((entry, f"already in Heard: {reason}")
                                for entry, reason in result.clashing)],
            "Skipped entries")
        self.notes = _table(("Entry", "Left out"), result.notes, "Added with something left out")
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(_plain_label(f"Will be added ({n}):"))
        layout.addWidget(self.to_add)
        if skipped:
            layout.addWidget(_plain_label(f"Skipped ({skipped}):"))
            layout.addWidget(self.skipped)
        if result.notes:
            layout.addWidget(_plain_label(f"Added, with something left out "
                                          f"({len(result.notes)}):"))
            layout.addWidget(self.notes)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.import_button = buttons.addButton(
            f"&Import {n} client{'' if n == 1 else 's'}",
            QDialogButtonBox.ButtonRole.AcceptRole)
        self.import_button.setEnabled(n > 0)
        self.import_button.setDefault(True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(760, 520)

    def skipped_rows(self) -> list[tuple[str, str]]:
        """The skipped table as shown: (entry, why)."""
        return [(_text(self.skipped, r, 0), _text(self.skipped, r, 1))
                for r in range(self.skipped.rowCount())]


class ImportReportDialog(QDialog):
    """What the import did: added, skipped, clashing, each with its reason."""

    def __init__(self, report: ImportReport, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.report = report
        self.setWindowTitle("Import done — Heard")
        self.view = QPlainTextEdit("\n".join(report.lines()))
        self.view.setReadOnly(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(self.view)
        layout.addWidget(buttons)
        self.resize(620, 380)

    def text(self) -> str:
        return self.view.toPlainText()


class ClientsPage(QWidget):
    """The client directory as a page (the settings window embeds it as a tab)."""

    changed = Signal()    # the directory changed: a client added, edited, removed, imported
    loaded = Signal()     # the table shows what the engine has (for tests)

    def __init__(self, engine: Engine, ops: Ops, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.engine = engine
        self.ops = ops
        self.clients: list[Client] = []
        self.dialog: ClientDialog | None = None
        self.confirm: QMessageBox | None = None
        self.preview: ImportPreview | None = None
        self.report: ImportReportDialog | None = None
        self._reads = 0   # reads of the directory started; only the latest one is shown

        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter by name, address or tier")
        self.filter.setClearButtonEnabled(True)
        self.filter.setAccessibleName("Filter clients")
        self.filter.textChanged.connect(self._apply_filter)
        self.filter.returnPressed.connect(self._to_table)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setAccessibleName("Clients")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents)   # no "Preferred nam"
        self.table.horizontalHeader().setSectionResizeMode(
            COLUMNS.index("Addresses"), QHeaderView.ResizeMode.Stretch)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.doubleClicked.connect(lambda _index: self.edit())
        self.table.itemSelectionChanged.connect(self._update_buttons)

        self.add_button = QPushButton("&Add…")
        self.add_button.setToolTip("Add a client (Ctrl+N)")
        self.add_button.clicked.connect(self.add)
        self.edit_button = QPushButton("&Edit…")
        self.edit_button.setToolTip("Edit the selected client (Enter)")
        self.edit_button.clicked.connect(self.edit)
        self.remove_button = QPushButton("Re&move…")
        self.remove_button.setToolTip("Remove the selected client (Delete)")
        self.remove_button.clicked.connect(self.remove)
        self.import_button = QPushButton("&Import…")
        self.import_button.setToolTip("Import clients from a .vcf or .csv export (Ctrl+I)")
        self.import_button.clicked.connect(self.choose_import)
        self.message = _plain_label()

        for keys, slot, parent_widget, context in (
                # Window-wide, but only while the page is shown (Qt ignores the shortcuts
                # of hidden widgets: another tab of the settings window keeps its keys).
                ("Ctrl+N", self.add, self, Qt.ShortcutContext.WindowShortcut),
                ("Ctrl+I", self.choose_import, self, Qt.ShortcutContext.WindowShortcut),
                (QKeySequence(Qt.Key.Key_Return), self.edit, self.table,
                 Qt.ShortcutContext.WidgetShortcut),
                (QKeySequence(Qt.Key.Key_Enter), self.edit, self.table,
                 Qt.ShortcutContext.WidgetShortcut),
                (QKeySequence(Qt.Key.Key_Delete), self.remove, self.table,
                 Qt.ShortcutContext.WidgetShortcut)):
            shortcut = QShortcut(QKeySequence(keys), parent_widget)
            shortcut.setContext(context)
            shortcut.activated.connect(slot)

        buttons = QHBoxLayout()
        for button in (self.add_button, self.edit_button, self.remove_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.import_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.filter)
        layout.addWidget(self.table)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        self._update_buttons()

    # reading

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802  (Qt's name)
        super().showEvent(event)
        self.refresh()   # the directory may have changed elsewhere (CLI, quick-reply window)

    def refresh(self, then: Callable[[], None] | None = None) -> None:
        """Read the directory (off the GUI thread) and show it; `then` runs once it is
        shown. A read that an earlier one overtook is dropped."""
        self._reads += 1
        read = self._reads

        def show(clients: list[Client]) -> None:
            if read != self._reads:
                return
            self._show(clients)
            if then is not None:
                then()

        self.ops.run(self.engine.clients.all, show, self._failed("could not read the clients"))

    def _show(self, clients: list[Client]) -> None:
        selected = self.selected()
        self.clients = clients
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(clients))
        for row, client in enumerate(clients):
            values = (client.name, client.preferred_name or "", client.tier,
                      client.channel.value, _addresses(client),
                      "prospect" if client.prospect else "",
                      ", ".join(x for x in (client.language, client.zone) if x))
            for column, text in enumerate(values):
                self.table.setItem(row, column, _item(text, client.id))
        self.table.setSortingEnabled(True)
        self.table.resizeColumnToContents(0)
        if selected is not None:
            self.select(selected.id)
        self._apply_filter()
        self.loaded.emit()

    def _apply_filter(self) -> None:
        words_ = self.filter.text().lower().split()
        for row in range(self.table.rowCount()):
            text = " ".join(_text(self.table, row, c).lower()
                            for c in range(self.table.columnCount()))
            self.table.setRowHidden(row, not all(w in text for w in words_))
        current = self.table.currentRow()
        if current < 0 or self.table.isRowHidden(current):
            visible = self.visible_rows()
            if visible:
                self.table.selectRow(visible[0])
            else:
                self.table.clearSelection()
        self._update_buttons()

    def _to_table(self) -> None:
        if self.visible_rows():
            self.table.setFocus()

    def visible_rows(self) -> list[int]:
        return [r for r in range(self.table.rowCount()) if not self.table.isRowHidden(r)]

    def shown_names(self) -> list[str]:
        """The names in the table as the user sees them (filtered, sorted)."""
        return [_text(self.table, r, 0) for r in self.visible_rows()]

    def selected(self) -> Client | None:
        rows = {i.row() for i in self.table.selectedItems()}
        if len(rows) != 1:
            return None
        row = rows.pop()
        if self.table.isRowHidden(row):
            return None
        item = self.table.item(row, 0)
        client_id = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        return next((c for c in self.clients if c.id == client_id), None)

    def select(self, client_id: ClientId | int | None) -> bool:
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 0)
            if item is not None and item.data(Qt.ItemDataRole.UserRole) == client_id:
                self.table.selectRow(row)
                self.table.scrollToItem(item)
                return True
        return False

    def _update_buttons(self) -> None:
        chosen = self.selected() is not None
        self.edit_button.setEnabled(chosen)
        self.remove_button.setEnabled(chosen)

    # messages

    def _say(self, text: str, error: bool = False) -> None:
        self.message.setStyleSheet("color: #c62828" if error else "")
        self.message.setText(text)

    def _failed(self, doing: str) -> Callable[[Exception], None]:
        def failed(exc: Exception) -> None:
            self._say(f"{doing[:1].upper()}{doing[1:]}: {words(exc)}", error=True)
        return failed

    # add, edit, remove

    def add(self) -> None:
        self._open_dialog(None)

    def edit(self) -> None:
        client = self.selected()
        if client is None:
            self._say("Select a client to edit.")
            return
        self._open_dialog(client)

    def _open_dialog(self, client: Client | None) -> None:
        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.raise_()
            self.dialog.activateWindow()
            return
        dialog = ClientDialog(tiers_of(self.engine), client, self)
        dialog.submitted.connect(lambda c: self._save(dialog, c))
        self.dialog = _replace(self.dialog, dialog)
        dialog.open()

    def _save(self, dialog: ClientDialog, client: Client) -> None:
        adding = client.id is None
        work = (lambda: self.engine.clients.add(client)) if adding else (
            lambda: self.engine.clients.update(client))

        def done(saved: Client) -> None:
            if dialog is self.dialog:    # not replaced (and so not deleted) meanwhile
                dialog.accept()
            self._say(f"Added {shown(saved.name)}." if adding else f"Saved {shown(saved.name)}.")
            self._changed(saved.id)

        def failed(exc: Exception) -> None:
            if dialog is self.dialog and dialog.isVisible():
                dialog.show_problem(words(exc))
            else:
                self._say(words(exc), error=True)

        self.ops.run(work, done, failed)

    def remove(self) -> None:
        client = self.selected()
        if client is None or client.id is None:
            self._say("Select a client to remove.")
            return
        box = QMessageBox(QMessageBox.Icon.Question, "Remove client — Heard",
                          f"Remove {shown(client.name)} from your clients?", parent=self)
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setInformativeText("Their past inquiries are kept; mail from their addresses no"
                               " longer counts as a client's.")
        remove = box.addButton("&Remove", QMessageBox.ButtonRole.DestructiveRole)
        keep = box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(keep)   # Delete then Enter never removes by accident
        box.setEscapeButton(keep)
        client_id = ClientId(client.id)

        def removed(_removed: bool) -> None:
            self._say(f"Removed {shown(client.name)}.")
            self._changed(None)

        def finished(_result: int) -> None:
            if box.clickedButton() is remove:
                self.ops.run(lambda: self.engine.clients.remove(client_id), removed,
                             self._failed(f"could not remove {shown(client.name)}"))

        box.finished.connect(finished)
        self.confirm = _replace(self.confirm, box)
        box.open()

    def _changed(self, select: ClientId | None) -> None:
        self.changed.emit()

        def reselect() -> None:
            if select is not None:
                self.select(select)

        self.refresh(reselect)

    # import

    def choose_import(self) -> None:
        path, _filter = QFileDialog.getOpenFileName(
            self, "Import clients — Heard", str(Path.home()),
            "Contacts (*.vcf *.vcard *.csv);;vCard (*.vcf *.vcard);;CSV (*.csv);;"
            "All files (*)")
        if path:
            self.import_file(Path(path))

    def import_file(self, path: Path) -> None:
        """Read the file and show the preview (nothing is added until Import is pressed)."""
        self._say(f"Reading {path.name}…")
        region = self.engine.settings.user.phone_region

        def read() -> ImportResult:
            return without_clashes(read_clients(path), self.engine.clients.all(), region)

        self.ops.run(read, lambda result: self._preview(result, path),
                     self._failed(f"could not import {path.name}"))

    def _preview(self, result: ImportResult, path: Path) -> None:
        self._say("")
        preview = ImportPreview(result, path.name, self)
        preview.accepted.connect(lambda: self._import(result))
        self.preview = _replace(self.preview, preview)
        preview.open()

    def _import(self, result: ImportResult) -> None:
        self._say(f"Importing {len(result.entries)} clients…")
        self.import_button.setEnabled(False)

        def done(report: ImportReport) -> None:
            self.import_button.setEnabled(True)
            self._say(report.lines()[0])
            self._changed(None)
            dialog = ImportReportDialog(report, self)
            self.report = _replace(self.report, dialog)
            dialog.open()

        def failed(exc: Exception) -> None:
            self.import_button.setEnabled(True)
            self._failed("the import stopped")(exc)
            self._changed(None)   # some may have been added before it stopped

        self.ops.run(lambda: import_clients(result, self.engine.clients.add, REFUSED),
                     done, failed)
