"""Tests of the desktop harness itself (tests/support/desktop.py). They need the Debian packages
listed in that module's docstring; none of them is skipped."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.support.desktop import DesktopSession, DesktopSessionError, crop, png_size

TRAY_PROBE = textwrap.dedent(
    """
    import sys
    from PySide6.QtWidgets import QApplication, QSystemTrayIcon
    app = QApplication(sys.argv[:1])
    print(app.platformName(), QSystemTrayIcon.isSystemTrayAvailable())
    """
)


def _wait_for(predicate: object, timeout: float = 10.0) -> bool:
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


def test_env_points_at_private_session(desktop_session: DesktopSession) -> None:
    env = desktop_session.env
    assert env["DISPLAY"] == desktop_session.display
    assert env["DISPLAY"].startswith(":")
    assert env["DBUS_SESSION_BUS_ADDRESS"] == desktop_session.bus_address
    assert env["DBUS_SESSION_BUS_ADDRESS"] != os.environ.get("DBUS_SESSION_BUS_ADDRESS")
    assert Path(env["XDG_RUNTIME_DIR"]).is_dir()
    assert "QT_QPA_PLATFORM" not in env
    assert set(desktop_session.vars) == {
        "DISPLAY", "DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR",
    }
    for pid in desktop_session.pids:
        assert Path(f"/proc/{pid}").exists()
    assert desktop_session.bus_name_has_owner("org.freedesktop.Notifications")


def test_qt_sees_a_system_tray(desktop_session: DesktopSession) -> None:
    r = desktop_session.run([sys.executable, "-c", TRAY_PROBE], timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["xcb", "True"], r.stdout + r.stderr
    assert desktop_session.tray_owner() != 0


def test_notification_reaches_dunst(desktop_session: DesktopSession) -> None:
    before = desktop_session.notifications_received()
    r = desktop_session.run(
        ["notify-send", "--app-name=heard-harness", "Harness check", "hello from the test"],
        timeout=30,
    )
    assert r.returncode == 0, r.stderr
    assert _wait_for(lambda: desktop_session.notifications_received() > before), (
        desktop_session.notification_counts()
    )


def test_screenshot_is_png_of_screen_size(
    desktop_session: DesktopSession, tmp_path: Path
) -> None:
    shot = desktop_session.screenshot(tmp_path / "shots" / "root.png")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png_size(shot) == (desktop_session.width, desktop_session.height) == (1024, 768)
    zoomed = crop(shot, 984, 0, 40, 32, tmp_path / "tray.png", zoom=4)
    assert png_size(zoomed) == (160, 128)


def test_bare_tray_icon_gets_embedded(desktop_session: DesktopSession) -> None:
    floor = Path(__file__).resolve().parents[2] / "benchmarks" / "bare_tray.py"
    r = desktop_session.run(
        [sys.executable, str(floor), "--exit-when-shown", "--timeout", "30"], timeout=60
    )
    assert r.returncode == 0, r.stderr
    word, seconds, cpu_word, cpu = r.stdout.split()
    assert (word, cpu_word) == ("shown", "cpu")
    assert 0 < float(seconds) < 30
    assert 0 < float(cpu) < 30


def test_separate_session_starts_and_cleans_up() -> None:
    """A second, independent session (tray=none, other size) next to the fixture's one."""
    with DesktopSession(tray="none", size="640x480") as desk:
        pids = desk.pids
        tmp = Path(desk.runtime_dir).parent
        assert tmp.is_dir()
        assert desk.tray_owner() == 0
        assert desk.notifications_received() == 0
    for pid in pids:
        assert _wait_for(lambda p=pid: not _alive(p), timeout=5), f"pid {pid} survived"
    assert not tmp.exists()


def test_cli_runs_a_command_and_returns_its_code(tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[2]
    r = subprocess.run(
        [sys.executable, "-m", "tests.support.desktop", "--tray", "none",
         "--screenshot", str(tmp_path / "cli.png"), "--",
         "sh", "-c", 'test -n "$DISPLAY" && test -n "$DBUS_SESSION_BUS_ADDRESS" && exit 7'],
        cwd=repo, capture_output=True, text=True, timeout=120,
    )
    assert r.returncode == 7, r.stderr
    assert png_size(tmp_path / "cli.png") == (1024, 768)


def test_unknown_tray_kind_is_rejected() -> None:
    with pytest.raises(ValueError, match="tray must be one of"):
        DesktopSession(tray="kde")


def test_missing_tool_gives_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(DesktopSessionError, match=r"apt-get install"), DesktopSession():
        pass


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"
