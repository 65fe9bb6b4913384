"""Shared fixtures. Every path a test could touch (profile, config, data, keyring, logs)
is redirected to a temporary folder, so no test can ever reach a real user's profile."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from heard.config import ConfigFile
from heard.domain.clients import Channel, Client
from heard.domain.clock import FixedClock
from heard.domain.locales import ENGLISH, use_on_screens
from heard.engine import Engine
from heard.system.paths import Profile
from tests.support.discovery import discovery, discovery_world  # noqa: F401  (fixtures)
from tests.support.dovecot import MailUser
from tests.support.fixtures import desktop_session  # noqa: F401  (a session-scoped fixture)
from tests.support.imap import imap_profile
from tests.support.keyring import keyring_service, real_keyring  # noqa: F401  (fixtures)
from tests.support.logfail import ExpectedErrors, FailHandler, failure
from tests.support.mail import AUTHSERV, MailFolders
from tests.support.oauth import (  # noqa: F401  (fixtures)
    bearer_dav,
    oauth_postfix,
    oauth_server,
    oauth_world,
)
from tests.support.scenes import faulty_scene, postfix_scene  # noqa: F401  (fixtures)
from tests.support.servers import (  # noqa: F401  (fixtures for every test folder)
    dav,
    dovecot,
    faulty_smtp,
    faulty_smtp_server,
    forgiving_dovecot,
    forgiving_postfix,
    mailuser,
    own_dav,
    own_dovecot,
    plain_dovecot,
    postfix,
    radicale,
    shared_dovecot,
    xandikos,
)

# Widget tests run without a display; the desktop tests start their own X server and
# pass its environment to the app explicitly.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

BERLIN = ZoneInfo("Europe/Berlin")
# A Wednesday morning in November, inside office hours.
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=BERLIN)


@pytest.fixture(autouse=True)
def _isolated(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
              ) -> None:
    home = tmp_path_factory.mktemp("home")
    for var, sub in (("HOME", ""), ("XDG_DATA_HOME", ".local/share"),
                     ("XDG_CONFIG_HOME", ".config"), ("XDG_CACHE_HOME", ".cache"),
                     ("XDG_STATE_HOME", ".local/state")):
        monkeypatch.setenv(var, str(home / sub))
    monkeypatch.setenv("HEARD_PROFILE", str(home / "default-profile"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.setenv("TZ", "Europe/Berlin")
    # Times follow the user's locale (heard.domain.locales): the suite runs in C, Heard's
    # English as it always wrote it, whatever the machine's own locale is.
    monkeypatch.setenv("LANG", "C.UTF-8")
    for var in ("LC_ALL", "LC_TIME", "LANGUAGE"):
        monkeypatch.delenv(var, raising=False)
    use_on_screens(ENGLISH)   # a test's German screens never reach the next test


_EXPECTED = pytest.StashKey[ExpectedErrors]()
_CALL_PASSED = pytest.StashKey[bool]()


@pytest.fixture(autouse=True)
def _fail_on_logged_errors(request: pytest.FixtureRequest) -> Iterator[ExpectedErrors]:
    """An error logged during a test fails it unless the test expects it: see
    tests/support/logfail.py. Errors logged by the test or its setup fail the test itself
    (pytest_runtest_call below); errors logged while fixtures tear down, and expected
    errors that never came, fail its teardown."""
    expected = ExpectedErrors()
    for marker in request.node.iter_markers("expect_log_errors"):
        expected.add(*marker.args)
    request.node.stash[_EXPECTED] = expected
    handler = FailHandler(expected)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield expected
    finally:
        root.removeHandler(handler)
    if request.node.stash.get(_CALL_PASSED, False):   # a failed test has said enough
        message = failure(expected.unexpected(), expected.unmatched())
        if message:
            pytest.fail(message, pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    result = yield   # raises when the test failed or was skipped
    expected = item.stash.get(_EXPECTED, None)
    if expected is not None:
        unexpected = expected.unexpected()
        if unexpected:
            pytest.fail(failure(unexpected, []), pytrace=False)
    item.stash[_CALL_PASSED] = True
    return result


@pytest.fixture
def expected_errors(_fail_on_logged_errors: ExpectedErrors) -> ExpectedErrors:
    """For a test that learns what it expects as it goes: expected_errors.add(regex)."""
    return _fail_on_logged_errors


@pytest.fixture(autouse=True)
def _heard_log_handlers_removed() -> Iterator[None]:
    """heard.system.log.setup() (run in-process by the CLI and tray tests) adds handlers
    to the root logger. Its stderr handler keeps the sys.stderr of that moment, capsys's
    stream, which is closed when the test ends: left behind, it turns the next error any
    later test logs into a "--- Logging error ---" (ValueError: I/O operation on closed
    file), and its file handler keeps a temporary log open."""
    root = logging.getLogger()
    level = root.level
    quiet = {name: logging.getLogger(name).level for name in ("watchdog", "caldav", "urllib3")}
    yield
    for handler in list(root.handlers):
        if getattr(handler, "_heard", False):
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    for name, was in quiet.items():
        logging.getLogger(name).setLevel(was)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def mail(tmp_path: Path) -> MailFolders:
    return MailFolders.create(tmp_path / "mail")


@pytest.fixture
def profile(tmp_path: Path, mail: MailFolders) -> Profile:
    """A profile with one Maildir account, office hours in Berlin, and three clients."""
    profile = Profile(tmp_path / "profile")
    profile.create()
    file = ConfigFile(profile.config)
    file.set("user", "name", "Alex Morgan")
    file.set("user", "addresses", ["alex@morgan-law.example"])
    file.set("user", "timezone", "Europe/Berlin")
    file.set("standards.default", "ack_within", "30m")
    file.set("standards.default", "answer_within", "8h")
    file.set("standards.vip", "ack_within", "10m")
    file.set("standards.vip", "answer_within", "2h")
    # The test mail server's name on its Authentication-Results (tests/support/mail).
    file.set("autopilot", "authserv_ids", [AUTHSERV])
    file.append("accounts", {"name": "work", "kind": "maildir", "inbox": str(mail.inbox.path),
                             "sent": str(mail.sent.path), "outbox": str(mail.outbox.path),
                             "address": "alex@morgan-law.example"})
    return profile


CLIENTS = (
    Client("Margaret Hale", emails=("margaret@hale.example",), preferred_name="Megge",
           tier="vip"),
    Client("Rajesh Patel", domains=("patel-eng.example",)),
    Client("Sofia Lindqvist", emails=("sofia@lindqvist.example",), channel=Channel.CALL),
)


@pytest.fixture
def engine(profile: Profile, clock: FixedClock) -> Iterator[Engine]:
    engine = Engine.open(profile, clock)
    for client in CLIENTS:
        engine.clients.add(client)
    yield engine
    engine.close()


@pytest.fixture
def imap_engine(tmp_path: Path, mailuser: MailUser,  # noqa: F811
                real_keyring: object) -> Iterator[Engine]:  # noqa: F811
    """The engine on a profile with one IMAP account (the session's Dovecot, a user of its
    own, the password in the real keyring) and the three clients."""
    engine = Engine.open(imap_profile(tmp_path / "profile", mailuser))
    for client in CLIENTS:
        engine.clients.add(client)
    yield engine
    engine.close()
