"""A throw-away Debian 12 root for install tests (stdlib only; needs root and debootstrap).

The base system (``debootstrap --variant=minbase bookworm``: no Python, no X, no fonts) is made
once and kept as a tarball in ``$HEARD_CI_CACHE`` (default ``/var/cache/heard-ci``), so a second
run on the same machine starts in seconds. Each :class:`Chroot` unpacks it afresh, mounts
``/proc`` (and whatever is bound in), and on close kills every process still running inside,
unmounts everything below the root, and only then removes it: a bind mount left in place would
otherwise make the removal reach the host's files.

    with Chroot.fresh(tmp_path / "root") as root:
        root.run(["apt-get", "install", "-y", "/tmp/pkg.deb"])
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

SUITE = "bookworm"
CACHE = Path(os.environ.get("HEARD_CI_CACHE", "/var/cache/heard-ci"))
#: A plain login environment inside the chroot: nothing of the host leaks in.
BASE_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": "/root", "LANG": "C.UTF-8", "DEBIAN_FRONTEND": "noninteractive"}


class ChrootError(RuntimeError):
    pass


def mirror() -> str:
    """The Debian mirror this machine's apt uses (deb822 or one-line sources)."""
    for path, key in ((Path("/etc/apt/sources.list.d/debian.sources"), "URIs:"),
                      (Path("/etc/apt/sources.list"), "deb")):
        with contextlib.suppress(OSError):
            for line in path.read_text().splitlines():
                parts = line.split()
                if len(parts) >= 2 and parts[0] == key and parts[1].startswith("http"):
                    return parts[1]
    return "http://deb.debian.org/debian"


def base_tarball(cache: Path = CACHE) -> tuple[Path, float]:
    """The cached minbase tarball, made now if missing; and the seconds that took (0 if cached).

    A lock file keeps two test runs from bootstrapping at once.
    """
    cache.mkdir(parents=True, exist_ok=True)
    tarball = cache / f"{SUITE}-minbase.tar"
    with (cache / f"{SUITE}-minbase.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if tarball.exists():
            return tarball, 0.0
        debootstrap = shutil.which("debootstrap") or "/usr/sbin/debootstrap"
        if not Path(debootstrap).exists():
            raise ChrootError("debootstrap is not installed: apt-get install -y debootstrap")
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="heard-debootstrap-", dir=cache) as tmp:
            target = Path(tmp) / "root"
            log = cache / "debootstrap.log"
            with log.open("w") as out:
                r = subprocess.run([debootstrap, "--variant=minbase", SUITE, str(target),
                                    mirror()], stdout=out, stderr=subprocess.STDOUT,
                                   timeout=900, check=False)
            if r.returncode != 0:
                raise ChrootError(f"debootstrap failed ({r.returncode}); see {log}:\n"
                                  + "\n".join(log.read_text().splitlines()[-15:]))
            # The archive lists and package cache are fetched again by each test's apt-get.
            for sub in ("var/cache/apt/archives", "var/lib/apt/lists"):
                for entry in (target / sub).glob("*"):
                    if entry.is_file():
                        entry.unlink()
            part = tarball.with_suffix(".part")
            subprocess.run(["tar", "-C", str(target), "-cf", str(part), "."], check=True,
                           timeout=600)
            part.replace(tarball)
        return tarball, time.monotonic() - started


def _mounts_below(root: Path) -> list[str]:
    """Mount points at or below `root`, deepest first (from /proc/self/mounts)."""
    prefix = str(root.resolve())
    found = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        point = line.split()[1].replace("\\040", " ")
        if point == prefix or point.startswith(prefix + "/"):
            found.append(point)
    return sorted(found, key=len, reverse=True)


def _processes_inside(root: Path) -> list[int]:
    prefix = str(root.resolve())
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if str((entry / "root").readlink()) == prefix:
                    pids.append(int(entry.name))
    return pids


