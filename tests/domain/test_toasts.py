"""Toasts: one per arrival, one summary for many, quiet in meetings, snooze, never twice."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from heard.domain.accounts import AccountHealth
from heard.domain.busy import BusyState
from heard.domain.clients import Channel, Client
from heard.domain.clock import Counting, Span, WorkingHours
from heard.domain.ids import ClientId, InquiryId
from heard.domain.inquiries import Inquiry
from heard.domain.standards import Standard, Standards
from heard.domain.toasts import (
    Hold,
    Plan,
    Snooze,
    ToastKind,
    held_key,
    hold_now,
    imminent,
    offline_key,
    plan,
    snooze_until,
    told_key,
)
from heard.domain.waiting import WaitingItem, waiting_items

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=BERLIN)   # a Wednesday, in office hours
HOURS = WorkingHours.office(BERLIN)
STANDARDS = Standards(
    default=Standard(timedelta(minutes=30), timedelta(hours=8)),
    by_tier={"vip": Standard(timedelta(minutes=10), timedelta(hours=2), Counting.CLOCK)},
)
MEGGE = Client("Margaret Hale", emails=("m@hale.example",), preferred_name="Megge", tier="vip",
               id=ClientId(1))
RAJ = Client("Rajesh Patel", emails=("raj@patel.example",), id=ClientId(2))
SOFIA = Client("Sofia Lindqvist", emails=("sofia@lindqvist.example",), id=ClientId(3))
DANA = Client("Dana Scully", emails=("dana@scully.example",), id=ClientId(4))
LEE = Client("Lee Adama", emails=("lee@adama.example",), id=ClientId(5))
JANE = Client("Jane Roe", emails=("jane@roe-bakery.example",), tier="prospect", prospect=True,
              preferences={"via": "website form (Morgan Law)"}, id=ClientId(6))
CLIENTS = {c.id: c for c in (MEGGE, RAJ, SOFIA, DANA, LEE, JANE) if c.id is not None}
# In a meeting from 9:30 to 11:00.
MEETING = BusyState(now=True, until=NOW + timedelta(hours=1), next_free=NOW + timedelta(hours=1))
FREE = BusyState(now=False, until=None, next_free=NOW)


def inquiry(n: int, client: Client, minutes_ago: float, subject: str = "") -> Inquiry:
    assert client.id is not None
    return Inquiry(client_id=client.id, channel=Channel.EMAIL,
                   received_at=NOW - timedelta(minutes=minutes_ago),
                   subject=subject or f"Subject {n}", sender=client.emails[0],
                   message_id=f"<{n}@x>", thread_ids=(f"<{n}@x>",), id=InquiryId(n))


def waiting(*inquiries: Inquiry, at: datetime = NOW) -> list[WaitingItem]:
    return waiting_items(inquiries, CLIENTS, STANDARDS, HOURS, at)


def told(*plans: Plan) -> set[str]:
    """What the store holds after these plans were carried out."""
    return {key for p in plans for key in p.mark}


def ids(*numbers: int) -> tuple[InquiryId, ...]:
    return tuple(InquiryId(n) for n in numbers)


def titles(p: Plan) -> list[str]:
    return [t.title for t in p.toasts]


# one arrival, several, never twice


def test_one_client_writing_gives_one_toast_with_the_inquiry_to_act_on() -> None:
    p = plan(waiting(inquiry(1, RAJ, 1, "Drawings")), set(), NOW)
    (toast,) = p.toasts
    assert (toast.kind, toast.title, toast.text) == (ToastKind.ARRIVAL, "Rajesh wrote",
                                                     "Drawings")
    assert toast.inquiry_id == InquiryId(1) and toast.inquiries == ids(1)
    assert not toast.prospect and not toast.urgent
    assert p.mark == (told_key(InquiryId(1)),) and p.hold is None and p.held == ()


def test_nothing_is_told_twice_also_after_a_restart() -> None:
    items = waiting(inquiry(1, RAJ, 1))
    first = plan(items, set(), NOW)
    assert len(first.toasts) == 1
    # The keys are what the store keeps: a restarted app plans from them.
    again = plan(items, told(first), NOW + timedelta(minutes=1))
    assert again.toasts == () and again.mark == ()
    later = plan(waiting(inquiry(1, RAJ, 2), inquiry(2, SOFIA, 0)), told(first),
                 NOW + timedelta(minutes=1))
    assert titles(later) == ["Sofia wrote"]


def test_many_arrivals_at_once_make_one_summary_never_a_flood() -> None:
    items = waiting(inquiry(1, RAJ, 3), inquiry(2, MEGGE, 1), inquiry(3, SOFIA, 2),
                    inquiry(4, DANA, 2), inquiry(5, LEE, 1), inquiry(6, RAJ, 1))
    p = plan(items, set(), NOW)
    (toast,) = p.toasts
    # Megge is VIP (10 minutes): the most urgent comes first and is named.
    assert toast.kind is ToastKind.SUMMARY
    assert toast.title == "5 clients waiting"
    assert toast.text == "Megge, Rajesh, Sofia and 2 more"   # it adds up: 3 + 2 = 5
    assert toast.inquiry_id is None and toast.urgent
    assert set(toast.inquiries) == set(ids(1, 2, 3, 4, 5, 6)) and toast.inquiries[0] == 2
    assert set(p.mark) == {told_key(i) for i in ids(1, 2, 3, 4, 5, 6)}


def test_two_clients_are_both_named() -> None:
    p = plan(waiting(inquiry(1, RAJ, 1), inquiry(2, SOFIA, 2)), set(), NOW)
    assert titles(p) == ["2 clients waiting"]
    assert p.toasts[0].text == "Sofia and Rajesh"   # the longest waiting first


def test_one_client_writing_three_times_is_one_toast_about_the_most_urgent() -> None:
    p = plan(waiting(inquiry(1, RAJ, 5, "First"), inquiry(2, RAJ, 3), inquiry(3, RAJ, 1)),
             set(), NOW)
    (toast,) = p.toasts
    assert (toast.kind, toast.title, toast.text) == (ToastKind.ARRIVAL, "Rajesh wrote",
                                                     "Subject 3 (+2 more)")
    assert toast.inquiry_id == InquiryId(1)


def test_a_new_person_is_named_with_how_they_came_and_can_be_decided_on() -> None:
    (toast,) = plan(waiting(inquiry(7, JANE, 1, "Bakery contract")), set(), NOW).toasts
    assert (toast.title, toast.text) == ("New: Jane Roe (via website form)", "Bakery contract")
    assert toast.prospect and toast.inquiry_id == InquiryId(7)


def test_the_arrivals_toast_on_screen_is_counted_in_so_it_can_be_replaced() -> None:
    first = plan(waiting(inquiry(1, RAJ, 2)), set(), NOW)
    items = waiting(inquiry(1, RAJ, 2), inquiry(2, SOFIA, 0))
    p = plan(items, told(first), NOW, on_screen=ids(1))
    (toast,) = p.toasts
    assert (toast.title, toast.text) == ("2 clients waiting", "Rajesh and Sofia")
    assert toast.inquiries == ids(1, 2)
    assert p.mark == (told_key(InquiryId(2)),)
    # One on screen that is no longer waiting (acknowledged meanwhile) drops out.
    p = plan(waiting(inquiry(2, SOFIA, 0)), told(first), NOW, on_screen=ids(1))
    assert titles(p) == ["Sofia wrote"]


# quiet in meetings


def test_in_a_meeting_only_vips_and_imminent_breaches_pop() -> None:
    # Raj's standard gives 30 minutes: 29 minutes in, his acknowledgement is due in 1.
    items = waiting(inquiry(1, RAJ, 29, "Late"), inquiry(2, MEGGE, 0, "Closing"),
                    inquiry(3, SOFIA, 1, "Invoice"), inquiry(4, DANA, 2, "Lease"))
    p = plan(items, set(), NOW, busy=MEETING)
    assert p.hold is Hold.MEETING
    (toast,) = p.toasts
    # Counted as the badge counts them; the ones that popped named first.
    assert (toast.title, toast.text) == ("4 clients waiting", "Rajesh, Megge, Dana and 1 more")
    assert toast.urgent
    assert set(p.held) == set(ids(3, 4))
    assert set(p.mark) == {told_key(InquiryId(1)), told_key(InquiryId(2)),
                           held_key(Hold.MEETING, InquiryId(3)),
                           held_key(Hold.MEETING, InquiryId(4))}
    assert p.wake_at == MEETING.until


def test_imminent_means_the_acknowledgement_is_due_within_the_lead_or_late() -> None:
    (item,) = waiting(inquiry(1, RAJ, 27))   # due at 10:03
    assert not imminent(item, NOW, timedelta(minutes=2))
    assert imminent(item, NOW, timedelta(minutes=3))
    assert imminent(item, NOW + timedelta(hours=1), timedelta(0))
    items = waiting(inquiry(1, RAJ, 27))
    assert plan(items, set(), NOW, busy=MEETING).toasts == ()
    assert len(plan(items, set(), NOW, busy=MEETING,
                    warn_before_ack=timedelta(minutes=5)).toasts) == 1


def test_which_tiers_are_urgent_is_the_users_setting() -> None:
    items = waiting(inquiry(1, SOFIA, 1))
    assert plan(items, set(), NOW, busy=MEETING).toasts == ()
    assert len(plan(items, set(), NOW, busy=MEETING,
                    urgent_tiers=frozenset({"standard"})).toasts) == 1
    items = waiting(inquiry(2, MEGGE, 1))
    assert plan(items, set(), NOW, busy=MEETING, urgent_tiers=frozenset()).toasts == ()


def test_quiet_in_meetings_can_be_turned_off() -> None:
    items = waiting(inquiry(1, SOFIA, 1))
    p = plan(items, set(), NOW, busy=MEETING, quiet_in_meetings=False)
    assert p.hold is None and titles(p) == ["Sofia wrote"]
    assert plan(items, set(), NOW, busy=FREE).hold is None


def test_when_the_meeting_ends_what_waited_is_summed_up_once() -> None:
    during = NOW
    items = waiting(inquiry(1, RAJ, 3, "Drawings"), inquiry(2, SOFIA, 2, "Invoice"),
                    inquiry(3, DANA, 1, "Lease"), inquiry(4, LEE, 1, "Boat"),
                    inquiry(5, MEGGE, 0, "Closing"))
    first = plan(items, set(), during, busy=MEETING)
    assert titles(first) == ["Megge wrote"]   # VIP: popped in the meeting
    # Dana's message was acknowledged from the window meanwhile: not waiting any more.
    after = MEETING.until
    assert after is not None
    still = [i for i in waiting(*[w.inquiry for w in items], at=after)
             if w_id(i) != 3]
    later = [inquiry(6, JANE, -65, "New matter")]   # came in after the meeting
    p = plan(still + waiting(*later, at=after), told(first), after, busy=FREE)
    assert p.hold is None
    catch_up, new = p.toasts
    assert catch_up.kind is ToastKind.CATCH_UP
    assert catch_up.title == "While you were in the meeting: Rajesh, Sofia and Lee wrote"
    assert set(catch_up.inquiries) == set(ids(1, 2, 4))
    assert new.title == "New: Jane Roe (via website form)"
    # Once said, never again.
    assert plan(still, told(first, p), after + timedelta(minutes=1)).toasts == ()


def test_a_long_meeting_summary_names_three_and_counts_the_others() -> None:
    items = waiting(inquiry(1, RAJ, 4), inquiry(2, SOFIA, 3), inquiry(3, DANA, 2),
                    inquiry(4, LEE, 1))
    first = plan(items, set(), NOW, busy=MEETING)
    assert first.toasts == ()
    (toast,) = plan(items, told(first), NOW + timedelta(minutes=5)).toasts
    # Title and body agree: the three named are the three whose subjects are listed.
    assert toast.title == "While you were in the meeting: Rajesh, Sofia, Dana and 1 more wrote"
    assert toast.text.splitlines() == ["Rajesh: Subject 1", "Sofia: Subject 2",
                                       "Dana: Subject 3"]
    assert toast.resident   # the toast that matters most after a meeting waits to be seen


def w_id(item: WaitingItem) -> int | None:
    return item.inquiry.id


# snooze and pause


def test_a_snooze_holds_everything_back_even_vips_until_it_is_over() -> None:
    until = NOW + timedelta(minutes=15)
    items = waiting(inquiry(1, MEGGE, 9), inquiry(2, RAJ, 1))   # Megge: due in 1 minute
    p = plan(items, set(), NOW, snoozed_until=until)
    assert p.hold is Hold.SNOOZE and p.toasts == ()
    assert set(p.held) == set(ids(1, 2)) and p.wake_at == until
    # Snoozed in a meeting too: the snooze decides, and wakes first.
    assert plan(items, set(), NOW, snoozed_until=until, busy=MEETING).wake_at == until
    (toast,) = plan(items, told(p), until).toasts
    assert toast.title == "While you snoozed: Megge and Rajesh wrote"


def test_a_snooze_that_ends_in_a_meeting_waits_for_the_meeting_to_end() -> None:
    until = NOW + timedelta(minutes=15)
    items = waiting(inquiry(1, RAJ, 1))
    snoozed = plan(items, set(), NOW, snoozed_until=until)
    in_meeting = plan(items, told(snoozed), until, busy=MEETING, snoozed_until=until)
    assert in_meeting.hold is Hold.MEETING and in_meeting.toasts == ()
    assert in_meeting.held == ids(1) and in_meeting.mark == ()
    assert MEETING.until is not None
    (toast,) = plan(items, told(snoozed), MEETING.until).toasts
    assert toast.title == "While you snoozed: Rajesh wrote"


def test_paused_notifications_are_summed_up_when_they_are_back_on() -> None:
    items = waiting(inquiry(1, RAJ, 1))
    p = plan(items, set(), NOW, paused=True)
    assert p.hold is Hold.PAUSED and p.toasts == () and p.wake_at is None
    (toast,) = plan(items, told(p), NOW).toasts
    assert toast.title == "While notifications were paused: Rajesh wrote"


def test_hold_now_reads_the_clock_and_refuses_naive_times() -> None:
    assert hold_now(NOW, busy=None, quiet_in_meetings=True, snoozed_until=NOW) is None
    assert hold_now(NOW, busy=None, quiet_in_meetings=True,
                    snoozed_until=NOW + timedelta(seconds=1)) is Hold.SNOOZE
    assert hold_now(NOW, busy=MEETING, quiet_in_meetings=True, snoozed_until=None,
                    paused=True) is Hold.PAUSED
    with pytest.raises(ValueError, match="timezone-aware"):
        hold_now(NOW.replace(tzinfo=None), busy=None, quiet_in_meetings=True,
                 snoozed_until=None)
    with pytest.raises(ValueError, match="snoozed_until"):
        hold_now(NOW, busy=None, quiet_in_meetings=True,
                 snoozed_until=NOW.replace(tzinfo=None))


def test_snooze_choices_end_when_the_user_expects() -> None:
    assert snooze_until(Snooze.QUARTER_HOUR, NOW, busy=None, hours=HOURS) == (
        NOW + timedelta(minutes=15))
    assert snooze_until(Snooze.HOUR, NOW, busy=None, hours=HOURS) == NOW + timedelta(hours=1)
    assert snooze_until(Snooze.MEETING, NOW, busy=MEETING, hours=HOURS) == MEETING.until
    assert snooze_until(Snooze.MEETING, NOW, busy=FREE, hours=HOURS) is None
    assert snooze_until(Snooze.MEETING, NOW, busy=None, hours=HOURS) is None
    # Tomorrow: the next working day's opening (Thursday 9:00; from Friday, Monday 9:00).
    assert snooze_until(Snooze.TOMORROW, NOW, busy=None, hours=HOURS) == datetime(
        2026, 11, 26, 9, 0, tzinfo=BERLIN)
    friday_night = datetime(2026, 11, 27, 23, 30, tzinfo=BERLIN)
    assert snooze_until(Snooze.TOMORROW, friday_night, busy=None, hours=HOURS) == datetime(
        2026, 11, 30, 9, 0, tzinfo=BERLIN)
    late = WorkingHours(BERLIN, ((Span(time(14), time(22)),),) * 7)
    assert snooze_until(Snooze.TOMORROW, NOW, busy=None, hours=late) == datetime(
        2026, 11, 26, 14, 0, tzinfo=BERLIN)
    never = WorkingHours(BERLIN, ((),) * 7)
    assert snooze_until(Snooze.TOMORROW, NOW, busy=None, hours=never) == datetime(
        2026, 11, 26, 9, 0, tzinfo=BERLIN)
    with pytest.raises(ValueError, match="timezone-aware"):
        snooze_until(Snooze.HOUR, NOW.replace(tzinfo=None), busy=None, hours=HOURS)


# accounts offline


def offline(name: str, since: datetime | None, problem: str = "connection refused"
            ) -> AccountHealth:
    return AccountHealth(name, "imap", online=False, problem=problem, since=since)


def test_an_account_going_offline_is_told_once_per_outage() -> None:
    work = offline("work", NOW - timedelta(minutes=1))
    p = plan([], set(), NOW, offline=[work, AccountHealth("home", "imap", online=True)])
    (toast,) = p.toasts
    assert (toast.kind, toast.title) == (ToastKind.OFFLINE, "Heard: mail account offline")
    assert toast.text == "work: connection refused (the count may miss its mail)"
    assert p.mark == (offline_key(work),)
    assert plan([], told(p), NOW, offline=[work]).toasts == ()
    # Back, then offline again: a new outage.
    again = offline("work", NOW + timedelta(hours=1))
    assert len(plan([], told(p), NOW, offline=[again]).toasts) == 1


def test_an_outage_that_needs_a_new_sign_in_is_told_again_in_those_words_once() -> None:
    cut = offline("work", NOW - timedelta(minutes=1), problem="lost the connection")
    p = plan([], set(), NOW, offline=[cut])
    assert p.toasts[0].title == "Heard: mail account offline"
    ended = offline("work", cut.since, problem="Microsoft no longer accepts this sign-in."
                    " Sign in again to Microsoft as alex: `heard account signin work`")
    assert ended.needs_sign_in and not cut.needs_sign_in
    (toast,) = plan([], told(p), NOW, offline=[ended]).toasts
    assert toast.title == "Heard: sign in again"
    assert "Sign in again to Microsoft as alex" in toast.text
    again = plan([], told(p) | {offline_key(ended)}, NOW, offline=[ended])
    assert again.toasts == ()


def test_accounts_offline_together_make_one_toast_and_wait_for_the_quiet_to_end() -> None:
    gone = [offline("work", None), offline("home", NOW, problem="")]
    held = plan([], set(), NOW, offline=gone, busy=MEETING)
    assert held.toasts == () and held.mark == ()
    (toast,) = plan([], told(held), NOW, offline=gone).toasts
    assert toast.title == "Heard: 2 mail accounts offline"
    assert toast.text == "work: connection refused; home (the count may miss their mail)"


def test_inquiries_not_stored_yet_are_left_for_later() -> None:
    unsaved = Inquiry(client_id=ClientId(2), channel=Channel.EMAIL, received_at=NOW,
                      subject="x", sender="raj@patel.example")
    assert plan(waiting(unsaved), set(), NOW).toasts == ()


# what a toast says adds up, and follows who is still waiting


def test_a_summary_counts_everyone_waiting_not_only_the_new_and_never_repeats_its_title(
) -> None:
    before = waiting(inquiry(1, RAJ, 9), inquiry(2, SOFIA, 8), inquiry(3, DANA, 7),
                     inquiry(4, LEE, 6))
    first = plan(before, set(), NOW)
    items = before + waiting(inquiry(5, MEGGE, 0), inquiry(6, JANE, 0))
    (toast,) = plan(items, told(first), NOW).toasts
    # Six waiting, two of them new: "6 clients", the new ones named first, "and 3 more".
    assert toast.title == "6 clients waiting"
    assert toast.text == "Megge, Jane, Rajesh and 3 more"
    assert toast.title not in toast.text and "waiting" not in toast.text


def test_a_toast_on_screen_is_said_again_without_whoever_stopped_waiting_or_taken_away(
) -> None:
    items = waiting(inquiry(1, RAJ, 2), inquiry(2, MEGGE, 1), inquiry(3, SOFIA, 1))
    first = plan(items, set(), NOW)
    (summary,) = first.toasts
    assert summary.text == "Megge, Rajesh and Sofia"
    # Megge was acknowledged (here or on another device): nobody new, but the toast on
    # screen must not name her any more.
    rest = [i for i in items if w_id(i) != 2]
    p = plan(rest, told(first), NOW, on_screen=summary.inquiries)
    (again,) = p.toasts
    assert (again.title, again.text) == ("2 clients waiting", "Rajesh and Sofia")
    assert "Megge" not in again.title + again.text and p.mark == () and not p.arrivals_gone
    # Nothing to change while everyone on it still waits.
    assert plan(rest, told(first), NOW, on_screen=again.inquiries).toasts == ()
    # Nobody left: it goes.
    p = plan([], told(first), NOW, on_screen=again.inquiries)
    assert p.toasts == () and p.arrivals_gone
    # Paused, it is taken away rather than said again.
    p = plan(rest, told(first), NOW, on_screen=summary.inquiries, paused=True)
    assert p.toasts == () and p.arrivals_gone


def test_a_call_is_toasted_as_a_call_and_mail_says_it_is_mail() -> None:
    call = replace(inquiry(1, MEGGE, 1, "Call from +49 30 1234567"), channel=Channel.CALL)
    (toast,) = plan(waiting(call), set(), NOW).toasts
    assert toast.title == "Megge called" and toast.channel is Channel.CALL
    (toast,) = plan(waiting(inquiry(2, RAJ, 1)), set(), NOW).toasts
    assert toast.title == "Rajesh wrote" and toast.channel is Channel.EMAIL


def test_text_from_mail_reaches_a_toast_as_one_short_line() -> None:
    hostile = "\u202eexe.pdf\x07 " + "<b>Wire 50k</b>\n" + "x" * 10_000
    (toast,) = plan(waiting(inquiry(1, RAJ, 1, hostile)), set(), NOW).toasts
    assert "\u202e" not in toast.text and "\x07" not in toast.text and "\n" not in toast.text
    assert len(toast.text) <= 120 and toast.text.endswith("…")
    assert toast.text.startswith("exe.pdf <b>Wire 50k</b>")   # escaping is the screen's job
