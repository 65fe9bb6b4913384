"""The tray app against a real engine and store (offscreen): badge, tooltip, window."""

from __future__ import annotations

import threading
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt, QTimer
from pytestqt.qtbot import QtBot

from heard.domain.clients import Client
from heard.domain.outbox import OutboxState
from heard.domain.urgency import Urgency
from heard.engine import Engine
from heard.errors import HeardError
from heard.gui import badge
from heard.gui.tray import HeardApp, tooltip_text
from tests.conftest import NOW
from tests.support.dovecot import MailUser
from tests.support.gui import share, wait_status, waiting_inquiry
from tests.support.hostile import FORBIDDEN, SAMPLES, feed
from tests.support.imap import imap_profile
from tests.support.keyring import KeyringService
from tests.support.logind import Logind
from tests.support.mail import JANE, MEGGE, RAJ, SOFIA, MailFolders, drop, message
from tests.support.relay import Relay


def tray_image(heard: HeardApp) -> object:
    return heard.tray.icon().pixmap(64, 64).toImage()


def test_badge_count_and_colour_follow_the_store(
    qtbot: QtBot, app: HeardApp, engine: Engine, mail: MailFolders
) -> None:
    assert app.status is not None and app.status.count == 0
    assert share(tray_image(app), badge.COLOURS[Urgency.ON_TRACK][0]) < 0.01

    drop(mail.inbox, message(RAJ, "Drawings"), NOW - timedelta(minutes=1))
    engine.sync()  # as the watcher would; the app hears it through the engine's event
    status = wait_status(qtbot, app, 1)
    assert status.urgency is Urgency.ON_TRACK
    assert share(tray_image(app), badge.COLOURS[Urgency.ON_TRACK][0]) > 0.05

    # Megge is VIP (10 minutes): nine minutes in, she is due soon and the badge turns amber.
    drop(mail.inbox, message(MEGGE, "Closing"), NOW - timedelta(minutes=9))
    engine.sync()
    status = wait_status(qtbot, app, 2)
    assert status.urgency is Urgency.DUE_SOON
    image = tray_image(app)
    assert share(image, badge.COLOURS[Urgency.DUE_SOON][0]) > 0.05
    assert share(image, badge.COLOURS[Urgency.ON_TRACK][0]) < 0.01
    tooltip = app.tray.toolTip()
    assert tooltip.splitlines()[0] == "Heard: 2 clients waiting"
    assert "Megge: 9 min" in tooltip  # longest waiting first
    assert tooltip.index("Megge") < tooltip.index("Rajesh")


def test_acknowledging_from_the_window_lowers_the_count_and_writes_the_reply(
    qtbot: QtBot, app: HeardApp, engine: Engine, mail: MailFolders
) -> None:
    drop(mail.inbox, message(MEGGE, "Closing", message_id="<c1@hale.example>"),
         NOW - timedelta(minutes=2))
    drop(mail.inbox, message(RAJ, "Drawings", message_id="<d1@patel-eng.example>"),
         NOW - timedelta(minutes=1))
    engine.sync()
    wait_status(qtbot, app, 2)
    app.window.open()
    qtbot.waitExposed(app.window)
    assert app.window.list.topLevelItemCount() == 2
    first = app.window.list.topLevelItem(0)
    assert first is not None and first.text(0) == "Megge"  # VIP: the most urgent first
    qtbot.waitUntil(lambda: "Hi Megge," in app.window.preview.toPlainText(), timeout=5000)

    with qtbot.waitSignal(app.acknowledged, timeout=5000) as sent:
        qtbot.keyClick(app.window.list, Qt.Key.Key_Return)
    assert sent.args is not None and sent.args[0].sent
    wait_status(qtbot, app, 1)
    assert app.window.list.topLevelItemCount() == 1
    assert "Sent: acknowledgement to margaret@hale.example" in app.window.message.text()

    [raw] = mail.outbox_messages()
    reply = message_from_bytes(raw, policy=policy.default)
    assert reply["In-Reply-To"] == "<c1@hale.example>"
    assert reply["References"] == "<c1@hale.example>"
    assert reply["To"].addresses[0].addr_spec == "margaret@hale.example"


