"""Warnings before a deadline is missed: which deadlines to warn about now, and how to say it.

Pure: the engine passes in what is owed, the instant and the keys it already warned about, and
turns the alerts into events; the tray and toasts show them.

- A deadline warns once its lead time has begun (`due - lead <= now`), or at once if it has
  already passed when first seen (`overdue`).
- Each deadline has a stable `key` (kind, inquiry, UTC instant); a VIP's acknowledgement or
  answer that passes has a second one (`:passed`), so its breach is told when it happens.
  The engine keeps the keys it has shown; a key in `already` never warns again. A deadline
  that moves (a new promise, a changed standard) is a new key and warns again.
- Outside working hours only clients whose tier is in `vip_tiers` are warned about. The others
  are deferred, not dropped: they are not returned, so their keys stay out of `already` and they
  warn when the hours open.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum

from heard.domain.clients import Client
from heard.domain.clock import WorkingHours
from heard.domain.ids import ClientId, InquiryId
from heard.domain.inquiries import Inquiry, InquiryState
from heard.domain.naming import shown, who
from heard.domain.promises import Promise
from heard.domain.standards import Standards
from heard.domain.templates import format_time
from heard.domain.waiting import WaitingItem

VIP_TIERS: frozenset[str] = frozenset({"vip"})


class AlertKind(StrEnum):
    ACK = "ack"
    ANSWER = "answer"
    PROMISE = "promise"


@dataclass(frozen=True)
class LeadTimes:
    """How long before each kind of deadline to warn."""

    ack: timedelta = timedelta(minutes=2)
    answer: timedelta = timedelta(hours=1)
    promise: timedelta = timedelta(minutes=15)

    def __post_init__(self) -> None:
        for kind in AlertKind:
            if self.of(kind) < timedelta(0):
                raise ValueError(f"lead time for {kind} must not be negative")

    def of(self, kind: AlertKind) -> timedelta:
        return {AlertKind.ACK: self.ack, AlertKind.ANSWER: self.answer,
                AlertKind.PROMISE: self.promise}[kind]


@dataclass(frozen=True)
class AnswerOwed:
    """An acknowledged inquiry whose answer is still owed: the answer clock keeps running."""

    inquiry: Inquiry
    client: Client
    answer_due: datetime


@dataclass(frozen=True)
class Alert:
    kind: AlertKind
    inquiry_id: InquiryId | None
    client_id: ClientId | None
    client_name: str
    due: datetime
    key: str
    overdue: bool  # the deadline had already passed when this alert was made
    tier: str = ""
    detail: str = ""  # the inquiry's subject, or what the promise said


def alert_key(kind: AlertKind, ref: str, due: datetime) -> str:
    """Stable across restarts and zone changes: the deadline's instant is written in UTC."""
    if due.tzinfo is None or due.utcoffset() is None:
        raise ValueError(f"due must be timezone-aware, got naive {due.isoformat()}")
    return f"{kind}:{ref}:{due.astimezone(UTC).isoformat()}"


def answers_owed(
    inquiries: Iterable[Inquiry],
    clients: Mapping[ClientId, Client],
    standards: Standards,
    hours: WorkingHours,
) -> list[AnswerOwed]:
    """Acknowledged inquiries and when their answer falls due (counted from arrival)."""
    owed = []
    for inquiry in inquiries:
        if inquiry.state is not InquiryState.ACKNOWLEDGED:
            continue
        client = clients.get(inquiry.client_id)
        if client is None:
            continue
        standard = standards.for_contact(client.tier, inquiry.channel)
        owed.append(AnswerOwed(inquiry, client, standard.answer_due(inquiry.received_at, hours)))
    return owed


