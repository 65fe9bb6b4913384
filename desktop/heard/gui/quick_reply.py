"""The quick-reply window: every waiting client, most urgent first; Enter acknowledges."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from heard.domain.urgency import Urgency
from heard.domain.waiting import WaitingItem
from heard.engine import AckResult, Status

PROSPECT_ROLE = Qt.ItemDataRole.UserRole + 1
URGENCY_LABEL = {Urgency.ON_TRACK: "on track", Urgency.DUE_SOON: "due soon",
                 Urgency.OVERDUE: "overdue"}
URGENCY_COLOUR = {Urgency.ON_TRACK: "#2e7d32", Urgency.DUE_SOON: "#b26a00",
                  Urgency.OVERDUE: "#c62828"}


def waited(now: datetime, since: datetime) -> str:
    minutes = max(0, int((now - since).total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, mins = divmod(minutes, 60)
    return f"{hours} h {mins:02d}" if hours < 48 else f"{hours // 24} days"


class QuickReplyWindow(QWidget):
    """Emits requests; the app runs them off the GUI thread and feeds results back."""

    acknowledge_requested = Signal(int)     # inquiry id
    preview_requested = Signal(int)
    refresh_requested = Signal()
    # inquiry id, decision ("client", "prospect", "not-a-client", "not-a-client-domain");
    # no bool in the signal: PySide6 6.11 over-releases Python's True/False passed there.
    decide_requested = Signal(int, str)
    undo_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Heard — waiting clients")
        self.resize(760, 460)
        self._zone: Any = None
        self._now: datetime | None = None

        self.summary = QLabel("Loading…")
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.list = QTreeWidget()
        self.list.setHeaderLabels(["Client", "Channel", "Waiting", "Acknowledge by", "Status",
                                   "Subject"])
        self.list.setRootIsDecorated(False)
        self.list.setUniformRowHeights(True)
        self.list.setAlternatingRowColors(True)
        self.list.setAccessibleName("Waiting clients")
        self.list.currentItemChanged.connect(self._selection_changed)
        self.list.itemActivated.connect(lambda *_: self.acknowledge_current())

        self.preview = QPlainTextEdit()
        self.preview.setReadOnly(True)
        self.preview.setAccessibleName("Reply preview")
        self.preview.setPlaceholderText("Select a client to see the acknowledgement.")
        self.preview.setMaximumHeight(170)

        self.ack_button = QPushButton("&Acknowledge")
        self.ack_button.setDefault(True)
        self.ack_button.setToolTip("Send the acknowledgement shown below (Enter)")
        self.ack_button.clicked.connect(self.acknowledge_current)
        refresh = QPushButton("&Refresh")
        refresh.clicked.connect(self.refresh_requested)
        # A new person: the user says who they are, in one click (each can be undone).
        self.client_button = QPushButton("C&lient")
        self.client_button.setToolTip("Add this person to your clients (Ctrl+L)")
        self.client_button.clicked.connect(lambda: self._decide("client"))
        self.prospect_button = QPushButton("&Prospect")
        self.prospect_button.setToolTip("Keep them as a prospect (Ctrl+P)")
        self.prospect_button.clicked.connect(lambda: self._decide("prospect"))
        self.not_client_button = QPushButton("&Not a client")
        self.not_client_button.setToolTip(
            "Never count mail from this sender again (Ctrl+N); their whole domain: Ctrl+D")
        not_client_menu = QMenu(self.not_client_button)
        not_client_menu.addAction("This sender", lambda: self._decide("not-a-client"))
        not_client_menu.addAction("Their whole domain",
                                  lambda: self._decide("not-a-client", whole_domain=True))
        self.not_client_button.setMenu(not_client_menu)
        self.undo_button = QPushButton("&Undo")
        self.undo_button.setToolTip("Take back the last decision (Ctrl+Z)")
        self.undo_button.setEnabled(False)
        self.undo_button.clicked.connect(self.undo_requested)
        self.message = QLabel("")
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setWordWrap(True)

        buttons = QHBoxLayout()
        buttons.addWidget(self.message, 1)
        buttons.addWidget(self.undo_button)
        buttons.addWidget(self.client_button)
        buttons.addWidget(self.prospect_button)
        buttons.addWidget(self.not_client_button)
        buttons.addWidget(refresh)
        buttons.addWidget(self.ack_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.preview)
        layout.addLayout(buttons)

        for keys in ("Return", "Enter"):
            QShortcut(QKeySequence(keys), self.list, self.acknowledge_current)
        QShortcut(QKeySequence("F5"), self, self.refresh_requested.emit)
        QShortcut(QKeySequence("Ctrl+L"), self, lambda: self._decide("client"))
        QShortcut(QKeySequence("Ctrl+P"), self, lambda: self._decide("prospect"))
        QShortcut(QKeySequence("Ctrl+N"), self, lambda: self._decide("not-a-client"))
        QShortcut(QKeySequence("Ctrl+D"), self,
                  lambda: self._decide("not-a-client", whole_domain=True))
        QShortcut(QKeySequence("Ctrl+Z"), self, self._undo)
        QShortcut(QKeySequence("Escape"), self, self.hide)
        self._update_buttons()

    # fed by the app

    def show_status(self, status: Status, zone: Any) -> None:
        self._zone = zone
        self._now = status.at
        keep = self.current_id()
        self.list.clear()
        for entry in status.waiting:
            self.list.addTopLevelItem(self._row(entry, status.at, zone))
        people = "client is" if status.count == 1 else "clients are"
        busy = ""
        if status.busy is not None and status.busy.now and status.busy.until:
            busy = f" You are busy until {status.busy.until.astimezone(zone):%H:%M}."
        self.summary.setText(f"{status.count} {people} waiting.{busy}" if status.count
                             else f"Nobody is waiting. Well done.{busy}")
        self._select(keep)
        self._update_buttons()

    def _row(self, entry: WaitingItem, now: datetime, zone: Any) -> QTreeWidgetItem:
        inquiry = entry.inquiry
        name = entry.client.display_name
        if entry.client.prospect:
            name = f"{entry.client.name} (new)"
        item = QTreeWidgetItem([
            name, inquiry.channel.value,
            waited(now, inquiry.received_at), f"{entry.ack_due.astimezone(zone):%a %H:%M}",
            URGENCY_LABEL[entry.urgency], inquiry.subject,
        ])
        item.setData(0, Qt.ItemDataRole.UserRole, inquiry.id)
        item.setData(0, PROSPECT_ROLE, 1 if entry.client.prospect else 0)
        item.setForeground(4, QColor(URGENCY_COLOUR[entry.urgency]))
        via = entry.client.preferences.get("via")
        item.setToolTip(0, f"{entry.client.name} <{inquiry.sender}> · tier {entry.client.tier}"
                        + (f" · via {via}" if via else "")
                        + (" · a new person: Client, Prospect or Not a client?"
                           if entry.client.prospect else ""))
        item.setToolTip(5, inquiry.preview or inquiry.subject)
        return item

    def show_preview(self, inquiry_id: int, result: AckResult) -> None:
        if inquiry_id == self.current_id():
            self.preview.setPlainText(f"To: {result.to}\nSubject: {result.subject}\n\n"
                                      f"{result.body}")

    def show_message(self, text: str) -> None:
        self.message.setText(text)

    def set_busy(self, busy: bool) -> None:
        self.ack_button.setEnabled(not busy and self.current_id() is not None)
        self.ack_button.setText("Sending…" if busy else "&Acknowledge")

    # selection

    def current_id(self) -> int | None:
        item = self.list.currentItem()
        return None if item is None else int(item.data(0, Qt.ItemDataRole.UserRole))

    def _select(self, inquiry_id: int | None) -> None:
        items = [self.list.topLevelItem(r) for r in range(self.list.topLevelItemCount())]
        present = [item for item in items if item is not None]
        for item in present:
            if inquiry_id is None or item.data(0, Qt.ItemDataRole.UserRole) == inquiry_id:
                self.list.setCurrentItem(item)
                return
        if present:
            self.list.setCurrentItem(present[0])

    def _selection_changed(self, *_: object) -> None:
        self.preview.clear()
        self._update_buttons()
        inquiry_id = self.current_id()
        if inquiry_id is not None:
            self.preview_requested.emit(inquiry_id)

    def _update_buttons(self) -> None:
        self.ack_button.setEnabled(self.current_id() is not None)
        prospect = self.current_is_prospect()
        for button in (self.client_button, self.prospect_button, self.not_client_button):
            button.setEnabled(prospect)

    def current_is_prospect(self) -> bool:
        item = self.list.currentItem()
        return bool(item is not None and item.data(0, PROSPECT_ROLE))

    def _decide(self, decision: str, whole_domain: bool = False) -> None:
        inquiry_id = self.current_id()
        if inquiry_id is not None and self.current_is_prospect():
            self.decide_requested.emit(inquiry_id,
                                       decision + ("-domain" if whole_domain else ""))

    def _undo(self) -> None:
        if self.undo_button.isEnabled():
            self.undo_requested.emit()

    def set_undo(self, text: str | None) -> None:
        """Offer to undo the last decision (`text` says what), or stop offering."""
        self.undo_button.setEnabled(text is not None)
        self.undo_button.setToolTip(f"Undo: {text} (Ctrl+Z)" if text else
                                    "Take back the last decision (Ctrl+Z)")

    def acknowledge_current(self) -> None:
        inquiry_id = self.current_id()
        if inquiry_id is not None and self.ack_button.isEnabled():
            self.set_busy(True)
            self.acknowledge_requested.emit(inquiry_id)

    def open(self) -> None:
        self.show()
        self.raise_()
        self.activateWindow()
        self.list.setFocus()
