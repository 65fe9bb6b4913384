"""The settings window's Absence tab: who hears that the user is away (an absence set here
or with `heard away`, or an out-of-office event in the calendar) and who stands in, the
after-hours reply for chosen tiers, and follow-ups offered from Sent. The absence list acts
at once through the engine (off the GUI thread); the fields are saved with the window."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QDate, QDateTime, Qt, QTime
from PySide6.QtWidgets import (
    QDateTimeEdit,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from heard.domain.wording import day_and_time

if TYPE_CHECKING:
    from heard.config import Settings
    from heard.domain.absences import Absence
    from heard.engine import Engine
    from heard.gui.ops import Ops

ID_ROLE = Qt.ItemDataRole.UserRole


def _csv(text: str) -> list[str]:
    return [t.strip().lower() for t in text.split(",") if t.strip()]


def _local(edit: QDateTimeEdit, zone: Any) -> datetime:
    """The edit's date and time, in the user's zone."""
    shown = edit.dateTime()
    day, at = shown.date(), shown.time()
    return datetime(day.year(), day.month(), day.day(), at.hour(), at.minute(), tzinfo=zone)


class AbsencePage(QWidget):
    def __init__(self, engine: Engine, ops: Ops, settings: Settings,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.engine = engine
        self.ops = ops
        self.calendar_tiers = QLineEdit(", ".join(settings.absence.calendar_tiers))
        self.calendar_tiers.setPlaceholderText("none (off); * for every tier")
        self.deputy = QLineEdit(settings.absence.deputy)
        self.deputy.setPlaceholderText("e.g. Jordan Lee, +49 30 1234567")
        self.template = QLineEdit(settings.absence.template)
        self.after_tiers = QLineEdit(", ".join(settings.afterhours.tiers))
        self.after_tiers.setPlaceholderText("none (off), e.g. vip")
        self.after_template = QLineEdit(settings.afterhours.template)
        offer = settings.followups.offer_after
        self.offer_after = QLineEdit(f"{offer} working days" if offer else "")
        self.offer_after.setPlaceholderText('off, e.g. "3 working days"')

        now = engine.clock.now().astimezone(engine.settings.zone)
        first = now.date() + timedelta(days=1)   # from tomorrow, back a week later at 9:00
        back = first + timedelta(days=7)
        self.starts = QDateTimeEdit(QDateTime(QDate(first.year, first.month, first.day),
                                              QTime(0, 0)))
        self.ends = QDateTimeEdit(QDateTime(QDate(back.year, back.month, back.day),
                                            QTime(9, 0)))
        for edit in (self.starts, self.ends):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.list = QListWidget()
        self.list.setAccessibleName("Absences set")
        self.list.setMaximumHeight(self.list.fontMetrics().height() * 6)
        self.add_button = QPushButton("&Add absence")
        self.add_button.setToolTip("From the first time to the second, each client who writes"
                                   " hears once that you are away, naming the deputy")
        self.add_button.clicked.connect(self.add_absence)
        self.remove_button = QPushButton("Ta&ke back")
        self.remove_button.clicked.connect(self.remove_absence)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)

        away = QFormLayout()
        away.addRow("Fro&m:", self.starts)
        away.addRow("Unti&l (back):", self.ends)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        form = QFormLayout()
        form.addRow("&Deputy (named as {deputy}):", self.deputy)
        form.addRow("Absence repl&y template:", self.template)
        form.addRow("T&iers told while your calendar says out of office:", self.calendar_tiers)
        form.addRow("After-&hours tiers (outside your working hours):", self.after_tiers)
        form.addRow("After-hours tem&plate:", self.after_template)
        form.addRow("O&ffer follow-ups on questions in Sent after:", self.offer_after)
        note = QLabel("Absence and after-hours replies are automatic (Auto-Submitted), go"
                      " once per client, only where the autopilot would write, and"
                      " acknowledge nothing: the client still waits for you.")
        note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Absences set (each client is told once):"))
        layout.addWidget(self.list)
        layout.addLayout(away)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addStretch(1)
        self.show_absences(engine.absences.listing())

    def fields(self) -> dict[str, QWidget]:
        return {"absence.calendar_tiers": self.calendar_tiers, "absence.deputy": self.deputy,
                "absence.template": self.template, "afterhours.tiers": self.after_tiers,
                "afterhours.template": self.after_template,
                "followups.offer_after": self.offer_after}

    def changes(self) -> list[tuple[str, str, Any]]:
        return [("absence", "calendar_tiers", _csv(self.calendar_tiers.text())),
                ("absence", "deputy", self.deputy.text().strip()),
                ("absence", "template", self.template.text().strip()),
                ("afterhours", "tiers", _csv(self.after_tiers.text())),
                ("afterhours", "template", self.after_template.text().strip()),
                ("followups", "offer_after", self.offer_after.text().strip())]

    def show_absences(self, absences: list[Absence]) -> None:
        self.list.clear()
        now = self.engine.clock.now()
        zone = self.engine.settings.zone
        for absence in absences:
            deputy = f", {absence.deputy} stands in" if absence.deputy else ""
            item = QListWidgetItem(f"{day_and_time(absence.starts, now, zone)} to"
                                   f" {day_and_time(absence.ends, now, zone)}{deputy}"
                                   " (" + ("every client" if "*" in absence.tiers else
                                           "tiers " + ", ".join(absence.tiers)) + ")")
            item.setData(ID_ROLE, absence.id)
            self.list.addItem(item)
        if not absences:
            self.list.addItem(QListWidgetItem("None: you are not away."))
        self.remove_button.setEnabled(bool(absences))

    def _refresh(self, text: str) -> None:
        self.message.setText(text)
        self.ops.run(self.engine.absences.listing, self.show_absences,
                     lambda exc: self.message.setText(str(exc)))

    def add_absence(self) -> None:
        zone = self.engine.settings.zone
        starts = _local(self.starts, zone)
        ends = _local(self.ends, zone)
        starts = max(starts, self.engine.clock.now())
        deputy = self.deputy.text().strip() or None
        self.ops.run(lambda: self.engine.absences.add(starts, ends, None, deputy),
                     lambda absence: self._refresh(f"Absence {absence.id} set."),
                     lambda exc: self.message.setText(f"Not set: {exc}"))

    def remove_absence(self) -> None:
        item = self.list.currentItem()
        chosen = item.data(ID_ROLE) if item is not None else None
        if chosen is None:
            self.message.setText("Choose an absence in the list first.")
            return
        self.ops.run(lambda: self.engine.absences.off(int(chosen)),
                     lambda _off: self._refresh("Absence taken back."),
                     lambda exc: self.message.setText(f"Not taken back: {exc}"))
