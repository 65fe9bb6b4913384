"""The PyInstaller bundle and the .deb around it, as built by installers/linux/build.sh."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.installers.conftest import Built, minimal_env, needs_root, selftest_lines

pytestmark = needs_root

#: Checks that must pass wherever Heard runs; the others may warn on a bare machine
#: (no tray host, no session bus, no keyring daemon).
MUST_PASS = ("startup imports", "package data", "qt platform", "fonts", "tray icon",
             "single instance", "time zones", "store", "demo profile", "maildir watch",
             "phone numbers", "imap", "caldav", "tls")
MAY_WARN = ("tray", "notifications", "keyring")


def test_bundle_selftest_passes_offscreen(built: Built, tmp_path: Path) -> None:
    r = subprocess.run([str(built.exe), "--selftest"], env=minimal_env(tmp_path / "home"),
                       capture_output=True, text=True, timeout=120)
    lines = selftest_lines(r.stdout)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"self-test: frozen bundle in {built.bundle}" in r.stdout
    assert set(lines) == set(MUST_PASS) | set(MAY_WARN), r.stdout
    for name in MUST_PASS:
        assert lines[name][0] == "ok", f"{name}: {lines[name]}"
    assert "on offscreen (no display here)" in lines["qt platform"][1]
    assert "platform plugins: offscreen, wayland, xcb" in lines["qt platform"][1]
    assert lines["maildir watch"][1].startswith("InotifyObserver")
    assert "over niquests" in lines["caldav"][1]
    # Broken machinery would fail; only a missing keyring daemon may warn.
    verdict, detail = lines["keyring"]
    assert verdict == "ok" or detail.startswith("no keyring available"), detail
    assert "SecretService" in detail


def test_selftest_report_file_and_exit_code(built: Built, tmp_path: Path) -> None:
    """A windowed Windows build has no stdout: --selftest=FILE writes the same lines."""
    report = tmp_path / "report.txt"
    r = subprocess.run([str(built.exe), f"--selftest={report}"],
                       env=minimal_env(tmp_path / "home"), capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0
    assert report.read_text().splitlines() == r.stdout.splitlines()


def test_selftest_fails_when_a_piece_is_missing(built: Built, tmp_path: Path) -> None:
    """A bundle that lost a piece of package data says which and exits 1."""
    broken = tmp_path / "heard"
    subprocess.run(["cp", "-a", str(built.bundle), str(broken)], check=True)
    (broken / "_internal" / "heard" / "resources" / "templates" / "default.toml").unlink()
    r = subprocess.run([str(broken / "heard"), "--selftest"],
                       env=minimal_env(tmp_path / "home"), capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 1, r.stdout
    lines = selftest_lines(r.stdout)
    assert lines["package data"][0] == "FAIL"
    assert "default.toml" in lines["package data"][1]
    assert lines["qt platform"][0] == "ok"   # the other checks still ran


def test_bundle_is_trimmed(built: Built) -> None:
    internal = built.bundle / "_internal"
    names = {str(p.relative_to(internal)) for p in internal.rglob("*")}
    qt = "PySide6/Qt"
    platforms = {Path(n).name for n in names if n.startswith(f"{qt}/plugins/platforms/")}
    assert platforms == {"libqxcb.so", "libqwayland.so", "libqoffscreen.so"}
    assert not [n for n in names if n.startswith(f"{qt}/translations/")]
    assert not [n for n in names if "libqgtk3" in n or n.startswith("libgtk-3")]
    assert not [n for n in names if n.startswith((f"{qt}/plugins/tls/",
                                                  f"{qt}/plugins/networkinformation/"))]
    # Kept on purpose: QtNetwork (the single-instance socket), QtDBus, QtSvg.
    for lib in ("libQt6Network.so.6", "libQt6DBus.so.6", "libQt6Svg.so.6"):
        assert (internal / qt / "lib" / lib).exists(), lib
    # Left out: the test servers caldav can start, and what Heard does not use.
    for module in ("radicale", "xandikos", "aiohttp", "pytest", "requests", "tkinter"):
        assert not (internal / module).exists(), module
    size = sum(p.stat().st_size for p in built.bundle.rglob("*")
               if p.is_file() and not p.is_symlink())
    assert size < 200 * 2**20, f"the bundle grew to {size / 2**20:.0f} MB"


def _deb_field(deb: Path, field: str) -> str:
    return subprocess.run(["dpkg-deb", "-f", str(deb), field], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_deb_layout_and_control(built: Built) -> None:
    listing = subprocess.run(["dpkg-deb", "-c", str(built.deb)], capture_output=True,
                             text=True, check=True).stdout
    paths = {line.split()[5].removeprefix(".") for line in listing.splitlines()}
    links = {line.split()[5].removeprefix("."): line.split()[-1]
             for line in listing.splitlines() if line.startswith("l")}
    assert links["/usr/bin/heard"] == "/opt/heard/heard"
    for path in ("/opt/heard/heard", "/usr/share/applications/heard.desktop",
                 "/usr/share/icons/hicolor/scalable/apps/heard.svg",
                 "/usr/share/doc/heard/examples/heard-autostart.desktop",
                 "/usr/share/doc/heard/copyright"):
        assert path in paths, path
    pngs = {p.split("/")[5] for p in paths
            if p.startswith("/usr/share/icons/hicolor/") and p.endswith("/apps/heard.png")}
    assert {"16x16", "22x22", "24x24", "32x32", "48x48", "64x64", "128x128", "256x256"} <= pngs
    assert _deb_field(built.deb, "Package") == "heard"
    assert _deb_field(built.deb, "Version") == built.version   # from the package metadata
    depends = _deb_field(built.deb, "Depends")
    for package in ("libgl1", "libegl1", "libfontconfig1", "libxkbcommon0", "libdbus-1-3"):
        assert package in depends
    assert "python3" not in depends
    assert _deb_field(built.deb, "Recommends").startswith("gnome-shell-extension-appindicator |")
    # Nothing runs at install or removal: no maintainer scripts to leave anything behind.
    control = subprocess.run(["dpkg-deb", "--ctrl-tarfile", str(built.deb)],
                             capture_output=True, check=True).stdout
    members = subprocess.run(["tar", "-t"], input=control, capture_output=True,
                             check=True).stdout.decode().split()
    assert sorted(m.removeprefix("./") for m in members if m.strip("./")) == \
        ["control", "md5sums"]
