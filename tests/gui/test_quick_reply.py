"""The quick-reply window from the keyboard, against a real engine and Maildir outbox:
acknowledge (with the Undo delay), another template, an edited reply, Undo of a send,
the delegate button, answered, dismiss and Undo, new people (client, not a client), the
countdowns, and a caller with no address."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut, QTextCursor
from pytestqt.qtbot import QtBot

from heard.config import ConfigFile
from heard.domain.clock import FixedClock
from heard.domain.delegations import Assignment
from heard.domain.inquiries import InquiryState
from heard.domain.outbox import OutboxState
from heard.engine import Engine
from heard.errors import NotWaiting
from heard.gui.quick_reply import ACK_BY_COL, time_left
from heard.gui.tray import HeardApp, tooltip_text
from heard.system.paths import Profile
from tests.conftest import CLIENTS, NOW
from tests.support.gui import (
    CTRL,
    open_window,
    set_up_assistant,
    state_of,
    wait_status,
    waiting_inquiry,
)
from tests.support.mail import JANE, MEGGE, RAJ, MailFolders, drop, message, sent_messages


@pytest.fixture
def profile_without_outbox(profile: Profile, clock: FixedClock) -> Iterator[Engine]:
    """The test profile's Maildir account with neither an outbox nor SMTP: it cannot send."""
    text = profile.config.read_text(encoding="utf-8")
    profile.config.write_text(re.sub(r'outbox = "[^"]*"\n', "", text), encoding="utf-8")
    engine = Engine.open(profile, clock)
    for client in CLIENTS:
        engine.clients.add(client)
    yield engine
    engine.close()


def select(qtbot: QtBot, heard: HeardApp, text: str) -> None:
    window = heard.window
    window.activateWindow()  # shortcuts work in the active window
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    for row in range(window.list.topLevelItemCount()):
        item = window.list.topLevelItem(row)
        if item is not None and text in item.text(0):
            window.list.setCurrentItem(item)
            return
    raise AssertionError(f"no row with {text!r}")


def test_keyboard_only_acknowledge_waits_for_undo_then_sends(
    qtbot: QtBot, app: HeardApp, engine: Engine, mail: MailFolders
) -> None:
    waiting_inquiry(engine, mail, MEGGE, "Closing", 2)
    raj = waiting_inquiry(engine, mail, RAJ, "Drawings", 1)
    wait_status(qtbot, app, 2)
    window = open_window(qtbot, app, delay_ms=1000)
    assert window.list.currentItem() is not None
    assert window.list.currentItem().text(0) == "Megge"  # type: ignore[union-attr]
    # A deadline today says so ("today 10:08"), not a weekday that reads like next week's.
    assert re.fullmatch(r"today \d\d:\d\d",
                        window.list.currentItem().text(ACK_BY_COL))  # type: ignore[union-attr]
    assert window.preview.toPlainText().startswith("Hi Megge,")

    qtbot.keyClick(window.list, Qt.Key.Key_Down)
    assert window.current_id() == raj
    qtbot.waitUntil(lambda: window.preview.toPlainText().startswith("Hi Rajesh,"),
                    timeout=5000)
    with qtbot.waitSignal(app.acknowledged, timeout=5000) as acknowledged:
        qtbot.keyClick(window.list, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: "will be sent in 1 s" in window.message.text(), timeout=5000)
        # Held back for Undo: recorded, but not in the outbox yet.
        assert window.message.text() == ("Acknowledgement to Rajesh will be sent in 1 s"
                                         " — Undo (Ctrl+Z)")
        assert window.undo_button.isEnabled()
        assert mail.outbox_messages() == []
        assert state_of(engine, raj) is InquiryState.ACKNOWLEDGED
    assert acknowledged.args is not None and acknowledged.args[0].sent

    [reply] = sent_messages(mail)
    assert reply["To"].addresses[0].addr_spec == "raj@patel-eng.example"
    assert reply["Subject"] == "Re: Drawings"
    assert reply.get_content().startswith("Hi Rajesh,")
    assert "Sent: acknowledgement to raj@patel-eng.example" in window.message.text()
    assert not window.undo_button.isEnabled()   # too late to take back
    wait_status(qtbot, app, 1)


def test_another_template_chosen_with_the_keyboard_shows_its_text(
    qtbot: QtBot, app: HeardApp, engine: Engine, mail: MailFolders
) -> None:
    waiting_inquiry(engine, mail, MEGGE, "Closing", 2)
    wait_status(qtbot, app, 1)
    window = open_window(qtbot, app)
    assert window.template_combo.currentText() == "acknowledge"   # the default for her
    assert "I have it, and I'm on it" in window.preview.toPlainText()
    assert window.reply_to.text() == "To: margaret@hale.example"
    # The autopilot's absence and evening replies and the follow-up's nudge are no
    # acknowledgement to choose here.
    offered = {window.template_combo.itemText(i) for i in range(window.template_combo.count())}
    assert "acknowledge" in offered
    assert not offered & {"absence", "after-hours", "nudge"}

    qtbot.keyClick(window.list, Qt.Key.Key_T, CTRL)
    assert window.template_combo.hasFocus()
    qtbot.keyClick(window.template_combo, Qt.Key.Key_Down)   # acknowledge-away
    qtbot.keyClick(window.template_combo, Qt.Key.Key_Down)   # acknowledge-busy
    qtbot.keyClick(window.template_combo, Qt.Key.Key_Down)   # call-back
    assert window.template_combo.currentText() == "call-back"
    qtbot.waitUntil(lambda: "I saw you tried to reach me" in window.preview.toPlainText(),
                    timeout=5000)
    text = window.preview.toPlainText()
    assert text.startswith("Hi Megge,\n")                # her preferred name
    assert "I have it, and I'm on it" not in text       # the text was replaced
    assert window.reply_subject.text() == "Re: Closing"
    assert not window.is_edited() and window.edited.text() == ""


