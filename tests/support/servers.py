"""pytest fixtures for the real mail and calendar servers on loopback, for every test folder.

In ``tests/conftest.py``::

    from tests.support.servers import dovecot, faulty_smtp, ...  # noqa: F401

- ``dovecot`` (session): one Dovecot (IMAP, LMTP, SASL) for the whole run;
  ``mailuser`` gives each test its own user on it. ``own_dovecot``: a test's private one,
  for tests that stop, restart or reconfigure the server.
- ``postfix`` (session): Postfix submission (STARTTLS and implicit TLS) delivering into
  ``dovecot``. Root only: skipped otherwise. Never log in to it with a wrong password: the
  SASL check is Dovecot's, whose penalty would slow every later login from 127.0.0.1.
- ``forgiving_postfix`` (session): the same, with a Dovecot of its own that has no auth
  penalty (``forgiving_postfix.dovecot.add_user()``), for wrong passwords.
- ``shared_dovecot`` (session): a Dovecot with METADATA, ACLs and a shared namespace
  (tests/support/dovecot.SHARED_STATE), for Heard on several devices and the assistant's
  Heard; ``plain_dovecot`` (session): one that does not advertise CONDSTORE or QRESYNC
  (NO_CONDSTORE). Each test takes its own users from them.
- ``forgiving_dovecot`` (session): a Dovecot without the auth penalty, for tests that log in
  with a wrong password on purpose (each takes its own user).
- ``faulty_smtp``: the session's one FaultySmtp (``faulty_smtp_server``), handed to each test
  reset: running, no faults pending, nothing received.
- ``radicale``, ``xandikos`` (session): one CalDAV server of each kind for the whole run (each
  test has its own user or calendars); ``dav`` is each of them in turn (the same test runs
  against both); ``own_dav``: a server of each kind of the test's own, free to stop and
  restart.

A server starts when the first test asks for it, not before; tests that use none start
none. tests/support/smtp.py (aiosmtpd) is imported only then.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.support.dav import DavServer, Radicale, Xandikos
from tests.support.dovecot import (
    NO_AUTH_PENALTY,
    NO_CONDSTORE,
    SHARED_STATE,
    Dovecot,
    MailUser,
)

if TYPE_CHECKING:
    from tests.support.smtp import FaultySmtp, Postfix
@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    server = Dovecot().start()
    yield server
    server.close()


@pytest.fixture
def own_dovecot() -> Iterator[Dovecot]:
    server = Dovecot().start()
    yield server
    server.close()


@pytest.fixture
def mailuser(dovecot: Dovecot) -> MailUser:
    return dovecot.add_user()


@pytest.fixture(scope="session")
def forgiving_dovecot() -> Iterator[Dovecot]:
    """A server for wrong passwords: the session's Dovecot would make every later login
    from 127.0.0.1 wait seconds after one (its auth penalty, reset by the next success)."""
    server = Dovecot(extra_conf=NO_AUTH_PENALTY).start()
    yield server
    server.close()


# Test mail needs no fsync; without it the claim race runs about twice as fast on a busy box.
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


@pytest.fixture(scope="session")
def postfix(dovecot: Dovecot) -> Iterator[Postfix]:
    if os.geteuid() != 0:
        pytest.skip("the test Postfix runs as root only")
    from tests.support.smtp import Postfix

    with Postfix(dovecot) as server:
        yield server


@pytest.fixture(scope="session")
def forgiving_postfix() -> Iterator[Postfix]:
    if os.geteuid() != 0:
        pytest.skip("the test Postfix runs as root only")
    from tests.support.smtp import Postfix

    server = Dovecot(extra_conf=NO_AUTH_PENALTY).start()
    try:
        with Postfix(server) as postfix:
            yield postfix
    finally:
        server.close()


@pytest.fixture(scope="session")
def faulty_smtp_server(dovecot: Dovecot) -> Iterator[FaultySmtp]:
    from tests.support.smtp import FaultySmtp

    with FaultySmtp(dovecot) as server:
        yield server


@pytest.fixture
def faulty_smtp(faulty_smtp_server: FaultySmtp) -> FaultySmtp:
    faulty_smtp_server.reset()
    return faulty_smtp_server


# CalDAV servers

KINDS = {"radicale": Radicale, "xandikos": Xandikos}


@pytest.fixture(scope="session")
def radicale() -> Iterator[DavServer]:
    server = Radicale().start()
    yield server
    server.close()


@pytest.fixture(scope="session")
def xandikos() -> Iterator[DavServer]:
    server = Xandikos().start()
    yield server
    server.close()


@pytest.fixture(params=sorted(KINDS))
def dav(request: pytest.FixtureRequest) -> DavServer:
    """Each server in turn (the same test runs against both)."""
    server: DavServer = request.getfixturevalue(request.param)
    return server


@pytest.fixture(params=sorted(KINDS))
def own_dav(request: pytest.FixtureRequest) -> Iterator[DavServer]:
    """A server of each kind of the test's own, free to stop and restart."""
    server = KINDS[request.param]().start()
    yield server
    server.close()
