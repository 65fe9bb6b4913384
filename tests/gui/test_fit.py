"""Every window and dialog fits a 1024x768 screen (heard.gui.fit): opened the way the app
opens them, on a real X server with a window manager (tests/support/fit_check.py), every
button lies inside the screen's available area, no header or label is cut, no placeholder
elided."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.desktop import DesktopSession

ROOT = Path(__file__).resolve().parents[2]
WINDOWS = {"settings/general", "settings/accounts", "settings/standards", "settings/hours",
           "settings/templates", "settings/assistants", "settings/notifications",
           "settings/absence", "settings/clients", *(f"wizard/{page}" for page in range(7)),
           "log call",
           "devices/invite", "devices/join",
           "delegate", "nudge", "statistics", "client", "account/mail", "account/calendar"}


@pytest.mark.parametrize("size", ["1024x768", "1280x800"])
def test_every_window_and_dialog_fits_the_screen(size: str) -> None:
    with DesktopSession(size=size) as desk:
        env = {**desk.env, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
               "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        env.pop("QT_QPA_PLATFORM", None)   # the suite's offscreen is no screen to fit
        done = subprocess.run([sys.executable, "-m", "tests.support.fit_check"], env=env,
                              cwd=ROOT, capture_output=True, text=True, timeout=300,
                              check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout[done.stdout.index("{"):])
    width, height = (int(v) for v in size.split("x"))
    assert report["screen"][2:] == [width, height]
    assert set(report["windows"]) == WINDOWS
    problems = {name: window["problems"] for name, window in report["windows"].items()
                if window["problems"]}
    assert problems == {}
