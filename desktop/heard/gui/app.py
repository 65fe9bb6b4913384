"""The tray app: badge, tooltip, menu, toasts and the quick-reply window around one engine."""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer, Signal
from PySide6.QtGui import QAction, QIcon
from PySide6.QtNetwork import QLocalServer, QLocalSocket
from PySide6.QtWidgets import QApplication, QMenu, QMessageBox, QSystemTrayIcon, QWidget

from heard.domain.ids import InquiryId
from heard.domain.templates import format_time
from heard.domain.toasts import Hold, Plan, Snooze, Toast, ToastKind, snooze_until
from heard.engine import Decision, Delivery, Engine, EngineEvent, EventKind, Status
from heard.gui import badge, notify
from heard.gui.notify import Note, Notifier
from heard.gui.ops import Ops

if TYPE_CHECKING:
    from heard.engine.results import AckResult, DelegateResult
    from heard.gui.mini_window import MiniWindow
    from heard.gui.quick_reply import AckRequest, QuickReplyWindow
    from heard.gui.stats_window import StatsWindow

log = logging.getLogger(__name__)

# The badge colour moves from "on track" to "due soon" to "overdue" as time passes,
# with no new mail: re-read the status this often.
REFRESH_MS = 30_000
TOOLTIP_NAMES = 3
# An acknowledgement from the window waits this long for Undo before it is sent.
UNDO_DEPTH = 20
NO_ASSISTANT = ("Add an assistant in the settings to delegate (heard.toml: [assistant]"
                " name and address)")


@dataclass(frozen=True)
class _ToastRef:
    """What a toast is about, handed back with the action chosen on it."""

    inquiry_id: int | None = None             # the one inquiry its actions act on
    inquiries: tuple[int, ...] = ()           # all it names, most urgent first


@dataclass(frozen=True)
class _UndoRef:
    """A toast saying what was just done, whose "Undo" takes back that one action."""

    entry: _Undoable


# The toasts' action buttons: (key, label), as org.freedesktop.Notifications lists them.
ACK_ACTIONS = (("ack", "Acknowledge"), ("open", "Open"))
PROSPECT_ACTIONS = (("client", "Client"), ("not-a-client", "Not a client"))
OPEN_ACTIONS = (("open", "Open"),)
DEFAULT_ACTION = (("default", "Open"),)
UNDO_ACTIONS = (("undo", "Undo"),)
SNOOZE_CHOICES = ((Snooze.QUARTER_HOUR, "15 minutes"), (Snooze.HOUR, "1 hour"),
                  (Snooze.MEETING, "Until the meeting ends"),
                  (Snooze.TOMORROW, "Until tomorrow"))


@dataclass
class _Undoable:
    """One action Ctrl+Z can take back: `label` says what, `take_back` does it."""

    label: str
    take_back: Callable[[], None]
    timer: QTimer | None = None    # an acknowledgement held back, sent when this fires
    send_now: Callable[[], None] | None = None   # ... or sent at once by this


class _Bridge(QObject):
    """Engine events arrive on worker threads; this turns them into queued Qt signals."""

    engine_event = Signal(object)


