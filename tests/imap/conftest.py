"""IMAP tests run against a real Dovecot on loopback and a real Secret Service keyring.

One Dovecot serves the whole session (each test has its own mail user); tests that stop
or reconfigure the server start their own with `own_dovecot`. Those fixtures (`dovecot`,
`mailuser`, `own_dovecot`) live in tests/support/servers.py, for every test folder.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from heard.config import ConfigFile, ImapAccount
from heard.engine import Engine, EngineEvent
from heard.system import secrets
from heard.system.paths import Profile
from tests.conftest import CLIENTS
from tests.support.dovecot import MailUser
from tests.support.keyring import keyring_service, real_keyring  # noqa: F401


def imap_profile(root: Path, user: MailUser, *, security: str = "plain",
                 port: int | None = None, extra: dict[str, object] | None = None,
                 password: str | None = None) -> Profile:
    """A profile with one IMAP account for `user`, its password in the keyring."""
    profile = Profile(root)
    profile.create()
    file = ConfigFile(profile.config)
    file.set("user", "name", "Alex Morgan")
    file.set("user", "addresses", [user.address])
    file.set("user", "timezone", "Europe/Berlin")
    file.set("standards.default", "ack_within", "30m")
    file.set("standards.default", "answer_within", "8h")
    entry: dict[str, object] = {
        "name": "work", "kind": "imap", "host": "127.0.0.1",
        "port": port or user.server.imap_port, "security": security,
        "username": user.name, "address": user.address, **(extra or {})}
    file.append("accounts", entry)
    account = ImapAccount("work", "127.0.0.1", 0, security, user.name)
    secrets.store_password(account.keyring_name, password or user.password)
    return profile


@pytest.fixture
def imap_engine(tmp_path: Path, mailuser: MailUser, real_keyring: object  # noqa: F811
                ) -> Iterator[Engine]:
    engine = Engine.open(imap_profile(tmp_path / "profile", mailuser))
    for client in CLIENTS:
        engine.clients.add(client)
    yield engine
    engine.close()


class Events:
    """Collects engine events from any thread, and waits for one that matches."""

    def __init__(self, engine: Engine) -> None:
        self.events: list[EngineEvent] = []
        self._cond = threading.Condition()
        engine.subscribe(self._add)

    def _add(self, event: EngineEvent) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def wait_for(self, test: Callable[[EngineEvent], bool], timeout: float = 30.0
                 ) -> EngineEvent:
        end = time.monotonic() + timeout
        with self._cond:
            while True:
                for event in self.events:
                    if test(event):
                        self.events.remove(event)
                        return event
                left = end - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no matching event in {timeout} s: {self.events}")
                self._cond.wait(left)


def wait_until(check: Callable[[], bool], timeout: float = 15.0) -> None:
    end = time.monotonic() + timeout
    while not check():
        if time.monotonic() > end:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)
