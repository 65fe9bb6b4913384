"""The engine: ties sources, store and domain together. Shared by the CLI and the GUI.

It speaks plain Python: methods return dataclasses, and subscribers receive plain
events (from whichever thread did the work; the GUI turns them into Qt signals).
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from heard import config
from heard.config import MaildirAccount, Settings
from heard.domain.busy import BusyInterval, BusyState, busy_at
from heard.domain.clients import Channel, Client, ClientDirectory, normalize_email
from heard.domain.clock import Clock, SystemClock
from heard.domain.ids import ClientId, InquiryId
from heard.domain.inquiries import Inquiry, InquiryState
from heard.domain.messages import MessageFacts, Verdict, classify
from heard.domain.promises import Promise
from heard.domain.templates import Template, format_time
from heard.domain.urgency import Urgency
from heard.domain.waiting import WaitingItem, badge_urgency, waiting_count, waiting_items
from heard.mail.compose import build_reply, make_message_id
from heard.mail.maildir import Maildir, MaildirEntry
from heard.mail.parse import MalformedMessage, parse_message
from heard.mail.transport import MaildirTransport, SendError, Transport
from heard.mail.watch import MaildirWatcher
from heard.paths import Profile
from heard.store import Store
from heard.template_files import load_templates

log = logging.getLogger(__name__)

# A first look at an old Maildir must not turn years of mail into "waiting" clients.
INTAKE_WINDOW = timedelta(days=30)
# How far ahead the calendar is read for busy/free answers.
CALENDAR_HORIZON = timedelta(days=8)


class EngineError(RuntimeError):
    """An expected failure, told to the user as is (no traceback)."""


class NoSuchInquiry(EngineError):
    def __init__(self, inquiry_id: int) -> None:
        super().__init__(f"there is no inquiry {inquiry_id}; `heard status` lists them")
        self.inquiry_id = inquiry_id


class NotWaiting(EngineError):
    def __init__(self, inquiry: Inquiry) -> None:
        super().__init__(f"inquiry {inquiry.id} is already {inquiry.state}")
        self.inquiry = inquiry


class NoTransport(EngineError):
    def __init__(self, account: str) -> None:
        super().__init__(
            f"account {account or '(none)'} has no way to send: add an outbox "
            "(`heard account add maildir INBOX --sent SENT --outbox OUTBOX`)")


@dataclass(frozen=True)
class Skipped:
    source: str
    file: str
    reason: str


@dataclass
class SyncReport:
    seen: int = 0
    new_inquiries: list[InquiryId] = field(default_factory=list)
    answered: list[InquiryId] = field(default_factory=list)
    acknowledged: list[InquiryId] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.new_inquiries or self.answered or self.acknowledged)


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
    calendar_errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class AckResult:
    inquiry_id: InquiryId
    message_id: str
    to: str
    subject: str
    body: str
    reply_by: datetime
    template: str
    sent: bool


@dataclass(frozen=True)
class EngineEvent:
    """Something changed; `new` lists inquiries that just arrived (for toasts)."""

    kind: str                       # "changed" | "error"
    new: tuple[InquiryId, ...] = ()
    message: str = ""


Listener = Callable[[EngineEvent], None]


def _round_up(at: datetime, minutes: int = 15) -> datetime:
    """Promises name times people say: 4:30, not 4:17."""
    base = at.replace(second=0, microsecond=0)
    step = minutes * 60
    seconds = base.minute * 60
    extra = math.ceil(seconds / step) * step - seconds
    if at != base and extra == 0:
        extra = step
    return base + timedelta(seconds=extra)


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
        self._lock = threading.RLock()
        self._listeners: list[Listener] = []
        self._watcher: MaildirWatcher | None = None
        self._calendar_cache: tuple[object, list[BusyInterval], list[str]] | None = None

    @classmethod
    def open(cls, profile: Profile, clock: Clock | None = None) -> Engine:
        profile.create()
        settings = config.load(profile.config)
        return cls(profile, settings, Store(profile.database), clock)

    def close(self) -> None:
        self.stop_watching()
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

    def add_client(self, client: Client) -> Client:
        return self.store.add_client(client, self.clock.now())

    # intake

    def sync(self) -> SyncReport:
        """Read what is new in every account, in one transaction per folder."""
        with self._lock:
            report = SyncReport()
            own = frozenset({*self.settings.user.addresses,
                             *(normalize_email(a.address) for a in self.settings.accounts
                               if a.address)})
            directory = self.directory()
            for account in self.settings.accounts:
                self._sync_inbox(account, directory, own, report)
                if account.sent is not None:
                    self._sync_sent(account, directory, report)
            self._flush_outbox(report)
        if report.changed:
            self._emit(EngineEvent("changed", tuple(report.new_inquiries)))
        return report

    def _new_entries(self, source: str, folder: Path, report: SyncReport
                     ) -> list[tuple[MaildirEntry, float, bytes]]:
        maildir = Maildir(folder)
        if not maildir.exists():
            report.errors.append(f"{source}: {folder} is not a Maildir (needs new/ cur/ tmp/)")
            log.warning("%s", report.errors[-1])
            return []
        known = self.store.seen_keys(source)
        entries = []
        for entry in maildir.entries():
            if entry.key in known:
                continue
            try:
                arrived = entry.path.stat().st_mtime
                raw = entry.path.read_bytes()
            except OSError as exc:  # moved away between listing and reading: next sync
                log.info("%s: %s vanished while reading (%s)", source, entry.path.name, exc)
                continue
            entries.append((entry, arrived, raw))
        entries.sort(key=lambda e: e[1])
        return entries

    def _parse(self, source: str, entry: MaildirEntry, raw: bytes, report: SyncReport,
               now: datetime) -> MessageFacts | None:
        try:
            return parse_message(raw)
        except MalformedMessage as exc:
            log.warning("skipped %s in %s: %s", entry.path.name, source, exc.reason)
            report.skipped.append(Skipped(source, entry.path.name, f"malformed: {exc.reason}"))
            self.store.mark_seen(source, entry.key, "", "malformed", exc.reason, now)
            return None

    def _sync_folder(self, source: str, folder: Path, report: SyncReport,
                     handle: Callable[[MessageFacts, datetime, MaildirEntry], tuple[str, str]]
                     ) -> None:
        """Read the folder's new files and apply them in one transaction: a crash midway
        leaves the store as it was, and the next sync reads the same files again."""
        now = self.clock.now()
        entries = self._new_entries(source, folder, report)
        with self.store.transaction():
            for entry, arrived_ts, raw in entries:
                report.seen += 1
                facts = self._parse(source, entry, raw, report, now)
                if facts is None:
                    continue
                arrived = datetime.fromtimestamp(arrived_ts, self.settings.zone)
                verdict, reason = handle(facts, arrived, entry)
                self.store.mark_seen(source, entry.key, facts.message_id, verdict, reason, now)

    def _sync_inbox(self, account: MaildirAccount, directory: ClientDirectory,
                    own: frozenset[str], report: SyncReport) -> None:
        source = f"{account.name}:inbox"
        now = self.clock.now()

        def handle(facts: MessageFacts, arrived: datetime, entry: MaildirEntry
                   ) -> tuple[str, str]:
            verdict = classify(facts, directory, own)
            reason = verdict.reason
            if verdict.is_inquiry and now - arrived > INTAKE_WINDOW:
                reason = "older than the 30-day intake window"
            elif verdict.is_inquiry and verdict.client is not None:
                new_id = self._record_inquiry(account, facts, verdict.client, arrived)
                if new_id is not None:
                    report.new_inquiries.append(new_id)
            else:
                report.skipped.append(Skipped(source, entry.path.name, reason))
            return verdict.verdict.value, reason

        self._sync_folder(source, account.inbox, report, handle)

    def _record_inquiry(self, account: MaildirAccount, facts: MessageFacts, client: Client,
                        arrived: datetime) -> InquiryId | None:
        assert client.id is not None
        # A follow-up in a thread whose inquiry is still waiting is the same contact.
        for existing in self.store.open_inquiries_in_thread(facts.thread_ids):
            if existing.client_id == client.id and existing.state is InquiryState.WAITING:
                assert existing.id is not None
                self.store.add_thread_ids(existing.id, facts.thread_ids)
                return None
        inquiry = self.store.add_inquiry(Inquiry(
            client_id=client.id, channel=Channel.EMAIL, received_at=arrived,
            subject=facts.subject, sender=facts.from_addr, message_id=facts.message_id,
            thread_ids=facts.thread_ids, preview=facts.preview, account=account.name,
        ))
        assert inquiry.id is not None
        log.info("new inquiry %s from %s: %s", inquiry.id, client.name, facts.subject)
        return inquiry.id

    def _sync_sent(self, account: MaildirAccount, directory: ClientDirectory,
                   report: SyncReport) -> None:
        assert account.sent is not None

        def handle(facts: MessageFacts, arrived: datetime, _entry: MaildirEntry
                   ) -> tuple[str, str]:
            return "sent", self._apply_sent(facts, facts.date or arrived, directory, report)

        self._sync_folder(f"{account.name}:sent", account.sent, report, handle)

    def _apply_sent(self, facts: MessageFacts, sent_at: datetime, directory: ClientDirectory,
                    report: SyncReport) -> str:
        if facts.heard_acknowledges:
            for inquiry in self.store.open_inquiries_in_thread([facts.heard_acknowledges]):
                if inquiry.state is InquiryState.WAITING and inquiry.id is not None:
                    self.store.save_inquiry(inquiry.acknowledge(sent_at))
                    report.acknowledged.append(inquiry.id)
            return "acknowledgement"
        # A real reply: by thread first, else to the client after their message.
        targets = self.store.open_inquiries_in_thread(
            [m for m in facts.thread_ids if m != facts.message_id])
        if not targets:
            client_ids = {c.id for c in (directory.match_email(a) for a in facts.to) if c}
            targets = [i for i in self.store.open_inquiries()
                       if i.client_id in client_ids and i.received_at <= sent_at]
        for inquiry in targets:
            assert inquiry.id is not None
            self.store.save_inquiry(inquiry.answer(sent_at))
            self.store.close_promises(inquiry.id, sent_at)
            report.answered.append(inquiry.id)
        return "reply" if targets else "sent mail, no open inquiry"

    # calendar

    def _intervals(self, at: datetime) -> tuple[list[BusyInterval], list[str]]:
        """Busy intervals around `at`, re-read only when a calendar file changes."""
        stamp: list[object] = [at.date()]
        for cal in self.settings.calendars:
            try:
                files = [cal.path] if cal.path.is_file() else sorted(cal.path.glob("*.ics"))
                stamp.extend((str(f), f.stat().st_mtime_ns) for f in files)
            except OSError:
                stamp.append((str(cal.path), None))
        key = tuple(stamp)
        if self._calendar_cache and self._calendar_cache[0] == key:
            return self._calendar_cache[1], self._calendar_cache[2]
        # icalendar and friends cost ~40 ms at start-up: loaded only with a calendar.
        from heard.calendar.ics import busy_intervals

        start = at - timedelta(days=1)
        intervals: list[BusyInterval] = []
        errors: list[str] = []
        for cal in self.settings.calendars:
            try:
                found, problems = busy_intervals(cal.path, start, start + CALENDAR_HORIZON,
                                                 self.settings.zone)
            except ValueError as exc:
                errors.append(f"{cal.name}: {exc}")
                continue
            intervals.extend(found)
            errors.extend(f"{cal.name}: {p}" for p in problems)
        self._calendar_cache = (key, intervals, errors)
        return intervals, errors

    def busy(self, at: datetime | None = None) -> BusyState | None:
        if not self.settings.calendars:
            return None
        at = at or self.clock.now()
        intervals, _errors = self._intervals(at)
        return busy_at(intervals, at)

    # status

    def status(self) -> Status:
        now = self.clock.now()
        with self._lock:
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
        errors: list[str] = []
        if self.settings.calendars:
            intervals, errors = self._intervals(now)
            busy = busy_at(intervals, now)
        return Status(now, waiting_count(items), badge_urgency(items), busy, items, views,
                      errors)

    # acknowledging

    def _reply_by(self, now: datetime, busy: BusyState | None) -> datetime:
        start = busy.next_free if busy and busy.next_free else now
        start = max(start, self.settings.hours.next_opening(start))
        return _round_up(start + self.settings.reply_margin)

    def _template_for(self, name: str | None, busy: BusyState | None) -> Template:
        chosen = name or self.settings.reply_template
        if name is None and busy is not None and busy.now and f"{chosen}-busy" in self.templates:
            chosen = f"{chosen}-busy"
        try:
            return self.templates[chosen]
        except KeyError:
            raise EngineError(f"there is no template {chosen!r}; known: "
                              f"{', '.join(sorted(self.templates))}") from None

    def _transport(self, account_name: str) -> Transport:
        for account in self.settings.accounts:
            if account.name == account_name or not account_name:
                if account.outbox is None:
                    break
                return MaildirTransport(
                    account.name, Maildir(account.outbox),
                    Maildir(account.sent) if account.sent else None)
        raise NoTransport(account_name)

    def _account(self, name: str) -> MaildirAccount | None:
        return next((a for a in self.settings.accounts if a.name == name),
                    self.settings.accounts[0] if self.settings.accounts else None)

    def acknowledge(self, inquiry_id: InquiryId, template: str | None = None,
                    reply_by: datetime | None = None, dry_run: bool = False) -> AckResult:
        """Send the client an acknowledgement and record the promise it makes.

        The outbox row, the state change and the promise are written in one transaction
        before sending, so a crash between the two is reconciled by `_flush_outbox`.
        """
        now = self.clock.now()
        with self._lock:
            inquiry = self.store.inquiry(inquiry_id)
            if inquiry is None:
                raise NoSuchInquiry(inquiry_id)
            if inquiry.state is not InquiryState.WAITING:
                raise NotWaiting(inquiry)
            client = self.store.client(inquiry.client_id)
            if client is None:
                raise EngineError(f"the client of inquiry {inquiry_id} was removed")
            busy = self.busy(now)
            promised = reply_by or self._reply_by(now, busy)
            chosen = self._template_for(template, busy)
            zone = self.settings.zone
            values = {
                "client.name": client.display_name,
                "client.full_name": client.name,
                "user.name": self.settings.user.name,
                "assistant.name": self.settings.assistant_name,
                "busy_until": format_time(busy.until, zone, now) if busy and busy.until
                else "now",
                "next_free": format_time(busy.next_free, zone, now)
                if busy and busy.next_free else "now",
                "reply_by": format_time(promised, zone, now),
                "subject": inquiry.subject,
            }
            subject, body = chosen.render(values)
            account = self._account(inquiry.account)
            sender = (account.address if account and account.address else
                      next(iter(self.settings.user.addresses), "me@localhost"))
            message_id = make_message_id(sender.rpartition("@")[2])
            msg = build_reply(
                sender_name=self.settings.user.name, sender_addr=sender,
                to_name=client.name, to_addr=inquiry.sender, subject=subject, body=body,
                in_reply_to=inquiry.message_id,
                references=tuple(t for t in inquiry.thread_ids if t != inquiry.message_id),
                date=now, message_id=message_id,
            )
            result = AckResult(inquiry_id, message_id, inquiry.sender, str(msg["Subject"]),
                               body, promised, chosen.name, sent=False)
            if dry_run:
                return result
            transport = self._transport(inquiry.account)
            raw = bytes(msg)
            with self.store.transaction():
                self.store.add_outbox(message_id, inquiry_id, transport.name, raw, now)
                self.store.save_inquiry(inquiry.acknowledge(now))
                self.store.add_promise(Promise(inquiry_id, client.id or ClientId(0), now,
                                               promised, f"reply by {values['reply_by']}"))
            sent = self._send(transport, message_id, raw)
        self._emit(EngineEvent("changed"))
        return AckResult(**{**result.__dict__, "sent": sent})

    def _send(self, transport: Transport, message_id: str, raw: bytes) -> bool:
        try:
            transport.send(raw, message_id)
        except SendError as exc:
            log.error("sending %s failed, will retry: %s", message_id, exc)
            self._emit(EngineEvent("error", message=str(exc)))
            return False
        self.store.mark_outbox(message_id, "sent", self.clock.now())
        return True

    def _flush_outbox(self, report: SyncReport) -> None:
        """Send what a crash or a failure left pending; the Message-ID keeps it to one copy."""
        for message_id, transport_name, raw in self.store.pending_outbox():
            try:
                transport = self._transport(transport_name)
            except NoTransport as exc:
                report.errors.append(str(exc))
                continue
            if not self._send(transport, message_id, raw):
                report.errors.append(f"{transport_name}: {message_id} still unsent")

    # watching

    def start_watching(self) -> None:
        """Sync whenever a watched Maildir changes (from a watcher thread)."""
        folders = [f for a in self.settings.accounts for f in (a.inbox, a.sent) if f]
        self._watcher = MaildirWatcher(folders, self._sync_from_watcher)
        self._watcher.start()

    def _sync_from_watcher(self) -> None:
        try:
            self.sync()
        except Exception as exc:
            log.exception("sync failed")
            self._emit(EngineEvent("error", message=f"sync failed: {exc}"))

    def stop_watching(self) -> None:
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None


def inquiries_of(store: Store, ids: Iterable[InquiryId]) -> list[Inquiry]:
    return [i for i in (store.inquiry(x) for x in ids) if i is not None]


__all__ = ["AckResult", "Engine", "EngineError", "EngineEvent", "Status", "SyncReport",
           "Verdict"]
