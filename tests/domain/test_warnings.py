from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from heard.domain.clients import Channel, Client
from heard.domain.clock import Counting, FixedClock, WorkingHours
from heard.domain.ids import ClientId, InquiryId
from heard.domain.inquiries import Inquiry
from heard.domain.promises import Promise
from heard.domain.standards import Standard, Standards
from heard.domain.waiting import WaitingItem, waiting_items
from heard.domain.warnings import (
    Alert,
    AlertKind,
    AnswerOwed,
    LeadTimes,
    alert_key,
    answers_owed,
    due_alerts,
    group,
)

BERLIN = ZoneInfo("Europe/Berlin")
HOURS = WorkingHours.office(BERLIN)
LEAD = LeadTimes()
# Wednesday, in office hours.
MORNING = datetime(2026, 11, 25, 10, 0, tzinfo=BERLIN)
STANDARDS = Standards(
    default=Standard(timedelta(minutes=30), timedelta(hours=2)),
    by_tier={"vip": Standard(timedelta(minutes=10), timedelta(hours=2), Counting.CLOCK)},
)
MEGGE = Client("Margaret Hale", emails=("m@hale.example",), preferred_name="Megge", tier="vip",
               id=ClientId(1))
RAJ = Client("Rajesh Patel", emails=("raj@patel.example",), id=ClientId(2))
DANA = Client("Dana Okafor", emails=("dana@okafor.example",), id=ClientId(3))
CLIENTS = {c.id: c for c in (MEGGE, RAJ, DANA) if c.id is not None}

Snapshot = tuple[Sequence[WaitingItem], Sequence[AnswerOwed], Sequence[tuple[Promise, Client]]]


def inquiry(n: int, client: Client, received_at: datetime) -> Inquiry:
    assert client.id is not None
    return Inquiry(client_id=client.id, channel=Channel.EMAIL, received_at=received_at,
                   subject=f"subject {n}", sender=client.emails[0], message_id=f"<{n}@x>",
                   id=InquiryId(n))


def promise(client: Client, n: int, due: datetime, text: str = "") -> Promise:
    assert client.id is not None
    return Promise(InquiryId(n), client.id, made_at=due - timedelta(hours=1), due=due, text=text)


def waiting(*inquiries: Inquiry, now: datetime = MORNING) -> list[WaitingItem]:
    return waiting_items(inquiries, CLIENTS, STANDARDS, HOURS, now)


def step(start: datetime, end: datetime, snapshot: Callable[[datetime], Snapshot],
         every: timedelta = timedelta(minutes=1),
         already: set[str] | None = None) -> list[tuple[datetime, Alert]]:
    """Run the engine's loop on a FixedClock: warn, remember the keys, advance."""
    clock = FixedClock(start)
    seen: set[str] = set() if already is None else already
    fired = []
    while clock.now() <= end:
        now = clock.now()
        items, owed, promises = snapshot(now)
        for alert in due_alerts(items, owed, promises, now, LEAD, seen, HOURS):
            assert alert.key not in seen
            seen.add(alert.key)
            fired.append((now, alert))
        clock.advance(every)
    return fired


def test_an_ack_deadline_warns_once_when_its_lead_time_begins() -> None:
    raj = inquiry(1, RAJ, MORNING)  # acknowledge by 10:30, answer by 12:00
    fired = step(MORNING, MORNING + timedelta(minutes=50), lambda now: (waiting(raj), [], []))
    assert [(at.time().isoformat("minutes"), a.kind) for at, a in fired] == [
        ("10:28", AlertKind.ACK)]
    alert = fired[0][1]
    assert alert.due == MORNING + timedelta(minutes=30)
    assert (alert.inquiry_id, alert.client_id, alert.client_name) == (1, 2, "Rajesh")
    assert not alert.overdue
    assert alert.detail == "subject 1"


