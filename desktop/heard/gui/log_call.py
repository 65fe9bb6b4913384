"""A small dialog to log a call by hand: who called, and what it was about."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

from heard.domain.wording import in_words
from heard.gui.fit import keep_on_screen, placeholders_fit


class LogCallDialog(QDialog):
    """Stays open until the call is logged: the note typed is never lost to a refusal, which
    is shown here, where Log call was pressed (`failed`); `logging` is emitted on Log call
    with the caller and note, and `done()` closes it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Log a call — Heard")
        self.who = QLineEdit()
        self.who.setPlaceholderText("+49 30 1234567, or a client's name")
        self.note = QLineEdit()
        self.note.setPlaceholderText("what it was about (optional)")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        self.ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("&Log call")
        self.ok.setEnabled(False)
        buttons.rejected.connect(self.reject)
        self.who.textChanged.connect(self._who_changed)
        self.problem = QLabel()
        self.problem.setTextFormat(Qt.TextFormat.PlainText)   # it may quote a name
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #c62828")
        self.problem.hide()
        form = QFormLayout(self)
        form.addRow("&Caller:", self.who)
        form.addRow("&Note:", self.note)
        form.addRow(self.problem)
        form.addRow(buttons)
        placeholders_fit(self)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802  (Qt's name)
        super().showEvent(event)
        keep_on_screen(self)   # centred on a parent near the screen's edge, it may not be

    def _who_changed(self, text: str) -> None:
        self.ok.setEnabled(bool(text.strip()))
        self.problem.hide()

    def working(self) -> None:
        """Log call was pressed: nothing more until the engine answered."""
        self.ok.setEnabled(False)
        self.problem.hide()

    def failed(self, reason: str) -> None:
        """The call was not logged: say why here, keep what was typed."""
        self.problem.setText(f"Not logged: {in_words(reason)}")
        self.problem.show()
        self.adjustSize()   # the words wrap: the dialog grows to show all of them
        self.ok.setEnabled(bool(self.who.text().strip()))
        self.who.setFocus()

    def values(self) -> tuple[str, str]:
        return self.who.text().strip(), self.note.text().strip()
