"""Which toasts to show now, which to hold back, and the summary owed when the quiet ends.

Pure: the GUI passes in who is waiting, the keys of what was already told (the store keeps
them, so nothing is told twice, also across restarts), the busy state and the user's quiet
settings, and gets back a `Plan`: the toasts to show, the keys to remember, and when to ask
again.

- Each waiting inquiry is told once (`told_key`). Several at once make one toast: one client
  is spelled out ("Megge wrote", "Megge called"), several are summed up ("5 clients
  waiting": "Megge, Raj, Sofia and 2 more", the new ones first), never a flood. Inquiries
  already in the arrivals toast on screen (`on_screen`) are counted in again, so the toast
  there can be replaced by one that covers them all; when one of them stops waiting the
  toast is said again without them (`Plan.arrivals_gone`: withdrawn when nobody is left).
  Counts and names come from `naming.who`, as the tray's tooltip has them.
- Held back (`Hold`): while the user snoozed or paused notifications, nothing pops; while the
  calendar says busy (and `quiet_in_meetings`), only clients of an urgent tier (VIP) and
  imminent breaches pop: an acknowledgement due within `warn_before_ack`, or already late.
  A held inquiry is remembered as held (`held_key`) and waits in the badge; when the quiet
  ends, the ones still waiting are summed up in one catch-up toast ("While you were in the
  meeting: Megge, Raj, Dana and 1 more wrote"), which stays on screen until seen.
- An account that went offline is told once per outage (`offline_key`), outside the quiet.
- Snoozing from the tray holds toasts back until a time `snooze_until` works out: in 15
  minutes, in an hour, when the meeting ends, or at the next working day's opening.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum

from heard.domain.accounts import AccountHealth
from heard.domain.busy import BusyState
from heard.domain.clients import Channel
from heard.domain.clock import WorkingHours
from heard.domain.ids import InquiryId
from heard.domain.naming import Who, shown, who
from heard.domain.waiting import WaitingItem, by_client

URGENT_TIERS: frozenset[str] = frozenset({"vip"})
WARN_BEFORE_ACK = timedelta(minutes=2)


class Hold(StrEnum):
    """Why toasts are held back now."""

    PAUSED = "paused"     # the user paused notifications
    SNOOZE = "snooze"     # snoozed from the tray, until a time
    MEETING = "meeting"   # the calendar says busy: only VIPs and imminent breaches pop


class ToastKind(StrEnum):
    ARRIVAL = "arrival"     # one client wrote: actions act on `inquiry_id`
    SUMMARY = "summary"     # several clients at once
    CATCH_UP = "catch-up"   # what waited in the badge while toasts were held back
    OFFLINE = "offline"     # a mail account went offline


class Snooze(StrEnum):
    """The tray's snooze choices."""

    QUARTER_HOUR = "15m"
    HOUR = "1h"
    MEETING = "meeting"     # until the current meeting ends
    TOMORROW = "tomorrow"   # until the next working day opens


@dataclass(frozen=True)
class Toast:
    kind: ToastKind
    title: str
    text: str
    inquiries: tuple[InquiryId, ...] = ()   # what it is about, most urgent first
    inquiry_id: InquiryId | None = None     # the one its actions act on (ARRIVAL only)
    prospect: bool = False                  # a new person: "Client" / "Not a client"
    urgent: bool = False                    # a VIP or an imminent breach among them
    channel: Channel | None = None          # what they all came by (None: mixed, or none)
    resident: bool = False                  # stays on screen until the user has seen it
    reasons: frozenset[Hold] = frozenset()  # CATCH_UP: what held them back


@dataclass(frozen=True)
class Plan:
    toasts: tuple[Toast, ...]
    mark: tuple[str, ...]              # keys to remember as told (or held)
    hold: Hold | None                  # why toasts are held back now (None: they are not)
    held: tuple[InquiryId, ...]        # waiting in the badge for the catch-up toast
    wake_at: datetime | None           # when the hold ends: plan again then
    # The arrivals toast on screen names someone no longer waiting and nobody new is told:
    # take it off the screen (the toasts then say the rest again, if anyone is left).
    arrivals_gone: bool = False


def told_key(inquiry_id: InquiryId) -> str:
    return f"toast:new:{inquiry_id}"


def held_key(hold: Hold, inquiry_id: InquiryId) -> str:
    return f"toast:held:{hold}:{inquiry_id}"


def offline_key(account: AccountHealth) -> str:
    """One per outage: the same account offline again later is a new key."""
    since = account.since.astimezone(UTC).isoformat() if account.since else "unknown"
    # An outage that turns out to need a new sign-in is told again, in those words, once.
    return f"toast:offline:{account.name}:{since}" + (":sign-in" if account.needs_sign_in
                                                      else "")


