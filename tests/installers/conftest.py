"""Fixtures for the installer tests: the bundle and the .deb, built once per test session.

These tests run as root (CI does): they build with PyInstaller, and install the .deb into a
Debian 12 chroot, which needs mount and chroot. Not root: they are skipped, with the reason.
The numbers the issue asks for (sizes, build and install times, packages pulled) are
printed at the end of the run and written to artifacts/installers/measurements.json.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("HEARD_ARTIFACTS", ROOT / "artifacts")) / "installers"
BUILD_SCRIPT = ROOT / "installers" / "linux" / "build.sh"

needs_root = pytest.mark.skipif(
    os.geteuid() != 0,
    reason="installer tests build a .deb and install it into a chroot: run them as root"
           " (CI does)")

#: Numbers for the closing report, filled in by the fixtures and tests.
MEASURED: dict[str, Any] = {}


@dataclass(frozen=True)
class Built:
    bundle: Path        # the one-folder build (its executable: bundle / "heard")
    deb: Path
    version: str
    out: Path
    log: str

    @property
    def exe(self) -> Path:
        return self.bundle / "heard"


def minimal_env(home: Path, **extra: str) -> dict[str, str]:
    """What a login shell of a new user has, and nothing of this test run."""
    home.mkdir(parents=True, exist_ok=True)
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8",
            **extra}


def selftest_lines(stdout: str) -> dict[str, tuple[str, str]]:
    """{check name: (verdict, detail)} from `heard --selftest` output."""
    found = {}
    for line in stdout.splitlines():
        match = re.match(r"^(ok|WARN|FAIL)\s+([^:]+): (.*)$", line)
        if match:
            found[match.group(2)] = (match.group(1), match.group(3))
    return found


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """installers/linux/build.sh with this interpreter: the bundle and a zstd .deb
    (the release's xz takes 40 s more; installers/measure.py measures both)."""
    if os.geteuid() != 0:
        pytest.skip("installer builds run as root (CI does)")
    out = tmp_path_factory.mktemp("installers")
    env = {**os.environ, "PYTHON": sys.executable, "DEB_COMPRESS": "zstd",
           "SKIP_TARBALL": "1"}
    env.pop("DISPLAY", None)
    started = time.monotonic()
    r = subprocess.run(["bash", str(BUILD_SCRIPT), str(out)], env=env, capture_output=True,
                       text=True, timeout=900)
    took = time.monotonic() - started
    if r.returncode != 0:
        pytest.fail(f"build.sh failed ({r.returncode}):\n{r.stdout}\n{r.stderr[-6000:]}")
    deb = next(out.glob("heard_*.deb"))
    version = subprocess.run([sys.executable, "-c", "from importlib.metadata import version;"
                              " print(version('heard'))"], capture_output=True, text=True,
                             check=True).stdout.strip()
    bundle = out / "dist" / "heard"
    MEASURED["build_seconds"] = round(took, 1)
    MEASURED["build_log"] = [line for line in r.stdout.splitlines() if line.strip()]
    MEASURED["bundle_mb"] = round(_size(bundle) / 2**20, 1)
    MEASURED["deb_zstd_mb"] = round(deb.stat().st_size / 2**20, 1)
    return Built(bundle, deb, version, out, r.stdout)


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


@pytest.fixture
def artifacts() -> Iterator[Path]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield ARTIFACTS


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not MEASURED:
        return
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "measurements.json").write_text(json.dumps(MEASURED, indent=2) + "\n")
    terminalreporter.section("installers: measured")
    for key, value in MEASURED.items():
        if key == "build_log":
            for line in value:
                terminalreporter.write_line(f"  {line}")
        elif isinstance(value, list):
            terminalreporter.write_line(f"  {key} ({len(value)}): {' '.join(map(str, value))}")
        else:
            terminalreporter.write_line(f"  {key}: {value}")
