"""CalDAV calendars: discovery, and a local copy kept fresh at the cost of one request.

`discover()` walks principal -> calendar home -> calendars. `CalDavCache` keeps a local
copy of one calendar as a vdir (one .ics per object, as khal and vdirsyncer keep them)
plus a small JSON state (sync-token, ctag, the etag of every object). `sync()` asks the
server what changed since the last time: with WebDAV sync-collection (RFC 6578) where the
server has it, else with the ctag and then the etags. An unchanged calendar costs one
request; a changed event is fetched alone; a deleted one is removed.

A failed sync (network, password, certificate, server error) raises CalendarUnavailable
with the reason in plain words, and leaves the cache exactly as it was: everything is
fetched before anything is written, and the state file is written last.

The caldav library (and with it lxml and niquests) is imported only when a sync or a
discovery runs, so the tray's start-up does not pay for it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urljoin, urlsplit

import icalendar

from heard.calendar.events import busy_from_calendars
from heard.domain.busy import BusyInterval
from heard.domain.hosts import is_loopback
from heard.system.oauth import Bearer

log = logging.getLogger(__name__)

TIMEOUT = 30          # seconds, per request
MULTIGET_BATCH = 500  # objects fetched per calendar-multiget REPORT
STATE_FILE = ".heard-sync.json"

_NS = {"D": "DAV:", "C": "urn:ietf:params:xml:ns:caldav", "CS": "http://calendarserver.org/ns/"}
_XML = '<?xml version="1.0" encoding="utf-8"?>'
_SYNC = (_XML + '<D:sync-collection xmlns:D="DAV:"><D:sync-token>{token}</D:sync-token>'
         "<D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>")
_CTAG = (_XML + '<D:propfind xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/">'
         "<D:prop><CS:getctag/><D:sync-token/></D:prop></D:propfind>")
_ETAGS = (_XML + '<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/><D:resourcetype/>'
          "</D:prop></D:propfind>")
_MULTIGET = (_XML + '<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
             "<D:prop><D:getetag/><C:calendar-data/></D:prop>{hrefs}</C:calendar-multiget>")
_CALENDARS = (_XML + '<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
              "<D:prop><D:displayname/><D:resourcetype/><C:supported-calendar-component-set/>"
              "</D:prop></D:propfind>")


class CalendarUnavailable(Exception):
    """The calendar cannot be read now; `problem` says why, in plain words."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


@dataclass(frozen=True)
class CalendarInfo:
    name: str
    url: str


@dataclass(frozen=True)
class SyncResult:
    changed: bool   # the local copy differs from before the sync
    fetched: int    # calendar objects downloaded
    removed: int    # calendar objects deleted locally
    requests: int   # HTTP requests sent


def _words(exc: BaseException, url: str) -> str:
    """A failure of the network, the server or the account, in plain words."""
    from caldav.lib import error
    from caldav.lib.http_sync import requests

    host = urlsplit(url).hostname or url
    if isinstance(exc, error.AuthorizationError):
        if exc.status == 403:
            return f"{host} refused access to the calendar (permission denied)"
        return f"{host} refused the user name or password"
    if isinstance(exc, requests.exceptions.SSLError):
        text = str(exc)
        if "CERTIFICATE_VERIFY_FAILED" in text or "certificate" in text.lower():
            return (f"the certificate of {host} is not trusted (it is self-signed, expired "
                    "or for another name); give the CA file if you trust it")
        return f"a secure connection to {host} failed ({text})"
    if isinstance(exc, requests.exceptions.Timeout):
        return f"{host} did not answer in time"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return f"cannot reach {host} (the server is down, or the network is)"
    if isinstance(exc, error.DAVError):
        return f"{host} answered with an error ({exc})"
    return f"reading the calendar at {host} failed ({exc})"


@contextlib.contextmanager
def _unavailable_on_failure(url: str) -> Iterator[None]:
    from caldav.lib import error
    from caldav.lib.http_sync import requests

    try:
        yield
    except (error.DAVError, requests.exceptions.RequestException, OSError) as exc:
        problem = _words(exc, url)
        log.warning("calendar %s unavailable: %s", url, problem)
        raise CalendarUnavailable(problem) from exc


