"""The tray app: the badge, its tooltip and menu, the status on screen, the timer that has
the engine do what time makes due, and the windows it opens. After the machine slept, the
tray has the engine reconnect and catch up at once (heard.system.sleep; logind's signal on
Linux, where Qt says nothing about a suspend; elsewhere the connections notice on their own).

HeardApp composes the parts around one engine: the toaster (toasts, pause and snooze), the
undo stack, the actions of the window and of the toasts, and the quick-reply window, made
on first use. Each part asks for what it needs from the others with a signal; the wiring is
here, in `__init__` and `window`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QMenu, QSystemTrayIcon, QWidget

from heard.domain.clients import Channel
from heard.domain.locales import use_on_screens
from heard.domain.naming import shown
from heard.domain.toasts import Snooze, waiting_people
from heard.domain.waiting import WaitingItem, badge_urgency, waiting_count
from heard.domain.wording import clock, day_and_time, in_words
from heard.engine import Engine, EngineEvent, EventKind, Status
from heard.gui import badge
from heard.gui.actions import NO_ASSISTANT, Actions
from heard.gui.notify import Notifier
from heard.gui.ops import Ops
from heard.gui.toaster import Toaster
from heard.gui.undo import UndoStack
from heard.system.sleep import SleepWatcher

if TYPE_CHECKING:
    from heard.gui.mini_window import MiniWindow
    from heard.gui.quick_reply import QuickReplyWindow
    from heard.gui.stats_window import StatsWindow

log = logging.getLogger(__name__)

# The badge colour moves from "on track" to "due soon" to "overdue" as time passes,
# with no new mail: re-read the status this often.
REFRESH_MS = 30_000
TICK_SAFETY_MS = 5 * 60_000   # idle-wakeups: the longest a tick waits, whatever is computed


class _Bridge(QObject):
    """Engine events arrive on worker threads; this turns them into queued Qt signals."""

    engine_event = Signal(object)
    resumed = Signal()   # the machine woke from sleep (told on the sleep watcher's thread)


@dataclass
class _Sending:
    """An acknowledgement on its way, left out of the badge until the status says so."""

    inquiry_id: int
    only: bool
    settled: int | None = None   # the engine answered when this many changes were told


def _answerable(item: WaitingItem) -> bool:
    """Whether an acknowledgement takes this one off the list (a caller with no address
    is promised a call back instead, and still waits)."""
    if item.inquiry.channel is Channel.CALL:
        return bool(item.inquiry.reply_to or item.client.emails)
    return bool(item.inquiry.reply_address)


def without_sending(status: Status, sending: list[_Sending]) -> Status:
    """The status as the user sees it once they pressed Enter: the clients being
    acknowledged (all their messages an acknowledgement answers, or the one message) no
    longer waiting, and the count and colour from who is left."""
    gone: set[int] = set()
    for ack in sending:
        target = next((i for i in status.waiting if i.inquiry.id == ack.inquiry_id), None)
        if target is None:
            continue
        group = [target] if ack.only else [i for i in status.waiting
                                           if i.inquiry.client_id == target.inquiry.client_id]
        gone.update(int(i.inquiry.id) for i in group
                    if i.inquiry.id is not None and _answerable(i))
    if not gone:
        return status
    items = [i for i in status.waiting if i.inquiry.id not in gone]
    return replace(status, waiting=items, count=waiting_count(items),
                   urgency=badge_urgency(items))


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
        # Longest waiting first: the tooltip answers "who has waited the longest?". Named as
        # the toasts name them, and it adds up: four waiting, three named, "and 1 more".
        longest = sorted(status.clients, key=lambda c: c.first.inquiry.received_at)
        named = waiting_people(c.first for c in longest)
        for name, client in zip(named.named, longest, strict=False):
            minutes = int((status.at - client.first.inquiry.received_at).total_seconds() // 60)
            lines.append(f"{name}: {minutes} min")
        if named.more:
            lines.append(f"and {named.more} more")
    if status.snoozed:   # set aside, not counted: said, so the count is never a mystery
        first = status.snoozed[0]
        lines.append(f"Snoozed: {len(status.snoozed)} (not counted),"
                     f" {shown(first.waiting.client.display_name, 60)} back"
                     f" {day_and_time(first.until, status.at, zone)}")
    if status.owed:   # the user waits on them: said apart, never in the count
        owing = status.owed[0]
        lines.append(f"Owe you a reply: {len(status.owed)},"
                     f" {shown(owing.client.display_name, 60)} since"
                     f" {day_and_time(owing.since, status.at, zone)}")
    if status.away is not None:
        lines.append(f"Away until {day_and_time(status.away.ends, status.at, zone)}"
                     + (f", {shown(status.away.deputy, 60)} stands in"
                        if status.away.deputy else ""))
    handed = [v.assignment.due for v in status.assigned if v.to_me]
    if handed:
        lines.append(f"Delegated to you: {len(handed)}, next due"
                     f" {day_and_time(min(handed), status.at, zone)}")
    if status.busy is not None and status.busy.now and status.busy.until:
        lines.append(f"Busy until {clock(status.busy.until, zone)}")
    if status.sharing_notice:
        lines.append(status.sharing_notice)
    if status.calendar_stale:
        lines.append("Calendar: last known state (the server cannot be reached)")
    for account in status.offline:
        since = f" since {clock(account.since, zone)}" if account.since else ""
        lines.append(f"Offline: {account.name}{since} (the count may miss its mail)")
    return "\n".join(lines)


class HeardApp(QObject):
    status_applied = Signal(object)   # for tests and benchmarks: a Status reached the screen
    badge_shown = Signal(object)      # for tests and benchmarks: the Status the badge shows
    acknowledged = Signal(object)     # AckResult

    def __init__(self, engine: Engine, tray_available: bool | None = None,
                 send_delay_ms: int = 0, notifier: Notifier | None = None,
                 sleep_bus: str | None = "SYSTEM") -> None:
        """`send_delay_ms`: how long an acknowledgement from the window can be taken back
        before it is sent (run_tray takes [replies] undo_seconds; 0 sends at once).
        `notifier`: how toasts are shown (default: the best the desktop offers, chosen at
        start). `sleep_bus`: the D-Bus where logind says the machine resumed (a bus
        address in tests; None: not listened for)."""
        super().__init__()
        self.engine = engine
        use_on_screens(engine.settings.speech)   # times on screen in the user's locale
        self.send_delay_ms = send_delay_ms
        self.ops = Ops(self)
        self.ops.error.connect(self.show_error)
        self.status: Status | None = None
        # Status reads (see refresh): one at a time, one per burst of requests.
        self._reading: int | None = None   # a read runs: self._asks when it began
        self._asks = 0                     # requests for a read that begins after them
        self._changes_told = 0             # the engine's last change heard of (EngineEvent.seq)
        self.reads = 0                     # status reads started (tests, benchmarks)
        self._tick_after_change = False    # the ticker was brought forward by a change
        self._sending: dict[int, _Sending] = {}   # acknowledgements on their way, by inquiry
        self._caught_up = True   # until start(): nothing to catch up on
        self._stats_window: StatsWindow | None = None
        self._settings_window: QWidget | None = None
        self._progress = ""
        self._icon: tuple[object, ...] | None = None   # what the tray icon shows

        self._window: QuickReplyWindow | None = None
        self._window_behind = False   # statuses came while it was hidden: shown as it opens
        self.mini: MiniWindow | None = None   # only where the desktop has no tray

        self.tray = QSystemTrayIcon(badge.icon(0, None), self)
        self.tray.setToolTip("Heard")
        self.tray.activated.connect(self._activated)
        self.menu = QMenu()
        self.toaster = Toaster(engine, self.ops, self.tray, self.menu,
                               paused=engine.settings.notifications.paused, notifier=notifier,
                               parent=self)
        self.toaster.changed.connect(self._update_tooltip)
        self.toaster.status_wanted.connect(self.refresh)
        self.toaster.failed.connect(self.show_error)
        self.undo_stack = UndoStack(parent=self)
        self.undo_stack.changed.connect(
            lambda label: self.window.set_undo(label, self.undo_stack.sending))
        self.actions = Actions(engine, self.ops, self.undo_stack, self.toaster,
                               window=lambda: self.window, made_window=lambda: self._window,
                               status=lambda: self.status, send_delay_ms=send_delay_ms,
                               parent=self)
        self.actions.acknowledged.connect(self.acknowledged)
        self.actions.status_wanted.connect(self.changes_wanted)
        self.actions.sending.connect(self._ack_sending)
        self.actions.settled.connect(self._ack_settled)
        self.actions.open_requested.connect(self.open_window)
        self.actions.failed.connect(self.show_error)
        self.toaster.invoked.connect(self.actions.toast_action)
        self.actions.open_mail_requested.connect(self.open_in_mail)

        open_action = QAction("&Open quick reply", self.menu)
        open_action.triggered.connect(lambda: self.open_window())
        settings_action = QAction("S&ettings…", self.menu)
        settings_action.triggered.connect(self.open_settings)
        stats_action = QAction("&Statistics…", self.menu)
        stats_action.triggered.connect(self.open_stats)
        call_action = QAction("&Log a call…", self.menu)
        call_action.triggered.connect(self.log_call)
        self.pause_action = QAction("&Pause notifications", self.menu, checkable=True)
        self.pause_action.setChecked(self.toaster.paused)
        self.pause_action.toggled.connect(self.toaster.set_paused)
        quit_action = QAction("&Quit Heard", self.menu)
        quit_action.triggered.connect(self.quit)
        # Clients who owe the user a reply: the window's section (enabled when there are).
        self.owed_action = QAction("Owe you a &reply…", self.menu)
        self.owed_action.setEnabled(False)
        self.owed_action.triggered.connect(lambda: self.open_window())
        self.menu.addAction(open_action)
        self.menu.addAction(self.owed_action)
        self.menu.addAction(call_action)
        self.menu.addAction(stats_action)
        self.menu.addAction(settings_action)
        self.menu.addAction(self.pause_action)
        self.menu.addMenu(self.toaster.snooze_menu)
        self.menu.addSeparator()
        self.menu.addAction(quit_action)
        self.tray.setContextMenu(self.menu)
        self.tray_available = (QSystemTrayIcon.isSystemTrayAvailable()
                               if tray_available is None else tray_available)

        self._disposed = False
        self._bridge = _Bridge()
        self._bridge.engine_event.connect(self._on_engine_event)
        engine.subscribe(self._bridge.engine_event.emit)
        self._bridge.resumed.connect(self._resumed)
        self._sleep = (SleepWatcher(self._bridge.resumed.emit, bus=sleep_bus)
                       if sleep_bus is not None else None)

        # Time passes: Engine.tick, then the status again; single-shot, set each time for
        # the next real deadline (Engine.next_tick), so an idle tray sleeps (idle-wakeups).
        self.ticker = QTimer(self)
        self.ticker.setSingleShot(True)
        self.ticker.setInterval(REFRESH_MS)
        self.ticker.timeout.connect(self._tick)

    def start(self) -> None:
        self.tray.show()
        if not self.tray_available:
            from heard.gui.mini_window import MiniWindow, no_tray_hint

            log.warning("no system tray on this desktop: showing a small window instead")
            self.mini = MiniWindow(self.menu)
            self.mini.open_requested.connect(lambda: self.open_window())
            self.mini.show()
            self.window.show_message(no_tray_hint())
        self.ticker.start()
        # The stored count first; then, once it is on screen, watching and the catch-up
        # sync (their imports and first reads would otherwise compete for the GIL with
        # the tray's start-up).
        self._caught_up = False
        self.refresh()

    def _catch_up(self) -> None:
        # Scheduled by each status applied until it runs, and never after dispose().
        if self._caught_up:
            return
        self._caught_up = True
        self.toaster.choose_notifier()   # toasts planned before that wait for it

        def watch() -> None:
            if not self._disposed:
                self.engine.start_watching()

        def synced(_report: object) -> None:
            watch()
            self.refresh()

        def failed(exc: Exception) -> None:
            watch()   # (the watchers retry until the server answers)
            self.show_error(str(exc))

        # Catch up on what arrived while Heard was not running, off the GUI thread; then
        # watch: each account's watcher takes the connection the sync kept, and lends it
        # back for its own catch-up (one login per account at start, not one each).
        self.ops.run(self.engine.sync, synced, failed)
        if self._sleep is not None:
            self.ops.run(self._sleep.start)   # a round trip to the bus: not on this thread

    def _resumed(self) -> None:
        """The machine woke from sleep: the engine drops its connections, which may be dead
        without knowing it, connects again and syncs now (Engine.resumed), off the GUI
        thread like every sync; the count follows."""
        self.ops.run(self.engine.resumed, lambda _r: self.refresh())

    @property
    def zone(self) -> Any:
        return self.engine.settings.zone  # settings may be reloaded while running

    # the toaster's state, where the tray menu and tests look for it

    @property
    def paused(self) -> bool:
        return self.toaster.paused

    @property
    def notifier(self) -> Notifier | None:
        return self.toaster.notifier

    @property
    def snooze_actions(self) -> dict[Snooze, QAction]:
        return self.toaster.snooze_actions

    @property
    def wake_action(self) -> QAction:
        return self.toaster.wake_action

    # the windows

    def _acknowledging_templates(self) -> list[str]:
        """The templates the window offers for an acknowledgement: not those the autopilot
        writes absences and evenings with, nor the follow-up's nudge, which have windows
        and settings of their own (`heard ack --template` still takes any)."""
        settings = self.engine.settings
        own_uses = {"nudge", settings.absence.template, settings.afterhours.template}
        return sorted(name for name in self.engine.templates if name not in own_uses)

    @property
    def window(self) -> QuickReplyWindow:
        """Made on first use: most of the day Heard is only an icon."""
        if self._window is None:
            from heard.gui.quick_reply import QuickReplyWindow  # the window comes on first use

            window = QuickReplyWindow()
            window.send_delay_ms = self.send_delay_ms
            window.set_templates(self._acknowledging_templates())
            window.set_delegate_blocked(None if self.engine.settings.assistants
                                        else NO_ASSISTANT)
            actions = self.actions
            window.acknowledge_requested.connect(actions.acknowledge)
            window.preview_requested.connect(actions.preview)
            window.refresh_requested.connect(self.refresh)
            window.decide_requested.connect(actions.decide)
            window.undo_requested.connect(self.undo_stack.undo)
            window.delegate_requested.connect(actions.delegate)
            window.answered_requested.connect(actions.mark_answered)
            window.dismiss_requested.connect(actions.dismiss)
            window.snooze_requested.connect(actions.snooze)
            window.follow_up_requested.connect(actions.follow_up)
            window.owed.nudge_requested.connect(actions.nudge)
            window.owed.stop_requested.connect(actions.stop_follow_up)
            window.open_mail_requested.connect(self.open_in_mail)
            if self.status is not None:
                window.show_status(self.status, self.zone)
            window.installEventFilter(self)   # its Show: see eventFilter
            self._window = window
        return self._window

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802  (Qt's name)
        """The quick-reply window is about to show: the last status first, if statuses came
        while it was hidden (redrawing a hidden window on each status cost a quarter of an
        idle tray's CPU in the soak, and a preview rendered for nobody each time)."""
        if watched is self._window and event.type() == QEvent.Type.Show \
                and self._window_behind:
            self._show_in_window()
        return False

    def _show_in_window(self) -> None:
        window, status = self._window, self.status
        self._window_behind = False
        if window is None or status is None:
            return
        window.set_templates(self._acknowledging_templates())
        window.set_delegate_blocked(None if self.engine.settings.assistants else NO_ASSISTANT)
        window.show_status(status, self.zone)

    def open_window(self, inquiry_id: int | None = None) -> None:
        """Show the window (from the tray, a toast, or `heard` run again), on `inquiry_id`
        when given."""
        window = self.window
        window.open()
        if inquiry_id is not None:
            window.select(inquiry_id)

    def open_in_mail(self, message_id: str, account: str) -> None:
        """A client's message opened where the user writes the real answer ([open] app);
        the window says where, or why not."""
        from heard.domain.mail_links import CannotOpen
        from heard.gui.open_mail import open_message

        try:
            what = open_message(self.engine.settings, message_id, account)
        except CannotOpen as exc:
            self.window.show_message(f"Not opened: {exc}")
            return
        self.window.show_message(f"Opened the message {what}.")

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
                         lambda exc: self.show_error(f"settings not applied: {exc}"))

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
        from PySide6.QtWidgets import QFileDialog

        from heard.engine.stats_report import write_html

        path, _filter = QFileDialog.getSaveFileName(
            self._stats_window, "Export the weekly summary", "heard-week.html",
            "Web page (*.html)")
        if not path:
            return
        now = self.engine.clock.now()
        since = now - timedelta(days=7)
        stats = self.engine.statistics.stats
        self.ops.run(lambda: write_html(Path(path), stats(since, now, "all"), since,
                                        now, self.zone, self.engine.settings.user.name),
                     lambda _r: self.window.show_message(f"Saved {path}."),
                     lambda exc: self.show_error(f"could not save the summary: {exc}"))

    def log_call(self) -> None:
        self.actions.log_call()

    # the status

    def refresh(self) -> None:
        """Read the status again, with a read that begins after this call (time passed,
        the settings changed, the user asked). One read at a time: the requests made while
        one runs share the one after it."""
        self._asks += 1
        self._start_read()

    def changes_wanted(self) -> None:
        """Read the status again if the store changed since the last read began (the
        engine numbers its changes: EngineEvent.seq, Status.changes). An action's engine
        call tells its change before its result comes back here, so the read that change
        started is enough: after an Enter, one read, not one for the change, one for the
        action and one for the tick brought forward."""
        if self._reading is not None:
            return   # when it ends, _read_done looks at what it saw
        if self.status is None or self.status.changes < self._changes_told:
            self._start_read()

    def _start_read(self) -> None:
        if self._reading is not None or self._disposed:
            return
        self._reading = self._asks
        self.reads += 1
        self.ops.run(self.engine.status, self._apply, self._refresh_failed)

    def _read_done(self, status: Status | None) -> None:
        """A read ended: another if a request came after it began, or a change it may not
        have seen was told meanwhile."""
        began = self._reading
        self._reading = None
        if began is None:
            return
        if self._asks > began or (status is not None and status.changes < self._changes_told):
            self._start_read()

    def _tick(self) -> None:
        """Time passes: urgencies change, and the engine does what is due (see
        Engine.tick); snoozed or paused, deadline warnings wait until it is over."""
        hold = self.toaster.holding_all()

        def work() -> datetime:   # idle-wakeups: the tick, then when the next is due
            self.engine.tick(hold_alerts=hold)
            return self.engine.next_tick()

        # Brought forward by a change, whose own read came ~1 s ago: no deadline is
        # crossed before the one the ticker was set for (it is set again here), so the
        # status is read again only if the tick changed something (it tells it).
        after_change, self._tick_after_change = self._tick_after_change, False

        def ticked(due: datetime) -> None:
            if after_change:
                self.changes_wanted()
            else:
                self.refresh()
            # Held warnings are looked at again as before: a pause or snooze may end.
            self.schedule_tick(due, REFRESH_MS if hold else TICK_SAFETY_MS)

        self.ops.run(work, ticked, lambda _exc: self.ticker.start(REFRESH_MS))

    def schedule_tick(self, due: datetime, longest: int = TICK_SAFETY_MS) -> None:
        """The next tick at `due` (idle-wakeups; never sooner than a second from now, never
        later than `longest` ms)."""
        ms = (due - self.engine.clock.now()).total_seconds() * 1000
        self.ticker.start(int(min(max(ms, 1000), longest)))
        self._tick_after_change = False   # set for a deadline: the tick reads the status

    def _refresh_failed(self, exc: Exception) -> None:
        self._reading = None   # the next request reads again (no loop on a failing store)
        self.toaster.choose_notifier()   # the problem must be shown even before a first status
        self.show_error(f"could not read the status: {exc}")

    def _apply(self, status: Status) -> None:
        self.status = status
        use_on_screens(self.engine.settings.speech)   # the settings may have been reloaded
        self._progress = ""
        self._forget_settled(status)
        self._show_badge()
        self.owed_action.setEnabled(bool(status.owed))
        self.owed_action.setText(f"Owe you a &reply ({len(status.owed)})…" if status.owed
                                 else "Owe you a &reply…")
        if self._window is not None and self._window.isVisible():
            self._show_in_window()
        elif self._window is not None:
            self._window_behind = True   # drawn when it opens (eventFilter)
        self.toaster.show_status(status)
        self.status_applied.emit(status)
        if not self._caught_up:
            QTimer.singleShot(0, self._catch_up)
        self._read_done(status)

    def _shown_status(self) -> Status | None:
        """The status the badge and tooltip show: the last read, less the clients whose
        acknowledgement is on its way and not yet in it."""
        if self.status is None or not self._sending:
            return self.status
        return without_sending(self.status, list(self._sending.values()))

    def _show_badge(self) -> None:
        shown_status = self._shown_status()
        if shown_status is None:
            return
        # A new icon only when the badge changes: six SVG renderings each, and a place in
        # Qt's pixmap cache for every icon the panel is given; most refreshes change nothing.
        icon = (shown_status.count, shown_status.urgency,
                bool(shown_status.offline) or shown_status.calendar_stale)
        if icon != self._icon:
            self._icon = icon
            self.tray.setIcon(badge.icon(shown_status.count, shown_status.urgency,
                                         offline=icon[2]))
        self._update_tooltip()
        self.badge_shown.emit(shown_status)

    def _ack_sending(self, inquiry_id: int, only: bool) -> None:
        """Enter pressed (or Acknowledge on a toast): the badge drops now, not after the
        claim on the server and the outbox write (the send itself waits for Undo anyway);
        Undo or a failure brings the client back with the status read after it."""
        self._sending[inquiry_id] = _Sending(inquiry_id, only)
        self._show_badge()

    def _ack_settled(self, inquiry_id: int) -> None:
        ack = self._sending.get(inquiry_id)
        if ack is None:
            return
        # Its change (if any) was told before its result came back: a read that began
        # after it shows the truth; one that began before it may not, and is still
        # shown without the client. A failure changed nothing: the last read is the truth.
        ack.settled = self._changes_told
        if self.status is not None and self._forget_settled(self.status):
            self._show_badge()

    def _forget_settled(self, status: Status) -> bool:
        """Drop the acknowledgements `status` already shows as they are."""
        done = [k for k, a in self._sending.items()
                if a.settled is not None and status.changes >= a.settled]
        for key in done:
            del self._sending[key]
        return bool(done)

    def _on_engine_event(self, event: EngineEvent) -> None:
        if self._disposed:
            return   # posted from the engine's thread before dispose: the tray is gone
        if event.kind is EventKind.ERROR:
            self.show_error(event.message)
            return
        if event.kind is EventKind.ALERTS:  # deadlines near or passed, status reports due
            self.toaster.alert(event.toasts, event.deadlines)
            return
        if event.kind is EventKind.PROGRESS:  # a first sync of a big mailbox: how far it is
            self._progress = event.message
            self._update_tooltip()
            return
        if event.kind is EventKind.CHANGED:
            self._changes_told = max(self._changes_told, event.seq)
            self.changes_wanted()
        else:
            self.refresh()
        if self.ticker.isActive() and self.ticker.remainingTime() > 1000:
            self.ticker.start(1000)   # idle-wakeups: what changed may bring a deadline nearer
            self._tick_after_change = True

    def _update_tooltip(self) -> None:
        status = self._shown_status()
        if status is None:
            return
        lines = [tooltip_text(status, self.zone, self.engine.settings.prospects.show_apart)]
        if self._progress:
            lines.append(f"Reading mail: {self._progress}")
        lines.extend(f"Problem: {in_words(p)}" for p in status.problems[:2])
        if not self.engine.settings.accounts:
            lines.append("No mail account yet: add one in Settings > Accounts")
        if (quiet := self.toaster.quiet_line()) is not None:
            lines.append(quiet)
        self.tray.setToolTip("\n".join(lines))
        if self.mini is not None:
            self.mini.show_count(status.count, status.urgency,
                                 bool(status.offline) or status.calendar_stale,
                                 "\n".join(lines))

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (QSystemTrayIcon.ActivationReason.Trigger,
                      QSystemTrayIcon.ActivationReason.DoubleClick):
            if self._window is not None and self._window.isVisible():
                self._window.hide()
            else:
                self.open_window()

    def show_error(self, text: str) -> None:
        """A problem: in the log, in the window, and as a toast (unless paused)."""
        log.error("%s", text)
        self.window.show_message(f"Problem: {text}")
        self.toaster.problem(text)

    # the end

    def dispose(self) -> None:
        """Delete the Qt objects now, while QApplication lives: letting Python's garbage
        collector do it after the app is gone can crash at exit."""
        # Neither the tick nor a catch-up still to come may run on an engine about to close,
        # nor an engine event already on its way reach a tray icon about to be deleted.
        self._disposed = True
        self.ticker.stop()
        self._caught_up = True
        self.undo_stack.close()   # nor a send held for Undo, whose window is about to go
        self.engine.stop_watching()
        self.ops.close(5000)
        if self._sleep is not None:
            self._sleep.stop()
        self.toaster.close()
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
        self.ticker.stop()
        self.undo_stack.send_held_now()
        self.engine.stop_watching()
        self.ops.wait(5000)
        if self._sleep is not None:
            self._sleep.stop()
        self.tray.hide()
        app = QApplication.instance()
        if app is not None:
            app.quit()
