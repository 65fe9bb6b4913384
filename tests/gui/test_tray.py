"""The tray app against a real engine and store (offscreen): badge, tooltip, window."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from pytestqt.qtbot import QtBot

from heard.domain.clients import Client
from heard.domain.outbox import OutboxState
from heard.domain.urgency import Urgency
from heard.engine import Engine
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
