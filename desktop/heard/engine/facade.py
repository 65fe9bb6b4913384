"""The engine: ties sources, store and domain together. Shared by the CLI and the GUI.

It speaks plain Python: methods return dataclasses, and subscribers receive plain
events (from whichever thread did the work; the GUI turns them into Qt signals).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from heard import config
from heard.config import Account, CalendarSource, ImapAccount, MaildirAccount, Settings
from heard.config.templates import load_templates
from heard.domain.accounts import AccountHealth
from heard.domain.busy import BusyInterval, BusyState, busy_at
from heard.domain.clients import (
    DEFAULT_TIER,
    Channel,
    Client,
    ClientDirectory,
    normalize_email,
    normalize_phone,
)
from heard.domain.clock import Clock, SystemClock
from heard.domain.delegations import Assignment, Delegation
from heard.domain.ids import ClientId, InquiryId
from heard.domain.inquiries import Inquiry, InquiryState
from heard.domain.messages import MessageFacts
from heard.domain.outbox import OutboxItem, OutboxState
from heard.domain.promises import Promise
from heard.domain.standards import PROSPECT_TIER
from heard.domain.templates import Template, format_time
from heard.domain.urgency import Urgency
from heard.domain.waiting import WaitingItem, badge_urgency, waiting_count, waiting_items
from heard.engine.calendars import Calendars
from heard.engine.intake import Intake, SyncReport
from heard.errors import EngineError, NoSuchInquiry, NotWaiting
from heard.mail.maildir import Maildir
from heard.store import Store
from heard.system.paths import Profile

if TYPE_CHECKING:
    from heard.devices.imap import Sharing
    from heard.devices.settings import SharedSettingsSync, SharedStatus
    from heard.domain.classify import Classification, Rules
    from heard.domain.relayed import PatternSet
    from heard.domain.statistics import ContactMeasure, Summary
    from heard.engine.accounts import ImapAccounts
    from heard.engine.outbox import Outbox, Outcome
    from heard.engine.replies import AckResult, DelegateResult, Replies
    from heard.mail.watch import MaildirWatcher

log = logging.getLogger(__name__)

# Status reports a client can ask for, and how far apart they fall.
REPORT_EVERY = {"weekly": timedelta(weeks=1), "monthly": timedelta(days=30),
                "quarterly": timedelta(days=91)}

# How far ahead the calendar is read for busy/free answers.
CALENDAR_HORIZON = timedelta(days=8)


@dataclass(frozen=True)
class PromiseView:
    promise: Promise
    client: Client | None
    subject: str


@dataclass(frozen=True)
class Status:
    at: datetime
    count: int
    urgency: Urgency | None
    busy: BusyState | None     # None: no calendar configured, so busy is unknown
    waiting: list[WaitingItem]
    promises: list[PromiseView]
    problems: list[str] = field(default_factory=list)
    accounts: list[AccountHealth] = field(default_factory=list)
    calendar_stale: bool = False     # a remote calendar could not be refreshed lately
    reports_due: list[tuple[Client, datetime]] = field(default_factory=list)
    outbox: list[OutboxItem] = field(default_factory=list)   # not done yet, oldest first
    delegations: list[Delegation] = field(default_factory=list)  # not yet taken up
    instance: str = ""                    # this device's name among the user's devices
    owners: dict[InquiryId, str] = field(default_factory=dict)   # which device has which
    assigned: list[AssignedView] = field(default_factory=list)   # delegated elsewhere, by due
    # What the user's other devices (or the assistant) did in the last day: who did what.
    handled_elsewhere: list[tuple[Inquiry, Client | None, str]] = field(default_factory=list)
    sharing_notice: str = ""   # the server cannot coordinate the user's devices: what then

    @property
    def offline(self) -> list[AccountHealth]:
        return [a for a in self.accounts if a.online is False]


@dataclass(frozen=True)
class AssignedView:
    """A delegation made on another device: for the assistant's own Heard, `to_me`."""

    assignment: Assignment
    client: Client | None
    subject: str
    to_me: bool


@dataclass(frozen=True)
class Explanation:
    """What Heard makes of one message, and why (`heard explain`)."""

    facts: MessageFacts | None
    verdict: Classification | None
    problem: str = ""            # why the message cannot be used at all


@dataclass(frozen=True)
class Decision:
    """A decision on a prospect, with what undoing it needs."""

    kind: str                              # "client" | "prospect" | "not-a-client"
    inquiry_id: InquiryId
    person: Client                         # the record as it was before
    dismissed: tuple[InquiryId, ...] = ()
    listed: tuple[str, str] | None = None  # (value, kind) put on the not-a-client list

    def to_json(self) -> dict[str, object]:
        p = self.person
        return {"kind": self.kind, "inquiry_id": self.inquiry_id, "dismissed":
                list(self.dismissed), "listed": list(self.listed) if self.listed else None,
                "person": {"id": p.id, "name": p.name, "emails": list(p.emails),
                           "domains": list(p.domains), "phones": list(p.phones),
                           "preferred_name": p.preferred_name, "tier": p.tier,
                           "channel": p.channel.value, "preferences": dict(p.preferences),
                           "prospect": p.prospect}}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Decision:
        p = data["person"]
        person = Client(p["name"], tuple(p["emails"]), tuple(p["domains"]), tuple(p["phones"]),
                        p["preferred_name"], p["tier"], Channel(p["channel"]),
                        p["preferences"], p["prospect"], ClientId(p["id"]))
        listed = tuple(data["listed"]) if data["listed"] else None
        return cls(data["kind"], InquiryId(data["inquiry_id"]), person,
                   tuple(InquiryId(i) for i in data["dismissed"]),
                   (listed[0], listed[1]) if listed else None)


@dataclass(frozen=True)
class EngineEvent:
    """Something changed; `new` lists inquiries that just arrived (for toasts)."""

    kind: str                       # "changed" | "error" | "progress" | "accounts" | "alerts"
    new: tuple[InquiryId, ...] = ()
    message: str = ""
    toasts: tuple[tuple[str, str], ...] = ()   # "alerts": (title, text) to show


Listener = Callable[[EngineEvent], None]


