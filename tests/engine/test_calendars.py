"""The whole path for a CalDAV account: `heard account add caldav`, sync, `heard busy`,
a server that goes away (stale, last known state), and comes back. Real Radicale, real
keyring."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from heard import cli
from heard.config import ConfigFile, load
from heard.domain.clock import FixedClock
from heard.engine import Engine
from heard.system import secrets
from heard.system.paths import Profile
from tests.support.dav import Radicale

DEPOSITION = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//heard tests//EN
BEGIN:VEVENT
UID:deposition@test
DTSTAMP:20261101T000000Z
DTSTART;TZID=America/New_York:20261125T090000
DTEND;TZID=America/New_York:20261125T103000
SUMMARY:Deposition
END:VEVENT
END:VCALENDAR
"""
# 09:00-10:30 in New York is 15:00-16:30 in Berlin.
DURING = "2026-11-25T15:30+01:00"


def run(capsys: pytest.CaptureFixture[str], *args: str, stdin: str = "") -> tuple[int, str, str]:
    old = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        code = cli.main(list(args))
    finally:
        sys.stdin = old
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def server() -> Iterator[Radicale]:
    own = Radicale().start()
    yield own
    own.close()


@pytest.fixture
def profile(tmp_path: Path) -> Profile:
    profile = Profile(tmp_path / "profile")
    profile.create()
    ConfigFile(profile.config).set("user", "timezone", "Europe/Berlin")
    return profile


@pytest.mark.usefixtures("real_keyring")
def test_a_caldav_account_answers_busy_and_survives_its_server_going_away(
        capsys: pytest.CaptureFixture[str], server: Radicale, profile: Profile) -> None:
    user = server.add_user()
    work = user.make_calendar("work")
    user.make_calendar("birthdays")
    user.put(work, "deposition.ics", DEPOSITION)
    root = str(profile.root)

    code, out, err = run(capsys, "--profile", root, "account", "add", "caldav", server.url,
                         "--username", user.name, "--calendar", "work", "--password-stdin",
                         stdin="wrong\n")
    assert code == 1 and "password" in err.lower()
    assert not load(profile.config).calendars          # nothing written on failure

    code, out, err = run(capsys, "--profile", root, "account", "add", "caldav", server.url,
                         "--username", user.name, "--calendar", "work", "--password-stdin",
                         "--name", "office", stdin=f"{user.password}\n")
    assert code == 0, err
    (calendar,) = load(profile.config).calendars
    assert calendar.kind == "caldav" and calendar.calendars == (work,)
    assert secrets.get_password(calendar.keyring_name) == user.password
    assert user.password not in profile.config.read_text()

    assert run(capsys, "--profile", root, "sync")[0] == 0
    code, out, _err = run(capsys, "--profile", root, "busy", "--at", DURING, "--json")
    answer = json.loads(out)
    assert answer["now"] is True and answer["stale"] is False
    assert answer["until"] == "2026-11-25T16:30:00+01:00"

    # The server goes away: the last known state keeps answering, marked stale.
    server.stop()
    engine = Engine.open(profile)
    try:
        engine.calendar.refresh(force=True)
        status = engine.status()
        assert status.calendar_stale
        assert any("office could not be refreshed" in p for p in status.problems)
        busy = engine.calendar.busy(datetime.fromisoformat(DURING))
        assert busy is not None and busy.now

        # Back again: the next refresh clears the stale mark by itself.
        server.start()
        engine.calendar.refresh(force=True)
        assert not engine.status().calendar_stale
    finally:
        engine.close()


@pytest.mark.usefixtures("real_keyring")
def test_an_unchanged_calendar_costs_one_request_per_refresh(
        server: Radicale, profile: Profile) -> None:
    user = server.add_user()
    work = user.make_calendar("work")
    user.put(work, "deposition.ics", DEPOSITION)
    ConfigFile(profile.config).append("calendars", {
        "name": "office", "kind": "caldav", "url": server.url, "username": user.name,
        "calendars": [work]})
    engine = Engine.open(profile)
    try:
        secrets.store_password(engine.settings.calendars[0].keyring_name, user.password)
        engine.calendar.refresh(force=True)
        first = engine.calendar.calendars.states["office"].requests
        engine.calendar.refresh(force=True)
        assert engine.calendar.calendars.states["office"].requests - first == 1
        busy = engine.calendar.busy(datetime.fromisoformat(DURING))
        assert busy is not None and busy.now
    finally:
        engine.close()


# -- a Microsoft 365 calendar through Microsoft Graph -----------------------------------------

GRAPH_CONTEXT = "https://graph.microsoft.com/v1.0/$metadata#Collection(event)"


