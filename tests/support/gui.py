"""Helpers of the widget tests: what the tray shows, a notifier that records, the settings
window, and where a secret may have been written."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QComboBox,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTabWidget,
    QWidget,
)
from pytestqt.qtbot import QtBot

from heard.config import ConfigFile
from heard.domain.ids import InquiryId
from heard.domain.inquiries import InquiryState
from heard.engine import Engine, Status
from heard.gui.notify import Note, Notifier
from heard.gui.ops import Ops
from heard.gui.quick_reply import QuickReplyWindow
from heard.gui.settings_accounts import MailAccountDialog
from heard.gui.settings_window import SettingsWindow
from heard.gui.tray import HeardApp
from tests.conftest import NOW
from tests.support.mail import SAM, MailFolders, drop, message


def drop_log_handlers() -> None:
    """heard.log.setup's handlers (a file, and stderr as pytest captured it) go with the
    test: a later test must not log into a closed capture."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_heard", False):
            handler.close()
            root.removeHandler(handler)


def account_dialog(qtbot: QtBot, window: SettingsWindow) -> MailAccountDialog:
    window.accounts.add_mail_account()
    dialog = window.accounts._dialog
    assert isinstance(dialog, MailAccountDialog)
    qtbot.addWidget(dialog)
    return dialog


CTRL = Qt.KeyboardModifier.ControlModifier


def waiting_inquiry(engine: Engine, mail: MailFolders, sender: str, subject: str, minutes: int,
             body: str = "Could you have a look?") -> InquiryId:
    drop(mail.inbox, message(sender, subject, body=body), NOW - timedelta(minutes=minutes))
    engine.sync()   # as the watcher would (the app's own catch-up sync may get there first)
    [inquiry_id] = [i.id for i in engine.store.open_inquiries()
                    if i.subject == subject and i.id is not None]
    return inquiry_id


def set_up_assistant(engine: Engine) -> None:
    """Sam Reed is the user's assistant, in heard.toml (the app takes the edit up)."""
    file = ConfigFile(engine.profile.config)
    file.set("assistant", "name", "Sam Reed")
    file.set("assistant", "address", SAM)


def open_window(qtbot: QtBot, heard: HeardApp, delay_ms: int = 200) -> QuickReplyWindow:
    window = heard.window
    window.send_delay_ms = delay_ms
    heard.open_window()
    window.activateWindow()  # shortcuts work in the active window
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    qtbot.waitUntil(lambda: bool(window.preview.toPlainText()), timeout=5000)
    return window


def state_of(engine: Engine, inquiry_id: InquiryId) -> InquiryState:
    inquiry = engine.store.inquiry(inquiry_id)
    assert inquiry is not None
    return inquiry.state


def share(image: QImage, colour: str, tolerance: int = 12) -> float:
    """The fraction of the image's pixels within `tolerance` of `colour`."""
    want = QColor(colour)
    hits = 0
    for y in range(image.height()):
        for x in range(image.width()):
            c = image.pixelColor(x, y)
            if c.alpha() > 200 and all(abs(a - b) <= tolerance for a, b in (
                    (c.red(), want.red()), (c.green(), want.green()), (c.blue(), want.blue()))):
                hits += 1
    return hits / (image.width() * image.height())


def wait_status(qtbot: QtBot, heard: HeardApp, count: int) -> Status:
    """The app's status once it counts `count` and waits on whom the store says: a status
    computed before the test's last change may still be on its way to the app (it once
    showed a delegated client as waiting, and a client without her newest message)."""

    def fresh() -> bool:
        shown = heard.status
        # The class's method: a test may wrap the instance's to count the app's own reads.
        return shown is not None and shown.count == count \
            and shown.waiting == Engine.status(heard.engine).waiting

    qtbot.waitUntil(fresh, timeout=5000)
    assert heard.status is not None
    return heard.status


class Recorder(Notifier):
    """Keeps what it is asked to show; a test chooses actions on it as a user would."""

    kind = "recorder"

    def __init__(self) -> None:
        super().__init__()
        self.description = "a recorder"
        self.actions = True
        self.notes: list[Note] = []

    def show(self, note: Note) -> None:
        self.notes.append(note)

    def titles(self) -> list[str]:
        return [n.title for n in self.notes]

    def last(self, title_part: str) -> Note:
        return next(n for n in reversed(self.notes) if title_part in n.title)

    def choose(self, note: Note, key: str) -> None:
        assert key in {k for k, _label in note.actions}, f"{key!r} not offered on {note}"
        self.invoked.emit(note.ref, key)


# A password no file could contain by chance (the test servers' own is "secret").
PASSWORD = "Hrd-7Qz!x9-kW2p"


def window_for(qtbot: QtBot, engine: Engine) -> SettingsWindow:
    ops = Ops()
    window = SettingsWindow(engine, ops)
    ops.setParent(window)
    qtbot.addWidget(window)
    return window


def files_with(root: Path, secret: str) -> list[Path]:
    """Every file under `root` that holds `secret` (as UTF-8 or UTF-16, any case)."""
    needles = [secret.encode(), secret.lower().encode(), secret.encode("utf-16-le")]
    return [path for path in root.rglob("*") if path.is_file()
            and any(n in path.read_bytes() for n in needles)]


def records_with(caplog: pytest.LogCaptureFixture, secret: str) -> list[logging.LogRecord]:
    """Log records (before any redaction) that carry `secret`."""
    def text(record: logging.LogRecord) -> str:
        try:
            return record.getMessage()
        except (TypeError, ValueError):   # a library's record with odd arguments
            return f"{record.msg} {record.args}"

    return [r for r in caplog.records if secret in text(r)]


def _mnemonic(text: str) -> str | None:
    match = re.search(r"&([^&])", text.replace("&&", ""))
    return match.group(1).lower() if match else None


def keyboard_problems(top: QWidget) -> list[str]:
    """Inputs no label (with a buddy) or accessible name tells about, and mnemonics used
    twice among what is on screen together."""
    problems = []
    visible = [w for w in top.findChildren(QWidget) if w.isVisibleTo(top)]
    buddies = {label.buddy() for label in top.findChildren(QLabel) if label.buddy()}
    for widget in visible:
        if isinstance(widget, QLineEdit | QComboBox | QAbstractSpinBox | QPlainTextEdit) \
                and widget.focusPolicy() != Qt.FocusPolicy.NoFocus \
                and not isinstance(widget.parent(), QComboBox | QAbstractSpinBox):
            proxies = {widget, widget.parentWidget()}
            if not (proxies & buddies) and not widget.accessibleName():
                hint = widget.placeholderText() if isinstance(widget, QLineEdit) else ""
                problems.append(f"no label for {type(widget).__name__} {hint}")
    keys: dict[str, list[str]] = {}
    texts = [(w.text(), w) for w in visible if isinstance(w, QLabel | QAbstractButton)]
    texts += [(w.title(), w) for w in visible if isinstance(w, QGroupBox)]
    for tabs in (w for w in visible if isinstance(w, QTabWidget)):
        texts += [(tabs.tabText(i), tabs) for i in range(tabs.count())]
    for text, _widget in texts:
        key = _mnemonic(text)
        if key:
            keys.setdefault(key, []).append(text)
    problems += [f"Alt+{k.upper()} for {', '.join(v)}" for k, v in keys.items() if len(v) > 1]
    return problems
