"""Starting the desktop app (heard.gui.launch): `heard` shows the set-up wizard only where a
profile has no settings yet, never in the demo; the tray follows the wizard even when the
wizard is left."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from heard import launcher
from heard.engine import Engine
from heard.gui.first_run import FirstRunWizard
from heard.gui.launch import run_tray
from heard.system.paths import Profile
from tests.support.gui import (
    drop_log_handlers,
)


def test_heard_shows_the_wizard_only_when_there_are_no_settings_and_never_in_the_demo(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    calls: list[dict[str, Any]] = []

    def fake_run_tray(engine: Engine, **kwargs: Any) -> int:
        calls.append(kwargs)
        return 0

    import heard.gui.launch

    monkeypatch.setattr(heard.gui.launch, "run_tray", fake_run_tray)
    request.addfinalizer(drop_log_handlers)      # the launcher sets up logging
    profile = tmp_path / "profile"
    assert launcher.main(["--profile", str(profile)]) == 0
    assert calls.pop()["first_run"] is True
    assert launcher.main(["--profile", str(profile), "--exit-when-shown"]) == 0   # measuring
    assert calls.pop()["first_run"] is False
    Profile(profile).config.write_text("[user]\nname = \"Alex\"\n")
    assert launcher.main(["--profile", str(profile)]) == 0
    assert calls.pop()["first_run"] is False
    assert launcher.main(["demo", "--profile", str(tmp_path / "demo"), "--no-generator"]) == 0
    assert not calls.pop().get("first_run")


def test_the_tray_follows_the_wizard_even_when_it_is_left(
        qtbot: QtBot, fresh: Engine, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import signal

    monkeypatch.setattr(signal, "signal", lambda *_args: None)   # keep pytest's handlers
    seen: list[str] = []

    def leave() -> None:
        wizard = QApplication.activeModalWidget()
        if not isinstance(wizard, FirstRunWizard):
            QTimer.singleShot(20, leave)
            return
        seen.append(wizard.currentPage().title())
        wizard.reject()

    QTimer.singleShot(20, leave)
    assert run_tray(fresh, exit_when_shown=True, first_run=True) == 0
    assert seen == ["Welcome to Heard"]
    assert "shown" in capsys.readouterr().out           # the tray came up after it
    assert not fresh.profile.config.exists()            # nothing written: asked again later


def test_without_a_display_the_desktop_app_says_so_instead_of_qts_advice(
        tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    for command in (["demo", "--no-generator"], ["--profile", str(tmp_path / "p")]):
        done = subprocess.run([sys.executable, "-m", "heard", *command], env=env,
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 1, done.stderr
        assert done.stderr.startswith("heard: there is no display here"), done.stderr
        assert "xcb" not in done.stderr
    assert not (tmp_path / "p").exists()


def test_the_demos_temporary_profile_is_removed_when_it_ends_a_named_one_kept(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    roots: list[Path] = []

    def fake_run_tray(engine: Engine, **_kwargs: Any) -> int:
        roots.append(engine.profile.root)
        assert (engine.profile.root / "heard.toml").is_file()
        return 0

    import heard.gui.launch

    monkeypatch.setattr(heard.gui.launch, "run_tray", fake_run_tray)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)   # read TMPDIR again
    request.addfinalizer(drop_log_handlers)
    assert launcher.main(["demo", "--no-generator"]) == 0
    (temporary,) = roots
    assert temporary.parent == tmp_path
    assert not temporary.exists()
    named = tmp_path / "mine"
    assert launcher.main(["demo", "--no-generator", "--profile", str(named)]) == 0
    assert roots[-1] == named and (named / "heard.toml").is_file()


def test_sigterm_quits_the_tray_through_the_wakeup_socket_with_no_polling_timer(
        tmp_path: Path) -> None:
    """Qt's loop sleeps in C++ with no timer to let Python in (idle-wakeups): SIGTERM from a
    session manager reaches the tray through signal.set_wakeup_fd and a socket notifier,
    and the tray quits cleanly."""
    import signal
    import time

    profile = tmp_path / "profile"
    Profile(profile).create()
    Profile(profile).config.write_text("[user]\nname = \"Alex\"\n")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HEARD_PROFILE": str(profile)}
    proc = subprocess.Popen([sys.executable, "-m", "heard", "--profile", str(profile)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    log = Profile(profile).log
    try:
        deadline = time.monotonic() + 60
        while not (log.exists() and "tray: shown" in log.read_text()):
            assert proc.poll() is None and time.monotonic() < deadline, "the tray never came up"
            time.sleep(0.1)
        # Asleep: the start-up's work done, the process uses no more CPU (while Python
        # still runs now and then, any handler would run without the wakeup socket).
        used = -1
        while used != (used := _cpu_ticks(proc.pid)):
            assert time.monotonic() < deadline, "the tray never went to sleep"
            time.sleep(1)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0   # without the wakeup socket it never wakes
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "Traceback" not in (proc.stderr.read().decode() if proc.stderr else "")
    assert "signal SIGTERM woke the tray" in log.read_text()



def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])
