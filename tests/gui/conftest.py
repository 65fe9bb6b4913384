"""Fixtures of the widget tests (offscreen, pytest-qt): the tray app on the test's engine, a
profile with no settings yet (`fresh`), and a Dovecot user whose password no file could hold
by chance."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from heard.engine import Engine
from heard.gui.tray import HeardApp
from heard.system import log as heard_log
from heard.system.paths import Profile
from tests.support.dovecot import Dovecot, MailUser
from tests.support.gui import PASSWORD, drop_log_handlers


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Engine]:
    """A profile with no settings file yet, logging into its heard.log like `heard`."""
    profile = Profile(tmp_path / "profile")
    engine = Engine.open(profile)
    assert not profile.config.exists()
    heard_log.setup(profile.log, verbose=True)
    yield engine
    drop_log_handlers()
    engine.close()


@pytest.fixture(scope="module")
def secret_user() -> Iterator[MailUser]:
    """A Dovecot of this module whose user has PASSWORD (so a scan for it means something)."""
    server = Dovecot()
    user = server.add_user()
    users = server.dir / "users"
    users.write_text(users.read_text().replace(f"{user.name}:{{PLAIN}}secret:",
                                               f"{user.name}:{{PLAIN}}{PASSWORD}:"))
    server.start()
    yield MailUser(user.name, PASSWORD, server)
    server.close()


@pytest.fixture
def app(qtbot: QtBot, engine: Engine) -> Iterator[HeardApp]:
    heard = HeardApp(engine, tray_available=True)
    qtbot.addWidget(heard.window)
    with qtbot.waitSignal(heard.status_applied, timeout=5000):
        heard.start()
    yield heard
    heard.dispose()
