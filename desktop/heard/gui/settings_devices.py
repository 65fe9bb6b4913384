"""Joining a device, from the settings window (issue 24, 1): the key the user's devices sign
their messages in the Heard folder with is handed to a new device only through a one-time
code shown on a device that has it, as `heard sharing invite` and `heard sharing join CODE`
do on the command line (the same engine calls: Engine.devices.invite and .join, then the
shared settings checked again).

InviteDialog asks first (the code is the secret: anyone with it and the mailbox could take
the key), then shows the code, valid for an hour, once. JoinDialog takes a code and says
plainly what went wrong: a code that cannot be one, one no invitation opens (mistyped,
used, or more than an hour old), a server that cannot be reached; on success it says which
device invited this one and closes on the user's word.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFont, QFontDatabase, QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from heard.domain.naming import shown
from heard.domain.wording import in_words
from heard.engine import Engine
from heard.gui.fit import keep_on_screen
from heard.gui.ops import Ops

RED = "color: #c62828"
WHERE_INVITE = "Settings > General > Invite another device"
WHERE_JOIN = "Settings > General > Join with a code"
NO_INVITATION = ("No invitation opens with this code: it may be mistyped, used already or"
                 f" more than an hour old. Show a new one on a device that has joined"
                 f" ({WHERE_INVITE}) and type it here.")


def grow(dialog: QDialog) -> None:
    """As tall as its wrapped words need at its width (a label's text changed, a widget was
    shown): never cut. Once now and once the layout has taken the change in (a widget just
    shown counts only then)."""
    def fit() -> None:
        layout = dialog.layout()
        if layout is not None:
            dialog.resize(dialog.width(), max(dialog.height(),
                                              layout.totalHeightForWidth(dialog.width())))
        keep_on_screen(dialog)

    fit()
    QTimer.singleShot(0, dialog, fit)


def _plain(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)   # it may quote a server or an account
    label.setWordWrap(True)
    return label


@dataclass(frozen=True)
class Joined:
    """What a join came to: each account and the device whose invitation opened for it
    (None: none did), the shared settings as checked after it, or why nothing was tried."""

    invited_by: dict[str, str | None]
    shared: Any = None            # a SharedStatus (the devices' module stays unloaded here)
    refused: str = ""             # a code that cannot be one


def join_devices(engine: Engine, code: str) -> Joined:
    """Off the GUI thread: `heard sharing join CODE`, then the shared settings checked with
    the key (what could not be checked before). A code that cannot be one is an answer, not
    a failure."""
    try:
        invited_by = engine.devices.join(code)
    except ValueError as exc:
        return Joined({}, refused=str(exc))
    shared = engine.share_settings() if any(invited_by.values()) else None
    return Joined(invited_by, shared)


def invitation_words(accounts: list[str], expires: str) -> str:
    return (f"On the device that joins, open {WHERE_JOIN} and type this code (valid until"
            f" {expires}, once; for {', '.join(shown(a, 60) for a in accounts)}). Type it"
            " there yourself: anyone with this code and your mailbox could take the key your"
            " devices sign with.")


class InviteDialog(QDialog):
    """Asks, then shows a one-time code for another device (`heard sharing invite`)."""

    invited = Signal(object)   # the Invitation, once shown

    def __init__(self, make: Callable[[], Any], ops: Ops, zone: Any,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Invite another device — Heard")
        self._make = make
        self._ops = ops
        self._zone = zone
        self.about = _plain(
            "A new device of yours (or your assistant's Heard on this mailbox) needs the key"
            " your devices sign their messages in the Heard folder with; until it has it, it"
            " ignores what they write there and they ignore it. Heard hands the key over"
            " with a one-time code, valid for an hour, that you type on the new device.")
        self.code = QLineEdit()
        self.code.setReadOnly(True)
        self.code.setAccessibleName("One-time code")
        self.code.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setWeight(QFont.Weight.Bold)
        self.code.setFont(font)
        self.code.setMinimumWidth(self.code.fontMetrics().horizontalAdvance("W" * 21))
        self.code.hide()
        self.message = _plain()
        self.buttons = QDialogButtonBox()
        self.show_button = QPushButton("&Show a code")
        self.show_button.setDefault(True)
        self.show_button.clicked.connect(self.make_code)
        self.buttons.addButton(self.show_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.cancel_button.clicked.connect(self.reject)
        self.close_button = QPushButton("&Done")
        self.close_button.clicked.connect(self.accept)
        self.buttons.addButton(self.close_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.close_button.hide()
        layout = QVBoxLayout(self)
        layout.addWidget(self.about)
        layout.addWidget(self.code)
        layout.addWidget(self.message)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        self.resize(520, self.sizeHint().height())

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802  (Qt's name)
        super().showEvent(event)
        grow(self)

    def make_code(self) -> None:
        """The user's yes: a code is made (a login per account, so off the GUI thread)."""
        self.show_button.setEnabled(False)
        self.message.setStyleSheet("")
        self.message.setText("Making a code…")
        self._ops.run(self._make, self.show_invitation, self._failed)

    def show_invitation(self, invitation: Any) -> None:
        expires = invitation.expires.astimezone(self._zone)
        self.code.setText(invitation.code)
        self.code.show()
        self.code.setFocus()
        self.code.selectAll()
        self.message.setText(invitation_words(list(invitation.accounts), f"{expires:%H:%M}"))
        self.show_button.hide()
        self.cancel_button.hide()
        self.close_button.show()
        self.close_button.setDefault(True)
        grow(self)
        self.invited.emit(invitation)

    def _failed(self, exc: Exception) -> None:
        self.message.setStyleSheet(RED)
        self.message.setText(f"No code: {in_words(str(exc))}")
        self.show_button.setEnabled(True)
        grow(self)


