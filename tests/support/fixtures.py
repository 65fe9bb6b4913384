"""pytest fixtures for tests that need a real desktop (X display + tray host + notifications).

In ``tests/conftest.py``::

    from tests.support.fixtures import desktop_session  # noqa: F401

Environment knobs: ``HEARD_TEST_TRAY`` (``xembed`` default, ``sni``, ``none``) and
``HEARD_DESKTOP_LOGS`` (a directory that keeps the component logs after the run).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.desktop import DesktopSession


@pytest.fixture(scope="session")
def desktop_session() -> Iterator[DesktopSession]:
    """One private desktop for the whole pytest session; torn down at the end.

    Pass ``desktop_session.env`` as ``env=`` to subprocesses (e.g. the app under test).
    """
    with DesktopSession(
        tray=os.environ.get("HEARD_TEST_TRAY", "xembed"),
        log_dir=os.environ.get("HEARD_DESKTOP_LOGS") or None,
    ) as session:
        yield session
