"""Who is waiting, since when and until when, what is promised, and what needs the user's
eye: the status the badge, the window, `heard status` and the toasts are made from. It only
reads (a status never changes the store)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from heard.devices.coordinator import Devices
from heard.domain.absences import ABSENCE_KEY, Absence, current, read_absences
from heard.domain.accounts import AccountHealth
from heard.domain.autopilot import SKIP_KEY, Skipped
from heard.domain.busy import BusyState, busy_at
from heard.domain.clients import Client
from heard.domain.delegations import Assignment, Delegation
from heard.domain.followups import Owed, owed
from heard.domain.ids import ClientId, InquiryId
from heard.domain.inquiries import Inquiry
from heard.domain.outbox import OutboxItem, OutboxState
from heard.domain.promises import Promise
from heard.domain.snoozes import SNOOZE_KEY, SnoozedClient, read_snoozes, set_aside
from heard.domain.urgency import Urgency
from heard.domain.waiting import (
    WaitingClient,
    WaitingItem,
    badge_urgency,
    by_client,
    waiting_count,
    waiting_items,
)
from heard.domain.wording import plural
from heard.engine.context import EngineContext
from heard.engine.ports import CalendarReader, Health, ReportsDue

# What `outbox` lists: messages that are not done yet.
UNFINISHED = (OutboxState.QUEUED, OutboxState.SENDING, OutboxState.SENT, OutboxState.UNSURE)
# How long a message that could not be taken in stays among the problems: long enough to
# be seen after a weekend away (`heard doctor` lists them for the whole intake window).
FAILED_SHOWN = timedelta(days=7)
FAILED_LISTED = 3


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
    # Waiting clients the autopilot left to the user, and why.
    autopilot_skipped: dict[InquiryId, Skipped] = field(default_factory=dict)
    # Waiting clients the user set aside until a time: not in `waiting` nor the count, their
    # deadlines still running (the warnings still come); soonest back first.
    snoozed: list[SnoozedClient] = field(default_factory=list)
    # Clients who owe the user a reply (a follow-up whose time came): never in `waiting`
    # nor the count (the last word is the user's); longest owed first.
    owed: list[Owed] = field(default_factory=list)
    # The absence in force (`heard away`, or an out-of-office event in the calendar when
    # [absence] calendar_tiers is set): the autopilot tells clients of its tiers, once.
    away: Absence | None = None
    # Events.changes when this read began: it has seen every change numbered up to this.
    changes: int = 0

    @property
    def offline(self) -> list[AccountHealth]:
        return [a for a in self.accounts if a.online is False]

    @property
    def clients(self) -> list[WaitingClient]:
        """The waiting list per client (the window's rows; `count` is their number)."""
        return by_client(self.waiting)


def failed_intake(failed: Sequence[tuple[str, datetime]]) -> list[str]:
    """Messages intake could not store, in words: each is mail nobody counted, so the user
    must read it themselves (a few named, the rest counted)."""
    lines = [f"a message could not be taken in and is not counted: {note}; read it in your"
             " mail program (the log has the details)" for note, _at in failed[:FAILED_LISTED]]
    if len(failed) > FAILED_LISTED:
        lines.append(f"{plural(len(failed) - FAILED_LISTED, 'more message')} could not be taken in"
                     " (`heard doctor` lists them)")
    return lines


@dataclass(frozen=True)
class AssignedView:
    """A delegation made on another device: for the assistant's own Heard, `to_me`."""

    assignment: Assignment
    client: Client | None
    subject: str
    to_me: bool


class StatusService:
    def __init__(self, ctx: EngineContext, calendar: CalendarReader, health: Health,
                 reports: ReportsDue, devices: Devices) -> None:
        self._ctx = ctx
        self._calendar = calendar
        self._health = health
        self._reports = reports
        self._devices = devices

    def status(self, notes: Sequence[str] = ()) -> Status:
        """The status now; `notes`: settings the engine could not take up, in words."""
        ctx = self._ctx
        settings = ctx.settings
        store = ctx.store
        zone = settings.zone
        now = ctx.clock.now()
        changes = ctx.events.changes   # before reading: what this read is sure to see
        # Not under the engine lock: the badge must not wait for a long sync to finish.
        inquiries = store.open_inquiries()
        clients = ctx.clients_by_id()
        delegations = store.open_delegations()
        # A delegation nobody took up by its due time comes back to the user, flagged.
        late = {d.inquiry_id: d for d in delegations if d.overdue(now)}
        handed_back = [i for d in late.values()
                       if (i := store.inquiry(d.inquiry_id)) is not None]
        items = waiting_items([*inquiries, *handed_back], clients, settings.standards,
                              settings.hours, now, late)
        items, snoozed = set_aside(items, read_snoozes(store.states(SNOOZE_KEY)), now)
        by_id = {i.id: i for i in inquiries}
        views = [PromiseView(p, clients.get(p.client_id),
                             by_id[p.inquiry_id].subject if p.inquiry_id in by_id else "")
                 for p in store.open_promises()]
        busy: BusyState | None = None
        problems = self._calendar.problems(now)
        if settings.calendars:
            intervals, calendar_problems = self._calendar.intervals(now)
            busy = busy_at(intervals, now, settings.calendar.min_free, hours=settings.hours)
            problems.extend(calendar_problems)
        problems.extend(notes)
        accounts = self._health.accounts()
        for health in accounts:
            if health.online is False:
                since = f" since {health.since.astimezone(zone):%H:%M}" if health.since else ""
                problems.append(f"{health.name} is offline{since}: {health.problem};"
                                " Heard keeps trying, and the count may miss its mail")
        outbox = store.outbox(list(UNFINISHED))
        retrying = [i for i in outbox if i.state is OutboxState.QUEUED and i.error]
        if retrying:
            # An acknowledgement the client has not received must never look done.
            problems.append(f"{plural(len(retrying), 'message')} not sent yet"
                            f" ({retrying[-1].error}); Heard keeps trying")
        for item in outbox:
            if item.state is OutboxState.UNSURE:
                problems.append(f"unsure whether the message to {item.recipient} went out:"
                                f" {item.error} (`heard outbox`)")
        for item in store.outbox([OutboxState.FAILED], since=now - timedelta(days=1)):
            problems.append(f"not sent to {item.recipient}: {item.error}"
                            " (`heard outbox --all`)")
        problems.extend(failed_intake(store.failed_messages(now - FAILED_SHOWN)))
        # Device messages not from the user's devices, ignored (heard.devices.keys).
        problems.extend(self._devices.trust_problems())
        return Status(now, waiting_count(items), badge_urgency(items), busy, items, views,
                      problems, accounts, bool(self._calendar.stale()),
                      self._reports.reports_due(now, clients.values()), outbox,
                      delegations, settings.instance, store.owners(),
                      self.assigned(clients),
                      [(i, clients.get(i.client_id), by) for i, by in
                       store.handled_elsewhere(settings.instance, now - timedelta(days=1))],
                      self._devices.notice(), self._skipped(items), snoozed,
                      owed(store.open_follow_ups(), clients, now),
                      self._away(busy, now), changes)

    def _away(self, busy: BusyState | None, now: datetime) -> Absence | None:
        settings = self._ctx.settings
        absence = current(read_absences(self._ctx.store.states(ABSENCE_KEY)), now)
        if absence is None and settings.absence.calendar_tiers and busy is not None \
                and busy.away and busy.until is not None and busy.until > now:
            absence = Absence(0, now, busy.until, settings.absence.template,
                              settings.absence.deputy, settings.absence.calendar_tiers,
                              "calendar")
        return absence

    def _skipped(self, items: list[WaitingItem]) -> dict[InquiryId, Skipped]:
        waiting = {i.inquiry.id for i in items}
        found = {}
        for key, text in self._ctx.store.states(SKIP_KEY).items():
            inquiry_id = InquiryId(int(key.removeprefix(SKIP_KEY)))
            skipped = Skipped.from_text(text)
            if inquiry_id in waiting and skipped is not None:
                found[inquiry_id] = skipped
        return found

    def assigned(self, clients: dict[ClientId, Client] | None = None) -> list[AssignedView]:
        """Delegations made on another device, by due time; `to_me` on the assistant's
        own Heard (the delegation names one of this user's addresses)."""
        if clients is None:
            clients = self._ctx.clients_by_id()
        mine = frozenset(a.lower() for a in self._ctx.own_addresses())
        views = []
        for assignment in self._ctx.store.assignments():
            inquiry = self._ctx.store.inquiry(assignment.inquiry_id)
            views.append(AssignedView(assignment,
                                      clients.get(inquiry.client_id) if inquiry else None,
                                      inquiry.subject if inquiry else "",
                                      assignment.to(mine)))
        return views
