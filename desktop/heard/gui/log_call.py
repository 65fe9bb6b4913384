"""A small dialog to log a call by hand: who called, and what it was about."""

from __future__ import annotations

from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QWidget,
)

from heard.gui.fit import keep_on_screen, placeholders_fit


class LogCallDialog(QDialog):
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
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.who.textChanged.connect(lambda text: self.ok.setEnabled(bool(text.strip())))
        form = QFormLayout(self)
        form.addRow("&Caller:", self.who)
        form.addRow("&Note:", self.note)
        form.addRow(buttons)
        placeholders_fit(self)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802  (Qt's name)
        super().showEvent(event)
        keep_on_screen(self)   # centred on a parent near the screen's edge, it may not be

    def values(self) -> tuple[str, str]:
        return self.who.text().strip(), self.note.text().strip()
