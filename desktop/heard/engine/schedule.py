"""When time next makes something due: the instant the tray's next tick must run.

The tray used to tick every 30 s whether or not anything could have become due, which
woke the process (and a pool thread) all day. Instead each tick asks for the next real
deadline: a warning's lead time beginning, a deadline passing, a badge colour changing,
an outbox retry, a status report or a delegation falling due, a meeting starting or
ending, a remote calendar's refresh, the office opening (warnings held outside working
hours). What cannot be foreseen cheaply (the autopilot's picks among who waits) is looked
at again in `SOON`; and never later than `SAFETY`, whatever was computed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from heard.domain.absences import ABSENCE_KEY, current, read_absences
from heard.domain.clock import Counting
from heard.domain.outbox import OutboxState, held_until
from heard.domain.snoozes import SNOOZE_KEY, read_snoozes
from heard.domain.urgency import DUE_SOON_FRACTION, DUE_SOON_MINIMUM
from heard.domain.waiting import waiting_items
from heard.domain.warnings import LeadTimes, answers_owed

if TYPE_CHECKING:
    from heard.domain.clock import WorkingHours
    from heard.domain.outbox import OutboxItem
    from heard.domain.standards import Standards
    from heard.domain.waiting import WaitingItem
    from heard.engine.context import EngineContext
    from heard.engine.ports import CalendarTimes

SAFETY = timedelta(minutes=5)
SOON = timedelta(seconds=30)
_DAYS_BACK = 400


def next_tick(ctx: EngineContext, calendar: CalendarTimes,
              outbox: Iterable[OutboxItem]) -> datetime:
    """The next instant at which a tick has something to do (at most SAFETY from now)."""
    now = ctx.clock.now()
    settings = ctx.settings
    hours = settings.hours
    notes = settings.notifications
    lead = LeadTimes(notes.warn_before_ack, notes.warn_before_answer,
                     notes.warn_before_promise)
    moments: list[datetime] = [now + SAFETY]
    with ctx.lock:
        store = ctx.store
        inquiries = store.open_inquiries()
        clients = {c.id: c for c in store.clients() if c.id is not None}
        items = waiting_items(inquiries, clients, settings.standards, hours, now)
        owed = answers_owed(inquiries, clients, settings.standards, hours)
        promises = store.open_promises()
        delegations = store.open_delegations()
        assignments = store.assignments()
        # A client snoozed until then is counted again: the badge must change on time.
        snoozes = read_snoozes(store.states(SNOOZE_KEY))
        # A follow-up comes due: the client shows as owing a reply, with a toast.
        follow_ups = store.open_follow_ups()
        # An absence starts or ends: the autopilot's absence replies begin or stop.
        absences = read_absences(store.states(ABSENCE_KEY))
        reports = store.status_reports() if any(
            c.report_every is not None for c in clients.values()) else {}
    for item in items:
        moments += [item.ack_due - lead.ack, item.ack_due, item.answer_due - lead.answer,
                    item.answer_due]
        if (due_soon := _due_soon_at(item, hours, settings.standards)) is not None:
            moments.append(due_soon)
    moments += [t for o in owed for t in (o.answer_due - lead.answer, o.answer_due)]
    moments += [t for p in promises for t in (p.due - lead.promise, p.due)]
    moments += [d.due for d in delegations] + [a.due for a in assignments]
    moments += [s.until for s in snoozes.values()]
    moments += [f.due for f in follow_ups]
    moments += [t for a in absences for t in (a.starts, a.ends)]
    for client in clients.values():
        if client.report_every is not None and client.id in reports:
            moments.append(reports[client.id] + client.report_every)
    for item_ in outbox:   # (one UNSURE waits for the user, not for time)
        if item_.state in (OutboxState.QUEUED, OutboxState.SENDING, OutboxState.SENT):
            # (a reply held for Undo is the window's to send: a flush only after the grace)
            moments.append(held_until(item_) or item_.next_try or now + SOON)
    if items and (settings.autopilot.tiers or settings.afterhours.tiers
                  or settings.absence.calendar_tiers or current(absences, now)):
        moments.append(now + SOON)   # (someone may be due an automatic reply)
    if (items or owed or promises) and not hours.is_open(now):
        moments.append(hours.next_opening(now))   # warnings held outside hours go then
    moments += _calendar_moments(calendar, ctx, now)
    later = [m for m in moments if m > now]
    return min(later, default=now + SOON)


def _due_soon_at(item: WaitingItem, hours: WorkingHours, standards: Standards
                 ) -> datetime | None:
    """When the item's badge colour turns to due soon (then overdue at its deadline): the
    instant a quarter of the allowed time (at least DUE_SOON_MINIMUM) is left, counted as
    its standard counts (heard.domain.urgency). Worked out, not searched: every tick asks
    it of every waiting item."""
    standard = standards.for_contact(item.client.tier, item.inquiry.channel)
    received, due = item.inquiry.received_at, item.ack_due
    if standard.counting is not Counting.WORKING_HOURS:
        return due - max((due - received) * DUE_SOON_FRACTION, DUE_SOON_MINIMUM)
    left = max(hours.elapsed(received, due) * DUE_SOON_FRACTION, DUE_SOON_MINIMUM)
    return _working_time_before(hours, due, left)


def _working_time_before(hours: WorkingHours, end: datetime, amount: timedelta
                         ) -> datetime | None:
    """The earliest instant from which at most `amount` of working time is left until
    `end` (None: more than a year back)."""
    day = end.astimezone(hours.zone).date()
    for _ in range(_DAYS_BACK):
        for start, stop in reversed(hours.openings(day)):
            stop = min(stop, end)
            if stop <= start:
                continue
            if amount < stop - start:
                return stop - amount
            amount -= stop - start
        day -= timedelta(days=1)
    return None


def _calendar_moments(calendar: CalendarTimes, ctx: EngineContext,
                      now: datetime) -> list[datetime]:
    settings = ctx.settings
    if not settings.calendars:
        return []
    moments: list[datetime] = []
    try:
        intervals, _errors = calendar.intervals(now)
    except Exception:  # a calendar that cannot be read is said by the status, not here
        intervals = []
    moments += [t for iv in intervals for t in (iv.start, iv.end) if t > now]
    states = calendar.refresh_states()
    for source in settings.calendars:
        if not source.remote:
            continue
        state = states.get(source.name)
        if state is None or state.refreshed_at is None:
            moments.append(now + SOON)
            continue
        wait = source.refresh_every if not state.stale_since else min(
            source.refresh_every, timedelta(minutes=1))
        moments.append(state.refreshed_at + wait)
    return moments