def test_an_edited_reply_is_sent_as_edited(
    qtbot: QtBot, app: HeardApp, engine: Engine, mail: MailFolders
) -> None:
    megge = waiting_inquiry(engine, mail, MEGGE, "Closing", 2)
    wait_status(qtbot, app, 1)
    window = open_window(qtbot, app)
    qtbot.keyClick(window.list, Qt.Key.Key_T, CTRL)
    for _ in range(3):   # acknowledge-away, acknowledge-busy, call-back
        qtbot.keyClick(window.template_combo, Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: "I saw you tried" in window.preview.toPlainText(), timeout=5000)

    qtbot.keyClick(window.template_combo, Qt.Key.Key_E, CTRL)
    assert window.preview.hasFocus()
    qtbot.keyClick(window.preview, Qt.Key.Key_End, CTRL)
    qtbot.keyClicks(window.preview, "P.S. The keys are at reception.")
    assert window.is_edited() and "edited" in window.edited.text()
    # Enter in the text is a line break, not a send; Ctrl+Enter sends.
    qtbot.keyClick(window.preview, Qt.Key.Key_Return)
    assert mail.outbox_messages() == [] and state_of(engine, megge) is InquiryState.WAITING
    with qtbot.waitSignal(app.acknowledged, timeout=5000) as acknowledged:
        qtbot.keyClick(window.preview, Qt.Key.Key_Return, CTRL)
    assert acknowledged.args is not None
    result = acknowledged.args[0]
    assert result.sent and result.template == "call-back"

    [reply] = sent_messages(mail)
    body = reply.get_content()
    assert body.startswith("Hi Megge,")
    assert "I saw you tried to reach me" in body
    assert "P.S. The keys are at reception." in body
    assert state_of(engine, megge) is InquiryState.ACKNOWLEDGED


def test_undo_takes_back_an_acknowledgement_before_it_is_sent(
    qtbot: QtBot, app: HeardApp, engine: Engine, mail: MailFolders
) -> None:
    megge = waiting_inquiry(engine, mail, MEGGE, "Closing", 2)
    wait_status(qtbot, app, 1)
    window = open_window(qtbot, app, delay_ms=1500)
    sent: list[object] = []
    app.acknowledged.connect(sent.append)

    qtbot.keyClick(window.list, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "will be sent" in window.message.text(), timeout=5000)
    wait_status(qtbot, app, 0)
    assert "Undo: the acknowledgement to Megge" in window.undo_button.toolTip()
    qtbot.keyClick(window.list, Qt.Key.Key_Z, CTRL)
    qtbot.waitUntil(lambda: "was not sent" in window.message.text(), timeout=5000)
    wait_status(qtbot, app, 1)   # she is waiting again

    # Raj's acknowledgement, held as long and started after the Undo, goes out: by then
    # Megge's would have gone too, had the Undo not stopped it.
    raj = waiting_inquiry(engine, mail, RAJ, "Drawings", 1)
    wait_status(qtbot, app, 2)
    window.select(raj)
    qtbot.waitUntil(lambda: window.current_id() == raj and window.ack_button.isEnabled()
                    and window.reply_ready(), timeout=5000)
    with qtbot.waitSignal(app.acknowledged, timeout=10000,
                          check_params_cb=lambda result: result.inquiry_id == raj):
        qtbot.keyClick(window.list, Qt.Key.Key_Return)
    assert app.ops.wait(5000)   # a send of Megge's begun meanwhile has finished too
    assert [m["To"].addresses[0].addr_spec for m in sent_messages(mail)] == [
        "raj@patel-eng.example"]
    assert [r.inquiry_id for r in sent] == [raj]  # type: ignore[attr-defined]
    assert state_of(engine, megge) is InquiryState.WAITING
    assert [p.inquiry_id for p in engine.store.open_promises()] == [raj]
    [item] = [i for i in engine.outbox_items(everything=True) if i.inquiry_id == megge]
    assert item.state is OutboxState.CANCELLED
    assert not window.undo_button.isEnabled()


