from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from heard.domain.clients import Channel, Client
from heard.domain.clock import Counting, WorkingHours
from heard.domain.ids import ClientId, InquiryId
from heard.domain.inquiries import Inquiry
from heard.domain.standards import Standard, Standards
from heard.domain.urgency import Urgency
from heard.domain.waiting import badge_urgency, by_client, waiting_count, waiting_items

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=BERLIN)
HOURS = WorkingHours.office(BERLIN)
STANDARDS = Standards(
    default=Standard(timedelta(minutes=30), timedelta(hours=8)),
    by_tier={"vip": Standard(timedelta(minutes=10), timedelta(hours=2), Counting.CLOCK)},
)
MEGGE = Client("Margaret Hale", emails=("m@hale.example",), preferred_name="Megge", tier="vip",
               id=ClientId(1))
RAJ = Client("Rajesh Patel", emails=("raj@patel.example",), id=ClientId(2))
CLIENTS = {ClientId(1): MEGGE, ClientId(2): RAJ}


def inquiry(n: int, client: Client, minutes_ago: int, thread: str = "") -> Inquiry:
    assert client.id is not None
    return Inquiry(client_id=client.id, channel=Channel.EMAIL,
                   received_at=NOW - timedelta(minutes=minutes_ago), subject=f"s{n}",
                   sender=client.emails[0], message_id=f"<{n}@x>",
                   thread_ids=(thread or f"<{n}@x>",), id=InquiryId(n))


def test_a_client_who_wrote_three_times_counts_once() -> None:
    inquiries = [inquiry(1, RAJ, 5), inquiry(2, RAJ, 3), inquiry(3, RAJ, 1)]
    items = waiting_items(inquiries, CLIENTS, STANDARDS, HOURS, NOW)
    assert len(items) == 3
    assert waiting_count(items) == 1


def test_count_is_distinct_clients_and_badge_takes_the_worst_urgency() -> None:
    inquiries = [inquiry(1, RAJ, 5), inquiry(2, MEGGE, 9), inquiry(3, RAJ, 1)]
    items = waiting_items(inquiries, CLIENTS, STANDARDS, HOURS, NOW)
    assert waiting_count(items) == 2
    # Megge is VIP: 10 minutes, around the clock; 9 minutes in she is due soon.
    assert items[0].client == MEGGE
    assert items[0].urgency is Urgency.DUE_SOON
    assert items[0].ack_due == NOW + timedelta(minutes=1)
    assert badge_urgency(items) is Urgency.DUE_SOON


def test_acknowledged_and_closed_inquiries_are_not_waiting() -> None:
    acked = inquiry(1, RAJ, 5).acknowledge(NOW)
    answered = inquiry(2, MEGGE, 5).answer(NOW)
    items = waiting_items([acked, answered], CLIENTS, STANDARDS, HOURS, NOW)
    assert items == []
    assert waiting_count(items) == 0
    assert badge_urgency(items) is None


def test_inquiries_of_unknown_clients_are_left_out() -> None:
    stray = Inquiry(client_id=ClientId(99), channel=Channel.EMAIL, received_at=NOW,
                    subject="", sender="x@y")
    assert waiting_items([stray], CLIENTS, STANDARDS, HOURS, NOW) == []


def test_working_hours_standard_counts_from_the_next_opening() -> None:
    evening = Inquiry(client_id=ClientId(2), channel=Channel.EMAIL, subject="late",
                      received_at=datetime(2026, 11, 24, 20, 0, tzinfo=BERLIN), sender="r@p")
    [item] = waiting_items([evening], CLIENTS, STANDARDS, HOURS, NOW)
    assert item.ack_due == datetime(2026, 11, 25, 9, 30, tzinfo=BERLIN)
    assert item.urgency is Urgency.OVERDUE


def test_one_row_per_client_newest_first_and_the_earliest_deadline_governs() -> None:
    inquiries = [inquiry(1, RAJ, 25), inquiry(2, MEGGE, 2), inquiry(3, RAJ, 1)]
    rows = by_client(waiting_items(inquiries, CLIENTS, STANDARDS, HOURS, NOW))
    assert [row.client for row in rows] == [RAJ, MEGGE]      # Raj's first message is due soon
    raj = rows[0]
    assert raj.ids == (InquiryId(3), InquiryId(1))            # newest first
    assert raj.first.inquiry.id == 1 and raj.newest.inquiry.id == 3
    assert raj.ack_due == NOW + timedelta(minutes=5)          # 30 minutes after the first
    assert raj.urgency is Urgency.DUE_SOON
    assert len(rows) == waiting_count(waiting_items(inquiries, CLIENTS, STANDARDS, HOURS, NOW))