def test_an_answer_deadline_warns_an_hour_before_even_after_acknowledging() -> None:
    acked = inquiry(1, RAJ, MORNING).acknowledge(MORNING + timedelta(minutes=5))
    owed = answers_owed([acked], CLIENTS, STANDARDS, HOURS)
    assert [o.answer_due for o in owed] == [MORNING + timedelta(hours=2)]
    fired = step(MORNING, MORNING + timedelta(hours=3), lambda now: ([], owed, []))
    assert [(at, a.kind) for at, a in fired] == [
        (MORNING + timedelta(hours=1), AlertKind.ANSWER)]


def test_a_waiting_inquiry_owes_the_answer_too() -> None:
    raj = inquiry(1, RAJ, MORNING)
    fired = step(MORNING, MORNING + timedelta(hours=3), lambda now: (waiting(raj), [], []))
    assert [(at - MORNING, a.kind) for at, a in fired] == [
        (timedelta(minutes=28), AlertKind.ACK), (timedelta(hours=1), AlertKind.ANSWER)]


def test_answers_owed_leaves_out_the_unacknowledged_and_unknown_clients() -> None:
    stranger = Inquiry(client_id=ClientId(99), channel=Channel.EMAIL, received_at=MORNING,
                       subject="s", sender="x@y.example").acknowledge(MORNING)
    assert answers_owed([inquiry(1, RAJ, MORNING), stranger], CLIENTS, STANDARDS, HOURS) == []


def test_a_promise_warns_fifteen_minutes_before() -> None:
    due = MORNING.replace(hour=16, minute=30)
    kept = promise(DANA, 2, due).keep(MORNING)
    promises = [(promise(RAJ, 1, due, "the contract, signed"), RAJ), (kept, DANA)]
    fired = step(MORNING.replace(hour=16), due, lambda now: ([], [], promises))
    assert [(at.time().isoformat("minutes"), a.kind, a.client_name) for at, a in fired] == [
        ("16:15", AlertKind.PROMISE, "Rajesh")]
    assert fired[0][1].detail == "the contract, signed"


def test_a_deadline_already_passed_when_first_seen_warns_once_as_overdue() -> None:
    raj = waiting(inquiry(1, RAJ, MORNING))
    late = MORNING + timedelta(minutes=45)
    first = due_alerts(raj, [], [], late, LEAD, set(), HOURS)
    assert [(a.kind, a.overdue) for a in first] == [(AlertKind.ACK, True)]
    assert due_alerts(raj, [], [], late + timedelta(minutes=1), LEAD, {first[0].key},
                      HOURS) == []


def test_a_new_promise_time_warns_again_and_the_same_one_never() -> None:
    due = MORNING.replace(hour=16, minute=30)
    already = {a.key for _, a in step(due - timedelta(minutes=20), due,
                                      lambda now: ([], [], [(promise(RAJ, 1, due), RAJ)]))}
    assert len(already) == 1
    again = promise(RAJ, 1, due, "a second promise, same time")
    assert due_alerts([], [], [(again, RAJ)], due, LEAD, already, HOURS) == []
    moved = promise(RAJ, 1, due + timedelta(minutes=30))
    fired = step(due, moved.due, lambda now: ([], [], [(moved, RAJ)]), already=already)
    assert [(at, a.due) for at, a in fired] == [(moved.due - timedelta(minutes=15), moved.due)]


def test_outside_working_hours_only_vips_are_warned_and_the_rest_wait_for_the_opening() -> None:
    evening = MORNING.replace(hour=20)  # Wednesday 20:00, closed
    owed = [AnswerOwed(inquiry(1, RAJ, evening), RAJ, evening + timedelta(minutes=30)),
            AnswerOwed(inquiry(2, MEGGE, evening), MEGGE, evening + timedelta(minutes=30))]
    fired = step(evening, evening.replace(hour=9) + timedelta(days=1),
                 lambda now: ([], owed, []))
    assert [(at, a.client_name, a.overdue) for at, a in fired] == [
        (evening, "Megge", False),
        # A VIP's answer broken is told again when it happens.
        (evening + timedelta(minutes=30), "Megge", True),
        (datetime(2026, 11, 26, 9, 0, tzinfo=BERLIN), "Rajesh", True),
    ]
    assert fired[1][1].key.endswith(":passed")
    assert fired[0][1].tier == "vip"


