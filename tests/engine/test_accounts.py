"""The engine's IMAP accounts (heard.engine.accounts) against a real Dovecot and a real
Secret Service keyring: push, catch-up after the server was down, a killed connection,
UIDVALIDITY, folders named in settings; and accounts that cannot be read, each problem
told in plain words, the account shown offline and the rest of the app working (a wrong
password, certificates, a server without IDLE, no password, a closed port). What every
mail source does (Maildir too) is in test_intake_contract.py."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from heard.config import ConfigFile, ImapAccount
from heard.engine import Engine
from heard.engine.accounts import SyncQueue
from heard.engine.logins import open_imap
from heard.mail.imap import Connection, FolderState, ImapError
from heard.mail.imap.watch import FolderWatcher
from heard.system import secrets
from heard.system.paths import Profile
from tests.conftest import CLIENTS
from tests.support.dovecot import NO_IDLE, Dovecot, MailUser, free_port
from tests.support.events import Events, wait_until
from tests.support.imap import imap_profile, tls_profile
from tests.support.mail import MEGGE, RAJ, MailFolders, drop, message


def open_engine(profile: Profile) -> Engine:
    engine = Engine.open(profile)
    for client in CLIENTS:
        engine.clients.add(client)
    return engine


def imap_account(engine: Engine) -> ImapAccount:
    account = engine.settings.accounts[0]
    assert isinstance(account, ImapAccount)
    return account


@pytest.fixture
def engines() -> Iterator[list[Engine]]:
    """Engines a test opens, closed whatever happens."""
    opened: list[Engine] = []
    yield opened
    for engine in opened:
        engine.close()


@pytest.fixture
def no_idle_dovecot() -> Iterator[Dovecot]:
    server = Dovecot(extra_conf=NO_IDLE).start()
    yield server
    server.close()


def waiting_from(engine: Engine) -> list[str]:
    return sorted(item.inquiry.sender for item in engine.status().waiting)


def test_a_pushed_message_reaches_the_engine_and_a_follow_up_adds_no_one(
        imap_engine: Engine, mailuser: MailUser) -> None:
    events = Events(imap_engine)
    imap_engine.start_watching()
    wait_until(lambda: any(a.push for a in imap_engine.status().accounts))
    mailuser.append(message(MEGGE, "Lease", message_id="<lease-1@hale.example>"))
    event = events.wait_for(lambda e: e.kind == "changed" and bool(e.new))
    status = imap_engine.status()
    assert status.count == 1
    assert [i.inquiry.id for i in status.waiting] == list(event.new)
    assert status.waiting[0].inquiry.subject == "Lease"

    # The client writes again in the same thread, delivered over LMTP this time.
    mailuser.deliver(message(MEGGE, "Re: Lease", message_id="<lease-2@hale.example>",
                             in_reply_to="<lease-1@hale.example>"))
    wait_until(lambda: imap_engine.store.seen_count() >= 2)
    status = imap_engine.status()
    assert status.count == 1
    assert status.waiting[0].inquiry.thread_ids[-1] == "<lease-2@hale.example>"


def test_first_sync_reads_headers_only_and_never_marks_mail_read(
        imap_engine: Engine, mailuser: MailUser) -> None:
    mailuser.append(message(MEGGE, "Unread question"))
    report = imap_engine.sync()
    assert len(report.new_inquiries) == 1
    client = mailuser.client()
    try:
        client.select_folder("INBOX", readonly=True)
        flags = client.get_flags(client.search(["ALL"]))
    finally:
        client.logout()
    assert all(b"\\Seen" not in f for f in flags.values())


def test_an_unchanged_mailbox_is_resynced_with_one_status_per_folder(
        imap_engine: Engine, mailuser: MailUser) -> None:
    mailuser.append(message(MEGGE, "Lease"))
    assert imap_engine.sync().seen == 1
    again = imap_engine.sync()
    assert again.seen == 0 and not again.errors
    account = imap_engine.settings.accounts[0]
    assert isinstance(account, ImapAccount)
    known = imap_engine.store.imap_state("work", "INBOX")
    assert known is not None
    conn = open_imap(account)
    try:
        delta = conn.sync_folder("INBOX", FolderState(*known), date(2026, 1, 1),
                                 lambda _u, _h: True)
    finally:
        conn.close()
    assert delta.unchanged and delta.new == []


def test_catch_up_after_the_server_was_down_takes_each_message_once(
        tmp_path: Path, own_dovecot: Dovecot, real_keyring: object) -> None:
    user = own_dovecot.add_user()
    engine = Engine.open(imap_profile(tmp_path / "p", user))
    try:
        for client in CLIENTS:
            engine.clients.add(client)
        user.append(message(MEGGE, "Before"))
        engine.start_watching()
        wait_until(lambda: engine.status().count == 1)
        own_dovecot.stop()
        wait_until(lambda: bool(engine.status().offline))
        status = engine.status()
        assert any("offline" in p for p in status.problems)
        # Mail keeps arriving at the server's store while IMAP is down.
        for n in range(3):
            user.write_into_store(message(RAJ, f"While down {n}"), f"down{n}")
        own_dovecot.start()
        wait_until(lambda: len(engine.status().waiting) == 4, timeout=30)
        wait_until(lambda: not engine.status().offline, timeout=30)
        assert engine.sync().seen == 0   # nothing left over, nothing twice
        subjects = sorted(i.inquiry.subject for i in engine.status().waiting)
        assert subjects == ["Before", "While down 0", "While down 1", "While down 2"]
    finally:
        engine.close()


def test_a_killed_connection_is_reopened_and_nothing_is_missed(
        imap_engine: Engine, mailuser: MailUser) -> None:
    imap_engine.start_watching()
    wait_until(lambda: any(a.push for a in imap_engine.status().accounts))
    mailuser.server.kick(mailuser)
    mailuser.deliver(message(RAJ, "After the cut"))
    wait_until(lambda: imap_engine.status().count == 1, timeout=30)
    assert imap_engine.sync().seen == 0
    assert len(imap_engine.status().waiting) == 1


def test_a_new_uidvalidity_rereads_the_folder_without_counting_twice(
        tmp_path: Path, own_dovecot: Dovecot, real_keyring: object) -> None:
    user = own_dovecot.add_user()
    engine = Engine.open(imap_profile(tmp_path / "p", user))
    try:
        for client in CLIENTS:
            engine.clients.add(client)
        user.append(message(MEGGE, "Old one"))
        engine.sync()
        before = engine.store.imap_state("work", "INBOX")
        own_dovecot.stop()
        user.bump_uidvalidity()
        user.write_into_store(message(RAJ, "New one"), "new1")
        own_dovecot.start()
        report = engine.sync()
        assert not report.errors
        after = engine.store.imap_state("work", "INBOX")
        assert before is not None and after is not None and after[0] != before[0]
        subjects = sorted(i.inquiry.subject for i in engine.status().waiting)
        assert subjects == ["New one", "Old one"]
    finally:
        engine.close()


def test_folders_can_be_named_in_settings(tmp_path: Path, mailuser: MailUser,
                                         real_keyring: object) -> None:
    client = mailuser.client()
    try:
        client.create_folder("Clients")
    finally:
        client.logout()
    engine = Engine.open(imap_profile(tmp_path / "p", mailuser,
                                      extra={"folders": ["INBOX", "Clients"]}))
    try:
        engine.clients.add(CLIENTS[0])
        mailuser.append(message(MEGGE, "Filed by a rule"), folder="Clients")
        mailuser.append(message(MEGGE, "In the inbox", message_id="<in@hale.example>"))
        engine.sync()
        assert len(engine.status().waiting) == 2
    finally:
        engine.close()


def test_a_new_uidvalidity_does_not_bring_answered_inquiries_back(
        tmp_path: Path, own_dovecot: Dovecot, real_keyring: object) -> None:
    user = own_dovecot.add_user()
    engine = Engine.open(imap_profile(tmp_path / "p", user))
    try:
        engine.clients.add(CLIENTS[0])
        user.append(message(MEGGE, "Old one", message_id="<old@hale.example>"))
        engine.sync()
        user.append(message(user.address, "Re: Old one", to=MEGGE,
                            in_reply_to="<old@hale.example>", references="<old@hale.example>"),
                    folder="Sent")
        engine.sync()
        assert engine.status().waiting == []
        own_dovecot.stop()
        user.bump_uidvalidity()
        own_dovecot.start()
        report = engine.sync()
        assert report.new_inquiries == [] and not report.errors
        assert engine.status().waiting == []
    finally:
        engine.close()


@pytest.mark.usefixtures("real_keyring")
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


@pytest.mark.usefixtures("real_keyring")
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


@pytest.mark.usefixtures("real_keyring")
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


@pytest.mark.usefixtures("real_keyring")
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


@pytest.mark.usefixtures("real_keyring")
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


@pytest.mark.usefixtures("real_keyring")
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


@pytest.mark.usefixtures("real_keyring")
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


def test_the_syncs_the_watchers_ask_for_run_one_at_a_time_and_never_pile_up() -> None:
    """A burst of pushes from several accounts: each account waiting is one sync, and no
    two syncs run at once (heard.engine.accounts.SyncQueue)."""
    started, release = threading.Event(), threading.Event()
    runs: list[str] = []
    running = [0, 0]   # now, most at once
    lock = threading.Lock()

    def sync(name: str) -> None:
        with lock:
            running[0] += 1
            running[1] = max(running)
            runs.append(name)
        started.set()
        release.wait(30)
        with lock:
            running[0] -= 1

    queue = SyncQueue(sync)
    queue.request("work")
    assert started.wait(30)
    for name in ("work", "home", "work", "home", "work"):
        queue.request(name)                  # while the first sync runs
    release.set()
    wait_until(lambda: len(runs) == 3)
    queue.stop()                             # (waits for the thread: nothing runs after)
    assert runs == ["work", "work", "home"]
    assert running == [0, 1]
    queue.request("work")                    # stopped: asks for nothing more
    assert runs == ["work", "work", "home"]


def test_at_idle_an_account_holds_one_connection_in_idle_and_sent_is_still_watched(
        imap_engine: Engine, mailuser: MailUser, monkeypatch: pytest.MonkeyPatch) -> None:
    """one-connection: the watcher's IDLE on INBOX is the only connection left once the
    jobs are done (each lane's is let go after them); Sent is looked at by STATUS on that
    connection, so the user's reply from another client still closes the inquiry."""
    import heard.mail.imap.worker

    monkeypatch.setattr(heard.mail.imap.worker, "LINGER", 0.5)
    server = mailuser.server
    before = server.logins(mailuser)
    imap_engine.start_watching()
    mailuser.append(message(MEGGE, "Lease", message_id="<lease-9@hale.example>"))
    wait_until(lambda: imap_engine.status().count == 1)
    wait_until(lambda: server.connections(mailuser) == 1)
    # The watcher's, the catch-up sync's and (its connection let go) the push's sync's:
    # where four were kept (two IDLEs, two lanes) and none let go.
    assert server.logins(mailuser) - before <= 3
    mailuser.append(message(mailuser.address, "Re: Lease", to=MEGGE,
                            in_reply_to="<lease-9@hale.example>",
                            references="<lease-9@hale.example>"), folder="Sent")
    # Sent is looked at after each change in INBOX (and every poll_every): Raj's message.
    mailuser.append(message(RAJ, "Drawings"))
    wait_until(lambda: [i.client.name for i in imap_engine.status().waiting]
               == ["Rajesh Patel"], timeout=30)
    wait_until(lambda: server.connections(mailuser) == 1)


def test_watching_starts_with_one_login_and_settles_on_one_connection(
        imap_engine: Engine, mailuser: MailUser, monkeypatch: pytest.MonkeyPatch) -> None:
    """one-connection, against Dovecot's own count: starting to watch logs in once (the
    watcher's connection, lent to the worker for the catch-up sync it asks for, then taken
    back for IDLE) where the watcher and the sync lane made two (four before
    one-connection); the account holds one connection (doveadm who), in IDLE."""
    import heard.mail.imap.worker

    monkeypatch.setattr(heard.mail.imap.worker, "LINGER", 0.5)
    server = mailuser.server
    mailuser.append(message(RAJ, "Drawings"))
    before = server.logins(mailuser)
    imap_engine.start_watching()
    wait_until(lambda: imap_engine.status().count == 1)
    wait_until(lambda: imap_engine.accounts()[0].push is True)
    wait_until(lambda: server.connections(mailuser) == 1)
    assert server.logins(mailuser) - before == 1
    # Still pushed: a message after the catch-up reaches the engine.
    mailuser.append(message(MEGGE, "Lease"))
    wait_until(lambda: imap_engine.status().count == 2, timeout=30)


def test_a_sync_then_watching_logs_in_once(
        imap_engine: Engine, mailuser: MailUser) -> None:
    """As the tray starts (one login per account): the catch-up sync logs in, the watcher
    takes the connection it kept, lends it back for its own catch-up and IDLEs on it."""
    server = mailuser.server
    mailuser.append(message(RAJ, "Drawings"))
    before = server.logins(mailuser)
    assert imap_engine.sync().errors == []
    imap_engine.start_watching()
    wait_until(lambda: imap_engine.accounts()[0].push is True)
    wait_until(lambda: server.connections(mailuser) == 1)
    assert imap_engine.status().count == 1
    assert server.logins(mailuser) - before == 1
    before = server.logins(mailuser)
    mailuser.append(message(MEGGE, "Lease"))   # (a login of its own)
    wait_until(lambda: imap_engine.status().count == 2, timeout=30)
    # The push's sync has a connection of its own: the watcher's stays in IDLE.
    assert server.logins(mailuser) - before == 2
