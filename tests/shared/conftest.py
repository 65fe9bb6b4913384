"""Shared state between Heard instances, against real Dovecots on loopback.

`shared_dovecot` (this folder's session): METADATA, ACLs and a shared namespace
(tests/support/dovecot.SHARED_STATE); `plain_dovecot`: one that does not advertise
CONDSTORE or QRESYNC (NO_CONDSTORE). Each test takes its own users from them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from heard.mail.imap import Connection
from heard.mail.imap.commands import imap_client as raw_imap
from tests.support.dovecot import NO_CONDSTORE, SHARED_STATE, Dovecot, MailUser

# Test mail needs no fsync; without it the race runs about twice as fast on a busy box.
FAST = "mail_fsync = never\n"


@pytest.fixture(scope="session")
def shared_dovecot() -> Iterator[Dovecot]:
    server = Dovecot(extra_conf=SHARED_STATE + FAST).start()
    yield server
    server.close()


@pytest.fixture(scope="session")
def plain_dovecot() -> Iterator[Dovecot]:
    server = Dovecot(extra_conf=NO_CONDSTORE + FAST).start()
    yield server
    server.close()


@pytest.fixture
def owner(shared_dovecot: Dovecot) -> MailUser:
    return shared_dovecot.add_user()


@pytest.fixture
def conns() -> Iterator[list[Connection]]:
    """Connections a test opens (append to the list); all closed at the end."""
    opened: list[Connection] = []
    yield opened
    for conn in opened:
        if getattr(raw_imap(conn), "_idle_tag", None) is not None:
            conn.abort()   # a test that failed in IDLE: logging out would wait 30 s
        conn.close()