class Chroot:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    @classmethod
    @contextlib.contextmanager
    def fresh(cls, root: Path, tarball: Path | None = None) -> Iterator[Chroot]:
        """A new root at `root` from the cached base; torn down (and removed) on exit."""
        if tarball is None:
            tarball, _ = base_tarball()
        if root.exists():
            raise ChrootError(f"{root} exists already")
        root.mkdir(parents=True)
        chroot = cls(root)
        try:
            subprocess.run(["tar", "-C", str(root), "-xf", str(tarball)], check=True,
                           timeout=300)
            shutil.copy("/etc/resolv.conf", root / "etc" / "resolv.conf")
            chroot._copy_apt_network_settings()
            chroot.mount(["-t", "proc", "proc"], "/proc")
            yield chroot
        finally:
            chroot.close()

    def _copy_apt_network_settings(self) -> None:
        """The host's apt settings about reaching the archive (proxies, a snapshot mirror's
        old Release dates), so that apt-get inside reaches what apt-get outside reaches."""
        lines = []
        for conf in sorted(Path("/etc/apt/apt.conf.d").glob("*")):
            with contextlib.suppress(OSError, UnicodeDecodeError):
                lines += [line for line in conf.read_text().splitlines()
                          if line.strip().startswith("Acquire::")
                          and "IndexTargets" not in line]
        if lines:
            (self.root / "etc/apt/apt.conf.d/99host-network").write_text("\n".join(lines) + "\n")

    def path(self, inside: str) -> Path:
        """The host path of `inside` (an absolute path in the chroot)."""
        return self.root / inside.lstrip("/")

    def mount(self, args: Sequence[str], inside: str) -> None:
        target = self.path(inside)
        target.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", *args, str(target)], check=True, timeout=30)

    def bind(self, host: Path, inside: str | None = None) -> None:
        """Make the host folder `host` visible in the chroot (at the same path by default)."""
        self.mount(["--bind", str(host)], inside or str(host))

    def unbind(self, inside: str) -> None:
        subprocess.run(["umount", str(self.path(inside))], check=False, timeout=30)

    def run(self, cmd: Sequence[str], *, env: Mapping[str, str] | None = None,
            timeout: float = 300, check: bool = False, input: str | None = None,
            ) -> subprocess.CompletedProcess[str]:
        """Run `cmd` inside, in a clean environment (BASE_ENV plus `env`)."""
        full = {**BASE_ENV, **(env or {})}
        return subprocess.run(["chroot", str(self.root), "/usr/bin/env", "-i",
                               *(f"{k}={v}" for k, v in full.items()), *cmd],
                              capture_output=True, text=True, timeout=timeout, check=check,
                              input=input)

    def popen(self, cmd: Sequence[str], *, env: Mapping[str, str] | None = None,
              **kwargs: object) -> subprocess.Popen[bytes]:
        full = {**BASE_ENV, **(env or {})}
        return subprocess.Popen(["chroot", str(self.root), "/usr/bin/env", "-i",
                                 *(f"{k}={v}" for k, v in full.items()), *cmd],
                                **kwargs)  # type: ignore[call-overload]

    def installed(self) -> set[str]:
        r = self.run(["dpkg-query", "-W", "-f", "${Package}\\n"], check=True)
        return set(r.stdout.split())

    def close(self) -> None:
        """Kill what runs inside, unmount everything below the root, remove it."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            pids = _processes_inside(self.root)
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + 3
            while pids and _processes_inside(self.root) and time.monotonic() < deadline:
                time.sleep(0.05)
        for point in _mounts_below(self.root):
            if subprocess.run(["umount", point], check=False, timeout=30).returncode != 0:
                subprocess.run(["umount", "-l", point], check=False, timeout=30)
        left = _mounts_below(self.root)
        if left:   # never remove a tree that still reaches the host's folders
            raise ChrootError(f"could not unmount {left}; {self.root} is kept")
        shutil.rmtree(self.root, ignore_errors=True)