def test_delegate_is_off_until_an_assistant_is_set_up(
    qtbot: QtBot, app: HeardApp, engine: Engine, mail: MailFolders
) -> None:
    waiting_inquiry(engine, mail, MEGGE, "Lease", 4)
    wait_status(qtbot, app, 1)
    window = open_window(qtbot, app)
    assert not window.delegate_button.isEnabled()
    assert "Add an assistant" in window.delegate_button.toolTip()
    assert "Settings > Assistants" in window.delegate_button.toolTip()
    assert "heard.toml" not in window.delegate_button.toolTip()
    [ctrl_g] = [s for s in window.findChildren(QShortcut)
                if s.key() == QKeySequence("Ctrl+G")]
    with qtbot.waitSignal(ctrl_g.activated, timeout=5000), \
            qtbot.assertNotEmitted(window.delegate_requested):
        qtbot.keyClick(window.list, Qt.Key.Key_G, CTRL)
    assert app.actions._delegate_dialog is None
    # Ctrl+G is not silent: the window says why, where it was pressed.
    assert window.message.text().startswith("Cannot delegate: add an assistant")
    assert "Settings > Assistants" in window.message.text()


def test_dismiss_with_delete_and_undo_with_ctrl_z(
    qtbot: QtBot, app: HeardApp, engine: Engine, mail: MailFolders
) -> None:
    waiting_inquiry(engine, mail, MEGGE, "Closing", 2)
    raj = waiting_inquiry(engine, mail, RAJ, "Thanks!", 1)
    wait_status(qtbot, app, 2)
    window = open_window(qtbot, app)
    qtbot.keyClick(window.list, Qt.Key.Key_Down)
    assert window.current_id() == raj

    qtbot.keyClick(window.list, Qt.Key.Key_Delete)
    wait_status(qtbot, app, 1)
    assert state_of(engine, raj) is InquiryState.DISMISSED
    qtbot.waitUntil(lambda: "Dismissed Rajesh's message" in window.message.text(),
                    timeout=5000)
    # A preview asked for just before (the selection moved onto Raj) that fails now he is
    # dismissed must not hide what the user just did.
    dismissed = engine.store.inquiry(raj)
    assert dismissed is not None
    app.actions._preview_failed(raj, NotWaiting(dismissed))
    assert "Dismissed Rajesh's message" in window.message.text()
    assert window.undo_button.isEnabled()
    assert mail.outbox_messages() == []

    qtbot.keyClick(window.list, Qt.Key.Key_Z, CTRL)
    wait_status(qtbot, app, 2)
    assert state_of(engine, raj) is InquiryState.WAITING
    qtbot.waitUntil(lambda: not window.undo_button.isEnabled(), timeout=5000)
    assert "Rajesh is waiting again" in window.message.text()


def test_undo_takes_back_the_most_recent_action_first(
    qtbot: QtBot, app: HeardApp, engine: Engine, mail: MailFolders
) -> None:
    megge = waiting_inquiry(engine, mail, MEGGE, "Closing", 2)
    raj = waiting_inquiry(engine, mail, RAJ, "Thanks!", 1)
    wait_status(qtbot, app, 2)
    window = open_window(qtbot, app)
    qtbot.keyClick(window.list, Qt.Key.Key_Delete)      # Megge first (the most urgent)
    wait_status(qtbot, app, 1)
    qtbot.waitUntil(lambda: window.current_id() == raj, timeout=5000)
    qtbot.keyClick(window.list, Qt.Key.Key_Delete)
    wait_status(qtbot, app, 0)

    qtbot.keyClick(window.list, Qt.Key.Key_Z, CTRL)
    wait_status(qtbot, app, 1)
    assert state_of(engine, raj) is InquiryState.WAITING
    assert state_of(engine, megge) is InquiryState.DISMISSED
    qtbot.keyClick(window.list, Qt.Key.Key_Z, CTRL)
    wait_status(qtbot, app, 2)
    assert state_of(engine, megge) is InquiryState.WAITING