def test_vip_tiers_are_the_users_own() -> None:
    sunday = datetime(2026, 11, 29, 12, 0, tzinfo=BERLIN)
    owed = [AnswerOwed(inquiry(1, RAJ, sunday), RAJ, sunday)]
    assert due_alerts([], owed, [], sunday, LEAD, set(), HOURS) == []
    alerts = due_alerts([], owed, [], sunday, LEAD, set(), HOURS, vip_tiers={"standard"})
    assert [a.client_name for a in alerts] == ["Rajesh"]


def test_alerts_are_sorted_by_due_and_each_deadline_appears_once() -> None:
    raj = inquiry(1, RAJ, MORNING)
    item = waiting(raj)[0]
    due = item.ack_due
    promises = [(promise(DANA, 3, due - timedelta(minutes=1)), DANA)]
    alerts = due_alerts([item, item], [], promises, due, LEAD, set(), HOURS)
    assert [(a.kind, a.client_name) for a in alerts] == [
        (AlertKind.PROMISE, "Dana"), (AlertKind.ACK, "Rajesh")]


def test_an_inquiry_not_stored_yet_is_keyed_by_its_message_id() -> None:
    fresh = Inquiry(client_id=ClientId(2), channel=Channel.EMAIL, received_at=MORNING,
                    subject="s", sender="raj@patel.example", message_id="<new@x>")
    alerts = due_alerts(waiting(fresh), [], [], MORNING + timedelta(hours=1), LEAD, set(),
                        HOURS)
    assert alerts[0].key == "ack:<new@x>:2026-11-25T09:30:00+00:00"
    assert alerts[0].inquiry_id is None


def test_keys_name_the_instant_in_utc_whatever_the_zone() -> None:
    due = datetime(2026, 11, 25, 10, 30, tzinfo=BERLIN)
    assert alert_key(AlertKind.ACK, "7", due) == alert_key(
        AlertKind.ACK, "7", due.astimezone(ZoneInfo("America/Los_Angeles")))
    with pytest.raises(ValueError, match="naive"):
        alert_key(AlertKind.ACK, "7", due.replace(tzinfo=None))
    with pytest.raises(ValueError, match="naive"):
        due_alerts([], [], [], MORNING.replace(tzinfo=None), LEAD, set(), HOURS)


def test_lead_times_are_configurable_and_not_negative() -> None:
    quick = LeadTimes(ack=timedelta(0))
    raj = waiting(inquiry(1, RAJ, MORNING))
    assert due_alerts(raj, [], [], MORNING + timedelta(minutes=29), quick, set(), HOURS) == []
    assert len(due_alerts(raj, [], [], MORNING + timedelta(minutes=30), quick, set(),
                          HOURS)) == 1
    with pytest.raises(ValueError, match="answer"):
        LeadTimes(answer=timedelta(minutes=-1))


def test_across_the_autumn_change_a_deadline_warns_at_the_right_utc_instant() -> None:
    # Sunday 25 October 2026, Berlin: 03:00 CEST becomes 02:00 CET at 01:00 UTC.
    received = datetime(2026, 10, 25, 1, 0, tzinfo=BERLIN)  # 23:00 UTC the day before
    megge = inquiry(1, MEGGE, received)
    items = waiting_items([megge], CLIENTS, STANDARDS, HOURS, received)
    # Two hours around the clock: 01:00 UTC, the second 02:00 of the night (CET).
    assert items[0].answer_due.astimezone(UTC) == datetime(2026, 10, 25, 1, 0, tzinfo=UTC)
    assert items[0].answer_due.fold == 1
    fired = step(received, received + timedelta(hours=3), lambda now: (items, [], []))
    answer = [at for at, a in fired if a.kind is AlertKind.ANSWER]
    # One real hour before: 00:00 UTC (02:00 CEST), not at 01:00 CEST by wall-clock arithmetic;
    # the breach (a VIP's) at 01:00 UTC.
    assert [at.astimezone(UTC) for at in answer] == [datetime(2026, 10, 25, 0, 0, tzinfo=UTC),
                                                     datetime(2026, 10, 25, 1, 0, tzinfo=UTC)]


