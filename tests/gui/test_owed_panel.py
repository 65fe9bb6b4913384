"""The quick-reply window's "Owe you a reply" section (heard.gui.owed_panel): a follow-up set
with Ctrl+F, the client listed apart at its time (never in the count), and the nudge shown,
edited and sent exactly as shown after the Undo delay, or taken back."""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from heard.domain.clock import FixedClock
from heard.engine import Engine
from heard.gui.owed_panel import NudgeDialog
from heard.gui.tray import HeardApp, tooltip_text
from tests.conftest import NOW
from tests.support.gui import CTRL, keyboard_problems, open_window, wait_status, waiting_inquiry
from tests.support.mail import MEGGE, RAJ, MailFolders, sent_messages


def _nudge_dialog(qtbot: QtBot) -> NudgeDialog:
    found: list[NudgeDialog] = []

    def shown() -> bool:
        found[:] = [w for w in QApplication.topLevelWidgets()
                    if isinstance(w, NudgeDialog) and w.isVisible()]
        return bool(found)

    qtbot.waitUntil(shown, timeout=5000)
    return found[0]


def test_ctrl_f_sets_a_follow_up_and_at_its_time_the_client_owes_a_reply_apart(
        qtbot: QtBot, app: HeardApp, engine: Engine, mail: MailFolders,
        clock: FixedClock) -> None:
    megge = waiting_inquiry(engine, mail, MEGGE, "Lease", 2)
    waiting_inquiry(engine, mail, RAJ, "Drawings", 1)
    wait_status(qtbot, app, 2)
    window = open_window(qtbot, app)
    assert window.current_id() == megge and not window.owed.isVisible()
    qtbot.keyClick(window.list, Qt.Key.Key_F, CTRL)
    qtbot.waitUntil(window.follow_menu.isVisible, timeout=5000)
    qtbot.keyClick(window.follow_menu, Qt.Key.Key_2)            # In &2 working days
    qtbot.waitUntil(lambda: "Waiting on Megge" in window.message.text(), timeout=5000)
    (follow_up, _client), = engine.follow_ups.listing()
    assert follow_up.due.date() == (NOW + timedelta(days=2)).date()   # Wed -> Fri
    engine.inquiries.mark_answered(megge)                        # the user answered her
    wait_status(qtbot, app, 1)
    clock.set(follow_up.due)
    app.refresh()
    qtbot.waitUntil(lambda: app.status is not None and bool(app.status.owed), timeout=5000)
    status = app.status
    assert status is not None and status.count == 1            # Raj only: she is not waiting
    qtbot.waitUntil(window.owed.isVisible, timeout=5000)
    row = window.owed.list.topLevelItem(0)
    assert row is not None and row.text(0) == "Megge" and row.text(2) == "Lease"
    assert "1 owe you a reply" in window.summary.text()
    assert "Owe you a reply (1)" in window.owed.title.text()
    tip = tooltip_text(status, engine.settings.zone)
    assert "Owe you a reply: 1, Megge since today 09:00" in tip
    assert app.owed_action.isEnabled() and "(1)" in app.owed_action.text()
    assert keyboard_problems(window) == []


def test_the_nudge_sent_is_the_text_shown_and_undo_takes_it_back(
        qtbot: QtBot, app: HeardApp, engine: Engine, mail: MailFolders,
        clock: FixedClock) -> None:
    megge = waiting_inquiry(engine, mail, MEGGE, "Lease", 2)
    engine.inquiries.mark_answered(megge)
    follow_up = engine.follow_ups.set(str(megge), NOW + timedelta(days=1))
    clock.set(NOW + timedelta(days=1))
    window = open_window(qtbot, app) if app.status and app.status.count else app.window
    app.open_window()
    app.refresh()
    qtbot.waitUntil(window.owed.isVisible, timeout=5000)
    window.owed.list.setCurrentItem(window.owed.list.topLevelItem(0))
    window.owed.nudge_button.click()
    dialog = _nudge_dialog(qtbot)
    assert dialog.to.text() == "margaret@hale.example"
    assert dialog.subject.text() == "Re: Lease"
    assert dialog.body.toPlainText().startswith("Hi Megge,\n\nJust checking in on Lease")
    dialog.reject()                                             # Cancel: nothing queued
    assert engine.outbox_items() == []
    window.owed.nudge_button.click()
    dialog = _nudge_dialog(qtbot)
    dialog.body.setPlainText("Hi Megge,\n\nAny news on the lease?\n\nAlex")
    qtbot.keyClick(dialog.body, Qt.Key.Key_Return, CTRL)        # Send
    qtbot.waitUntil(lambda: "Nudge to Megge will be sent" in window.message.text(),
                    timeout=5000)
    app.undo_stack.undo()                                       # taken back in time
    qtbot.waitUntil(lambda: "Undone: the nudge to Megge" in window.message.text(),
                    timeout=5000)
    assert mail.outbox_messages() == []
    qtbot.waitUntil(lambda: app.status is not None and bool(app.status.owed), timeout=5000)
    window.owed.list.setCurrentItem(window.owed.list.topLevelItem(0))
    window.owed.nudge_button.click()
    dialog = _nudge_dialog(qtbot)
    dialog.body.setPlainText("Hi Megge,\n\nAny news on the lease?\n\nAlex")
    dialog.subject.setText("Re: Lease (the signed copy)")
    dialog.send_button.click()
    qtbot.waitUntil(lambda: len(mail.outbox_messages()) == 1, timeout=15000)
    (sent,) = sent_messages(mail)
    assert sent["Subject"] == "Re: Lease (the signed copy)"
    assert sent.get_content().rstrip("\n") == "Hi Megge,\n\nAny news on the lease?\n\nAlex"
    qtbot.waitUntil(lambda: app.status is not None and not app.status.owed, timeout=5000)
    (still, _c), = engine.follow_ups.listing()
    assert still.id == follow_up.id and still.nudges == 1