def test_mark_answered_with_ctrl_shift_a(
    qtbot: QtBot, app: HeardApp, engine: Engine, mail: MailFolders
) -> None:
    megge = waiting_inquiry(engine, mail, MEGGE, "Closing", 2)
    wait_status(qtbot, app, 1)
    window = open_window(qtbot, app)
    qtbot.keyClick(window.list, Qt.Key.Key_A,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    wait_status(qtbot, app, 0)
    assert state_of(engine, megge) is InquiryState.ANSWERED
    assert mail.outbox_messages() == []
    assert "Marked answered: Megge" in window.message.text()


def test_the_countdown_to_the_acknowledgement_deadline_moves_on(
    qtbot: QtBot, app: HeardApp, engine: Engine, mail: MailFolders
) -> None:
    waiting_inquiry(engine, mail, MEGGE, "Closing", 2)   # VIP: ten minutes, so eight are left
    wait_status(qtbot, app, 1)
    window = open_window(qtbot, app)
    row = window.list.topLevelItem(0)
    assert row is not None

    def left() -> int:
        row = window.list.topLevelItem(0)   # (a refresh, if one comes, draws it anew)
        assert row is not None
        found = re.fullmatch(r"(\d+):(\d\d)", row.text(3))
        assert found, row.text(3)
        return int(found[1]) * 60 + int(found[2])

    first = left()
    assert 7 * 60 < first <= 8 * 60
    assert row.text(2) == "2 min"
    qtbot.waitUntil(lambda: left() < first, timeout=3000)   # the second timer moves it


def test_countdown_texts() -> None:
    assert time_left(NOW, NOW + timedelta(minutes=8)) == "8:00"
    assert time_left(NOW, NOW + timedelta(seconds=65)) == "1:05"
    assert time_left(NOW, NOW + timedelta(hours=2, minutes=5)) == "2 h 05"
    assert time_left(NOW, NOW + timedelta(days=3)) == "3 days"
    assert time_left(NOW, NOW - timedelta(minutes=4, seconds=30)) == "overdue 4 min"


def test_an_html_message_is_shown_as_plain_text(
    qtbot: QtBot, app: HeardApp, engine: Engine, mail: MailFolders
) -> None:
    raw = (b"From: Margaret Hale <margaret@hale.example>\r\nTo: alex@morgan-law.example\r\n"
           b"Subject: Closing\r\nMessage-ID: <h1@hale.example>\r\n"
           b"Content-Type: text/html; charset=utf-8\r\n\r\n"
           b"<html><body><p>Can we <b>close</b> on Friday?</p>"
           b"<img src=\"https://tracker.example/pixel.gif\"></body></html>\r\n")
    drop(mail.inbox, raw, NOW - timedelta(minutes=2))
    engine.sync()
    wait_status(qtbot, app, 1)
    window = open_window(qtbot, app)
    shown = window.incoming.toPlainText()
    assert "Can we close on Friday?" in shown
    assert "<" not in shown and "tracker.example" not in shown
    assert window.incoming.isReadOnly()


def test_a_caller_with_no_address_gets_a_call_back_promise(
    qtbot: QtBot, app: HeardApp, engine: Engine, mail: MailFolders
) -> None:
    sofia = next(c for c in engine.clients.all() if c.name == "Sofia Lindqvist")
    engine.clients.update(dataclasses.replace(sofia, phones=("+46 8 123 456 78",), emails=()))
    call = engine.inquiries.log_call("+46812345678", NOW - timedelta(minutes=1), "contract")
    wait_status(qtbot, app, 1)
    window = open_window(qtbot, app)
    assert window.preview.toPlainText().startswith("Call Sofia Lindqvist back by")
    assert window.preview.isReadOnly()
    assert window.call_link.isVisible()
    assert 'href="tel:+46812345678"' in window.call_link.text()

    qtbot.keyClick(window.list, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "Call Sofia Lindqvist back by" in window.message.text(),
                    timeout=5000)
    assert "+46812345678" in window.message.text()
    assert mail.outbox_messages() == []
    [promise] = engine.store.open_promises()
    assert promise.inquiry_id == call.id


def test_the_assistants_window_lists_what_was_delegated_to_them_and_answers_it(
    qtbot: QtBot, app: HeardApp, engine: Engine, mail: MailFolders
) -> None:
    """As the assistant's own Heard learns it from the server (tests/devices/test_imap.py):
    the client delegated on the professional's device."""
    megge = waiting_inquiry(engine, mail, MEGGE, "Lease renewal", 5)
    raj = waiting_inquiry(engine, mail, RAJ, "Drawings", 1)
    inquiry = engine.store.inquiry(megge)
    assert inquiry is not None
    engine.store.move_inquiry(inquiry.delegate(NOW), InquiryState.WAITING)
    me = sorted(engine.own_addresses())[0]
    engine.store.set_assignment(Assignment(megge, "desk", "Sam Reed", me.upper(), NOW,
                                           NOW + timedelta(hours=2), "She prefers mornings"))
    app.refresh()
    qtbot.waitUntil(lambda: app.status is not None and bool(app.status.assigned),
                    timeout=5000)
    window = app.window
    app.open_window()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    assert "1 delegated to you (next due" in window.summary.text()
    engine.store.set_owner(raj, "lap")          # another device is answering Raj now
    app.refresh()
    qtbot.waitUntil(lambda: any("on 'lap'" in (window.list.topLevelItem(r).text(5)  # type: ignore[union-attr]
                                               or "")
                                for r in range(window.list.topLevelItemCount())),
                    timeout=5000)
    rows = {window.list.topLevelItem(r).text(0): window.list.topLevelItem(r)  # type: ignore[union-attr]
            for r in range(window.list.topLevelItemCount())}
    assert rows["Megge"].text(5) == "for you"
    assert "Delegated to you by 'desk': She prefers mornings" in rows["Megge"].toolTip(0)
    assert app.status is not None   # the tray says it too
    assert "Delegated to you: 1, next due" in tooltip_text(app.status, engine.settings.zone)

    window.select(megge)
    assert "delegated to you by 'desk'" in window.sender_label.text()
    assert window.incoming.toPlainText().startswith("Note: She prefers mornings")
    assert not window.ack_button.isEnabled() and not window.delegate_button.isEnabled()
    assert not window.dismiss_button.isEnabled() and window.answered_button.isEnabled()
    assert not window.template_combo.isEnabled()           # nothing to acknowledge here
    qtbot.keyClick(window.list, Qt.Key.Key_A,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: state_of(engine, megge) is InquiryState.ANSWERED, timeout=5000)
    qtbot.waitUntil(lambda: "delegated to you" not in window.summary.text(), timeout=5000)
    assert state_of(engine, raj) is InquiryState.WAITING
    assert mail.outbox_messages() == []


def test_a_new_person_is_shown_as_new_and_becomes_a_client_then_undo(
    qtbot: QtBot, app: HeardApp, engine: Engine, mail: MailFolders
) -> None:
    drop(mail.inbox, message(JANE, "Can you help with a lease?"), NOW - timedelta(minutes=3))
    engine.sync()
    wait_status(qtbot, app, 1)
    app.open_window()
    window = app.window
    select(qtbot, app, "Jane Roe (new)")
    assert window.client_button.isEnabled() and window.not_client_button.isEnabled()

    qtbot.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.undo_button.isEnabled(), timeout=5000)
    jane = next(c for c in engine.clients.all() if c.name == "Jane Roe")
    assert not jane.prospect and jane.tier == "standard"
    assert "is now a client" in window.message.text()

    window.undo_button.click()
    qtbot.waitUntil(lambda: not window.undo_button.isEnabled(), timeout=5000)
    jane = next(c for c in engine.clients.all() if c.name == "Jane Roe")
    assert jane.prospect and jane.tier == "prospect"