def hold_now(now: datetime, *, busy: BusyState | None, quiet_in_meetings: bool,
             snoozed_until: datetime | None, paused: bool = False) -> Hold | None:
    _aware(now, "now")
    if paused:
        return Hold.PAUSED
    if snoozed_until is not None and _utc(now) < _utc(_aware(snoozed_until, "snoozed_until")):
        return Hold.SNOOZE
    if quiet_in_meetings and busy is not None and busy.now:
        return Hold.MEETING
    return None


def snooze_until(choice: Snooze, now: datetime, *, busy: BusyState | None,
                 hours: WorkingHours) -> datetime | None:
    """When a snooze chosen now ends; None for "until the meeting ends" outside a meeting."""
    _aware(now, "now")
    if choice is Snooze.QUARTER_HOUR:
        return now + timedelta(minutes=15)
    if choice is Snooze.HOUR:
        return now + timedelta(hours=1)
    if choice is Snooze.MEETING:
        return busy.until if busy is not None and busy.now else None
    local = now.astimezone(hours.zone)
    midnight = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=hours.zone)
    try:
        return hours.next_opening(midnight)
    except ValueError:   # no working hours at all: tomorrow morning will do
        return midnight + timedelta(hours=9)


def imminent(item: WaitingItem, now: datetime, warn_before_ack: timedelta) -> bool:
    """The acknowledgement is due within the warning lead, or already late."""
    return _utc(item.ack_due) - warn_before_ack <= _utc(now)


def plan(
    items: Sequence[WaitingItem],
    told: AbstractSet[str],
    now: datetime,
    *,
    busy: BusyState | None = None,
    quiet_in_meetings: bool = True,
    snoozed_until: datetime | None = None,
    paused: bool = False,
    urgent_tiers: AbstractSet[str] = URGENT_TIERS,
    warn_before_ack: timedelta = WARN_BEFORE_ACK,
    on_screen: Iterable[InquiryId] = (),
    offline: Sequence[AccountHealth] = (),
) -> Plan:
    """What to show now. `items` are the waiting inquiries, most urgent first (as
    `waiting_items` orders them); `told` the keys remembered so far; `on_screen` the
    inquiries in the arrivals toast still on screen."""
    hold = hold_now(now, busy=busy, quiet_in_meetings=quiet_in_meetings,
                    snoozed_until=snoozed_until, paused=paused)
    items = [i for i in items if i.inquiry.id is not None]
    untold = [i for i in items if told_key(_id(i)) not in told]
    held_for: dict[InquiryId, set[Hold]] = {}
    for item in untold:
        if reasons := {h for h in Hold if held_key(h, _id(item)) in told}:
            held_for[_id(item)] = reasons
    fresh = [i for i in untold if _id(i) not in held_for]

    def urgent(item: WaitingItem) -> bool:
        return item.client.tier in urgent_tiers or imminent(item, now, warn_before_ack)

    toasts: list[Toast] = []
    mark: list[str] = []
    if hold is None:
        waited = [i for i in untold if _id(i) in held_for]
        if waited:
            toasts.append(catch_up(waited, {h for i in waited for h in held_for[_id(i)]}))
            mark.extend(told_key(_id(i)) for i in waited)
        pop = fresh
    elif hold is Hold.MEETING:
        pop = [i for i in fresh if urgent(i)]
    else:
        pop = []
    popped = {_id(i) for i in pop}
    keep = [i for i in fresh if _id(i) not in popped]
    if hold is not None:
        mark.extend(held_key(hold, _id(i)) for i in keep)
    screen = set(on_screen)
    waiting_now = {_id(i) for i in items}
    arrivals_gone = False
    if pop:
        # Most urgent first, as `items` are ordered; the ones on screen are counted in again.
        group = [i for i in items if _id(i) in popped or _id(i) in screen]
        toasts.append(_arrivals(group, items, urgent=any(urgent(i) for i in pop)))
        mark.extend(told_key(_id(i)) for i in pop)
    elif screen - waiting_now:
        # Someone it names was acknowledged, delegated, answered or dismissed (here or on
        # another device): say it again without them (in place, it does not pop anew), or
        # take it away.
        group = [i for i in items if _id(i) in screen]
        if group and hold in (None, Hold.MEETING):
            toasts.append(_arrivals(group, items, urgent=any(urgent(i) for i in group)))
        else:
            arrivals_gone = True

    gone = [a for a in offline if a.online is False and offline_key(a) not in told]
    if gone and hold is None:
        toasts.append(_offline(gone))
        mark.extend(offline_key(a) for a in gone)

    wake_at: datetime | None = None
    if hold is Hold.SNOOZE:
        wake_at = snoozed_until
    elif hold is Hold.MEETING and busy is not None:
        wake_at = busy.until
    kept = {_id(i) for i in keep}
    held = tuple(_id(i) for i in untold if _id(i) in held_for or _id(i) in kept)
    return Plan(tuple(toasts), tuple(mark), hold, held, wake_at, arrivals_gone)


