"""The quick-reply window's "Owe you a reply" section: clients whose follow-up came due
(heard.domain.followups), apart from the waiting list and never in its count, each with a
Nudge (the `nudge` template, shown and editable before it is sent, held for Undo like an
acknowledgement) and Stop waiting. The dialog shows exactly the text that will leave."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from heard.domain.wording import day_and_time

if TYPE_CHECKING:
    from datetime import datetime

    from heard.domain.followups import Owed

ID_ROLE = Qt.ItemDataRole.UserRole
COLUMNS = ("Client", "Owes you since", "About", "Nudged")


class OwedPanel(QWidget):
    """Hidden while nobody owes the user a reply."""

    nudge_requested = Signal(int)   # follow-up id
    stop_requested = Signal(int)    # follow-up id

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("Owe you a reply")
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setToolTip("Clients you are waiting on whose time came; not counted as"
                              " waiting. Anything they write takes them off this list.")
        self.list = QTreeWidget()
        self.list.setHeaderLabels(COLUMNS)
        self.list.setRootIsDecorated(False)
        self.list.setAccessibleName("Owe you a reply")
        self.list.itemSelectionChanged.connect(self._update_buttons)
        self.title.setBuddy(self.list)
        self.nudge_button = QPushButton("Nu&dge…")
        self.nudge_button.setToolTip("Write them 'Just checking in…': shown before it is sent"
                                     " (Ctrl+Shift+N)")
        self.nudge_button.clicked.connect(self.nudge_current)
        self.stop_button = QPushButton("&Stop waiting")
        self.stop_button.setToolTip("Take the follow-up back; Ctrl+Z brings it back")
        self.stop_button.clicked.connect(self.stop_current)
        QShortcut(QKeySequence("Ctrl+Shift+N"), self, self.nudge_current,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        for sequence in ("Return", "Enter"):
            QShortcut(QKeySequence(sequence), self.list, self.nudge_current,
                      context=Qt.ShortcutContext.WidgetShortcut)
        # A few rows are enough: the waiting list above stays the window's main part.
        self.list.setMaximumHeight(self.list.fontMetrics().height() * 7)
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.nudge_button)
        head.addWidget(self.stop_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(head)
        layout.addWidget(self.list, 1)
        self.setVisible(False)
        self._update_buttons()

    def show_owed(self, owed: list[Owed], now: datetime, zone: Any) -> None:
        chosen = self.current_id()
        self.list.clear()
        for entry in owed:
            f = entry.follow_up
            origin = " (a question in Sent)" if f.origin.value == "sent" else ""
            row = QTreeWidgetItem([entry.client.display_name, day_and_time(f.due, now, zone),
                                   f"{f.about()}{origin}",
                                   f"{f.nudges}x" if f.nudges else "-"])
            row.setData(0, ID_ROLE, int(f.id or 0))
            row.setToolTip(2, f"Waiting on them since {day_and_time(f.set_at, now, zone)}")
            self.list.addTopLevelItem(row)
            if f.id == chosen:
                self.list.setCurrentItem(row)
        for column in range(len(COLUMNS)):
            self.list.resizeColumnToContents(column)
        self.title.setText(f"Owe you a reply ({len(owed)}): not counted as waiting")
        self.setVisible(bool(owed))
        self._update_buttons()

    def current_id(self) -> int | None:
        item = self.list.currentItem()
        return int(item.data(0, ID_ROLE)) if item is not None else None

    def _update_buttons(self) -> None:
        chosen = self.current_id() is not None
        self.nudge_button.setEnabled(chosen)
        self.stop_button.setEnabled(chosen)

    def nudge_current(self) -> None:
        if (follow_up := self.current_id()) is not None:
            self.nudge_requested.emit(follow_up)

    def stop_current(self) -> None:
        if (follow_up := self.current_id()) is not None:
            self.stop_requested.emit(follow_up)


class NudgeDialog(QDialog):
    """The nudge as it will leave: To, Subject and text, editable; Send (Ctrl+Enter) sends
    exactly what the fields hold when pressed."""

    def __init__(self, name: str, to: str, subject: str, body: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Nudge {name}")
        self.to = QLabel(to)
        self.to.setTextFormat(Qt.TextFormat.PlainText)
        self.subject = QLineEdit(subject)
        self.body = QPlainTextEdit(body)
        self.body.setTabChangesFocus(True)
        form = QFormLayout()
        form.addRow("To:", self.to)
        form.addRow("&Subject:", self.subject)
        buttons = QDialogButtonBox()
        self.send_button = buttons.addButton("&Send", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        for sequence in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(sequence), self, self.accept)
        note = QLabel("This text is sent as it is; Undo (Ctrl+Z in the window) takes it back"
                      " for a few seconds.")
        note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.body, 1)
        layout.addWidget(note)
        layout.addWidget(buttons)
        self.resize(560, 360)
        self.body.setFocus()

    def text(self) -> tuple[str, str]:
        """(subject, body) as they are now."""
        return self.subject.text(), self.body.toPlainText()
