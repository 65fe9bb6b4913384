"""Who is waiting: the list the tray, the window and `heard status` all show."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from heard.domain.clients import Client
from heard.domain.clock import Counting, WorkingHours
from heard.domain.delegations import Delegation
from heard.domain.ids import ClientId, InquiryId
from heard.domain.inquiries import Inquiry, InquiryState
from heard.domain.standards import Standards
from heard.domain.urgency import Urgency, most_urgent, urgency_at


@dataclass(frozen=True)
class WaitingItem:
    inquiry: Inquiry
    client: Client
    ack_due: datetime
    answer_due: datetime
    urgency: Urgency
    # The assistant it was delegated to, who let the due time pass with no reply to the
    # client: it is back with the user ("Sam has not answered: back to you").
    escalated_from: str | None = None


def waiting_items(
    inquiries: Iterable[Inquiry],
    clients: Mapping[ClientId, Client],
    standards: Standards,
    hours: WorkingHours,
    now: datetime,
    escalated: Mapping[InquiryId, Delegation] | None = None,
) -> list[WaitingItem]:
    """Unacknowledged inquiries, most urgent first, then the longest waiting first.
    `escalated`: delegations past their due time that nobody took up, by inquiry: those
    delegated inquiries wait on the user again, due when the assistant's time ran out."""
    items = []
    late = escalated or {}
    for inquiry in inquiries:
        delegation = late.get(inquiry.id) if inquiry.id is not None else None
        if inquiry.state is not InquiryState.WAITING and not (
                delegation is not None and inquiry.state is InquiryState.DELEGATED):
            continue
        client = clients.get(inquiry.client_id)
        if client is None:
            continue
        standard = standards.for_contact(client.tier, inquiry.channel)
        if delegation is not None and inquiry.state is InquiryState.DELEGATED:
            items.append(WaitingItem(
                inquiry, client, delegation.due, standard.answer_due(inquiry.received_at, hours),
                urgency_at(now, inquiry.received_at, delegation.due, None),
                delegation.assistant or delegation.address))
            continue
        ack_due = standard.ack_due(inquiry.received_at, hours)
        answer_due = standard.answer_due(inquiry.received_at, hours)
        counted_in = hours if standard.counting is Counting.WORKING_HOURS else None
        items.append(
            WaitingItem(inquiry, client, ack_due, answer_due,
                        urgency_at(now, inquiry.received_at, ack_due, counted_in))
        )
    items.sort(key=lambda i: (-i.urgency.rank, i.ack_due, i.inquiry.received_at))
    return items


@dataclass(frozen=True)
class WaitingClient:
    """One client (or prospect, or caller) waiting: the unit of work. Everything they
    wrote that waits, newest first; one acknowledgement answers it all."""

    client: Client
    items: tuple[WaitingItem, ...]

    @property
    def newest(self) -> WaitingItem:
        return self.items[0]

    @property
    def first(self) -> WaitingItem:
        """The contact waiting longest."""
        return self.items[-1]

    @property
    def ack_due(self) -> datetime:
        """The earliest deadline among them governs."""
        return min(item.ack_due for item in self.items)

    @property
    def urgency(self) -> Urgency:
        found = most_urgent([item.urgency for item in self.items])
        assert found is not None
        return found

    @property
    def ids(self) -> tuple[InquiryId, ...]:
        return tuple(i.inquiry.id for i in self.items if i.inquiry.id is not None)


def by_client(items: Iterable[WaitingItem]) -> list[WaitingClient]:
    """The waiting items grouped per client, most urgent first, then the earliest
    deadline, then the longest waiting."""
    groups: dict[ClientId, list[WaitingItem]] = {}
    for item in items:
        groups.setdefault(item.inquiry.client_id, []).append(item)
    found = [WaitingClient(group[0].client, tuple(sorted(
        group, key=lambda i: i.inquiry.received_at, reverse=True))) for group in groups.values()]
    found.sort(key=lambda w: (-w.urgency.rank, w.ack_due, w.first.inquiry.received_at))
    return found


def waiting_count(items: Iterable[WaitingItem]) -> int:
    """Distinct clients waiting: a client who wrote three times is one person waiting."""
    return len({item.inquiry.client_id for item in items})


def badge_urgency(items: list[WaitingItem]) -> Urgency | None:
    return most_urgent([item.urgency for item in items])
