"""Logging a call by hand from the tray menu (heard.gui.log_call): who called and what about,
waiting like mail."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from heard.engine import Engine
from heard.gui.log_call import LogCallDialog
from heard.gui.tray import HeardApp
from tests.support.gui import wait_status


def test_a_call_logged_from_the_tray_menu_waits_like_mail(
    qtbot: QtBot, app: HeardApp, engine: Engine
) -> None:
    sofia = next(c for c in engine.clients.all() if c.name == "Sofia Lindqvist")
    assert sofia.id is not None
    engine.clients.update(sofia.__class__(**{**sofia.__dict__, "phones": ("+46 8 123 456 78",)}))
    app.log_call()
    dialog = app.actions._call_dialog
    assert dialog is not None
    qtbot.keyClicks(dialog.who, "+46 8 123 456 78")  # type: ignore[attr-defined]
    qtbot.keyClicks(dialog.note, "about the contract")  # type: ignore[attr-defined]
    qtbot.mouseClick(dialog.ok, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    status = wait_status(qtbot, app, 1)
    (item,) = status.waiting
    assert item.client.name == "Sofia Lindqvist" and item.inquiry.channel.value == "call"
    assert item.inquiry.subject == "Call from Sofia Lindqvist"
    assert item.inquiry.preview == "about the contract"


def test_an_unknown_caller_becomes_a_prospect_and_a_refusal_keeps_the_note(
    qtbot: QtBot, app: HeardApp, engine: Engine
) -> None:
    # README: an unknown caller is a prospect. The dialog stays open until the call is
    # logged, so a refusal is said in it and what was typed is still there.
    app.log_call()
    dialog = app.actions._call_dialog
    assert isinstance(dialog, LogCallDialog)
    qtbot.keyClicks(dialog.who, "nobody by this name")
    qtbot.keyClicks(dialog.note, "wants a quote for the roof")
    qtbot.mouseClick(dialog.ok, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.problem.isVisible())
    assert dialog.isVisible()
    assert "no client matches" in dialog.problem.text()
    assert "`" not in dialog.problem.text()
    assert dialog.note.text() == "wants a quote for the roof"
    # All of the reason is shown: the dialog grew to the wrapped words.
    qtbot.waitUntil(lambda: dialog.problem.height()
                    >= dialog.problem.heightForWidth(dialog.problem.width()))

    dialog.who.setText("+49 30 9876543")
    qtbot.keyClick(dialog.who, Qt.Key.Key_Return)
    status = wait_status(qtbot, app, 1)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    (item,) = status.waiting
    assert item.client.prospect and item.client.tier == "prospect"
    assert item.client.phones == ("+49309876543",)
    assert item.inquiry.channel.value == "call" and item.inquiry.sender == "+49309876543"
    assert item.inquiry.preview == "wants a quote for the roof"