def connect(url: str, username: str, password: str | Bearer, ca_file: Path | None = None,
            timeout: int = TIMEOUT) -> Any:
    """A caldav.DAVClient. TLS is verified (against `ca_file` if given); the password is
    sent unencrypted only to this machine (http://127.0.0.1, http://localhost). With a
    Bearer (an OAuth2 access token, Google's CalDAV) it goes as Authorization: Bearer."""
    from caldav.davclient import DAVClient

    parts = urlsplit(url)
    if parts.scheme not in ("https", "http"):
        raise CalendarUnavailable(f"{url!r} is not an http(s) address")
    if parts.scheme == "http" and not is_loopback(parts.hostname or ""):
        raise CalendarUnavailable(
            f"{parts.hostname} would get the password unencrypted; use https://")
    verify: bool | str = str(ca_file) if ca_file is not None else True
    if isinstance(password, Bearer):
        return DAVClient(url, auth=_bearer_auth(password), timeout=timeout,
                         ssl_verify_cert=verify)
    return DAVClient(url, username=username, password=password, timeout=timeout,
                            ssl_verify_cert=verify)


def _bearer_auth(bearer: Bearer) -> Any:
    """An AuthBase of the HTTP library caldav uses (niquests, else requests)."""
    from caldav.lib.http_sync import requests

    class BearerAuth(requests.auth.AuthBase):
        def __call__(self, request: Any) -> Any:
            return bearer(request)

    return BearerAuth()


def _check_status(response: Any, url: str, what: str) -> None:
    if response.status == 404:
        raise CalendarUnavailable(f"the calendar {url} is not on the server any more")
    if response.status >= 300:
        raise CalendarUnavailable(
            f"{urlsplit(url).hostname} answered {what} with HTTP {response.status}")


def discover(url: str, username: str, password: str | Bearer, ca_file: Path | None = None
             ) -> list[CalendarInfo]:
    """The calendars (of events) the account can read: principal -> home -> calendars."""
    client = connect(url, username, password, ca_file)
    with _unavailable_on_failure(url), client:
        home = str(client.principal().calendar_home_set.url)
        response = client.propfind(home, _CALENDARS, depth=1)
        _check_status(response, home, "the calendar listing")
        found = []
        for item in response.tree.iterfind("D:response", _NS):
            href = item.findtext("D:href", "", _NS)
            prop = item.find("D:propstat/D:prop", _NS)
            if prop is None or prop.find("D:resourcetype/C:calendar", _NS) is None:
                continue
            components = {c.get("name", "").upper() for c in prop.iterfind(
                "C:supported-calendar-component-set/C:comp", _NS)}
            if components and "VEVENT" not in components:
                continue  # a task list
            full = urljoin(home, href)
            name = prop.findtext("D:displayname", "", _NS) or \
                unquote(full.rstrip("/").rsplit("/", 1)[-1])
            found.append(CalendarInfo(name, full))
        return found


def _path(href: str) -> str:
    return unquote(urlsplit(href).path)


def _file_name(href: str) -> str:
    last = href.rstrip("/").rsplit("/", 1)[-1]
    if re.fullmatch(r"[\w@+-][\w.@+-]{0,150}\.ics", last, re.ASCII):
        return last
    return hashlib.sha1(href.encode()).hexdigest() + ".ics"


@contextlib.contextmanager
def _counting(client: Any) -> Iterator[list[int]]:
    """Count the HTTP requests `client` sends (retries after a 401 included)."""
    session = client.session
    original = session.request
    count = [0]

    def request(*args: Any, **kwargs: Any) -> Any:
        count[0] += 1
        return original(*args, **kwargs)

    session.request = request
    try:
        yield count
    finally:
        session.request = original


class _TokenRejected(Exception):
    pass


