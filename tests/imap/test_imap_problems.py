"""IMAP accounts that cannot be read: each problem is told in plain words, the account
shows offline, and the rest of the app keeps working. Against a real Dovecot and a real
Secret Service keyring."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from heard import config
from heard.config import ConfigError, ConfigFile, ImapAccount
from heard.engine import Engine
from heard.engine.logins import open_imap
from heard.mail.imap import Connection, ImapError
from heard.mail.imap.watch import FolderWatcher
from heard.system import secrets
from heard.system.paths import Profile
from tests.conftest import CLIENTS
from tests.support.dovecot import NO_IDLE, Dovecot, MailUser, free_port
from tests.support.events import wait_until
from tests.support.imap import imap_profile
from tests.support.mail import MEGGE, RAJ, MailFolders, drop, message

pytestmark = pytest.mark.usefixtures("real_keyring")

PLAIN_ACCOUNT = """\
[[accounts]]
name = "work"
kind = "imap"
host = "{host}"
security = "plain"
username = "alex"
"""


def open_engine(profile: Profile) -> Engine:
    engine = Engine.open(profile)
    for client in CLIENTS:
        engine.clients.add(client)
    return engine


def imap_account(engine: Engine) -> ImapAccount:
    account = engine.settings.accounts[0]
    assert isinstance(account, ImapAccount)
    return account


def tls_profile(root: Path, user: MailUser, security: str, port: int,
                ca_file: Path | None, host: str = "127.0.0.1") -> Profile:
    """An account over TLS or STARTTLS; its password stored under the host it names."""
    extra: dict[str, object] = {"host": host}
    if ca_file is not None:
        extra["ca_file"] = str(ca_file)
    profile = imap_profile(root, user, security=security, port=port, extra=extra)
    secrets.store_password(ImapAccount("work", host, 0, security, user.name).keyring_name,
                           user.password)
    return profile


@pytest.fixture
def engines() -> Iterator[list[Engine]]:
    """Engines a test opens, closed whatever happens."""
    opened: list[Engine] = []
    yield opened
    for engine in opened:
        engine.close()


# a wrong password


def test_a_wrong_password_is_told_plainly_and_the_maildir_account_still_syncs(
        tmp_path: Path, forgiving_dovecot: Dovecot, engines: list[Engine]) -> None:
    mailuser = forgiving_dovecot.add_user()
    profile = imap_profile(tmp_path / "p", mailuser, password="not-the-password")
    mail = MailFolders.create(tmp_path / "mail")
    ConfigFile(profile.config).append("accounts", {
        "name": "archive", "kind": "maildir", "inbox": str(mail.inbox.path),
        "sent": str(mail.sent.path), "outbox": str(mail.outbox.path),
        "address": "alex@morgan-law.example"})
    mailuser.append(message(MEGGE, "On the server"))
    drop(mail.inbox, message(RAJ, "In the Maildir"), datetime.now(UTC))
    engine = open_engine(profile)
    engines.append(engine)

    report = engine.sync()

    (error,) = report.errors
    assert error.startswith("work: ")
    assert "wrong user name or password" in error
    # The Maildir account is read all the same.
    assert len(report.new_inquiries) == 1
    status = engine.status()
    assert [i.inquiry.subject for i in status.waiting] == ["In the Maildir"]
    work, archive = status.accounts
    assert (work.name, work.kind, work.online) == ("work", "imap", False)
    assert "wrong user name or password" in work.problem
    assert work.since is not None
    assert (archive.name, archive.online) == ("archive", True)
    assert [a.name for a in status.offline] == ["work"]
    (problem,) = [p for p in status.problems if "offline" in p]
    assert problem.startswith("work is offline")
    assert "wrong user name or password" in problem
    assert "the count may miss its mail" in problem


# certificates


def test_an_untrusted_certificate_is_refused_and_names_the_ca_file_option(
        tmp_path: Path, mailuser: MailUser, engines: list[Engine]) -> None:
    server = mailuser.server
    mailuser.append(message(MEGGE, "Over TLS"))
    engine = open_engine(tls_profile(tmp_path / "p", mailuser, "tls", server.imaps_port,
                                     None))
    engines.append(engine)

    report = engine.sync()

    (error,) = report.errors
    assert "certificate of 127.0.0.1 is not trusted" in error
    assert "--ca-file" in error
    assert "never turns verification off" in error
    assert report.seen == 0 and engine.status().count == 0
    (work,) = engine.status().accounts
    assert work.online is False and "not trusted" in work.problem
    assert engine.test_account(imap_account(engine)).online is False


def test_tls_with_the_servers_ca_file_reads_the_mail(
        tmp_path: Path, mailuser: MailUser, engines: list[Engine]) -> None:
    server = mailuser.server
    mailuser.append(message(MEGGE, "Over TLS"))
    engine = open_engine(tls_profile(tmp_path / "p", mailuser, "tls", server.imaps_port,
                                     server.cert))
    engines.append(engine)

    report = engine.sync()

    assert report.errors == []
    assert len(report.new_inquiries) == 1
    (item,) = engine.status().waiting
    assert item.inquiry.subject == "Over TLS" and item.client.name == "Margaret Hale"
    (work,) = engine.status().accounts
    assert work.online is True and work.problem == "" and work.last_sync is not None


def test_starttls_with_the_ca_file_reads_the_mail(
        tmp_path: Path, mailuser: MailUser, engines: list[Engine]) -> None:
    server = mailuser.server
    mailuser.append(message(RAJ, "Over STARTTLS"))
    engine = open_engine(tls_profile(tmp_path / "p", mailuser, "starttls", server.imap_port,
                                     server.cert))
    engines.append(engine)

    report = engine.sync()

    assert report.errors == []
    assert [i.inquiry.subject for i in engine.status().waiting] == ["Over STARTTLS"]
    assert engine.test_account(imap_account(engine)).online is True


def test_starttls_without_the_ca_file_is_refused_too(
        tmp_path: Path, mailuser: MailUser) -> None:
    server = mailuser.server
    profile = tls_profile(tmp_path / "p", mailuser, "starttls", server.imap_port, None)
    account = config.load(profile.config).accounts[0]
    assert isinstance(account, ImapAccount)
    with pytest.raises(ImapError) as caught:
        open_imap(account)
    assert "not trusted" in caught.value.message and "--ca-file" in caught.value.message


def test_plain_imap_to_another_machine_is_refused_by_the_settings(tmp_path: Path) -> None:
    profile = Profile(tmp_path / "p")
    profile.create()
    profile.config.write_text(PLAIN_ACCOUNT.format(host="imap.morgan-law.example"))
    with pytest.raises(ConfigError) as caught:
        config.load(profile.config)
    (problem,) = caught.value.problems
    assert problem.startswith("accounts[0].security:")
    assert "only allowed to this machine" in problem
    with pytest.raises(ConfigError):
        Engine.open(profile)
    # An editing command refuses to write such an account, and leaves the file alone.
    other = Profile(tmp_path / "other")
    other.create()
    before = other.config.read_bytes() if other.config.exists() else None
    with pytest.raises(ConfigError) as caught:
        ConfigFile(other.config).append("accounts", {
            "name": "work", "kind": "imap", "host": "imap.morgan-law.example",
            "security": "plain", "username": "alex"})
    assert caught.value.problems[0].startswith("accounts[0].security:")
    assert (other.config.read_bytes() if other.config.exists() else None) == before
    # Loopback is allowed: that is how a local bridge is reached.
    profile.config.write_text(PLAIN_ACCOUNT.format(host="127.0.0.1"))
    (bridge,) = config.load(profile.config).accounts
    assert isinstance(bridge, ImapAccount) and bridge.security == "plain"


# a server without IDLE


@pytest.fixture
def no_idle_dovecot() -> Iterator[Dovecot]:
    server = Dovecot(extra_conf=NO_IDLE).start()
    yield server
    server.close()


def test_a_server_without_idle_is_polled(tmp_path: Path, no_idle_dovecot: Dovecot,
                                         engines: list[Engine]) -> None:
    user = no_idle_dovecot.add_user()
    engine = open_engine(imap_profile(tmp_path / "p", user, extra={"poll_every": "3m"}))
    engines.append(engine)
    account = imap_account(engine)

    engine.start_watching()
    wait_until(lambda: engine.status().accounts[0].push is not None)
    (work,) = engine.status().accounts
    assert work.push is False
    assert work.online is True and work.problem == ""

    tested = engine.test_account(account)
    assert tested.online is True and tested.push is False
    assert "the server has no IDLE, so Heard checks for mail every 3 min" in tested.problem
    engine.stop_watching()

    # A watcher of its own, polling fast: it keeps asking for syncs, and the message
    # appended meanwhile is there to be synced.
    changes: list[str] = []
    states: list[tuple[ImapError | None, bool]] = []
    more = threading.Condition()

    def on_change(folder: str) -> None:
        with more:
            changes.append(folder)
            more.notify_all()

    def on_state(_folder: str, problem: ImapError | None, idle: bool) -> None:
        states.append((problem, idle))

    def connect() -> Connection:
        return open_imap(account)

    watcher = FolderWatcher("work:INBOX", "INBOX", connect, on_change, on_state,
                            poll_every=0.3)
    watcher.start()
    try:
        with more:
            assert more.wait_for(lambda: len(changes) >= 1, 10)
        assert states[0] == (None, False)   # online, and polling (no IDLE)
        user.append(message(MEGGE, "Polled"))
        with more:
            seen = len(changes)
            assert more.wait_for(lambda: len(changes) >= seen + 2, 10)
    finally:
        watcher.stop()
    assert watcher.alive is False
    assert set(changes) == {"INBOX"}
    assert all(problem is None for problem, _idle in states)
    report = engine.sync()
    assert [i.inquiry.subject for i in engine.status().waiting] == ["Polled"]
    assert report.errors == []


# no password, no server


def test_no_password_in_the_keyring_says_how_to_store_one(
        tmp_path: Path, mailuser: MailUser, engines: list[Engine]) -> None:
    profile = imap_profile(tmp_path / "p", mailuser)
    engine = open_engine(profile)
    engines.append(engine)
    assert secrets.delete_password(imap_account(engine).keyring_name)

    report = engine.sync()

    (error,) = report.errors
    assert "no password for" in error
    assert "`heard account password work`" in error
    (work,) = engine.status().accounts
    assert work.online is False and "heard account password work" in work.problem
    assert any("heard account password work" in p for p in engine.status().problems)


def test_a_closed_port_is_told_as_refused(
        tmp_path: Path, mailuser: MailUser, engines: list[Engine]) -> None:
    port = free_port()   # nothing listens there
    engine = open_engine(imap_profile(tmp_path / "p", mailuser, port=port))
    engines.append(engine)

    report = engine.sync()

    (error,) = report.errors
    assert f"127.0.0.1:{port} refused the connection" in error
    (work,) = engine.status().accounts
    assert work.online is False and "refused the connection" in work.problem
    health = engine.test_account(imap_account(engine))
    assert health.online is False and "refused the connection" in health.problem
