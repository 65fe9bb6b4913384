"""Handing a client's message to an assistant from the quick-reply window
(heard.gui.delegate_dialog): who, a note, by when, and whether the client is told."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from heard.domain.clients import ASSISTANT_PREFERENCE
from heard.domain.inquiries import InquiryState
from heard.engine import Engine
from heard.gui.delegate_dialog import DelegateDialog
from heard.gui.tray import HeardApp
from tests.conftest import NOW
from tests.support.gui import (
    CTRL,
    open_window,
    set_up_assistant,
    state_of,
    wait_status,
    waiting_inquiry,
)
from tests.support.mail import MEGGE, SAM, MailFolders, sent_messages


def test_delegating_with_the_dialog_forwards_to_the_assistant(
    qtbot: QtBot, app: HeardApp, engine: Engine, mail: MailFolders
) -> None:
    set_up_assistant(engine)
    megge = waiting_inquiry(engine, mail, MEGGE, "Lease", 4, body="Can we sign on Friday?")
    wait_status(qtbot, app, 1)
    window = open_window(qtbot, app)
    qtbot.waitUntil(window.delegate_button.isEnabled, timeout=5000)
    assert "Ctrl+G" in window.delegate_button.toolTip()

    qtbot.keyClick(window.list, Qt.Key.Key_G, CTRL)
    qtbot.waitUntil(lambda: app.actions._delegate_dialog is not None
                    and app.actions._delegate_dialog.isVisible(), timeout=5000)
    dialog = app.actions._delegate_dialog
    assert isinstance(dialog, DelegateDialog)
    assert dialog.assistant.currentText() == f"Sam Reed <{SAM}>"
    assert dialog.tell.isEnabled() and dialog.tell.isChecked()
    assert dialog.values().due == NOW + timedelta(hours=2)   # [delegation] due
    qtbot.waitUntil(dialog.note.hasFocus, timeout=5000)   # type the note straight away
    qtbot.keyClicks(dialog.note, "Please book the notary.")
    qtbot.keyClick(dialog.note, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(mail.outbox_messages()) == 2, timeout=5000)

    by_to = {m["To"].addresses[0].addr_spec: m for m in sent_messages(mail)}
    assert set(by_to) == {SAM, "margaret@hale.example"}
    forward = by_to[SAM]
    assert forward["Subject"] == "Fwd: Lease"
    text = forward.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert text.startswith("Please book the notary.")
    assert "by 12:00 pm" in text
    assert "Sam Reed is looking after this for me and will be in touch by 12:00 pm" \
        in by_to["margaret@hale.example"].get_content()
    assert state_of(engine, megge) is InquiryState.DELEGATED
    wait_status(qtbot, app, 0)
    qtbot.waitUntil(lambda: "Delegated Megge's message to Sam Reed" in window.message.text(),
                    timeout=5000)


def test_a_client_who_wants_no_assistant_is_not_told_and_escape_cancels(
    qtbot: QtBot, app: HeardApp, engine: Engine, mail: MailFolders
) -> None:
    set_up_assistant(engine)
    margaret = next(c for c in engine.clients.all() if c.name == "Margaret Hale")
    engine.clients.update(dataclasses.replace(
        margaret, preferences={**margaret.preferences, ASSISTANT_PREFERENCE: "no"}))
    megge = waiting_inquiry(engine, mail, MEGGE, "Lease", 4)
    wait_status(qtbot, app, 1)
    window = open_window(qtbot, app)
    qtbot.waitUntil(window.delegate_button.isEnabled, timeout=5000)
    qtbot.keyClick(window.list, Qt.Key.Key_G, CTRL)
    qtbot.waitUntil(lambda: app.actions._delegate_dialog is not None
                    and app.actions._delegate_dialog.isVisible(), timeout=5000)
    dialog = app.actions._delegate_dialog
    assert isinstance(dialog, DelegateDialog)
    assert not dialog.tell.isEnabled() and not dialog.tell.isChecked()
    assert "preference says no assistant" in dialog.tell.toolTip()
    assert dialog.values().tell_client is False

    qtbot.keyClick(dialog.note, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=5000)
    assert app.ops.wait(5000)   # a delegation Escape had started would be done by now
    assert mail.outbox_messages() == []
    assert state_of(engine, megge) is InquiryState.WAITING


def test_a_name_and_subject_from_hostile_mail_are_text_in_the_dialog(
    qtbot: QtBot, engine: Engine
) -> None:
    """Issue 24, 3: the stranger's name of markup with a bidi override, a subject of an
    image tag and 10,000 characters: one line of text each, no tooltip taken for HTML."""
    from heard.config import Assistant
    from tests.support.hostile import SAMPLES, shown_texts

    name = next(s for s in SAMPLES if s.name == "name")
    long = next(s for s in SAMPLES if s.name == "long")
    for subject in (name.subject, long.subject, SAMPLES[1].subject):
        dialog = DelegateDialog("<b>Urgent</b> \u202eKCOLB\u202c Bank", subject,
                                (Assistant("Sam Reed", SAM),), NOW + timedelta(hours=2),
                                engine.settings.zone, tell_client=False,
                                assistant_allowed=False, now=NOW)
        qtbot.addWidget(dialog)
        texts, problems = shown_texts(dialog)
        assert problems == []
        assert any(t.startswith("Hand <b>Urgent</b> KCOLB Bank's message") for t in texts)
        assert "<b>Urgent</b> KCOLB Bank's preference says no assistant: they are not told" \
            in texts   # the tooltip, read as Qt shows it
        assert dialog.tell.text() == "Tell <b>Urgent</b> KCOLB Bank who will help"
        assert dialog.minimumSizeHint().width() < 1024   # an unbreakable word, cut to fit
