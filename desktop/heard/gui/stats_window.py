"""The Statistics window: the weekly trend of acknowledgements in time against the goal,
and how long contacts waited for an acknowledgement against the standard, each with the
values of its vertical axis. Esc closes it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QKeySequence, QPainter, QPaintEvent, QPen, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

GOOD, LATE, GOAL, INK = "#2e7d32", "#c62828", "#1d4e89", "#333333"


AXIS = 44      # the left margin the values of the vertical axis are written in
FOOT = 18      # the bottom margin of the bars' labels


def _axis(painter: QPainter, ticks: list[tuple[float, str]], w: int, h: int) -> None:
    """The vertical axis: each tick's value at its height (0..1 of the plot), a faint line
    across the plot there, and the axis itself."""
    for at, text in ticks:
        y = h * (1 - at)
        painter.setPen(QPen(QColor("#d0d0d0"), 1))
        painter.drawLine(AXIS, int(y), w, int(y))
        painter.setPen(QColor(INK))
        painter.drawText(QRectF(0, y - 9, AXIS - 6, 18),
                         Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, text)
    painter.setPen(QPen(QColor(INK), 1))
    painter.drawLine(AXIS, 0, AXIS, h)


class TrendChart(QWidget):
    """One bar per week: the share acknowledged in time; a line at the goal; the vertical
    axis in percent."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(420, 160)
        self.setAccessibleName("Weekly share acknowledged in time")
        self.weeks: list[tuple[str, float | None]] = []
        self.goal: float | None = None

    def set_data(self, weeks: list[tuple[str, float | None]], goal: float | None) -> None:
        self.weeks, self.goal = weeks, goal
        self.update()

    def ticks(self) -> list[tuple[float, str]]:
        """The values written on the vertical axis: 0, 50 and 100%, and the goal."""
        marks = {0.0: "0%", 0.5: "50%", 1.0: "100%"}
        if self.goal is not None and all(abs(self.goal - m) > 0.08 for m in marks):
            marks[self.goal] = f"{self.goal:.0%}"
        return sorted(marks.items())

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802  (Qt's name)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        # Room above for the top value's text, on the left for the axis.
        top, w, h = 9, self.width() - AXIS, self.height() - FOOT - 9
        painter.translate(0, top)
        _axis(painter, self.ticks(), self.width(), h)
        n = max(1, len(self.weeks))
        slot = w / n
        for i, (label, share) in enumerate(self.weeks):
            x = AXIS + i * slot
            if share is not None:
                colour = GOOD if self.goal is None or share >= self.goal else LATE
                painter.fillRect(QRectF(x + 4, h * (1 - share), slot - 8, h * share),
                                 QColor(colour))
            painter.setPen(QColor(INK))
            painter.drawText(QRectF(x, h, slot, FOOT), Qt.AlignmentFlag.AlignCenter,
                             label[-3:])
        if self.goal is not None:
            painter.setPen(QPen(QColor(GOAL), 2, Qt.PenStyle.DashLine))
            y = h * (1 - self.goal)
            painter.drawLine(AXIS, int(y), self.width(), int(y))
        painter.end()


class WaitChart(QWidget):
    """How long contacts waited for an acknowledgement, in bins, against the standard; the
    vertical axis counts contacts."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(420, 140)
        self.setAccessibleName("Time to acknowledge")
        self.bins: list[tuple[str, int, bool]] = []   # label, count, within the standard

    def set_data(self, waits: list[tuple[timedelta, timedelta]]) -> None:
        """`waits`: (time to acknowledge, the contact's standard)."""
        edges = [5, 10, 15, 30, 60, 120, 240, 480]
        counts = [0] * (len(edges) + 1)
        late = [0] * (len(edges) + 1)
        for wait, within in waits:
            minutes = wait.total_seconds() / 60
            index = next((i for i, e in enumerate(edges) if minutes <= e), len(edges))
            counts[index] += 1
            late[index] += wait > within
        labels = [f"≤{e}m" if e < 60 else f"≤{e // 60}h" for e in edges] + [">8h"]
        self.bins = [(labels[i], counts[i], late[i] == 0) for i in range(len(counts))]
        self.update()

    def top(self) -> int:
        """The count at the top of the axis: the largest bin, rounded up to an even number
        (so its half is a whole count too)."""
        most = max((c for _l, c, _ok in self.bins), default=0)
        return max(2, most + most % 2)

    def ticks(self) -> list[tuple[float, str]]:
        """The counts written on the vertical axis: 0, half the top, the top."""
        top = self.top()
        return [(0.0, "0"), (0.5, str(top // 2)), (1.0, str(top))]

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802  (Qt's name)
        painter = QPainter(self)
        top, w, h = 9, self.width() - AXIS, self.height() - FOOT - 9
        painter.translate(0, top)
        _axis(painter, self.ticks(), self.width(), h)
        most = self.top()
        slot = w / max(1, len(self.bins))
        for i, (label, count, ok) in enumerate(self.bins):
            x = AXIS + i * slot
            height = h * count / most
            painter.fillRect(QRectF(x + 3, h - height, slot - 6, height),
                             QColor(GOOD if ok else LATE))
            painter.setPen(QColor(INK))
            painter.drawText(QRectF(x, h, slot, FOOT), Qt.AlignmentFlag.AlignCenter, label)
        painter.end()


class StatsWindow(QWidget):
    refresh_requested = Signal()
    export_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Heard — how your standards are kept")
        self.summary = QLabel("Loading…")
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setWordWrap(True)
        self.trend = TrendChart()
        self.waits = WaitChart()
        export = QPushButton("&Export summary…")
        export.clicked.connect(self.export_requested)
        refresh = QPushButton("&Refresh")
        refresh.clicked.connect(self.refresh_requested)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(export)
        buttons.addWidget(refresh)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(QLabel("Acknowledged in time, week by week (dashed: your goal)"))
        layout.addWidget(self.trend)
        layout.addWidget(QLabel("Time to acknowledge, last 12 weeks (red: later than the"
                                " standard)"))
        layout.addWidget(self.waits)
        layout.addLayout(buttons)
        # Esc closes it, as any window of its kind (it has no Cancel to press).
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.close)

    def show_stats(self, text: str, weeks: list[tuple[str, float | None]],
                   goal: float | None, waits: list[tuple[timedelta, timedelta]]) -> None:
        self.summary.setText(text)
        self.trend.set_data(weeks, goal)
        self.waits.set_data(waits)


def stats_for_window(engine: Any) -> tuple[str, list[tuple[str, float | None]], float | None,
                                           list[tuple[timedelta, timedelta]]]:
    """Read on a worker thread: the last 12 weeks, by week, and every wait."""
    from datetime import datetime

    from heard.domain.statistics import goal_sentence, summarise

    zone = engine.settings.zone
    now = engine.clock.now()
    today = now.astimezone(zone).date()
    monday = today - timedelta(days=today.weekday() + 7 * 11)
    since = datetime(monday.year, monday.month, monday.day, tzinfo=zone)
    measures = engine.statistics.measures(since, now + timedelta(seconds=1))
    weeks = summarise(measures, group_by="week", now=now)
    this_week = summarise([m for m in measures if m.day >= today - timedelta(
        days=today.weekday())], group_by="all", now=now)
    text = "\n".join(
        f"{what}: {goal_sentence(getattr(this_week[0], f'{which}_goal'), 'this week')}"
        for what, which in (("Acknowledged", "ack"), ("Answered", "answer"))) \
        if this_week else "Nothing measured yet."
    # Apart from the user's own acknowledgements: the automatic replies and follow-ups.
    automatic = engine.statistics.automatic(since, now + timedelta(seconds=1))
    if any(automatic.values()):
        text += (f"\nAutomatic replies (not yours), 12 weeks: {automatic['autopilot']} in"
                 f" meetings, {automatic['absence']} while away, {automatic['after_hours']}"
                 " after hours.")
    waited = engine.statistics.follow_ups(since, now + timedelta(seconds=1))
    if waited.set:
        text += (f"\nFollow-ups, 12 weeks: {waited.set} set, {waited.answered_in_time}"
                 f" answered before due, {waited.came_due} came due ({waited.nudged}"
                 " nudged).")
    goal = next((w.ack_goal.goal for w in reversed(weeks) if w.ack_goal), None)
    waits = [(m.time_to_ack, m.standard.ack_within) for m in measures
             if m.time_to_ack is not None]
    return text, [(w.key, w.ack_in_time_share) for w in weeks], goal, waits
