"""Reply templates in the settings window (heard.gui.settings_templates): the live preview."""

from __future__ import annotations

from datetime import timedelta

from pytestqt.qtbot import QtBot

from heard.engine import Engine
from heard.gui.ops import Ops
from heard.gui.settings_window import SettingsWindow
from tests.conftest import NOW
from tests.support.gui import window_for
from tests.support.mail import MailFolders, drop, message


def test_the_template_preview_follows_every_keystroke(
        qtbot: QtBot, engine: Engine, mail: MailFolders) -> None:
    window = window_for(qtbot, engine)
    page = window.templates
    page.select("acknowledge")
    preview = page.preview.toPlainText()
    assert "Hi Megge," in preview and "12:30 pm" in preview and "Alex Morgan" in preview
    page.body.setPlainText("Hello {client.full_name}, busy until {busy_until}.")
    assert page.preview.toPlainText().endswith("Hello Margaret Hale, busy until 11:00 am.")
    window.user_name.setText("A. Morgan")
    page.body.setPlainText("Regards, {user.name}")
    assert page.preview.toPlainText().endswith("Regards, A. Morgan")
    page.body.setPlainText("Hi {client.nmae}")
    assert "unknown placeholder {client.nmae}" in page.problem.text()
    assert "no preview" in page.preview.toPlainText()

    # With a client who is really waiting: the values the engine would send now.
    drop(mail.inbox, message("Rajesh Patel <raj@patel-eng.example>", "Drawings for site B"),
         NOW - timedelta(minutes=3))
    engine.sync()
    ops = Ops()
    real = SettingsWindow(engine, ops, status=engine.status())
    ops.setParent(real)
    qtbot.addWidget(real)
    real.templates.select("acknowledge")
    real.templates.preview_for.setCurrentIndex(1)
    shown = real.templates.preview.toPlainText()
    assert shown.startswith("Subject: Re: Drawings for site B")
    assert "Hi Rajesh," in shown
    expected = engine.replies.acknowledge(
        engine.status().waiting[0].inquiry.id, "acknowledge", dry_run=True)
    assert expected.body in shown                       # exactly what would be sent
