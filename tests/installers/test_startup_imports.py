"""The heavy imports (CalDAV, lxml, the HTTP library, the keyring) stay off the path to the
tray icon in the venv install. (The bundle's twin is in test_sni.py; the in-process check
is the self-test's "startup imports" line.) No root needed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.desktop import DesktopSession

#: Top-level modules only a mail or calendar account needs: the network and keyring stack.
#: (A local calendar and clients' phone numbers are read at start, for the badge and the
#: busy state, so icalendar, recurring_ical_events and phonenumbers may load.)
HEAVY = {"caldav", "lxml", "niquests", "urllib3", "qh3", "jh2", "imapclient", "keyring",
         "secretstorage", "cryptography"}


def test_venv_tray_start_imports_no_account_libraries(
        desktop_session: DesktopSession, tmp_path: Path) -> None:
    """The venv install, started for real to its tray icon, loads none of the libraries
    only an account needs (the bundle's twin of this is in test_sni.py)."""
    profile = tmp_path / "demo"
    made = subprocess.run([sys.executable, "-m", "heard", "demo", "--profile", str(profile),
                           "--no-generator", "--exit-when-shown"],
                          env=desktop_session.env, capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    r = subprocess.run([sys.executable, "-X", "importtime", "-m", "heard", "--profile",
                        str(profile), "--exit-when-shown"], env=desktop_session.env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.startswith("shown "), r.stdout + r.stderr[-2000:]
    imported = {line.rsplit("|", 1)[-1].strip().split(".")[0]
                for line in r.stderr.splitlines() if line.startswith("import time:")}
    assert not imported & HEAVY, sorted(imported & HEAVY)
