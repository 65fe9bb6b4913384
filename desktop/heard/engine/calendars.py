"""The engine's calendar side: local files read in place, remote calendars (CalDAV, https
subscriptions) kept as local copies that are refreshed when due, and marked stale when
the server cannot be reached (the last known state keeps answering).

Reading busy time never touches the network: it reads the files and the local copies.
Only `refresh` talks to servers, from the tray's timer or `heard sync`.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any

from heard.calendar import READ_AHEAD
from heard.config import CalendarSource
from heard.domain.busy import BusyInterval, BusyState, busy_at
from heard.engine import logins
from heard.engine.context import EngineContext
from heard.system.oauth import Bearer

log = logging.getLogger(__name__)


@dataclass
class RemoteState:
    """What the last refresh of one remote calendar source found."""

    refreshed_at: datetime | None = None
    stale_since: datetime | None = None
    problem: str = ""
    requests: int = 0


@dataclass
class Calendars:
    cache_root: Path                               # profile/calendars
    states: dict[str, RemoteState] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _clients: dict[str, tuple[object, Any]] = field(default_factory=dict)

    # where each remote source keeps its copy

    def folder(self, source: CalendarSource, calendar_url: str = "") -> Path:
        digest = hashlib.sha256(f"{source.kind}|{source.url}|{calendar_url}".encode())
        return self.cache_root / f"{_safe(source.name)}-{digest.hexdigest()[:12]}"

    def stamp_files(self, source: CalendarSource) -> list[Path]:
        """Files whose change means the busy time must be read again."""
        if source.kind == "ics":
            assert source.path is not None
            if source.path.is_file():
                return [source.path]
            return sorted(source.path.glob("*.ics"))
        if source.kind == "url":
            return [self.folder(source) / "feed.ics"]
        if source.kind == "graph":
            from heard.calendar.graph import STATE_FILE

            return [self.folder(source) / STATE_FILE]
        return [self.folder(source, url) / ".heard-sync.json" for url in source.calendars]

    # reading (no network)

    def busy_intervals(self, source: CalendarSource, start: datetime, end: datetime,
                       zone: tzinfo, me: frozenset[str], tentative_busy: bool
                       ) -> tuple[list[BusyInterval], list[str]]:
        if source.kind == "ics":
            from heard.calendar.ics import busy_intervals

            assert source.path is not None
            found, errors = busy_intervals(source.path, start, end, zone, me=me,
                                           tentative_busy=tentative_busy)
            return found, [str(e) for e in errors]
        intervals: list[BusyInterval] = []
        problems: list[str] = []
        if source.kind == "url":
            from heard.calendar.subscription import Subscription

            feed = Subscription(source.url, self.folder(source) / "feed.ics", source.ca_file)
            found, more = feed.busy_intervals(start, end, zone, me=me,
                                              tentative_busy=tentative_busy)
            return found, [str(p) for p in more]
        if source.kind == "graph":
            from heard.calendar.graph import GraphCalendar

            graph = GraphCalendar(self.folder(source), _graph_token(source), base=source.url)
            return graph.busy_intervals(start, end, zone, tentative_busy=tentative_busy)
        from heard.calendar.caldav_source import CalDavCache

        for url in source.calendars:
            cache = CalDavCache(self.folder(source, url))
            found, more = cache.busy_intervals(start, end, zone, me=me,
                                               tentative_busy=tentative_busy)
            intervals.extend(found)
            problems.extend(str(p) for p in more)
        return intervals, problems

    # refreshing (network)

    def due(self, source: CalendarSource, now: datetime, boundary: datetime | None) -> bool:
        state = self.states.get(source.name)
        if state is None or state.refreshed_at is None:
            return True
        if boundary is not None and state.refreshed_at < boundary <= now:
            return True  # a meeting just started or ended: ask for last-minute changes
        wait = source.refresh_every if not state.stale_since else min(
            source.refresh_every, timedelta(minutes=1))
        return now - state.refreshed_at >= wait

    def refresh(self, source: CalendarSource, password: str | Bearer | None, now: datetime
                ) -> bool:
        """Bring the local copy up to date; True if anything changed. A failure keeps the
        copy, marks the source stale with the reason, and is retried within a minute."""
        from heard.calendar.caldav_source import CalendarUnavailable

        with self._lock:
            state = self.states.setdefault(source.name, RemoteState())
            try:
                changed = self._refresh(source, password, state) if source.kind != "graph" \
                    else self._refresh_graph(source, state, now)
            except CalendarUnavailable as exc:
                state.refreshed_at = now
                state.stale_since = state.stale_since or now
                state.problem = exc.problem
                log.warning("calendar %s is stale: %s", source.name, exc.problem)
                return False
            state.refreshed_at = now
            state.stale_since = None
            state.problem = ""
            return changed

    def _refresh(self, source: CalendarSource, password: str | Bearer | None,
                 state: RemoteState) -> bool:
        if source.kind == "url":
            from heard.calendar.subscription import Subscription

            feed = Subscription(source.url, self.folder(source) / "feed.ics", source.ca_file)
            result = feed.refresh()
            state.requests += result.requests
            return bool(result.changed)
        from heard.calendar.caldav_source import CalDavCache, CalendarUnavailable, connect

        if password is None and source.auth == "oauth2":
            raise CalendarUnavailable(
                f"the sign-in of {source.username} cannot be used; sign in again with"
                " the mail account of that login (`heard account signin NAME`)")
        if password is None:
            raise CalendarUnavailable(
                f"no password for {source.username} in the keyring; store it with"
                f" `heard account password {source.name}`")
        # One client per source, kept: a new one pays an extra round trip to learn how to
        # log in (401, then the request again).
        key = (source.url, source.username, password)
        client: Any = self._clients.get(source.name, (None, None))[1] \
            if self._clients.get(source.name, (None, None))[0] == key else None
        if client is None:
            client = connect(source.url, source.username, password, source.ca_file)
            self._clients[source.name] = (key, client)
        changed = False
        try:
            for url in source.calendars:
                result = CalDavCache(self.folder(source, url)).sync(client, url)
                state.requests += result.requests
                changed = changed or bool(result.changed)
        except CalendarUnavailable:
            self._clients.pop(source.name, None)   # start afresh next time
            if isinstance(password, Bearer):   # perhaps revoked early: a fresh token next
                from heard.system import oauth

                oauth.forget(source.keyring_name)
            raise
        return changed

    def _refresh_graph(self, source: CalendarSource, state: RemoteState, now: datetime
                       ) -> bool:
        """A Microsoft 365 calendar: the delta of its calendar view, from the day before
        today to past the read-ahead (a new window each day starts a new round)."""
        from heard.calendar.graph import GraphCalendar

        start = datetime.combine(now.astimezone(UTC).date(), time(), UTC) - timedelta(days=1)
        graph = GraphCalendar(self.folder(source), _graph_token(source), base=source.url,
                              ca_file=source.ca_file)
        result = graph.sync(start, start + READ_AHEAD + timedelta(days=2))
        state.requests += result.requests
        return result.changed

    def stale(self) -> dict[str, RemoteState]:
        return {name: s for name, s in self.states.items() if s.stale_since is not None}


def _graph_token(source: CalendarSource) -> Callable[[], str]:
    """The access tokens of a graph calendar's sign-in (heard.calendar.graph.signed_in)."""
    from heard.calendar.caldav_source import CalendarUnavailable
    from heard.calendar.graph import signed_in

    if source.oauth is None:
        def none() -> str:
            raise CalendarUnavailable(f"{source.name} names no provider to sign in with")
        return none
    return signed_in(source.keyring_name, source.oauth, source.username)


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)[:40] or "calendar"


