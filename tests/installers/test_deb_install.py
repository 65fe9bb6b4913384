"""The .deb on a clean Debian 12: a fresh debootstrap (minbase: no Python, no X, no fonts),
`apt-get install ./heard_*.deb`, the self-test offscreen and on a real X display (the host's
Xvfb shared into the chroot), `heard demo` in a real tray host on that display (screenshot
kept in artifacts/installers/deb-demo-tray.png), then `apt-get purge` leaves no file behind.

The tests share one installed chroot and run in the order written; the last one purges.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from tests.installers.chroot import Chroot, base_tarball
from tests.installers.conftest import MEASURED, Built, needs_root, selftest_lines
from tests.support.desktop import DesktopSession
from tests.support.gui import share

pytestmark = needs_root

SHOWN = re.compile(r"tray: shown with count (\d+) at (-?\d+),(-?\d+) size (\d+)x(\d+)")
#: Libraries the bundle leaves to the system that only its Wayland plugin needs: every
#: Wayland session has them (the .deb recommends them).
WAYLAND_ONLY = ("libwayland-cursor.so.0", "libwayland-egl.so.1")
#: Where a package may leave files behind that are not its own: apt's and dpkg's records,
#: caches, logs, and what the tests themselves wrote as a user.
NOT_PACKAGE_FILES = ("/var/lib/apt/", "/var/lib/dpkg/", "/var/cache/", "/var/log/", "/tmp/",
                     "/root/", "/proc/", "/etc/ld.so.cache", "/var/lib/ucf/",
                     # made by ca-certificates' own scripts (it stays: apt recommends it)
                     "/etc/ssl/certs/", "/etc/ca-certificates.conf")


@dataclass
class Installed:
    root: Chroot
    files_before: set[str]
    pulled: list[str]
    seconds: float


def _files(root: Chroot) -> set[str]:
    r = root.run(["find", "/", "-xdev", "-not", "-type", "d"], timeout=120)
    return set(r.stdout.splitlines())


@pytest.fixture(scope="module")
def installed(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    tarball, bootstrap_seconds = base_tarball()
    if bootstrap_seconds:
        MEASURED["debootstrap_seconds"] = round(bootstrap_seconds, 1)
    with Chroot.fresh(tmp_path_factory.mktemp("chroot") / "root", tarball) as root:
        shutil.copy(built.deb, root.path("/tmp/heard.deb"))
        update = root.run(["apt-get", "update", "-q"], timeout=300)
        assert update.returncode == 0, update.stdout + update.stderr
        before = root.installed()
        files_before = _files(root)
        started = time.monotonic()
        r = root.run(["apt-get", "install", "-y", "-q", "--no-install-recommends",
                      "/tmp/heard.deb"], timeout=600)
        seconds = time.monotonic() - started
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
        pulled = sorted(root.installed() - before)
        MEASURED["install_seconds"] = round(seconds, 1)
        MEASURED["packages_pulled"] = pulled
        yield Installed(root, files_before, pulled, seconds)


@pytest.fixture(scope="module")
def shared_desktop(installed: Installed) -> Iterator[tuple[DesktopSession, dict[str, str]]]:
    """A host desktop (Xvfb, openbox, trayer, dunst, session bus) visible in the chroot:
    the X socket folder and the session's folder (bus socket, runtime dir) are bound in."""
    root = installed.root
    with DesktopSession(tray="xembed") as desk:
        session_dir = desk.runtime_dir.parent
        bound: list[str] = []
        try:
            for host in (Path("/tmp/.X11-unix"), session_dir):
                root.bind(host)
                bound.append(str(host))
            yield desk, dict(desk.vars)
        finally:
            for inside in reversed(bound):
                root.unbind(inside)


