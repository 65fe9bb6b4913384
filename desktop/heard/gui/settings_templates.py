"""Reply templates, edited with a live preview, and how replies are made.

The shipped templates (resources/templates/default.toml) are the base; the profile's
templates.toml overrides and extends them, and only what differs from the shipped text is
written there. The preview fills the template being edited, on every keystroke, with a
sample client (Margaret Hale, "Megge"; busy until 11:00, reply by 12:30) or with a client
who is really waiting (the values the engine would use now).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from heard.config import Settings, format_duration
from heard.config.editing import template_problems
from heard.config.templates import default_templates, load_templates
from heard.domain.naming import shown
from heard.domain.templates import PLACEHOLDERS, PROMISES, Template, TemplateError
from heard.engine import Engine, Status

SAMPLE = "Sample: Margaret Hale (“Megge”), while you are busy until 11:00"
SAMPLE_VALUES = {
    "client.name": "Megge",
    "client.full_name": "Margaret Hale",
    "busy_until": "11:00 am",
    "next_free": "11:00 am",
    "reply_by": "12:30 pm",
    "subject": "Closing documents for the lease",
    "your_message": "your message",
    "it": "it",
}
PROMISE_LABELS = {
    "next_free": "your next free slot plus the margin",
    "end_of_day": "the end of the working day",
    "tomorrow_morning": "the next working morning plus the margin",
}

Values = Callable[[Template], Mapping[str, str]]


class TemplatesPage(QWidget):
    """Edits a working copy of every template; the window saves it (templates_to_save)."""

    def __init__(self, engine: Engine, settings: Settings, status: Status | None,
                 user_name: Callable[[], str], assistant_name: Callable[[], str],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.engine = engine
        self._user_name = user_name
        self._assistant_name = assistant_name
        self.shipped = default_templates()
        try:
            loaded = load_templates(engine.profile.templates)
            self.load_problem = ""
        except TemplateError as exc:   # a broken file: start from what the engine uses
            loaded = dict(engine.templates)
            self.load_problem = f"templates.toml: {exc}"
        self.working: dict[str, tuple[str, str, str]] = {
            name: (t.subject, t.body, t.promise) for name, t in loaded.items()}
        self._current: str | None = None

        self.names = QListWidget()
        self.names.setAccessibleName("Templates")
        self.names.currentTextChanged.connect(self._show)
        new = QPushButton("New te&mplate…")
        new.clicked.connect(self.new_template)
        self.remove_button = QPushButton("Remove t&his template")
        self.remove_button.clicked.connect(self.remove_template)
        left = QVBoxLayout()
        names_label = QLabel("Temp&lates:")
        names_label.setBuddy(self.names)
        left.addWidget(names_label)
        left.addWidget(self.names, 1)
        left.addWidget(new)
        left.addWidget(self.remove_button)

        self.promise = QComboBox()
        for key in PROMISES:
            self.promise.addItem(PROMISE_LABELS.get(key, key), key)
        self.subject = QLineEdit()
        self.body = QPlainTextEdit()
        self.body.setTabChangesFocus(True)   # Tab moves on; the text needs no tabs
        self.body.setAccessibleName("Template text")
        self.problem = QLabel("")
        self.problem.setTextFormat(Qt.TextFormat.PlainText)
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #c62828")
        placeholders = QLabel("Placeholders: " + ", ".join(
            "{" + p + "}" for p in PLACEHOLDERS))
        placeholders.setWordWrap(True)
        placeholders.setTextFormat(Qt.TextFormat.PlainText)
        placeholders.setToolTip("\n".join(f"{{{k}}}: {v}" for k, v in PLACEHOLDERS.items()))
        editor = QWidget()
        form = QFormLayout(editor)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Promises a re&ply by:", self.promise)
        form.addRow("Su&bject:", self.subject)
        form.addRow("Te&xt:", self.body)
        form.addRow(placeholders)
        form.addRow(self.problem)

        self.preview_for = QComboBox()
        self.preview_for.addItem(SAMPLE, None)
        for item in (status.waiting if status is not None else []):
            # The name and the subject come from mail: one line of text, cut to fit.
            self.preview_for.addItem(shown(f"{item.client.display_name}: "
                                           f"{item.inquiry.subject}", 120), item)
        self._busy = status.busy if status is not None else None
        self.preview = QPlainTextEdit()
        self.preview.setReadOnly(True)
        self.preview.setAccessibleName("Preview of the reply")
        preview_box = QWidget()
        pv = QFormLayout(preview_box)
        pv.setContentsMargins(0, 0, 0, 0)
        pv.addRow("Pre&view for:", self.preview_for)
        pv.addRow(self.preview)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(editor)
        split.addWidget(preview_box)
        split.setChildrenCollapsible(False)
        top = QHBoxLayout()
        top.addLayout(left)
        top.addWidget(split, 1)

        # how replies are made ([replies], [autopilot])
        self.default = QComboBox()
        self.margin = QLineEdit(format_duration(settings.replies.margin))
        self.undo = QSpinBox()
        self.undo.setRange(0, 60)
        self.undo.setSuffix(" s")
        self.undo.setValue(int(settings.replies.undo_delay.total_seconds()))
        self.autopilot_tiers = QLineEdit(", ".join(settings.autopilot.tiers))
        self.autopilot_tiers.setPlaceholderText("never (e.g. vip)")
        self.autopilot_before = QLineEdit(format_duration(settings.autopilot.before))
        replies = QGroupBox("Replies")
        rf = QFormLayout(replies)
        rf.addRow("D&efault template:", self.default)
        rf.addRow("M&argin after the next free slot:", self.margin)
        rf.addRow("Undo t&ime for a reply:", self.undo)
        rf.addRow("Ac&knowledge on its own in meetings for tiers:", self.autopilot_tiers)
        rf.addRow("… this long before the dea&dline:", self.autopilot_before)
        layout = QVBoxLayout(self)
        layout.addLayout(top, 1)
        layout.addWidget(replies)

        self._fill_names(settings.replies.template)
        self.subject.textChanged.connect(self._edited)
        self.body.textChanged.connect(self._edited)
        self.promise.currentIndexChanged.connect(self._edited)
        self.preview_for.currentIndexChanged.connect(self.update_preview)
        if self.names.count():
            self.names.setCurrentRow(0)

    # the list

    def _fill_names(self, default: str) -> None:
        self.names.blockSignals(True)
        self.names.clear()
        self.names.addItems(sorted(self.working))
        self.names.blockSignals(False)
        self.default.clear()
        self.default.addItems(sorted(self.working))
        self.default.setCurrentText(default)

    def select(self, name: str) -> None:
        found = self.names.findItems(name, Qt.MatchFlag.MatchExactly)
        if found:
            self.names.setCurrentItem(found[0])

    def _show(self, name: str) -> None:
        self._current = name or None
        subject, body, promise = self.working.get(name, ("", "", "next_free"))
        for widget in (self.subject, self.body, self.promise):
            widget.blockSignals(True)
        self.subject.setText(subject)
        self.body.setPlainText(body)
        self.promise.setCurrentIndex(max(0, self.promise.findData(promise)))
        for widget in (self.subject, self.body, self.promise):
            widget.blockSignals(False)
        self.remove_button.setEnabled(bool(name))
        self.remove_button.setText("Restore the s&hipped text" if name in self.shipped
                                   else "Remove t&his template")
        self.update_preview()

    def _edited(self) -> None:
        if self._current is None:
            return
        self.working[self._current] = (self.subject.text(), self.body.toPlainText(),
                                       str(self.promise.currentData()))
        self.update_preview()

    def new_template(self) -> None:
        name, ok = QInputDialog.getText(self, "New template — Heard",
                                        "Template name (one word, e.g. short-ack):")
        self.add_template(name.strip().lower() if ok else "")

    def add_template(self, name: str) -> None:
        if not name:
            return
        if name not in self.working:
            base = self.working.get(self._current or "", ("Re: {subject}", "", "next_free"))
            self.working[name] = base
            self._fill_names(self.default.currentText())
        self.select(name)

    def remove_template(self) -> None:
        name = self._current
        if name is None:
            return
        if name in self.shipped:   # back to the shipped text
            t = self.shipped[name]
            self.working[name] = (t.subject, t.body, t.promise)
            self._show(name)
            return
        default = self.default.currentText()
        if name == default:
            self.problem.setText(f"replies.template: {name!r} is the default template; choose"
                                 " another Default template below first")
            return
        del self.working[name]
        self._fill_names(default)
        if self.names.count():
            self.names.setCurrentRow(0)

    # the preview

    def values(self, template: Template) -> Mapping[str, str]:
        item = self.preview_for.currentData()
        if item is None:
            return {**SAMPLE_VALUES, "user.name": self._user_name() or "Alex Morgan",
                    "assistant.name": self._assistant_name() or "Sam"}
        # The same values the engine would send now.
        values = self.engine.template_values(item.client, item.inquiry, self._busy,
                                             template.promise)
        values["user.name"] = self._user_name() or values["user.name"]
        return values

    def update_preview(self) -> None:
        if self._current is None:
            self.preview.setPlainText("")
            return
        subject, body, promise = self.working[self._current]
        try:
            template = Template(self._current, subject, body, promise)
        except TemplateError as exc:
            self.problem.setText(exc.problem)
            self.preview.setPlainText("(no preview until the template is fixed)")
            return
        self.problem.setText("")
        try:
            rendered_subject, text = template.render(self.values(template))
        except Exception as exc:  # a real client's values could not be made
            self.preview.setPlainText(f"(no preview for this client: {exc})")
            return
        self.preview.setPlainText(f"Subject: {rendered_subject}\n\n{text}")

    # saving (by the window)

    def problems(self) -> list[str]:
        problems = template_problems(self.working)
        if self.default.currentText() not in self.working:
            problems.append(f"replies.template: {self.default.currentText()!r} is not a"
                            " template; choose one of the list")
        return problems

    def changes(self) -> list[tuple[str, str, Any]]:
        tiers = [t.strip().lower() for t in self.autopilot_tiers.text().split(",")
                 if t.strip()]
        return [("replies", "template", self.default.currentText()),
                ("replies", "margin", self.margin.text().strip()),
                ("replies", "undo_seconds", self.undo.value()),
                ("autopilot", "tiers", tiers),
                ("autopilot", "before", self.autopilot_before.text().strip())]

    def fields(self) -> dict[str, QWidget]:
        return {"replies.template": self.default, "replies.margin": self.margin,
                "replies.undo_seconds": self.undo, "autopilot.tiers": self.autopilot_tiers,
                "autopilot.before": self.autopilot_before, "templates": self.body}
