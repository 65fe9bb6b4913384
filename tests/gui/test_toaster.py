"""Toasts (heard.gui.toaster). On its own: notes wait for the notifier, pause holds every
toast back, and an arrival toast acted on is withdrawn only if it is still the one on
screen. In the tray app on an injected clock (`recorded_app`): actions, quiet in meetings,
snooze, once only.

The notifier is a recorder (the real desktop paths are tested in tests/gui/test_notify.py
and tests/desktop/); the engine, store and Maildirs are real.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QMenu, QSystemTrayIcon
from pytestqt.qtbot import QtBot

from heard import config
from heard.config import ConfigFile
from heard.domain.clock import FixedClock
from heard.domain.toasts import Snooze
from heard.engine import Engine
from heard.gui.notify import Note
from heard.gui.ops import Ops
from heard.gui.toaster import Toaster, ToastRef
from heard.gui.tray import HeardApp
from tests.conftest import NOW
from tests.support.gui import Recorder, wait_status, waiting_inquiry
from tests.support.mail import JANE, MEGGE, RAJ, SOFIA, MailFolders, drop, message


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def start(qtbot: QtBot, engine: Engine, recorder: Recorder, delay_ms: int = 0) -> HeardApp:
    heard = HeardApp(engine, tray_available=True, send_delay_ms=delay_ms, notifier=recorder)
    with qtbot.waitSignal(heard.status_applied, timeout=5000):
        heard.start()
    return heard


@pytest.fixture
def recorded_app(qtbot: QtBot, engine: Engine, recorder: Recorder) -> Iterator[HeardApp]:
    heard = start(qtbot, engine, recorder, delay_ms=300)
    qtbot.addWidget(heard.window)
    yield heard
    heard.dispose()


@pytest.fixture
def meeting(engine: Engine, tmp_path: Path) -> None:
    """The calendar says busy 09:30-11:00 on the test day (it is 10:00)."""
    ics = tmp_path / "work.ics"
    ics.write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
        "BEGIN:VEVENT\r\nUID:a\r\nDTSTAMP:20261101T000000Z\r\n"
        "DTSTART;TZID=Europe/Berlin:20261125T093000\r\n"
        "DTEND;TZID=Europe/Berlin:20261125T110000\r\nSUMMARY:Deposition\r\nEND:VEVENT\r\n"
        "END:VCALENDAR\r\n", encoding="utf-8")
    ConfigFile(engine.profile.config).append(
        "calendars", {"name": "work", "kind": "ics", "path": str(ics)})
    engine.settings = config.load(engine.profile.config)


def arrive(engine: Engine, mail: MailFolders, sender: str, subject: str,
           minutes_ago: float = 1) -> None:
    clock = engine.clock
    assert isinstance(clock, FixedClock)
    drop(mail.inbox, message(sender, subject), clock.now() - timedelta(minutes=minutes_ago))
    engine.sync()   # as the watcher would; the app hears it through the engine's event


def wait_notes(qtbot: QtBot, recorder: Recorder, count: int) -> None:
    qtbot.waitUntil(lambda: len(recorder.notes) >= count, timeout=5000)


def settle(qtbot: QtBot, heard: HeardApp) -> None:
    """Let every plan in flight be shown: what workers and the engine posted is delivered,
    no background work is running or undelivered (a refresh plans toasts when it is), and no
    plan is running or queued."""
    def quiet() -> bool:
        QApplication.processEvents()
        return not heard.ops._live and heard.toaster.idle

    qtbot.waitUntil(quiet, timeout=5000)


class Showing(Recorder):
    """A recorder that knows which note each slot shows, and takes one back when asked."""

    def __init__(self) -> None:
        super().__init__()
        self.withdrawn: list[str] = []

    def showing(self, slot: str) -> object | None:
        return next((n.ref for n in reversed(self.notes) if n.slot == slot), None)

    def withdraw(self, slot: str) -> None:
        self.withdrawn.append(slot)


@pytest.fixture
def parts(qtbot: QtBot) -> Iterator[tuple[Ops, QSystemTrayIcon, QMenu]]:
    ops, tray, menu = Ops(), QSystemTrayIcon(), QMenu()
    yield ops, tray, menu
    ops.close(5000)
    menu.deleteLater()
    tray.deleteLater()


def toaster(engine: Engine, parts: tuple[Ops, QSystemTrayIcon, QMenu], notifier: Recorder,
            paused: bool = False) -> Toaster:
    ops, tray, menu = parts
    return Toaster(engine, ops, tray, menu, paused=paused, notifier=notifier)


def test_notes_wait_for_the_notifier_and_are_shown_in_order_once_it_is_chosen(
        engine: Engine, parts: tuple[Ops, QSystemTrayIcon, QMenu]) -> None:
    recorder = Recorder()
    toasts = toaster(engine, parts, recorder)
    toasts.problem("disk full")
    toasts.alert([("Megge: 2 minutes left", "Closing")])
    assert recorder.notes == [] and toasts.notifier is None
    toasts.choose_notifier()
    assert toasts.notifier is recorder
    assert recorder.titles() == ["Heard: problem", "Megge: 2 minutes left"]
    # Not a breach: normal urgency, and it expires.
    assert not recorder.notes[1].urgent and recorder.notes[1].timeout_ms > 0


def test_paused_nothing_pops_and_the_tooltip_line_says_so(
        qtbot: QtBot, engine: Engine, parts: tuple[Ops, QSystemTrayIcon, QMenu]) -> None:
    recorder = Recorder()
    toasts = toaster(engine, parts, recorder, paused=True)
    toasts.choose_notifier()
    toasts.problem("disk full")
    toasts.alert([("Megge: 2 minutes left", "Closing")])
    assert recorder.notes == []
    assert toasts.holding_all()
    assert toasts.quiet_line() == "Notifications paused"
    with qtbot.waitSignal(toasts.changed, timeout=1000):
        toasts.set_paused(False)
    assert toasts.quiet_line() is None and not toasts.holding_all()
    toasts.problem("disk full")
    assert recorder.titles() == ["Heard: problem"]


def test_an_arrival_acted_on_is_withdrawn_only_while_it_is_the_one_on_screen(
        engine: Engine, parts: tuple[Ops, QSystemTrayIcon, QMenu]) -> None:
    showing = Showing()
    toasts = toaster(engine, parts, showing)
    toasts.choose_notifier()
    raj, both = ToastRef(1, (1,)), ToastRef(None, (1, 2))
    toasts.notify(Note("Rajesh wrote", slot="arrivals", ref=raj))
    toasts.notify(Note("Rajesh and Sofia are waiting", slot="arrivals", ref=both))
    toasts.withdraw_arrival(raj)    # replaced by the summary meanwhile: it stays
    assert showing.withdrawn == []
    toasts.withdraw_arrival(both)
    assert showing.withdrawn == ["arrivals"]
    assert toasts.last_target is None   # the summary is about no one inquiry


def test_a_new_message_toasts_and_acknowledge_on_it_sends_after_the_undo_delay(
    qtbot: QtBot, recorded_app: HeardApp, engine: Engine, mail: MailFolders, recorder: Recorder
) -> None:
    arrive(engine, mail, RAJ, "Drawings")
    wait_notes(qtbot, recorder, 1)
    (note,) = recorder.notes
    assert (note.title, note.text) == ("Rajesh wrote", "Drawings")
    # One "Open": the click on the toast (dunst lists a second "open" action twice).
    assert note.actions == (("ack", "Acknowledge"), ("mail", "Open in mail"),
                            ("snooze", "Snooze 1 hour"), ("default", "Open"))
    assert note.category == "email.arrived" and note.timeout_ms > 0
    assert note.slot == "arrivals" and not note.urgent

    recorder.choose(note, "ack")
    wait_notes(qtbot, recorder, 2)
    held = recorder.notes[1]
    assert held.title == "Acknowledgement to Rajesh goes out in 1 s"
    assert held.actions[0] == ("undo", "Undo") and held.slot == note.slot.replace(
        "arrivals", f"ack:{note.ref.inquiry_id}")   # type: ignore[attr-defined]
    assert mail.outbox_messages() == []          # held for Undo, as from the window
    qtbot.waitUntil(lambda: len(mail.outbox_messages()) == 1, timeout=5000)
    wait_notes(qtbot, recorder, 3)
    assert recorder.notes[2].title == "Sent: acknowledgement to Rajesh"
    assert recorder.notes[2].slot == held.slot   # replaces the "goes out in" toast
    wait_status(qtbot, recorded_app, 0)


def test_undo_on_the_toast_takes_the_acknowledgement_back(
    qtbot: QtBot, engine: Engine, mail: MailFolders, recorder: Recorder
) -> None:
    heard = start(qtbot, engine, recorder, delay_ms=5000)
    try:
        arrive(engine, mail, RAJ, "Drawings")
        wait_notes(qtbot, recorder, 1)
        recorder.choose(recorder.notes[0], "ack")
        wait_notes(qtbot, recorder, 2)
        recorder.choose(recorder.notes[1], "undo")
        qtbot.waitUntil(lambda: recorder.titles()[-1].startswith("Undone"), timeout=5000)
        assert "Rajesh is waiting again" in recorder.titles()[-1]
        wait_status(qtbot, heard, 1)
        assert mail.outbox_messages() == []
    finally:
        heard.dispose()


def test_snooze_on_a_toast_sets_the_client_aside_for_an_hour_and_its_undo_brings_them_back(
    qtbot: QtBot, engine: Engine, mail: MailFolders, recorder: Recorder
) -> None:
    heard = start(qtbot, engine, recorder, delay_ms=5000)
    try:
        arrive(engine, mail, RAJ, "Drawings")
        wait_notes(qtbot, recorder, 1)
        recorder.choose(recorder.notes[0], "snooze")
        status = wait_status(qtbot, heard, 0)             # out of the badge, not acknowledged
        (snoozed,) = status.snoozed
        assert snoozed.until == engine.clock.now() + timedelta(hours=1)
        assert mail.outbox_messages() == []
        wait_notes(qtbot, recorder, 2)
        told = recorder.notes[1]
        assert told.title.startswith("Snoozed Rajesh until ")
        assert "the acknowledgement is still due" in told.text
        assert told.actions[0] == ("undo", "Undo")
        recorder.choose(told, "undo")
        assert wait_status(qtbot, heard, 1).snoozed == []
    finally:
        heard.dispose()


def test_a_client_whose_snooze_ran_out_is_told_back_once(
    qtbot: QtBot, engine: Engine, mail: MailFolders, recorder: Recorder, clock: FixedClock
) -> None:
    heard = start(qtbot, engine, recorder)
    try:
        arrive(engine, mail, RAJ, "Drawings")
        wait_notes(qtbot, recorder, 1)
        engine.inquiries.snooze("Rajesh", clock.now() + timedelta(hours=1))
        wait_status(qtbot, heard, 0)
        heard.refresh()
        settle(qtbot, heard)
        assert len(recorder.notes) == 1                  # set aside: nothing said yet
        clock.advance(timedelta(minutes=61))
        heard.refresh()
        wait_status(qtbot, heard, 1)
        wait_notes(qtbot, recorder, 2)
        back = recorder.notes[1]
        assert back.title == "Rajesh is back"
        assert back.text.startswith("Snoozed until ") and "acknowledgement is due" in back.text
        assert back.actions[0] == ("ack", "Acknowledge")
        heard.refresh()
        settle(qtbot, heard)
        assert [n.title for n in recorder.notes].count("Rajesh is back") == 1   # once
    finally:
        heard.dispose()


def test_open_on_a_toast_shows_the_window_on_that_client(
    qtbot: QtBot, recorded_app: HeardApp, engine: Engine, mail: MailFolders, recorder: Recorder
) -> None:
    arrive(engine, mail, MEGGE, "Closing", minutes_ago=2)
    arrive(engine, mail, RAJ, "Drawings")
    wait_notes(qtbot, recorder, 2)
    raj = recorder.last("Rajesh wrote")
    recorder.choose(raj, "default")
    assert recorded_app.window.isVisible()
    assert recorded_app.window.current_id() == raj.ref.inquiry_id  # type: ignore[attr-defined]


def test_a_new_person_can_be_made_a_client_from_the_toast_and_undone(
    qtbot: QtBot, recorded_app: HeardApp, engine: Engine, mail: MailFolders, recorder: Recorder
) -> None:
    arrive(engine, mail, JANE, "Lease")
    wait_notes(qtbot, recorder, 1)
    note = recorder.notes[0]
    assert note.title == "New: Jane Roe"
    assert [k for k, _ in note.actions] == ["ack", "client", "not-a-client", "default"]
    recorder.choose(note, "client")
    qtbot.waitUntil(lambda: "is now a client" in recorder.titles()[-1], timeout=5000)
    assert not next(c for c in engine.clients.all() if c.name == "Jane Roe").prospect
    recorder.choose(recorder.notes[-1], "undo")
    qtbot.waitUntil(lambda: next(c for c in engine.clients.all() if c.name == "Jane Roe").prospect,
                    timeout=5000)


def test_ten_arrivals_at_once_make_one_summary(
    qtbot: QtBot, recorded_app: HeardApp, engine: Engine, mail: MailFolders, recorder: Recorder
) -> None:
    for n in range(10):
        drop(mail.inbox, message(f"Person {n} <p{n}@patel-eng.example>", f"Question {n}"),
             NOW - timedelta(minutes=1, seconds=n))
    drop(mail.inbox, message(MEGGE, "Closing"), NOW - timedelta(seconds=30))
    engine.sync()
    wait_status(qtbot, recorded_app, 2)   # Raj's domain: the ten are one client
    settle(qtbot, recorded_app)
    assert recorder.titles() == ["2 clients waiting"]
    assert sorted(recorder.notes[0].text.split(" and ")) == ["Megge", "Rajesh"]
    assert len(recorder.notes[0].ref.inquiries) == 11  # type: ignore[attr-defined]


def test_nothing_is_toasted_twice_after_a_restart(
    qtbot: QtBot, engine: Engine, mail: MailFolders, recorder: Recorder
) -> None:
    first = start(qtbot, engine, recorder)
    arrive(engine, mail, RAJ, "Drawings")
    wait_notes(qtbot, recorder, 1)
    settle(qtbot, first)
    first.dispose()
    again = Recorder()
    second = start(qtbot, engine, again)
    try:
        settle(qtbot, second)
        second.refresh()
        wait_status(qtbot, second, 1)
        settle(qtbot, second)
        assert again.notes == []
    finally:
        second.dispose()


@pytest.mark.usefixtures("meeting")
def test_in_a_meeting_only_vips_pop_and_the_rest_is_summed_up_after_it(
    qtbot: QtBot, recorded_app: HeardApp, engine: Engine, mail: MailFolders, recorder: Recorder
) -> None:
    clock = engine.clock
    assert isinstance(clock, FixedClock)
    recorded_app.refresh()
    qtbot.waitUntil(lambda: recorded_app.status is not None and recorded_app.status.busy is not None
                    and recorded_app.status.busy.now, timeout=5000)
    assert recorded_app.snooze_actions[Snooze.MEETING].isEnabled()
    arrive(engine, mail, RAJ, "Drawings")
    arrive(engine, mail, SOFIA, "Invoice")
    wait_status(qtbot, recorded_app, 2)
    settle(qtbot, recorded_app)
    assert recorder.notes == []            # held back: waiting in the badge
    assert recorded_app.status is not None and recorded_app.status.count == 2
    assert recorded_app.tray.toolTip().splitlines()[-1] == (
        "Quiet in the meeting: only VIPs and deadlines pop")

    arrive(engine, mail, MEGGE, "Closing")  # VIP: pops in the meeting
    wait_notes(qtbot, recorder, 1)
    # A VIP writing is not a breach: it pops, but with normal urgency, and expires.
    assert recorder.notes[0].title == "Megge wrote" and not recorder.notes[0].urgent

    clock.set(NOW.replace(hour=11, minute=1))   # the meeting is over
    recorded_app.refresh()
    wait_notes(qtbot, recorder, 2)
    summary = recorder.notes[1]
    assert summary.title == "While you were in the meeting: Rajesh and Sofia wrote"
    assert summary.slot == "catch-up"
    assert summary.resident and summary.timeout_ms == 0   # stays until seen
    assert not recorded_app.snooze_actions[Snooze.MEETING].isEnabled()
    assert "Quiet" not in recorded_app.tray.toolTip()
    recorded_app.refresh()
    wait_status(qtbot, recorded_app, 3)
    settle(qtbot, recorded_app)
    assert len(recorder.notes) == 2


def test_snooze_holds_every_toast_until_it_is_over_and_the_badge_keeps_counting(
    qtbot: QtBot, recorded_app: HeardApp, engine: Engine, mail: MailFolders, recorder: Recorder
) -> None:
    clock = engine.clock
    assert isinstance(clock, FixedClock)
    assert not recorded_app.wake_action.isEnabled()
    assert not recorded_app.snooze_actions[Snooze.MEETING].isEnabled()   # no meeting on
    recorded_app.snooze_actions[Snooze.QUARTER_HOUR].trigger()
    qtbot.waitUntil(lambda: engine.reminders.snoozed_until() == NOW + timedelta(minutes=15),
                    timeout=5000)
    assert recorded_app.tray.toolTip().splitlines()[-1] == "Snoozed until 10:15"
    assert recorded_app.wake_action.isEnabled()

    arrive(engine, mail, MEGGE, "Closing")   # even a VIP waits
    wait_status(qtbot, recorded_app, 1)
    settle(qtbot, recorded_app)
    assert recorder.notes == []
    assert recorded_app.tray.toolTip().splitlines()[0] == "Heard: 1 client waiting"

    clock.advance(timedelta(minutes=15))
    recorded_app.refresh()
    wait_notes(qtbot, recorder, 1)
    assert recorder.titles() == ["While you snoozed: Megge wrote"]
    assert "Snoozed" not in recorded_app.tray.toolTip()


def test_snooze_until_tomorrow_and_wake_up_now(
    qtbot: QtBot, recorded_app: HeardApp, engine: Engine, mail: MailFolders, recorder: Recorder
) -> None:
    recorded_app.snooze_actions[Snooze.TOMORROW].trigger()
    tomorrow = NOW.replace(day=26, hour=9)   # Thursday's opening
    qtbot.waitUntil(lambda: engine.reminders.snoozed_until() == tomorrow, timeout=5000)
    assert recorded_app.tray.toolTip().splitlines()[-1] == "Snoozed until tomorrow 09:00"
    arrive(engine, mail, RAJ, "Drawings")
    wait_status(qtbot, recorded_app, 1)
    settle(qtbot, recorded_app)
    assert recorder.notes == []
    recorded_app.wake_action.trigger()
    wait_notes(qtbot, recorder, 1)
    assert recorder.titles() == ["While you snoozed: Rajesh wrote"]
    assert engine.reminders.snoozed_until() is None


def test_a_snooze_is_kept_across_a_restart(
    qtbot: QtBot, engine: Engine, mail: MailFolders, recorder: Recorder
) -> None:
    engine.reminders.snooze(NOW + timedelta(hours=1))
    heard = start(qtbot, engine, recorder)
    try:
        settle(qtbot, heard)
        assert heard.tray.toolTip().splitlines()[-1] == "Snoozed until 11:00"
        arrive(engine, mail, MEGGE, "Closing")
        wait_status(qtbot, heard, 1)
        settle(qtbot, heard)
        assert recorder.notes == []
    finally:
        heard.dispose()


def test_paused_notifications_are_summed_up_when_turned_back_on(
    qtbot: QtBot, recorded_app: HeardApp, engine: Engine, mail: MailFolders, recorder: Recorder
) -> None:
    recorded_app.pause_action.trigger()
    arrive(engine, mail, RAJ, "Drawings")
    wait_status(qtbot, recorded_app, 1)
    settle(qtbot, recorded_app)
    assert recorder.notes == []
    recorded_app.pause_action.trigger()
    wait_notes(qtbot, recorder, 1)
    assert recorder.titles() == ["While notifications were paused: Rajesh wrote"]


def test_a_toast_names_a_new_person_and_how_they_came(
    qtbot: QtBot, app: HeardApp, engine: Engine, mail: MailFolders
) -> None:
    shown: list[tuple[str, str]] = []
    app.tray.showMessage = lambda title, text, *_rest: shown.append((title, text))  # type: ignore[method-assign]
    form = (b"From: Morgan Law <wordpress@site.example>\r\nTo: alex@morgan-law.example\r\n"
            b"Subject: Morgan Law \"Bakery contract\"\r\nMessage-ID: <f1@site.example>\r\n"
            b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
            b"From: Jane Roe <jane@roe-bakery.example>\r\nSubject: Bakery contract\r\n\r\n"
            b"Message Body:\r\nCould you review it?\r\n\r\n-- \r\nThis e-mail was sent from a"
            b" contact form on Morgan Law (https://site.example)\r\n")
    drop(mail.inbox, form, NOW - timedelta(minutes=1))
    engine.sync()
    wait_status(qtbot, app, 1)
    qtbot.waitUntil(lambda: bool(shown), timeout=5000)
    assert shown[-1] == ("New: Jane Roe (via website form)", "Bakery contract")


def test_clicking_a_toast_opens_the_window_on_that_client(
    qtbot: QtBot, app: HeardApp, engine: Engine, mail: MailFolders
) -> None:
    app.tray.showMessage = lambda *_args: None  # type: ignore[method-assign]
    waiting_inquiry(engine, mail, MEGGE, "Closing", 2)
    wait_status(qtbot, app, 1)
    raj = waiting_inquiry(engine, mail, RAJ, "Drawings", 1)
    wait_status(qtbot, app, 2)
    qtbot.waitUntil(lambda: app.toaster.last_target == raj, timeout=5000)
    assert not app.window.isVisible()

    app.tray.messageClicked.emit()
    assert app.window.isVisible()
    assert app.window.current_id() == raj   # not Megge, though she is more urgent


# toasts that clean up after themselves (issue 19)


def test_a_deadline_warning_goes_when_its_client_stops_waiting_and_only_a_vip_breach_is_critical(
    qtbot: QtBot, engine: Engine, mail: MailFolders
) -> None:
    showing = Showing()
    heard = start(qtbot, engine, showing)
    try:
        clock = engine.clock
        assert isinstance(clock, FixedClock)
        # Megge is VIP (10 minutes to acknowledge), Raj is not (30 minutes).
        megge = waiting_inquiry(engine, mail, MEGGE, "Closing", 9)
        raj = waiting_inquiry(engine, mail, RAJ, "Drawings", 25)
        wait_status(qtbot, heard, 2)
        settle(qtbot, heard)

        def slot(name: str) -> Note:
            qtbot.waitUntil(lambda: any(n.slot == name for n in showing.notes), timeout=5000)
            return next(n for n in reversed(showing.notes) if n.slot == name)

        heard._tick()   # Megge's acknowledgement is due within two minutes
        coming = slot("deadlines:coming")
        assert coming.title == "Megge: acknowledge by 10:01 am"
        assert not coming.urgent and coming.timeout_ms > 0   # nothing broken yet
        # One client's acknowledgement: Acknowledge right on it, as README promises.
        assert coming.actions == (("ack", "Acknowledge"), ("default", "Open"))
        assert coming.ref.inquiry_id == megge  # type: ignore[attr-defined]

        # It passes: a VIP standard broken, the one warning that stays (critical), in the
        # place of the one that said it was coming.
        clock.advance(timedelta(minutes=1, seconds=30))
        heard._tick()
        passed = slot("deadlines:passed")
        assert passed.title == "Megge: acknowledgement was due at 10:01 am" and passed.urgent
        qtbot.waitUntil(lambda: "deadlines:coming" in showing.withdrawn, timeout=5000)
        clock.advance(timedelta(minutes=2))
        heard._tick()   # Raj's is coming now: not a VIP, never critical
        qtbot.waitUntil(lambda: showing.notes[-1].title == "Rajesh: acknowledge by 10:05 am",
                        timeout=5000)
        assert not showing.notes[-1].urgent
        showing.withdrawn.clear()

        # Dismissed elsewhere (heard dismiss, another device): its warning goes at once.
        engine.inquiries.dismiss(megge)
        qtbot.waitUntil(lambda: "deadlines:passed" in showing.withdrawn, timeout=5000)
        assert "deadlines:coming" not in showing.withdrawn   # Raj still waits
        engine.inquiries.dismiss(raj)
        qtbot.waitUntil(lambda: "deadlines:coming" in showing.withdrawn, timeout=5000)
    finally:
        heard.dispose()


def test_an_arrivals_toast_never_names_someone_no_longer_waiting(
    qtbot: QtBot, engine: Engine, mail: MailFolders
) -> None:
    showing = Showing()
    heard = start(qtbot, engine, showing)
    try:
        drop(mail.inbox, message(MEGGE, "Closing"), NOW - timedelta(minutes=2))
        drop(mail.inbox, message(RAJ, "Drawings"), NOW - timedelta(minutes=1))
        drop(mail.inbox, message(SOFIA, "Invoice"), NOW - timedelta(minutes=1))
        engine.sync()
        wait_status(qtbot, heard, 3)
        settle(qtbot, heard)
        summary = showing.last("waiting")
        assert "Megge" in summary.text
        [megge] = [i.id for i in engine.store.open_inquiries() if i.subject == "Closing"]
        assert megge is not None
        engine.inquiries.dismiss(megge)
        qtbot.waitUntil(lambda: showing.notes[-1].title == "2 clients waiting", timeout=5000)
        assert "Megge" not in showing.notes[-1].text
        for subject in ("Drawings", "Invoice"):
            [left] = [i.id for i in engine.store.open_inquiries() if i.subject == subject]
            assert left is not None
            engine.inquiries.dismiss(left)
        qtbot.waitUntil(lambda: "arrivals" in showing.withdrawn, timeout=5000)
    finally:
        heard.dispose()
