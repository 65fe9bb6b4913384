"""What can be checked here of the recipes that only run elsewhere (Windows, macOS, GitHub):
they parse, and they say what the design asks of them. The Linux build itself is exercised by
test_bundle.py and test_deb_install.py. No root needed."""

from __future__ import annotations

import plistlib
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
INSTALLERS = ROOT / "installers"
SHELL_SCRIPTS = ["linux/build.sh", "linux/build-deb.sh", "linux/install.sh", "macos/build.sh"]


def test_spec_is_python_and_covers_each_platform() -> None:
    text = (INSTALLERS / "heard.spec").read_text()
    compile(text, "heard.spec", "exec")
    for needed in ('collect_submodules(\n    "caldav"', '"urllib3.contrib.resolver"',
                   "plyer.platforms.", '"LSUIElement": True', 'name="heard-cli"',
                   "console=True", "BUNDLE(", "rthooks"):
        assert needed in text, needed


@pytest.mark.parametrize("script", SHELL_SCRIPTS)
def test_shell_scripts_pass_shellcheck(script: str) -> None:
    path = INSTALLERS / script
    subprocess.run(["bash", "-n", str(path)], check=True)
    r = subprocess.run(["shellcheck", str(path)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout


def test_inno_setup_script_is_per_user_with_start_menu_and_login_start() -> None:
    text = (INSTALLERS / "windows" / "heard.iss").read_text()
    sections = {line.strip() for line in text.splitlines() if line.startswith("[")}
    assert {"[Setup]", "[Tasks]", "[Files]", "[Icons]", "[Registry]", "[Run]",
            "[UninstallRun]"} <= sections
    assert "PrivilegesRequired=lowest" in text
    assert 'Name: "{autoprograms}\\Heard"; Filename: "{app}\\heard.exe"' in text
    assert "CurrentVersion\\Run" in text and "Tasks: startatlogin" in text
    assert "uninsdeletevalue" in text
    build = (INSTALLERS / "windows" / "build.ps1").read_text()
    assert "heard-cli.exe\" --selftest" in build and "--selftest=" in build


def test_macos_plists_parse() -> None:
    entitlements = plistlib.loads((INSTALLERS / "macos" / "entitlements.plist").read_bytes())
    assert entitlements == {"com.apple.security.cs.allow-unsigned-executable-memory": True}
    agent = plistlib.loads((INSTALLERS / "macos" / "org.heard.Heard.plist").read_bytes())
    assert agent["RunAtLoad"] is True


def test_release_workflow_builds_self_tests_and_uploads_on_three_systems() -> None:
    flow = yaml.safe_load((ROOT / ".github" / "workflows" / "release.yml").read_text())
    jobs = flow["jobs"]
    assert {"linux", "windows", "macos", "release"} <= set(jobs)
    assert jobs["macos"]["strategy"]["matrix"]["runner"] == ["macos-14", "macos-15-intel"]
    for name in ("linux", "windows", "macos"):
        steps = jobs[name]["steps"]
        runs = " ".join(str(step.get("run", "")) for step in steps)
        uses = [step.get("uses", "") for step in steps]
        assert any(u.startswith("actions/upload-artifact") for u in uses), name
        assert "installers/" in runs or "installers\\" in runs, name
    assert "tests/installers" in " ".join(str(s.get("run", "")) for s in jobs["linux"]["steps"])
    assert jobs["release"]["needs"] == ["linux", "windows", "macos"]


def test_icons_for_every_platform(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, str(INSTALLERS / "icons.py"), str(tmp_path)],
                       capture_output=True, text=True, timeout=120,
                       env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr
    for size in (16, 22, 24, 32, 48, 64, 128, 256, 512):
        png = tmp_path / "hicolor" / f"{size}x{size}" / "apps" / "heard.png"
        width, height = struct.unpack(">II", png.read_bytes()[16:24])
        assert (width, height) == (size, size)
    ico = (tmp_path / "heard.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", ico[:6])
    assert (reserved, kind, count) == (0, 1, 7)
    assert len(list((tmp_path / "heard.iconset").glob("icon_*.png"))) == 10
