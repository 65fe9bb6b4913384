"""One owner of an IMAP account's connections (heard.mail.imap.worker), against a real
Dovecot: kept connections per lane, a dead one replaced once, and a worker replaced only
when the engine takes up new settings."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from heard.mail.imap import Connection, ImapError, Problem, Security, ServerSettings, connect
from heard.mail.imap.worker import AccountWorker, Lane, Workers
from tests.support.dovecot import MailUser
from tests.support.events import wait_until
from tests.support.relay import Relay


@dataclass(frozen=True)
class Account:
    name: str
    port: int
    user: str
    password: str


def login(account: Account) -> Connection:
    settings = ServerSettings("127.0.0.1", account.port, Security.PLAIN, account.user)
    return connect(settings, account.password, timeout=5)


@pytest.fixture
def account(mailuser: MailUser) -> Account:
    return Account("work", mailuser.server.imap_port, mailuser.name, mailuser.password)


def test_a_lane_takes_over_an_idle_lanes_connection_and_a_busy_one_has_its_own(
        account: Account) -> None:
    """one-connection: a sync after a claim (or the other way round) needs no login of its
    own; a claim while a sync runs still does not wait for it."""
    logins: list[Connection] = []

    def counted() -> Connection:
        logins.append(login(account))
        return logins[-1]

    worker = AccountWorker("work", counted)
    try:
        first = worker.run(lambda conn: conn)
        assert worker.run(lambda conn: conn) is first          # kept, not a new login
        assert worker.run(lambda conn: conn, lane=Lane.SYNC) is first   # taken over
        syncing, claiming = worker.run(lambda conn: (conn, worker.run(lambda c: c)),
                                       lane=Lane.SYNC)
        assert syncing is first and claiming is not first
        assert worker.run(lambda conn: conn, lane=Lane.SYNC) is first
        assert len(logins) == 2
    finally:
        worker.close()


def test_a_watchers_connection_is_lent_to_the_next_job_and_taken_back_after_it(
        account: Account) -> None:
    """One login at start: the watcher takes the connection a sync kept (hand_over), lends
    it for its catch-up (the next job runs on it instead of logging in) and takes it back
    when that job is done; one a job failed on does not come back."""
    logins: list[Connection] = []

    def counted() -> Connection:
        logins.append(login(account))
        return logins[-1]

    worker = AccountWorker("work", counted)
    try:
        first = worker.run(lambda conn: conn, lane=Lane.SYNC)
        assert worker.hand_over() is first
        assert worker.hand_over() is None                     # the worker kept nothing
        worker.lend(first)
        assert worker.run(lambda conn: conn, lane=Lane.SYNC) is first
        assert worker.take_back(first)
        assert worker.run(lambda conn: conn) is not first     # back with the watcher
        assert len(logins) == 2
        spare = worker.hand_over()
        assert spare is logins[1]
        worker.lend(spare)

        def fails(conn: Connection) -> None:
            raise ImapError(Problem.PROTOCOL, "the job's own failure")

        with pytest.raises(ImapError):
            worker.run(fails, lane=Lane.SYNC, retry=lambda _e: False)
        assert not worker.take_back(spare)                    # dropped with the job
        first.close()
    finally:
        worker.close()


def test_a_kept_connection_that_died_is_replaced_once(account: Account) -> None:
    worker = AccountWorker("work", lambda: login(account))
    try:
        first = worker.run(lambda conn: conn)
        first.abort()                        # as a server restart or a sleeping laptop would
        folders = worker.run(lambda conn: conn.folder_exists("INBOX"))
        assert folders
        assert worker.run(lambda conn: conn) is not first

        def always_fails(_conn: Connection) -> None:
            raise ImapError(Problem.UNREACHABLE, "the server hung up")

        tries: list[Connection] = []
        with pytest.raises(ImapError):
            worker.run(lambda conn: tries.append(conn) or always_fails(conn))
        assert len(tries) == 2               # once on the kept one, once on a fresh one
    finally:
        worker.close()


def test_only_new_settings_replace_a_worker(account: Account) -> None:
    workers: Workers[Account] = Workers(login)
    worker = workers.of(account)
    try:
        worker.run(lambda conn: conn)
        changed = Account(account.name, account.port, account.user, "a new password")
        # A job asked for with other settings still goes to the account's worker: only the
        # engine, taking the settings up, replaces it (a job never closes another's).
        assert workers.of(changed) is worker
        assert worker.run(lambda conn: conn.folder_exists("INBOX"))
        workers.retain([changed])
        with pytest.raises(ImapError, match="its settings changed; try again"):
            worker.run(lambda conn: conn)
        with pytest.raises(ImapError, match="its settings changed"):
            worker.watch([])                 # a closed worker starts no watchers
        replacement = workers.of(changed)
        assert replacement is not worker and workers.known("work") is replacement
        workers.retain([])
        with pytest.raises(ImapError, match="work: it is no longer set up"):
            replacement.run(lambda conn: conn)
        assert workers.known("work") is None
    finally:
        workers.close()


def test_after_a_sleep_reconnect_drops_the_kept_connections(mailuser: MailUser) -> None:
    """A kept connection that went dead in a sleep (tests/support/relay.py) would hold the
    next job until the socket's timeout: after reconnect() the next job runs once, on a new
    connection; a job already waiting on a dead one fails at once and runs again."""
    relay = Relay(mailuser.server.imap_port)
    settings = ServerSettings("127.0.0.1", relay.port, Security.PLAIN, mailuser.name)
    workers: Workers[Account] = Workers(
        lambda _a: connect(settings, mailuser.password, timeout=600))
    worker = workers.of(Account("work", relay.port, mailuser.name, mailuser.password))
    calls: list[Lane] = []

    def job(lane: Lane) -> Callable[[Connection], Connection]:
        def run(conn: Connection) -> Connection:
            calls.append(lane)
            conn.noop()
            return conn
        return run

    try:
        # Both lanes hold a connection (a claim asked for while a sync runs).
        first = worker.run(lambda conn: {Lane.SYNC: job(Lane.SYNC)(conn),
                                         Lane.COMMANDS: worker.run(job(Lane.COMMANDS))},
                           Lane.SYNC)
        assert relay.connections == 2
        relay.sleep()
        # A job on the sync lane waits on its dead connection when the machine wakes.
        done: list[Connection] = []
        stuck = threading.Thread(target=lambda: done.append(worker.run(job(Lane.SYNC),
                                                                       Lane.SYNC)))
        stuck.start()
        wait_until(lambda: calls.count(Lane.SYNC) == 2)   # it is in its NOOP
        relay.wake()
        workers.reconnect()
        stuck.join(timeout=60)
        assert done and done[0] is not first[Lane.SYNC]
        assert calls.count(Lane.SYNC) == 3                 # failed at once, ran again once
        # The idle lane's next job runs once, on a connection made after the wake (the
        # sync lane's, idle now: no login of its own).
        assert worker.run(job(Lane.COMMANDS)) is done[0]
        assert calls.count(Lane.COMMANDS) == 2
        assert relay.connections == 3
    finally:
        workers.close()
        relay.close()


def test_a_login_begun_before_a_sleep_is_given_up_at_the_wake(mailuser: MailUser) -> None:
    """A connection being made when the machine slept (its greeting lost in the sleep)
    would hold the lane's job, and every job behind it, until the socket's timeout (600 s
    here): reconnect() gives that login up and the job logs in anew at once."""
    relay = Relay(mailuser.server.imap_port)
    settings = ServerSettings("127.0.0.1", relay.port, Security.PLAIN, mailuser.name)
    workers: Workers[Account] = Workers(
        lambda _a: connect(settings, mailuser.password, timeout=600))
    worker = workers.of(Account("work", relay.port, mailuser.name, mailuser.password))
    done: list[bool] = []
    try:
        relay.sleep()                            # the greeting waits for the wake...
        job = threading.Thread(target=lambda: done.append(
            worker.run(lambda conn: conn.folder_exists("INBOX"))))
        job.start()
        wait_until(lambda: relay.connections == 1)
        relay.sleep()                            # ...and is lost: a login from before
        relay.wake()
        workers.reconnect()
        job.join(timeout=60)
        assert done == [True]
        assert relay.connections == 2            # given up, and one login more
    finally:
        workers.close()
        relay.close()