def test_not_a_client_sets_them_aside_and_undo_brings_them_back(
    qtbot: QtBot, app: HeardApp, engine: Engine, mail: MailFolders
) -> None:
    drop(mail.inbox, message(JANE, "Offer for your office"), NOW - timedelta(minutes=3))
    engine.sync()
    wait_status(qtbot, app, 1)
    app.open_window()
    select(qtbot, app, "Jane Roe (new)")
    qtbot.keyClick(app.window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    wait_status(qtbot, app, 0)
    assert engine.clients.not_clients() == [("jane@roe-bakery.example", "address")]

    qtbot.keyClick(app.window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    wait_status(qtbot, app, 1)
    assert engine.clients.not_clients() == []


def test_decision_buttons_are_off_for_a_known_client(
    qtbot: QtBot, app: HeardApp, engine: Engine, mail: MailFolders
) -> None:
    drop(mail.inbox, message("Margaret Hale <margaret@hale.example>", "Closing"),
         NOW - timedelta(minutes=2))
    engine.sync()
    wait_status(qtbot, app, 1)
    app.open_window()
    select(qtbot, app, "Megge")
    assert not app.window.client_button.isEnabled()
    assert not app.window.not_client_button.isEnabled()


# the client is the unit: one row, one acknowledgement

def test_a_client_who_wrote_three_times_is_one_row_and_one_reply(
        qtbot: QtBot, app: HeardApp, engine: Engine, mail: MailFolders) -> None:
    lease = waiting_inquiry(engine, mail, MEGGE, "Lease", 9, body="Can we sign Friday?")
    waiting_inquiry(engine, mail, MEGGE, "Keys", 6, body="Where are the keys?")
    parking = waiting_inquiry(engine, mail, MEGGE, "Parking", 2, body="And the parking?")
    wait_status(qtbot, app, 1)
    window = open_window(qtbot, app, delay_ms=0)
    assert window.list.topLevelItemCount() == 1                # one row for Megge
    row = window.list.topLevelItem(0)
    assert row is not None and row.childCount() == 3 and "(+2 more)" in row.text(6)
    assert window.current_id() == parking and not window.current_only()
    shown = window.incoming.toPlainText()                      # all she wrote, newest first
    assert shown.index("And the parking?") < shown.index("Where are the keys?") \
        < shown.index("Can we sign Friday?")
    assert "Thank you for your messages. I have them" in window.preview.toPlainText()
    with qtbot.waitSignal(app.acknowledged, timeout=10000):
        qtbot.keyClick(window.list, Qt.Key.Key_Return)
    (sent,) = sent_messages(mail)                              # one mail, not three
    assert sent["Subject"] == "Re: Parking"
    assert wait_status(qtbot, app, 0).waiting == []
    assert state_of(engine, lease) is InquiryState.ACKNOWLEDGED


def test_one_message_inside_a_clients_row_is_acted_on_alone(
        qtbot: QtBot, app: HeardApp, engine: Engine, mail: MailFolders) -> None:
    waiting_inquiry(engine, mail, MEGGE, "Thanks!", 5, body="Thanks!")
    keys = waiting_inquiry(engine, mail, MEGGE, "Keys", 2, body="Where are the keys?")
    wait_status(qtbot, app, 1)
    window = open_window(qtbot, app, delay_ms=0)
    window.list.setFocus()
    qtbot.keyClick(window.list, Qt.Key.Key_Right)               # open her row
    qtbot.keyClick(window.list, Qt.Key.Key_Down)                # Keys (newest)
    qtbot.keyClick(window.list, Qt.Key.Key_Down)                # Thanks!
    assert window.current_only() and window.incoming.toPlainText() == "Thanks!"
    qtbot.waitUntil(window.reply_ready, timeout=5000)
    assert "your message." in window.preview.toPlainText()      # worded for one
    qtbot.keyClick(window.list, Qt.Key.Key_Delete)              # no reply needed: that one
    qtbot.waitUntil(lambda: app.status is not None and len(app.status.waiting) == 1,
                    timeout=5000)
    status = wait_status(qtbot, app, 1)
    assert [i.inquiry.id for i in status.waiting] == [keys]     # she still waits for Keys
    assert sent_messages(mail) == []


# keyboard truth

def test_after_ctrl_enter_the_keyboard_is_back_on_the_list(
        qtbot: QtBot, app: HeardApp, engine: Engine, mail: MailFolders) -> None:
    megge = waiting_inquiry(engine, mail, MEGGE, "Closing", 5)
    raj = waiting_inquiry(engine, mail, RAJ, "Drawings", 2)
    wait_status(qtbot, app, 2)
    window = open_window(qtbot, app, delay_ms=60_000)
    window.select(megge)
    qtbot.waitUntil(lambda: window.current_id() == megge and window.reply_ready(),
                    timeout=5000)
    qtbot.keyClick(window.list, Qt.Key.Key_E, CTRL)
    assert window.preview.hasFocus()
    qtbot.keyClicks(window.preview, " See you Friday.")
    qtbot.keyClick(window.preview, Qt.Key.Key_Return, CTRL)      # send the edit
    qtbot.waitUntil(lambda: "will be sent" in window.message.text(), timeout=5000)
    assert window.list.hasFocus()                                # not the editor
    # Raj's reply comes up; Enter would acknowledge him, not type into his reply.
    qtbot.waitUntil(lambda: window.current_id() == raj and window.reply_ready(),
                    timeout=5000)
    raj_text = window.preview.toPlainText()
    # Ctrl+Z from the editor takes the pending send back (not the typing).
    window.preview.setFocus()
    qtbot.waitUntil(window.preview.hasFocus, timeout=5000)
    qtbot.keyClick(window.preview, Qt.Key.Key_Z, CTRL)
    qtbot.waitUntil(lambda: "was not sent" in window.message.text(), timeout=5000)
    assert window.preview.toPlainText() == raj_text
    wait_status(qtbot, app, 2)
    assert state_of(engine, megge) is InquiryState.WAITING
    assert sent_messages(mail) == []


# sent = shown

SHOWN_CALENDAR = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
    + "".join(
        f"BEGIN:VEVENT\r\nUID:m{n}\r\nDTSTAMP:20261101T000000Z\r\n"
        f"DTSTART;TZID=Europe/Berlin:20261125T{start}00\r\n"
        f"DTEND;TZID=Europe/Berlin:20261125T{end}00\r\nSUMMARY:Meeting {n}\r\nEND:VEVENT\r\n"
        for n, (start, end) in enumerate((("0950", "1010"), ("1030", "1050"),
                                          ("1110", "1140"), ("1200", "1230"))))
    + "END:VCALENDAR\r\n")
OPS = ("enter", "clock", "template", "edit", "undo", "send", "wait")


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=st.lists(st.sampled_from(OPS), min_size=2, max_size=8))
def test_what_goes_out_is_what_was_on_screen_when_enter_was_pressed(
        qtbot: QtBot, app: HeardApp, engine: Engine, mail: MailFolders, clock: FixedClock,
        tmp_path: Path, ops: list[str]) -> None:
    """Over interleavings of the calendar's busy state changing (the clock crossing
    meetings), template edits, the user's own edits, Enter, Undo and the Undo delay running
    out: every message that leaves equals, subject and body, the reply on screen when
    Enter was pressed."""
    ics = tmp_path / "meetings.ics"
    if not ics.exists():
        ics.write_text(SHOWN_CALENDAR, encoding="utf-8")
        ConfigFile(engine.profile.config).append("calendars", {"name": "work", "kind": "ics",
                                                               "path": str(ics)})
        engine.reload_settings()
    clock.set(NOW)
    before = {str(m["Message-ID"]) for m in sent_messages(mail)}
    drop(mail.inbox, message(MEGGE, f"Matter {len(ops)}-{ops[0]}"), clock.now())
    engine.sync()
    app.refresh()
    window = open_window(qtbot, app, delay_ms=600_000)
    shown: list[tuple[str, str]] = []
    version = 0
    for op in ops:
        if op == "enter" and window.ack_button.isEnabled() and window.reply_ready():
            shown.append((window.reply_subject.text(), window.preview.toPlainText()))
            window.list.setFocus()
            qtbot.keyClick(window.list, Qt.Key.Key_Return)
        elif op == "clock":
            clock.advance(timedelta(minutes=13))                   # into or out of a meeting
            app.refresh()
        elif op == "template":
            version += 1
            engine.profile.templates.write_text(
                '[acknowledge]\nsubject = "Re: {subject}"\nbody = "Version ' + str(version)
                + ': by {reply_by}."\n[acknowledge-busy]\nsubject = "Re: {subject} (v'
                + str(version) + ')"\nbody = "In a meeting until {busy_until}; by'
                ' {reply_by}."\n', encoding="utf-8")
            engine.reload_templates()
            app.refresh()
        elif op == "edit" and not window.preview.isReadOnly() and window.reply_ready():
            window.preview.moveCursor(QTextCursor.MoveOperation.End)
            window.preview.insertPlainText(" P.S.")
        elif op == "undo":
            window.list.setFocus()
            qtbot.keyClick(window.list, Qt.Key.Key_Z, CTRL)
        elif op == "send":
            app.undo_stack.send_held_now()
        elif op == "wait":
            qtbot.waitUntil(lambda: (app.ops.wait(50) and window.reply_ready())
                            or window.current_id() is None, timeout=5000)
    # An Enter still on its way is held first (its result back on the GUI thread), then
    # whatever waits for Undo goes out.
    qtbot.waitUntil(lambda: app.ops.wait(50) and window.ack_button.text() != "Sending…",
                    timeout=10_000)
    app.undo_stack.send_held_now()
    qtbot.waitUntil(lambda: app.ops.wait(50) and not app.undo_stack.sending, timeout=10_000)
    for sent in [m for m in sent_messages(mail) if str(m["Message-ID"]) not in before]:
        assert (str(sent["Subject"]), sent.get_content()) in [
            (subject, body if body.endswith("\n") else body + "\n") for subject, body in shown]
    engine.profile.templates.unlink(missing_ok=True)
    engine.reload_templates()
    # Whatever is left waiting is answered, so the next example starts from one message.
    for item in engine.status().waiting:
        assert item.inquiry.id is not None
        engine.inquiries.dismiss(item.inquiry.id)
    app.refresh()
    wait_status(qtbot, app, 0)


