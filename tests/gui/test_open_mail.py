"""Open in mail (heard.gui.open_mail): Ctrl+O in the quick-reply window opens the selected
client's message by its Message-ID, through the desktop's handler of mid: URLs (here one
registered in-process with QDesktopServices.setUrlHandler) or a mail program started with
the URL as one argument (a stand-in `thunderbird` on PATH that writes down its arguments)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from pytestqt.qtbot import QtBot

from heard.config.load import settings_from
from heard.domain.mail_links import CannotOpen
from heard.engine import Engine
from heard.gui.open_mail import open_message, place_for
from heard.gui.tray import HeardApp
from tests.support.gui import CTRL, open_window, wait_status, waiting_inquiry
from tests.support.mail import MEGGE, MailFolders


class Handler(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    @Slot(QUrl)
    def handle(self, url: QUrl) -> None:
        self.urls.append(url.toString(QUrl.ComponentFormattingOption.FullyEncoded))


@pytest.fixture
def mid_handler() -> object:
    handler = Handler()
    QDesktopServices.setUrlHandler("mid", handler, "handle")
    yield handler
    QDesktopServices.unsetUrlHandler("mid")


def test_ctrl_o_opens_the_selected_message_by_its_message_id(
        qtbot: QtBot, app: HeardApp, engine: Engine, mail: MailFolders,
        mid_handler: Handler) -> None:
    inquiry_id = waiting_inquiry(engine, mail, MEGGE, "Lease", 4)
    inquiry = engine.store.inquiry(inquiry_id)
    assert inquiry is not None and inquiry.message_id
    wait_status(qtbot, app, 1)
    window = open_window(qtbot, app)
    assert window.open_button.isEnabled()
    qtbot.keyClick(window.list, Qt.Key.Key_O, CTRL)
    qtbot.waitUntil(lambda: bool(mid_handler.urls), timeout=5000)
    assert mid_handler.urls == ["mid:" + inquiry.message_id.strip("<>")]
    assert window.message.text() == "Opened the message in your mail program."


def test_a_mail_program_gets_the_link_as_one_argument(tmp_path: Path, qtbot: QtBot,
                                                      monkeypatch: pytest.MonkeyPatch
                                                      ) -> None:
    said = tmp_path / "argv.txt"
    program = tmp_path / "bin" / "thunderbird"
    program.parent.mkdir()
    program.write_text(f'#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done > {said}\n')
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{program.parent}{os.pathsep}{os.environ['PATH']}")
    settings = settings_from({"open": {"app": "thunderbird"}, "accounts": [
        {"name": "work", "kind": "imap", "host": "imap.firm.example", "username": "alex"}]},
        tmp_path / "heard.toml")
    assert open_message(settings, "<a;$(touch${IFS}x)`y`@x>", "work") == "in Thunderbird"
    qtbot.waitUntil(said.exists, timeout=5000)
    qtbot.waitUntil(lambda: said.read_text().endswith("\n"), timeout=5000)
    assert said.read_text() == "mid:a;$(touch$%7BIFS%7Dx)%60y%60@x\n"
    assert not (tmp_path / "x").exists()


def test_where_a_message_is_comes_from_its_account(tmp_path: Path) -> None:
    settings = settings_from({"accounts": [
        {"name": "work", "kind": "imap", "host": "imap.gmail.com", "username": "a@gmail.com",
         "folders": ["Clients", "INBOX"]},
        {"name": "local", "kind": "maildir", "inbox": str(tmp_path / "in")}]},
        tmp_path / "heard.toml")
    work = place_for(settings, "<m@x>", "work")
    assert (work.host, work.username, work.folder) == ("imap.gmail.com", "a@gmail.com",
                                                       "Clients")
    assert place_for(settings, "<m@x>", "local").maildir == tmp_path / "in"
    with pytest.raises(CannotOpen):
        open_message(settings, "<not an id>", "work")


def test_a_toast_s_open_in_mail_opens_the_client_s_message(
        qtbot: QtBot, app: HeardApp, engine: Engine, mail: MailFolders,
        mid_handler: Handler) -> None:
    from heard.gui.toaster import ToastRef

    inquiry_id = waiting_inquiry(engine, mail, MEGGE, "Lease", 4)
    inquiry = engine.store.inquiry(inquiry_id)
    assert inquiry is not None
    wait_status(qtbot, app, 1)
    app.actions.toast_action(ToastRef(inquiry_id, (inquiry_id,)), "mail")
    qtbot.waitUntil(lambda: bool(mid_handler.urls), timeout=5000)
    assert mid_handler.urls == ["mid:" + inquiry.message_id.strip("<>")]
