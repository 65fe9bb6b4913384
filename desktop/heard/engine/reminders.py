"""Reminding the user, once each, before a standard or a promise is missed: deadline
warnings, status reports a client asked for, delegations nobody took up; holding toasts
back (snooze) and planning which toasts to show for new arrivals."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from heard.domain.clients import Client
from heard.domain.ids import ClientId, InquiryId
from heard.domain.templates import format_time
from heard.domain.waiting import waiting_items
from heard.engine.context import EngineContext
from heard.engine.ports import BusyReader

if TYPE_CHECKING:
    from heard.domain.accounts import AccountHealth
    from heard.domain.busy import BusyState
    from heard.domain.delegations import Assignment, Delegation
    from heard.domain.followups import FollowUp
    from heard.domain.toasts import Plan
    from heard.domain.waiting import WaitingItem



class Reminders:
    def __init__(self, ctx: EngineContext, calendar: BusyReader) -> None:
        self._ctx = ctx
        self._calendar = calendar

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

        ctx = self._ctx
        now = ctx.clock.now()
        settings = ctx.settings
        with ctx.lock:
            inquiries = ctx.store.open_inquiries()
            clients = {c.id: c for c in ctx.store.clients() if c.id is not None}
            items = waiting_items(inquiries, clients, settings.standards, settings.hours, now)
            owed = answers_owed(inquiries, clients, settings.standards, settings.hours)
            promises = [(p, clients[p.client_id]) for p in ctx.store.open_promises()
                        if p.client_id in clients]
            notes = settings.notifications
            lead = LeadTimes(notes.warn_before_ack, notes.warn_before_answer,
                             notes.warn_before_promise)
            urgent = frozenset(notes.urgent_tiers)
            # Everything due now, then those of its keys given before (a deadline long
            # overdue must not warn again): looked up by key, so a tick costs what is open,
            # not every warning ever given.
            found = due_alerts(items, owed, promises, now, lead, frozenset(), settings.hours,
                               urgent)
            reports = self.reports_due(now, clients.values(), start=True)
            late = [d for d in ctx.store.open_delegations() if d.overdue(now)]
            mine = frozenset(a.lower() for a in ctx.own_addresses())
            mine_late = [a for a in ctx.store.assignments() if a.to(mine) and a.overdue(now)]
            owing = [f for f in ctx.store.open_follow_ups()
                     if f.is_due(now) and f.client_id in clients]
            already = ctx.store.alerts_given(
                [a.key for a in found] + [_report_key(c, due) for c, due in reports]
                + [_delegation_key(d) for d in late] + [_assigned_key(a) for a in mine_late]
                + [_follow_up_key(f) for f in owing])
            owing = [f for f in owing if _follow_up_key(f) not in already]
            found = [a for a in found if a.key not in already]
            reports = [(c, due) for c, due in reports if _report_key(c, due) not in already]
            late = [d for d in late if _delegation_key(d) not in already]
            mine_late = [a for a in mine_late if _assigned_key(a) not in already]
            if notes.quiet_in_meetings and (busy := self._calendar.busy(now)) is not None \
                    and busy.now:
                # In a meeting only what cannot wait pops; the rest comes when it ends
                # (not marked as given, so the next look after the meeting finds it).
                found, _later = pop_in_meeting(found, now, urgent, notes.warn_before_ack)
                reports, late, mine_late, owing = [], [], [], []
            ctx.store.mark_alerts([a.key for a in found]
                                  + [_report_key(c, due) for c, due in reports]
                                  + [_delegation_key(d) for d in late]
                                  + [_assigned_key(a) for a in mine_late]
                                  + [_follow_up_key(f) for f in owing], now)
        def client_of(inquiry_id: InquiryId) -> Client | None:
            inquiry = ctx.store.inquiry(inquiry_id)
            return clients.get(inquiry.client_id) if inquiry else None

        zone = settings.zone
        deadlines = tuple(group(found, now, zone, urgent))
        toasts = [(f"{d.assistant} has not taken it up",
                    f"{getattr(client_of(d.inquiry_id), 'name', 'A client')}'s message was"
                    f" due to be taken up by {format_time(d.due, zone, now)}; check with"
                    " them, or answer it yourself")
                   # one toast per forward: a client's messages handed over together
                   for d in {d.forward_id: d for d in reversed(late)}.values()]
        toasts += [(f"Due: {getattr(client_of(a.inquiry_id), 'name', 'a client')}",
                    f"handed to you by {a.by!r}, due {format_time(a.due, zone, now)}"
                    + (f": {a.note}" if a.note else "")) for a in mine_late]
        # A client who owes the user a reply (a follow-up due): never counted as waiting.
        toasts += [(f"{clients[f.client_id].display_name} owes you a reply",
                    f"about {f.about()!r}, since {format_time(f.set_at, zone, now)}; nudge"
                    " them from Heard's window (Owe you)") for f in owing]
        if reports:
            names = [c.display_name for c, _ in reports]
            toasts.append(("Status report due" if len(names) == 1 else
                           f"{len(names)} status reports due", ", ".join(names[:4])))
        if toasts or deadlines:
            ctx.events.toasts(toasts, deadlines)
        return [(t.title, t.text) for t in deadlines] + toasts

    def reports_due(self, now: datetime, clients: Iterable[Client], start: bool = False
                    ) -> list[tuple[Client, datetime]]:
        """Clients whose preference asks for a regular status report that is now due
        (counted from the last one noted, or from when the preference was first seen).
        `start`: a client whose clock has not started yet starts it now (the status only
        reads; the client directory starts it when the preference is set)."""
        wanted = [c for c in clients if c.report_every is not None]
        if not wanted:
            return []
        sent = self._ctx.store.status_reports()
        due = []
        for client in wanted:
            assert client.id is not None
            last = sent.get(client.id)
            if last is None:  # the clock starts when the preference is first seen
                if start:
                    self._ctx.store.mark_status_report(client.id, now)
                continue
            next_due = last + (client.report_every or timedelta(0))
            if next_due <= now:
                due.append((client, next_due))
        return sorted(due, key=lambda pair: pair[1])

    def snoozed_until(self) -> datetime | None:
        """Toasts are held back until then (the badge keeps counting); None: not snoozed."""
        text = self._ctx.store.state("snooze_until")
        until = datetime.fromisoformat(text) if text else None
        return until if until is not None and until > self._ctx.clock.now() else None

    def snooze(self, until: datetime | None) -> None:
        """Hold toasts back until `until` (None: wake up now). Kept across restarts."""
        self._ctx.store.set_state("snooze_until", until.isoformat() if until else None)
        self._ctx.events.changed()

    def status_report_sent(self, client_id: ClientId) -> None:
        self._ctx.store.mark_status_report(client_id, self._ctx.clock.now())
        self._ctx.events.changed()

    def plan_toasts(self, waiting: list[WaitingItem], busy: BusyState | None,
                    offline: list[AccountHealth], paused: bool,
                    on_screen: Iterable[InquiryId]) -> tuple[Plan, datetime | None]:
        """Which toasts to show for what is waiting now (quiet in meetings, grouped, held
        back while snoozed or paused), each remembered before it is shown; and until when
        toasts are snoozed."""
        from heard.domain.toasts import Hold, held_key, offline_key, plan, told_key

        ctx = self._ctx
        settings = ctx.settings
        # Only the keys of who waits and what is offline now (not every toast ever given,
        # which grows with the history, on every status).
        ids = [i.inquiry.id for i in waiting if i.inquiry.id is not None]
        told = ctx.store.alerts_given(
            [told_key(i) for i in ids] + [held_key(h, i) for i in ids for h in Hold]
            + [offline_key(a) for a in offline])
        snoozed = self.snoozed_until()
        now = ctx.clock.now()
        result = plan(
            waiting, told, now, busy=busy,
            quiet_in_meetings=settings.notifications.quiet_in_meetings, snoozed_until=snoozed,
            paused=paused, urgent_tiers=frozenset(settings.notifications.urgent_tiers),
            warn_before_ack=settings.notifications.warn_before_ack, on_screen=list(on_screen),
            offline=offline)
        if result.mark:
            ctx.store.mark_alerts(result.mark, now)
        return result, snoozed


def _report_key(client: Client, due: datetime) -> str:
    return f"report:{client.id}:{due.isoformat()}"


def _delegation_key(delegation: Delegation) -> str:
    return f"delegation:{delegation.inquiry_id}:{delegation.due.isoformat()}"


def _assigned_key(assignment: Assignment) -> str:
    return f"assigned:{assignment.inquiry_id}:{assignment.due.isoformat()}"


def _follow_up_key(follow_up: FollowUp) -> str:
    """Once per follow-up and due time (a nudge moves it: due again, said again)."""
    return f"follow-up:{follow_up.id}:{follow_up.due.isoformat()}"
