"""A Microsoft 365 / Outlook.com calendar through Microsoft Graph (Exchange Online has no
CalDAV): the signed-in user's calendar view, kept as a local copy refreshed by delta query.

- The first refresh of a window is a full round of `GET /me/calendarView/delta?
  startDateTime=..&endDateTime=..`, following `@odata.nextLink` page by page until the
  `@odata.deltaLink`; later refreshes send only the saved deltaLink and get what changed
  (new, changed, `@removed`). A new window (the days move on) starts a new round; a delta
  token the service no longer takes (410 Gone, or 400 with a sync-state error) too.
- 429 and 503 wait as `Retry-After` says (at most MAX_WAIT; longer is the calendar being
  unavailable for now), a few times, then give up.
- Times are asked for in UTC (`Prefer: outlook.timezone="UTC"`).
- What is busy, in Heard's rules (heard.calendar.events for iCalendar): showAs busy and
  unknown count, tentative only with `tentative_busy`, oof counts as away (out of the
  office, not in a meeting), free and workingElsewhere do not; cancelled meetings
  (isCancelled) and meetings the user declined (responseStatus.response "declined") never;
  an all-day event only when its showAs says busy, tentative or oof (Outlook shows
  birthdays and holidays as free).

The token is the caller's: `token()` returns a current OAuth2 access token (Graph's
Calendars.Read scope) and is asked again once after a 401. Nothing here signs in.

This path has not met the real service: its tests replay responses recorded from
Microsoft's published Graph documentation.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from heard.calendar.caldav_source import CalendarUnavailable
from heard.calendar.events import AWAY_AFTER
from heard.domain.busy import BusyInterval
from heard.domain.hosts import is_loopback
from heard.system.oauth import Provider

log = logging.getLogger(__name__)

GRAPH = "https://graph.microsoft.com/v1.0"
TIMEOUT = 30            # seconds per request
PAGE_SIZE = 50          # events per page (Prefer: odata.maxpagesize)
MAX_WAIT = 120.0        # seconds: a longer Retry-After makes the calendar unavailable now
MAX_RETRIES = 4
MAX_PAGES = 1000
STATE_FILE = "graph-state.json"

# How each showAs counts: (busy, away); "tentative" is busy only with tentative_busy.
SHOW_AS = {"busy": (True, False), "unknown": (True, False), "tentative": (True, False),
           "oof": (True, True), "free": (False, False), "workingElsewhere": (False, False)}


@dataclass(frozen=True)
class GraphSync:
    changed: bool
    requests: int
    full: bool        # a new round (everything listed) rather than a delta


class GraphCalendar:
    """The user's Graph calendar view, copied into `folder` (one JSON state file)."""

    def __init__(self, folder: Path, token: Callable[[], str], *, base: str = GRAPH,
                 ca_file: Path | None = None, sleep: Callable[[float], None] = time.sleep,
                 timeout: float = TIMEOUT) -> None:
        parts = urlsplit(base)
        if parts.scheme != "https" and not (parts.scheme == "http"
                                            and is_loopback(parts.hostname or "")):
            raise CalendarUnavailable(f"{base} would get the sign-in token unencrypted")
        self.folder = folder
        self.base = base.rstrip("/")
        self._token = token
        self._verify: bool | str = str(ca_file) if ca_file is not None else True
        self._sleep = sleep
        self._timeout = timeout
        self._session: Any = None

    # -- state ------------------------------------------------------------------------
    def _load(self) -> dict[str, Any]:
        try:
            state = json.loads((self.folder / STATE_FILE).read_text("utf-8"))
        except (OSError, ValueError):
            return {}
        return state if isinstance(state, dict) else {}

    def _save(self, state: dict[str, Any]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f".{STATE_FILE}.tmp"
        tmp.write_text(json.dumps(state, sort_keys=True), "utf-8")
        tmp.replace(self.folder / STATE_FILE)

    # -- refreshing ---------------------------------------------------------------------
    def sync(self, start: datetime, end: datetime) -> GraphSync:
        """Bring the copy of [start, end) up to date: the saved deltaLink when the window is
        the same, else a full round. Everything is fetched before the copy changes."""
        window = [_utc(start), _utc(end)]
        state = self._load()
        previous: dict[str, Any] = state.get("events", {}) if isinstance(
            state.get("events"), dict) else {}
        link = state.get("delta_link") if state.get("window") == window else None
        requests = [0]
        pages: list[dict[str, Any]] = []
        new_link = ""
        if link is not None:
            try:
                pages, new_link = self._round(link, requests)
            except _TokenExpired:
                log.info("graph calendar: the delta token expired; listing everything")
                link = None
        full = link is None
        events = {} if full else dict(previous)
        if full:
            query = urlencode({"startDateTime": window[0], "endDateTime": window[1]})
            pages, new_link = self._round(f"{self.base}/me/calendarView/delta?{query}",
                                          requests)
        for item in pages:
            event_id = str(item.get("id", ""))
            if not event_id:
                continue
            if "@removed" in item:
                events.pop(event_id, None)
            else:
                events[event_id] = _keep(item)
        # Only now, with every page in hand, does the copy change.
        self._save({"window": window, "delta_link": new_link, "events": events})
        return GraphSync(events != previous, requests[0], full)

    def _round(self, url: str, requests: list[int]) -> tuple[list[dict[str, Any]], str]:
        """Follow one round of pages to its deltaLink: (the items, the deltaLink)."""
        items: list[dict[str, Any]] = []
        for _page in range(MAX_PAGES):
            body = self._get(url, requests)
            value = body.get("value", [])
            if isinstance(value, list):
                items.extend(v for v in value if isinstance(v, dict))
            next_link = body.get("@odata.nextLink")
            if isinstance(next_link, str) and next_link:
                url = next_link
                continue
            delta = body.get("@odata.deltaLink")
            if not isinstance(delta, str) or not delta:
                raise CalendarUnavailable("Microsoft Graph answered without a delta link")
            return items, delta
        raise CalendarUnavailable("Microsoft Graph keeps paging its changes")

    def _get(self, url: str, requests: list[int]) -> dict[str, Any]:
        import requests as http

        if urlsplit(url).netloc != urlsplit(self.base).netloc:
            raise CalendarUnavailable(f"Microsoft Graph sent a link elsewhere ({url[:60]})")
        if self._session is None:
            self._session = http.Session()
        host = urlsplit(self.base).hostname or self.base
        signed_in_again = False
        for attempt in range(MAX_RETRIES + 1):
            headers = {"Authorization": f"Bearer {self._token()}",
                       "Prefer": f'outlook.timezone="UTC", odata.maxpagesize={PAGE_SIZE}',
                       "Accept": "application/json"}
            try:
                requests[0] += 1
                response = self._session.get(url, headers=headers, timeout=self._timeout,
                                             verify=self._verify, allow_redirects=False)
            except http.exceptions.SSLError as exc:
                raise CalendarUnavailable(f"the certificate of {host} is not trusted") \
                    from exc
            except http.exceptions.RequestException as exc:
                raise CalendarUnavailable(f"cannot reach {host} (the server is down, or the"
                                          " network is)") from exc
            status = response.status_code
            if status == 200:
                try:
                    body = response.json()
                except ValueError as exc:
                    raise CalendarUnavailable(f"{host} answered with something not JSON") \
                        from exc
                return body if isinstance(body, dict) else {}
            if status == 401 and not signed_in_again:
                signed_in_again = True   # the token may have just expired: ask again
                continue
            if status == 401:
                raise CalendarUnavailable("Microsoft refused the sign-in for the calendar:"
                                          " sign in again")
            if status == 403:
                raise CalendarUnavailable("Microsoft refused access to the calendar (the"
                                          " Calendars.Read permission, or the"
                                          " organisation's consent, is missing)")
            if status == 410 or (status == 400 and "SyncState" in response.text):
                raise _TokenExpired
            if status in (429, 503, 504) and attempt < MAX_RETRIES:
                wait = _retry_after(response.headers.get("Retry-After"), attempt)
                if wait > MAX_WAIT:
                    break
                log.info("graph calendar: %s asks to wait %.0f s (HTTP %d)", host, wait,
                         status)
                self._sleep(wait)
                continue
            if status in (429, 503, 504):
                break
            raise CalendarUnavailable(f"{host} answered with HTTP {status}")
        raise CalendarUnavailable(f"{host} is throttling the calendar; it is tried again"
                                  " later")

    # -- reading ------------------------------------------------------------------------
    def busy_intervals(self, start: datetime, end: datetime, zone: tzinfo, *,
                       tentative_busy: bool = True) -> tuple[list[BusyInterval], list[str]]:
        """The busy intervals of the copy that overlap [start, end), and the problems of
        the events that could not be read (logged)."""
        intervals: list[BusyInterval] = []
        problems: list[str] = []
        for event_id, event in sorted(self._load().get("events", {}).items()):
            try:
                interval = busy_interval(event, zone, tentative_busy)
            except ValueError as exc:
                line = f"event {event.get('subject') or event_id!r} {exc}"
                log.warning("graph calendar: %s", line)
                problems.append(line)
                continue
            if interval is not None and interval.end > start and interval.start < end:
                intervals.append(interval)
        return intervals, problems


class _TokenExpired(Exception):
    pass


# What Heard asks Microsoft for to read a calendar: Graph is another resource than IMAP's,
# so its token is asked for apart, with the same sign-in (heard.system.oauth.access_token).
GRAPH_SCOPES = ("https://graph.microsoft.com/Calendars.Read",)


def signed_in(entry: str, provider: Provider, login: str) -> Callable[[], str]:
    """The access tokens of the sign-in kept in `entry` (heard.system.oauth) for Graph;
    an ended sign-in or a refusal is the calendar being unavailable, in words."""
    from heard.system import oauth

    scopes = GRAPH_SCOPES if provider.name == "microsoft" else ()

    def token() -> str:
        try:
            return oauth.access_token(entry, provider, scopes=scopes)
        except oauth.SignInNeeded as exc:   # the mail account of that login signs in anew
            raise CalendarUnavailable(f"{exc} (as {login}, the sign-in its mail account"
                                      " shares)") from None
        except oauth.OAuthError as exc:
            raise CalendarUnavailable(str(exc)) from None

    return token


def _retry_after(value: str | None, attempt: int) -> float:
    """Seconds to wait: Retry-After's seconds (or HTTP date), else a doubling backoff."""
    if value:
        try:
            return max(float(value), 0.0)
        except ValueError:
            from email.utils import parsedate_to_datetime

            try:
                return max((parsedate_to_datetime(value) - datetime.now(UTC))
                           .total_seconds(), 0.0)
            except (TypeError, ValueError):
                pass
    return float(2 ** attempt)


def _utc(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_KEPT = ("subject", "start", "end", "showAs", "isCancelled", "isAllDay", "responseStatus",
         "type")


def _keep(item: dict[str, Any]) -> dict[str, Any]:
    """What of an event the busy rules read (its body, attendees ... are not kept)."""
    return {k: item[k] for k in _KEPT if k in item}


# Windows zone names Graph may use when the UTC preference is not honoured.
_WINDOWS_ZONES = {"UTC": "UTC", "GMT Standard Time": "Europe/London",
                  "W. Europe Standard Time": "Europe/Berlin",
                  "Romance Standard Time": "Europe/Paris",
                  "Central Europe Standard Time": "Europe/Budapest",
                  "Eastern Standard Time": "America/New_York",
                  "Central Standard Time": "America/Chicago",
                  "Mountain Standard Time": "America/Denver",
                  "Pacific Standard Time": "America/Los_Angeles",
                  "AUS Eastern Standard Time": "Australia/Sydney",
                  "Tokyo Standard Time": "Asia/Tokyo", "India Standard Time": "Asia/Kolkata"}


def _when(value: Any, zone: tzinfo) -> datetime:
    """A Graph dateTimeTimeZone ({"dateTime": "2016-12-10T19:00:00.0000000", "timeZone":
    "UTC"}) as an aware datetime in UTC."""
    if not isinstance(value, dict) or not isinstance(value.get("dateTime"), str):
        raise ValueError("has no readable start or end")
    text = value["dateTime"]
    if "." in text:   # Graph writes seven digits of fraction; Python reads six
        head, _, fraction = text.partition(".")
        text = f"{head}.{fraction[:6]}"
    try:
        at = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"has an unreadable time {value['dateTime']!r}") from exc
    if at.tzinfo is None:
        name = str(value.get("timeZone") or "UTC")
        try:
            at = at.replace(tzinfo=ZoneInfo(_WINDOWS_ZONES.get(name, name)))
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"has an unknown time zone {name!r}") from None
    return at.astimezone(UTC)


def busy_interval(event: dict[str, Any], zone: tzinfo, tentative_busy: bool = True
                  ) -> BusyInterval | None:
    """The event as busy time by Heard's rules (the module's docstring), or None when it
    does not count; ValueError when its times cannot be read."""
    if event.get("isCancelled"):
        return None
    response = event.get("responseStatus")
    answer = response.get("response") if isinstance(response, dict) else None
    if answer == "declined":
        return None
    show = str(event.get("showAs") or "busy")
    busy, away = SHOW_AS.get(show, (True, False))
    if show == "tentative" or (answer == "tentativelyAccepted" and show == "busy"):
        busy = busy and tentative_busy
    if not busy:
        return None
    start, end = _when(event.get("start"), zone), _when(event.get("end"), zone)
    if end <= start:
        return None
    all_day = bool(event.get("isAllDay"))
    return BusyInterval(start, end, str(event.get("subject") or ""),
                        away=away or all_day or end - start >= AWAY_AFTER)
