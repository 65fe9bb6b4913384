"""One Heard per profile: a second start hands over to the first and exits; a CLI command
that changes the store makes the running tray refresh at once; a socket that cannot be
listened on is said, and never taken from a Heard that answers on it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PySide6.QtNetwork import QLocalSocket
from pytestqt.qtbot import QtBot

from heard.engine import Engine
from heard.gui.single_instance import Listener, hand_over
from heard.system.instance import REFRESH, socket_path, tell_running
from heard.system.paths import Profile
from tests.support.logfail import ExpectedErrors
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


# the two ends of the socket, in this process


def test_a_started_heard_hears_show_and_refresh_from_the_next(qtbot: QtBot, tmp_path: Path
                                                              ) -> None:
    name = str(tmp_path / "heard.sock")
    listener = Listener(name)
    try:
        assert listener.listen() is None
        with qtbot.waitSignal(listener.show_requested, timeout=5000):
            assert hand_over(name)
        with (qtbot.waitSignal(listener.refresh_requested, timeout=5000),
              socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock):   # as the CLI does
            sock.connect(name)
            sock.sendall(REFRESH)
    finally:
        listener.close()
    assert not hand_over(name)   # nobody listens any more


def test_a_second_listener_is_refused_in_words_and_the_first_keeps_the_socket(
        qtbot: QtBot, tmp_path: Path) -> None:
    name = str(tmp_path / "heard.sock")
    first, second = Listener(name), Listener(name)
    try:
        assert first.listen() is None
        why = second.listen()
        assert why is not None
        assert why.startswith(f"another Heard already listens on {name}")
        with qtbot.waitSignal(first.show_requested, timeout=5000):
            assert hand_over(name)
    finally:
        first.close()
        second.close()


def test_a_socket_left_from_a_crash_is_taken_over(qtbot: QtBot, tmp_path: Path) -> None:
    name = str(tmp_path / "heard.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as crashed:
        crashed.bind(name)   # the file stays; nobody will ever accept on it
    listener = Listener(name)
    try:
        assert listener.listen() is None
        with qtbot.waitSignal(listener.show_requested, timeout=5000):
            assert hand_over(name)
    finally:
        listener.close()


def test_a_socket_that_cannot_be_made_is_said_with_why(qtbot: QtBot, tmp_path: Path) -> None:
    name = str(tmp_path / "no such folder" / "heard.sock")
    listener = Listener(name)
    why = listener.listen()
    assert why is not None
    assert why.startswith(f"cannot listen on {name} (")
    assert "a second start will not find this Heard" in why


def test_the_tray_says_when_it_cannot_listen_and_still_comes_up(
        qtbot: QtBot, engine: Engine, monkeypatch: pytest.MonkeyPatch,
        expected_errors: ExpectedErrors, capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> None:
    import signal

    from heard.gui.launch import run_tray

    monkeypatch.setattr(signal, "signal", lambda *_args: None)   # keep pytest's handlers
    # No private folder for the socket: another user made the one Heard would use.
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    shared = tmp_path / "tmp"
    (shared / f"heard-{os.getuid()}").mkdir(parents=True, mode=0o777)
    os.chown(shared / f"heard-{os.getuid()}", 65534, 65534)
    monkeypatch.setattr(tempfile, "tempdir", str(shared))
    expected_errors.add(r"heard\.gui\.tray: a second start or a command cannot reach this"
                        r" Heard: .* is not yours alone")
    assert run_tray(engine, exit_when_shown=True) == 0
    assert "shown" in capsys.readouterr().out


def test_a_process_of_another_user_is_not_heard(qtbot: QtBot, tmp_path: Path,
                                               expected_errors: ExpectedErrors) -> None:
    """Even where the socket could be reached (its folder and file opened to all here),
    the tray acts only for its own user."""
    import shutil

    folder = Path(tempfile.mkdtemp(prefix="heard-open-", dir="/tmp"))  # not under pytest's
    folder.chmod(0o755)                                               # private folder
    name = str(folder / "heard.sock")
    listener = Listener(name)
    try:
        assert listener.listen() is None
        Path(name).chmod(0o777)
        shown: list[bool] = []
        listener.show_requested.connect(lambda: shown.append(True))
        stranger = subprocess.run(
            ["/usr/bin/python3", "-c", "import socket, sys\n"
             "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
             "s.connect(sys.argv[1]); s.sendall(b'show\\n'); print('sent')", name],
            user=65534, capture_output=True, text=True, timeout=30, check=False)
        assert stranger.stdout.strip() == "sent", stranger.stderr
        qtbot.waitUntil(lambda: not listener.findChildren(QLocalSocket), timeout=5000)
        with qtbot.waitSignal(listener.show_requested, timeout=5000):   # the user's own
            assert hand_over(name)
        assert shown == [True]                    # the stranger's "show" did nothing
    finally:
        listener.close()
        shutil.rmtree(folder, ignore_errors=True)


def test_the_connections_of_commands_are_let_go(qtbot: QtBot, tmp_path: Path) -> None:
    """Every command that changes the store tells the running tray; weeks of them must not
    leave a socket each behind in it."""
    from PySide6.QtCore import QCoreApplication, QEvent
    from PySide6.QtNetwork import QLocalSocket

    name = str(tmp_path / "heard.sock")
    listener = Listener(name)
    try:
        assert listener.listen() is None
        for _n in range(5):
            with (qtbot.waitSignal(listener.refresh_requested, timeout=5000),
                  socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock):
                sock.connect(name)
                sock.sendall(REFRESH)

        def let_go() -> bool:
            QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
            return not listener.findChildren(QLocalSocket)

        qtbot.waitUntil(let_go, timeout=5000)
        with qtbot.waitSignal(listener.show_requested, timeout=5000):
            assert hand_over(name)   # and it still hears the next one
    finally:
        listener.close()