def alert(client: Client, kind: AlertKind, due: datetime, *, overdue: bool = False,
          detail: str = "") -> Alert:
    return Alert(kind, InquiryId(1), client.id, client.display_name, due,
                 alert_key(kind, str(client.id), due), overdue, client.tier, detail)


def test_one_alert_is_spelled_out() -> None:
    at = MORNING.replace(minute=12)
    cases = [
        (alert(MEGGE, AlertKind.ACK, at, detail="Board pack"), "Megge: acknowledge by 10:12 am"),
        (alert(MEGGE, AlertKind.ACK, at, overdue=True),
         "Megge: acknowledgement was due at 10:12 am"),
        (alert(RAJ, AlertKind.ANSWER, at.replace(hour=16, minute=30)),
         "Rajesh: answer by 4:30 pm"),
        (alert(RAJ, AlertKind.ANSWER, at, overdue=True), "Rajesh: answer was due at 10:12 am"),
        (alert(RAJ, AlertKind.PROMISE, at.replace(hour=16, minute=30)),
         "Promise to Rajesh due at 4:30 pm"),
        (alert(RAJ, AlertKind.PROMISE, at, overdue=True), "Promise to Rajesh was due at 10:12 am"),
        (alert(RAJ, AlertKind.ACK, at + timedelta(days=1)), "Rajesh: acknowledge by tomorrow"
                                                            " 10:12 am"),
    ]
    for one, title in cases:
        (toast,) = group([one], MORNING, BERLIN)
        assert (toast.title, toast.text, toast.alerts) == (title, one.detail, (one,))


def test_only_a_vip_standard_actually_broken_is_a_breach() -> None:
    at = MORNING.replace(minute=12)
    late_vip = alert(MEGGE, AlertKind.ACK, at, overdue=True)
    assert [t.breach for t in group([late_vip], MORNING, BERLIN)] == [True]
    assert [t.breach for t in group([alert(MEGGE, AlertKind.ACK, at)], MORNING, BERLIN)] == [
        False]   # coming, not broken yet
    assert [t.breach for t in group([alert(RAJ, AlertKind.ACK, at, overdue=True)], MORNING,
                                    BERLIN)] == [False]   # late, but not a VIP's standard
    assert [t.breach for t in group([alert(MEGGE, AlertKind.PROMISE, at, overdue=True)],
                                    MORNING, BERLIN)] == [False]   # a promise, not a standard
    assert [t.breach for t in group([alert(RAJ, AlertKind.ANSWER, at, overdue=True)], MORNING,
                                    BERLIN, urgent_tiers=frozenset({"standard"}))] == [True]


def test_many_alerts_at_once_make_at_most_two_toasts_naming_the_clients() -> None:
    soon = [alert(MEGGE, AlertKind.ACK, MORNING + timedelta(minutes=2)),
            alert(RAJ, AlertKind.PROMISE, MORNING + timedelta(minutes=5)),
            alert(MEGGE, AlertKind.ANSWER, MORNING + timedelta(minutes=4)),
            alert(DANA, AlertKind.ANSWER, MORNING + timedelta(minutes=5))]
    late = [alert(RAJ, AlertKind.ACK, MORNING - timedelta(minutes=3), overdue=True),
            alert(DANA, AlertKind.ACK, MORNING - timedelta(minutes=1), overdue=True)]
    toasts = group(soon + late, MORNING, BERLIN)
    assert [(t.title, t.text) for t in toasts] == [
        ("2 deadlines passed", "Rajesh and Dana"),
        ("4 deadlines in the next 5 minutes", "Megge, Rajesh and Dana; the first at 10:02 am"),
    ]
    assert sum(len(t.alerts) for t in toasts) == 6
    assert group([], MORNING, BERLIN) == []


