"""Release builds install from a hashed lock (installers/requirements-release.txt): every
dependency pyproject.toml names is pinned there, within its bounds, with hashes, and the
release workflow installs nothing else and pins its actions by commit."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "installers" / "requirements-release.txt"


def _pins() -> dict[str, tuple[Version, int]]:
    """name -> (version, number of hashes)"""
    pins: dict[str, tuple[Version, int]] = {}
    name = ""
    for line in LOCK.read_text().splitlines():
        pinned = re.match(r"^([A-Za-z0-9_.-]+)==([^ ;\\]+)", line)
        if pinned:
            name = pinned.group(1).lower().replace("_", "-")
            pins[name] = (Version(pinned.group(2)), 0)
        elif "--hash=sha256:" in line and name:
            version, hashes = pins[name]
            pins[name] = (version, hashes + 1)
    return pins


def test_every_dependency_is_pinned_within_its_bounds_with_hashes() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = _pins()
    assert pins and all(hashes >= 1 for _version, hashes in pins.values())
    for spec in [*project["dependencies"], *project["optional-dependencies"]["installers"]]:
        requirement = Requirement(spec)
        name = requirement.name.lower().replace("_", "-")
        assert name in pins, f"{name} is not in {LOCK.name}: regenerate it (see its header)"
        assert requirement.specifier.contains(pins[name][0], prereleases=True), \
            f"{name}=={pins[name][0]} is outside {requirement.specifier}"


def test_the_release_workflow_installs_only_the_lock_and_pins_actions_by_commit() -> None:
    workflow = (ROOT / ".github" / "workflows" / "release.yml").read_text()
    installs = re.findall(r"pip install ([^\n]+)", workflow)
    assert installs and all("--require-hashes -r installers/requirements-release.txt" in i
                            or i.strip() == "--no-deps ." for i in installs), installs
    for action in re.findall(r"uses:\s*(\S+)", workflow):
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", action), action
