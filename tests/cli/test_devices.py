"""`heard sharing` (heard.cli.devices): this device among the user's others."""

from __future__ import annotations

from pathlib import Path

import pytest

from heard.config import ConfigFile
from heard.devices.wire import trust
from tests.support.cli import (
    run,
    run_json,
)
from tests.support.dovecot import Dovecot
from tests.support.imap import imap_profile


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



@pytest.mark.usefixtures("real_keyring")
def test_sharing_invite_and_join_hand_the_key_to_a_new_device(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, plain_dovecot: Dovecot) -> None:
    """Issue 24, 1: a device gets the sharing key only through a code shown on one that has
    it; a wrong code, or one used already, gives nothing."""
    me = plain_dovecot.add_user()
    desk, lap = (imap_profile(tmp_path / name, me) for name in ("desk", "lap"))
    for profile, name in ((desk, "desk"), (lap, "lap")):
        ConfigFile(profile.config).set("sharing", "instance", name)
    invited = run_json(capsys, "--profile", str(lap.root), "sharing", "invite")
    assert set(invited) == {"code", "accounts", "expires"} and invited["accounts"] == ["work"]
    code, _out, err = run(capsys, "--profile", str(desk.root), "sharing", "invite")
    assert code == 1 and "has not joined" in err and "heard sharing join CODE" in err
    other = trust.new_code()
    code, _out, err = run(capsys, "--profile", str(desk.root), "sharing", "join", other)
    assert code == 1 and "no invitation opens with this code" in err
    assert run(capsys, "--profile", str(desk.root), "sharing", "join", "1234")[0] == 2
    joined = run_json(capsys, "--profile", str(desk.root), "sharing", "join",
                      invited["code"])
    assert joined == {"joined": {"work": True}, "invited_by": {"work": "lap"}}
    code, _out, err = run(capsys, "--profile", str(desk.root), "sharing", "join",
                          invited["code"])
    assert code == 1                                   # used up
    code, out, _err = run(capsys, "--profile", str(desk.root), "sharing", "invite")
    assert code == 0 and "heard sharing join " in out  # now desk can invite in turn