def test_deb_installs_on_a_minimal_debian(installed: Installed) -> None:
    root = installed.root
    assert "heard" in installed.pulled
    assert not root.path("/usr/bin/python3").exists()          # the bundle needs no Python
    assert root.path("/usr/bin/heard").readlink() == Path("/opt/heard/heard")
    # Every library of the bundle resolves, from the bundle or the packages it depends on.
    script = ("export LD_LIBRARY_PATH=/opt/heard/_internal:/opt/heard/_internal/PySide6/Qt/lib;"
              " find /opt/heard -type f \\( -name '*.so*' -o -name heard \\) | while read f;"
              " do ldd \"$f\" 2>/dev/null | grep 'not found' | sed \"s|^|$f: |\"; done")
    missing = {line.split(":", 1)[1].split("=>")[0].strip()
               for line in installed.root.run(["/bin/sh", "-c", script]).stdout.splitlines()}
    assert missing <= set(WAYLAND_ONLY), sorted(missing)
    version = root.run(["heard", "--version"])
    assert version.stdout.strip().startswith("heard ")


def test_selftest_offscreen_in_the_chroot(installed: Installed) -> None:
    r = installed.root.run(["heard", "--selftest"], timeout=120)
    lines = selftest_lines(r.stdout)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "frozen bundle in /opt/heard" in r.stdout
    assert "offscreen" in lines["qt platform"][1]
    assert not [name for name, (verdict, _) in lines.items() if verdict == "FAIL"]
    assert lines["tls"][0] == "ok", lines["tls"]         # ca-certificates came with it


def test_selftest_on_a_real_x_display(
        installed: Installed, shared_desktop: tuple[DesktopSession, dict[str, str]]) -> None:
    _desk, env = shared_desktop
    r = installed.root.run(["heard", "--selftest"], env=env, timeout=120)
    lines = selftest_lines(r.stdout)
    assert r.returncode == 0, r.stdout + r.stderr
    assert " on xcb;" in lines["qt platform"][1], lines["qt platform"]
    assert lines["tray"] == ("ok", "a system tray is available on xcb; the icon showed with"
                                   " its menu"), lines["tray"]
    verdict, detail = lines["notifications"]
    assert verdict == "ok" and "dunst" in detail, lines["notifications"]


def test_demo_shows_its_badge_in_a_real_tray(
        installed: Installed, shared_desktop: tuple[DesktopSession, dict[str, str]],
        artifacts: Path) -> None:
    desk, env = shared_desktop
    root = installed.root
    proc = root.popen(["heard", "demo", "--no-generator", "--profile", "/tmp/demo"], env=env,
                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    log = root.path("/tmp/demo/heard.log")
    try:
        deadline = time.monotonic() + 60
        found = None
        while time.monotonic() < deadline and proc.poll() is None:
            if log.exists() and (found := SHOWN.search(log.read_text(errors="replace"))):
                break
            time.sleep(0.1)
        assert found, (f"exit {proc.poll()}; log: "
                       + (log.read_text(errors="replace") if log.exists() else "(none)"))
        count, x, y, w, h = (int(g) for g in found.groups())
        assert count == 4 and w > 0 and h > 0 and 0 <= y < 40
        time.sleep(0.5)   # the tray repaints after embedding
        shot = desk.screenshot(artifacts / "deb-demo-tray.png")
        icon = QImage(str(shot)).copy(x, y, w, h)
        assert share(icon, "#1d4e89", tolerance=40) > 0.05
        assert max(share(icon, c, tolerance=40) for c in ("#2e7d32", "#f9a825", "#c62828")) \
            > 0.03
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""


def test_purge_leaves_no_file_behind(installed: Installed) -> None:
    root = installed.root
    r = root.run(["apt-get", "purge", "-y", "-q", "heard"], timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    r = root.run(["apt-get", "autoremove", "--purge", "-y", "-q"], timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "heard" not in root.installed()
    # What stays is the dependencies another package still recommends (apt recommends
    # ca-certificates), with their own files and the files their scripts made.
    kept = sorted(root.installed() & set(installed.pulled))
    owned = set(root.run(["dpkg", "-L", *kept]).stdout.splitlines()) if kept else set()
    left = sorted(path for path in _files(root) - installed.files_before - owned
                  if not path.startswith(NOT_PACKAGE_FILES))
    assert not left, (left, kept)
    named = root.run(["find", "/", "-xdev", "-iname", "*heard*", "-not", "-path", "/tmp/*",
                      "-not", "-path", "/root/*"]).stdout.split()
    assert not named, named
    assert not root.path("/opt/heard").exists()
