"""Toasts: how they are shown (the notifier, chosen once the tray is up), what the engine's
plan says to show, and what holds them back (pause, snooze, a meeting).

The engine decides what to tell and remembers what was told (`Engine.plan_toasts`); this
turns its plan into notes, wakes up when a meeting or a snooze ends to sum up what waited,
and keeps the Snooze menu. What an action chosen on a toast does is `actions.py`'s.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QMenu, QSystemTrayIcon, QWidget

from heard.domain.ids import InquiryId
from heard.domain.toasts import Hold, Plan, Snooze, Toast, ToastKind, snooze_until
from heard.engine import Engine, Status
from heard.gui import notify
from heard.gui.notify import Note, Notifier
from heard.gui.ops import Ops
from heard.gui.undo import Undoable

log = logging.getLogger(__name__)

# The toasts' action buttons: (key, label), as org.freedesktop.Notifications lists them.
ACK_ACTIONS = (("ack", "Acknowledge"), ("open", "Open"))
PROSPECT_ACTIONS = (("client", "Client"), ("not-a-client", "Not a client"))
OPEN_ACTIONS = (("open", "Open"),)
DEFAULT_ACTION = (("default", "Open"),)
UNDO_ACTIONS = (("undo", "Undo"),)
SNOOZE_CHOICES = ((Snooze.QUARTER_HOUR, "15 minutes"), (Snooze.HOUR, "1 hour"),
                  (Snooze.MEETING, "Until the meeting ends"),
                  (Snooze.TOMORROW, "Until tomorrow"))
# A wake-up further away than a day is re-planned by the next tick anyway.
LONGEST_WAKE_S = 86_400.0


@dataclass(frozen=True)
class ToastRef:
    """What a toast is about, handed back with the action chosen on it."""

    inquiry_id: int | None = None             # the one inquiry its actions act on
    inquiries: tuple[int, ...] = ()           # all it names, most urgent first


@dataclass(frozen=True)
class UndoRef:
    """A toast saying what was just done, whose "Undo" takes back that one action."""

    entry: Undoable


class Toaster(QObject):
    """Shows toasts for one engine: one plan at a time, held back while paused or snoozed."""

    invoked = Signal(object, str)   # an action chosen on a toast: (its ref, the action key)
    changed = Signal()              # paused, snoozed or quiet changed: the tooltip says so
    status_wanted = Signal()        # a snooze was set, or a meeting or a snooze is over
    failed = Signal(str)            # work of its own that failed, in words

    def __init__(self, engine: Engine, ops: Ops, tray: QSystemTrayIcon, menu: QWidget,
                 paused: bool = False, notifier: Notifier | None = None,
                 parent: QObject | None = None) -> None:
        """`menu`: the tray menu the Snooze menu belongs to. `notifier`: how toasts are
        shown (default: the best the desktop offers, chosen by `choose_notifier`)."""
        super().__init__(parent)
        self.engine = engine
        self.ops = ops
        self.tray = tray
        self.paused = paused
        self.notifier: Notifier | None = None
        self._given_notifier = notifier
        self._choosing = False
        self._notes_waiting: list[Note] = []   # until the notifier is chosen
        # One plan at a time (the store remembers what was told): the status that came
        # while one ran is planned next.
        self._planning = False
        self._plan_next: Status | None = None
        self._status: Status | None = None
        self._snoozed_until: datetime | None = None
        self._held_by: Hold | None = None   # why toasts are held back now
        self.last_target: int | None = None   # the inquiry the last toast was about
        self._wake = QTimer(self)   # when a meeting or a snooze ends: the catch-up toast
        self._wake.setSingleShot(True)
        self._wake.timeout.connect(self.status_wanted)
        self.snooze_menu = QMenu("S&nooze notifications", menu)
        self.snooze_actions: dict[Snooze, QAction] = {}
        for choice, label in SNOOZE_CHOICES:
            action = self.snooze_menu.addAction(label)
            action.triggered.connect(lambda _checked=False, c=choice: self.snooze(c))
            self.snooze_actions[choice] = action
        self.snooze_menu.addSeparator()
        self.wake_action = self.snooze_menu.addAction("Wake up now")
        self.wake_action.triggered.connect(lambda: self.snooze(None))
        self._update_snooze_menu()

    @property
    def idle(self) -> bool:
        """No plan running, none waiting to run."""
        return not self._planning and self._plan_next is None

    # the notifier

    def choose_notifier(self) -> None:
        """The best way to show toasts here: D-Bus notifications (probed off the GUI
        thread), else plyer, else Qt's tray messages."""
        if self.notifier is not None or self._choosing:
            return
        self._choosing = True
        if self._given_notifier is not None:
            self._install(self._given_notifier)
            return

        def off_thread(work: Callable[[], None]) -> None:
            self.ops.run(work, None, lambda exc: log.warning("toast not shown: %s", exc))

        fallback = notify.fallback_for(self.tray, off_thread)
        if notify.first_choice(QApplication.platformName()) != "dbus":
            self._install(fallback)
            return

        def probed(probe: notify.DBusProbe | None) -> None:
            self._install(fallback if probe is None
                          else notify.DBusNotifier(probe, fallback, self))

        self.ops.run(notify.probe_dbus, probed, lambda exc: self._install(fallback))

    def _install(self, notifier: Notifier) -> None:
        self.notifier = notifier
        notifier.invoked.connect(self.invoked)
        log.info("toasts: %s", notifier.description)
        waiting, self._notes_waiting = self._notes_waiting, []
        for note in waiting:
            notifier.show(note)

    def notify(self, note: Note) -> None:
        """Show `note`, or keep it until the notifier is chosen."""
        if isinstance(note.ref, ToastRef):
            self.last_target = note.ref.inquiry_id   # a click on it opens the window there
        if self.notifier is None:
            self._notes_waiting.append(note)
        else:
            self.notifier.show(note)

    def withdraw_arrival(self, ref: object) -> None:
        """Acted on: the arrival toast `ref` makes way for the toast that says what happens."""
        if self.notifier is not None and self.notifier.showing("arrivals") == ref:
            self.notifier.withdraw("arrivals")

    def close(self) -> None:
        """Let go of the desktop (at exit)."""
        self._wake.stop()
        if self.notifier is not None:
            self.notifier.close()

    # what is told

    def alert(self, toasts: Sequence[tuple[str, str]]) -> None:
        """Deadlines near or passed, status reports due: they pop even in a meeting (only
        snoozing or pausing holds them back, and then the engine does not compute them)."""
        if self.paused:
            return
        for title, text in toasts:
            self.notify(Note(title, text, OPEN_ACTIONS + DEFAULT_ACTION, urgent=True,
                             ref=ToastRef(), category="im"))

    def problem(self, text: str) -> None:
        if not self.paused:
            self.notify(Note("Heard: problem", text, DEFAULT_ACTION, slot="problem",
                             ref=ToastRef(), category="im.error"))

    def tell(self, slot: str, title: str, text: str = "", undo: Undoable | None = None,
             timeout_ms: int = -1) -> None:
        """A toast following an action chosen on a toast (it replaces that action's last)."""
        if undo is not None:
            self.notify(Note(title, text, UNDO_ACTIONS + DEFAULT_ACTION, slot=slot,
                             ref=UndoRef(undo), timeout_ms=timeout_ms, category="im"))
        else:
            self.notify(Note(title, text, DEFAULT_ACTION, slot=slot, ref=ToastRef(),
                             timeout_ms=timeout_ms, category="im"))

    # the plan

    def show_status(self, status: Status) -> None:
        """A status reached the screen: the Snooze menu follows it, and its toasts are
        planned."""
        self._status = status
        self._update_snooze_menu()
        self._plan(status)

    def _plan(self, status: Status) -> None:
        """Off the GUI thread: what was told already (the store), the snooze, and the plan
        (quiet, aggregation), remembered before it is shown; one plan at a time."""
        if self._planning:
            self._plan_next = status
            return
        self._planning = True
        paused = self.paused
        shown = self.notifier.showing("arrivals") if self.notifier is not None else None
        on_screen = [InquiryId(i) for i in shown.inquiries] if isinstance(shown, ToastRef) \
            else []

        def failed(exc: Exception) -> None:
            self._planning = False
            log.warning("toasts not planned: %s", exc)

        self.ops.run(lambda: self.engine.plan_toasts(status, paused, on_screen), self._planned,
                     failed)

    def _planned(self, result: tuple[Plan, datetime | None]) -> None:
        plan, self._snoozed_until = result
        self._planning = False
        self._held_by = plan.hold
        self.changed.emit()
        self._update_snooze_menu()
        for toast in plan.toasts:
            self.notify(self._note(toast))
        self._wake.stop()
        if plan.wake_at is not None:
            left = (plan.wake_at - self.engine.clock.now()).total_seconds()
            self._wake.start(int(min(max(left, 0.0), LONGEST_WAKE_S) * 1000) + 500)
        if self._plan_next is not None:
            status, self._plan_next = self._plan_next, None
            self._plan(status)

    def _note(self, toast: Toast) -> Note:
        ref = ToastRef(toast.inquiry_id, tuple(toast.inquiries))
        if toast.kind is ToastKind.ARRIVAL:
            # A new person: deciding matters more than Open (a click opens it anyway), and
            # some servers show only the first three buttons.
            actions = (ACK_ACTIONS[:1] + PROSPECT_ACTIONS + ACK_ACTIONS[1:] if toast.prospect
                       else ACK_ACTIONS)
            return Note(toast.title, toast.text, actions + DEFAULT_ACTION, toast.urgent,
                        "arrivals", ref)
        if toast.kind is ToastKind.SUMMARY:
            return Note(toast.title, toast.text, OPEN_ACTIONS + DEFAULT_ACTION, toast.urgent,
                        "arrivals", ref)
        if toast.kind is ToastKind.CATCH_UP:
            return Note(toast.title, toast.text, OPEN_ACTIONS + DEFAULT_ACTION, slot="catch-up",
                        ref=ref)
        return Note(toast.title, toast.text, DEFAULT_ACTION, slot="offline", ref=ref,
                    category="network.disconnected")

    # pause and snooze

    def set_paused(self, paused: bool) -> None:
        self.paused = paused
        self.changed.emit()
        if self._status is not None:   # back on: what waited is summed up
            self._plan(self._status)

    def holding_all(self) -> bool:
        """Snoozed or paused: no toast pops, not even a VIP's."""
        until = self._snoozed_until
        return self.paused or (until is not None and self.engine.clock.now() < until)

    def quiet_line(self) -> str | None:
        """Why toasts are held back now, for the tooltip; None when they are not."""
        if self.paused:
            return "Notifications paused"
        if (snoozed := self._snoozed_text()) is not None:
            return snoozed
        if self._held_by is Hold.MEETING:
            return "Quiet in the meeting: only VIPs and deadlines pop"
        return None

    def snooze(self, choice: Snooze | None) -> None:
        """Hold toasts back until the chosen time (None: wake up now); the badge keeps
        counting, and what waited is summed up when the snooze is over."""
        now = self.engine.clock.now()
        busy = self._status.busy if self._status is not None else None
        until = (snooze_until(choice, now, busy=busy, hours=self.engine.settings.hours)
                 if choice is not None else None)
        if choice is not None and until is None:
            return   # "until the meeting ends" with no meeting on
        self._snoozed_until = until
        self.changed.emit()
        self._update_snooze_menu()
        self.ops.run(lambda: self.engine.reminders.snooze(until),
                     lambda _r: self.status_wanted.emit(),
                     lambda exc: self.failed.emit(f"could not snooze: {exc}"))

    def _update_snooze_menu(self) -> None:
        busy = self._status.busy if self._status is not None else None
        in_meeting = busy is not None and busy.now and busy.until is not None
        self.snooze_actions[Snooze.MEETING].setEnabled(in_meeting)
        self.wake_action.setEnabled(self._snoozed_text() is not None)

    def _snoozed_text(self) -> str | None:
        until = self._snoozed_until
        now = self.engine.clock.now()
        if until is None or until <= now:
            return None
        zone = self.engine.settings.zone   # settings may be reloaded while running
        local = until.astimezone(zone)
        same_day = local.date() == now.astimezone(zone).date()
        return f"Snoozed until {local:%H:%M}" if same_day else \
            f"Snoozed until {local:%a %H:%M}"
