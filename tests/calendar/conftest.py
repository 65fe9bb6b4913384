"""CalDAV tests run against real servers on loopback: one Radicale and one Xandikos for
the whole session (each test has its own user or calendars); tests that stop or
reconfigure a server start their own with `own_dav`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.dav import DavServer, Radicale, Xandikos

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
