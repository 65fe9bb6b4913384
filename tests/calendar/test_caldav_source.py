"""CalDAV against real Radicale and Xandikos servers; the same calendar read from a local
.ics file and a vdir folder gives the same answers (see tests/support/calendar.py)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from heard.calendar.caldav_source import (
    CalDavCache,
    CalendarInfo,
    CalendarUnavailable,
    connect,
    discover,
)
from heard.calendar.ics import busy_intervals
from heard.domain.busy import BusyInterval, busy_at
from tests.support.calendar import (
    BERLIN,
    CHECKS,
    EXPECTED,
    ME,
    OBJECTS,
    WINDOW,
    as_table,
    min_free,
    one_file,
    vcalendar,
    vevent,
)
from tests.support.dav import DavServer, DavUser, Radicale

Busy = Callable[[datetime, datetime], tuple[list[BusyInterval], list[Any]]]


def upload(user: DavUser, name: str = "work") -> str:
    url = user.make_calendar(name)
    for uid, text in OBJECTS.items():
        user.put(url, f"{uid}.ics", text)
    return url


@contextmanager
def recorded(client: Any) -> Iterator[list[tuple[str, str, str]]]:
    """Every HTTP request the client sends: (method, URL, body), seen from outside."""
    session = client.session
    original = session.request
    seen: list[tuple[str, str, str]] = []

    def request(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        data = kwargs.get("data") or b""
        seen.append((method, url, data.decode() if isinstance(data, bytes) else str(data)))
        return original(method, url, *args, **kwargs)

    session.request = request
    try:
        yield seen
    finally:
        session.request = original


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture(params=["ics", "vdir", "radicale", "xandikos"])
def source(request: pytest.FixtureRequest, tmp_path: Path) -> Busy:
    """The scenario calendar, read through each kind of source."""
    kind = request.param
    if kind == "ics":
        (tmp_path / "cal.ics").write_text(one_file(), encoding="utf-8")
        return lambda s, e: busy_intervals(tmp_path / "cal.ics", s, e, BERLIN, me=ME)
    if kind == "vdir":
        for uid, text in OBJECTS.items():
            (tmp_path / f"{uid}.ics").write_text(text, encoding="utf-8")
        return lambda s, e: busy_intervals(tmp_path, s, e, BERLIN, me=ME)
    server: DavServer = request.getfixturevalue(kind)
    user = server.add_user()
    url = upload(user)
    cache = CalDavCache(tmp_path / "cache")
    result = cache.sync(connect(server.url, user.name, user.password), url)
    assert result.fetched == len(OBJECTS)
    return lambda s, e: cache.busy_intervals(s, e, BERLIN, me=ME)


def test_every_source_yields_the_same_busy_intervals(source: Busy) -> None:
    intervals, problems = source(*WINDOW)
    assert problems == []
    assert as_table(intervals) == EXPECTED


def test_busy_now_until_and_next_free(source: Busy) -> None:
    intervals, _ = source(*WINDOW)
    got = []
    for instant, minutes, *_expected in CHECKS:
        state = busy_at(intervals, instant, min_free(minutes))
        got.append((instant, minutes, state.now, state.until, state.next_free, state.event))
    assert got == CHECKS


def test_discovery_finds_the_users_calendars(dav: DavServer) -> None:
    user = dav.add_user()
    work = user.make_calendar("work")
    private = user.make_calendar("private")
    found = discover(dav.url, user.name, user.password)
    assert CalendarInfo("work", work) in found
    assert CalendarInfo("private", private) in found


def test_an_unchanged_calendar_costs_one_request_and_a_change_fetches_only_itself(
    dav: DavServer, tmp_path: Path
) -> None:
    user = dav.add_user()
    url = upload(user)
    cache = CalDavCache(tmp_path)
    client = connect(dav.url, user.name, user.password)
    first = cache.sync(client, url)
    assert (first.changed, first.fetched, first.removed) == (True, len(OBJECTS), 0)
    files = snapshot(tmp_path)

    with recorded(client) as seen:
        again = cache.sync(client, url)
    assert (again.changed, again.fetched, again.requests) == (False, 0, 1)
    assert [(m, u) for m, u, _ in seen] == [("REPORT", url)]
    assert "calendar-data" not in seen[0][2]  # asks what changed, downloads nothing
    assert snapshot(tmp_path) == files

    user.put(url, "client-b.ics", vcalendar(vevent(
        "client-b", "Client B (longer)", "DTSTART;TZID=Europe/Berlin:20261104T140000",
        "DTEND;TZID=Europe/Berlin:20261104T150000")))
    with recorded(client) as seen:
        changed = cache.sync(client, url)
    assert (changed.changed, changed.fetched, changed.removed, changed.requests) == (
        True, 1, 0, 2)
    assert [m for m, _, _ in seen] == ["REPORT", "REPORT"]
    multiget = seen[1][2]
    assert multiget.count("<D:href>") == 1 and "client-b.ics" in multiget
    now = snapshot(tmp_path)
    assert [n for n in files if files[n] != now.get(n)] == [
        ".heard-sync.json", "client-b.ics"]
    state = busy_at(cache.busy_intervals(*WINDOW, BERLIN, me=ME)[0],
                    datetime(2026, 11, 4, 14, 40, tzinfo=BERLIN))
    assert state.until == datetime(2026, 11, 4, 16, 0, tzinfo=BERLIN)  # merged up to 16:00

    user.delete(url + "dentist.ics")
    gone = cache.sync(client, url)
    assert (gone.changed, gone.fetched, gone.removed) == (True, 0, 1)
    assert not (tmp_path / "dentist.ics").exists()
    assert "Dentist" not in {i.title for i in cache.busy_intervals(*WINDOW, BERLIN)[0]}


def test_without_sync_collection_the_ctag_and_etags_do_the_same(
    dav: DavServer, tmp_path: Path
) -> None:
    user = dav.add_user()
    url = upload(user)
    cache = CalDavCache(tmp_path, sync_collection=False)
    client = connect(dav.url, user.name, user.password)
    assert cache.sync(client, url).fetched == len(OBJECTS)
    with recorded(client) as seen:
        again = cache.sync(client, url)
    assert (again.changed, again.fetched, again.requests) == (False, 0, 1)
    assert [m for m, _, _ in seen] == ["PROPFIND"]
    user.put(url, "maybe.ics", OBJECTS["maybe"].replace("STATUS:TENTATIVE", "STATUS:CONFIRMED"))
    with recorded(client) as seen:
        changed = cache.sync(client, url)
    assert (changed.fetched, changed.removed) == (1, 0)
    assert [m for m, _, _ in seen] == ["PROPFIND", "PROPFIND", "REPORT"]
    assert seen[2][2].count("<D:href>") == 1 and "maybe.ics" in seen[2][2]
    assert as_table(cache.busy_intervals(*WINDOW, BERLIN, me=ME)[0]) == EXPECTED


def test_server_down_keeps_the_cache_then_recovers(own_dav: DavServer, tmp_path: Path) -> None:
    user = own_dav.add_user()
    url = upload(user)
    cache = CalDavCache(tmp_path)
    client = connect(own_dav.url, user.name, user.password)
    cache.sync(client, url)
    files = snapshot(tmp_path)

    own_dav.stop()
    with pytest.raises(CalendarUnavailable) as raised:
        cache.sync(client, url)
    assert "cannot reach 127.0.0.1" in raised.value.problem
    assert snapshot(tmp_path) == files
    assert as_table(cache.busy_intervals(*WINDOW, BERLIN, me=ME)[0]) == EXPECTED  # last known

    own_dav.start()
    user.delete(url + "trial.ics")
    back = cache.sync(client, url)
    assert (back.changed, back.removed) == (True, 1)
    assert "Trial" not in {i.title for i in cache.busy_intervals(*WINDOW, BERLIN)[0]}


def test_a_wrong_password_is_said_plainly_and_changes_nothing(
    radicale: DavServer, tmp_path: Path
) -> None:
    user = radicale.add_user()
    url = upload(user)
    cache = CalDavCache(tmp_path)
    cache.sync(connect(radicale.url, user.name, user.password), url)
    files = snapshot(tmp_path)
    with pytest.raises(CalendarUnavailable) as raised:
        cache.sync(connect(radicale.url, user.name, "wrong"), url)
    assert raised.value.problem == "127.0.0.1 refused the user name or password"
    assert snapshot(tmp_path) == files
    with pytest.raises(CalendarUnavailable, match="refused the user name or password"):
        discover(radicale.url, user.name, "wrong")


def test_a_removed_calendar_is_reported(radicale: DavServer, tmp_path: Path) -> None:
    user = radicale.add_user()
    client = connect(radicale.url, user.name, user.password)
    with pytest.raises(CalendarUnavailable, match="not on the server any more"):
        CalDavCache(tmp_path).sync(client, f"{user.home}nothing-here/")


def test_tls_is_verified_and_a_ca_file_is_accepted(tmp_path: Path) -> None:
    server = Radicale(tls=True).start()
    try:
        user = server.add_user()
        url = upload(user, "secure")
        with pytest.raises(CalendarUnavailable, match=r"certificate of 127\.0\.0\.1 is not"):
            discover(server.url, user.name, user.password)
        found = discover(server.url, user.name, user.password, ca_file=server.cert)
        assert [c.url for c in found] == [url]
        cache = CalDavCache(tmp_path)
        client = connect(server.url, user.name, user.password, ca_file=server.cert)
        assert cache.sync(client, url).fetched == len(OBJECTS)
    finally:
        server.close()


def test_a_password_goes_unencrypted_only_to_this_machine() -> None:
    with pytest.raises(CalendarUnavailable, match="unencrypted; use https://"):
        connect("http://dav.example.com/", "me", "secret")
    connect("http://127.0.0.1:1/", "me", "secret")
    connect("http://localhost:1/", "me", "secret")


def test_the_http_and_dav_libraries_load_only_when_used() -> None:
    code = ("import sys, heard.calendar.caldav_source, heard.calendar.subscription, "
            "heard.calendar.ics; print(sorted(m for m in ('caldav', 'lxml', 'niquests', "
            "'requests', 'urllib3') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
