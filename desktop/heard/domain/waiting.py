"""Who is waiting: the list the tray, the window and `heard status` all show."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from heard.domain.clients import Client
from heard.domain.clock import Counting, WorkingHours
from heard.domain.ids import ClientId
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


def waiting_items(
    inquiries: Iterable[Inquiry],
    clients: Mapping[ClientId, Client],
    standards: Standards,
    hours: WorkingHours,
    now: datetime,
) -> list[WaitingItem]:
    """Unacknowledged inquiries, most urgent first, then the longest waiting first."""
    items = []
    for inquiry in inquiries:
        if inquiry.state is not InquiryState.WAITING:
            continue
        client = clients.get(inquiry.client_id)
        if client is None:
            continue
        standard = standards.for_contact(client.tier, inquiry.channel)
        ack_due = standard.ack_due(inquiry.received_at, hours)
        answer_due = standard.answer_due(inquiry.received_at, hours)
        counted_in = hours if standard.counting is Counting.WORKING_HOURS else None
        items.append(
            WaitingItem(inquiry, client, ack_due, answer_due,
                        urgency_at(now, inquiry.received_at, ack_due, counted_in))
        )
    items.sort(key=lambda i: (-i.urgency.rank, i.ack_due, i.inquiry.received_at))
    return items


def waiting_count(items: Iterable[WaitingItem]) -> int:
    """Distinct clients waiting: a client who wrote three times is one person waiting."""
    return len({item.inquiry.client_id for item in items})


def badge_urgency(items: list[WaitingItem]) -> Urgency | None:
    return most_urgent([item.urgency for item in items])