class JoinDialog(QDialog):
    """Takes a code shown on a device that has joined (`heard sharing join CODE`)."""

    joined = Signal(object)   # a Joined in which at least one account took the key

    def __init__(self, join: Callable[[str], Joined], ops: Ops,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Join your other devices — Heard")
        self._join = join
        self._ops = ops
        about = _plain(f"On a device of yours that has joined, open {WHERE_INVITE} and type"
                       " the code it shows here. This device then takes the key your"
                       " devices sign their messages in the Heard folder with.")
        label = QLabel("C&ode:")
        self.code = QLineEdit()
        self.code.setPlaceholderText("ABCD-EFGH-JKLM-NPQR")
        self.code.setAccessibleName("Code shown on your other device")
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setPointSizeF(font.pointSizeF() * 1.3)
        self.code.setFont(font)
        self.code.setMinimumWidth(self.code.fontMetrics().horizontalAdvance("W" * 21))
        label.setBuddy(self.code)
        self.message = _plain()
        self.buttons = QDialogButtonBox()
        self._idle = True        # no code being tried
        self._finished = False   # joined: the dialog only says so
        self.join_button = QPushButton("&Join")
        self.join_button.setDefault(True)
        self.join_button.setEnabled(False)
        self.join_button.clicked.connect(self.join)
        self.buttons.addButton(self.join_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.cancel_button.clicked.connect(self.reject)
        self.close_button = QPushButton("&Done")
        self.close_button.clicked.connect(self.accept)
        self.buttons.addButton(self.close_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.close_button.hide()
        self.code.textChanged.connect(
            lambda text: self.join_button.setEnabled(bool(text.strip()) and self._idle))
        self.code.returnPressed.connect(self.join)
        layout = QVBoxLayout(self)
        layout.addWidget(about)
        layout.addWidget(label)
        layout.addWidget(self.code)
        layout.addWidget(self.message)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        self.resize(520, self.sizeHint().height())

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802  (Qt's name)
        super().showEvent(event)
        grow(self)

    def busy(self) -> bool:
        """A code is being tried (the server asked)."""
        return not self._idle

    def _say(self, text: str, error: bool) -> None:
        self.message.setStyleSheet(RED if error else "")
        self.message.setText(text)
        grow(self)

    def join(self) -> None:
        code = self.code.text().strip()
        if not code or not self._idle or self._finished:
            return
        self._idle = False
        self.join_button.setEnabled(False)
        self.code.setReadOnly(True)
        self._say("Joining: asking your mail server for the invitation…", False)
        self._ops.run(lambda: self._join(code), self.show_result, self._failed)

    def _again(self) -> None:
        self._idle = True
        self.code.setReadOnly(False)
        self.join_button.setEnabled(bool(self.code.text().strip()))
        self.code.setFocus()
        self.code.selectAll()

    def show_result(self, result: Joined) -> None:
        if result.refused:
            self._say(f"That is not a code Heard shows: {result.refused}.", True)
            self._again()
            return
        if not any(result.invited_by.values()):
            self._say(NO_INVITATION if result.invited_by else
                      "No IMAP account: nothing is shared with other devices.", True)
            self._again()
            return
        lines = [f"{shown(account, 60)}: joined, invited by {shown(by, 40)!r}"
                 if by is not None else f"{shown(account, 60)}: no invitation opened"
                 for account, by in result.invited_by.items()]
        self._say("Joined. This device now signs what it writes in the Heard folder and"
                  " reads what your other devices write there.\n" + "\n".join(lines), False)
        self._idle, self._finished = True, True
        self.join_button.hide()
        self.cancel_button.hide()
        self.close_button.show()
        self.close_button.setDefault(True)
        self.close_button.setFocus()
        self.joined.emit(result)

    def _failed(self, exc: Exception) -> None:
        self._say(f"Could not join: {in_words(str(exc))}", True)
        self._again()
