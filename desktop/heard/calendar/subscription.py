"""An .ics subscription (https:// or webcal://), cached in a local file.

Each refresh is one conditional GET (If-None-Match / If-Modified-Since): an unchanged feed
answers 304 and nothing is downloaded. A failure raises CalendarUnavailable in plain words
and leaves the cached copy as it was; a reply that is not a calendar is not cached.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import icalendar

from heard.calendar.caldav_source import CalendarUnavailable, SyncResult
from heard.calendar.events import busy_from_calendars
from heard.domain.busy import BusyInterval

log = logging.getLogger(__name__)

TIMEOUT = 30
MAX_BYTES = 50 * 1024 * 1024


@dataclass
class Subscription:
    """The feed at `url`, cached in `cache_file` (its validators beside it, in
    `<cache_file>.json`). TLS is verified, against `ca_file` if given."""
    url: str
    cache_file: Path
    ca_file: Path | None = None
    timeout: float = TIMEOUT

    def __post_init__(self) -> None:
        if self.url.lower().startswith("webcal://"):
            self.url = "https://" + self.url[len("webcal://"):]
        if urlsplit(self.url).scheme not in ("https", "http"):
            raise CalendarUnavailable(f"{self.url!r} is not an https:// address")
        self._parsed: tuple[str, icalendar.Calendar] | None = None

    @property
    def _state_file(self) -> Path:
        return self.cache_file.with_name(self.cache_file.name + ".json")

    def _state(self) -> dict[str, Any]:
        try:
            state = json.loads(self._state_file.read_text("utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(state, dict) or state.get("url") != self.url:
            return {}
        return state

    def refresh(self) -> SyncResult:
        """Fetch the feed if it changed; one request either way."""
        import ssl
        import urllib.error
        import urllib.request

        state = self._state() if self.cache_file.exists() else {}
        request = urllib.request.Request(self.url, headers={
            "User-Agent": "Heard (calendar subscription)", "Accept": "text/calendar"})
        if state.get("etag"):
            request.add_header("If-None-Match", state["etag"])
        if state.get("last_modified"):
            request.add_header("If-Modified-Since", state["last_modified"])
        context = ssl.create_default_context(
            cafile=str(self.ca_file) if self.ca_file is not None else None)
        host = urlsplit(self.url).hostname or self.url
        try:
            with urllib.request.urlopen(request, timeout=self.timeout,
                                        context=context) as response:
                data = response.read(MAX_BYTES + 1)
                headers = response.headers
        except urllib.error.HTTPError as exc:
            if exc.code == 304:
                return SyncResult(changed=False, fetched=0, removed=0, requests=1)
            problem = (f"{host} refused access to the calendar (HTTP {exc.code})"
                       if exc.code in (401, 403) else
                       f"{host} has no calendar at this address (HTTP 404)" if exc.code == 404
                       else f"{host} answered with an error (HTTP {exc.code})")
            raise self._unavailable(problem) from exc
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, ssl.SSLCertVerificationError):
                problem = (f"the certificate of {host} is not trusted ({reason.verify_message})"
                           "; give the CA file if you trust it")
            elif isinstance(reason, TimeoutError):
                problem = f"{host} did not answer in time"
            else:
                problem = f"cannot reach {host} (the server is down, or the network is)"
            raise self._unavailable(problem) from exc
        except (TimeoutError, OSError) as exc:
            raise self._unavailable(f"reading the calendar from {host} failed ({exc})"
                                    ) from exc
        if len(data) > MAX_BYTES:
            raise self._unavailable(f"the calendar at {host} is larger than 50 MB")
        try:
            icalendar.Calendar.from_ical(data)
        except (ValueError, IndexError, KeyError) as exc:
            raise self._unavailable(f"{host} did not send a calendar ({exc})") from exc
        self.cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.cache_file.with_name(f".{self.cache_file.name}.tmp")
        tmp.write_bytes(data)
        tmp.replace(self.cache_file)
        new_state = {"url": self.url, "etag": headers.get("ETag"),
                     "last_modified": headers.get("Last-Modified")}
        tmp.write_text(json.dumps(new_state), "utf-8")
        tmp.replace(self._state_file)
        return SyncResult(changed=True, fetched=1, removed=0, requests=1)

    def _unavailable(self, problem: str) -> CalendarUnavailable:
        log.warning("calendar subscription %s unavailable: %s", self.url, problem)
        return CalendarUnavailable(problem)

    def calendars(self) -> list[icalendar.Calendar]:
        """The cached feed, parsed once per version ([] before the first refresh)."""
        try:
            data = self.cache_file.read_bytes()
        except OSError:
            return []
        key = str(self._state().get("etag") or "") + str(len(data)) + str(hash(data))
        if self._parsed is None or self._parsed[0] != key:
            try:
                self._parsed = (key, icalendar.Calendar.from_ical(data))
            except (ValueError, IndexError, KeyError) as exc:
                log.warning("calendar subscription %s: cached copy unreadable (%s)",
                            self.url, exc)
                return []
        return [self._parsed[1]]

    def busy_intervals(self, start: datetime, end: datetime, zone: tzinfo, *,
                       me: frozenset[str] = frozenset(), tentative_busy: bool = True,
                       ) -> tuple[list[BusyInterval], list[str]]:
        return busy_from_calendars(self.calendars(), start, end, zone, me=me,
                                   tentative_busy=tentative_busy)