@pytest.mark.usefixtures("real_keyring")
def test_a_graph_calendar_reads_with_the_mail_account_s_sign_in(
        tmp_path: Path, oauth_world: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """[[calendars]] kind "graph": its access token comes from the sign-in its mail account
    keeps (a real OAuth2 server on loopback issues it), and the events from a
    recorded-fixture server replaying responses recorded from Microsoft Graph
    documentation. The token is asked for with the sign-in's refresh token; the fixture
    sees it, and the OAuth2 server says it is one it issued."""
    from heard.setup import signin
    from heard.system import oauth
    from tests.support.graph import RecordedGraph

    graph = RecordedGraph()
    try:
        user = oauth_world.dovecot.add_user()
        profile = oauth_world.profile(tmp_path / "profile", user)
        ConfigFile(profile.config).append("calendars", {
            "name": "outlook", "kind": "graph", "username": user.name, "provider": "testid",
            "url": graph.base})
        settings = load(profile.config)
        (calendar,) = settings.calendars
        assert (calendar.auth, calendar.remote) == ("oauth2", True)
        (account,) = settings.accounts
        assert calendar.keyring_name == account.keyring_name   # one sign-in for both
        signin.keep(account, oauth_world.grant(user))
        start = ("/v1.0/me/calendarView/delta?startDateTime=2016-12-09T00%3A00%3A00Z"
                 "&endDateTime=2016-12-19T00%3A00%3A00Z")
        graph.pages[start] = [(200, {}, {
            "@odata.context": GRAPH_CONTEXT,
            "@odata.deltaLink": graph.link("$deltatoken=R0usmci39OQxqJrxK4"),
            "value": [{"id": "AAMkADNVxRAAA=", "subject": "Plan shopping list",
                       "showAs": "busy", "isCancelled": False, "isAllDay": False,
                       "responseStatus": {"response": "organizer"},
                       "start": {"dateTime": "2016-12-10T19:00:00.0000000",
                                 "timeZone": "UTC"},
                       "end": {"dateTime": "2016-12-10T20:00:00.0000000",
                               "timeZone": "UTC"}}]})]
        clock = FixedClock(datetime(2016, 12, 10, 19, 30, tzinfo=UTC))
        engine = Engine.open(profile, clock)
        try:
            assert engine.calendar.refresh(force=True)
            busy = engine.calendar.busy()
            assert busy is not None and busy.now
            assert busy.until == datetime(2016, 12, 10, 20, tzinfo=UTC)
            (path, authorization) = graph.asked[0]
            assert path == start
            token = authorization.removeprefix("Bearer ")
            assert oauth_world.server.active(token)
            # `heard account test` reads it the same way (setup, without the engine).
            graph.pages["window"] = graph.pages[start]
            code, out, err = run(capsys, "--profile", str(profile.root), "account", "test",
                                 "outlook")
            assert (code, out) == (0, f"  ok    outlook: {graph.base}\n"), err
            # The sign-in ended: the calendar is unavailable, and says to sign in again.
            oauth_world.server.revoke_user(user.name)
            oauth.forget(account.keyring_name)
            clock.advance(timedelta(minutes=10))
            engine.calendar.refresh(force=True)
            (problem,) = engine.calendar.problems(clock.now())
            assert "calendar outlook could not be refreshed" in problem
            assert "sign in again" in problem.lower()
        finally:
            engine.close()
    finally:
        graph.close()


@pytest.mark.usefixtures("real_keyring")
def test_a_google_caldav_calendar_reads_with_the_mail_account_s_sign_in(
        tmp_path: Path, oauth_world: Any, bearer_dav: Any, radicale: Any,
        capsys: pytest.CaptureFixture[str]) -> None:
    """CalDAV with a bearer token, as Google's: Radicale behind a proxy that checks every
    token at the loopback OAuth2 server (introspection) and passes the request on as the
    token's user (tests/support/oauth.py). One sign-in serves the mail account and the
    calendar; when it ends, the calendar goes stale and says to sign in again."""
    from heard.setup import signin

    dav = radicale.add_user()
    work = dav.make_calendar("work")
    dav.put(work, "deposition.ics", DEPOSITION)
    mail_user = oauth_world.dovecot.add_user()
    profile = oauth_world.profile(tmp_path / "profile", mail_user)
    # The calendar logs in as the same user: the sign-in is one (its keyring entry too).
    file = ConfigFile(profile.config)
    file.set("user", "timezone", "Europe/Berlin")
    proxied = work.replace(radicale.url, bearer_dav.url)
    file.append("calendars", {"name": "google", "kind": "caldav", "url": bearer_dav.url,
                              "username": dav.name, "auth": "oauth2", "provider": "testid",
                              "calendars": [proxied]})
    settings = load(profile.config)
    (calendar,) = settings.calendars
    assert calendar.keyring_name == f"oauth:testid:{dav.name}"
    grant = signin.sign_in_device(
        oauth_world.provider(), lambda code: oauth_world.server.approve(code.user_code,
                                                                        dav.name))
    signin.keep(calendar, grant)
    refused = bearer_dav.refused
    engine = Engine.open(profile)
    try:
        assert engine.calendar.refresh(force=True)
        busy = engine.calendar.busy(datetime.fromisoformat(DURING))
        assert busy is not None and busy.now
        assert bearer_dav.passed >= 1 and bearer_dav.refused == refused
        code, out, err = run(capsys, "--profile", str(profile.root), "account", "test",
                             "google")
        assert code == 0, out + err

        oauth_world.server.revoke_user(dav.name)
        engine.calendar.refresh(force=True)     # refused once: the cached token is dropped
        engine.calendar.refresh(force=True)     # and the refresh says the grant ended
        status = engine.status()
        assert status.calendar_stale
        (problem,) = [p for p in status.problems if "google" in p]
        assert "sign in again" in problem.lower()
        assert bearer_dav.refused > refused
        # the last known state keeps answering
        busy = engine.calendar.busy(datetime.fromisoformat(DURING))
        assert busy is not None and busy.now
    finally:
        engine.close()
