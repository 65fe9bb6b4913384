"""The engine's facade: what the CLI and the GUI call. Each behaviour has a service of its
own (heard.engine.*), all sharing one EngineContext; this class wires them, owns the timed
work (`tick`) and the syncs, and otherwise passes each call to its service.

It speaks plain Python: methods return dataclasses, and subscribers receive plain events
(from whichever thread did the work; the GUI turns them into Qt signals).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from heard import config
from heard.config import Account, ImapAccount, MaildirAccount, Settings
from heard.config.templates import load_templates
from heard.devices.coordinator import DeviceMode, Devices
from heard.domain.accounts import AccountHealth
from heard.domain.busy import BusyState
from heard.domain.clients import Client
from heard.domain.clock import Clock, SystemClock
from heard.domain.ids import InquiryId
from heard.domain.inquiries import Inquiry
from heard.domain.outbox import OutboxItem, OutboxState
from heard.domain.templates import Template
from heard.engine.absences import Absences
from heard.engine.calendars import CalendarService
from heard.engine.clients import ClientsService
from heard.engine.context import EngineContext
from heard.engine.events import Listener
from heard.engine.health import AccountsHealth
from heard.engine.inquiries import InquiriesService
from heard.engine.prospects import ProspectsService
from heard.engine.reminders import Reminders
from heard.engine.results import SyncReport
from heard.engine.statistics import Statistics
from heard.engine.status import UNFINISHED, AssignedView, Status, StatusService
from heard.errors import EngineError, HeardError
from heard.mail.maildir import Maildir
from heard.store import Store, StoreError
from heard.system.paths import Profile

if TYPE_CHECKING:
    from heard.devices.settings import SharedSettingsSync, SharedStatus
    from heard.domain.toasts import Plan
    from heard.engine.accounts import ImapAccounts
    from heard.engine.followups import FollowUps
    from heard.engine.intake import IntakeService
    from heard.engine.outbox import Outbox
    from heard.engine.replies import Replies
    from heard.engine.requests import RequestsService
    from heard.engine.results import AckResult
    from heard.mail.watch import MaildirWatcher

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Ticked:
    """What one tick of the clock did (the tray shows the status afterwards)."""

    outbox: SyncReport
    alerts: list[tuple[str, str]]
    autopilot: list[AckResult]
    calendars_changed: bool


class Engine:
    """The engine: its services are attributes the faces call directly (`engine.clients`,
    `engine.inquiries`, `engine.replies`, `engine.outbox`, `engine.reminders`,
    `engine.calendar`, `engine.statistics`, `engine.prospects`, `engine.intake`,
    `engine.devices`); what needs several of them (a sync, the tick, the status, settings
    taken up) is here."""

    def __init__(self, profile: Profile, settings: Settings, store: Store,
                 clock: Clock | None = None, templates: dict[str, Template] | None = None
                 ) -> None:
        templates = templates if templates is not None else load_templates(profile.templates)
        if settings.replies.template not in templates:
            store.close()
            raise EngineError(
                f"replies.template names {settings.replies.template!r}, which is not a template;"
                f" known: {', '.join(sorted(templates))}")
        ctx = self._ctx = EngineContext(profile, store, clock or SystemClock(), settings,
                                        templates)
        self.devices = Devices(store, ctx.clock, lambda: ctx.settings, lambda: ctx.workers,
                               profile)
        self.calendar = CalendarService(ctx)
        self.clients = ClientsService(ctx)
        self.prospects = ProspectsService(ctx)
        self.inquiries = InquiriesService(ctx, self.devices)
        self.reminders = Reminders(ctx, self.calendar)
        self.statistics = Statistics(ctx)
        self.absences = Absences(ctx)
        self._health = AccountsHealth(ctx)
        self._status = StatusService(ctx, self.calendar, self._health, self.reminders,
                                     self.devices)
        # Made on first use, so the tray's start-up loads no sending and no IMAP code, and
        # nothing of taking mail in (intake, MIME parsing) before the first sync.
        self._intake: IntakeService | None = None
        self._imap: ImapAccounts | None = None
        self._outbox: Outbox | None = None
        self._replies: Replies | None = None
        self._follow_ups: FollowUps | None = None
        self._requests: RequestsService | None = None
        self._watcher: MaildirWatcher | None = None
        self._watching = False
        self._config_stamp = self._stamp()
        self._config_problem = ""

    @classmethod
    def open(cls, profile: Profile, clock: Clock | None = None) -> Engine:
        profile.create()
        settings = _with_holidays(config.load(profile.config))
        try:
            store = Store(profile.database)
        except StoreError as exc:   # the faces hear the engine's words, not the store's
            raise EngineError(str(exc)) from exc
        return cls(profile, settings, store, clock)

    def close(self) -> None:
        self._ctx.closed = True
        self.stop_watching()
        self._ctx.close_workers()
        with self._ctx.lock:  # never in the middle of a sync
            self._ctx.store.close()

    # what the faces read

    @property
    def profile(self) -> Profile:
        return self._ctx.profile

    @property
    def store(self) -> Store:
        return self._ctx.store

    @property
    def clock(self) -> Clock:
        return self._ctx.clock

    @property
    def settings(self) -> Settings:
        return self._ctx.settings

    @settings.setter
    def settings(self, settings: Settings) -> None:
        self._ctx.settings = settings
        self.calendar.forget()

    @property
    def templates(self) -> dict[str, Template]:
        return self._ctx.templates

    def subscribe(self, listener: Listener) -> None:
        self._ctx.events.subscribe(listener)

    # the services made on first use

    @property
    def intake(self) -> IntakeService:
        """Taking mail in: classification and the MIME parser come with the first sync."""
        if self._intake is None:
            from heard.engine.intake import IntakeService

            self._intake = IntakeService(self._ctx, self.devices)
        return self._intake

    @property
    def outbox(self) -> Outbox:
        if self._outbox is None:
            from heard.engine.outbox import Outbox

            self._outbox = Outbox(self._ctx, self.devices)
        return self._outbox

    @property
    def replies(self) -> Replies:
        """Acknowledging and delegating."""
        if self._replies is None:
            from heard.engine.replies import Replies

            self._replies = Replies(self._ctx, self.calendar, self.outbox, self.devices)
        return self._replies

    @property
    def follow_ups(self) -> FollowUps:
        """Waiting on clients: follow-ups, who owes a reply, and the nudge."""
        if self._follow_ups is None:
            from heard.engine.followups import FollowUps

            self._follow_ups = FollowUps(self._ctx, self.outbox)
        return self._follow_ups

    @property
    def _imap_accounts(self) -> ImapAccounts:
        """The IMAP side: imapclient, ssl and the keyring stay off the start-up path of a
        profile without IMAP accounts."""
        if self._imap is None:
            from heard.engine.accounts import ImapAccounts

            self._imap = ImapAccounts(self._ctx, self.intake, self._health)
        return self._imap

    # settings

    @property
    def config_problem(self) -> str:
        """Why the last edit of heard.toml was not taken up ("" when it was)."""
        return self._config_problem

    def _stamp(self) -> int | None:
        try:
            return self.profile.config.stat().st_mtime_ns
        except OSError:
            return None

    def reload_settings(self) -> bool:
        """Take up edits of heard.toml (say, `heard account add` while the tray runs).

        A broken edit keeps the settings in use and is reported as a problem. True if the
        settings changed.
        """
        stamp = self._stamp()
        if stamp == self._config_stamp:
            return False
        self._config_stamp = stamp
        try:
            settings = _with_holidays(config.load(self.profile.config))
        except config.ConfigError as exc:
            self._config_problem = f"settings not applied: {exc}"
            log.warning("%s", self._config_problem)
            return False
        self._config_problem = ""
        if settings.desktop.start_at_login != self.settings.desktop.start_at_login:
            from heard.system import autostart

            autostart.apply(settings.desktop.start_at_login)
        with self._ctx.lock:
            watched = (self._watched_folders(), self._ctx.imap_accounts())
            self.settings = settings
        self._ctx.retain_workers()
        # Outside the lock: stopping the watcher waits for its sync, which needs the lock.
        if self._watching and (self._watched_folders(), self._ctx.imap_accounts()) != watched:
            self.stop_watching()
            self.start_watching()
        log.info("settings reloaded from %s", self.profile.config)
        return True

    def reload_templates(self) -> None:
        """Take up an edit of templates.toml (the settings window's Save)."""
        self._ctx.templates = load_templates(self.profile.templates)

    def settings_saved(self, opened: int | None = None) -> bool:
        """After a Save in the settings window: take up the new templates and settings
        (templates first, so a new default template is known when the settings name it),
        and agree on the shared ones with the user's other devices now (`opened`: the
        shared-settings version the window showed). True if the settings changed."""
        self.reload_templates()
        changed = self.reload_settings()
        if self._ctx.imap_accounts():
            # A conflict is remembered and shown by the window, `heard sharing` and
            # `heard doctor`.
            self.share_settings(publish=True, opened=opened)
        return changed

    def device_modes(self) -> list[DeviceMode]:
        """Each account's way of letting the user's devices coordinate (asking each IMAP
        server once)."""
        return self.devices.modes()

    @property
    def shared_settings(self) -> SharedSettingsSync:
        return self.devices.settings

    def share_settings(self, publish: bool = False, force: bool = True,
                       push: bool = False, opened: int | None = None,
                       accept: bool = False) -> SharedStatus:
        """Agree on the shared settings with the user's other devices now (`publish`: the
        user just saved them here, in a window that showed version `opened`; `push`: this
        device's replace them). Takes up what another device changed, except a change of
        the templates or of which device acts, which waits for `accept` (the user's yes
        after seeing it: SharedStatus.pending)."""
        from heard.devices.settings import SharedAction

        sync = self.devices.settings
        if not force and not sync.due():
            return sync.status()
        status = sync.sync(publish=publish, push=push, opened=opened, accept=accept)
        if status.action is SharedAction.APPLIED:
            self.reload_templates()
            self.reload_settings()
            self._ctx.events.changed()
        if status.error:
            log.warning("shared settings: %s", status.error)
        return status

    def own_addresses(self) -> frozenset[str]:
        return self._ctx.own_addresses()

    # reading mail

    def sync(self, only: str | None = None) -> SyncReport:
        """Read what is new in every account (or the one named); send what the outbox
        still holds. A failing account is reported and the others still sync."""
        self.reload_settings()
        report = SyncReport()
        for account in self.settings.accounts:
            if only is not None and account.name != only:
                continue
            if isinstance(account, ImapAccount):
                self._imap_accounts.sync(account, report)
            else:
                try:
                    self.intake.sync_maildir(account, report)
                except OSError as exc:
                    self._health.record(account.name, str(exc), kind="maildir")
                    raise
                self._health.record(account.name, None, synced=True, kind="maildir")
        if only is None:
            self._flush_outbox(report)
            self._learn_from_devices(report)
            self.calendar.refresh(force=True)
            self._autopilot()
        if report.changed:
            self._ctx.events.changed(tuple(report.new_inquiries))
        return report

    def _learn_from_devices(self, report: SyncReport) -> None:
        """What the user's other devices asked of this one, or did: never in the way of the
        count (what goes wrong is logged and said)."""
        reached = [a for a in self._ctx.imap_accounts() if a.name not in report.unreached]
        if not reached:
            return   # (a Maildir setup never loads the devices' IMAP code)
        settings = self.settings
        steps: list[Callable[[], object]] = [
            lambda: self.devices.learn(reached),
            lambda: self.share_settings(force=False),
            lambda: self._learn_assignments(reached)]
        if settings.sharing.designated_instance in ("", settings.instance):
            # On a server that keeps no keywords the designated device sends for the
            # others (the only safe way for several devices). Elsewhere the sending code
            # stays unloaded.
            steps.insert(0, lambda: self._take_requests(reached))
        for step in steps:
            try:
                step()
            except Exception as exc:
                log.exception("sync: %s", exc)
                report.errors.append(f"devices: {exc}")

    def _learn_assignments(self, accounts: list[ImapAccount]) -> None:
        """Delegated on another device: to whom and by when, so the assistant's Heard lists
        them with their due times."""
        if self.devices.assignments(accounts):
            self._ctx.events.changed()

    def _take_requests(self, reached: list[ImapAccount]) -> None:
        accounts = self.devices.designated_accounts(reached)
        if not accounts:
            return
        if self._requests is None:
            from heard.engine.requests import RequestsService

            self._requests = RequestsService(self._ctx, self.devices, self.replies,
                                             self.inquiries)
        self._requests.take(accounts)

    def accounts(self) -> list[AccountHealth]:
        return self._health.accounts()

    def test_account(self, account: Account) -> AccountHealth:
        """Log in (IMAP) or look at the folders (Maildir) once, and say what is wrong."""
        if isinstance(account, ImapAccount):
            return self._imap_accounts.test(account)
        missing = [str(f) for f in (account.inbox, account.sent, account.outbox)
                   if f is not None and not Maildir(f).exists()]
        problem = (f"not a Maildir (it needs new/, cur/ and tmp/): {', '.join(missing)}"
                   if missing else "")
        return AccountHealth(account.name, "maildir", not missing, problem)

    def test_smtp(self, account: Account) -> str | None:
        """Log in to the account's SMTP server, sending nothing: None, or what is wrong."""
        from heard.engine import logins
        from heard.mail.smtp import SmtpTransport
        from heard.mail.transport import SendError

        if account.smtp is None:
            return f"{account.name} has no SMTP server"
        try:
            SmtpTransport(account.name, account.smtp,
                          lambda: logins.smtp_password(account)).test()
        except SendError as exc:
            return exc.problem
        return None

    # watching

    def start_watching(self) -> None:
        """Sync whenever a watched Maildir changes or an IMAP server pushes (from watcher
        threads)."""
        self._watching = True
        folders = self._watched_folders()
        if folders:   # watchdog and its thread only for a Maildir to watch (RSS, a thread)
            from heard.mail.watch import MaildirWatcher

            self._watcher = MaildirWatcher(folders, self._sync_from_watcher)
            self._watcher.start()
        if self._ctx.imap_accounts():
            self._imap_accounts.watch(self._ctx.imap_accounts(), self._sync_from_watcher)

    def _watched_folders(self) -> list[Path]:
        return [f for a in self.settings.accounts if isinstance(a, MaildirAccount)
                for f in (a.inbox, a.sent) if f]

    def _sync_from_watcher(self, only: str | None = None) -> None:
        if self._ctx.closed:
            return
        try:
            self.sync(only)
        except Exception as exc:
            log.exception("sync failed")
            self._ctx.events.error(f"sync failed: {exc}")

    def resumed(self) -> SyncReport:
        """The machine woke from sleep (heard.system.sleep tells the tray): every kept IMAP
        connection and watcher's socket may be dead without knowing it, and mail came
        meanwhile. Drop them, connect again and sync at once, instead of after the
        dead-connection timeout (about two minutes)."""
        log.info("resumed from sleep: reconnecting and syncing now")
        self._ctx.reconnect_workers()
        return self.sync()

    def stop_watching(self) -> None:
        self._watching = False
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None
        if self._imap is not None:
            self._imap.stop()

    # the status

    def status(self) -> Status:
        self.reload_settings()
        patterns = self._intake.pattern_problem if self._intake is not None else ""
        notes = [p for p in (self._config_problem, patterns) if p]
        return self._status.status(notes)

    def assigned(self) -> list[AssignedView]:
        return self._status.assigned()

    # acting on what a client waits for

    def template_values(self, client: Client, inquiry: Inquiry, busy: BusyState | None,
                        promise: str) -> dict[str, str]:
        """What a template would be filled with for this client now (the settings window's
        preview shows the same text the engine would send)."""
        now = self.clock.now()
        promised = self.replies.reply_by(now, busy, promise)
        return self.replies.values(client, inquiry, busy, promised, now)

    def _autopilot(self) -> list[AckResult]:
        sent = self.replies.autopilot() if self.settings.autopilot.tiers else []
        if self._notices_wanted():
            sent += self.replies.notices()
        return sent   # all off (the default): the sending code stays unloaded

    def _notices_wanted(self) -> bool:
        """Whether absence or after-hours replies may be due (else nothing is loaded)."""
        from heard.domain.absences import ABSENCE_KEY

        settings = self.settings
        return bool(settings.afterhours.tiers or settings.absence.calendar_tiers
                    or self.store.states(ABSENCE_KEY))

    # the outbox

    def outbox_items(self, everything: bool = False) -> list[OutboxItem]:
        """What is not done yet (or, with `everything`, the last two weeks' messages)."""
        if everything:
            return self.store.outbox(since=self.clock.now() - timedelta(days=14))
        return self.store.outbox(list(UNFINISHED))

    def retry_outbox(self, now: bool = False) -> SyncReport:
        """Move the outbox on: due retries, copies to file in Sent, sends a crash
        interrupted; with `now` (the user asked) every retry at once, whatever its back-off
        (a reply held back for Undo still waits)."""
        report = SyncReport()
        self._flush_outbox(report, now)
        return report

    def _flush_outbox(self, report: SyncReport, now: bool = False) -> None:
        before = {i.message_id: i.state for i in self.outbox_items()}
        moving = (OutboxState.QUEUED, OutboxState.SENDING, OutboxState.SENT)
        if not any(state in moving for state in before.values()):
            return   # nothing to move (and the sending code stays unloaded)
        for outcome in self.outbox.flush(now):
            retrying = outcome.state in (OutboxState.QUEUED, OutboxState.SENT) and outcome.error
            if retrying or outcome.state in (OutboxState.UNSURE, OutboxState.FAILED):
                report.errors.append(f"{outcome.message_id}: {outcome.error}")
        after = {i.message_id: i.state for i in self.outbox_items()}
        if before != after:
            self._ctx.events.changed()

    # time passing

    def tick(self, hold_alerts: bool = False) -> Ticked:
        """Everything that is due because time passed: warnings before deadlines (unless
        `hold_alerts`: the user snoozed or paused toasts; they are computed when that is
        over), retries of the outbox, automatic acknowledgements, and remote calendars
        asked for changes when due (every few minutes, and as meetings start and end). The
        tray calls this on a timer; each part's failure is logged and the others still run.
        The warnings come first: a slow mail server must not make one late."""
        none: list[tuple[str, str]] = []
        alerts = none if hold_alerts else _logged("warnings", self.reminders.alerts, none)
        outbox = SyncReport()
        try:
            self._flush_outbox(outbox)
        except Exception as exc:   # said: a reply the client has not received
            log.warning("outbox: %s", exc, exc_info=not isinstance(exc, HeardError))
            self._ctx.events.error(f"could not send: {exc}")
        return Ticked(outbox, alerts, _logged("autopilot", self._autopilot, []),
                      _logged("calendars", self.calendar.refresh, False))

    def next_tick(self) -> datetime:
        """When time next makes something due, for the tray's single-shot tick (see
        heard.engine.schedule): the next warning, deadline, badge colour, retry, meeting
        edge or calendar refresh, at most five minutes away."""
        from heard.engine.schedule import next_tick

        return next_tick(self._ctx, self.calendar, self.outbox_items())

    def plan_toasts(self, status: Status, paused: bool, on_screen: Iterable[InquiryId]
                    ) -> tuple[Plan, datetime | None]:
        """Which toasts to show for `status` (see Reminders.plan_toasts)."""
        return self.reminders.plan_toasts(status.waiting, status.busy, status.offline, paused,
                                           on_screen)




T = TypeVar("T")


def _logged(what: str, work: Callable[[], T], otherwise: T) -> T:
    """One part of the timed work: its failure is logged and the other parts still run. A
    failure Heard foresaw is said in words; any other may be a bug, so where it happened is
    logged too."""
    try:
        return work()
    except Exception as exc:
        log.warning("%s: %s", what, exc, exc_info=not isinstance(exc, HeardError))
        return otherwise


def _with_holidays(settings: Settings) -> Settings:
    """Add the days an .ics holiday calendar closes (its all-day events)."""
    if settings.opening.holiday_calendar is None:
        return settings
    from heard.calendar.ics import holidays

    try:
        days = holidays(settings.opening.holiday_calendar)
    except ValueError as exc:
        log.warning("holiday calendar not read: %s", exc)
        return settings
    return dataclasses.replace(settings, opening=dataclasses.replace(
        settings.opening, holidays=settings.opening.holidays | days))

