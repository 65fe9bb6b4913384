"""`heard demo` on a real X server with a real tray host (trayer) and notification daemon.

The screenshot is kept in artifacts/ (or $HEARD_ARTIFACTS) for a person to look at.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from PySide6.QtGui import QImage

from tests.support.desktop import DesktopSession
from tests.support.gui import share

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("HEARD_ARTIFACTS", ROOT / "artifacts"))
SHOWN = re.compile(r"tray: shown with count (\d+) at (-?\d+),(-?\d+) size (\d+)x(\d+)")


def wait_for_line(path: Path, pattern: re.Pattern[str], proc: subprocess.Popen[bytes],
                  timeout: float = 30.0) -> re.Match[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and (found := pattern.search(path.read_text(errors="replace"))):
            return found
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise AssertionError(f"no {pattern.pattern!r} in {path}; exit {proc.poll()}; log:\n"
                         + (path.read_text(errors="replace") if path.exists() else "(none)"))


def test_heard_demo_shows_its_badge_in_a_real_tray(
    desktop_session: DesktopSession, tmp_path: Path
) -> None:
    profile = tmp_path / "demo"
    env = {**desktop_session.env, "HEARD_PROFILE": str(profile)}
    proc = subprocess.Popen([sys.executable, "-m", "heard", "demo", "--profile", str(profile)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        shown = wait_for_line(profile / "heard.log", SHOWN, proc)
        count, x, y, w, h = (int(g) for g in shown.groups())
        # The XEmbed tray reports where it put the icon: on screen, in the panel.
        assert w > 0 and h > 0
        assert 0 <= x < desktop_session.width and 0 <= y < 40
        status = json.loads(subprocess.run(
            [sys.executable, "-m", "heard", "--profile", str(profile), "status", "--json"],
            env=env, capture_output=True, check=True, text=True).stdout)
        assert count == status["count"] == 4  # the demo seeds three clients and a prospect
        time.sleep(0.5)  # let the tray repaint after embedding
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = desktop_session.screenshot(ARTIFACTS / "demo-tray.png")
        image = QImage(str(shot)).copy(x, y, w, h)
        assert not image.isNull()
        # Heard's mark (dark blue) and a coloured badge are both in the tray slot.
        assert share(image, "#1d4e89", tolerance=40) > 0.05
        badge_colours = ("#2e7d32", "#f9a825", "#c62828")
        assert max(share(image, c, tolerance=40) for c in badge_colours) > 0.03
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, proc.stdout.read().decode() if proc.stdout else ""