@pytest.mark.expect_log_errors(r"heard\.gui\.tray: not sent yet: cannot write to the outbox")
def test_a_failed_acknowledgement_is_shown_not_swallowed(
    qtbot: QtBot, app: HeardApp, engine: Engine, mail: MailFolders
) -> None:
    drop(mail.inbox, message(RAJ, "Drawings"), NOW)
    engine.sync()
    wait_status(qtbot, app, 1)
    for sub in ("new", "cur", "tmp"):
        (mail.outbox.path / sub).rmdir()
    mail.outbox.path.rmdir()
    mail.outbox.path.write_text("not a folder")  # the outbox cannot be written
    app.window.open()
    qtbot.waitUntil(app.window.reply_ready, timeout=5000)
    app.window.acknowledge_current()
    qtbot.waitUntil(lambda: "Not sent yet" in app.window.message.text(), timeout=5000)
    assert "cannot write to the outbox" in app.window.message.text()
    (item,) = engine.outbox_items()
    assert item.state is OutboxState.QUEUED and item.error


def test_pausing_notifications_shows_in_the_tooltip_and_keeps_counting(
    qtbot: QtBot, app: HeardApp, engine: Engine, mail: MailFolders
) -> None:
    app.pause_action.trigger()
    assert app.paused
    drop(mail.inbox, message(RAJ, "Drawings"), NOW)
    engine.sync()
    wait_status(qtbot, app, 1)
    assert app.tray.toolTip().splitlines()[-1] == "Notifications paused"
    app.pause_action.trigger()
    assert "Notifications paused" not in app.tray.toolTip()


def test_a_disposed_app_stops_its_tick_and_its_catch_up(qtbot: QtBot, engine: Engine) -> None:
    """Either would run on an engine about to be closed (the catch-up is scheduled when the
    first status reaches the screen, to run after it: here after dispose())."""
    heard = HeardApp(engine, tray_available=True)
    with qtbot.waitSignal(heard.status_applied, timeout=5000):
        heard.start()
    assert heard.ticker.isActive()
    heard.dispose()
    assert not heard.ticker.isActive()
    watching: list[str] = []
    engine.start_watching = lambda: watching.append("started")  # type: ignore[method-assign]
    later: list[str] = []
    QTimer.singleShot(0, lambda: later.append("ran"))   # queued after the catch-up
    qtbot.waitUntil(lambda: later == ["ran"], timeout=5000)
    assert watching == [] and heard.notifier is None


def test_prospects_can_be_counted_apart_in_the_tooltip(
    qtbot: QtBot, app: HeardApp, engine: Engine, mail: MailFolders
) -> None:
    drop(mail.inbox, message(JANE, "Lease"), NOW - timedelta(minutes=3))
    drop(mail.inbox, message("Margaret Hale <margaret@hale.example>", "Closing"),
         NOW - timedelta(minutes=2))
    engine.sync()
    status = wait_status(qtbot, app, 2)
    assert tooltip_text(status, engine.settings.zone).splitlines()[0] == (
        "Heard: 2 clients waiting")
    assert tooltip_text(status, engine.settings.zone, prospects_apart=True).splitlines()[0] == (
        "Heard: 1 client waiting, 1 new person")


def test_after_a_resume_the_tray_reconnects_at_once_and_catches_up(
    qtbot: QtBot, tmp_path: Path, mailuser: MailUser, real_keyring: KeyringService
) -> None:
    """The machine slept (tests/support/relay.py: the connections of before went dead, and
    no one told either end) and mail came meanwhile. logind says it woke (a private bus):
    the tray has the engine connect again and sync now. Without that, the watcher would
    wait on its dead IDLE until the renewal, nine minutes on."""
    relay = Relay(mailuser.server.imap_port)
    engine = Engine.open(imap_profile(tmp_path / "profile", mailuser, port=relay.port))
    engine.clients.add(Client("Rajesh Patel", domains=("patel-eng.example",)))
    logind = Logind(real_keyring.bus_address)
    heard = HeardApp(engine, tray_available=True, sleep_bus=real_keyring.bus_address)
    try:
        with qtbot.waitSignal(heard.status_applied, timeout=5000):
            heard.start()
        # Watching over IDLE (INBOX, and Sent by STATUS on the same connection), the
        # catch-up sync done, and listening for logind.
        # (one connection: the catch-up sync's, which the watcher then IDLEs on)
        qtbot.waitUntil(lambda: relay.connections >= 1
                        and engine.accounts()[0].push is True
                        and engine.accounts()[0].last_sync is not None
                        and heard._sleep is not None and heard._sleep.listening,
                        timeout=15000)
        before = relay.connections
        logind.become()
        logind.say(True)
        relay.sleep()
        mailuser.append(message(RAJ, "While you slept"))
        relay.wake()
        logind.say(False)
        qtbot.waitUntil(lambda: heard.status is not None and heard.status.count == 1,
                        timeout=20000)
        assert relay.connections > before          # new connections, made after the wake
        qtbot.waitUntil(lambda: engine.accounts()[0].push is True, timeout=15000)
    finally:
        heard.dispose()
        engine.close()
        logind.close()
        relay.close()