def waiting_people(items: Iterable[WaitingItem]) -> Who:
    """Who is waiting, counted per client and named in the order given: the one way the
    tray's tooltip and the toasts count and name them."""
    return who((i.inquiry.client_id, i.client.display_name) for i in items)


def _channel(items: Iterable[WaitingItem]) -> Channel | None:
    channels = {i.inquiry.channel for i in items}
    return channels.pop() if len(channels) == 1 else None


def _wrote(items: Sequence[WaitingItem]) -> str:
    """'wrote', 'called', or 'got in touch' (both)."""
    channel = _channel(items)
    if channel is Channel.CALL:
        return "called"
    return "wrote" if channel is Channel.EMAIL else "got in touch"


def _subject(newest: WaitingItem, several: int) -> str:
    subject = shown(newest.inquiry.subject, 120) or "(no subject)"
    return subject if several == 1 else f"{subject} (+{several - 1} more)"


def _arrivals(group: Sequence[WaitingItem], items: Sequence[WaitingItem], urgent: bool
              ) -> Toast:
    """One client: spelled out. Several: everyone waiting counted, the ones in `group`
    (the new and those on screen) named first."""
    ids = tuple(_id(i) for i in group)
    clients = by_client(group)
    if len(clients) == 1:
        (one,) = clients
        first = group[0]
        if one.client.prospect:
            via = one.client.preferences.get("via", "")
            how = f" (via {via.split(' (')[0]})" if via else ""
            title = f"New: {one.client.name}{how}"
        else:
            title = f"{one.client.display_name} {_wrote(one.items)}"
        return Toast(ToastKind.ARRIVAL, shown(title, 120), _subject(one.newest, len(one.items)),
                     ids, _id(first), prospect=one.client.prospect, urgent=urgent,
                     channel=_channel(one.items))
    grouped = {_id(i) for i in group}
    everyone = waiting_people([*group, *(i for i in items if _id(i) not in grouped)])
    return Toast(ToastKind.SUMMARY, f"{everyone.clients()} waiting", everyone.listed(),
                 tuple(_id(i) for i in items), urgent=urgent, channel=_channel(items))


def catch_up(waited: Sequence[WaitingItem], reasons: AbstractSet[Hold]) -> Toast:
    """What waited while toasts were held back: who (as `who` names them) in the title,
    what each of them wrote below. Resident: it is the toast that matters most after a
    meeting, and must not expire unseen."""
    if Hold.MEETING in reasons:
        when = "While you were in the meeting"
    elif Hold.SNOOZE in reasons:
        when = "While you snoozed"
    else:
        when = "While notifications were paused"
    clients = by_client(waited)
    people = waiting_people(waited)
    if len(clients) == 1:
        text = _subject(clients[0].newest, len(clients[0].items))
    else:
        text = "\n".join(f"{name}: {_subject(c.newest, len(c.items))}"
                         for name, c in zip(people.named, clients, strict=False))
    return Toast(ToastKind.CATCH_UP, f"{when}: {people.listed()} {_wrote(waited)}", text,
                 tuple(_id(i) for i in waited), channel=_channel(waited), resident=True,
                 reasons=frozenset(reasons))


def _offline(gone: Sequence[AccountHealth]) -> Toast:
    title = ("Heard: sign in again" if all(a.needs_sign_in for a in gone)
             else "Heard: mail account offline" if len(gone) == 1
             else f"Heard: {len(gone)} mail accounts offline")
    text = "; ".join(f"{a.name}: {a.problem}" if a.problem else a.name for a in gone)
    its = "its" if len(gone) == 1 else "their"
    return Toast(ToastKind.OFFLINE, title, f"{text} (the count may miss {its} mail)")


def _id(item: WaitingItem) -> InquiryId:
    assert item.inquiry.id is not None   # callers keep only stored inquiries
    return item.inquiry.id


def _aware(at: datetime, name: str) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {at.isoformat()}")
    return at


def _utc(at: datetime) -> datetime:
    return at.astimezone(UTC)
