"""heard --selftest's Qt-free checks (heard.setup.selftest) where the machine, not the
installation, falls short: they warn, and agree with `heard doctor`."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator

import pytest

from heard.engine import Engine
from heard.engine.doctor import Verdict
from heard.engine.doctor import checks as doctor_checks
from heard.setup import selftest
from heard.system.paths import Profile


@pytest.fixture
def bus_without_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A session bus with no keyring daemon on it, as in a bare window manager session:
    the Secret Service backend is chosen, and cannot be used."""
    daemon = shutil.which("dbus-daemon")
    if daemon is None:
        pytest.fail("dbus-daemon is needed (apt install dbus)")
    proc = subprocess.Popen([daemon, "--session", "--nofork", "--print-address=1"],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        address = proc.stdout.readline().strip()
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
        monkeypatch.delenv("PYTHON_KEYRING_BACKEND")
        monkeypatch.setenv("XDG_CONFIG_HOME", "/nonexistent")   # no keyringrc.cfg
        yield address
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.usefixtures("bus_without_keyring")
def test_a_keyring_chosen_but_not_there_is_a_warning_as_in_the_doctor(
        profile: Profile) -> None:
    with pytest.raises(selftest.CheckWarning, match="cannot be used here"):
        selftest.check_keyring()
    engine = Engine.open(profile)
    try:
        (keyring,) = [c for c in doctor_checks(engine, network=False) if c.name == "keyring"]
    finally:
        engine.close()
    assert keyring.verdict is Verdict.WARN
