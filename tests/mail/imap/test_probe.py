"""heard.mail.imap.probe against a real Dovecot: one login that finds the folders, the Sent
folder and IDLE, and logs out."""

from __future__ import annotations

from datetime import timedelta

import pytest

from heard.mail.imap import ImapError, Problem, Security, ServerSettings
from heard.mail.imap.probe import Probe, probe
from tests.support.dovecot import MailUser


def server(user: MailUser) -> ServerSettings:
    return ServerSettings("127.0.0.1", user.server.imap_port, Security.PLAIN, user.name)


def test_a_probe_finds_the_folders_sent_and_idle(mailuser: MailUser) -> None:
    found = probe(server(mailuser), mailuser.password, ["INBOX"], "", timedelta(minutes=2))
    assert found == Probe(missing=(), sent="Sent", idle=True, notes=())
    assert found.usable


def test_a_probe_names_what_is_missing(mailuser: MailUser) -> None:
    found = probe(server(mailuser), mailuser.password, ["INBOX", "Clients"], "Outgoing",
                  timedelta(minutes=2))
    assert (found.missing, found.sent, found.usable) == (("Clients",), None, False)
    assert found.notes == ("no folder 'Clients' on the server",
                           "no Sent folder found (set sent_folder)")


def test_a_server_that_cannot_be_reached_is_an_imap_error(mailuser: MailUser) -> None:
    elsewhere = ServerSettings("127.0.0.1", 1, Security.PLAIN, mailuser.name)
    with pytest.raises(ImapError) as info:
        probe(elsewhere, mailuser.password, ["INBOX"], "", timedelta(minutes=2))
    assert info.value.problem is Problem.UNREACHABLE