def test_text_from_hostile_mail_is_text_in_the_window_and_its_tooltips(
    qtbot: QtBot, app: HeardApp, engine: Engine, mail: MailFolders
) -> None:
    from PySide6.QtGui import QTextDocument
    from PySide6.QtWidgets import QTreeWidgetItemIterator

    from heard.gui.quick_reply import SUBJECT_COL
    from tests.support.hostile import SAMPLES

    for n, sample in enumerate(SAMPLES):
        drop(mail.inbox, message(sample.sender, sample.subject, body=sample.body),
             NOW - timedelta(minutes=10 - n))
    engine.sync()   # real intake, as the watcher would
    app.refresh()
    wait_status(qtbot, app, len(SAMPLES))
    window = app.window
    app.open_window()
    seen: set[str] = set()
    it = QTreeWidgetItemIterator(window.list)
    while (row := it.value()) is not None:
        it += 1
        for column in (0, SUBJECT_COL):
            tip = row.toolTip(column)
            # Qt shows a tooltip whose first line starts with a tag as rich text: each of
            # these is a paragraph of escaped text, so what it shows is what the mail said.
            doc = QTextDocument()
            doc.setHtml(tip)
            shown = doc.toPlainText()
            assert "<img" not in tip and "<span" not in tip and "<a " not in tip, tip[:200]
            assert not doc.allFormats() or all(not f.isImageFormat() for f in doc.allFormats())
            assert "\u202e" not in shown and "\x07" not in shown
            assert len(shown) <= 1100
        texts = [row.text(SUBJECT_COL)]
        for column in (0, SUBJECT_COL):
            doc = QTextDocument()
            doc.setHtml(row.toolTip(column))
            texts.append(doc.toPlainText())
        seen |= {s.name for s in SAMPLES if any(s.marker in t for t in texts)}
    # Every sample's text reached the window as written: markup shown, not obeyed.
    assert seen == {s.name for s in SAMPLES}
    # The sender label: plain text, one line of subject, no bidi override, cut to fit.
    for row_index in range(window.list.topLevelItemCount()):
        window.list.setCurrentItem(window.list.topLevelItem(row_index))
        label = window.sender_label
        assert label.textFormat() == Qt.TextFormat.PlainText
        assert "\u202e" not in label.text() and len(label.text()) < 600