def tooltip_text(status: Status, zone: Any, prospects_apart: bool = False) -> str:
    if not status.waiting:
        lines = ["Heard: nobody is waiting"]
    else:
        new = len({i.inquiry.client_id for i in status.waiting if i.client.prospect})
        clients = status.count - new if prospects_apart else status.count
        people = "client" if clients == 1 else "clients"
        lines = [f"Heard: {clients} {people} waiting"]
        if prospects_apart and new:
            lines[0] += f", {new} new {'person' if new == 1 else 'people'}"
        seen: set[int] = set()
        # Longest waiting first: the tooltip answers "who has waited the longest?"
        for item in sorted(status.waiting, key=lambda i: i.inquiry.received_at):
            if item.inquiry.client_id in seen:
                continue
            seen.add(item.inquiry.client_id)
            minutes = int((status.at - item.inquiry.received_at).total_seconds() // 60)
            lines.append(f"{item.client.display_name}: {minutes} min")
            if len(seen) == TOOLTIP_NAMES:
                break
    handed = [v.assignment.due for v in status.assigned if v.to_me]
    if handed:
        lines.append(f"Delegated to you: {len(handed)}, next due"
                     f" {min(handed).astimezone(zone):%a %H:%M}")
    if status.busy is not None and status.busy.now and status.busy.until:
        lines.append(f"Busy until {status.busy.until.astimezone(zone):%H:%M}")
    if status.sharing_notice:
        lines.append(status.sharing_notice)
    if status.calendar_stale:
        lines.append("Calendar: last known state (the server cannot be reached)")
    for account in status.offline:
        since = f" since {account.since.astimezone(zone):%H:%M}" if account.since else ""
        lines.append(f"Offline: {account.name}{since} (the count may miss its mail)")
    return "\n".join(lines)


class HeardApp(QObject):
    status_applied = Signal(object)   # for tests and benchmarks: a Status reached the screen
    acknowledged = Signal(object)     # AckResult

    def __init__(self, engine: Engine, tray_available: bool | None = None,
                 send_delay_ms: int = 0, notifier: Notifier | None = None) -> None:
        """`send_delay_ms`: how long an acknowledgement from the window can be taken back
        before it is sent (run_tray takes [replies] undo_seconds; 0 sends at once).
        `notifier`: how toasts are shown (default: the best the desktop offers, chosen at
        start)."""
        super().__init__()
        self.engine = engine
        self.send_delay_ms = send_delay_ms
        self.ops = Ops(self)
        self.ops.error.connect(self._show_error)
        self.paused = engine.settings.notifications.paused
        self.status: Status | None = None
        self._refreshing = False
        self._refresh_again = False
        # Toasts: how they are shown (chosen at start unless given), what waits for that
        # choice, and one plan at a time (the store remembers what was told).
        self.notifier: Notifier | None = None
        self._given_notifier = notifier
        self._choosing = False
        self._notes_waiting: list[Note] = []
        self._planning = False
        self._plan_next: Status | None = None
        self._snoozed_until: datetime | None = None
        self._held_by: Hold | None = None   # why toasts are held back now
        self._toast_acks: dict[str, str] = {}   # Message-ID -> name, acknowledged from a toast
        self._wake = QTimer(self)   # when a meeting or a snooze ends: the catch-up toast
        self._wake.setSingleShot(True)
        self._wake.timeout.connect(self.refresh)
        self._call_dialog: QWidget | None = None
        self._caught_up = True   # until start(): nothing to catch up on
        self._undo_stack: list[_Undoable] = []
        self._delegate_dialog: QWidget | None = None
        self._toast_target: int | None = None   # the inquiry the last toast was about
        self._stats_window: StatsWindow | None = None
        self._settings_window: QWidget | None = None
        self._progress = ""

        self._window: QuickReplyWindow | None = None
        self.mini: MiniWindow | None = None   # only where the desktop has no tray

        self.tray = QSystemTrayIcon(badge.icon(0, None), self)
        self.tray.setToolTip("Heard")
        self.tray.activated.connect(self._activated)
        self.menu = QMenu()
        open_action = QAction("&Open quick reply", self.menu)
        open_action.triggered.connect(lambda: self.open_window())
        settings_action = QAction("S&ettings…", self.menu)
        settings_action.triggered.connect(self.open_settings)
        stats_action = QAction("&Statistics…", self.menu)
        stats_action.triggered.connect(self.open_stats)
        call_action = QAction("&Log a call…", self.menu)
        call_action.triggered.connect(self.log_call)
        self.pause_action = QAction("&Pause notifications", self.menu, checkable=True)
        self.pause_action.setChecked(self.paused)
        self.pause_action.toggled.connect(self._set_paused)
        quit_action = QAction("&Quit Heard", self.menu)
        quit_action.triggered.connect(self.quit)
        self.menu.addAction(open_action)
        self.menu.addAction(call_action)
        self.menu.addAction(stats_action)
        self.menu.addAction(settings_action)
        self.menu.addAction(self.pause_action)
        self.snooze_menu = self._make_snooze_menu()
        self.menu.addMenu(self.snooze_menu)
        self.menu.addSeparator()
        self.menu.addAction(quit_action)
        self.tray.setContextMenu(self.menu)
        self.tray_available = (QSystemTrayIcon.isSystemTrayAvailable()
                               if tray_available is None else tray_available)

        self._bridge = _Bridge()
        self._bridge.engine_event.connect(self._on_engine_event)
        engine.subscribe(self._bridge.engine_event.emit)

        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self.tray.show()
        if not self.tray_available:
            from heard.gui.mini_window import MiniWindow, no_tray_hint

            log.warning("no system tray on this desktop: showing a small window instead")
            self.mini = MiniWindow(self.menu)
            self.mini.open_requested.connect(lambda: self.open_window())
            self.mini.show()
            self.window.show_message(no_tray_hint())
        self._timer.start()
        # The stored count first; then, once it is on screen, watching and the catch-up
        # sync (their imports and first reads would otherwise compete for the GIL with
        # the tray's start-up).
        self._caught_up = False
        self.refresh()

    def _catch_up(self) -> None:
        self._caught_up = True
        self._choose_notifier()   # toasts planned before that wait for it
        self.engine.start_watching()
        # Catch up on what arrived while Heard was not running, off the GUI thread.
        self.ops.run(self.engine.sync, lambda _r: self.refresh())

    @property
    def zone(self) -> Any:
        return self.engine.settings.zone  # settings may be reloaded while running

    @property
    def window(self) -> QuickReplyWindow:
        """Made on first use: most of the day Heard is only an icon."""
        if self._window is None:
            from heard.gui.quick_reply import QuickReplyWindow  # the window comes on first use

            window = QuickReplyWindow()
            window.send_delay_ms = self.send_delay_ms
            window.set_templates(sorted(self.engine.templates))
            window.set_delegate_blocked(None if self.engine.settings.assistants
                                        else NO_ASSISTANT)
            window.acknowledge_requested.connect(self.acknowledge)
            window.preview_requested.connect(self.preview)
            window.refresh_requested.connect(self.refresh)
            window.decide_requested.connect(self.decide)
            window.undo_requested.connect(self.undo)
            window.delegate_requested.connect(self.delegate)
            window.answered_requested.connect(self.mark_answered)
            window.dismiss_requested.connect(self.dismiss)
            if self.status is not None:
                window.show_status(self.status, self.zone)
            self._window = window
        return self._window

    def open_window(self, inquiry_id: int | None = None) -> None:
        """Show the window (from the tray, a toast, or `heard` run again), on `inquiry_id`
        when given."""
        window = self.window
        window.open()
        if inquiry_id is not None:
            window.select(inquiry_id)

    # status

    def refresh(self) -> None:
        if self._refreshing:
            self._refresh_again = True
            return
        self._refreshing = True
        self.ops.run(self.engine.status, self._apply, self._refresh_failed)

    def _tick(self) -> None:
        """Time passes: urgencies change, and the engine does what is due (see
        Engine.tick); snoozed or paused, deadline warnings wait until it is over."""
        hold = self._holding_all()
        self.ops.run(lambda: self.engine.tick(hold_alerts=hold), lambda _ticked: self.refresh())

    def _refresh_failed(self, exc: Exception) -> None:
        self._refreshing = False
        self._choose_notifier()   # the problem must be shown even before a first status
        self._show_error(f"could not read the status: {exc}")

    def _apply(self, status: Status) -> None:
        self._refreshing = False
        self.status = status
        self._progress = ""
        self.tray.setIcon(badge.icon(status.count, status.urgency,
                                     offline=bool(status.offline) or status.calendar_stale))
        self._update_tooltip()
        self._update_snooze_menu()
        if self._window is not None:
            self._window.set_templates(sorted(self.engine.templates))
            self._window.set_delegate_blocked(None if self.engine.settings.assistants
                                              else NO_ASSISTANT)
            self._window.show_status(status, self.zone)
        self._plan_toasts(status)
        self.status_applied.emit(status)
        if not self._caught_up:
            QTimer.singleShot(0, self._catch_up)
        if self._refresh_again:
            self._refresh_again = False
            self.refresh()

    def _on_engine_event(self, event: EngineEvent) -> None:
        if event.kind is EventKind.ERROR:
            self._show_error(event.message)
            return
        if event.kind is EventKind.ALERTS:  # deadlines near or passed, status reports due
            # Deadlines about to be missed pop even in a meeting (only snoozing or pausing
            # holds them back, and then they are not computed until it is over).
            if not self.paused:
                self._toast_target = None   # clicking it opens the window on the most urgent
                for title, text in event.toasts:
                    self._notify(Note(title, text, OPEN_ACTIONS + DEFAULT_ACTION, urgent=True,
                                      ref=_ToastRef(), category="im"))
            return
        if event.kind is EventKind.PROGRESS:  # a first sync of a big mailbox: how far it is
            self._progress = event.message
            self._update_tooltip()
            return
        self.refresh()

    # toasts

    def _choose_notifier(self) -> None:
        """The best way to show toasts here: D-Bus notifications (probed off the GUI
        thread), else plyer, else Qt's tray messages."""
        if self.notifier is not None or self._choosing:
            return
        self._choosing = True
        if self._given_notifier is not None:
            self._install_notifier(self._given_notifier)
            return

        def off_thread(work: Callable[[], None]) -> None:
            self.ops.run(work, None, lambda exc: log.warning("toast not shown: %s", exc))

        fallback = notify.fallback_for(self.tray, off_thread)
        if notify.first_choice(QApplication.platformName()) != "dbus":
            self._install_notifier(fallback)
            return

        def probed(probe: notify.DBusProbe | None) -> None:
            self._install_notifier(fallback if probe is None
                                   else notify.DBusNotifier(probe, fallback, self))

        self.ops.run(notify.probe_dbus, probed, lambda exc: self._install_notifier(fallback))

    def _install_notifier(self, notifier: Notifier) -> None:
        self.notifier = notifier
        notifier.invoked.connect(self._toast_action)
        log.info("toasts: %s", notifier.description)
        waiting, self._notes_waiting = self._notes_waiting, []
        for note in waiting:
            notifier.show(note)

    def _notify(self, note: Note) -> None:
        if isinstance(note.ref, _ToastRef):
            self._toast_target = note.ref.inquiry_id   # a click on it opens the window there
        if self.notifier is None:
            self._notes_waiting.append(note)
        else:
            self.notifier.show(note)

    def _holding_all(self) -> bool:
        """Snoozed or paused: no toast pops, not even a VIP's."""
        until = self._snoozed_until
        return self.paused or (until is not None and self.engine.clock.now() < until)

    def _plan_toasts(self, status: Status) -> None:
        """Off the GUI thread: what was told already (the store), the snooze, and the plan
        (quiet, aggregation), remembered before it is shown; one plan at a time."""
        if self._planning:
            self._plan_next = status
            return
        self._planning = True
        paused = self.paused
        shown = self.notifier.showing("arrivals") if self.notifier is not None else None
        on_screen = [InquiryId(i) for i in shown.inquiries] if isinstance(shown, _ToastRef) \
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
        self._update_tooltip()
        self._update_snooze_menu()
        for toast in plan.toasts:
            self._notify(self._note(toast))
        self._wake.stop()
        if plan.wake_at is not None:
            left = (plan.wake_at - self.engine.clock.now()).total_seconds()
            self._wake.start(int(min(max(left, 0.0), 86_400.0) * 1000) + 500)
        if self._plan_next is not None:
            status, self._plan_next = self._plan_next, None
            self._plan_toasts(status)

    def _note(self, toast: Toast) -> Note:
        ref = _ToastRef(toast.inquiry_id, tuple(toast.inquiries))
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

    def _toast_action(self, ref: object, key: str) -> None:
        """An action chosen on a toast: the same as in the window, with the same safety
        (an acknowledgement waits for Undo before it goes out)."""
        if isinstance(ref, _UndoRef):
            if key == "undo" and ref.entry in self._undo_stack:
                ref.entry.take_back()
            elif key == "default":
                self.open_window()
            return
        target = ref if isinstance(ref, _ToastRef) else _ToastRef()
        inquiry_id = target.inquiry_id
        if key in ("ack", "client", "not-a-client") and self.notifier is not None \
                and self.notifier.showing("arrivals") == ref:
            self.notifier.withdraw("arrivals")   # acted on: the toast that says what happens
        if key == "ack" and inquiry_id is not None:
            from heard.gui.quick_reply import AckRequest

            self.acknowledge(AckRequest(inquiry_id), from_toast=True)
        elif key in ("client", "not-a-client") and inquiry_id is not None:
            self.decide(inquiry_id, key, from_toast=True)
        elif key in ("open", "default"):
            first = inquiry_id if inquiry_id is not None else next(iter(target.inquiries),
                                                                   None)
            self.open_window(first)

    def _tell(self, slot: str, title: str, text: str = "", undo: _Undoable | None = None,
              timeout_ms: int = -1) -> None:
        """A toast following an action chosen on a toast (it replaces that action's last)."""
        if undo is not None:
            self._notify(Note(title, text, UNDO_ACTIONS + DEFAULT_ACTION, slot=slot,
                              ref=_UndoRef(undo), timeout_ms=timeout_ms, category="im"))
        else:
            self._notify(Note(title, text, DEFAULT_ACTION, slot=slot, ref=_ToastRef(),
                              timeout_ms=timeout_ms, category="im"))

    def _tell_sent(self, slot: str, result: AckResult, name: str) -> None:
        if result.sent:
            self._tell(slot, f"Sent: acknowledgement to {name}", "A reply is promised by"
                       f" {result.reply_by.astimezone(self.zone):%H:%M}.", timeout_ms=5000)
        else:   # failed, unsure, cancelled or still to be retried: as the window says it
            self._tell(slot, self.window.message.text())

    # snooze

    def _make_snooze_menu(self) -> QMenu:
        menu = QMenu("S&nooze notifications", self.menu)
        self.snooze_actions: dict[Snooze, QAction] = {}
        for choice, label in SNOOZE_CHOICES:
            action = menu.addAction(label)
            action.triggered.connect(lambda _checked=False, c=choice: self.snooze(c))
            self.snooze_actions[choice] = action
        menu.addSeparator()
        self.wake_action = menu.addAction("Wake up now")
        self.wake_action.triggered.connect(lambda: self.snooze(None))
        self._update_snooze_menu()
        return menu

    def snooze(self, choice: Snooze | None) -> None:
        """Hold toasts back until the chosen time (None: wake up now); the badge keeps
        counting, and what waited is summed up when the snooze is over."""
        now = self.engine.clock.now()
        busy = self.status.busy if self.status is not None else None
        until = (snooze_until(choice, now, busy=busy, hours=self.engine.settings.hours)
                 if choice is not None else None)
        if choice is not None and until is None:
            return   # "until the meeting ends" with no meeting on
        self._snoozed_until = until
        self._update_tooltip()
        self._update_snooze_menu()
        self.ops.run(lambda: self.engine.snooze(until), lambda _r: self.refresh(),
                     lambda exc: self._show_error(f"could not snooze: {exc}"))

    def _update_snooze_menu(self) -> None:
        busy = self.status.busy if self.status is not None else None
        in_meeting = busy is not None and busy.now and busy.until is not None
        self.snooze_actions[Snooze.MEETING].setEnabled(in_meeting)
        self.wake_action.setEnabled(self._snoozed_text() is not None)

    def _snoozed_text(self) -> str | None:
        until = self._snoozed_until
        now = self.engine.clock.now()
        if until is None or until <= now:
            return None
        local = until.astimezone(self.zone)
        same_day = local.date() == now.astimezone(self.zone).date()
        return f"Snoozed until {local:%H:%M}" if same_day else \
            f"Snoozed until {local:%a %H:%M}"

    # actions

    def open_settings(self) -> None:
        """The settings window (one at a time); what it saves reaches the engine (settings
        and templates) off the GUI thread, and the tray shows it at once."""
        from heard.gui.settings_window import SettingsWindow

        if self._settings_window is not None and self._settings_window.isVisible():
            self._settings_window.raise_()
            self._settings_window.activateWindow()
            return

        window = SettingsWindow(self.engine, self.ops, status=self.status)

        def reload() -> None:
            opened = window.opened_version
            self.ops.run(lambda: self.engine.settings_saved(opened),
                         lambda _changed: self.refresh(),
                         lambda exc: self._show_error(f"settings not applied: {exc}"))

        window.saved.connect(reload)
        window.accounts_changed.connect(reload)
        window.open()
        self._settings_window = window

    def open_stats(self) -> None:
        """The Statistics window, filled off the GUI thread."""
        from heard.gui.stats_window import StatsWindow, stats_for_window

        if self._stats_window is None:
            self._stats_window = StatsWindow()
            self._stats_window.refresh_requested.connect(self.open_stats)
            self._stats_window.export_requested.connect(self.export_stats)
        window = self._stats_window
        window.show()
        self.ops.run(lambda: stats_for_window(self.engine),
                     lambda data: window.show_stats(*data),
                     lambda exc: window.summary.setText(f"Could not read the statistics: {exc}"))

    def export_stats(self) -> None:
        from datetime import timedelta

        from PySide6.QtWidgets import QFileDialog

        from heard.engine.stats_report import write_html

        path, _filter = QFileDialog.getSaveFileName(
            self._stats_window, "Export the weekly summary", "heard-week.html",
            "Web page (*.html)")
        if not path:
            return
        now = self.engine.clock.now()
        since = now - timedelta(days=7)
        self.ops.run(lambda: write_html(Path(path), self.engine.stats(since, now, "all"), since,
                                        now, self.zone, self.engine.settings.user.name),
                     lambda _r: self.window.show_message(f"Saved {path}."),
                     lambda exc: self._show_error(f"could not save the summary: {exc}"))

    def log_call(self) -> None:
        """Ask who called (a number or a client) and what about; it then waits like mail."""
        from heard.gui.log_call import LogCallDialog

        dialog = LogCallDialog(self.window if self._window is not None else None)

        def accepted() -> None:
            who, note = dialog.values()
            self.ops.run(lambda: self.engine.log_call(who, note=note),
                         lambda _inquiry: self.refresh(),
                         lambda exc: self._show_error(f"call not logged: {exc}"))

        dialog.accepted.connect(accepted)
        dialog.open()
        self._call_dialog = dialog

    # the quick-reply window's actions (each runs off the GUI thread)

    def _name_of(self, inquiry_id: int) -> str:
        """The client's preferred name, from the status on screen."""
        status = self.status
        for item in status.waiting if status is not None else ():
            if item.inquiry.id == inquiry_id:
                return item.client.display_name
        return "the client"

    def acknowledge(self, request: AckRequest | int, from_toast: bool = False) -> None:
        """Acknowledge with the template (and the user's own text, if they changed it).
        From the window or a toast it waits `send_delay_ms` for Undo before it goes out; from
        a toast, toasts say what happens (with Undo while it waits)."""
        if isinstance(request, int):
            from heard.gui.quick_reply import AckRequest

            request = AckRequest(request)
        inquiry_id = request.inquiry_id
        name = self._name_of(inquiry_id)
        delay_ms = self._window.send_delay_ms if self._window is not None \
            else self.send_delay_ms

        def done(result: AckResult) -> None:
            self.window.set_busy(False)
            slot = f"ack:{inquiry_id}"
            if result.call_back:
                self.window.show_message(f"{result.body} ({result.call_back.removeprefix('tel:')})"
                                         " — you will be reminded.")
                if from_toast:
                    self._tell(slot, f"Call {name} back",
                               f"{result.body} ({result.call_back.removeprefix('tel:')})")
                self.acknowledged.emit(result)
            elif delay_ms > 0 and not result.sent and result.state is Delivery.QUEUED:
                entry = self._hold(result, name, delay_ms)
                if from_toast:
                    self._toast_acks[result.message_id] = name
                    seconds = max(1, round(delay_ms / 1000))
                    self._tell(slot, f"Acknowledgement to {name} goes out in {seconds} s",
                               result.body, undo=entry, timeout_ms=delay_ms + 2000)
            else:
                self._report_sent(result)
                if from_toast:
                    self._tell_sent(slot, result, name)
            self.refresh()

        def failed(exc: Exception) -> None:
            self.window.set_busy(False)
            self.window.show_message(f"Not sent: {exc}")
            if from_toast:
                self._tell(f"ack:{inquiry_id}", f"Not sent to {name}", str(exc))
            self.refresh()

        delay = timedelta(milliseconds=delay_ms)
        self.ops.run(lambda: self.engine.acknowledge(
            InquiryId(inquiry_id), request.template, subject=request.subject,
            body=request.body, delay=delay), done, failed)

    def _report_sent(self, result: AckResult) -> None:
        if result.state is Delivery.FAILED:
            self.window.show_message(f"Not sent: {result.error}. The client is waiting"
                                     " again.")
        elif result.state is Delivery.UNSURE:
            self.window.show_message(f"Unsure whether it went out: {result.error}")
        elif result.state is Delivery.REQUESTED:
            self.window.show_message(f"Passed on to your other device: {result.error}.")
        else:
            state = "Sent" if result.sent else f"Not sent yet ({result.error}); Heard keeps" \
                " trying"
            self.window.show_message(f"{state}: acknowledgement to {result.to}, promising a"
                                     f" reply by {result.reply_by.astimezone(self.zone):%H:%M}.")
        self.acknowledged.emit(result)

    def _hold(self, result: AckResult, name: str, delay_ms: int) -> _Undoable:
        """The acknowledgement waits in the outbox; sent when the timer fires, unless Undo
        comes first. If Heard quits meanwhile, quit() sends it (or the next start does)."""
        timer = QTimer(self)
        timer.setSingleShot(True)
        timer.setInterval(delay_ms)
        entry = _Undoable(f"the acknowledgement to {name}",
                          lambda: self._cancel_send(result, name, entry), timer)
        entry.send_now = lambda: self._send_held(result, entry)
        timer.timeout.connect(entry.send_now)
        self._push_undo(entry)
        seconds = max(1, round(delay_ms / 1000))
        self.window.show_message(f"Acknowledgement to {name} will be sent in {seconds} s"
                                 " — Undo (Ctrl+Z)")
        timer.start()
        return entry

    def _send_held(self, result: AckResult, entry: _Undoable) -> None:
        self._drop_undo(entry)
        self.ops.run(lambda: self._deliver_held(result), self._held_delivered,
                     lambda exc: self._show_error(f"could not send to {result.to}: {exc}"))

    def _deliver_held(self, result: AckResult) -> AckResult:
        """On a worker: send it, or (if it is no longer held) say what became of it."""
        outcome = self.engine.send_queued(result.message_id)
        return replace(result, sent=outcome.out, state=Delivery.of(outcome.state),
                       error=outcome.error)

    def _held_delivered(self, result: AckResult) -> None:
        if result.state is Delivery.CANCELLED:
            self.window.show_message(f"The acknowledgement to {result.to} was cancelled.")
        else:
            self._report_sent(result)
        name = self._toast_acks.pop(result.message_id, None)
        if name is not None:   # it was acknowledged from a toast: say so there too
            self._tell_sent(f"ack:{result.inquiry_id}", result, name)
        self.refresh()

    def send_held_now(self) -> None:
        """Quitting: what waits for Undo goes out now rather than at the next start."""
        for entry in list(self._undo_stack):
            if entry.timer is not None and entry.send_now is not None:
                entry.timer.stop()
                entry.send_now()

    def _cancel_send(self, result: AckResult, name: str, entry: _Undoable) -> None:
        if entry.timer is not None:
            entry.timer.stop()
        self._drop_undo(entry)

        def done(_item: object) -> None:
            self.window.show_message(f"Undone: the acknowledgement to {name} was not sent;"
                                     f" {name} is waiting again.")
            if self._toast_acks.pop(result.message_id, None) is not None:
                self._tell(f"ack:{result.inquiry_id}", self.window.message.text(),
                           timeout_ms=5000)
            self.refresh()

        self.ops.run(lambda: self.engine.cancel_send(result.message_id), done,
                     lambda exc: self.window.show_message(f"Too late to undo: {exc}"))

    def _push_undo(self, entry: _Undoable) -> None:
        self._undo_stack.append(entry)
        del self._undo_stack[:-UNDO_DEPTH]
        self.window.set_undo(entry.label)

    def _drop_undo(self, entry: _Undoable) -> None:
        if entry in self._undo_stack:
            self._undo_stack.remove(entry)
        self.window.set_undo(self._undo_stack[-1].label if self._undo_stack else None)

    def undo(self) -> None:
        """Take back the most recent action still open to it: a send held back, a
        dismissal, or a decision about a new person."""
        if self._undo_stack:
            self._undo_stack[-1].take_back()

    def decide(self, inquiry_id: int, decision: str, from_toast: bool = False) -> None:
        """Client, prospect or not a client (of a sender, or "not-a-client-domain"), for a
        new person; undoable from the window (and, from a toast, from the toast that says
        it was done)."""
        whole_domain = decision == "not-a-client-domain"
        decision = decision.removesuffix("-domain")

        def done(result: Decision) -> None:
            name = result.person.name
            text = {"client": f"{name} is now a client.",
                    "prospect": f"{name} stays a prospect.",
                    "not-a-client": f"Not a client: {result.listed[0] if result.listed else name}"
                                    " — their mail no longer counts."}[result.kind]
            self.window.show_message(text)
            entry = _Undoable(text, lambda: self._undo_decision(result, entry))
            self._push_undo(entry)
            if from_toast:
                self._tell(f"decide:{inquiry_id}", text, undo=entry)
            self.refresh()

        def failed(exc: Exception) -> None:
            self.window.show_message(f"Not done: {exc}")
            if from_toast:
                self._tell(f"decide:{inquiry_id}", "Not done", str(exc))

        self.ops.run(lambda: self.engine.decide(InquiryId(inquiry_id), decision,
                                                whole_domain=whole_domain), done, failed)

    def _undo_decision(self, decision: Decision, entry: _Undoable) -> None:
        def done(_result: Decision) -> None:
            self._drop_undo(entry)
            self.window.show_message(f"Undone: {decision.person.name} is as before.")
            self.refresh()

        self.ops.run(lambda: self.engine.undo(decision), done,
                     lambda exc: self.window.show_message(f"Could not undo: {exc}"))

    def dismiss(self, inquiry_id: int) -> None:
        """No reply needed; Ctrl+Z brings it back."""
        name = self._name_of(inquiry_id)

        def done(_inquiry: object) -> None:
            entry = _Undoable(f"dismissing {name}'s message",
                              lambda: self._undismiss(inquiry_id, name, entry))
            self._push_undo(entry)
            self.window.show_message(f"Dismissed {name}'s message (no reply needed)"
                                     " — Undo (Ctrl+Z)")
            self.refresh()

        self.ops.run(lambda: self.engine.dismiss(InquiryId(inquiry_id)), done,
                     lambda exc: self.window.show_message(f"Not dismissed: {exc}"))

    def _undismiss(self, inquiry_id: int, name: str, entry: _Undoable) -> None:
        def done(_inquiry: object) -> None:
            self._drop_undo(entry)
            self.window.show_message(f"Undone: {name} is waiting again.")
            self.refresh()

        self.ops.run(lambda: self.engine.undismiss(InquiryId(inquiry_id)), done,
                     lambda exc: self.window.show_message(f"Could not undo: {exc}"))

    def mark_answered(self, inquiry_id: int) -> None:
        """They have their answer another way (a call, a meeting)."""
        name = self._name_of(inquiry_id)

        def done(_inquiry: object) -> None:
            self.window.show_message(f"Marked answered: {name} has their answer.")
            self.refresh()

        self.ops.run(lambda: self.engine.mark_answered(InquiryId(inquiry_id)), done,
                     lambda exc: self.window.show_message(f"Not marked answered: {exc}"))

    def delegate(self, inquiry_id: int) -> None:
        """Ask to whom, with what note and by when; then forward it off the GUI thread."""
        from heard.gui.delegate_dialog import DelegateDialog

        settings = self.engine.settings
        if not settings.assistants:
            self.window.show_message(NO_ASSISTANT)
            return
        entry = self.window.current_entry() if self.window.current_id() == inquiry_id \
            else None
        if entry is None:
            return
        now = self.engine.clock.now()
        dialog = DelegateDialog(entry.client.display_name, entry.inquiry.subject,
                                settings.assistants, now + settings.delegation.due,
                                self.zone, tell_client=settings.delegation.tell_client,
                                assistant_allowed=entry.client.assistant_allowed, now=now,
                                parent=self.window)
        name = entry.client.display_name

        def done(result: DelegateResult) -> None:
            told = f"; {name} is told {result.assistant.name} will help" \
                if result.told_client else ""
            sent = "" if result.sent else f" (not sent yet: {result.error}; Heard keeps trying)"
            if result.state is Delivery.REQUESTED:
                self.window.show_message(f"Delegation passed on to your other device:"
                                         f" {result.error}.")
                return
            self.window.show_message(
                f"Delegated {name}'s message to {result.assistant.name}, due"
                f" {format_time(result.due, self.zone, now)}{told}.{sent}")
            self.refresh()

        def accepted() -> None:
            choice = dialog.values()
            self.ops.run(lambda: self.engine.delegate(
                InquiryId(inquiry_id), choice.assistant.address, choice.note, choice.due,
                choice.tell_client), done,
                lambda exc: self.window.show_message(f"Not delegated: {exc}"))

        dialog.accepted.connect(accepted)
        dialog.open()
        self._delegate_dialog = dialog

    def preview(self, inquiry_id: int, template: str = "") -> None:
        """The reply as it would be sent (a dry run), for the window to show and edit."""
        self.ops.run(
            lambda: self.engine.acknowledge(InquiryId(inquiry_id), template or None,
                                            dry_run=True),
            lambda result: self.window.show_preview(inquiry_id, result, template),
            lambda exc: self._preview_failed(inquiry_id, exc),
        )

    def _preview_failed(self, inquiry_id: int, exc: Exception) -> None:
        from heard.errors import NotWaiting

        # Dismissed, answered or acknowledged meanwhile (here or on another device): the
        # preview is moot, and its error must not hide what the user just did.
        if isinstance(exc, NotWaiting) or inquiry_id != self.window.current_id():
            log.info("preview of inquiry %s dropped: %s", inquiry_id, exc)
            return
        self.window.show_message(f"No preview: {exc}")

    def _set_paused(self, paused: bool) -> None:
        self.paused = paused
        self._update_tooltip()
        if self.status is not None:   # back on: what waited is summed up
            self._plan_toasts(self.status)

    def _update_tooltip(self) -> None:
        if self.status is None:
            return
        lines = [tooltip_text(self.status, self.zone, self.engine.settings.prospects.show_apart)]
        if self._progress:
            lines.append(f"Reading mail: {self._progress}")
        lines.extend(f"Problem: {p}" for p in self.status.problems[:2])
        if not self.engine.settings.accounts:
            lines.append("No mail account yet: heard account add imap --host HOST"
                         " --username USER")
        if self.paused:
            lines.append("Notifications paused")
        elif (snoozed := self._snoozed_text()) is not None:
            lines.append(snoozed)
        elif self._held_by is Hold.MEETING:
            lines.append("Quiet in the meeting: only VIPs and deadlines pop")
        self.tray.setToolTip("\n".join(lines))
        if self.mini is not None:
            self.mini.show_count(self.status.count, self.status.urgency,
                                 bool(self.status.offline) or self.status.calendar_stale,
                                 "\n".join(lines))

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (QSystemTrayIcon.ActivationReason.Trigger,
                      QSystemTrayIcon.ActivationReason.DoubleClick):
            if self._window is not None and self._window.isVisible():
                self._window.hide()
            else:
                self.open_window()

    def _show_error(self, text: str) -> None:
        log.error("%s", text)
        self.window.show_message(f"Problem: {text}")
        if not self.paused:
            self._notify(Note("Heard: problem", text, DEFAULT_ACTION, slot="problem",
                              ref=_ToastRef(), category="im.error"))

    def dispose(self) -> None:
        """Delete the Qt objects now, while QApplication lives: letting Python's garbage
        collector do it after the app is gone can crash at exit."""
        self.engine.stop_watching()
        self.ops.close(5000)
        self._wake.stop()
        if self.notifier is not None:
            self.notifier.close()
        self.tray.hide()
        self.tray.deleteLater()
        self.menu.deleteLater()
        if self._window is not None:
            self._window.deleteLater()
        if self.mini is not None:
            self.mini.close()
            self.mini.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)

    def quit(self) -> None:
        self._timer.stop()
        self.send_held_now()
        self.engine.stop_watching()
        self.ops.wait(5000)
        self.tray.hide()
        app = QApplication.instance()
        if app is not None:
            app.quit()


