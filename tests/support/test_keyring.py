"""The private Secret Service of the tests (tests/support/keyring.py) itself."""

from __future__ import annotations

import os

import pytest

from tests.support.keyring import KeyringService


def test_the_harness_leaves_no_process_behind() -> None:
    with KeyringService() as service:
        pids = service.pids
        assert len(pids) == 2  # dbus-daemon and gnome-keyring-daemon
        assert service.started_in < 5.0
        assert (service.home / ".local/share/keyrings/login.keyring").exists()
        home = service.home
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert not home.exists()
