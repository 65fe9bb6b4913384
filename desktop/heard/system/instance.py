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


class NoPrivateFolder(OSError):
    """No folder only this user can enter, to put the socket in."""


def socket_path(profile: Profile) -> str:
    """A per-user, per-profile socket in a folder only this user can enter: the session's
    $XDG_RUNTIME_DIR, else `heard-UID` in the temporary folder, made 0700 and checked to be
    the user's own. A predictable name in a folder everyone writes to could be bound first
    by another user (who would then be "the running Heard"), so none is ever used."""
    digest = hashlib.sha256(str(profile.root).encode()).hexdigest()[:16]
    uid = os.getuid() if hasattr(os, "getuid") else 0
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and _private(Path(runtime), uid):
        folder = Path(runtime)
    else:
        folder = Path(tempfile.gettempdir()) / f"heard-{uid}"
        try:
            folder.mkdir(mode=0o700, exist_ok=True)
        except OSError as exc:
            raise NoPrivateFolder(f"cannot make {folder} for Heard's socket: {exc}") from exc
        if not _private(folder, uid):
            raise NoPrivateFolder(
                f"{folder} is not yours alone (another user may have made it): remove it,"
                " or set XDG_RUNTIME_DIR to a folder only you can enter")
    return str(folder / f"heard-{digest}.sock")


def _private(folder: Path, uid: int) -> bool:
    """A real folder (not a link) of this user that nobody else may enter or write to."""
    try:
        info = folder.lstat()
    except OSError:
        return False
    import stat

    return (stat.S_ISDIR(info.st_mode) and (not hasattr(os, "getuid") or info.st_uid == uid)
            and not info.st_mode & (stat.S_IRWXG | stat.S_IRWXO))


def peer_uid(fd: int) -> int | None:
    """The user id of the process at the other end of a local socket (Linux SO_PEERCRED);
    None where it cannot be known."""
    if not hasattr(socket, "SO_PEERCRED"):
        return None
    import struct

    try:
        sock = socket.socket(fileno=os.dup(fd))
    except OSError:
        return None
    try:
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    except OSError:
        return None
    finally:
        sock.close()
    _pid, uid, _gid = struct.unpack("3i", creds)
    return int(uid)


def tell_running(profile: Profile, message: bytes = REFRESH, timeout: float = 0.3) -> bool:
    """Send a message to the tray running on this profile; False when none runs."""
    if not hasattr(socket, "AF_UNIX"):
        return False
    try:
        path = socket_path(profile)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(path)
            sock.sendall(message)
    except OSError:
        return False
    return True
