"""Settings: response standards per tier, and working hours. Saved to heard.toml through
the same validation as the file itself: a mistake names its key and nothing is written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from heard.config import WEEKDAYS, ConfigError, ConfigFile, Settings, format_duration
from heard.domain.clock import Counting, Span
from heard.domain.standards import Standard

COLUMNS = ("Acknowledge within", "Answer within", "Counted", "Acknowledge goal",
           "Answer goal")
COUNTING = {"working hours": Counting.WORKING_HOURS.value, "around the clock":
            Counting.CLOCK.value}


def _share(value: float) -> str:
    return f"{value * 100:g}%"


def _spans(spans: tuple[Span, ...]) -> str:
    def hhmm(t: Any) -> str:
        return "24:00" if (t.hour, t.minute, t.second) == (23, 59, 59) else f"{t:%H:%M}"

    return ", ".join(f"{hhmm(s.start)}-{hhmm(s.end)}" for s in spans)


class SettingsWindow(QDialog):
    saved = Signal()

    def __init__(self, config: Path, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Heard — settings")
        self.config = config
        self._dropped: list[str] = []
        tabs = QTabWidget()
        tabs.addTab(self._standards_tab(settings), "&Response standards")
        tabs.addTab(self._hours_tab(settings), "&Working hours")
        self.problems = QLabel("")
        self.problems.setTextFormat(Qt.TextFormat.PlainText)
        self.problems.setWordWrap(True)
        self.problems.setStyleSheet("color: #c62828")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(tabs)
        layout.addWidget(self.problems)
        layout.addWidget(buttons)

    # standards

    def _standards_tab(self, settings: Settings) -> QWidget:
        page = QWidget()
        self._default = settings.standards.default
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setAccessibleName("Response standards per tier")
        rows = [("default", settings.standards.default), *settings.standards.by_tier.items()]
        for tier, standard in rows:
            self._add_row(tier, standard)
        add = QPushButton("&Add tier…")
        add.clicked.connect(self._new_tier)
        remove = QPushButton("Re&move tier")
        remove.clicked.connect(self._remove_tier)
        row = QHBoxLayout()
        row.addWidget(QLabel('Times like "10m", "4h" or "1d 2h"; goals like "90%".'), 1)
        row.addWidget(add)
        row.addWidget(remove)
        layout = QVBoxLayout(page)
        layout.addWidget(self.table)
        layout.addLayout(row)
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
        week = settings.week or tuple(() for _ in WEEKDAYS)
        self.days: dict[str, QLineEdit] = {}
        for day, spans in zip(WEEKDAYS, week, strict=True):
            edit = QLineEdit(_spans(spans))
            edit.setPlaceholderText("closed")
            self.days[day] = edit
            form.addRow(f"{day.title()}:", edit)
        self.zone = QLineEdit(settings.user.timezone)
        self.zone.setPlaceholderText("the system's zone")
        form.addRow("Time &zone:", self.zone)
        self.holidays = QLineEdit(", ".join(sorted(str(d) for d in settings.holidays)))
        self.holidays.setPlaceholderText("2026-12-24, 2026-12-25")
        form.addRow("&Holidays:", self.holidays)
        self.holiday_calendar = QLineEdit(str(settings.holiday_calendar or ""))
        self.holiday_calendar.setPlaceholderText("an .ics file of holidays (optional)")
        form.addRow("Holiday &calendar:", self.holiday_calendar)
        return page

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
        holidays = [h.strip() for h in self.holidays.text().split(",") if h.strip()]
        changes += [("hours", "holidays", holidays),
                    ("hours", "holiday_calendar", self.holiday_calendar.text().strip()),
                    ("user", "timezone", self.zone.text().strip())]
        return changes

    def save(self) -> None:
        try:
            ConfigFile(self.config).set_many(self.changes(), drop=self._dropped)
        except ConfigError as exc:
            self.problems.setText("Not saved:\n" + "\n".join(exc.problems))
            return
        self.problems.setText("")
        self.saved.emit()
        self.accept()
