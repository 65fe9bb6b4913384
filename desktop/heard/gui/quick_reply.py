"""The quick-reply window: every waiting client, most urgent first, and what to do about
each one from the keyboard.

Enter acknowledges with the template shown (its text can be changed first), Ctrl+G
delegates, Ctrl+Shift+A marks answered, Delete dismisses, Ctrl+S snoozes the client until a
time (they are listed apart, greyed, at the end), Ctrl+Z takes back the last action.
The window only asks: the app runs the engine off the GUI thread and feeds the
results back. The client's message is shown as plain text, never rendered, so nothing
remote is ever loaded.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QHideEvent, QKeyEvent, QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from heard.domain.naming import shown
from heard.domain.urgency import Urgency
from heard.domain.waiting import WaitingClient, WaitingItem
from heard.domain.wording import clock, day_and_time, in_words, stamp
from heard.engine import AckResult, AssignedView, Status
from heard.gui.owed_panel import OwedPanel

PROSPECT_ROLE = Qt.ItemDataRole.UserRole + 1
ASSIGNED_ROLE = Qt.ItemDataRole.UserRole + 2   # delegated to this user on another device
ONLY_ROLE = Qt.ItemDataRole.UserRole + 3   # one message inside a client's row: acts on it alone
SNOOZED_ROLE = Qt.ItemDataRole.UserRole + 4   # a client set aside until a time
SNOOZED_COLOUR = "#8a8a8a"
# The follow-up menu: what each choice says, and how heard.domain.followups reads it.
FOLLOW_UP_CHOICES = (("In &2 working days", "2 working days"),
                     ("In &5 working days", "5 working days"),
                     ("On &Thursday", "thursday"), ("On &Monday", "monday"))
# The snooze menu: what each choice says, and how heard.domain.snoozes.snooze_time reads it.
SNOOZE_CHOICES = (("For an &hour", "1h"), ("Until this &meeting ends", "meeting-end"),
                  ("Until &tomorrow morning", "tomorrow"))
URGENCY_LABEL = {Urgency.ON_TRACK: "on track", Urgency.DUE_SOON: "due soon",
                 Urgency.OVERDUE: "overdue"}
URGENCY_COLOUR = {Urgency.ON_TRACK: "#2e7d32", Urgency.DUE_SOON: "#b26a00",
                  Urgency.OVERDUE: "#c62828"}
COLUMNS = ("Client", "Channel", "Waiting", "Time left", "Acknowledge by", "Status", "Subject")
WAITING_COL, LEFT_COL, ACK_BY_COL, STATUS_COL, SUBJECT_COL = 2, 3, 4, 5, 6
TICK_MS = 1000
KEYS_HELP = ("Enter acknowledge · Ctrl+T template · Ctrl+E edit · Ctrl+Enter send the edit"
             " · Ctrl+G delegate · Ctrl+Shift+A answered · Del dismiss · Ctrl+S snooze"
             " · Ctrl+F follow up · Ctrl+Z undo · Ctrl+O open in mail"
             " · F5 refresh · Esc close")


def plain_tip(text: str) -> str:
    """A tooltip that shows `text` as written. Qt takes a tooltip whose first line starts
    with a tag for rich text, and text from mail (a name, a subject, a preview) could paint
    an image or a link over the screen: escaped into a paragraph of its own, with no
    control characters or bidi overrides, and no longer than a tooltip can show."""
    lines = html.escape(shown(text, 1000, lines=True), quote=False).split("\n")
    return f"<p>{'<br>'.join(lines)}</p>"


def waited(now: datetime, since: datetime) -> str:
    minutes = max(0, int((now - since).total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, mins = divmod(minutes, 60)
    return f"{hours} h {mins:02d}" if hours < 48 else f"{hours // 24} days"


def time_left(now: datetime, due: datetime) -> str:
    """The countdown to a deadline: "8:05" (minutes and seconds) within the hour, then
    hours, then days; "overdue 4 min" once it has passed."""
    seconds = int((due - now).total_seconds())
    if seconds >= 0:
        if seconds < 3600:
            return f"{seconds // 60}:{seconds % 60:02d}"
        hours, rest = divmod(seconds // 60, 60)
        return f"{hours} h {rest:02d}" if hours < 48 else f"{hours // 24} days"
    return f"overdue {waited(now, due)}"


@dataclass(frozen=True)
class AckRequest:
    """What the user asked to send. From the window: exactly the text on screen (subject,
    body and the promised time it names), so what leaves is what was shown; from a toast
    only the client (the engine renders the default, and the toast shows what it sent)."""

    inquiry_id: int
    template: str | None = None     # None: the default for the client's tier and channel
    subject: str | None = None      # None: the template's
    body: str | None = None
    reply_by: datetime | None = None  # the time the shown text promises
    only: bool = False              # this message alone, not everything the client wrote


@dataclass(frozen=True)
class _Rendered:
    key: tuple[int, bool]           # the inquiry, and whether it is that message alone
    template: str
    subject: str
    body: str
    call_back: str
    reply_by: datetime | None = None


class QuickReplyWindow(QWidget):
    """Emits requests; the app runs them off the GUI thread and feeds results back."""

    acknowledge_requested = Signal(object)  # AckRequest
    # inquiry id, template ("" = the default), 1 for that message alone (0: the client)
    preview_requested = Signal(int, str, int)
    refresh_requested = Signal()
    # inquiry id, decision ("client", "prospect", "not-a-client", "not-a-client-domain");
    # no bool in the signal: PySide6 6.11 over-releases Python's True/False passed there.
    decide_requested = Signal(int, str)
    undo_requested = Signal()
    # inquiry id, 1 for that message alone (0: everything of the client's that waits)
    delegate_requested = Signal(int, int)
    answered_requested = Signal(int, int)
    dismiss_requested = Signal(int, int)
    # inquiry id, until as heard.domain.snoozes.snooze_time reads it ("1h", "meeting-end",
    # "tomorrow", "15:00"), or "off" to count the client again
    snooze_requested = Signal(int, str)
    # inquiry id, when the client owes a reply (heard.domain.followups.follow_up_time)
    follow_up_requested = Signal(int, str)
    # the selected message's Message-ID and account, to open in the user's mail program
    open_mail_requested = Signal(str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Heard — waiting clients")
        self.resize(900, 600)
        # How long an acknowledgement waits for Undo before it is sent (0: at once).
        self.send_delay_ms = 0
        self._zone: Any = None
        self._now: datetime | None = None
        self._now_read = time.monotonic()
        self._entries: dict[int, WaitingItem] = {}
        self._groups: dict[int, WaitingClient] = {}   # by the id of the client's newest
        self._sending = False   # an acknowledgement waits for Undo: Ctrl+Z takes it back
        self._rerendering = False   # the reply shown is being rendered again (a status)
        self._assigned: dict[int, AssignedView] = {}
        self._shown_assigned = False
        self._shown_key: tuple[int, bool] | None = None
        self._choice: str | None = None       # a template the user picked for the shown one
        self._rendered: _Rendered | None = None
        self._repopulating = False
        self._delegate_blocked = "Add an assistant in Settings > Assistants to delegate"
        self._in_meeting = False

        self.summary = QLabel("Loading…")
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        # How this device stands among the user's others, when it matters (a server that
        # cannot coordinate them): a banner above the list.
        self.banner = QLabel("")
        self.banner.setTextFormat(Qt.TextFormat.PlainText)
        self.banner.setWordWrap(True)
        self.banner.setAccessibleName("Devices")
        self.banner.setStyleSheet("background: #fff3cd; color: #5c4400; padding: 4px")
        self.banner.hide()
        self.list = QTreeWidget()
        self.list.setHeaderLabels(list(COLUMNS))
        self.list.setRootIsDecorated(False)   # (on when a client wrote several messages)
        self.list.setUniformRowHeights(True)
        self.list.setAlternatingRowColors(True)
        self.list.setAccessibleName("Waiting clients")
        header = self.list.header()
        for column in range(SUBJECT_COL):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(SUBJECT_COL, QHeaderView.ResizeMode.Stretch)
        self.list.currentItemChanged.connect(self._selection_changed)
        self.list.itemActivated.connect(lambda *_: self.acknowledge_current())

        # The client's message: plain text only (HTML mail arrives here as its text).
        self.sender_label = QLabel("")
        self.sender_label.setTextFormat(Qt.TextFormat.PlainText)
        self.sender_label.setWordWrap(True)
        self.incoming = QPlainTextEdit()
        self.incoming.setReadOnly(True)
        self.incoming.setAccessibleName("Their message")
        self.incoming.setPlaceholderText("Select a client to see their message.")

        # The reply: a template, and its text to change before sending.
        self.template_combo = QComboBox()
        self.template_combo.setAccessibleName("Template")
        self.template_combo.setToolTip("Another template for this reply (Ctrl+T)")
        self.template_combo.currentIndexChanged.connect(self._template_chosen)
        template_label = QLabel("&Template:")
        template_label.setBuddy(self.template_combo)
        self.reply_to = QLabel("")
        self.reply_to.setTextFormat(Qt.TextFormat.PlainText)
        self.reply_subject = QLineEdit()
        self.reply_subject.setAccessibleName("Reply subject")
        self.reply_subject.textChanged.connect(self._update_edited)
        self.preview = QPlainTextEdit()   # the reply's text; "preview" until it is changed
        self.preview.setAccessibleName("Reply")
        self.preview.setPlaceholderText("Select a client to see the acknowledgement.")
        self.preview.textChanged.connect(self._update_edited)
        self.edited = QLabel("")
        self.edited.setTextFormat(Qt.TextFormat.PlainText)
        self.call_link = QLabel("")     # a caller with no address: their number, to call
        self.call_link.setTextFormat(Qt.TextFormat.RichText)  # only text made here, escaped
        self.call_link.setOpenExternalLinks(True)
        self.call_link.hide()

        self.ack_button = QPushButton("&Acknowledge")
        self.ack_button.setDefault(True)
        self.ack_button.setToolTip("Send the acknowledgement shown (Enter; Ctrl+Enter while"
                                   " editing it)")
        self.ack_button.clicked.connect(self.acknowledge_current)
        self.delegate_button = QPushButton("Dele&gate…")
        self.delegate_button.clicked.connect(self.delegate_current)
        self.answered_button = QPushButton("Ans&wered")
        self.answered_button.setToolTip("They have their answer another way, a call or a"
                                        " meeting (Ctrl+Shift+A)")
        self.answered_button.clicked.connect(self.answered_current)
        self.dismiss_button = QPushButton("D&ismiss")
        self.dismiss_button.setToolTip("No reply needed (Delete); Ctrl+Z brings it back")
        self.dismiss_button.clicked.connect(self.dismiss_current)
        # Set the client aside until a time, without a reply: out of the count meanwhile.
        self.snooze_button = QPushButton("Snoo&ze")
        self.snooze_button.setToolTip("Set this client aside until a time, without a reply;"
                                      " their deadline keeps running (Ctrl+S)")
        self.snooze_menu = QMenu(self.snooze_button)
        self.snooze_actions: dict[str, Any] = {}
        for label, said in SNOOZE_CHOICES:
            self.snooze_actions[said] = self.snooze_menu.addAction(label, self._snoozer(said))
        self.snooze_actions["time"] = self.snooze_menu.addAction("Until a time…",
                                                                 self._snooze_until_asked)
        self.snooze_menu.addSeparator()
        self.snooze_actions["off"] = self.snooze_menu.addAction(
            "&Wake now: count them again", lambda: self._snooze("off"))
        self.snooze_menu.aboutToShow.connect(self._update_snooze_menu)
        self.snooze_button.setMenu(self.snooze_menu)
        # Wait on the client's reply until a time: they show under Owe you a reply then.
        self.follow_button = QPushButton("&Follow up")
        self.follow_button.setToolTip("If this client has not written by then, list them"
                                      " under Owe you a reply (Ctrl+F)")
        self.follow_menu = QMenu(self.follow_button)
        for label, said in FOLLOW_UP_CHOICES:
            self.follow_menu.addAction(label, self._follower(said))
        self.follow_menu.addAction("On a &date…", self._follow_up_asked)
        self.follow_button.setMenu(self.follow_menu)
        # Clients whose follow-up came due: apart, never in the count.
        self.owed = OwedPanel()
        self.open_button = QPushButton("&Open in mail")
        self.open_button.setToolTip("Open the client's message in your mail program to write"
                                    " the real answer (Ctrl+O; [open] app in heard.toml)")
        self.open_button.clicked.connect(self.open_current)
        refresh = QPushButton("&Refresh")
        refresh.setToolTip("Read the list again (F5)")
        refresh.clicked.connect(self.refresh_requested)
        # A new person: the user says who they are, in one click (each can be undone).
        self.client_button = QPushButton("C&lient")
        self.client_button.setToolTip("Add this person to your clients (Ctrl+L)")
        self.client_button.clicked.connect(lambda: self._decide("client"))
        self.prospect_button = QPushButton("&Prospect")
        self.prospect_button.setToolTip("Keep them as a prospect (Ctrl+P)")
        self.prospect_button.clicked.connect(lambda: self._decide("prospect"))
        self.not_client_button = QPushButton("&Not a client")
        self.not_client_button.setToolTip(
            "Never count mail from this sender again (Ctrl+N); their whole domain: Ctrl+D")
        not_client_menu = QMenu(self.not_client_button)
        not_client_menu.addAction("This sender", lambda: self._decide("not-a-client"))
        not_client_menu.addAction("Their whole domain",
                                  lambda: self._decide("not-a-client", whole_domain=True))
        self.not_client_button.setMenu(not_client_menu)
        self.undo_button = QPushButton("&Undo")
        self.undo_button.setToolTip("Take back the last action (Ctrl+Z)")
        self.undo_button.setEnabled(False)
        self.undo_button.clicked.connect(self.undo_requested)
        self.message = QLabel("")
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setWordWrap(True)
        keys = QLabel(KEYS_HELP)
        keys.setTextFormat(Qt.TextFormat.PlainText)
        keys.setWordWrap(True)
        keys.setEnabled(False)   # greyed: a reminder, not something to read every time

        their = QWidget()
        their_layout = QVBoxLayout(their)
        their_layout.setContentsMargins(0, 0, 0, 0)
        their_layout.addWidget(self.sender_label)
        their_layout.addWidget(self.incoming, 1)
        reply = QWidget()
        reply_layout = QVBoxLayout(reply)
        reply_layout.setContentsMargins(0, 0, 0, 0)
        template_row = QHBoxLayout()
        template_row.addWidget(template_label)
        template_row.addWidget(self.template_combo, 1)
        template_row.addWidget(self.edited)
        reply_layout.addLayout(template_row)
        reply_layout.addWidget(self.reply_to)
        reply_layout.addWidget(self.reply_subject)
        reply_layout.addWidget(self.preview, 1)
        reply_layout.addWidget(self.call_link)
        details = QSplitter(Qt.Orientation.Horizontal)
        details.addWidget(their)
        details.addWidget(reply)
        details.setChildrenCollapsible(False)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.list)
        split.addWidget(details)
        split.addWidget(self.owed)
        split.setStretchFactor(2, 0)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        split.setChildrenCollapsible(False)

        actions = QHBoxLayout()
        actions.addWidget(self.ack_button)
        actions.addWidget(self.delegate_button)
        actions.addWidget(self.answered_button)
        actions.addWidget(self.dismiss_button)
        actions.addWidget(self.snooze_button)
        actions.addWidget(self.follow_button)
        actions.addWidget(self.open_button)
        actions.addStretch(1)
        actions.addWidget(self.client_button)
        actions.addWidget(self.prospect_button)
        actions.addWidget(self.not_client_button)
        bottom = QHBoxLayout()
        bottom.addWidget(self.message, 1)
        bottom.addWidget(self.undo_button)
        bottom.addWidget(refresh)
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addWidget(self.summary)
        layout.addWidget(split, 1)
        layout.addLayout(actions)
        layout.addLayout(bottom)
        layout.addWidget(keys)

        # Enter in the list (or on the template box) acknowledges; text fields keep their
        # own Enter, Delete and Ctrl+Z, so the edit is never taken for a command.
        for sequence in ("Return", "Enter"):
            QShortcut(QKeySequence(sequence), self.list, self.acknowledge_current)
        for sequence in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(sequence), self, self.acknowledge_current)
        dismiss = QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), self.list,
                            self.dismiss_current)
        dismiss.setContext(Qt.ShortcutContext.WidgetShortcut)
        QShortcut(QKeySequence("Ctrl+G"), self, self.delegate_current)
        QShortcut(QKeySequence("Ctrl+Shift+A"), self, self.answered_current)
        QShortcut(QKeySequence("Ctrl+S"), self, self.snooze_current)
        QShortcut(QKeySequence("Ctrl+F"), self, self.follow_up_current)
        QShortcut(QKeySequence("Ctrl+T"), self, self._focus_templates)
        QShortcut(QKeySequence("Ctrl+E"), self, self._focus_reply)
        QShortcut(QKeySequence("F5"), self, self.refresh_requested.emit)
        QShortcut(QKeySequence("Ctrl+L"), self, lambda: self._decide("client"))
        QShortcut(QKeySequence("Ctrl+P"), self, lambda: self._decide("prospect"))
        QShortcut(QKeySequence("Ctrl+N"), self, lambda: self._decide("not-a-client"))
        QShortcut(QKeySequence("Ctrl+D"), self,
                  lambda: self._decide("not-a-client", whole_domain=True))
        QShortcut(QKeySequence("Ctrl+Z"), self, self._undo)
        QShortcut(QKeySequence("Ctrl+O"), self, self.open_current)
        for field in (self.reply_subject, self.preview, self.incoming, self.template_combo):
            field.installEventFilter(self)
        QShortcut(QKeySequence("Escape"), self, self.hide)

        # The countdowns move every second: text only, no engine call.
        self._ticker = QTimer(self)
        self._ticker.setInterval(TICK_MS)
        self._ticker.timeout.connect(self.tick)
        self._show_details(None)
        self._update_buttons()

    # fed by the app

    def set_templates(self, names: list[str]) -> None:
        current = [self.template_combo.itemText(i) for i in range(self.template_combo.count())]
        if current == names:
            return
        self.template_combo.blockSignals(True)
        self.template_combo.clear()
        self.template_combo.addItems(names)
        self.template_combo.setCurrentIndex(-1)
        self.template_combo.blockSignals(False)
        if self._rendered is not None:
            self._show_template(self._rendered.template)

    def set_delegate_blocked(self, reason: str | None) -> None:
        """Why Delegate cannot be used (no assistant yet), or None when it can."""
        self._delegate_blocked = reason or ""
        self._update_buttons()

    def show_status(self, status: Status, zone: Any) -> None:
        self._zone = zone
        self._now = status.at
        self._now_read = time.monotonic()
        keep = self.current_key()
        expanded = {self._item_key(item) for item in self._top_items() if item.isExpanded()}
        self._repopulating = True
        try:
            self.list.clear()
            self._entries = {}
            self._groups = {}
            groups = status.clients
            # One row per client (the unit of work); a client who wrote several times has
            # each message inside their row, to read or to act on alone.
            self.list.setRootIsDecorated(any(len(g.items) > 1 for g in groups))
            for group in groups:
                row = self._client_row(group, status.at, zone)
                self._annotate(row, group.items, status)
                self.list.addTopLevelItem(row)
                for entry in group.items:
                    if entry.inquiry.id is not None:
                        self._entries[int(entry.inquiry.id)] = entry
                if group.ids:
                    self._groups[int(group.ids[0])] = group
                if len(group.items) > 1:
                    for entry in group.items:
                        child = self._row(entry, status.at, zone)
                        child.setText(0, day_and_time(entry.inquiry.received_at, status.at,
                                                      zone))
                        child.setData(0, ONLY_ROLE, 1)
                        child.setToolTip(0, "This message alone: Enter, Ctrl+G, Ctrl+Shift+A"
                                         " and Del act on it only")
                        self._annotate(child, (entry,), status)
                        row.addChild(child)
                    row.setExpanded(self._item_key(row) in expanded)
            # Set aside until a time: apart, greyed, at the end; still acted on as any row.
            for snoozed in status.snoozed:
                group = snoozed.waiting
                row = self._client_row(group, status.at, zone)
                until = day_and_time(snoozed.until, status.at, zone)
                row.setText(STATUS_COL, f"snoozed until {until}")
                row.setData(0, SNOOZED_ROLE, 1)
                grey = QColor(SNOOZED_COLOUR)
                for column in range(len(COLUMNS)):
                    row.setForeground(column, grey)
                row.setToolTip(STATUS_COL, plain_tip(
                    f"Set aside until {until}: not counted meanwhile, back at once if they"
                    " write again; their acknowledgement is still due"
                    f" {day_and_time(group.ack_due, status.at, zone)} (Ctrl+S: wake now)"))
                self.list.addTopLevelItem(row)
                for entry in group.items:
                    if entry.inquiry.id is not None:
                        self._entries[int(entry.inquiry.id)] = entry
                if group.ids:
                    self._groups[int(group.ids[0])] = group
            # The assistant's own Heard: what was handed to them, by due time.
            self._assigned = {int(v.assignment.inquiry_id): v for v in status.assigned
                              if v.to_me}
            for view in self._assigned.values():
                self.list.addTopLevelItem(self._assigned_row(view, status.at, zone))
            self.select(*keep) if keep else self.select(None)
        finally:
            self._repopulating = False
        people = "client is" if status.count == 1 else "clients are"
        busy = ""
        if status.busy is not None and status.busy.away:
            back = status.busy.next_free
            busy = " You are out of the office" + (
                f" until {day_and_time(back, status.at, zone)}." if back else ".")
        elif status.busy is not None and status.busy.now and status.busy.until:
            busy = f" You are busy until {clock(status.busy.until, zone)}."
        handed = ""
        if self._assigned:
            first = min(v.assignment.due for v in self._assigned.values())
            handed = (f" {len(self._assigned)} delegated to you (next due"
                      f" {day_and_time(first, status.at, zone)}).")
        self._in_meeting = bool(status.busy is not None and status.busy.now
                                and status.busy.until)
        if status.snoozed:
            soonest = day_and_time(status.snoozed[0].until, status.at, zone)
            handed += (f" {len(status.snoozed)} snoozed, not counted (the first back"
                       f" {soonest}).")
        self.banner.setText(status.sharing_notice)
        self.banner.setVisible(bool(status.sharing_notice))
        if status.owed:
            handed += f" {len(status.owed)} owe you a reply."
        if status.away is not None:   # the autopilot tells clients once (heard away)
            handed += (f" Away until {day_and_time(status.away.ends, status.at, zone)}:"
                       " clients who write are told once.")
        self.owed.show_owed(status.owed, status.at, zone)
        self.summary.setText((f"{status.count} {people} waiting.{busy}" if status.count
                              else f"Nobody is waiting. Well done.{busy}") + handed)
        self._selection_changed()

    @staticmethod
    def _annotate(row: QTreeWidgetItem, items: tuple[WaitingItem, ...], status: Status) -> None:
        """Another device on it, or the autopilot leaving it to the user: in the row."""
        ids = [i.inquiry.id for i in items if i.inquiry.id is not None]
        owner = next((o for i in ids if (o := status.owners.get(i)) and o != status.instance),
                     None)
        if owner:
            # Another of the user's devices (or the assistant) is on it right now.
            row.setText(STATUS_COL, f"{row.text(STATUS_COL)} · on {owner!r}")
            row.setToolTip(STATUS_COL, plain_tip(f"Being answered on {owner!r}: Heard will not"
                                                 " send a second reply from here"))
        late = next((i.escalated_from for i in items if i.escalated_from), None)
        if late:
            # Delegated, and the assistant let the due time pass: back with the user.
            row.setText(STATUS_COL, f"{late} has not answered: back to you")
            row.setForeground(STATUS_COL, QColor(URGENCY_COLOUR[Urgency.OVERDUE]))
            row.setToolTip(STATUS_COL, plain_tip(
                f"Delegated to {late}, who has not answered the client by the due time:"
                " answer them yourself, then mark it Answered (Ctrl+Shift+A)"))
        skipped = next((s for i in ids if (s := status.autopilot_skipped.get(i))), None)
        if skipped is not None:
            row.setText(STATUS_COL, f"{row.text(STATUS_COL)} · yours")
            row.setToolTip(STATUS_COL,
                           plain_tip(f"The autopilot left this to you: {skipped.reason}"))

    def _client_row(self, group: WaitingClient, now: datetime, zone: Any) -> QTreeWidgetItem:
        """The client's row: their newest message, the longest wait, the earliest
        deadline and the worst urgency of everything they wrote."""
        row = self._row(group.newest, now, zone)
        several = len(group.items)
        row.setText(WAITING_COL, waited(now, group.first.inquiry.received_at))
        row.setText(LEFT_COL, time_left(now, group.ack_due))
        row.setText(ACK_BY_COL, day_and_time(group.ack_due, now, zone))
        row.setText(STATUS_COL, URGENCY_LABEL[group.urgency])
        row.setForeground(STATUS_COL, QColor(URGENCY_COLOUR[group.urgency]))
        if group.ack_due <= now:
            row.setForeground(LEFT_COL, QColor(URGENCY_COLOUR[Urgency.OVERDUE]))
        if several > 1:
            row.setText(SUBJECT_COL, f"{group.newest.inquiry.subject}  (+{several - 1} more)")
            row.setToolTip(SUBJECT_COL, f"{several} messages: one acknowledgement answers"
                           " them all (→ shows each)")
        row.setToolTip(LEFT_COL, "Until the acknowledgement is due, "
                       f"{stamp(group.ack_due, zone)}")
        return row

    def _assigned_row(self, view: AssignedView, now: datetime, zone: Any) -> QTreeWidgetItem:
        a = view.assignment
        name = view.client.display_name if view.client else "?"
        item = QTreeWidgetItem([name, "", waited(now, a.made_at), time_left(now, a.due),
                                day_and_time(a.due, now, zone), "for you", view.subject])
        item.setData(0, Qt.ItemDataRole.UserRole, int(a.inquiry_id))
        item.setData(0, ASSIGNED_ROLE, 1)
        if a.overdue(now):
            item.setForeground(LEFT_COL, QColor(URGENCY_COLOUR[Urgency.OVERDUE]))
        item.setToolTip(0, plain_tip(f"Delegated to you by {a.by!r}"
                                     + (f": {a.note}" if a.note else "")
                                     + " · Ctrl+Shift+A when it is answered"))
        return item

    def _row(self, entry: WaitingItem, now: datetime, zone: Any) -> QTreeWidgetItem:
        inquiry = entry.inquiry
        name = entry.client.display_name
        if entry.client.prospect:
            name = f"{entry.client.name} (new)"
        item = QTreeWidgetItem([
            name, inquiry.channel.value,
            waited(now, inquiry.received_at), time_left(now, entry.ack_due),
            day_and_time(entry.ack_due, now, zone),
            URGENCY_LABEL[entry.urgency], inquiry.subject,
        ])
        item.setData(0, Qt.ItemDataRole.UserRole, inquiry.id)
        item.setData(0, PROSPECT_ROLE, 1 if entry.client.prospect else 0)
        item.setForeground(STATUS_COL, QColor(URGENCY_COLOUR[entry.urgency]))
        if entry.ack_due <= now:
            item.setForeground(LEFT_COL, QColor(URGENCY_COLOUR[Urgency.OVERDUE]))
        via = entry.client.preferences.get("via")
        item.setToolTip(0, plain_tip(
            f"{entry.client.name} <{inquiry.sender}> · tier {entry.client.tier}"
            + (f" · via {via}" if via else "")
            + (" · a new person: Client, Prospect or Not a client?"
               if entry.client.prospect else "")))
        item.setToolTip(LEFT_COL, "Until the acknowledgement is due, "
                        f"{stamp(entry.ack_due, zone)}")
        item.setToolTip(SUBJECT_COL, plain_tip(inquiry.preview or inquiry.subject))
        return item

    def show_preview(self, inquiry_id: int, result: AckResult, requested: str = "",
                     only: int = 0) -> None:
        """The reply `requested` ("" = the default template) rendered for `inquiry_id`
        (`only`: that message alone); dropped if the user has moved on to another client or
        template since, or has begun to change the text."""
        key = (inquiry_id, bool(only))
        if key != self.current_key() or requested != (self._choice or ""):
            return
        before = self._rendered
        if before is not None and before.key == key and self.is_edited():
            return   # their own text stands; it is what they will send
        self._rendered = _Rendered(key, result.template, result.subject, result.body,
                                   result.call_back, result.reply_by)
        # Rendered again for the same choice (not the user's pick of another template)?
        changed = self._rerendering and before is not None and before.key == key \
            and not result.call_back \
            and (before.subject, before.body) != (result.subject, result.body)
        self._rerendering = False
        self._show_template(result.template)
        self.reply_subject.blockSignals(True)
        self.reply_subject.setText(result.subject)
        self.reply_subject.blockSignals(False)
        self.preview.blockSignals(True)
        self.preview.setPlainText(result.body)
        self.preview.blockSignals(False)
        calling = bool(result.call_back)
        self.reply_subject.setReadOnly(calling)
        self.preview.setReadOnly(calling)
        self.reply_subject.setVisible(not calling)
        if calling:
            number = result.call_back.removeprefix("tel:")
            self.reply_to.setText("No address to write to: acknowledging promises a call"
                                  " back.")
            self.call_link.setText(f'Call <a href="{html.escape(result.call_back)}">'
                                   f"{html.escape(number)}</a>")
            self.call_link.setToolTip(plain_tip(result.body))
            self.call_link.show()
        else:
            self.reply_to.setText(f"To: {result.to}")
            self.call_link.hide()
        self._update_edited()
        if changed:
            # Said beside the reply, never silent: the text shown is what Enter sends now
            # (the message line below keeps what the user's last action said).
            self.edited.setText("brought up to date: your calendar or the time changed")

    def show_message(self, text: str) -> None:
        # Engine messages name commands for the command line; here they are said in words.
        self.message.setText(in_words(text))

    def set_busy(self, busy: bool) -> None:
        self.ack_button.setEnabled(not busy and self.current_id() is not None)
        self.ack_button.setText("Sending…" if busy else "&Acknowledge")

    # selection

    def current_id(self) -> int | None:
        item = self.list.currentItem()
        return None if item is None else int(item.data(0, Qt.ItemDataRole.UserRole))

    def current_only(self) -> bool:
        """Whether the selection is one message inside a client's row (acted on alone)."""
        item = self.list.currentItem()
        return bool(item is not None and item.data(0, ONLY_ROLE))

    def current_key(self) -> tuple[int, bool] | None:
        item = self.list.currentItem()
        return None if item is None else self._item_key(item)

    @staticmethod
    def _item_key(item: QTreeWidgetItem) -> tuple[int, bool]:
        return int(item.data(0, Qt.ItemDataRole.UserRole)), bool(item.data(0, ONLY_ROLE))

    def _top_items(self) -> list[QTreeWidgetItem]:
        items = [self.list.topLevelItem(r) for r in range(self.list.topLevelItemCount())]
        return [item for item in items if item is not None]

    def current_entry(self) -> WaitingItem | None:
        inquiry_id = self.current_id()
        return None if inquiry_id is None else self._entries.get(inquiry_id)

    def current_group(self) -> WaitingClient | None:
        """The client of the selected row, when it is a client's row (not one message)."""
        inquiry_id = self.current_id()
        if inquiry_id is None or self.current_only():
            return None
        return self._groups.get(inquiry_id)

    def select(self, inquiry_id: int | None, only: bool = False) -> None:
        """Select that inquiry's row (the client's row it is in, unless `only` and it is one
        of several), or the first (the most urgent) if it is not there."""
        present = self._top_items()
        if inquiry_id is not None:
            for item in present:
                children = [item.child(i) for i in range(item.childCount())]
                if only:
                    for child in children:
                        if child is not None and self._item_key(child) == (inquiry_id, True):
                            self.list.setCurrentItem(child)
                            return
                group = self._groups.get(self._item_key(item)[0])
                if self._item_key(item)[0] == inquiry_id or (
                        group is not None and inquiry_id in group.ids):
                    self.list.setCurrentItem(item)
                    return
        if present:
            self.list.setCurrentItem(present[0])

    def _selection_changed(self, *_: object) -> None:
        if self._repopulating:
            return
        key = self.current_key()
        inquiry_id = None if key is None else key[0]
        # (A row delegated to you is drawn anew each time: its due time or note may change.)
        if key == self._shown_key and inquiry_id not in self._assigned \
                and not self._shown_assigned:
            # The same client after a refresh: keep the reply and any edit of it; the text
            # not edited is rendered again, so it never lags behind the calendar or clock.
            self._show_sender(self.current_entry())
            self._update_buttons()
            if key is not None and inquiry_id in self._entries and not self.is_edited():
                self._rerendering = True
                self.preview_requested.emit(key[0], self._choice or "", int(key[1]))
            return
        self._show_details(key)
        self._update_buttons()
        if key is not None and key[0] in self._entries:
            self.preview_requested.emit(key[0], "", int(key[1]))

    def _show_details(self, key: tuple[int, bool] | None) -> None:
        inquiry_id = None if key is None else key[0]
        self._shown_key = key
        self._shown_assigned = inquiry_id in self._assigned
        self._choice = None
        self._rendered = None
        entry = None if inquiry_id is None else self._entries.get(inquiry_id)
        self._show_sender(entry)
        group = self.current_group()
        if group is not None and len(group.items) > 1:
            # Everything they wrote that waits, newest first: one reply answers it all.
            zone = self._zone
            self.incoming.setPlainText("\n\n".join(
                f"── {stamp(item.inquiry.received_at, zone)} ·"
                f" {item.inquiry.subject} ──\n{item.inquiry.preview or '(no text)'}"
                for item in group.items))
        else:
            self.incoming.setPlainText("" if entry is None else
                                       entry.inquiry.preview or "(no text)")
        self._show_template(None)
        for editor in (self.reply_subject, self.preview):
            editor.blockSignals(True)
            editor.clear()
            editor.blockSignals(False)
            editor.setReadOnly(entry is None)
        self.reply_subject.show()
        self.reply_to.setText("")
        self.call_link.hide()
        view = None if inquiry_id is None else self._assigned.get(inquiry_id)
        if view is not None:
            a = view.assignment
            due = f"{stamp(a.due, self._zone)}" if self._zone else ""
            self.sender_label.setText(
                f"{view.client.display_name if view.client else '?'} — delegated to you by"
                f" {a.by!r}, due {due}\n{view.subject}")
            self.incoming.setPlainText((f"Note: {a.note}\n\n" if a.note else "")
                                       + "Answer the client in your mail, then mark it"
                                       " Answered (Ctrl+Shift+A).")
            for editor in (self.reply_subject, self.preview):
                editor.setReadOnly(True)
        self._update_edited()

    def _show_sender(self, entry: WaitingItem | None) -> None:
        if entry is None:
            self.sender_label.setText("")
            return
        client, inquiry = entry.client, entry.inquiry
        received = (f"{stamp(inquiry.received_at, self._zone)}"
                    if self._zone is not None else "")
        group = self.current_group()
        several = f" · {len(group.items)} messages, one reply" \
            if group is not None and len(group.items) > 1 else ""
        # Names and subject come from mail: no bidi override or control character, cut short.
        self.sender_label.setText(
            shown(f"{client.display_name} — {client.name} <{inquiry.sender}> · "
                  f"{inquiry.channel.value} · tier {client.tier} · received {received}"
                  f"{several}", 300) + f"\n{shown(inquiry.subject, 300)}"
            # Anyone can write a client's address in a From: the user's own server said no.
            + ("\n⚠ It failed DKIM/DMARC at your mail server: it may not be from"
               f" {shown(client.display_name, 80)}." if inquiry.provenance.auth == "fail"
               else ""))

    def _show_template(self, name: str | None) -> None:
        self.template_combo.blockSignals(True)
        self.template_combo.setCurrentIndex(-1 if name is None
                                            else self.template_combo.findText(name))
        self.template_combo.blockSignals(False)

    def _template_chosen(self, index: int) -> None:
        inquiry_id = self.current_id()
        if index < 0 or inquiry_id is None or inquiry_id not in self._entries:
            return
        self._choice = self.template_combo.itemText(index)
        self._rerendering = False
        self.preview_requested.emit(inquiry_id, self._choice, int(self.current_only()))

    def is_edited(self) -> bool:
        rendered = self._rendered
        return (rendered is not None and not rendered.call_back
                and (self.reply_subject.text() != rendered.subject
                     or self.preview.toPlainText() != rendered.body))

    def _update_edited(self) -> None:
        self.edited.setText("edited: your text is sent" if self.is_edited() else "")

    def reply_ready(self) -> bool:
        """Whether the selected row's reply is on screen (Enter sends only what was shown)."""
        rendered = self._rendered
        return rendered is not None and rendered.key == self.current_key()

    def current_is_assigned(self) -> bool:
        item = self.list.currentItem()
        return bool(item is not None and item.data(0, ASSIGNED_ROLE))

    def _update_buttons(self) -> None:
        chosen = self.current_id() is not None
        # Delegated to you, or back from an assistant who did not answer: Answered only.
        waiting = chosen and not self.current_is_assigned() and not self.current_escalated()
        for button in (self.ack_button, self.dismiss_button, self.template_combo):
            button.setEnabled(waiting)
        self.snooze_button.setEnabled(waiting)
        self.follow_button.setEnabled(chosen)
        self.answered_button.setEnabled(chosen)
        entry = self.current_entry()
        self.open_button.setEnabled(bool(entry is not None and entry.inquiry.message_id))
        self.delegate_button.setEnabled(waiting and not self._delegate_blocked)
        self.delegate_button.setToolTip(
            self._delegate_blocked or "Hand this to an assistant with a note (Ctrl+G)")
        prospect = self.current_is_prospect()
        for button in (self.client_button, self.prospect_button, self.not_client_button):
            button.setEnabled(prospect)

    def open_current(self) -> None:
        """Ctrl+O: the selected message, opened where the user writes the real answer."""
        entry = self.current_entry()
        if entry is None or not entry.inquiry.message_id:
            self.message.setText("This contact has no message to open (a call, or a"
                                 " message without a Message-ID).")
            return
        self.open_mail_requested.emit(entry.inquiry.message_id, entry.inquiry.account)

    def current_escalated(self) -> str | None:
        """The assistant who let the selected client's delegation run out, or None."""
        entry = self.current_entry()
        return entry.escalated_from if entry is not None else None

    def current_is_snoozed(self) -> bool:
        """Whether the selection is in a snoozed client's row."""
        item = self.list.currentItem()
        top = item.parent() or item if item is not None else None
        return bool(top is not None and top.data(0, SNOOZED_ROLE))

    def _update_snooze_menu(self) -> None:
        self.snooze_actions["meeting-end"].setEnabled(self._in_meeting)
        self.snooze_actions["off"].setEnabled(self.current_is_snoozed())

    def current_is_prospect(self) -> bool:
        item = self.list.currentItem()
        return bool(item is not None and item.data(0, PROSPECT_ROLE))

    # the countdowns

    def now(self) -> datetime | None:
        """The engine's time of the last status, moved on by the time since it was read."""
        if self._now is None:
            return None
        return self._now + timedelta(seconds=time.monotonic() - self._now_read)

    def tick(self) -> None:
        now = self.now()
        if now is None:
            return
        for top in self._top_items():
            for item in (top, *(top.child(i) for i in range(top.childCount()))):
                if item is None:
                    continue
                inquiry_id, only = self._item_key(item)
                group = None if only else self._groups.get(inquiry_id)
                entry = self._entries.get(inquiry_id)
                if group is not None:   # the client's row: the longest wait, the first due
                    since, due = group.first.inquiry.received_at, group.ack_due
                elif entry is not None:
                    since, due = entry.inquiry.received_at, entry.ack_due
                else:
                    continue
                item.setText(WAITING_COL, waited(now, since))
                item.setText(LEFT_COL, time_left(now, due))
                if due <= now:
                    item.setForeground(LEFT_COL, QColor(URGENCY_COLOUR[Urgency.OVERDUE]))

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802  (Qt's name)
        super().showEvent(event)
        self.tick()
        self._ticker.start()

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802  (Qt's name)
        self._ticker.stop()
        super().hideEvent(event)

    # actions

    def _focus_templates(self) -> None:
        self.template_combo.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def _focus_reply(self) -> None:
        if not self.preview.isReadOnly():
            self.preview.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def _decide(self, decision: str, whole_domain: bool = False) -> None:
        inquiry_id = self.current_id()
        if inquiry_id is not None and self.current_is_prospect():
            self.decide_requested.emit(inquiry_id,
                                       decision + ("-domain" if whole_domain else ""))

    def _undo(self) -> None:
        if self.undo_button.isEnabled():
            self.undo_requested.emit()

    def set_undo(self, text: str | None, sending: bool = False) -> None:
        """Offer to undo the last action (`text` says what), or stop offering. `sending`:
        it is an acknowledgement waiting to go out, which Ctrl+Z takes back from anywhere
        in the window (the text fields' own undo included)."""
        self._sending = sending and text is not None
        self.undo_button.setEnabled(text is not None)
        self.undo_button.setToolTip(f"Undo: {text} (Ctrl+Z)" if text else
                                    "Take back the last action (Ctrl+Z)")

    def acknowledge_current(self) -> None:
        key = self.current_key()
        if key is not None and self.current_escalated():
            self._cannot("acknowledge")
            return
        if key is None or not self.ack_button.isEnabled():
            return
        inquiry_id, only = key
        rendered = self._rendered if self._rendered is not None \
            and self._rendered.key == key else None
        if rendered is None:
            # Nothing is on screen yet: nothing is sent that the user has not seen.
            self.show_message("The reply is still being written: press Enter again when it"
                              " shows.")
            return
        # Exactly the text on screen, and the time it promises (never rendered again).
        request = AckRequest(inquiry_id, rendered.template, self.reply_subject.text(),
                             self.preview.toPlainText(), rendered.reply_by, only)
        if rendered.call_back:
            request = AckRequest(inquiry_id, rendered.template, reply_by=rendered.reply_by,
                                 only=only)
        self.set_busy(True)
        self.acknowledge_requested.emit(request)
        # Back to the list: the next Enter acknowledges the next client, never types into
        # their reply, and Ctrl+Z takes this one back.
        self.list.setFocus(Qt.FocusReason.OtherFocusReason)

    def delegate_current(self) -> None:
        key = self.current_key()
        if key is not None and self.delegate_button.isEnabled():
            self.delegate_requested.emit(key[0], int(key[1]))
        else:
            self._cannot("delegate", self._delegate_blocked)

    def answered_current(self) -> None:
        key = self.current_key()
        if key is not None and self.answered_button.isEnabled():
            self.answered_requested.emit(key[0], int(key[1]))
        else:
            self._cannot("mark anything answered")

    def dismiss_current(self) -> None:
        key = self.current_key()
        if key is not None and self.dismiss_button.isEnabled():
            self.dismiss_requested.emit(key[0], int(key[1]))
        else:
            self._cannot("dismiss")

    def snooze_current(self) -> None:
        """Ctrl+S: the snooze menu under its button, for the selected client."""
        if self.current_id() is None or not self.snooze_button.isEnabled():
            self._cannot("snooze")
            return
        self._update_snooze_menu()
        self.snooze_menu.popup(self.snooze_button.mapToGlobal(
            self.snooze_button.rect().bottomLeft()))

    def follow_up_current(self) -> None:
        """Ctrl+F: the follow-up menu under its button, for the selected client."""
        if self.current_id() is None:
            self._cannot("follow up")
            return
        self.follow_menu.popup(self.follow_button.mapToGlobal(
            self.follow_button.rect().bottomLeft()))

    def _follower(self, said: str) -> Callable[[], None]:
        return lambda: self._follow_up(said)

    def _follow_up(self, said: str) -> None:
        inquiry_id = self.current_id()
        if inquiry_id is not None:
            self.follow_up_requested.emit(inquiry_id, said)

    def _follow_up_asked(self) -> None:
        from PySide6.QtWidgets import QInputDialog

        said, ok = QInputDialog.getText(self, "Follow up", "When do they owe you a reply?"
                                        " (friday, 2026-12-10, '5 working days')")
        if ok and said.strip():
            self._follow_up(said.strip())

    def _snoozer(self, said: str) -> Callable[[], None]:
        return lambda: self._snooze(said)

    def _snooze(self, said: str) -> None:
        inquiry_id = self.current_id()
        if inquiry_id is not None and self.snooze_button.isEnabled():
            self.snooze_requested.emit(inquiry_id, said)

    def _snooze_until_asked(self) -> None:
        """ "After my 3 pm call": a time of day (or "tomorrow 9:00"), typed."""
        from PySide6.QtWidgets import QInputDialog

        said, ok = QInputDialog.getText(self, "Snooze until",
                                        "Until when? (15:00, tomorrow 9:00, 90m)")
        if ok and said.strip():
            self._snooze(said.strip())

    def _cannot(self, what: str, blocked: str = "") -> None:
        """A shortcut whose action is not possible now says why, here, instead of nothing."""
        if self.current_id() is None:
            self.show_message(f"Nothing to {what}: choose a client in the list first.")
        elif self.current_is_assigned() and what != "mark anything answered":
            self.show_message(f"Cannot {what}: this was delegated to you; mark it answered"
                              " (Ctrl+Shift+A) when it is done.")
        elif (late := self.current_escalated()) and what != "mark anything answered":
            self.show_message(f"Cannot {what}: {late} has not answered this one; answer the"
                              " client in your mail, then mark it answered (Ctrl+Shift+A).")
        elif blocked:
            self.show_message(f"Cannot {what}: {blocked[0].lower()}{blocked[1:]}.")

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802  (Qt's name)
        """Ctrl+Z takes back an acknowledgement waiting to go out from anywhere in the
        window: the text fields would otherwise take it for their own undo."""
        if self._sending and event.type() in (QEvent.Type.ShortcutOverride,
                                              QEvent.Type.KeyPress) \
                and isinstance(event, QKeyEvent) and event.matches(QKeySequence.StandardKey.Undo):
            if event.type() is QEvent.Type.KeyPress:
                self._undo()
            event.accept()
            return True
        return super().eventFilter(watched, event)

    def open(self) -> None:
        self.show()
        self.raise_()
        self.activateWindow()
        self.list.setFocus()
