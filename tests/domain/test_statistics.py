"""Statistics on a hand-checked set of 30 inquiries, edge cases, DST weeks, and properties.

The set (Europe/Berlin, office hours Mon-Fri 9-17, March 2026: no DST change inside it):
- standard tier, email: the default standard, 30 min / 8 h in working hours, goals 90% / 100%;
- standard tier, call: 10 min / 24 h around the clock, goals 90% / 100% ("all calls returned
  within 24 hours; 90% of them within ten minutes");
- VIP tier (any channel): 10 min / 2 h around the clock, goals 95% / 100%;
- prospect: Standards.fastest, 10 min / 2 h in working hours, goals 95% / 100%.
Week 10 is Mon 2 - Sun 8 March, week 11 Mon 9 - Sun 15 March; `now` is Wed 11 March 12:00.
Each row's comment gives the times by hand (working time where the standard counts it).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from heard.domain.clients import Channel, Client
from heard.domain.clock import Counting, Span, WorkingHours
from heard.domain.ids import ClientId, InquiryId, PromiseId
from heard.domain.inquiries import Inquiry, InquiryState
from heard.domain.promises import Promise
from heard.domain.standards import PROSPECT_TIER, Standard, Standards
from heard.domain.statistics import (
    ContactMeasure,
    Summary,
    _WorkingTimeline,
    day_bounds,
    format_duration,
    goal_sentence,
    is_client,
    measure,
    needed_more,
    percentile,
    summarise,
    week_bounds,
    weekly_summary_text,
)

BERLIN = ZoneInfo("Europe/Berlin")
HOURS = WorkingHours.office(BERLIN)
M = timedelta(minutes=1)
H = timedelta(hours=1)

STANDARDS = Standards(
    by_tier={"vip": Standard(10 * M, 2 * H, Counting.CLOCK, ack_goal=0.95)},
    by_tier_channel={("default", Channel.CALL): Standard(10 * M, 24 * H, Counting.CLOCK)},
)
ACME, BOLT, MEGGE, NEWCO = ClientId(1), ClientId(2), ClientId(3), ClientId(4)
CLIENTS = {
    ACME: Client("Acme", id=ACME),
    BOLT: Client("Bolt", id=BOLT),
    MEGGE: Client("Margaret Vip", preferred_name="Megge", tier="vip", id=MEGGE),
    NEWCO: Client("Newco", tier=PROSPECT_TIER, prospect=True, id=NEWCO),
}
NOW = datetime(2026, 3, 11, 12, 0, tzinfo=BERLIN)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=BERLIN)


def inq(n: int, client: ClientId, received: datetime, *, ack: datetime | None = None,
        closed: datetime | None = None, state: InquiryState | None = None,
        channel: Channel = Channel.EMAIL) -> Inquiry:
    if state is None:
        state = (InquiryState.ANSWERED if closed else
                 InquiryState.ACKNOWLEDGED if ack else InquiryState.WAITING)
    return Inquiry(client_id=client, channel=channel, received_at=received, subject=f"#{n}",
                   sender="x@example.com", state=state, acknowledged_at=ack, closed_at=closed,
                   id=InquiryId(n))


CALL, DEL, DIS = Channel.CALL, InquiryState.DELEGATED, InquiryState.DISMISSED

THIRTY = [
    # standard email, working hours: ack 30 min, answer 8 h
    inq(1, ACME, at(2, 9), ack=at(2, 9, 5), closed=at(2, 11)),       # 5 m; 2 h
    inq(2, BOLT, at(2, 9, 10), ack=at(2, 9, 20), closed=at(2, 12, 10)),  # 10 m; 3 h
    inq(3, ACME, at(2, 9, 30), closed=at(2, 9, 45)),                 # answer acks: 15 m; 15 m
    inq(4, ACME, at(2, 10), ack=at(2, 10, 40), closed=at(2, 14)),    # 40 m LATE; 4 h
    # Mon 16:50: 10 m Mon + 10 m Tue = 20 m (due Tue 9:20); 10 m + 3 h = 3 h 10 m (due Tue 16:50)
    inq(5, BOLT, at(2, 16, 50), ack=at(3, 9, 10), closed=at(3, 12)),
    # Saturday: the clock starts Mon 9 March 9:00; 25 m (due 9:30); 6 h
    inq(6, ACME, at(7, 10), ack=at(9, 9, 25), closed=at(9, 15)),
    # acknowledged in time, answered late: 6 h Mon (11-17) + 3 h Tue = 9 h > 8 h (due Tue 11:00)
    inq(7, BOLT, at(2, 11), ack=at(2, 11, 20), closed=at(3, 12)),    # 20 m; 9 h LATE
    inq(8, ACME, at(2, 13), ack=at(2, 13, 30), closed=at(2, 15)),    # 30 m = due: in time; 2 h
    inq(9, ACME, at(3, 9), closed=at(3, 9, 30), state=DIS),          # dismissed: not measured
    # delegated at 9:12, never marked answered: acked 12 m; answer due Tue 17:00 -> LATE by now
    inq(10, BOLT, at(3, 9), closed=at(3, 9, 12), state=DEL),
    inq(11, ACME, at(3, 10), ack=at(3, 10, 5), closed=at(3, 15)),    # 5 m; 5 h
    inq(12, ACME, at(11, 11, 50)),                   # open, ack due 12:20: undecided both
    inq(13, BOLT, at(11, 9)),                        # open, ack due 9:30 LATE; answer due 17:00
    inq(14, ACME, at(11, 10), ack=at(11, 10, 10)),   # 10 m; answer due Thu 10:00: undecided
    inq(15, BOLT, at(9, 10), ack=at(9, 10, 15)),     # 15 m; answer due Tue 10 Mar 10:00 LATE
    # VIP, around the clock: ack 10 min, answer 2 h
    inq(16, MEGGE, at(7, 22), ack=at(7, 22, 5), closed=at(7, 23, 30)),  # 5 m; 1 h 30 m
    inq(17, MEGGE, at(8, 8), ack=at(8, 8, 30), closed=at(8, 9, 30), channel=CALL),  # 30 m LATE
    inq(18, MEGGE, at(9, 12), closed=at(9, 12, 8)),                     # 8 m; 8 m
    inq(19, MEGGE, at(9, 18), ack=at(9, 18, 20), closed=at(9, 21)),     # 20 m LATE; 3 h LATE
    # standard call, around the clock: ack 10 min, answer 24 h
    inq(20, ACME, at(2, 14), ack=at(2, 14, 6), closed=at(2, 16), channel=CALL),  # 6 m; 2 h
    inq(21, BOLT, at(3, 20), ack=at(4, 8), closed=at(4, 10), channel=CALL),  # 12 h LATE; 14 h
    inq(22, ACME, at(5, 9), closed=at(5, 9, 4), channel=CALL),                # 4 m; 4 m
    inq(23, BOLT, at(6, 16), ack=at(6, 16, 9), closed=at(7, 17), channel=CALL),  # 9 m; 25 h LATE
    # prospect, working hours: ack 10 min, answer 2 h
    # Tue 16:55: 5 m + 4 m = 9 m (due Wed 9:05); 5 m + 2 h = 2 h 5 m LATE (due Wed 10:55)
    inq(24, NEWCO, at(10, 16, 55), ack=at(11, 9, 4), closed=at(11, 11)),
    inq(25, NEWCO, at(9, 9), closed=at(9, 9, 30)),   # answered unacked: 30 m LATE; 30 m
    # standard email again
    inq(26, ACME, at(4, 9), ack=at(4, 9, 8), closed=at(4, 10)),     # 8 m; 1 h
    inq(27, BOLT, at(4, 14), ack=at(4, 14, 45), closed=at(4, 16)),  # 45 m LATE; 2 h
    inq(28, ACME, at(5, 10), ack=at(5, 10, 3), closed=at(5, 13)),   # 3 m; 3 h
    inq(29, BOLT, at(6, 15), closed=at(6, 15, 10), state=DIS),      # dismissed
    inq(30, ACME, at(5, 11), ack=at(5, 11, 25), closed=at(6, 10)),  # 25 m; 6 h Thu + 1 h Fri = 7 h
]


def promise(n: int, inquiry: int, made: datetime, due: datetime,
            kept: datetime | None = None) -> Promise:
    client = next((i.client_id for i in THIRTY if i.id == inquiry), ACME)
    return Promise(InquiryId(inquiry), client, made, due, kept_at=kept, id=PromiseId(n))


PROMISES = [
    promise(1, 1, at(2, 9, 5), at(2, 11), at(2, 11)),          # kept exactly at due
    promise(2, 4, at(2, 10, 40), at(2, 13), at(2, 14)),        # broken: kept an hour late
    promise(3, 7, at(2, 11, 20), at(2, 16), at(3, 12)),        # broken: kept next day
    promise(4, 14, at(11, 10, 10), at(11, 11)),                # open, overdue at now: broken
    promise(5, 15, at(9, 10, 15), at(11, 15)),                 # open, not due yet
    promise(6, 16, at(7, 22, 5), at(7, 23, 30), at(7, 23)),    # kept early
    promise(7, 999, at(2, 9), at(2, 10), at(2, 9, 30)),        # inquiry not measured: ignored
]


@pytest.fixture(scope="module")
def measures() -> list[ContactMeasure]:
    return measure(THIRTY, CLIENTS, STANDARDS, HOURS, NOW)


def local(instant: datetime) -> str:
    """Measures keep UTC instants; the expectations are written in Berlin time."""
    return instant.astimezone(BERLIN).isoformat()


def by_id(measures: list[ContactMeasure], n: int) -> ContactMeasure:
    return next(m for m in measures if m.inquiry_id == n)


def one(measures: list[ContactMeasure], **kw: object) -> Summary:
    [summary] = summarise(measures, PROMISES, now=NOW, **kw)  # type: ignore[arg-type]
    return summary


# --- single timelines ---------------------------------------------------------------------------


def test_after_closing_counts_working_time_only(measures: list[ContactMeasure]) -> None:
    m = by_id(measures, 5)
    assert local(m.ack_due) == "2026-03-03T09:20:00+01:00"
    assert local(m.answer_due) == "2026-03-03T16:50:00+01:00"
    assert (m.time_to_ack, m.time_to_answer) == (20 * M, 3 * H + 10 * M)
    assert (m.ack_in_time, m.answer_in_time, m.breached) == (True, True, False)


def test_weekend_arrival_starts_at_monday_opening(measures: list[ContactMeasure]) -> None:
    m = by_id(measures, 6)
    assert local(m.ack_due) == "2026-03-09T09:30:00+01:00"
    assert m.time_to_ack == 25 * M


def test_answer_without_acknowledgement_acknowledges(measures: list[ContactMeasure]) -> None:
    m = by_id(measures, 3)
    assert m.ack_at == m.answer_at == at(2, 9, 45)
    assert (m.time_to_ack, m.time_to_answer) == (15 * M, 15 * M)


def test_acknowledged_in_time_answered_late(measures: list[ContactMeasure]) -> None:
    m = by_id(measures, 7)
    assert local(m.answer_due) == "2026-03-03T11:00:00+01:00"
    assert (m.ack_in_time, m.answer_in_time, m.breached) == (True, False, True)
    assert m.time_to_answer == 9 * H


def test_reply_exactly_at_the_deadline_is_in_time(measures: list[ContactMeasure]) -> None:
    assert by_id(measures, 8).ack_in_time is True


def test_dismissed_is_not_measured(measures: list[ContactMeasure]) -> None:
    m = by_id(measures, 9)
    assert m.dismissed and not m.is_open and not m.breached
    assert (m.ack_at, m.time_to_ack, m.ack_in_time, m.answer_in_time) == (None, None, None, None)


def test_delegation_acknowledges_and_the_answer_clock_runs_on(
        measures: list[ContactMeasure]) -> None:
    m = by_id(measures, 10)
    assert (m.ack_at, m.time_to_ack, m.ack_in_time) == (at(3, 9, 12), 12 * M, True)
    assert m.answer_at is None and m.is_open
    assert (m.answer_in_time, m.breached) == (False, True)  # due Tue 3 March 17:00, now 11 March


def test_open_contacts_are_measured_against_now(measures: list[ContactMeasure]) -> None:
    fresh, late, acked = by_id(measures, 12), by_id(measures, 13), by_id(measures, 14)
    assert (fresh.ack_in_time, fresh.answer_in_time, fresh.breached) == (None, None, False)
    assert (late.ack_in_time, late.answer_in_time, late.breached) == (False, None, True)
    assert late.time_to_ack is None
    assert local(acked.answer_due) == "2026-03-12T10:00:00+01:00"
    assert (acked.ack_in_time, acked.answer_in_time) == (True, None)


def test_vip_and_prospect_get_their_own_standards(measures: list[ContactMeasure]) -> None:
    vip, prospect = by_id(measures, 17), by_id(measures, 24)
    assert (vip.tier, vip.standard.counting, vip.standard.ack_goal) == ("vip", Counting.CLOCK,
                                                                        0.95)
    assert (vip.time_to_ack, vip.ack_in_time) == (30 * M, False)
    assert prospect.prospect and prospect.standard.counting is Counting.WORKING_HOURS
    assert local(prospect.ack_due) == "2026-03-11T09:05:00+01:00"
    assert (prospect.time_to_ack, prospect.time_to_answer) == (9 * M, 2 * H + 5 * M)
    assert (prospect.ack_in_time, prospect.answer_in_time) == (True, False)


def test_clock_standard_counts_the_night(measures: list[ContactMeasure]) -> None:
    m = by_id(measures, 21)  # call Tue 20:00, acked Wed 8:00, answered Wed 10:00
    assert (m.time_to_ack, m.time_to_answer) == (12 * H, 14 * H)
    assert (m.ack_in_time, m.answer_in_time) == (False, True)


# --- the whole set ------------------------------------------------------------------------------


def test_all(measures: list[ContactMeasure]) -> None:
    s = one(measures)
    assert s.key == "all"
    # 30 inquiries, 2 dismissed (#9, #29)
    assert (s.count, s.dismissed) == (28, 2)
    # every non-dismissed one but #12 and #13 has an acknowledgement
    assert s.acknowledged == 26
    # answered: 28 minus #10 (delegated), #12, #13, #14, #15 (open)
    assert (s.answered, s.open, s.delegated) == (23, 5, 1)
    # late acks: #4 #13 #17 #19 #21 #25 #27 = 7; undecided: #12; on time: 28 - 7 - 1 = 20
    assert (s.ack_in_time, s.ack_late, s.ack_in_time_share) == (20, 7, 20 / 27)
    # late answers: #7 #10 #15 #19 #23 #24 = 6; undecided #12 #13 #14; on time 28 - 6 - 3 = 19
    assert (s.answer_in_time, s.answer_late, s.answer_in_time_share) == (19, 6, 19 / 25)
    # breached on either clock: #4 #7 #10 #13 #15 #17 #19 #21 #23 #24 #25 #27
    assert s.breaches == 12


def test_all_percentiles(measures: list[ContactMeasure]) -> None:
    s = one(measures)
    # 26 times to acknowledge, sorted (minutes):
    #  3 4 5 5 5 6 8 8 9 9 10 10 [12] 15 15 20 20 20 25 25 30 30 30 [40] 45 720
    # median: rank ceil(0.5 * 26) = 13 -> 12 m; p90: rank ceil(0.9 * 26) = ceil(23.4) = 24 -> 40 m
    assert (s.median_time_to_ack, s.p90_time_to_ack) == (12 * M, 40 * M)
    # 23 times to answer, sorted (minutes):
    #  4 8 15 30 60 90 90 120 120 120 120 [125] 180 180 180 190 240 300 360 420 [540] 840 1500
    # median: rank ceil(11.5) = 12 -> 125 m; p90: rank ceil(20.7) = 21 -> 540 m = 9 h
    assert (s.median_time_to_answer, s.p90_time_to_answer) == (2 * H + 5 * M, 9 * H)


def test_all_goal_progress(measures: list[ContactMeasure]) -> None:
    s = one(measures)
    assert s.ack_goal is not None and s.answer_goal is not None
    # strictest ack goal among standard (90%), call (90%), VIP (95%), prospect (95%): 95%,
    # of the VIP standard (10 min around the clock; the prospect's is 10 min too, working time)
    assert (s.ack_goal.goal, s.ack_goal.within, s.ack_goal.counting) == (0.95, 10 * M,
                                                                         Counting.CLOCK)
    # n >= (0.95 * 27 - 20) / 0.05 = 5.65 / 0.05 = 113: 133/140 = 0.95 exactly, 132/139 < 0.95
    assert (s.ack_goal.on_time, s.ack_goal.total, s.ack_goal.needed_more) == (20, 27, 113)
    assert not s.ack_goal.met
    # answers: goal 100% and 6 late already: out of reach
    assert (s.answer_goal.goal, s.answer_goal.needed_more) == (1.0, None)


def test_all_promises(measures: list[ContactMeasure]) -> None:
    s = one(measures)
    # made: #1 #2 #3 #4 #5 #6 (#7 belongs to no measured inquiry); kept: #1 #6;
    # broken: #2 #3 late, #4 open past due at now; #5 open and not yet due
    assert (s.promises_made, s.promises_kept, s.promises_broken) == (6, 2, 3)
    # without `now` an open promise is neither kept nor broken
    [later] = summarise(measures, PROMISES)
    assert (later.promises_made, later.promises_kept, later.promises_broken) == (6, 2, 2)


def test_by_week(measures: list[ContactMeasure]) -> None:
    w10, w11 = summarise(measures, PROMISES, group_by="week", now=NOW)
    # week 10: #1-#11, #16 #17 #20-#23 #26-#30 = 22 inquiries, 2 dismissed
    assert (w10.key, w10.count, w10.dismissed) == ("2026-W10", 20, 2)
    # late acks #4 #17 #21 #27; late answers #7 #10 #23
    assert (w10.ack_in_time, w10.ack_late, w10.answer_in_time, w10.answer_late) == (16, 4, 17, 3)
    # goal 95% (VIP contacts #16 #17 are in it): (16 + n) / (20 + n) >= 0.95 -> n >= 3 / 0.05 = 60
    assert w10.ack_goal is not None and w10.ack_goal.needed_more == 60
    # promises #1 #2 #3 #6 were made for week-10 contacts
    assert (w10.promises_made, w10.promises_kept, w10.promises_broken) == (4, 2, 2)
    # week 11: #12 #13 #14 #15 #18 #19 #24 #25
    assert (w11.key, w11.count) == ("2026-W11", 8)
    # acks: late #13 #19 #25, undecided #12, on time #14 #15 #18 #24
    assert (w11.ack_in_time, w11.ack_late) == (4, 3)
    # answers: late #15 #19 #24, undecided #12 #13 #14, on time #18 #25
    assert (w11.answer_in_time, w11.answer_late) == (2, 3)
    assert w10.count + w11.count == 28


def test_weekly_sentence(measures: list[ContactMeasure]) -> None:
    w10 = summarise(measures, group_by="week")[0]
    # 16 / 20 = 80%
    assert goal_sentence(w10.ack_goal) == (
        "this week 80% within 10 minutes; goal 95%; 60 more on time to reach it")
    assert weekly_summary_text(w10).splitlines() == [
        "acknowledged: this week 80% within 10 minutes; goal 95%; 60 more on time to reach it",
        "answered: this week 85% within 2 hours; goal 100%; out of reach (3 late)",
    ]


def test_by_tier(measures: list[ContactMeasure]) -> None:
    prospect, standard, vip = summarise(measures, group_by="tier")
    assert [s.key for s in (prospect, standard, vip)] == ["prospect", "standard", "vip"]
    # standard: #1-#15, #20-#23, #26-#30 = 24, 2 dismissed; VIP #16-#19; prospect #24 #25
    assert (standard.count, vip.count, prospect.count) == (22, 4, 2)
    # VIP acks: #16 5 m ok, #17 30 m late, #18 8 m ok, #19 20 m late -> 2/4
    assert (vip.ack_in_time, vip.ack_late, vip.ack_in_time_share) == (2, 2, 0.5)
    # sorted 5 8 20 30: median rank 2 -> 8 m; p90 rank ceil(3.6) = 4 -> 30 m
    assert (vip.median_time_to_ack, vip.p90_time_to_ack) == (8 * M, 30 * M)
    # (2 + n) / (4 + n) >= 0.95 -> n >= 1.8 / 0.05 = 36
    assert vip.ack_goal is not None and vip.ack_goal.needed_more == 36


def test_by_channel_and_client(measures: list[ContactMeasure]) -> None:
    call, email = summarise(measures, group_by="channel")
    # calls: #17 (VIP) #20 #21 #22 #23; acks late #17 #21; answers late #23
    assert (call.key, call.count, call.ack_in_time_share, call.answer_in_time_share) == (
        "call", 5, 3 / 5, 4 / 5)
    assert (email.key, email.count) == ("email", 23)
    keys = [s.key for s in summarise(measures, group_by="client")]
    assert keys == ["1", "2", "3", "4"]


def test_prospects_apart(measures: list[ContactMeasure]) -> None:
    clients, prospects = summarise(measures, group_by="prospect")
    assert (clients.key, clients.count, prospects.key, prospects.count) == (
        "clients", 26, "prospects", 2)
    # #24 acked in time, answered late; #25 acked late, answered in time
    assert (prospects.ack_in_time_share, prospects.answer_in_time_share) == (0.5, 0.5)
    assert prospects.breaches == 2
    [only_clients] = summarise(measures, where=is_client)
    assert only_clients.count == 26 and only_clients.breaches == 10


def test_by_day(measures: list[ContactMeasure]) -> None:
    days = summarise(measures, group_by="day")
    assert [d.key for d in days][:3] == ["2026-03-02", "2026-03-03", "2026-03-04"]
    # Monday 2 March: #1 #2 #3 #4 #5 #7 #8 #20
    assert days[0].count == 8


# --- edge cases ---------------------------------------------------------------------------------


def test_no_data() -> None:
    assert measure([], CLIENTS, STANDARDS, HOURS, NOW) == []
    [s] = summarise([], PROMISES)
    assert (s.key, s.count, s.ack_in_time_share, s.median_time_to_ack, s.ack_goal) == (
        "all", 0, None, None, None)
    assert summarise([], group_by="week") == []
    assert goal_sentence(None) == "this week: nothing to measure yet"


def test_single_inquiry() -> None:
    ms = measure([inq(1, ACME, at(2, 9), ack=at(2, 9, 7), closed=at(2, 10))], CLIENTS,
                 STANDARDS, HOURS, NOW)
    [s] = summarise(ms)
    assert (s.count, s.ack_in_time_share, s.answer_in_time_share) == (1, 1.0, 1.0)
    assert (s.median_time_to_ack, s.p90_time_to_ack) == (7 * M, 7 * M)
    assert s.ack_goal is not None and s.ack_goal.met and s.ack_goal.needed_more == 0
    assert goal_sentence(s.ack_goal) == "this week 100% within 30 minutes; goal 90%; met"


def test_only_open_and_undecided() -> None:
    ms = measure([inq(1, ACME, at(11, 11, 50))], CLIENTS, STANDARDS, HOURS, NOW)
    [s] = summarise(ms)
    assert (s.count, s.open, s.ack_in_time_share, s.breaches) == (1, 1, None, 0)
    assert s.ack_goal is not None and s.ack_goal.achieved is None
    assert goal_sentence(s.ack_goal) == "this week: nothing to measure yet"


def test_all_breached() -> None:
    # three standard emails acked 1 h after arrival and answered two working days later
    late = [inq(n, ACME, at(2, 9 + n), ack=at(2, 10 + n), closed=at(4, 9 + n)) for n in (1, 2, 3)]
    [s] = summarise(measure(late, CLIENTS, STANDARDS, HOURS, NOW))
    assert (s.breaches, s.ack_in_time_share, s.answer_in_time_share) == (3, 0.0, 0.0)
    # (0 + n) / (3 + n) >= 0.9 -> n >= 2.7 / 0.1 = 27
    assert s.ack_goal is not None and s.ack_goal.needed_more == 27
    # 16 working hours each, e.g. #1: Mon 10-17 (7 h) + Tue 9-17 (8 h) + Wed 9-10 (1 h)
    assert s.median_time_to_answer == 16 * H


def test_removed_client_is_measured_with_the_default_tier() -> None:
    [m] = measure([inq(1, ClientId(77), at(2, 9), closed=at(2, 9, 5))], CLIENTS, STANDARDS,
                  HOURS, NOW)
    assert (m.tier, m.prospect, m.ack_in_time) == ("standard", False, True)


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        measure([], CLIENTS, STANDARDS, HOURS, datetime(2026, 3, 2))


def test_bad_grouping_is_refused() -> None:
    with pytest.raises(ValueError, match="group_by"):
        summarise([], group_by="month")  # type: ignore[arg-type]


# --- DST: weeks in the user's zone, durations in real time --------------------------------------


def test_weeks_across_the_october_change_in_berlin() -> None:
    # Sun 27 Oct 2024: 03:00 CEST -> 02:00 CET. Around-the-clock VIP standard.
    local = [
        # Sunday 01:30 CEST (23:30 UTC Saturday): week 43
        inq(1, MEGGE, datetime(2024, 10, 27, 1, 30, tzinfo=BERLIN),
            closed=datetime(2024, 10, 27, 2, 30, fold=1, tzinfo=BERLIN)),
        # Sunday 23:30 CET (22:30 UTC): still week 43
        inq(2, MEGGE, datetime(2024, 10, 27, 23, 30, tzinfo=BERLIN),
            closed=datetime(2024, 10, 28, 0, 5, tzinfo=BERLIN)),
        # Monday 00:30 CET = Sunday 23:30 UTC: week 44 in Berlin, though still Sunday in UTC
        inq(3, MEGGE, datetime(2024, 10, 27, 23, 30, tzinfo=UTC),
            closed=datetime(2024, 10, 28, 0, 35, tzinfo=BERLIN)),
    ]
    ms = measure(local, CLIENTS, STANDARDS, HOURS, datetime(2024, 11, 1, tzinfo=UTC))
    # 01:30 CEST -> 02:30 CET is 2 real hours (02:00-03:00 is lived twice): the answer is just
    # in time (2 h), the acknowledgement that came with it late (10 min)
    assert ms[0].time_to_answer == 2 * H and ms[0].answer_in_time is True
    assert ms[0].time_to_ack == 2 * H and ms[0].ack_in_time is False
    assert [m.time_to_ack for m in ms[1:]] == [35 * M, 5 * M]
    # instants are kept in UTC, the day is Berlin's
    assert (ms[2].received.tzinfo, ms[2].received.day, ms[2].day) == (UTC, 27, date(2024, 10, 28))
    w43, w44 = summarise(ms, group_by="week")
    assert (w43.key, w43.count, w44.key, w44.count) == ("2024-W43", 2, "2024-W44", 1)
    # week 43 is 169 hours long: Mon 21 Oct 00:00 CEST to Mon 28 Oct 00:00 CET
    start, end = week_bounds(date(2024, 10, 27), BERLIN)
    assert (start.isoformat(), end.isoformat()) == ("2024-10-21T00:00:00+02:00",
                                                    "2024-10-28T00:00:00+01:00")
    assert end.astimezone(UTC) - start.astimezone(UTC) == 169 * H
    assert [d.key for d in summarise(ms, group_by="day")] == ["2024-10-27", "2024-10-28"]


def test_working_hours_measured_across_the_spring_change() -> None:
    # Fri 27 Mar 2026 16:50 CET; clocks jump Sun 29 Mar; Mon 30 Mar 09:10 CEST
    [m] = measure([inq(1, ACME, datetime(2026, 3, 27, 16, 50, tzinfo=BERLIN),
                       ack=datetime(2026, 3, 30, 9, 10, tzinfo=BERLIN))],
                  CLIENTS, STANDARDS, HOURS, datetime(2026, 3, 30, 9, 30, tzinfo=BERLIN))
    assert m.time_to_ack == 20 * M and m.ack_in_time is True
    assert local(m.ack_due) == "2026-03-30T09:20:00+02:00"


def test_day_bounds_when_midnight_does_not_exist() -> None:
    # Santiago springs forward at 24:00 on Sat 7 Sep 2024: Sunday starts at 01:00 -03:00
    santiago = ZoneInfo("America/Santiago")
    start, end = day_bounds(date(2024, 9, 8), santiago)
    assert start.isoformat() == "2024-09-08T01:00:00-03:00"
    assert end.astimezone(UTC) - start.astimezone(UTC) == 23 * H


# --- helpers ------------------------------------------------------------------------------------


def test_percentile_nearest_rank() -> None:
    values = [timedelta(minutes=v) for v in (15, 20, 35, 40, 50)]
    # ranks: p30 ceil(1.5) = 2 -> 20; p40 ceil(2.0) = 2 -> 20; p50 ceil(2.5) = 3 -> 35; p100 -> 50
    assert [percentile(values, p) for p in (5, 30, 40, 50, 100)] == [
        15 * M, 20 * M, 20 * M, 35 * M, 50 * M]
    assert percentile([], 50) is None
    with pytest.raises(ValueError):
        percentile(values, 0)


def test_needed_more_examples() -> None:
    # 87% of 100 toward 90%: (87 + n) / (100 + n) >= 0.9 -> n >= 3 / 0.1 = 30
    assert needed_more(87, 100, 0.9) == 30
    assert needed_more(9, 10, 0.9) == 0
    assert needed_more(0, 0, 0.9) == 0
    assert needed_more(9, 10, 1.0) is None
    with pytest.raises(ValueError):
        needed_more(3, 2, 0.9)


def test_format_duration() -> None:
    assert [format_duration(d) for d in (10 * M, H, 90 * M, 24 * H, 48 * H, timedelta(0))] == [
        "10 minutes", "1 hour", "1 hour 30 minutes", "24 hours", "2 days", "0 minutes"]


# --- properties ---------------------------------------------------------------------------------


@given(on_time=st.integers(0, 500), extra=st.integers(0, 500),
       goal=st.sampled_from([0.5, 0.8, 0.9, 0.95, 0.99, 0.999, 1.0]))
def test_needed_more_is_the_minimal_count(on_time: int, extra: int, goal: float) -> None:
    from fractions import Fraction
    total = on_time + extra
    n = needed_more(on_time, total, goal)
    g = Fraction(goal).limit_denominator(1_000_000)
    if total == 0:
        assert n == 0
    elif n is None:
        assert g == 1 and on_time < total
    else:
        assert Fraction(on_time + n, total + n) >= g
        if n > 0:
            assert Fraction(on_time + n - 1, total + n - 1) < g


_START = datetime(2024, 10, 20, tzinfo=UTC)
_TIMES = st.integers(0, 14 * 24 * 60).map(lambda m: _START + timedelta(minutes=m))


@st.composite
def inquiries(draw: st.DrawFn) -> list[Inquiry]:
    out = []
    for n in range(draw(st.integers(0, 12))):
        received = draw(_TIMES)
        state = draw(st.sampled_from(list(InquiryState)))
        ack_after: int | None = draw(st.none() | st.integers(0, 3000))
        closed_after: int = draw(st.integers(0, 5000))
        ack = None if ack_after is None else received + ack_after * M
        closed: datetime | None = received + closed_after * M
        if state is InquiryState.WAITING:
            ack = closed = None
        elif state is InquiryState.ACKNOWLEDGED:
            ack, closed = ack or received, None
        out.append(inq(n, draw(st.sampled_from(list(CLIENTS))), received, ack=ack,
                       closed=closed, state=state,
                       channel=draw(st.sampled_from(list(Channel)))))
    return out


@settings(max_examples=150, deadline=None)
@given(items=inquiries(), now=_TIMES,
       group_by=st.sampled_from(["all", "week", "day", "client", "channel", "tier", "prospect"]))
def test_shares_stay_within_bounds(items: list[Inquiry], now: datetime, group_by: str) -> None:
    ms = measure(items, CLIENTS, STANDARDS, HOURS, now)
    summaries = summarise(ms, group_by=group_by)  # type: ignore[arg-type]
    assert sum(s.count + s.dismissed for s in summaries) == len(items)
    for s in summaries:
        for share in (s.ack_in_time_share, s.answer_in_time_share):
            assert share is None or 0 <= share <= 1
        for goal in (s.ack_goal, s.answer_goal):
            assert goal is None or goal.achieved is None or 0 <= goal.achieved <= 1
        assert s.breaches <= s.count and s.ack_late + s.ack_in_time <= s.count
        if s.median_time_to_ack is not None:
            assert s.p90_time_to_ack is not None and s.median_time_to_ack <= s.p90_time_to_ack


_SPLIT = WorkingHours(BERLIN, ((Span(time(8), time(12)), Span(time(13), time(17, 30))),) * 5
                      + ((Span(time(2), time(4)),), ()),
                      holidays=frozenset({date(2024, 10, 31)}))


@settings(max_examples=300, deadline=None)
@given(a=_TIMES, b=_TIMES, minutes=st.integers(0, 3 * 24 * 60))
def test_timeline_agrees_with_working_hours(a: datetime, b: datetime, minutes: int) -> None:
    # Saturday 02:00-04:00 spans cross the October change on purpose.
    line = _WorkingTimeline(_SPLIT, date(2024, 10, 19))
    assert line.elapsed(a, b) == _SPLIT.elapsed(a, b)
    assert line.add(a, minutes * M) == _SPLIT.add(a, minutes * M)