def due_alerts(
    items: Sequence[WaitingItem],
    acknowledged: Sequence[AnswerOwed],
    promises: Sequence[tuple[Promise, Client]],
    now: datetime,
    lead: LeadTimes,
    already: AbstractSet[str],
    hours: WorkingHours,
    vip_tiers: AbstractSet[str] = VIP_TIERS,
) -> list[Alert]:
    """Every deadline whose lead time has begun and whose key is not in `already`, by due.

    Waiting (unacknowledged) items owe both an acknowledgement and an answer; acknowledged ones
    owe the answer; open promises owe what they promised. Outside working hours only clients of
    a tier in `vip_tiers` are returned.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be timezone-aware, got naive {now.isoformat()}")
    # Compare in UTC: aware datetimes sharing a ZoneInfo compare by wall time across DST.
    now = now.astimezone(UTC)
    open_now = hours.is_open(now)
    found: dict[str, Alert] = {}

    def consider(kind: AlertKind, ref: str, inquiry_id: InquiryId | None, client: Client,
                 due: datetime, detail: str) -> None:
        key = alert_key(kind, ref, due)  # refuses a naive due before anything compares it
        if now < due.astimezone(UTC) - lead.of(kind):
            return
        if kind is not AlertKind.PROMISE and client.tier in vip_tiers \
                and due.astimezone(UTC) <= now:
            # A VIP standard broken is told again when it happens, even after the warning
            # that it was coming: it is the one toast that stays until dismissed.
            key += ":passed"
        if not open_now and client.tier not in vip_tiers:
            return
        if key in already or key in found:
            return
        found[key] = Alert(kind, inquiry_id, client.id, client.display_name, due, key,
                           overdue=due.astimezone(UTC) <= now, tier=client.tier, detail=detail)

    for item in items:
        ref = _ref(item.inquiry)
        consider(AlertKind.ACK, ref, item.inquiry.id, item.client, item.ack_due,
                 item.inquiry.subject)
        consider(AlertKind.ANSWER, ref, item.inquiry.id, item.client, item.answer_due,
                 item.inquiry.subject)
    for owed in acknowledged:
        consider(AlertKind.ANSWER, _ref(owed.inquiry), owed.inquiry.id, owed.client,
                 owed.answer_due, owed.inquiry.subject)
    for promise, client in promises:
        if promise.is_open:
            consider(AlertKind.PROMISE, str(promise.inquiry_id), promise.inquiry_id, client,
                     promise.due, promise.text)
    return sorted(found.values(),
                  key=lambda a: (a.due.astimezone(UTC), list(AlertKind).index(a.kind), a.key))


def _ref(inquiry: Inquiry) -> str:
    # Stored inquiries have an id; one not stored yet is still told apart by its Message-ID.
    return str(inquiry.id) if inquiry.id is not None else inquiry.message_id


@dataclass(frozen=True)
class Toast:
    title: str
    text: str
    alerts: tuple[Alert, ...]
    # A VIP standard actually broken (an acknowledgement or answer of an urgent tier's
    # client already late): the one warning that may stay on screen until dismissed.
    breach: bool = False

    @property
    def overdue(self) -> bool:
        return any(a.overdue for a in self.alerts)


def breach(alert: Alert, urgent_tiers: AbstractSet[str] = VIP_TIERS) -> bool:
    return alert.overdue and alert.kind is not AlertKind.PROMISE and alert.tier in urgent_tiers


def group(alerts: Sequence[Alert], now: datetime, zone: tzinfo,
          urgent_tiers: AbstractSet[str] = VIP_TIERS) -> list[Toast]:
    """At most two toasts, whatever the number of alerts: the passed and the coming.

    Alerts are split into those already overdue and those still ahead. Each non-empty part
    becomes one toast: a single alert is spelled out ("Megge: acknowledge by 10:12 am"), several
    are summed up ("3 deadlines in the next 5 minutes" naming the clients). Overdue comes first.
    """
    passed = sorted((a for a in alerts if a.overdue), key=lambda a: a.due.astimezone(UTC))
    coming = sorted((a for a in alerts if not a.overdue), key=lambda a: a.due.astimezone(UTC))
    toasts = []
    ahead = coming[-1].due.astimezone(UTC) - now.astimezone(UTC) if coming else timedelta(0)
    if passed:
        toasts.append(_one(passed[0], now, zone) if len(passed) == 1 else Toast(
            f"{len(passed)} deadlines passed", _names(passed), tuple(passed)))
    if coming:
        toasts.append(_one(coming[0], now, zone) if len(coming) == 1 else Toast(
            f"{len(coming)} deadlines {_within(ahead)}",
            f"{_names(coming)}; the first at {format_time(coming[0].due, zone, now)}",
            tuple(coming)))
    return [replace(t, breach=any(breach(a, urgent_tiers) for a in t.alerts)) for t in toasts]


def _one(alert: Alert, now: datetime, zone: tzinfo) -> Toast:
    at = format_time(alert.due, zone, now)
    name = alert.client_name
    if alert.kind is AlertKind.PROMISE:
        title = f"Promise to {name} {'was due' if alert.overdue else 'due'} at {at}"
    elif alert.kind is AlertKind.ACK:
        title = (f"{name}: acknowledgement was due at {at}" if alert.overdue
                 else f"{name}: acknowledge by {at}")
    else:
        title = (f"{name}: answer was due at {at}" if alert.overdue
                 else f"{name}: answer by {at}")
    return Toast(shown(title, 120), shown(alert.detail, 200), (alert,))


def _names(alerts: Sequence[Alert]) -> str:
    """Each client once, in order of their first deadline, as `naming.who` lists them:
    'Megge, Raj and Dana', 'Megge, Raj, Dana and 2 more'."""
    return who((a.client_id if a.client_id is not None else a.client_name, a.client_name)
               for a in alerts).listed()


def _within(span: timedelta) -> str:
    minutes = max(1, math.ceil(span / timedelta(minutes=1)))
    if minutes == 1:
        return "in the next minute"
    if minutes < 60:
        return f"in the next {minutes} minutes"
    hours = math.ceil(minutes / 60)
    return "in the next hour" if hours == 1 else f"in the next {hours} hours"


def pop_in_meeting(alerts: Sequence[Alert], now: datetime, urgent_tiers: AbstractSet[str],
                   imminent: timedelta) -> tuple[list[Alert], list[Alert]]:
    """While the calendar says busy (quiet in meetings): the alerts that pop now — a client
    of an urgent tier, or a deadline within `imminent` or already passed — and those that
    wait for the meeting's end (the caller does not mark them given, so they come then,
    or pop as soon as their deadline gets that close)."""
    now = now.astimezone(UTC)
    pop: list[Alert] = []
    wait: list[Alert] = []
    for alert in alerts:
        close = alert.due.astimezone(UTC) - imminent <= now
        (pop if alert.tier in urgent_tiers or close else wait).append(alert)
    return pop, wait

