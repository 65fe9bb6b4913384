"""One Heard per profile: the running tray listens on a local socket; a second `heard`
asks it to show its window, and CLI commands that change something tell it to refresh at
once (instead of at its next tick). Qt-free, so the CLI stays fast."""

from __future__ import annotations

import hashlib
import os
import socket
import tempfile
from pathlib import Path

from heard.system.paths import Profile

SHOW = b"show\n"
REFRESH = b"refresh\n"


def socket_path(profile: Profile) -> str:
    """A per-user, per-profile socket: in $XDG_RUNTIME_DIR (private to the user) when
    there is one, else in the temporary folder with the user id in the name."""
    digest = hashlib.sha256(str(profile.root).encode()).hexdigest()[:16]
    uid = os.getuid() if hasattr(os, "getuid") else 0
    folder = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    return str(Path(folder) / f"heard-{uid}-{digest}.sock")


def tell_running(profile: Profile, message: bytes = REFRESH, timeout: float = 0.3) -> bool:
    """Send a message to the tray running on this profile; False when none runs."""
    if not hasattr(socket, "AF_UNIX"):
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(socket_path(profile))
            sock.sendall(message)
    except OSError:
        return False
    return True