class CalendarService:
    """Busy and free from the user's calendars: read from local files and the local copies
    of remote ones (never the network), which `refresh` brings up to date when due."""

    def __init__(self, ctx: EngineContext) -> None:
        self._ctx = ctx
        self.calendars = Calendars(ctx.profile.root / "calendars")
        self._cache: tuple[object, list[BusyInterval], list[str]] | None = None


    def refresh_states(self) -> Mapping[str, Any]:
        """Each remote calendar's refresh state, by name (when it was last refreshed, since
        when it is stale): the tick's schedule wakes for the next refresh."""
        return self.calendars.states
    def forget(self) -> None:
        """The settings changed: read the calendars again at the next question."""
        self._cache = None

    def intervals(self, at: datetime) -> tuple[list[BusyInterval], list[str]]:
        """Busy intervals around `at`, re-read only when a calendar file or a local copy of
        a remote calendar changes. Never touches the network (see refresh)."""
        settings = self._ctx.settings
        stamp: list[object] = [at.date(), settings.calendar.tentative_busy]
        for cal in settings.calendars:
            try:
                stamp.extend((str(f), f.stat().st_mtime_ns if f.exists() else None)
                             for f in self.calendars.stamp_files(cal))
            except OSError:
                stamp.append((cal.name, None))
        key = tuple(stamp)
        cached = self._cache
        if cached and cached[0] == key:
            return cached[1], cached[2]
        start = at - timedelta(days=1)
        intervals: list[BusyInterval] = []
        errors: list[str] = []
        me = self._ctx.own_addresses()
        for cal in settings.calendars:
            try:
                found, problems = self.calendars.busy_intervals(
                    cal, start, start + READ_AHEAD, settings.zone, me,
                    settings.calendar.tentative_busy)
            except ValueError as exc:
                errors.append(f"{cal.name}: {exc}")
                continue
            intervals.extend(found)
            errors.extend(f"{cal.name}: {p}" for p in problems)
        self._cache = (key, intervals, errors)
        return intervals, errors

    def busy(self, at: datetime | None = None) -> BusyState | None:
        """None when no calendar is configured (busy is unknown)."""
        settings = self._ctx.settings
        if not settings.calendars:
            return None
        at = at or self._ctx.clock.now()
        intervals, _errors = self.intervals(at)
        return busy_at(intervals, at, settings.calendar.min_free, hours=settings.hours)

    def refresh(self, force: bool = False) -> bool:
        """Ask remote calendars for changes when due (every few minutes, and at each
        meeting's start and end); True if busy time may have changed. A server that cannot
        be reached leaves the last known state in use, marked stale."""
        now = self._ctx.clock.now()
        remote = [c for c in self._ctx.settings.calendars if c.remote]
        if not remote:
            return False
        boundary = self._last_boundary(now)
        changed = False
        for cal in remote:
            if not force and not self.calendars.due(cal, now, boundary):
                continue
            was_stale = cal.name in self.calendars.stale()
            changed |= self.calendars.refresh(cal, logins.caldav_password(cal), now)
            changed |= was_stale != (cal.name in self.calendars.stale())
        if changed:
            self._ctx.events.changed()
        return changed

    def test(self, cal: CalendarSource) -> tuple[bool, str]:
        """Read (a local calendar) or refresh (a remote one) once; what is wrong, if
        anything, in plain words."""
        now = self._ctx.clock.now()
        if cal.remote:
            self.calendars.refresh(cal, logins.caldav_password(cal), now)
            state = self.calendars.states.get(cal.name)
            if state is not None and state.problem:
                return False, state.problem
        self._cache = None
        settings = self._ctx.settings
        try:
            _found, problems = self.calendars.busy_intervals(
                cal, now, now + READ_AHEAD, settings.zone, self._ctx.own_addresses(),
                settings.calendar.tentative_busy)
        except ValueError as exc:
            return False, str(exc)
        return not problems, "; ".join(problems[:3])

    def _last_boundary(self, now: datetime) -> datetime | None:
        """The latest meeting start or end that has passed (from the cached intervals)."""
        if self._cache is None:
            return None
        past = [t for iv in self._cache[1] for t in (iv.start, iv.end) if t <= now]
        return max(past, default=None)

    def stale(self) -> dict[str, RemoteState]:
        return self.calendars.stale()

    def problems(self, now: datetime) -> list[str]:
        """Remote calendars that could not be refreshed lately, in words."""
        zone = self._ctx.zone
        return [f"calendar {name} could not be refreshed since"
                f" {(state.stale_since or now).astimezone(zone):%H:%M}"
                f" ({state.problem}); busy times are the last known ones"
                for name, state in self.calendars.stale().items()]
