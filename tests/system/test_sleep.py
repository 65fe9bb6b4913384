"""heard.system.sleep: logind's PrepareForSleep, on a private D-Bus (the keyring's session
bus of tests/support/keyring.py, where a test connection takes logind's name and says
what logind says around a suspend). This machine has no system bus: the watcher is then
idle, and says so."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from heard.system.sleep import SleepWatcher
from tests.support.keyring import KeyringService
from tests.support.logind import Logind


class Resumes:
    """Counts the resumes the watcher tells, and lets a test wait for the n-th."""

    def __init__(self) -> None:
        self.count = 0
        self._cond = threading.Condition()

    def __call__(self) -> None:
        with self._cond:
            self.count += 1
            self._cond.notify_all()

    def wait_for(self, n: int, timeout: float = 10.0) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self.count >= n, timeout)


@pytest.fixture
def logind(keyring_service: KeyringService) -> Iterator[Logind]:
    """A connection on the private bus that may speak as logind (once it takes the name)."""
    speaker = Logind(keyring_service.bus_address)
    yield speaker
    speaker.close()


def test_a_resume_is_told_and_no_one_but_logind_is_believed(
        keyring_service: KeyringService, logind: Logind) -> None:
    resumes, sleeps = Resumes(), Resumes()
    watcher = SleepWatcher(resumes, bus=keyring_service.bus_address, on_sleep=sleeps)
    assert watcher.start()
    try:
        # Someone who is not logind says the machine resumed: not believed. Then logind
        # says it goes to sleep. One connection sends both, so they are dealt with in this
        # order: once the sleep is told, the false resume before it was passed over.
        logind.say(False)
        logind.become()
        logind.say(True)
        assert sleeps.wait_for(1)
        assert resumes.count == 0
        logind.say(False)                   # logind: it woke up
        assert resumes.wait_for(1)
        logind.say(True)
        logind.say(False)                   # the next sleep, and the next resume
        assert resumes.wait_for(2)
        assert (sleeps.count, resumes.count) == (2, 2)
    finally:
        watcher.stop()
    assert not watcher.listening


@pytest.mark.expect_log_errors(r"heard\.system\.sleep: after the resume from sleep")
def test_a_failing_resume_is_logged_and_the_next_one_still_told(
        keyring_service: KeyringService, logind: Logind) -> None:
    resumes = Resumes()

    def fails_once() -> None:
        resumes()
        if resumes.count == 1:
            raise RuntimeError("the mail server is still asleep")

    watcher = SleepWatcher(fails_once, bus=keyring_service.bus_address)
    assert watcher.start()
    try:
        logind.become()
        logind.say(False)
        logind.say(False)
        assert resumes.wait_for(2)
    finally:
        watcher.stop()


def test_without_a_bus_the_watcher_is_idle_and_says_why(
        caplog: pytest.LogCaptureFixture) -> None:
    watcher = SleepWatcher(lambda: None, bus="unix:path=/nonexistent/heard-test-bus")
    with caplog.at_level("INFO", logger="heard.system.sleep"):
        assert watcher.start() is False
    assert "resume from sleep is not noticed: no D-Bus" in caplog.text
    assert not watcher.listening
    watcher.stop()                           # harmless