def test_a_message_that_failed_dmarc_is_shown_with_a_warning(
        qtbot: QtBot, app: HeardApp, engine: Engine, mail: MailFolders) -> None:
    drop(mail.inbox, message(MEGGE, "New bank details", authenticated=False, headers={
        "Authentication-Results": "mx.heard.test; dmarc=fail header.from=hale.example"}),
        NOW - timedelta(minutes=1))
    engine.sync()
    wait_status(qtbot, app, 1)
    window = open_window(qtbot, app)
    assert "failed DKIM/DMARC at your mail server: it may not be from Megge" in \
        window.sender_label.text()


def test_a_refusal_from_the_engine_is_said_in_words_not_as_a_command(
    qtbot: QtBot, profile_without_outbox: Engine, mail: MailFolders
) -> None:
    # A Maildir account with no outbox and no SMTP cannot send: the engine's message names
    # `heard account add maildir ... --outbox` for the command line; the window says where
    # in the app that is done, with no shell syntax.
    engine = profile_without_outbox
    heard = HeardApp(engine, tray_available=True)
    with qtbot.waitSignal(heard.status_applied, timeout=5000):
        heard.start()
    try:
        waiting_inquiry(engine, mail, MEGGE, "Closing", 2)
        wait_status(qtbot, heard, 1)
        window = open_window(qtbot, heard, delay_ms=0)
        qtbot.keyClick(window.list, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: "cannot send" in window.message.text(), timeout=10000)
        text = window.message.text()
        assert "outbox Maildir" in text and "Settings > Accounts" in text
        assert "`" not in text and "--" not in text and "heard account" not in text
    finally:
        heard.dispose()


