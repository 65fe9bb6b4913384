"""Where a profile's files live (heard.system.paths)."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_the_default_profile_logs_to_the_platform_log_folder(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from heard.system.paths import Profile

    monkeypatch.delenv("HEARD_PROFILE")
    profile = Profile.locate()
    assert profile.log.parent != profile.root
    assert "heard" in str(profile.log.parent)
    assert Profile.locate("/tmp/elsewhere").log == Path("/tmp/elsewhere/heard.log")