def test_from_start_to_idle_the_tray_logs_in_once_per_account(
    qtbot: QtBot, tmp_path: Path, mailuser: MailUser, real_keyring: KeyringService
) -> None:
    """One login per account at start (issue 25), counted in Dovecot's own log: the tray's
    catch-up sync logs in, the watcher takes the connection it kept, lends it back for its
    own catch-up and IDLEs on it; at idle that is the account's only connection."""
    engine = Engine.open(imap_profile(tmp_path / "profile", mailuser))
    engine.clients.add(Client("Rajesh Patel", domains=("patel-eng.example",)))
    mailuser.append(message(RAJ, "Drawings"))
    server = mailuser.server
    before = server.logins(mailuser)
    heard = HeardApp(engine, tray_available=True)
    try:
        heard.start()
        qtbot.waitUntil(lambda: heard.status is not None and heard.status.count == 1
                        and engine.accounts()[0].push is True
                        and engine.accounts()[0].last_sync is not None, timeout=20000)
        qtbot.waitUntil(lambda: server.connections(mailuser) == 1, timeout=15000)
        assert server.logins(mailuser) - before == 1
    finally:
        heard.dispose()
        engine.close()


def test_the_tooltip_count_and_its_names_add_up(
    qtbot: QtBot, app: HeardApp, engine: Engine, mail: MailFolders
) -> None:
    for n, sender in enumerate((MEGGE, RAJ, SOFIA, JANE)):
        waiting_inquiry(engine, mail, sender, f"Question {n}", 10 - n)
    app.refresh()
    wait_status(qtbot, app, 4)
    lines = app.tray.toolTip().splitlines()
    # Four waiting, three named (the longest waiting first), and the fourth counted.
    assert lines[0] == "Heard: 4 clients waiting"
    assert [line.split(":")[0] for line in lines[1:4]] == ["Megge", "Rajesh", "Sofia"]
    assert lines[4] == "and 1 more"


def test_names_from_hostile_mail_are_text_in_the_tooltip(
    qtbot: QtBot, app: HeardApp, engine: Engine, mail: MailFolders
) -> None:
    """Issue 24, 3: the tooltip names who waits and who is snoozed: one line of text each,
    no override or control character, never taken for rich text (Qt reads a tooltip whose
    first line holds a tag as HTML)."""
    from PySide6.QtGui import Qt as QtGui

    feed(mail.inbox, NOW)
    engine.sync()
    stranger = next(i for i in engine.status().waiting if i.client.name.startswith("<b>"))
    engine.inquiries.snooze(str(stranger.inquiry.id), NOW + timedelta(hours=2))
    app.refresh()
    wait_status(qtbot, app, len(SAMPLES) - 1)
    tip = app.tray.toolTip()
    assert "Snoozed: 1 (not counted), <b>Urgent</b> back today" in tip
    assert not QtGui.mightBeRichText(tip)
    assert not [c for c in FORBIDDEN if c in tip]
    assert len(tip) < 600


def test_the_tick_sleeps_until_the_next_deadline_not_a_fixed_period(
    qtbot: QtBot, app: HeardApp, engine: Engine, mail: MailFolders
) -> None:
    """idle-wakeups: one single-shot timer, set by each tick for Engine.next_tick."""
    from heard.gui.tray import TICK_SAFETY_MS

    assert app.ticker.isSingleShot()
    app._tick()
    qtbot.waitUntil(lambda: app.ticker.interval() == TICK_SAFETY_MS, timeout=5000)  # idle
    drop(mail.inbox, message(MEGGE, "Closing"), NOW - timedelta(minutes=6))
    engine.sync()   # she turns amber in 90 s (see tests/engine/test_schedule.py)
    app._tick()
    qtbot.waitUntil(lambda: 90_000 <= app.ticker.interval() <= 91_000, timeout=5000)
    assert app.ticker.isActive()