def test_ctrl_s_snoozes_a_client_apart_greyed_and_undo_and_wake_count_them_again(
    qtbot: QtBot, app: HeardApp, engine: Engine, mail: MailFolders
) -> None:
    from heard.gui.quick_reply import SNOOZED_ROLE, STATUS_COL

    megge = waiting_inquiry(engine, mail, MEGGE, "Closing", 2)
    waiting_inquiry(engine, mail, RAJ, "Drawings", 1)
    wait_status(qtbot, app, 2)
    window = open_window(qtbot, app)
    assert window.current_id() == megge   # the VIP first
    qtbot.keyClick(window.list, Qt.Key.Key_S, CTRL)
    qtbot.waitUntil(window.snooze_menu.isVisible, timeout=5000)
    # No calendar: "until this meeting ends" cannot be chosen; nobody is snoozed to wake.
    assert not window.snooze_actions["meeting-end"].isEnabled()
    assert not window.snooze_actions["off"].isEnabled()
    qtbot.keyClick(window.snooze_menu, Qt.Key.Key_H)          # For an &hour
    status = wait_status(qtbot, app, 1)
    (snoozed,) = status.snoozed
    assert snoozed.until == NOW + timedelta(hours=1)
    last = window.list.topLevelItem(window.list.topLevelItemCount() - 1)
    assert last is not None and "Megge" in last.text(0) and last.data(0, SNOOZED_ROLE)
    assert last.text(STATUS_COL) == "snoozed until today 11:00"
    assert last.foreground(0).color().name() == "#8a8a8a"
    qtbot.waitUntil(lambda: "Snoozed Megge until today 11:00" in window.message.text(),
                    timeout=5000)
    assert "1 client is waiting" in window.summary.text() and "1 snoozed" in \
        window.summary.text()
    assert "Snoozed: 1 (not counted), Megge back today 11:00" in tooltip_text(
        status, engine.settings.zone)

    window.activateWindow()   # the menu took the focus (a window manager gives it back)
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    qtbot.keyClick(window.list, Qt.Key.Key_Z, CTRL)                # Undo
    wait_status(qtbot, app, 2)
    qtbot.waitUntil(lambda: "Megge is counted again" in window.message.text(), timeout=5000)

    engine.inquiries.snooze("Margaret", NOW + timedelta(hours=2))   # from the command line
    wait_status(qtbot, app, 1)
    select(qtbot, app, "Megge")
    assert window.current_is_snoozed()
    qtbot.keyClick(window.list, Qt.Key.Key_S, CTRL)
    qtbot.waitUntil(window.snooze_menu.isVisible, timeout=5000)
    assert window.snooze_actions["off"].isEnabled()
    qtbot.keyClick(window.snooze_menu, Qt.Key.Key_W)               # &Wake now
    assert wait_status(qtbot, app, 2).snoozed == []


def test_a_delegation_nobody_took_up_comes_back_flagged_and_is_marked_answered(
    qtbot: QtBot, app: HeardApp, engine: Engine, mail: MailFolders, clock: FixedClock
) -> None:
    from heard.domain.inquiries import InquiryState as State
    from heard.gui.quick_reply import STATUS_COL

    set_up_assistant(engine)
    engine.reload_settings()
    megge = waiting_inquiry(engine, mail, MEGGE, "Closing", 2)
    engine.replies.delegate(megge, due=NOW + timedelta(minutes=30), tell_client=False)
    app.refresh()
    wait_status(qtbot, app, 0)
    clock.advance(timedelta(minutes=31))    # Sam has not answered by the due time
    app.refresh()
    wait_status(qtbot, app, 1)
    window = app.window
    app.open_window()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    row = window.list.topLevelItem(0)
    assert row is not None and "Megge" in row.text(0)
    assert row.text(STATUS_COL) == "Sam Reed has not answered: back to you"
    sent = len(mail.outbox_messages())          # the forward to Sam
    assert not window.ack_button.isEnabled() and window.answered_button.isEnabled()
    qtbot.keyClick(window.list, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "Sam Reed has not answered" in window.message.text(),
                    timeout=5000)
    assert len(mail.outbox_messages()) == sent    # Enter sent nothing
    qtbot.keyClick(window.list, Qt.Key.Key_A, CTRL | Qt.KeyboardModifier.ShiftModifier)
    wait_status(qtbot, app, 0)
    assert state_of(engine, megge) is State.ANSWERED


def test_the_preview_is_the_german_text_that_goes_to_a_german_client_abroad(
    qtbot: QtBot, app: HeardApp, engine: Engine, mail: MailFolders
) -> None:
    """What is sent is what was shown, in the client's language and with their time."""
    megge = next(c for c in engine.clients.all() if c.preferred_name == "Megge")
    engine.clients.update(dataclasses.replace(megge, language="de", zone="America/New_York"))
    waiting_inquiry(engine, mail, MEGGE, "Closing", 2)
    wait_status(qtbot, app, 1)
    window = open_window(qtbot, app)
    qtbot.waitUntil(lambda: window.preview.toPlainText().startswith("Hallo Megge,"),
                    timeout=5000)
    shown = window.preview.toPlainText()
    # 10:00 in Berlin, free: 10:30 for the user, 04:30 in New York for her.
    assert "Sie hören bis 04:30 Uhr Ihrer Zeit (10:30 Uhr bei mir) von mir." in shown
    with qtbot.waitSignal(app.acknowledged, timeout=10000):
        qtbot.keyClick(window.list, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(sent_messages(mail)) == 1, timeout=10000)
    [reply] = sent_messages(mail)
    assert reply.get_content().replace("\r\n", "\n").rstrip("\n") == shown.rstrip("\n")
