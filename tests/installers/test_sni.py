"""The bundle's tray icon as a StatusNotifierItem: the path KDE Plasma, GNOME with the
AppIndicator extension, XFCE and waybar take. A stand-in watcher (sni_watcher.py) on a private
session bus receives the registration and reads the item back: the badge icon, the tooltip
and the menu. The icon it received is kept in artifacts/installers/sni-icon.png."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from PySide6.QtGui import QImage

from tests.installers.conftest import Built, needs_root
from tests.support.desktop import DesktopSession
from tests.support.gui import share

pytestmark = needs_root

WATCHER = Path(__file__).with_name("sni_watcher.py")
#: Extension modules of the network and keyring stack; a tray that just started on a
#: profile without accounts must not have mapped any of them.
HEAVY_LIBRARIES = ("lxml/etree", "qh3/_hazmat", "jh2/_hazmat", "cryptography/hazmat",
                   "charset_normalizer/md")


def _argb_to_image(data: bytes, width: int, height: int) -> QImage:
    """SNI pixmaps are ARGB32 in network byte order; QImage's ARGB32 is native (BGRA here)."""
    bgra = bytearray(len(data))
    bgra[0::4], bgra[1::4], bgra[2::4], bgra[3::4] = data[3::4], data[2::4], data[1::4], data[0::4]
    return QImage(bytes(bgra), width, height, QImage.Format.Format_ARGB32).copy()


def _wait_for(path: Path, proc: subprocess.Popen[bytes], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, f"{proc.args} exited with {proc.returncode}"
        assert time.monotonic() < deadline, f"no {path} after {timeout} s"
        time.sleep(0.05)


def test_bundle_registers_its_item_with_badge_tooltip_and_menu(
        built: Built, tmp_path: Path, artifacts: Path) -> None:
    out = tmp_path / "watcher"
    profile = tmp_path / "demo"
    with DesktopSession(tray="none") as desk:
        watcher = subprocess.Popen([sys.executable, str(WATCHER), "30", str(out)],
                                   env=desk.env, stderr=subprocess.PIPE)
        app = None
        try:
            _wait_for(out / "ready", watcher)
            app = subprocess.Popen([str(built.exe), "demo", "--no-generator", "--profile",
                                    str(profile)], env=desk.env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE)
            assert watcher.wait(timeout=40) == 0, watcher.stderr.read() if watcher.stderr else ""
            item = json.loads((out / "item.json").read_text())
            maps = Path(f"/proc/{app.pid}/maps").read_text()
        finally:
            for proc in (app, watcher):
                if proc is not None and proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
                    try:
                        proc.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait()
    assert item["Status"] == "Active"
    assert item["ToolTip"]["title"].startswith("Heard: 4 clients waiting"), item["ToolTip"]
    # Mnemonics: "&Open" in Qt is "_Open" in dbusmenu.
    labels = [label.replace("&", "").replace("_", "") for label in item["menu"]]
    for label in ("Open quick reply", "Log a call…", "Pause notifications", "Quit Heard"):
        assert label in labels, labels
    sizes = {tuple(size) for size in item["IconPixmap"]}
    assert (64, 64) in sizes or (48, 48) in sizes, sizes
    width, height = (int(v) for v in item["largest_file"][5:-5].split("x"))
    image = _argb_to_image((out / item["largest_file"]).read_bytes(), width, height)
    image.save(str(artifacts / "sni-icon.png"))
    assert share(image, "#1d4e89", tolerance=40) > 0.1            # Heard's mark
    badge = max(share(image, c, tolerance=40) for c in ("#2e7d32", "#f9a825", "#c62828"))
    assert badge > 0.05                                           # and the count's badge
    loaded = [lib for lib in HEAVY_LIBRARIES if lib in maps]
    assert not loaded, f"the tray's start loaded {loaded}"
