"""`heard sharing` (heard.cli.devices): this device among the user's others."""

from __future__ import annotations

import pytest

from tests.support.cli import (
    run,
    run_json,
)


def test_sharing_on_a_profile_without_imap_says_this_device_works_alone(
        capsys: pytest.CaptureFixture[str], root: str) -> None:
    shown = run_json(capsys, "--profile", root, "sharing", "sync")
    assert set(shown) == {"instance", "autopilot_instance", "designated_instance",
                          "accounts", "shared_settings"}
    assert shown["shared_settings"]["account"] is None
    assert shown["shared_settings"]["error"] is None
    assert all(a["mode"] == "local" for a in shown["accounts"])
    code, out, _err = run(capsys, "--profile", root, "sharing")
    assert code == 0 and "not shared (no IMAP account)" in out
