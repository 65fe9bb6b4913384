"""Logging a call by hand from the tray menu (heard.gui.log_call): who called and what about,
waiting like mail."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from heard.engine import Engine
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
    dialog.accept()  # type: ignore[attr-defined]
    status = wait_status(qtbot, app, 1)
    (item,) = status.waiting
    assert item.client.name == "Sofia Lindqvist" and item.inquiry.channel.value == "call"
    assert item.inquiry.subject == "Call from Sofia Lindqvist"
    assert item.inquiry.preview == "about the contract"