def test_an_engine_event_already_on_its_way_when_the_tray_goes_reaches_nothing(
        qtbot: QtBot, engine: Engine) -> None:
    """An alert the engine's thread posted just before the tray was disposed must not reach
    its deleted icon (it did, as a teardown error, under load)."""
    from PySide6.QtCore import QCoreApplication

    from heard.engine.events import EngineEvent, EventKind

    heard = HeardApp(engine, tray_available=True)
    with qtbot.waitSignal(heard.status_applied, timeout=5000):
        heard.start()
    shown: list[tuple[str, str]] = []
    heard.toaster.alert = lambda toasts, _deadlines: shown.extend(toasts)  # type: ignore[method-assign]
    heard._bridge.engine_event.emit(EngineEvent(EventKind.ALERTS,
                                                toasts=(("Due", "Megge: 2 min left"),)))
    QCoreApplication.processEvents()
    assert shown == [("Due", "Megge: 2 min left")]      # alive: it reaches the toaster
    heard.dispose()
    heard._bridge.engine_event.emit(EngineEvent(EventKind.ALERTS,
                                                toasts=(("Due", "Raj: 1 min left"),)))
    QCoreApplication.processEvents()
    assert shown == [("Due", "Megge: 2 min left")]      # after dispose: nothing


def _gate_acknowledgements(engine: Engine, fail: bool = False) -> threading.Event:
    """Each acknowledgement (not a preview) waits on the worker until the returned event is
    set, as it waits for the mail server's answer to its claim; then it goes on, or with
    `fail` is refused as a server may refuse it."""
    gate = threading.Event()
    acknowledge = engine.replies.acknowledge

    def gated(*args: Any, **kwargs: Any) -> Any:
        if not kwargs.get("dry_run"):
            assert gate.wait(10)
            if fail:
                raise HeardError("the server refused the claim")
        return acknowledge(*args, **kwargs)

    engine.replies.acknowledge = gated  # type: ignore[method-assign]
    return gate


def _enter_on_first_client(qtbot: QtBot, app: HeardApp) -> None:
    app.window.open()
    qtbot.waitExposed(app.window)
    qtbot.waitUntil(lambda: app.window.reply_ready() and app.window.ack_button.isEnabled(),
                    timeout=5000)
    qtbot.keyClick(app.window.list, Qt.Key.Key_Return)


def test_the_badge_drops_on_enter_before_the_server_answers(
    qtbot: QtBot, app: HeardApp, engine: Engine, mail: MailFolders
) -> None:
    """Issue 25 (Enter -> badge): from the user's view the client stops waiting when they
    press Enter; the badge and tooltip say so at once, while the claim on the server and
    the outbox write still run (the store still counts Megge until they are done). The send
    is held for Undo, and Undo brings her back."""
    waiting_inquiry(engine, mail, MEGGE, "Closing", minutes=2)
    waiting_inquiry(engine, mail, RAJ, "Drawings", minutes=1)
    wait_status(qtbot, app, 2)
    app.window.send_delay_ms = 5000
    gate = _gate_acknowledgements(engine)
    shown: list[int] = []
    app.badge_shown.connect(lambda status: shown.append(status.count))
    _enter_on_first_client(qtbot, app)
    qtbot.waitUntil(lambda: shown[-1:] == [1], timeout=5000)
    assert app.tray.toolTip().splitlines()[:2] == ["Heard: 1 client waiting", "Rajesh: 1 min"]
    assert app.status is not None and app.status.count == 2   # the store: not yet
    gate.set()
    wait_status(qtbot, app, 1)   # queued, held for Undo: the store agrees
    assert shown[-1] == 1 and not app._sending
    qtbot.waitUntil(lambda: app.window.undo_button.isEnabled(), timeout=5000)
    app.undo_stack.undo()
    wait_status(qtbot, app, 2)
    assert shown[-1] == 2
    assert app.tray.toolTip().splitlines()[0] == "Heard: 2 clients waiting"


def test_a_refused_acknowledgement_puts_the_client_back_on_the_badge(
    qtbot: QtBot, app: HeardApp, engine: Engine, mail: MailFolders
) -> None:
    waiting_inquiry(engine, mail, MEGGE, "Closing", minutes=2)
    wait_status(qtbot, app, 1)
    gate = _gate_acknowledgements(engine, fail=True)
    shown: list[int] = []
    app.badge_shown.connect(lambda status: shown.append(status.count))
    _enter_on_first_client(qtbot, app)
    qtbot.waitUntil(lambda: shown[-1:] == [0], timeout=5000)
    gate.set()
    qtbot.waitUntil(lambda: "the server refused the claim" in app.window.message.text(),
                    timeout=5000)
    qtbot.waitUntil(lambda: shown[-1:] == [1], timeout=5000)
    assert app.tray.toolTip().splitlines()[0] == "Heard: 1 client waiting"
    assert not app._sending