class CalDavCache:
    """A local copy of one CalDAV calendar in `folder` (a vdir plus the sync state).
    `sync_collection=False` skips WebDAV sync for a server whose support is broken."""

    def __init__(self, folder: Path, *, sync_collection: bool = True) -> None:
        self.folder = folder
        self.sync_collection = sync_collection
        self._parsed: dict[str, tuple[str, icalendar.Calendar]] = {}  # file -> (etag, cal)

    # -- state ------------------------------------------------------------------------
    def _load_state(self) -> dict[str, Any]:
        try:
            state: dict[str, Any] = json.loads((self.folder / STATE_FILE).read_text("utf-8"))
        except (OSError, ValueError):
            return {}
        return state if isinstance(state, dict) else {}

    def _write(self, name: str, data: bytes) -> None:
        tmp = self.folder / f".{name}.tmp"
        tmp.write_bytes(data)
        tmp.replace(self.folder / name)

    # -- sync -------------------------------------------------------------------------
    def sync(self, client: Any, calendar_url: str) -> SyncResult:
        """Bring the local copy up to date with the calendar at `calendar_url`."""
        state = self._load_state()
        if state.get("url") != calendar_url:
            state = {}
        etags: dict[str, str] = dict(state.get("etags", {}))
        with _unavailable_on_failure(calendar_url), _counting(client) as count:
            changed, removed, token, ctag, mode = self._changes(client, calendar_url, state)
            fetched: dict[str, tuple[str, str]] = {}
            wanted = [h for h, etag in changed.items() if etags.get(h) != etag or not etag]
            for i in range(0, len(wanted), MULTIGET_BATCH):
                fetched.update(self._multiget(client, calendar_url, wanted[i:i + MULTIGET_BATCH]))
            requests = count[0]
        # Everything is known; only now does the local copy change.
        self.folder.mkdir(parents=True, exist_ok=True)
        gone = [h for h in wanted if h not in fetched] + sorted(removed)
        for href in gone:
            with contextlib.suppress(FileNotFoundError):
                (self.folder / _file_name(href)).unlink()
            etags.pop(href, None)
        for href, (etag, data) in fetched.items():
            self._write(_file_name(href), data.encode("utf-8"))
            etags[href] = etag
        new_state = {"url": calendar_url, "mode": mode, "sync_token": token, "ctag": ctag,
                     "etags": etags}
        if new_state != state:
            self._write(STATE_FILE, json.dumps(new_state, indent=1, sort_keys=True).encode())
        removed_count = sum(1 for h in gone if h in state.get("etags", {}))
        return SyncResult(changed=bool(fetched or removed_count), fetched=len(fetched),
                          removed=removed_count, requests=requests)

    def _changes(self, client: Any, url: str, state: dict[str, Any]
                 ) -> tuple[dict[str, str], set[str], str | None, str | None, str]:
        """What changed: ({href: etag} to look at, hrefs removed, sync token, ctag, mode)."""
        known: dict[str, str] = state.get("etags", {})
        if self.sync_collection and state.get("mode") != "ctag":
            try:
                token = state.get("sync_token") or ""
                changed, removed, new_token = self._sync_collection(client, url, token)
                if not token:  # a first listing: whatever is not listed is gone
                    removed = set(known) - set(changed)
                return changed, removed, new_token, None, "sync-token"
            except _TokenRejected:
                if state.get("sync_token"):  # expired: start again from nothing
                    log.info("calendar %s: sync token expired, listing everything", url)
                    return self._changes(client, url, {"etags": known})
                log.info("calendar %s: no sync-collection, using ctag and etags", url)
        response = client.propfind(url, _CTAG, depth=0)
        _check_status(response, url, "the ctag query")
        ctag = response.tree.findtext(".//CS:getctag", None, _NS) or \
            response.tree.findtext(".//D:sync-token", None, _NS)
        if ctag and ctag == state.get("ctag"):
            return {}, set(), None, ctag, "ctag"
        response = client.propfind(url, _ETAGS, depth=1)
        _check_status(response, url, "the etag listing")
        listed: dict[str, str] = {}
        for item in response.tree.iterfind("D:response", _NS):
            href = _path(item.findtext("D:href", "", _NS))
            if item.find("D:propstat/D:prop/D:resourcetype/D:collection", _NS) is not None:
                continue
            listed[href] = item.findtext("D:propstat/D:prop/D:getetag", "", _NS)
        return listed, set(known) - set(listed), None, ctag, "ctag"

    def _sync_collection(self, client: Any, url: str, token: str
                         ) -> tuple[dict[str, str], set[str], str]:
        from caldav.lib import error

        changed: dict[str, str] = {}
        removed: set[str] = set()
        for _page in range(1000):  # a server may hand the changes out in pages
            try:
                response = client.report(url, _SYNC.format(token=_escape(token)), depth=0)
            except error.AuthorizationError as exc:
                if exc.status == 403:
                    raise _TokenRejected from exc
                raise
            if response.status in (400, 403, 409, 412, 415, 501):
                raise _TokenRejected
            _check_status(response, url, "the sync-collection report")
            truncated = False
            for item in response.tree.iterfind("D:response", _NS):
                href = _path(item.findtext("D:href", "", _NS))
                status = item.findtext("D:status", "", _NS)
                if " 404" in status:
                    removed.add(href)
                    changed.pop(href, None)
                elif " 507" in status:
                    truncated = True
                elif href.rstrip("/") != _path(url).rstrip("/"):
                    changed[href] = item.findtext("D:propstat/D:prop/D:getetag", "", _NS)
                    removed.discard(href)
            token = response.tree.findtext("D:sync-token", "", _NS)
            if not token:
                raise _TokenRejected
            if not truncated:
                return changed, removed, token
        raise CalendarUnavailable(f"{urlsplit(url).hostname} keeps paging its changes")

    def _multiget(self, client: Any, url: str, hrefs: list[str]
                  ) -> dict[str, tuple[str, str]]:
        body = _MULTIGET.format(hrefs="".join(
            f"<D:href>{_escape(quote(h))}</D:href>" for h in hrefs))
        response = client.report(url, body, depth=None)
        _check_status(response, url, "the event download")
        found: dict[str, tuple[str, str]] = {}
        for item in response.tree.iterfind("D:response", _NS):
            href = _path(item.findtext("D:href", "", _NS))
            data = item.findtext("D:propstat/D:prop/C:calendar-data", None, _NS)
            if data:
                found[href] = (item.findtext("D:propstat/D:prop/D:getetag", "", _NS), data)
        return found

    # -- reading ----------------------------------------------------------------------
    def calendars(self) -> list[icalendar.Calendar]:
        """The cached calendar objects, parsed (each parsed once per version); a file that
        cannot be parsed is logged and left out."""
        etags = {_file_name(h): e for h, e in self._load_state().get("etags", {}).items()}
        parsed: dict[str, tuple[str, icalendar.Calendar]] = {}
        for name in sorted(etags):
            etag = etags[name]
            cached = self._parsed.get(name)
            if cached is not None and cached[0] == etag and etag:
                parsed[name] = cached
                continue
            try:
                calendar = icalendar.Calendar.from_ical((self.folder / name).read_bytes())
            except (OSError, ValueError, IndexError, KeyError) as exc:
                log.warning("calendar cache %s: %s skipped (%s)", self.folder, name, exc)
                continue
            parsed[name] = (etag, calendar)
        self._parsed = parsed
        return [calendar for _etag, calendar in parsed.values()]

    def busy_intervals(self, start: datetime, end: datetime, zone: tzinfo, *,
                       me: frozenset[str] = frozenset(), tentative_busy: bool = True,
                       ) -> tuple[list[BusyInterval], list[str]]:
        return busy_from_calendars(self.calendars(), start, end, zone, me=me,
                                   tentative_busy=tentative_busy)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def sync_all(client: Any, caches: Iterable[tuple[str, CalDavCache]]) -> list[SyncResult]:
    """Sync several calendars of one account over one connection."""
    return [cache.sync(client, url) for url, cache in caches]