class Engine:
    def __init__(self, profile: Profile, settings: Settings, store: Store,
                 clock: Clock | None = None, templates: dict[str, Template] | None = None
                 ) -> None:
        self.profile = profile
        self.settings = settings
        self.store = store
        self.clock = clock or SystemClock()
        self.templates = templates if templates is not None else load_templates(
            profile.templates)
        self._pattern_problem = ""
        self._pattern_sets: list[PatternSet] | None = None
        self.calendars = Calendars(profile.root / "calendars")
        self._lock = threading.RLock()
        self._listeners: list[Listener] = []
        self._watcher: MaildirWatcher | None = None
        self._imap_accounts: ImapAccounts | None = None
        self._calendar_cache: tuple[object, list[BusyInterval], list[str]] | None = None
        self._closed = False
        self._config_stamp = self._stamp()
        self._config_problem = ""
        self._replies: Replies | None = None
        self._outbox: Outbox | None = None
        self._sharing: Sharing | None = None
        self._shared_settings: SharedSettingsSync | None = None
        if settings.reply_template not in self.templates:
            store.close()
            raise EngineError(
                f"replies.template names {settings.reply_template!r}, which is not a template;"
                f" known: {', '.join(sorted(self.templates))}")

    @property
    def replies(self) -> Replies:
        """Acknowledging and delegating (made on first use: not on the tray's start path)."""
        if self._replies is None:
            from heard.engine.replies import Replies

            self._replies = Replies(self)
        return self._replies

    @property
    def outbox(self) -> Outbox:
        if self._outbox is None:
            from heard.engine.outbox import Outbox

            self._outbox = Outbox(self.store, self.clock, lambda: self.settings,
                                  self.replies.failed, lambda: self.sharing)
        return self._outbox

    @property
    def sharing(self) -> Sharing:
        """Claims and marks on the IMAP server, so the user's devices never answer twice."""
        if self._sharing is None:
            from heard.devices.imap import Sharing
            from heard.engine.accounts import open_connection

            self._sharing = Sharing(self.store, self.clock, lambda: self.settings,
                                    open_connection)
        return self._sharing

    @property
    def shared_settings(self) -> SharedSettingsSync:
        """Standards, templates and the designated device, agreed on the mail server."""
        if self._shared_settings is None:
            from heard.devices.settings import SharedSettingsSync

            self._shared_settings = SharedSettingsSync(
                self.profile, self.store, self.clock, lambda: self.settings,
                lambda: self.sharing)
        return self._shared_settings

    def share_settings(self, publish: bool = False, force: bool = True,
                       push: bool = False, opened: int | None = None) -> SharedStatus:
        """Agree on the shared settings with the user's other devices now (`publish`: the
        user just saved them here, in a window that showed version `opened`; `push`: this
        device's replace them). Takes up what another device changed."""
        sync = self.shared_settings
        if not force and not sync.due():
            return sync.status()
        status = sync.sync(publish=publish, push=push, opened=opened)
        if status.action == "applied":
            self.templates = load_templates(self.profile.templates)
            self.reload_settings()
            self._emit(EngineEvent("changed"))
        if status.error:
            log.warning("shared settings: %s", status.error)
        return status

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
            settings = self._with_holidays(config.load(self.profile.config))
        except config.ConfigError as exc:
            self._config_problem = f"settings not applied: {exc}"
            log.warning("%s", self._config_problem)
            return False
        self._config_problem = ""
        if settings.start_at_login != self.settings.start_at_login:
            from heard.system import autostart

            autostart.apply(settings.start_at_login)
        with self._lock:
            watched = (self._watched_folders(), self._imap_accounts_list())
            self.settings = settings
            self._calendar_cache = None
        # Outside the lock: stopping the watcher waits for its sync, which needs the lock.
        if self._watcher is not None and (self._watched_folders(),
                                          self._imap_accounts_list()) != watched:
            self.stop_watching()
            self.start_watching()
        log.info("settings reloaded from %s", self.profile.config)
        return True

    @property
    def _imap(self) -> ImapAccounts:
        """The IMAP side, made on first use: imapclient, ssl and the keyring stay off the
        start-up path of a profile without IMAP accounts."""
        if self._imap_accounts is None:
            from heard.engine.accounts import ImapAccounts

            self._imap_accounts = ImapAccounts(
                self._intake, lambda: (self.directory(), self.own_addresses()), self._lock,
                self.clock, lambda: self._emit(EngineEvent("accounts")),
                lambda text: self._emit(EngineEvent("progress", message=text)),
                self._save_health)
        return self._imap_accounts

    def _imap_accounts_list(self) -> list[ImapAccount]:
        return [a for a in self.settings.accounts if isinstance(a, ImapAccount)]

    @staticmethod
    def _with_holidays(settings: Settings) -> Settings:
        """Add the days an .ics holiday calendar closes (its all-day events)."""
        if settings.holiday_calendar is None:
            return settings
        from heard.calendar.ics import holidays

        try:
            days = holidays(settings.holiday_calendar)
        except ValueError as exc:
            log.warning("holiday calendar not read: %s", exc)
            return settings
        return dataclasses.replace(settings, holidays=settings.holidays | days)

    @classmethod
    def open(cls, profile: Profile, clock: Clock | None = None) -> Engine:
        profile.create()
        settings = cls._with_holidays(config.load(profile.config))
        return cls(profile, settings, Store(profile.database), clock)

    def close(self) -> None:
        if self._sharing is not None:
            self._sharing.close()
        self._closed = True
        self.stop_watching()
        with self._lock:  # never in the middle of a sync
            self.store.close()

    # events

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def _emit(self, event: EngineEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("an engine listener failed")

    # clients

    def directory(self) -> ClientDirectory:
        return ClientDirectory(self.store.clients())

    def _normalized(self, client: Client) -> Client:
        """Phone numbers in E.164, read in the user's region when written without +code."""
        region = self.settings.user.phone_region
        phones = tuple(normalize_phone(p, region) or p for p in client.phones)
        return dataclasses.replace(client, phones=phones)

    def add_client(self, client: Client) -> Client:
        added = self.store.add_client(self._normalized(client), self.clock.now())
        self._emit(EngineEvent("changed"))
        return added

    def update_client(self, client: Client) -> Client:
        updated = self.store.update_client(self._normalized(client))
        self._emit(EngineEvent("changed"))
        return updated

    def remove_client(self, client_id: ClientId) -> bool:
        removed = self.store.remove_client(client_id)
        self._emit(EngineEvent("changed"))
        return removed

    def clients(self) -> list[Client]:
        return self.store.clients()

    # intake

    def own_addresses(self) -> frozenset[str]:
        return frozenset({*self.settings.user.addresses,
                          *(normalize_email(a.address) for a in self.settings.accounts
                            if a.address)})

    def _intake(self) -> Intake:
        return Intake(self.store, self.clock, self.settings.zone, self.settings.mail_window,
                      self.rules(), frozenset(normalize_email(a.address)
                                              for a in self.settings.assistants))

    @property
    def pattern_sets(self) -> list[PatternSet]:
        """Voicemail and contact-form patterns, read (and their regexes compiled) on first
        use rather than on the tray's start-up path."""
        if self._pattern_sets is None:
            from heard.config.patterns import PatternError, default_pattern_sets, load_pattern_sets

            try:
                self._pattern_sets = load_pattern_sets(self.profile.patterns)
            except PatternError as exc:  # a broken file of one's own must not stop intake
                self._pattern_problem = f"voicemail/form patterns not applied: {exc}"
                log.warning("%s", self._pattern_problem)
                self._pattern_sets = default_pattern_sets()
        return self._pattern_sets

    def rules(self) -> Rules:
        """What classification needs besides the directory, from settings and store."""
        from heard.domain.classify import Rules, own_organisation
        from heard.domain.senders import ProspectRules

        prospects = None
        if self.settings.prospects_enabled:
            learned = self.store.not_clients()
            prospects = ProspectRules(
                internal_domains=frozenset(self.settings.internal_domains)
                | own_organisation(self.own_addresses()),
                not_clients=frozenset(v for v, kind in learned if kind == "address"),
                not_client_domains=frozenset(v for v, kind in learned if kind == "domain"))
        return Rules(own=self.own_addresses(), relayed=self.pattern_sets,
                     region=self.settings.user.phone_region, prospects=prospects,
                     not_client_phones=frozenset(v for v, kind in self.store.not_clients()
                                                 if kind == "phone"))

    # prospects

    def decide(self, inquiry_id: InquiryId, decision: str, *, whole_domain: bool = False,
               tier: str | None = None) -> Decision:
        """The user's word on a prospect: "client" (into the directory with what was
        parsed), "prospect" (keep the prospect tier) or "not-a-client" (this sender, or
        the whole domain; their open inquiries are dismissed and such mail no longer
        counts). Returns what `undo` needs."""
        inquiry = self.store.inquiry(inquiry_id)
        if inquiry is None:
            raise NoSuchInquiry(inquiry_id)
        person = self.store.client(inquiry.client_id)
        if person is None:
            raise EngineError(f"the sender of inquiry {inquiry_id} is no longer known")
        if not person.prospect and decision != "client":
            raise EngineError(f"{person.name} is already a client (`heard clients edit`)")
        now = self.clock.now()
        dismissed: list[InquiryId] = []
        listed: tuple[str, str] | None = None
        with self._lock, self.store.transaction():
            if decision == "client":
                self.store.update_client(dataclasses.replace(
                    person, prospect=False,
                    tier=tier or (person.tier if person.tier != PROSPECT_TIER
                                  else DEFAULT_TIER)))
            elif decision == "prospect":
                prefs = {**person.preferences, "reviewed": now.isoformat(timespec="seconds")}
                self.store.update_client(dataclasses.replace(person, preferences=prefs))
            elif decision == "not-a-client":
                listed = self._not_client_entry(person, whole_domain)
                self.store.add_not_client(listed[0], listed[1], now)
                for open_one in self.store.open_inquiries():
                    if open_one.client_id == person.id and open_one.id is not None:
                        self.store.save_inquiry(open_one.dismiss(now))
                        dismissed.append(open_one.id)
                # Gone from the directory, so their next mail meets the list, not a match.
                assert person.id is not None
                self.store.remove_client(person.id)
            else:
                raise EngineError(f"unknown decision {decision!r}: say client, prospect or"
                                  " not-a-client")
        self._emit(EngineEvent("changed"))
        result = Decision(decision, inquiry_id, person, tuple(dismissed), listed)
        self._remember(result)
        return result

    @staticmethod
    def _not_client_entry(person: Client, whole_domain: bool) -> tuple[str, str]:
        if person.emails:
            address = person.emails[0]
            return (address.rpartition("@")[2], "domain") if whole_domain else (address,
                                                                                 "address")
        if person.phones and not whole_domain:
            return person.phones[0], "phone"
        raise EngineError(f"{person.name} has no address or number to leave out")

    def undo(self, decision: Decision | None = None) -> Decision:
        """Take back a decision (by default the last one made on this profile)."""
        decision = decision or self._last_decision()
        if decision is None:
            raise EngineError("there is no decision to undo")
        now = self.clock.now()
        with self._lock, self.store.transaction():
            if decision.person.id is not None and self.store.client(decision.person.id):
                self.store.update_client(decision.person)
            elif decision.person.id is not None:
                self.store.restore_client(decision.person, now)
            if decision.listed is not None:
                self.store.remove_not_client(decision.listed[0])
            for inquiry_id in decision.dismissed:
                inquiry = self.store.inquiry(inquiry_id)
                if inquiry is not None and inquiry.state is InquiryState.DISMISSED:
                    self.store.save_inquiry(inquiry.move_to(InquiryState.WAITING, now))
        self.profile.last_decision.unlink(missing_ok=True)
        self._emit(EngineEvent("changed"))
        return decision

    def _remember(self, decision: Decision) -> None:
        import json

        self.profile.last_decision.write_text(json.dumps(decision.to_json()),
                                              encoding="utf-8")

    def _last_decision(self) -> Decision | None:
        import json

        try:
            data = json.loads(self.profile.last_decision.read_text(encoding="utf-8"))
            return Decision.from_json(data)
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def not_clients(self) -> list[tuple[str, str]]:
        return self.store.not_clients()

    def remove_not_client(self, value: str) -> bool:
        removed = self.store.remove_not_client(value.strip().lower())
        self._emit(EngineEvent("changed"))
        return removed

    def sync(self, only: str | None = None) -> SyncReport:
        """Read what is new in every account (or the one named); send what the outbox
        still holds. A failing account is reported and the others still sync."""
        self.reload_settings()
        report = SyncReport()
        for account in self.settings.accounts:
            if only is not None and account.name != only:
                continue
            if isinstance(account, ImapAccount):
                self._imap.sync(account, report)
                continue
            with self._lock:
                self._intake().sync_account(account, self.directory(), self.own_addresses(),
                                            report)
        if only is None:
            self._flush_outbox(report)
            self._take_requests(report)
            if self._imap_accounts_list():
                # Never in the way of the count: what goes wrong is logged and said.
                for step in (lambda: self._know_capabilities(report),
                             lambda: self.share_settings(force=False),
                             self._learn_assignments):
                    try:
                        step()
                    except Exception as exc:
                        log.exception("sync: %s", exc)
                        report.errors.append(f"devices: {exc}")
            self.refresh_calendars(force=True)
            self.autopilot()
        if report.changed:
            self._emit(EngineEvent("changed", tuple(report.new_inquiries)))
        return report

    def _take_requests(self, report: SyncReport) -> None:
        """The designated device sends what the user's other devices asked it to (on a
        server that keeps no keywords, the only safe way for several devices)."""
        settings = self.settings
        if settings.designated_instance not in ("", settings.instance) \
                or not self._imap_accounts_list():
            return   # (a Maildir setup never loads the sharing code)
        from heard.devices.wire.claims import Mode
        from heard.mail.imap import ImapError

        for account in self._reached(report):
            try:
                if self.sharing.capabilities(account).mode is not Mode.DESIGNATED:
                    continue
                self.sharing.take_requests(account, self._requested)
            except (ImapError, EngineError) as exc:
                log.warning("%s: requests of your other devices: %s", account.name, exc)

    def _requested(self, kind: str, message_id: str, options: dict[str, str],
                   by: str) -> None:
        """On the designated device: do what another device of the user's asked (ack,
        delegate, dismiss, answered, undismiss) to the inquiry of the client's message.
        What is unknown, or no longer possible here, is logged and dropped."""
        if kind not in ("ack", "delegate", "dismiss", "answered", "undismiss"):
            log.warning("a request of %r to %s is not known here; dropped", by, kind)
            return
        inquiry = self._requested_inquiry(kind, message_id, options)
        if inquiry is None or inquiry.id is None:
            log.warning("%r asked to %s %s, which is not %s here; dropped", by, kind,
                        message_id, "dismissed" if kind == "undismiss" else "open")
            return
        log.info("%s of inquiry %s as %r asked", kind, inquiry.id, by)
        try:
            if kind == "ack":
                reply_by = self._requested_time(options.get("reply_by"))
                self.acknowledge(inquiry.id, str(options.get("template") or "") or None,
                                 reply_by if reply_by and reply_by > self.clock.now()
                                 else None)
            elif kind == "delegate":
                self._requested_delegate(inquiry, inquiry.id, options, by)
            elif kind == "dismiss":
                self.dismiss(inquiry.id)
            elif kind == "answered":
                self.mark_answered(inquiry.id)
            else:
                self.undismiss(inquiry.id)
        except EngineError as exc:   # already done, or no longer possible
            log.warning("the %s %r asked for: %s", kind, by, exc)

    def _requested_inquiry(self, kind: str, message_id: str, options: dict[str, str]
                           ) -> Inquiry | None:
        """The inquiry of the client's message a request acts on, in a state it may."""
        if not message_id:
            return None
        if kind == "undismiss":
            # No store query finds a closed inquiry by its message: look around the time
            # the asking device says it arrived (both read it from the same server).
            try:
                received = datetime.fromisoformat(str(options.get("received") or ""))
            except ValueError:
                return None
            if received.tzinfo is None:
                return None
            return next((i for i in self.store.inquiries_between(
                received - timedelta(days=1), received + timedelta(days=1))
                if i.message_id == message_id and i.state is InquiryState.DISMISSED), None)
        states = {"ack": (InquiryState.WAITING,)}.get(
            kind, (InquiryState.WAITING, InquiryState.ACKNOWLEDGED))
        candidates = self.store.open_inquiries_in_thread([message_id])
        if kind == "answered":   # a delegated one is answered too
            candidates += [i for i in (self.store.inquiry(d.inquiry_id)
                                       for d in self.store.open_delegations()) if i]
            states = (*states, InquiryState.DELEGATED)
        return next((i for i in candidates if i.message_id == message_id
                     and i.state in states and i.id is not None), None)

    @staticmethod
    def _requested_time(text: object) -> datetime | None:
        """A time in a request (ISO 8601 with its offset); None when missing or bad."""
        try:
            at = datetime.fromisoformat(str(text)) if text else None
        except ValueError:
            return None
        return at if at is not None and at.tzinfo is not None else None

    def _requested_delegate(self, inquiry: Inquiry, inquiry_id: InquiryId,
                            options: dict[str, str], by: str) -> None:
        """Hand it to the assistant the asking device named (its name or address; "" for
        the first), with its note and due time (a bad or past one: the default)."""
        to = str(options.get("to") or "").strip() or None
        try:
            helper = self.replies.assistant(to)
        except EngineError as exc:
            log.warning("%r asked to delegate inquiry %s: %s; dropped", by, inquiry.id, exc)
            return
        due = self._requested_time(options.get("due"))
        if options.get("due") and (due is None or due <= self.clock.now()):
            log.warning("%r asked to delegate inquiry %s due %r: the default due time"
                        " instead", by, inquiry.id, options.get("due"))
            due = None
        tell = {"yes": True, "no": False}.get(str(options.get("tell_client") or ""))
        client = self.store.client(inquiry.client_id)
        if tell and client is not None and not client.assistant_allowed:
            tell = False   # the preference changed here since: delegate, tell nobody
        result = self.delegate(inquiry_id, helper.address, str(options.get("note") or ""),
                               due, tell)
        if result.error:
            log.warning("the delegation %r asked for is not out yet: %s", by, result.error)

    def explain(self, raw: bytes) -> Explanation:
        """The intake's verdict on one message, without storing anything."""
        from heard.mail.parse import MalformedMessage, parse_message

        try:
            facts = parse_message(raw)
        except MalformedMessage as exc:
            return Explanation(None, None, f"malformed: {exc.reason}")
        return Explanation(facts, self._intake().classify(facts, self.directory(),
                                                          self.own_addresses()))

    def _save_health(self, health: AccountHealth) -> None:
        """Kept in the store, so `heard status` in another process knows it too."""
        if self._closed:
            return
        try:
            self.store.save_account_state(health.name, health.online, health.problem,
                                          health.since, health.push, health.last_sync)
        except Exception:  # the store closing under a watcher thread: not worth a crash
            log.debug("account state not saved", exc_info=True)

    def accounts(self) -> list[AccountHealth]:
        saved = self.store.account_states()
        result = []
        for account in self.settings.accounts:
            if not isinstance(account, ImapAccount):
                result.append(AccountHealth(account.name, "maildir", online=True))
                continue
            health = (self._imap_accounts.health.get(account.name)
                      if self._imap_accounts is not None else None)
            if health is None and account.name in saved:
                online, problem, since, push, last_sync = saved[account.name]
                health = AccountHealth(account.name, "imap", online, problem, since, push,
                                       last_sync)
            result.append(health or AccountHealth(account.name, "imap"))
        return result

    def test_account(self, account: Account) -> AccountHealth:
        """Log in (IMAP) or look at the folders (Maildir) once, and say what is wrong."""
        if isinstance(account, ImapAccount):
            return self._imap.test(account)
        missing = [str(f) for f in (account.inbox, account.sent, account.outbox)
                   if f is not None and not Maildir(f).exists()]
        problem = (f"not a Maildir (it needs new/, cur/ and tmp/): {', '.join(missing)}"
                   if missing else "")
        return AccountHealth(account.name, "maildir", not missing, problem)

    def test_smtp(self, account: Account) -> str | None:
        """Log in to the account's SMTP server, sending nothing: None, or what is wrong."""
        from heard.engine.outbox import smtp_password
        from heard.mail.smtp import SmtpTransport
        from heard.mail.transport import SendError

        if account.smtp is None:
            return f"{account.name} has no SMTP server"
        try:
            SmtpTransport(account.name, account.smtp, lambda: smtp_password(account)).test()
        except SendError as exc:
            return exc.problem
        return None

    def log_call(self, who: str, at: datetime | None = None, note: str = "") -> Inquiry:
        """A call the user missed or took a message for, logged by hand: `who` is a phone
        number or a client's id or name. It waits like any other contact."""
        from heard.mail.compose import make_message_id

        now = self.clock.now()
        at = at or now
        if at > now + timedelta(minutes=1):
            raise EngineError("a call cannot be logged in the future")
        region = self.settings.user.phone_region
        directory = self.directory()
        number = normalize_phone(who, region) if any(ch.isdigit() for ch in who) else None
        client = directory.match_phone(who, region) if number else self._client_named(who)
        if client is None or client.id is None:
            raise EngineError(
                f"no client has the number {number}; add it with `heard clients edit NAME"
                f" --phone {number}` or `heard clients add NAME --phone {number}`"
                if number else f"no client matches {who!r} and it is not a phone number")
        number = number or next(iter(client.phones), "")
        subject = f"Call from {client.name}" + (f": {note}" if note else "")
        with self._lock:
            inquiry = self.store.add_inquiry(Inquiry(
                client_id=client.id, channel=Channel.CALL, received_at=at,
                subject=" ".join(subject.split())[:200], sender=number,
                reply_to=next(iter(client.emails), ""),
                message_id=make_message_id("call.heard.invalid"), preview=note[:400]))
        self._emit(EngineEvent("changed", (inquiry.id,) if inquiry.id else ()))
        return inquiry

    def _client_named(self, key: str) -> Client | None:
        clients = self.clients()
        if key.strip().isdigit():
            return next((c for c in clients if c.id == int(key)), None)
        found = [c for c in clients if c.name.lower() == key.lower().strip()] or [
            c for c in clients if key.lower().strip() in c.name.lower()]
        if len(found) > 1:
            raise EngineError(f"{key!r} matches {len(found)} clients; use the id from"
                              " `heard clients list`")
        return found[0] if found else None

    # calendar

    def _intervals(self, at: datetime) -> tuple[list[BusyInterval], list[str]]:
        """Busy intervals around `at`, re-read only when a calendar file or a local copy of
        a remote calendar changes. Never touches the network (see refresh_calendars)."""
        stamp: list[object] = [at.date(), self.settings.tentative_busy]
        for cal in self.settings.calendars:
            try:
                stamp.extend((str(f), f.stat().st_mtime_ns if f.exists() else None)
                             for f in self.calendars.stamp_files(cal))
            except OSError:
                stamp.append((cal.name, None))
        key = tuple(stamp)
        if self._calendar_cache and self._calendar_cache[0] == key:
            return self._calendar_cache[1], self._calendar_cache[2]
        start = at - timedelta(days=1)
        intervals: list[BusyInterval] = []
        errors: list[str] = []
        me = self.own_addresses()
        for cal in self.settings.calendars:
            try:
                found, problems = self.calendars.busy_intervals(
                    cal, start, start + CALENDAR_HORIZON, self.settings.zone, me,
                    self.settings.tentative_busy)
            except ValueError as exc:
                errors.append(f"{cal.name}: {exc}")
                continue
            intervals.extend(found)
            errors.extend(f"{cal.name}: {p}" for p in problems)
        self._calendar_cache = (key, intervals, errors)
        return intervals, errors

    def refresh_calendars(self, force: bool = False) -> bool:
        """Ask remote calendars for changes when due (every few minutes, and at each
        meeting's start and end); True if busy time may have changed. A server that cannot
        be reached leaves the last known state in use, marked stale."""
        now = self.clock.now()
        remote = [c for c in self.settings.calendars if c.remote]
        if not remote:
            return False
        boundary = self._last_boundary(now)
        changed = False
        for cal in remote:
            if not force and not self.calendars.due(cal, now, boundary):
                continue
            was_stale = cal.name in self.calendars.stale()
            changed |= self.calendars.refresh(cal, self._calendar_password(cal), now)
            changed |= was_stale != (cal.name in self.calendars.stale())
        if changed:
            self._emit(EngineEvent("changed"))
        return changed

    def test_calendar(self, cal: CalendarSource) -> tuple[bool, str]:
        """Read (a local calendar) or refresh (a remote one) once; what is wrong, if
        anything, in plain words."""
        if cal.remote:
            self.calendars.refresh(cal, self._calendar_password(cal), self.clock.now())
            state = self.calendars.states.get(cal.name)
            if state is not None and state.problem:
                return False, state.problem
        now = self.clock.now()
        self._calendar_cache = None
        try:
            _found, problems = self.calendars.busy_intervals(
                cal, now, now + CALENDAR_HORIZON, self.settings.zone, self.own_addresses(),
                self.settings.tentative_busy)
        except ValueError as exc:
            return False, str(exc)
        return not problems, "; ".join(problems[:3])

    def _last_boundary(self, now: datetime) -> datetime | None:
        """The latest meeting start or end that has passed (from the cached intervals)."""
        if self._calendar_cache is None:
            return None
        past = [t for iv in self._calendar_cache[1] for t in (iv.start, iv.end) if t <= now]
        return max(past, default=None)

    def _calendar_password(self, cal: CalendarSource) -> str | None:
        if cal.kind != "caldav":
            return None
        from heard.system import secrets

        try:
            return secrets.get_password(cal.keyring_name)
        except secrets.SecretsUnavailable as exc:
            log.warning("calendar %s: %s", cal.name, exc)
            return None

    def busy(self, at: datetime | None = None) -> BusyState | None:
        if not self.settings.calendars:
            return None
        at = at or self.clock.now()
        intervals, _errors = self._intervals(at)
        return busy_at(intervals, at, self.settings.min_free, hours=self.settings.hours)

    # status

    def status(self) -> Status:
        self.reload_settings()
        now = self.clock.now()
        # Not under the engine lock: the badge must not wait for a long sync to finish.
        inquiries = self.store.open_inquiries()
        clients = {c.id: c for c in self.store.clients() if c.id is not None}
        promises = self.store.open_promises()
        items = waiting_items(inquiries, clients, self.settings.standards, self.settings.hours,
                              now)
        by_id = {i.id: i for i in inquiries}
        views = [PromiseView(p, clients.get(p.client_id),
                             by_id[p.inquiry_id].subject if p.inquiry_id in by_id else "")
                 for p in promises]
        busy: BusyState | None = None
        problems: list[str] = []
        for name, state in self.calendars.stale().items():
            stale_at = state.stale_since or now
            problems.append(f"calendar {name} could not be refreshed since"
                            f" {stale_at.astimezone(self.settings.zone):%H:%M}"
                            f" ({state.problem}); busy times are the last known ones")
        if self.settings.calendars:
            intervals, calendar_problems = self._intervals(now)
            busy = busy_at(intervals, now, self.settings.min_free, hours=self.settings.hours)
            problems.extend(calendar_problems)
        if self._config_problem:
            problems.append(self._config_problem)
        if self._pattern_problem:
            problems.append(self._pattern_problem)
        accounts = self.accounts()
        for health in accounts:
            if health.online is False:
                since = f" since {health.since.astimezone(self.settings.zone):%H:%M}" \
                    if health.since else ""
                problems.append(f"{health.name} is offline{since}: {health.problem};"
                                " Heard keeps trying, and the count may miss its mail")
        outbox = self.outbox_items()
        retrying = [i for i in outbox if i.state is OutboxState.QUEUED and i.error]
        if retrying:
            # An acknowledgement the client has not received must never look done.
            problems.append(f"{len(retrying)} message(s) not sent yet ({retrying[-1].error});"
                            " Heard keeps trying")
        for item in outbox:
            if item.state is OutboxState.UNSURE:
                problems.append(f"unsure whether the message to {item.recipient} went out:"
                                f" {item.error} (`heard outbox`)")
        for item in self.store.outbox([OutboxState.FAILED], since=now - timedelta(days=1)):
            problems.append(f"not sent to {item.recipient}: {item.error}"
                            " (`heard outbox --all`)")
        delegations = self.store.open_delegations()
        return Status(now, waiting_count(items), badge_urgency(items), busy, items, views,
                      problems, accounts, bool(self.calendars.stale()),
                      self.reports_due(now, clients.values()), outbox, delegations,
                      self.settings.instance, self.store.owners(), self.assigned(clients),
                      [(i, clients.get(i.client_id), by) for i, by in
                       self.store.handled_elsewhere(self.settings.instance,
                                                    now - timedelta(days=1))],
                      self._sharing_notice())

    def _sharing_notice(self) -> str:
        """When an account's server cannot coordinate the user's devices, what that means
        here (from what the last sync learnt; never a login of its own)."""
        if self._sharing is None:
            return ""
        from heard.devices.wire.claims import Mode

        settings = self.settings
        for account in self._imap_accounts_list():
            caps = self._sharing.known_capabilities(account.name)
            if caps is None:
                continue
            if caps.mode is Mode.DESIGNATED:
                designated = settings.designated_instance
                if not designated:
                    return (f"{account.name}: the mail server cannot coordinate your devices;"
                            " if you run Heard on more than one, name the one that sends in"
                            " Settings → General → Designated device")
                if designated != settings.instance:
                    return (f"{account.name}: the mail server cannot coordinate your devices:"
                            f" replies go out from {designated!r}; what you click here is"
                            " passed to it")
            elif caps.mode is Mode.LOCAL:
                return (f"{account.name}: Heard cannot change this mailbox, so nothing is"
                        " shared with your other devices; use Heard on one device only")
        return ""

    def assigned(self, clients: dict[ClientId, Client] | None = None) -> list[AssignedView]:
        """Delegations made on another device, by due time; `to_me` on the assistant's
        own Heard (the delegation names one of this user's addresses)."""
        if clients is None:
            clients = {c.id: c for c in self.store.clients() if c.id is not None}
        mine = frozenset(a.lower() for a in self.own_addresses())
        views = []
        for assignment in self.store.assignments():
            inquiry = self.store.inquiry(assignment.inquiry_id)
            views.append(AssignedView(assignment,
                                      clients.get(inquiry.client_id) if inquiry else None,
                                      inquiry.subject if inquiry else "",
                                      assignment.to(mine)))
        return views

    def _reached(self, report: SyncReport) -> list[ImapAccount]:
        """The IMAP accounts this sync reached (the others' sync said what is wrong)."""
        failed = " ".join(report.errors)
        return [a for a in self._imap_accounts_list() if f"{a.name}:" not in failed]

    def _know_capabilities(self, report: SyncReport) -> None:
        """Once per account and process: how its server lets the devices coordinate."""
        from heard.mail.imap import ImapError

        for account in self._reached(report):
            if self.sharing.known_capabilities(account.name) is not None:
                continue
            try:
                self.sharing.capabilities(account)
            except (ImapError, EngineError) as exc:   # the next sync asks again
                log.info("%s: how your devices coordinate is not known yet: %s",
                         account.name, exc)

    def _learn_assignments(self) -> None:
        """Delegated on another device: learn to whom and by when (the records in the
        Heard folder), so the assistant's Heard lists them with their due times."""
        from heard.mail.imap import ImapError

        wanted = self.store.unexplained_delegations()
        if not wanted:
            return
        learnt = []
        for account in self._imap_accounts_list():
            try:
                learnt += self.sharing.learn_assignments(account, wanted)
            except (ImapError, EngineError) as exc:
                log.warning("%s: delegations of your other devices: %s", account.name, exc)
        if learnt:
            self._emit(EngineEvent("changed"))

    # acknowledging and delegating (heard.engine.replies does the work)

    def _emit_changed(self) -> None:
        self._emit(EngineEvent("changed"))

    def _emit_toast(self, title: str, text: str) -> None:
        self._emit(EngineEvent("alerts", toasts=((title, text),)))

    def _emit_error(self, message: str) -> None:
        self._emit(EngineEvent("error", message=message))

    def acknowledge(self, inquiry_id: InquiryId, template: str | None = None,
                    reply_by: datetime | None = None, dry_run: bool = False, *,
                    subject: str | None = None, body: str | None = None,
                    delay: timedelta = timedelta(0)) -> AckResult:
        """Send the client an acknowledgement and record the promise it makes (see
        Replies.acknowledge)."""
        return self.replies.acknowledge(inquiry_id, template, reply_by, dry_run,
                                        subject=subject, body=body, delay=delay)

    def send_queued(self, message_id: str) -> AckResult | None:
        return self.replies.send_queued(message_id)

    def cancel_send(self, message_id: str) -> OutboxItem:
        """Undo: a message still held back is not sent, and the client waits again."""
        return self.replies.cancel(message_id)

    def delegate(self, inquiry_id: InquiryId, to: str | None = None, note: str = "",
                 due: datetime | None = None, tell_client: bool | None = None,
                 dry_run: bool = False) -> DelegateResult:
        return self.replies.delegate(inquiry_id, to, note, due, tell_client, dry_run)

    def autopilot(self) -> list[AckResult]:
        if not self.settings.autopilot_tiers:
            return []   # off (the default): the sending code stays unloaded
        return self.replies.autopilot()

    def outbox_items(self, everything: bool = False) -> list[OutboxItem]:
        """What is not done yet (or, with `everything`, the last two weeks' messages)."""
        if everything:
            return self.store.outbox(since=self.clock.now() - timedelta(days=14))
        return self.store.outbox([OutboxState.QUEUED, OutboxState.SENDING, OutboxState.SENT,
                                  OutboxState.UNSURE])

    def resend(self, message_id: str) -> Outcome:
        outcome = self.outbox.resend(message_id)
        self._emit_changed()
        return outcome

    def mark_sent(self, message_id: str) -> Outcome:
        outcome = self.outbox.mark_sent(message_id)
        self._emit_changed()
        return outcome

    def alerts(self) -> list[tuple[str, str]]:
        """Warnings before deadlines and promises are missed, and status reports due: each
        given once (remembered in the store, also across restarts), grouped into at most a
        few toasts; quiet outside working hours unless the client is VIP. Emitted as an
        "alerts" event for the tray, and returned."""
        from heard.domain.warnings import (
            LeadTimes,
            answers_owed,
            due_alerts,
            group,
            pop_in_meeting,
        )

        now = self.clock.now()
        settings = self.settings
        with self._lock:
            inquiries = self.store.open_inquiries()
            clients = {c.id: c for c in self.store.clients() if c.id is not None}
            items = waiting_items(inquiries, clients, settings.standards, settings.hours, now)
            owed = answers_owed(inquiries, clients, settings.standards, settings.hours)
            promises = [(p, clients[p.client_id]) for p in self.store.open_promises()
                        if p.client_id in clients]
            # Every key ever given: a deadline long overdue must not warn again.
            already = self.store.alerts_sent()
            lead = LeadTimes(settings.warn_before_ack, settings.warn_before_answer,
                             settings.warn_before_promise)
            found = due_alerts(items, owed, promises, now, lead, already, settings.hours,
                               frozenset(settings.urgent_tiers))
            reports = [(c, due) for c, due in self.reports_due(now, clients.values())
                       if f"report:{c.id}:{due.isoformat()}" not in already]
            late = [d for d in self.store.open_delegations() if d.overdue(now)
                    and f"delegation:{d.inquiry_id}:{d.due.isoformat()}" not in already]
            mine = frozenset(a.lower() for a in self.own_addresses())
            mine_late = [a for a in self.store.assignments() if a.to(mine) and a.overdue(now)
                         and f"assigned:{a.inquiry_id}:{a.due.isoformat()}" not in already]
            if settings.quiet_in_meetings and (busy := self.busy(now)) is not None \
                    and busy.now:
                # In a meeting only what cannot wait pops; the rest comes when it ends
                # (not marked as given, so the next look after the meeting finds it).
                found, _later = pop_in_meeting(found, now, frozenset(settings.urgent_tiers),
                                               settings.warn_before_ack)
                reports, late, mine_late = [], [], []
            self.store.mark_alerts([a.key for a in found]
                                   + [f"report:{c.id}:{due.isoformat()}" for c, due in reports]
                                   + [f"delegation:{d.inquiry_id}:{d.due.isoformat()}"
                                      for d in late]
                                   + [f"assigned:{a.inquiry_id}:{a.due.isoformat()}"
                                      for a in mine_late], now)
        toasts = [(t.title, t.text) for t in group(found, now, settings.zone)]
        for delegation in late:
            inquiry = self.store.inquiry(delegation.inquiry_id)
            client = clients.get(inquiry.client_id) if inquiry else None
            toasts.append((f"{delegation.assistant} has not taken it up",
                           f"{client.name if client else 'A client'}'s message was due to be"
                           f" taken up by {format_time(delegation.due, settings.zone, now)};"
                           " check with them, or answer it yourself"))
        for assignment in mine_late:
            inquiry = self.store.inquiry(assignment.inquiry_id)
            client = clients.get(inquiry.client_id) if inquiry else None
            toasts.append((f"Due: {client.name if client else 'a client'}",
                           f"handed to you by {assignment.by!r}, due"
                           f" {format_time(assignment.due, settings.zone, now)}"
                           + (f": {assignment.note}" if assignment.note else "")))
        if reports:
            names = [c.display_name for c, _ in reports]
            toasts.append(("Status report due" if len(names) == 1 else
                           f"{len(names)} status reports due", ", ".join(names[:4])))
        if toasts:
            self._emit(EngineEvent("alerts", toasts=tuple(toasts)))
        return toasts

    def measures(self, since: datetime, until: datetime) -> list[ContactMeasure]:
        """Every contact received in [since, until) against its standard (for charts)."""
        from heard.domain.statistics import measure

        clients = {c.id: c for c in self.store.clients() if c.id is not None}
        return measure(self.store.timelines_between(since, until), clients,
                       self.settings.standards, self.settings.hours, self.clock.now())

    def stats(self, since: datetime, until: datetime, group_by: str = "all",
              prospects: bool | None = None) -> list[Summary]:
        """Standards compliance of the contacts received in [since, until): counts, shares
        in time, median and p90 times, breaches, promises kept, progress toward each goal.
        `prospects`: True only new people, False only clients, None both."""
        from heard.domain.statistics import is_client, is_prospect, measure, summarise

        now = self.clock.now()
        inquiries = self.store.timelines_between(since, until)
        clients = {c.id: c for c in self.store.clients() if c.id is not None}
        measures = measure(inquiries, clients, self.settings.standards, self.settings.hours,
                           now)
        where = None if prospects is None else (is_prospect if prospects else is_client)
        return summarise(measures, self.store.promises_between(since, until),
                         group_by=group_by, where=where, now=now)  # type: ignore[arg-type]

    def reports_due(self, now: datetime, clients: Any) -> list[tuple[Client, datetime]]:
        """Clients whose preference asks for a regular status report that is now due
        (counted from the last one noted, or from when the preference was first seen)."""
        wanted = [c for c in clients if c.preferences.get("status_reports") in REPORT_EVERY
                  and c.id is not None and not c.prospect]
        if not wanted:
            return []
        sent = self.store.status_reports()
        due = []
        for client in wanted:
            assert client.id is not None
            last = sent.get(client.id)
            if last is None:  # the clock starts when the preference is first seen
                self.store.mark_status_report(client.id, now)
                continue
            next_due = last + REPORT_EVERY[client.preferences["status_reports"]]
            if next_due <= now:
                due.append((client, next_due))
        return sorted(due, key=lambda pair: pair[1])

    def snoozed_until(self) -> datetime | None:
        """Toasts are held back until then (the badge keeps counting); None: not snoozed."""
        text = self.store.state("snooze_until")
        until = datetime.fromisoformat(text) if text else None
        return until if until is not None and until > self.clock.now() else None

    def snooze(self, until: datetime | None) -> None:
        """Hold toasts back until `until` (None: wake up now). Kept across restarts."""
        self.store.set_state("snooze_until", until.isoformat() if until else None)
        self._emit(EngineEvent("changed"))

    def status_report_sent(self, client_id: ClientId) -> None:
        self.store.mark_status_report(client_id, self.clock.now())
        self._emit(EngineEvent("changed"))

    def _close(self, inquiry_id: InquiryId, state: InquiryState) -> Inquiry:
        now = self.clock.now()
        with self._lock:
            inquiry = self.store.inquiry(inquiry_id)
            if inquiry is None:
                raise NoSuchInquiry(inquiry_id)
            delegated = inquiry.state is InquiryState.DELEGATED
            if not (inquiry.state.is_open or (delegated and state is InquiryState.ANSWERED)):
                raise NotWaiting(inquiry)
            moved = inquiry.move_to(state, now)
            with self.store.transaction():
                if not self.store.move_inquiry(moved, inquiry.state):
                    raise NotWaiting(self.store.inquiry(inquiry_id) or inquiry)
                # This device acted last: not "handled elsewhere" here.
                self.store.set_owner(inquiry_id, self.settings.instance)
                if state is InquiryState.ANSWERED:
                    self.store.close_promises(inquiry_id, now)
                    self.store.confirm_delegation(inquiry_id, now)
        self._emit(EngineEvent("changed"))
        return moved

    def mark_answered(self, inquiry_id: InquiryId) -> Inquiry:
        """The client got their answer another way (a call, a meeting). On a server that
        keeps no keywords the designated device is told too (elsewhere nobody is)."""
        inquiry = self._close(inquiry_id, InquiryState.ANSWERED)
        self._mark_shared(inquiry, "answered")
        return inquiry

    def dismiss(self, inquiry_id: InquiryId) -> Inquiry:
        """No reply is needed ("Thanks!"); the user's other devices are told too."""
        inquiry = self._close(inquiry_id, InquiryState.DISMISSED)
        self._mark_shared(inquiry, "dismissed")
        return inquiry

    def _mark_shared(self, inquiry: Inquiry, kind: str, undo: bool = False) -> None:
        # An answer noted here (a call; the assistant's reply from their own mail) is the
        # standard \Answered for the other devices; their intake follows it.
        if self._request_shared(inquiry, kind, undo) or kind not in ("dismissed", "answered"):
            return
        imap = isinstance(self._account(inquiry.account), ImapAccount)
        where = None if not imap else (self.sharing.where_latest(inquiry)
                                       if kind == "answered" else self.sharing.where(inquiry))
        if where is None:
            return
        try:
            if undo:
                from heard.domain.shared import DISMISSED

                self.sharing.unmark(where, DISMISSED)
            else:
                self.sharing.mark(where, kind)
        except Exception as exc:   # the local change stands; other devices learn later
            log.warning("could not tell the other devices (%s %s): %s", kind, where, exc)

    def _request_shared(self, inquiry: Inquiry, kind: str, undo: bool) -> bool:
        """On a server that keeps no keywords (designated-only), the designated device
        alone sends, so it must hear of a dismissal, an answer or an undone dismissal made
        on another device: a request through the `Heard` folder. True in that mode (no
        keyword to set); the local change stands whatever happens here."""
        try:
            designated = self.replies.designated(inquiry)
        except Exception as exc:   # the server is out of reach: no mark could be set either
            log.warning("could not tell the other devices (%s of inquiry %s): %s", kind,
                        inquiry.id, exc)
            return True
        if not designated:
            return False
        if designated == self.settings.instance or not inquiry.message_id:
            return True
        request = "undismiss" if undo else {"dismissed": "dismiss"}.get(kind, kind)
        options = {"received": inquiry.received_at.isoformat()} if undo else {}
        try:
            self.sharing.request(inquiry, request, options)
        except Exception as exc:   # the local change stands; the designated device may act
            log.warning("could not tell %r (%s of inquiry %s): %s", designated, request,
                        inquiry.id, exc)
        return True

    def _account(self, name: str) -> Account | None:
        return next((a for a in self.settings.accounts if a.name == name), None)

    def undismiss(self, inquiry_id: InquiryId) -> Inquiry:
        """Undo a dismissal: the client is waiting again (with their original deadline)."""
        with self._lock:
            inquiry = self.store.inquiry(inquiry_id)
            if inquiry is None:
                raise NoSuchInquiry(inquiry_id)
            if inquiry.state is not InquiryState.DISMISSED:
                raise EngineError(f"inquiry {inquiry_id} is {inquiry.state}, not dismissed")
            moved = inquiry.move_to(InquiryState.WAITING, self.clock.now())
            if not self.store.move_inquiry(moved, InquiryState.DISMISSED):
                raise NotWaiting(self.store.inquiry(inquiry_id) or inquiry)
        self._mark_shared(moved, "dismissed", undo=True)
        self._emit(EngineEvent("changed"))
        return moved

    def retry_outbox(self) -> SyncReport:
        """Move the outbox on: due retries, copies to file in Sent, sends a crash
        interrupted (the tray calls this on a timer)."""
        report = SyncReport()
        self._flush_outbox(report)
        return report

    def _flush_outbox(self, report: SyncReport) -> None:
        before = {i.message_id: i.state for i in self.outbox_items()}
        moving = (OutboxState.QUEUED, OutboxState.SENDING, OutboxState.SENT)
        if not any(state in moving for state in before.values()):
            return   # nothing to move (and the sending code stays unloaded)
        for outcome in self.outbox.flush():
            retrying = outcome.state in (OutboxState.QUEUED, OutboxState.SENT) and outcome.error
            if retrying or outcome.state in (OutboxState.UNSURE, OutboxState.FAILED):
                report.errors.append(f"{outcome.message_id}: {outcome.error}")
        after = {i.message_id: i.state for i in self.outbox_items()}
        if before != after:
            self._emit_changed()

    # watching

    def start_watching(self) -> None:
        """Sync whenever a watched Maildir changes or an IMAP server pushes (from watcher
        threads)."""
        from heard.mail.watch import MaildirWatcher

        self._watcher = MaildirWatcher(self._watched_folders(), self._sync_from_watcher)
        self._watcher.start()
        if self._imap_accounts_list():
            self._imap.watch(self._imap_accounts_list(), self._sync_from_watcher)

    def _watched_folders(self) -> list[Path]:
        return [f for a in self.settings.accounts if isinstance(a, MaildirAccount)
                for f in (a.inbox, a.sent) if f]

    def _sync_from_watcher(self, only: str | None = None) -> None:
        if self._closed:
            return
        try:
            self.sync(only)
        except Exception as exc:
            log.exception("sync failed")
            self._emit(EngineEvent("error", message=f"sync failed: {exc}"))

    def stop_watching(self) -> None:
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None
        if self._imap_accounts is not None:
            self._imap_accounts.stop()


