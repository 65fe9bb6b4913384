"""Start at login: an XDG autostart entry (Linux and other freedesktop systems).

Windows and macOS installers register start at login themselves (see installers/);
there `is_enabled()` is False and `apply()` does nothing.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path

ENTRY = """[Desktop Entry]
Type=Application
Name=Heard
Comment=Acknowledge every client within minutes, even on a day full of meetings
Exec={command}
Icon=heard
Terminal=false
X-GNOME-Autostart-enabled=true
"""


def entry_path() -> Path | None:
    if sys.platform in ("win32", "darwin"):
        return None
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "autostart" / "heard.desktop"


def command() -> str:
    """How this Heard is started again: the bundle's executable, `heard` on PATH, or the
    interpreter with -m heard (a development checkout)."""
    if getattr(sys, "frozen", False):
        return shlex.quote(sys.executable)
    found = shutil.which("heard")
    if found:
        return shlex.quote(found)
    return f"{shlex.quote(sys.executable)} -m heard"


def is_enabled() -> bool:
    path = entry_path()
    return path is not None and path.exists()


def apply(enabled: bool) -> bool:
    """Make the entry match the setting; True if something changed."""
    path = entry_path()
    if path is None or enabled == path.exists():
        return False
    if enabled:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(ENTRY.format(command=command()), encoding="utf-8")
        tmp.replace(path)
    else:
        path.unlink(missing_ok=True)
    return True
