"""Hand a client's message to an assistant: who, a note, by when, and whether the client
is told who will help. Enter delegates, Escape cancels."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from PySide6.QtCore import QDate, QDateTime, Qt, QTime, QTimeZone
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

from heard.config import Assistant
from heard.domain.naming import shown
from heard.gui.fit import keep_on_screen
from heard.gui.quick_reply import plain_tip


@dataclass(frozen=True)
class DelegateChoice:
    assistant: Assistant
    note: str
    due: datetime          # aware, in the user's zone
    tell_client: bool


def _floating(at: datetime) -> QDateTime:
    """A wall-clock time held as UTC, so Qt never shifts it by the system's own zone (the
    user's zone in Heard's settings may differ from the machine's)."""
    return QDateTime(QDate(at.year, at.month, at.day), QTime(at.hour, at.minute),
                     QTimeZone.utc())


class DelegateDialog(QDialog):
    def __init__(self, client_name: str, subject: str, assistants: tuple[Assistant, ...],
                 due: datetime, zone: tzinfo, *, tell_client: bool, assistant_allowed: bool,
                 now: datetime | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Delegate — Heard")
        self._zone = zone
        self._assistants = assistants
        # The name and the subject come from mail: one line of text each, cut to fit (a
        # word of a few hundred letters cannot wrap: the dialog would leave the screen).
        client_name, subject = shown(client_name, 60), shown(subject, 100)
        about = QLabel(f"Hand {client_name}'s message to an assistant: {subject}")
        about.setTextFormat(Qt.TextFormat.PlainText)
        about.setWordWrap(True)

        self.assistant = QComboBox()
        for helper in assistants:
            self.assistant.addItem(f"{helper.name} <{helper.address}>")
        self.note = QLineEdit()
        self.note.setPlaceholderText("what to do (optional), e.g. book the notary")
        self.due = QDateTimeEdit()
        self.due.setTimeZone(QTimeZone.utc())   # floating, as _floating makes them
        self.due.setDateTime(_floating(due.astimezone(zone)))
        self.due.setDisplayFormat("ddd d MMM yyyy HH:mm")
        self.due.setCalendarPopup(True)
        if now is not None:
            self.due.setMinimumDateTime(_floating(now.astimezone(zone)))
        self.tell = QCheckBox(f"Tell {client_name} who will help")
        if assistant_allowed:
            self.tell.setChecked(tell_client)
            self.tell.setToolTip("Heard writes to the client that your assistant will"
                                 " contact them")
        else:
            self.tell.setChecked(False)
            self.tell.setEnabled(False)
            self.tell.setToolTip(plain_tip(f"{client_name}'s preference says no assistant:"
                                           " they are not told"))

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        self.ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("&Delegate")
        self.ok.setDefault(True)
        self.ok.setToolTip("Forward the message with your note (Enter)")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)

        form = QFormLayout(self)
        form.addRow(about)
        form.addRow("&Assistant:", self.assistant)
        form.addRow("&Note:", self.note)
        form.addRow("D&ue:", self.due)
        form.addRow(self.tell)
        form.addRow(buttons)
        self.note.setFocus()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802  (Qt's name)
        super().showEvent(event)
        keep_on_screen(self)   # centred on a parent near the screen's edge, it may not be

    def values(self) -> DelegateChoice:
        wall = self.due.dateTime()
        date, time = wall.date(), wall.time()
        due = datetime(date.year(), date.month(), date.day(), time.hour(), time.minute(),
                       tzinfo=self._zone)
        return DelegateChoice(self._assistants[max(0, self.assistant.currentIndex())],
                              self.note.text().strip(), due,
                              self.tell.isEnabled() and self.tell.isChecked())