def show_fatal(text: str) -> None:
    """Heard cannot start: say why on screen, since a tray app started at login has no
    terminal to print to."""
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
            or sys.platform in ("win32", "darwin")):
        return
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    QMessageBox.critical(None, "Heard cannot start", text)


def _seconds_since_start() -> float:
    """Since the process began (interpreter start-up included), for --exit-when-shown."""
    try:
        stat = Path("/proc/self/stat").read_text(encoding="ascii")
        start_ticks = int(stat.rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text(encoding="ascii").split()[0])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return time.process_time()


def _instance_name(engine: Engine) -> str:
    from heard.system.instance import socket_path

    return socket_path(engine.profile)


def _hand_over(name: str) -> bool:
    """If Heard already runs on this profile, ask it to show its window. True if it did."""
    socket = QLocalSocket()
    socket.connectToServer(name)
    if not socket.waitForConnected(300):
        return False
    socket.write(b"show\n")
    socket.waitForBytesWritten(300)
    socket.disconnectFromServer()
    return True


def run_tray(engine: Engine, exit_when_shown: bool = False, first_run: bool = False) -> int:
    """The tray app until Quit. `first_run`: the set-up wizard comes first (a profile with
    no settings yet); whether or not it is finished, the tray icon follows."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("Heard")
    app.setDesktopFileName("heard")
    app.setQuitOnLastWindowClosed(False)
    app.setWindowIcon(QIcon(badge.icon(0, None)))

    name = _instance_name(engine)
    if _hand_over(name):
        print("Heard is already running; its window is shown.", file=sys.stderr)
        return 0
    server = QLocalServer()
    QLocalServer.removeServer(name)  # a stale socket from a crash would block listening
    server.listen(name)
    if first_run:
        from heard.gui.first_run import run_first_run

        if not run_first_run(engine):
            log.info("first run: the set-up was left; the defaults apply until it is done")

    from heard.system import autostart

    autostart.apply(engine.settings.desktop.start_at_login)   # the setting is the truth
    heard = HeardApp(engine, send_delay_ms=int(
        engine.settings.replies.undo_delay.total_seconds() * 1000))

    def on_connection() -> None:
        socket = server.nextPendingConnection()
        if socket is None:
            return

        def read() -> None:
            # "show": a second `heard`; "refresh": a CLI command changed something.
            for line in bytes(socket.readAll().data()).splitlines():
                if line.strip() == b"refresh":
                    log.info("instance: a command changed the store; refreshing")
                    heard.refresh()
                else:
                    log.info("instance: another start asked for the window")
                    heard.open_window()

        socket.readyRead.connect(read)

    server.newConnection.connect(on_connection)

    def announce(status: Status, attempt: int = 0) -> None:
        geometry = heard.tray.geometry()
        # XEmbed trays report where the icon sits; StatusNotifierItem hosts never do, so
        # after two seconds the icon is taken as shown.
        if heard.tray_available and geometry.isEmpty() and attempt < 100:
            QTimer.singleShot(20, lambda: announce(status, attempt + 1))
            return
        log.info("tray: shown with count %d at %d,%d size %dx%d", status.count, geometry.x(),
                 geometry.y(), geometry.width(), geometry.height())
        if exit_when_shown:
            print(f"shown {_seconds_since_start():.3f}", flush=True)
            QTimer.singleShot(0, heard.quit)

    def first_status(status: Status) -> None:
        heard.status_applied.disconnect(first_status)
        announce(status)

    heard.status_applied.connect(first_status)
    # Ctrl-C in a terminal and SIGTERM from a session manager quit cleanly. Python runs
    # signal handlers only between bytecodes, so a timer lets it in twice a second.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: QTimer.singleShot(0, heard.quit))
    wake = QTimer(heard)
    wake.start(500)
    wake.timeout.connect(lambda: None)
    heard.start()
    code = app.exec()
    server.close()
    heard.dispose()
    return int(code)