def test_a_summary_says_how_far_ahead_and_cuts_long_name_lists() -> None:
    people = [Client(f"Person{n} X", id=ClientId(10 + n)) for n in range(6)]
    def many(ahead: timedelta) -> list[Alert]:
        return [alert(p, AlertKind.ANSWER, MORNING + ahead) for p in people]
    titles = {ahead: group(many(ahead), MORNING, BERLIN)[0].title
              for ahead in (timedelta(seconds=20), timedelta(minutes=59), timedelta(minutes=61),
                            timedelta(minutes=60), timedelta(hours=2, minutes=1))}
    assert list(titles.values()) == [
        "6 deadlines in the next minute", "6 deadlines in the next 59 minutes",
        "6 deadlines in the next 2 hours", "6 deadlines in the next hour",
        "6 deadlines in the next 3 hours"]
    text = group(many(timedelta(minutes=5)), MORNING, BERLIN)[0].text
    # Named as everywhere else: three, and how many more (3 + 3 = 6 deadlines' clients).
    assert text.startswith("Person0, Person1, Person2 and 3 more;")


@settings(max_examples=60, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31),
                       timezones=st.just(BERLIN)),
    offsets=st.lists(st.tuples(st.sampled_from([MEGGE, RAJ, DANA]),
                               st.integers(min_value=-600, max_value=3000)),
                     min_size=1, max_size=6),
    steps=st.lists(st.integers(min_value=0, max_value=240), min_size=1, max_size=40),
)
def test_stepping_a_clock_forward_never_yields_the_same_key_twice(
    start: datetime, offsets: list[tuple[Client, int]], steps: list[int],
) -> None:
    inquiries = [inquiry(n, client, start + timedelta(minutes=m))
                 for n, (client, m) in enumerate(offsets)]
    promises = [(promise(client, n, start + timedelta(minutes=m + 90)), client)
                for n, (client, m) in enumerate(offsets)]
    owed = answers_owed([i.acknowledge(i.received_at) for i in inquiries[::2]], CLIENTS,
                        STANDARDS, HOURS)
    clock, already = FixedClock(start), set[str]()
    for minutes in steps:
        clock.advance(timedelta(minutes=minutes))
        now = clock.now()
        items = waiting_items(inquiries[1::2], CLIENTS, STANDARDS, HOURS, now)
        alerts = due_alerts(items, owed, promises, now, LEAD, already, HOURS)
        keys = [a.key for a in alerts]
        assert len(keys) == len(set(keys))
        assert not already & set(keys)
        for a in alerts:
            assert a.due.astimezone(UTC) - LEAD.of(a.kind) <= now.astimezone(UTC)
            assert HOURS.is_open(now) or a.tier == "vip"
        already.update(keys)
        assert len(group(alerts, now, BERLIN)) <= 2


def test_in_a_meeting_urgent_tiers_and_close_deadlines_pop_the_rest_waits() -> None:
    from heard.domain.warnings import Alert, AlertKind, pop_in_meeting

    now = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)

    def alert(tier: str, minutes: int) -> Alert:
        due = now + timedelta(minutes=minutes)
        return Alert(AlertKind.ANSWER, None, None, tier, due, f"{tier}{minutes}",
                     overdue=minutes <= 0, tier=tier)

    pop, wait = pop_in_meeting(
        [alert("vip", 50), alert("standard", 50), alert("standard", 2),
         alert("standard", -5)], now, frozenset({"vip"}), timedelta(minutes=2))
    assert [a.key for a in pop] == ["vip50", "standard2", "standard-5"]
    assert [a.key for a in wait] == ["standard50"]
