"""Reminding the user once (heard.engine.reminders): warnings before a deadline passes,
given once and remembered across a restart, held in a meeting; an assistant who has not
taken a delegation up; status reports a client asked for."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

from heard.config import ConfigFile
from heard.domain.clock import FixedClock
from heard.domain.promises import Promise
from heard.engine import Engine, EngineEvent
from heard.system.paths import Profile
from tests.conftest import NOW
from tests.support.engine import add_assistant, lease_waits
from tests.support.history import closed_history, sqlite_steps
from tests.support.mail import MailFolders, drop, message


def test_a_deadline_warns_once_and_not_again_after_a_restart(
        engine: Engine, mail: MailFolders, clock: FixedClock, profile: Profile) -> None:
    events: list[EngineEvent] = []
    engine.subscribe(events.append)
    # Megge is VIP: acknowledge within 10 minutes; the warning comes 2 minutes before.
    drop(mail.inbox, message("Margaret Hale <margaret@hale.example>", "Closing"),
         NOW - timedelta(minutes=7))
    engine.sync()
    assert engine.reminders.alerts() == []                 # 3 minutes left: not yet
    clock.advance(timedelta(minutes=1, seconds=30))
    (toast,) = engine.reminders.alerts()
    assert toast[0].startswith("Megge") and "acknowledge" in toast[0].lower()
    assert [tuple((t.title, t.text) for t in e.deadlines) + e.toasts
            for e in events if e.kind == "alerts"] == [(toast,)]
    assert engine.reminders.alerts() == []                 # never twice for the same deadline

    again = Engine.open(profile, clock)          # a restart remembers what was said
    try:
        assert again.reminders.alerts() == []
        clock.advance(timedelta(minutes=45))     # answer due 11:53 (2 h): warned from 10:53
        # Megge's acknowledgement (a VIP's) has passed meanwhile: that breach is told, once.
        (breach,) = again.reminders.alerts()
        assert breach[0] == "Megge: acknowledgement was due at 10:03 am"
        assert again.reminders.alerts() == []
        clock.advance(timedelta(minutes=20))
        (answer,) = again.reminders.alerts()
        assert "answer" in (answer[0] + answer[1]).lower()
    finally:
        again.close()


def test_in_a_meeting_only_what_cannot_wait_pops_and_the_rest_comes_after(
        engine: Engine, mail: MailFolders, clock: FixedClock, tmp_path: Path) -> None:
    _meeting(engine, tmp_path, "1030")
    drop(mail.inbox, message("Rajesh Patel <raj@patel-eng.example>", "Drawings"),
         NOW - timedelta(minutes=5))
    drop(mail.inbox, message("Margaret Hale <margaret@hale.example>", "Closing"),
         NOW - timedelta(minutes=1))
    engine.sync()
    ids = {i.subject: i for i in engine.store.open_inquiries()}
    # Promises made earlier: Raj (standard) at 10:12, Megge (VIP) at 10:14; the
    # warning lead is 15 minutes, so both are due a warning now, in the meeting.
    for subject, minutes in (("Drawings", 12), ("Closing", 14)):
        inquiry = ids[subject]
        assert inquiry.id is not None
        engine.store.add_promise(Promise(inquiry.id, inquiry.client_id, NOW - timedelta(
            minutes=30), NOW + timedelta(minutes=minutes), "reply by"))
    assert engine.calendar.busy(NOW) is not None and engine.calendar.busy(NOW).now   # type: ignore[union-attr]

    # The VIP cannot wait; the standard client can.
    assert engine.reminders.alerts() == [("Promise to Megge due at 10:14 am", "reply by")]
    clock.advance(timedelta(minutes=8))                       # 10:08, Raj's due 10:12
    assert not any("Raj" in t[0] + t[1] for t in engine.reminders.alerts())
    clock.advance(timedelta(minutes=3))                       # 10:11: about to pass
    assert any("Raj" in t[0] + t[1] for t in engine.reminders.alerts())


def test_a_warning_held_in_a_meeting_comes_when_it_ends(
        engine: Engine, mail: MailFolders, clock: FixedClock, tmp_path: Path) -> None:
    _meeting(engine, tmp_path, "1010")
    drop(mail.inbox, message("Rajesh Patel <raj@patel-eng.example>", "Drawings"),
         NOW - timedelta(minutes=5))
    engine.sync()
    (inquiry,) = engine.store.open_inquiries()
    assert inquiry.id is not None
    engine.store.add_promise(Promise(inquiry.id, inquiry.client_id, NOW - timedelta(
        minutes=30), NOW + timedelta(minutes=14), "reply by"))
    assert engine.reminders.alerts() == []                               # 10:00, in the meeting
    clock.advance(timedelta(minutes=11))                       # 10:11: the meeting is over
    assert any("Raj" in t[0] + t[1] for t in engine.reminders.alerts())
    assert engine.reminders.alerts() == []                               # and only once


def _meeting(engine: Engine, tmp_path: Path, until: str) -> None:
    """A deposition from 09:30 to `until` (HHMM) on the test day, in the calendar."""
    ics = tmp_path / "work.ics"
    ics.write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
        "BEGIN:VEVENT\r\nUID:a\r\nDTSTAMP:20261101T000000Z\r\n"
        "DTSTART;TZID=Europe/Berlin:20261125T093000\r\n"
        f"DTEND;TZID=Europe/Berlin:20261125T{until}00\r\nSUMMARY:Deposition\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n", encoding="utf-8")
    ConfigFile(engine.profile.config).append(
        "calendars", {"name": "work", "kind": "ics", "path": str(ics)})
    engine.reload_settings()


def test_an_assistant_who_has_not_taken_it_up_by_the_due_time_is_reminded_once(
        engine: Engine, mail: MailFolders, clock: FixedClock) -> None:
    add_assistant(engine)
    inquiry_id = lease_waits(engine, mail)
    engine.replies.delegate(inquiry_id, due=NOW + timedelta(minutes=45), tell_client=False)
    assert engine.reminders.alerts() == []
    clock.advance(timedelta(minutes=46))
    (toast,) = [t for t in engine.reminders.alerts() if "taken it up" in t[0]]
    assert toast[0] == "Sam Reed has not taken it up"
    assert "Margaret Hale" in toast[1] and "10:45 am" in toast[1]
    assert [t for t in engine.reminders.alerts() if "taken it up" in t[0]] == []


def test_a_monthly_report_is_due_a_month_after_the_last_and_resets_when_sent(
        engine: Engine, clock: FixedClock) -> None:
    megge = next(c for c in engine.clients.all() if c.preferred_name == "Megge")
    raj = next(c for c in engine.clients.all() if c.name == "Rajesh Patel")
    engine.clients.update(dataclasses.replace(megge, preferences={"status_reports": "monthly"}))
    assert engine.status().reports_due == []          # the clock starts now
    clock.advance(timedelta(days=29))
    assert engine.status().reports_due == []
    clock.advance(timedelta(days=1, minutes=1))
    (due,) = engine.status().reports_due
    assert due[0].name == "Margaret Hale"
    assert all(client.id != raj.id for client, _ in engine.status().reports_due)  # asked none
    assert megge.id is not None
    engine.reminders.status_report_sent(megge.id)
    assert engine.status().reports_due == []
    clock.advance(timedelta(days=30))
    assert [c.name for c, _ in engine.status().reports_due] == ["Margaret Hale"]


def test_a_tick_and_a_toast_plan_read_what_is_open_not_every_warning_ever_given(
        engine: Engine, mail: MailFolders, clock: FixedClock) -> None:
    """A tray runs for weeks: what it reads each tick and each status is the open work's
    warnings, never the whole history of them."""
    engine.store.mark_alerts([f"toast:new:{n}" for n in range(10_000, 12_000)]
                             + [f"ack:{n}:2026-01-01T00:00:00+00:00" for n in range(2000)],
                             clock.now())
    drop(mail.inbox, message("Margaret Hale <margaret@hale.example>", "Closing"),
         NOW - timedelta(minutes=7))
    engine.sync()
    read: list[str] = []
    engine.store._conn.set_trace_callback(read.append)
    try:
        clock.advance(timedelta(minutes=1, seconds=30))
        (toast,) = engine.reminders.alerts()        # still warned, once
        assert toast[0].startswith("Megge")
        assert engine.reminders.alerts() == []
        status = engine.status()
        plan, _snoozed = engine.plan_toasts(status, False, [])
        assert plan.mark                            # Megge's arrival is told, once
        again, _snoozed = engine.plan_toasts(status, False, [])
        assert not again.toasts and not again.mark
    finally:
        engine.store._conn.set_trace_callback(None)
    history = [sql for sql in read if "alerts_sent" in sql and "INSERT" not in sql]
    assert history and all(" WHERE key IN (" in sql for sql in history), history


def test_a_tick_reads_the_same_from_a_store_with_a_long_past(
        engine: Engine, mail: MailFolders) -> None:
    """The tray ticks after changes and at each deadline: its warnings, the outbox's
    retries and the toasts it plans read what is open, never the history (every inquiry,
    reply and warning ever given), which grows for as long as Heard is used."""
    drop(mail.inbox, message("Margaret Hale <margaret@hale.example>", "Closing"),
         NOW - timedelta(minutes=9))
    drop(mail.inbox, message("Rajesh Patel <raj@patel-eng.example>", "Drawings"), NOW)
    engine.sync()
    clients = engine.store.clients()
    instance = engine.settings.instance
    closed_history(engine.store, clients, 50, NOW, instance)
    assert engine.tick().alerts                  # Megge is due in a minute: warned once

    def work() -> None:
        engine.tick()
        engine.plan_toasts(engine.status(), False, ())

    work()                                       # (its toasts planned, and remembered)
    few = sqlite_steps(engine.store, work)
    closed_history(engine.store, clients, 2000, NOW, instance, start=50)
    assert sqlite_steps(engine.store, work) == few
