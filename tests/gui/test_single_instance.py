"""One Heard per profile: a second start hands over to the first and exits; a CLI command
that changes the store makes the running tray refresh at once."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from heard.system.instance import socket_path, tell_running
from heard.system.paths import Profile
from tests.support.mail import MailFolders, drop, message


def _wait_for(path: Path, text: str, proc: subprocess.Popen[bytes], timeout: float = 30.0
              ) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if path.exists() and text in path.read_text(errors="replace"):
            return
        assert proc.poll() is None, f"heard exited with {proc.returncode}"
        time.sleep(0.05)
    raise AssertionError(f"{text!r} never appeared in {path}:\n"
                         + (path.read_text(errors="replace") if path.exists() else ""))


def test_a_second_start_hands_over_and_commands_refresh_the_running_tray(
        profile: Profile, mail: MailFolders) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    heard = [sys.executable, "-m", "heard", "--profile", str(profile.root)]
    first = subprocess.Popen(heard, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        _wait_for(profile.log, "tray: shown", first)
        assert Path(socket_path(profile)).exists()

        start = time.monotonic()
        second = subprocess.run(heard, env=env, capture_output=True, text=True, timeout=60)
        assert second.returncode == 0
        assert "already running" in second.stderr
        assert time.monotonic() - start < 30
        _wait_for(profile.log, "another start asked for the window", first)
        assert first.poll() is None          # the first one keeps running

        drop(mail.inbox, message("Raj <raj@patel-eng.example>", "Drawings"), datetime.now(UTC))
        synced = subprocess.run([*heard, "sync"], env=env, capture_output=True, text=True,
                                timeout=60)
        assert synced.returncode == 0, synced.stderr
        _wait_for(profile.log, "a command changed the store; refreshing", first)
    finally:
        first.terminate()
        first.wait(30)
    assert first.returncode == 0
    assert not tell_running(profile)         # nobody listens once it quit
