"""New people in the quick-reply window: Client, Prospect, Not a client, and Undo."""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from heard.engine import Engine
from heard.gui.tray import HeardApp, tooltip_text
from tests.conftest import NOW
from tests.gui.test_tray_app import app, wait_status  # noqa: F401  (the app fixture)
from tests.support.mail import MailFolders, drop, message

JANE = "Jane Roe <jane@roe-bakery.example>"


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


def test_a_new_person_is_shown_as_new_and_becomes_a_client_then_undo(
    qtbot: QtBot, app: HeardApp, engine: Engine, mail: MailFolders  # noqa: F811
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
    qtbot: QtBot, app: HeardApp, engine: Engine, mail: MailFolders  # noqa: F811
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
    qtbot: QtBot, app: HeardApp, engine: Engine, mail: MailFolders  # noqa: F811
) -> None:
    drop(mail.inbox, message("Margaret Hale <margaret@hale.example>", "Closing"),
         NOW - timedelta(minutes=2))
    engine.sync()
    wait_status(qtbot, app, 1)
    app.open_window()
    select(qtbot, app, "Megge")
    assert not app.window.client_button.isEnabled()
    assert not app.window.not_client_button.isEnabled()


def test_a_call_logged_from_the_tray_menu_waits_like_mail(
    qtbot: QtBot, app: HeardApp, engine: Engine  # noqa: F811
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
    assert item.inquiry.subject == "Call from Sofia Lindqvist: about the contract"


def test_prospects_can_be_counted_apart_in_the_tooltip(
    qtbot: QtBot, app: HeardApp, engine: Engine, mail: MailFolders  # noqa: F811
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


def test_a_toast_names_a_new_person_and_how_they_came(
    qtbot: QtBot, app: HeardApp, engine: Engine, mail: MailFolders  # noqa: F811
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
