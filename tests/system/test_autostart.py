"""Start at login (heard.system.autostart): the XDG autostart entry follows the setting."""

from __future__ import annotations

import os

from heard import config
from heard.config import ConfigFile
from heard.engine import Engine
from heard.system import autostart


def test_start_at_login_follows_the_setting(engine: Engine) -> None:
    entry = autostart.entry_path()
    assert entry is not None and str(entry).startswith(os.environ["XDG_CONFIG_HOME"])
    assert not entry.exists()
    ConfigFile(engine.profile.config).set("desktop", "start_at_login", True)
    assert engine.reload_settings()
    text = entry.read_text()
    assert "Exec=" in text and "heard" in text and "Type=Application" in text
    ConfigFile(engine.profile.config).set("desktop", "start_at_login", False)
    engine.settings = config.load(engine.profile.config)
    assert autostart.apply(False)
    assert not entry.exists()
