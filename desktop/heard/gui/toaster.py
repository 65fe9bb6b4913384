"""Toasts: how they are shown (the notifier, chosen once the tray is up), what the engine's
plan says to show, and what holds them back (pause, snooze, a meeting).

The engine decides what to tell and remembers what was told (`Engine.plan_toasts`); this
turns its plan into notes, wakes up when a meeting or a snooze ends to sum up what waited,
and keeps the Snooze menu. What an action chosen on a toast does is `actions.py`'s.

Toasts clean up after themselves: a deadline warning, the arrivals toast and the catch-up
toast follow the status, so a client acknowledged, delegated, answered or dismissed (here or
on another device) is no longer named on screen, and a toast about nobody left is taken
away; at exit every toast of Heard's goes (`close`). Only an actual breach of a VIP standard
stays until dismissed (critical urgency); every other toast expires, except the catch-up
after a meeting, which stays until seen.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QMenu, QSystemTrayIcon, QWidget

from heard.domain.clients import Channel
from heard.domain.ids import ClientId, InquiryId
from heard.domain.toasts import Hold, Plan, Snooze, Toast, ToastKind, catch_up, snooze_until
from heard.domain.warnings import Alert, AlertKind
from heard.domain.warnings import Toast as DeadlineToast
from heard.domain.warnings import group as group_deadlines
from heard.domain.wording import clock, day_and_time, in_words
from heard.engine import Engine, Status
from heard.gui import notify
from heard.gui.notify import Note, Notifier
from heard.gui.ops import Ops
from heard.gui.undo import Undoable

log = logging.getLogger(__name__)

# The toasts' action buttons: (key, label), as org.freedesktop.Notifications lists them.
# "default" is a click on the toast, and the servers that list actions list it too: it is
# the one "Open" (a second "open" action made dunst list Open twice).
ACK_ACTIONS = (("ack", "Acknowledge"),)
# The client's message opened where the real answer is written ([open] app).
MAIL_ACTIONS = (("mail", "Open in mail"),)
# One client set aside for an hour without acknowledging (issue 22: snooze one client).
SNOOZE_ACTIONS = (("snooze", "Snooze 1 hour"),)
PROSPECT_ACTIONS = (("client", "Client"), ("not-a-client", "Not a client"))
DEFAULT_ACTION = (("default", "Open"),)
UNDO_ACTIONS = (("undo", "Undo"),)
# How long a toast that is not a breach stays on screen (the badge and the window keep
# what it said).
EXPIRE_MS = 15_000
DEADLINE_SLOTS = ("deadlines:passed", "deadlines:coming")
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
    held: frozenset[Hold] = frozenset()       # a catch-up toast: what held them back


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
        # The clients set aside (snoozed one by one) in the last status: whose snooze ran
        # out is told once, when they are back in the badge.
        self._set_aside: dict[ClientId, datetime] = {}
        self.last_target: int | None = None   # the inquiry the last toast was about
        # Deadline warnings on screen, by key, and which of them each deadline slot shows.
        self._deadlines: dict[str, Alert] = {}
        self._deadline_slots: dict[str, tuple[str, ...]] = {}
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
        notifier.closed.connect(self._closed)
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
        """Let go of the desktop (at exit): every toast of Heard's still on screen goes with
        it (a warning about a client is no use once nobody watches for them)."""
        self._wake.stop()
        if self.notifier is not None:
            self.notifier.close()

    # what is told

    def alert(self, toasts: Sequence[tuple[str, str]],
              deadlines: Sequence[DeadlineToast] = ()) -> None:
        """Deadlines near or passed, status reports due: they pop even in a meeting (only
        snoozing or pausing holds them back, and then the engine does not compute them).
        Deadline warnings join those still on screen: at most one toast for the passed and
        one for the coming, each taken away once its clients stop waiting."""
        if self.paused:
            return
        for title, text in toasts:
            self.notify(Note(title, text, DEFAULT_ACTION, slot="reminders", ref=ToastRef(),
                             timeout_ms=EXPIRE_MS, category="im"))
        for toast in deadlines:
            for alert in toast.alerts:
                # A deadline now passed takes the place of its warning that it was coming.
                for key in [k for k, a in self._deadlines.items()
                            if (a.kind, a.inquiry_id) == (alert.kind, alert.inquiry_id)]:
                    del self._deadlines[key]
                self._deadlines[alert.key] = alert
        if deadlines:
            self._show_deadlines()

    def _show_deadlines(self) -> None:
        """Say the deadline warnings still live, each slot only when what it says changed."""
        now = self.engine.clock.now()
        urgent = frozenset(self.engine.settings.notifications.urgent_tiers)
        # What was coming when it was told may have passed since.
        alerts = [replace(a, overdue=a.overdue or a.due <= now) for a in self._deadlines.values()]
        toasts = group_deadlines(alerts, now, self.engine.settings.zone, urgent)
        by_slot = {DEADLINE_SLOTS[0] if t.overdue else DEADLINE_SLOTS[1]: t for t in toasts}
        for slot in DEADLINE_SLOTS:
            toast = by_slot.get(slot)
            keys = tuple(a.key for a in toast.alerts) if toast is not None else ()
            if keys == self._deadline_slots.get(slot, ()):
                continue
            if toast is None:
                self._deadline_slots.pop(slot, None)
                if self.notifier is not None:
                    self.notifier.withdraw(slot)
                continue
            self._deadline_slots[slot] = keys
            self.notify(self._deadline_note(toast, slot))

    def _deadline_note(self, toast: DeadlineToast, slot: str) -> Note:
        inquiries = tuple(dict.fromkeys(int(a.inquiry_id) for a in toast.alerts
                                        if a.inquiry_id is not None))
        waiting = self._status_ids()
        # One client's acknowledgement coming due: Acknowledge right there, as on arrival.
        one = (len({a.client_id for a in toast.alerts}) == 1
               and all(a.kind is AlertKind.ACK for a in toast.alerts)
               and bool(inquiries) and inquiries[0] in waiting)
        return Note(toast.title, toast.text, (ACK_ACTIONS if one else ()) + DEFAULT_ACTION,
                    urgent=toast.breach, slot=slot,
                    ref=ToastRef(inquiries[0] if one else None, inquiries),
                    timeout_ms=-1 if toast.breach else EXPIRE_MS, category="im")

    def _status_ids(self) -> set[int]:
        status = self._status
        return {int(i.inquiry.id) for i in status.waiting if i.inquiry.id is not None} \
            if status is not None else set()

    def _closed(self, slot: str) -> None:
        """A toast left the screen (expired, dismissed, or taken away)."""
        keys = self._deadline_slots.pop(slot, ())
        for key in keys:
            self._deadlines.pop(key, None)

    def _follow(self, status: Status) -> None:
        """The deadline and catch-up toasts on screen follow the status: whoever no longer
        waits leaves them, and a toast about nobody goes."""
        waiting = self._status_ids()
        promised = {int(p.promise.inquiry_id) for p in status.promises}

        def live(alert: Alert) -> bool:
            if alert.inquiry_id is None:
                return True
            if int(alert.inquiry_id) in waiting:
                return True
            # An answer or a promise is still owed while the promise is open.
            return alert.kind is not AlertKind.ACK and int(alert.inquiry_id) in promised

        gone = [key for key, alert in self._deadlines.items() if not live(alert)]
        for key in gone:
            del self._deadlines[key]
        if gone:
            self._show_deadlines()
        notifier = self.notifier
        shown = notifier.showing("catch-up") if notifier is not None else None
        if isinstance(shown, ToastRef) and notifier is not None:
            still = [i for i in status.waiting if i.inquiry.id is not None
                     and int(i.inquiry.id) in shown.inquiries]
            if not still:
                notifier.withdraw("catch-up")
            elif len(still) < len(shown.inquiries):
                self.notify(self._note(catch_up(still, shown.held or {Hold.MEETING})))

    def problem(self, text: str) -> None:
        if not self.paused:
            self.notify(Note("Heard: problem", in_words(text), DEFAULT_ACTION, slot="problem",
                             ref=ToastRef(), timeout_ms=EXPIRE_MS, category="im.error"))

    def tell(self, slot: str, title: str, text: str = "", undo: Undoable | None = None,
             timeout_ms: int = EXPIRE_MS) -> None:
        """A toast following an action chosen on a toast (it replaces that action's last)."""
        text = in_words(text)
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
        self._follow(status)
        self._tell_back(status)
        self._plan(status)

    def _tell_back(self, status: Status) -> None:
        """A client whose snooze ran out is counted again: one toast says so, with
        Acknowledge (one woken early by a new message has that message's own toast)."""
        before = self._set_aside
        self._set_aside = {s.waiting.client.id: s.until for s in status.snoozed
                           if s.waiting.client.id is not None}
        if self.holding_all():
            return   # the badge says it; the catch-up toast names who waits after a pause
        now = self.engine.clock.now()
        zone = self.engine.settings.zone
        for client in status.clients:
            client_id = client.client.id
            until = before.get(client_id) if client_id is not None else None
            if until is None or until > now or client_id in self._set_aside:
                continue
            ids = tuple(int(i.inquiry.id) for i in client.items if i.inquiry.id is not None)
            self.notify(Note(f"{client.client.display_name} is back",
                             f"Snoozed until {clock(until, zone)}; the acknowledgement is due"
                             f" {day_and_time(client.ack_due, now, zone)}.",
                             ACK_ACTIONS + DEFAULT_ACTION, slot=f"back:{client_id}",
                             ref=ToastRef(ids[0] if ids else None, ids),
                             timeout_ms=EXPIRE_MS, category="im"))

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
        if plan.arrivals_gone and self.notifier is not None:
            self.notifier.withdraw("arrivals")
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
        """Arrivals are never critical (a VIP writing is not yet a breach: the deadline
        warning says when it is); they expire, the catch-up stays until seen."""
        ref = ToastRef(toast.inquiry_id, tuple(toast.inquiries), toast.reasons)
        # Mail is email.arrived; a call has no category of its own in the specification.
        category = "email.arrived" if toast.channel is Channel.EMAIL else "im.received"
        if toast.kind is ToastKind.ARRIVAL:
            # A new person: deciding matters more than Open (a click opens it anyway), and
            # some servers show only the first three buttons.
            actions = ACK_ACTIONS + (PROSPECT_ACTIONS if toast.prospect else
                                     MAIL_ACTIONS if toast.channel is Channel.EMAIL else ())
            if not toast.prospect and toast.inquiry_id is not None:
                actions += SNOOZE_ACTIONS
            return Note(toast.title, toast.text, actions + DEFAULT_ACTION, slot="arrivals",
                        ref=ref, timeout_ms=EXPIRE_MS, category=category)
        if toast.kind is ToastKind.SUMMARY:
            return Note(toast.title, toast.text, DEFAULT_ACTION, slot="arrivals", ref=ref,
                        timeout_ms=EXPIRE_MS, category=category)
        if toast.kind is ToastKind.CATCH_UP:
            return Note(toast.title, toast.text, DEFAULT_ACTION, slot="catch-up", ref=ref,
                        timeout_ms=0 if toast.resident else EXPIRE_MS, category=category,
                        resident=toast.resident)
        return Note(toast.title, toast.text, DEFAULT_ACTION, slot="offline", ref=ref,
                    timeout_ms=EXPIRE_MS, category="network.disconnected")

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
        return f"Snoozed until {clock(until, zone)}" if same_day else \
            f"Snoozed until {day_and_time(until, now, zone)}"
