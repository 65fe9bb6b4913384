"""The command line's tests drive heard.cli.main in-process: the root logger is put back
after each, and a profile is named by its folder (`root`: tests/conftest.py's profile;
`empty`: an empty folder)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from heard.config import ConfigFile
from heard.system.paths import Profile


@pytest.fixture
def bare_root(tmp_path: Path) -> str:
    profile = Profile(tmp_path / "profile")
    profile.create()
    file = ConfigFile(profile.config)
    file.set("user", "name", "Alex Morgan")
    file.set("user", "timezone", "Europe/Berlin")
    return str(profile.root)


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """main() installs stderr handlers on the root logger; keep them out of other tests."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


@pytest.fixture
def empty(tmp_path: Path) -> str:
    # A folder the user made for a new profile: a profile that does not exist at all is
    # refused, a mistyped --profile (tests/cli/test_commands.py)
    folder = tmp_path / "empty-profile"
    folder.mkdir()
    return str(folder)


@pytest.fixture
def root(profile: Profile) -> str:
    return str(profile.root)
