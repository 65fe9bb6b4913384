"""The IDLE watcher on its own, against a real Dovecot: renewal, reconnection, stopping."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from heard.mail.imap import Connection, ImapError, Security, ServerSettings, connect
from heard.mail.imap.watch import FolderWatcher
from tests.support.dovecot import Dovecot, MailUser
from tests.support.events import wait_until
from tests.support.mail import message
from tests.support.relay import Relay


class Recorder:
    def __init__(self) -> None:
        self.changes = 0
        self.states: list[tuple[bool, bool]] = []   # (online, idle)
        self.lock = threading.Lock()

    def changed(self, _folder: str) -> None:
        with self.lock:
            self.changes += 1

    def state(self, _folder: str, problem: ImapError | None, idle: bool) -> None:
        with self.lock:
            self.states.append((problem is None, idle))


def connector(user: MailUser) -> Callable[[], Connection]:
    settings = ServerSettings("127.0.0.1", user.server.imap_port, Security.PLAIN, user.name)
    return lambda: connect(settings, user.password, timeout=5)


def test_idle_is_renewed_and_still_hears_new_mail(mailuser: MailUser) -> None:
    seen = Recorder()
    watcher = FolderWatcher("t:INBOX", "INBOX", connector(mailuser), seen.changed, seen.state,
                            renew_after=0.3)
    watcher.start()
    try:
        wait_until(lambda: seen.changes >= 1)  # the catch-up request after connecting
        assert seen.states[-1] == (True, True)
        threading.Event().wait(1.2)             # several renewals, nothing new
        quiet = seen.changes
        mailuser.append(message("raj@patel-eng.example", "After renewals"))
        wait_until(lambda: seen.changes > quiet)
    finally:
        watcher.stop()
    assert not watcher.alive


def test_a_server_that_comes_up_later_is_reached_with_backoff(tmp_path: Path) -> None:
    server = Dovecot().start()   # started once, so its ports are known to be usable
    user = server.add_user()
    server.stop()
    seen = Recorder()
    watcher = FolderWatcher("t:INBOX", "INBOX", connector(user), seen.changed, seen.state)
    watcher.start()
    try:
        wait_until(lambda: bool(seen.states))
        assert seen.states[0] == (False, False)   # offline: refused
        server.start()
        wait_until(lambda: (True, True) in seen.states, timeout=30)
        wait_until(lambda: seen.changes >= 1)
    finally:
        watcher.stop()
        server.close()
    assert not watcher.alive


@pytest.mark.parametrize("with_folder_lookup", [False, True])
def test_stopping_wakes_the_watcher_out_of_idle_at_once(
        mailuser: MailUser, with_folder_lookup: bool) -> None:
    seen = Recorder()
    folder: str | Callable[[Connection], str | None] = (
        (lambda conn: conn.find_sent()) if with_folder_lookup else "INBOX")
    watcher = FolderWatcher("t", folder, connector(mailuser), seen.changed, seen.state)
    watcher.start()
    wait_until(lambda: seen.changes >= 1)
    watcher.stop(timeout=3)
    assert not watcher.alive                      # it did not wait for the 9-minute renewal
    assert watcher.folder == ("Sent" if with_folder_lookup else "INBOX")


def test_after_a_sleep_reconnect_connects_again_at_once_and_catches_up(
        mailuser: MailUser) -> None:
    """Its connection went dead in the sleep (tests/support/relay.py): nothing on it ever
    arrives again, and the socket's timeout is far off. reconnect() drops it and connects
    again now, reports no failure, and asks for the catch-up sync of a (re)connection."""
    relay = Relay(mailuser.server.imap_port)
    settings = ServerSettings("127.0.0.1", relay.port, Security.PLAIN, mailuser.name)
    seen = Recorder()
    watcher = FolderWatcher("t:INBOX", "INBOX",
                            lambda: connect(settings, mailuser.password, timeout=600),
                            seen.changed, seen.state)
    watcher.start()
    try:
        wait_until(lambda: seen.changes >= 1)
        assert relay.connections == 1
        relay.sleep()
        mailuser.append(message("raj@patel-eng.example", "While you slept"))
        relay.wake()
        asleep = seen.changes
        watcher.reconnect()
        wait_until(lambda: seen.changes > asleep)    # the catch-up after reconnecting
        assert relay.connections == 2
        assert seen.states == [(True, True), (True, True)]   # never reported offline
        # Pushes reach it on the new connection.
        again = seen.changes
        mailuser.append(message("raj@patel-eng.example", "After the resume"))
        wait_until(lambda: seen.changes > again)
    finally:
        watcher.stop()
        relay.close()
    assert not watcher.alive
