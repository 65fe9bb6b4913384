"""The Statistics window draws what the engine measured (offscreen, real store)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog
from pytestqt.qtbot import QtBot

from heard.config import ConfigFile
from heard.domain.clock import FixedClock
from heard.engine import Engine
from heard.gui.stats_window import AXIS, GOOD, INK, LATE, stats_for_window
from heard.gui.tray import HeardApp
from tests.conftest import NOW
from tests.support.gui import share
from tests.support.hostile import FORBIDDEN, feed, shown_texts
from tests.support.mail import MailFolders, drop, message


def test_the_window_shows_this_weeks_goal_and_draws_in_time_and_late_bars(
    qtbot: QtBot, app: HeardApp, engine: Engine, mail: MailFolders,
    clock: FixedClock
) -> None:
    drop(mail.inbox, message("Margaret Hale <margaret@hale.example>", "Closing",
                             message_id="<m1@hale.example>"), NOW - timedelta(minutes=50))
    drop(mail.inbox, message("Rajesh Patel <raj@patel-eng.example>", "Drawings",
                             message_id="<r1@patel-eng.example>"), NOW - timedelta(minutes=50))
    clock.set(NOW - timedelta(minutes=45))
    engine.sync()
    megge = next(i for i in engine.status().waiting if i.client.preferred_name == "Megge")
    assert megge.inquiry.id is not None
    engine.replies.acknowledge(megge.inquiry.id)            # 5 minutes: within her 10
    clock.set(NOW)                                   # Raj is still waiting after 50 > 30

    text, weeks, goal, waits = stats_for_window(engine)
    assert text.startswith("Acknowledged: this week 50% within")
    assert weeks[-1] == ("2026-W48", 0.5) and goal == 0.9
    assert waits == [(timedelta(minutes=5), timedelta(minutes=10))]

    app.open_stats()
    window = app._stats_window
    assert window is not None
    qtbot.waitUntil(lambda: window.summary.text().startswith("Acknowledged"), timeout=5000)
    window.resize(600, 400)
    trend = window.trend.grab().toImage()
    assert share(trend, LATE) > 0.01                 # this week's bar is under the goal
    waits_image = window.waits.grab().toImage()
    assert share(waits_image, GOOD) > 0.01           # the one wait was within the standard
    # The charts say what their heights mean: percent (and the goal), and counts.
    assert [text for _at, text in window.trend.ticks()] == ["0%", "50%", "90%", "100%"]
    assert [text for _at, text in window.waits.ticks()] == ["0", "1", "2"]
    assert share(trend.copy(0, 0, AXIS - 4, trend.height()), INK, 60) > 0.005
    assert share(waits_image.copy(0, 0, AXIS - 4, waits_image.height()), INK, 60) > 0.005

    # Esc closes it.
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5000)


def test_hostile_mail_is_text_in_the_window_and_its_exported_summary(
        qtbot: QtBot, app: HeardApp, engine: Engine, mail: MailFolders, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 24, 3: with the hostile corpus measured, the window shows plain text only, and
    the summary it exports holds the user's name (and nothing of mail) as text."""
    feed(mail.inbox, NOW)
    engine.sync()
    ConfigFile(engine.profile.config).set("user", "name", '<img src="x.png">Alex\u202eM')
    engine.reload_settings()
    app.open_stats()
    window = app._stats_window
    assert window is not None
    qtbot.waitUntil(lambda: window.summary.text() != "Loading…", timeout=5000)
    assert window.summary.textFormat() == Qt.TextFormat.PlainText
    assert shown_texts(window)[1] == []
    page = tmp_path / "week.html"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *_args, **_kw: (str(page), "Web page (*.html)"))
    window.export_requested.emit()
    qtbot.waitUntil(page.exists, timeout=5000)
    html = page.read_text(encoding="utf-8")
    assert "<p>&lt;img src=&quot;x.png&quot;&gt;AlexM</p>" in html
    assert "<img" not in html and not [c for c in FORBIDDEN if c in html]
    window.close()


def test_automatic_replies_and_follow_ups_are_said_apart(
        engine: Engine, mail: MailFolders, clock: FixedClock) -> None:
    text, _weeks, _goal, _waits = stats_for_window(engine)
    assert "Automatic replies" not in text and "Follow-ups" not in text
    engine.absences.add(NOW, NOW + timedelta(days=2), deputy="Jordan")
    drop(mail.inbox, message("Megge <margaret@hale.example>", "Lease", at=NOW), NOW)
    engine.sync()                               # the absence reply goes out
    engine.follow_ups.set("Rajesh", NOW + timedelta(days=1))
    clock.advance(timedelta(minutes=1))
    text, _weeks, _goal, _waits = stats_for_window(engine)
    assert "Automatic replies (not yours), 12 weeks: 0 in meetings, 1 while away" in text
    assert "Follow-ups, 12 weeks: 1 set, 0 answered before due, 0 came due" in text
