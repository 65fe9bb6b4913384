"""Shared state between Heard instances, against real Dovecots on loopback
(`shared_dovecot`, `plain_dovecot`: tests/support/servers.py): the mailbox's owner as a
user of its own, and the connections a test opens."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from heard.mail.imap import Connection
from heard.mail.imap.commands import imap_client as raw_imap
from tests.support.dovecot import Dovecot, MailUser


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