def test_an_enter_reads_the_status_once(
    qtbot: QtBot, app: HeardApp, engine: Engine, mail: MailFolders
) -> None:
    """The engine's change event, the window's action and the tick brought forward by the
    change each asked for the status (2-3 reads per Enter); the change is numbered, and the
    read it started has seen it, so one read serves all three."""
    waiting_inquiry(engine, mail, MEGGE, "Closing", minutes=2)
    wait_status(qtbot, app, 1)
    # The tick that change brought forward has run and set the next deadline (minutes).
    qtbot.waitUntil(lambda: not app.ops._live and not app._tick_after_change
                    and app.ticker.isActive() and app.ticker.interval() > 1000, timeout=5000)
    app.window.send_delay_ms = 5000
    reads, ticks = [0], [0]
    status, schedule = engine.status, app.schedule_tick

    def counted() -> Any:
        reads[0] += 1
        return status()

    def scheduled(*args: Any) -> None:
        ticks[0] += 1
        schedule(*args)

    engine.status = counted  # type: ignore[method-assign]
    app.schedule_tick = scheduled  # type: ignore[method-assign]
    _enter_on_first_client(qtbot, app)
    qtbot.waitUntil(lambda: app.window.undo_button.isEnabled(), timeout=5000)
    wait_status(qtbot, app, 0)
    # The change brought the tick forward, to 1 s: it ran, and set the next.
    qtbot.waitUntil(lambda: ticks[0] == 1, timeout=5000)
    assert app._reading is None and reads[0] == 1
    app.undo_stack.undo()
    wait_status(qtbot, app, 1)


def test_a_change_told_while_the_status_is_read_is_read_again(
    qtbot: QtBot, app: HeardApp, engine: Engine
) -> None:
    """Coalescing never keeps an old count: a change told after a read began may be missed
    by it, so one more read follows."""
    qtbot.waitUntil(lambda: app._caught_up and not app.ops._live and app._reading is None,
                    timeout=5000)   # the catch-up sync and what it asked for are over
    app.ticker.stop()   # no tick reads it meanwhile
    gate, started, reads = threading.Event(), threading.Event(), [0]
    first = threading.local()
    status, open_inquiries = engine.status, engine.store.open_inquiries

    def counted() -> Any:
        reads[0] += 1
        first.read = reads[0] == 1
        try:
            return status()
        finally:
            first.read = False

    def slow(*args: Any, **kwargs: Any) -> Any:
        if getattr(first, "read", False):   # the first read, its change number taken
            started.set()
            assert gate.wait(10)
        return open_inquiries(*args, **kwargs)

    engine.status = counted  # type: ignore[method-assign]
    engine.store.open_inquiries = slow  # type: ignore[method-assign]
    app.refresh()
    qtbot.waitUntil(started.is_set, timeout=5000)
    engine.inquiries.log_call("Margaret Hale", note="Call me")   # told while it reads
    assert reads[0] == 1   # the change waits for the read under way
    gate.set()
    qtbot.waitUntil(lambda: reads[0] == 2 and app._reading is None, timeout=5000)
    assert app.status is not None and app.status.count == 1
    assert app.status.changes == engine._ctx.events.changes


def test_a_hidden_window_is_drawn_when_it_opens_not_on_each_status(
    qtbot: QtBot, app: HeardApp, engine: Engine, mail: MailFolders
) -> None:
    """The soak found a quarter of an idle tray's samples in the hidden quick-reply window
    drawn again on every status (and a preview rendered for it each time)."""
    window = app.window
    assert not window.isVisible()
    drawn: list[int] = []
    show_status = window.show_status

    def counted(status: Any, zone: Any) -> None:
        drawn.append(status.count)
        show_status(status, zone)

    window.show_status = counted  # type: ignore[method-assign]
    waiting_inquiry(engine, mail, MEGGE, "Closing", minutes=2)
    wait_status(qtbot, app, 1)
    waiting_inquiry(engine, mail, RAJ, "Drawings", minutes=1)
    wait_status(qtbot, app, 2)
    assert drawn == []
    window.open()   # as the tray's menu, a toast or a test opens it
    assert drawn == [2] and window.list.topLevelItemCount() == 2
    waiting_inquiry(engine, mail, SOFIA, "Lease", minutes=1)
    wait_status(qtbot, app, 3)
    assert drawn[-1] == 3   # open: drawn on each status
    qtbot.waitUntil(lambda: app._reading is None, timeout=5000)
    window.hide()
    seen = len(drawn)
    with qtbot.waitSignal(app.status_applied, timeout=5000):
        app.refresh()
    assert len(drawn) == seen
    app.open_window()
    assert len(drawn) == seen + 1 and window.list.topLevelItemCount() == 3
