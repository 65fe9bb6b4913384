"""CalDAV: first load of a 2,000-event calendar, and a refresh of it unchanged.

    python benchmarks/caldav_load.py [--events 2000] [--recurring 200] [--runs 3]

Starts its own Radicale on loopback (tests/support/dav.py) and seeds one calendar with
N events, R of them weekly (each with an EXDATE and one moved instance), spread over
four months, with one whole-collection PUT. The window is 30 days. Best of `--runs`:

1. Heard's first load: a fresh CalDavCache synced (sync-collection, then multiget) plus
   the busy computation over the window (heard.calendar.events), on a new connection.
   Floor, in the same run: a bare caldav `search(start, end, event=True, expand=True)`
   (the server filters by time range, caldav expands on the client). Target: <= 1.2x.
2. Unchanged refresh: CalDavCache.sync() again on the same connection, plus the busy
   computation again; HTTP requests counted. Target: one request, < 5% of the first load.
   Floor: one bare PROPFIND of the ctag, the cheapest question a client can ask (Radicale
   hashes every item of the collection to answer it, or a sync-collection REPORT).
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))        # tests.support.dav

from tests.support.dav import Radicale  # noqa: E402

from heard.calendar.caldav_source import CalDavCache, connect  # noqa: E402

ZONE = ZoneInfo("Europe/Berlin")
START = datetime(2026, 11, 2, tzinfo=ZONE)
END = START + timedelta(days=30)
NY = "TZID=America/New_York"


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def seed_text(events: int, recurring: int) -> str:
    rng = random.Random(5)
    parts = []
    first = START - timedelta(days=45)
    for n in range(events - recurring):
        begin = first + timedelta(days=rng.randrange(120), hours=rng.randrange(7, 19),
                                  minutes=rng.choice((0, 15, 30, 45)))
        parts.append(
            f"BEGIN:VEVENT\r\nUID:single-{n}\r\nDTSTAMP:20260901T000000Z\r\n"
            f"DTSTART:{_stamp(begin)}\r\nDTEND:{_stamp(begin + timedelta(minutes=45))}\r\n"
            f"SUMMARY:Meeting {n}\r\n"
            + ("TRANSP:TRANSPARENT\r\n" if n % 50 == 0 else "") + "END:VEVENT\r\n")
    for n in range(recurring):
        start = first + timedelta(days=rng.randrange(60))
        day = start.strftime("%Y%m%d")
        hour = rng.randrange(8, 17)
        exdate = (start + timedelta(weeks=2)).strftime("%Y%m%d")
        moved = (start + timedelta(weeks=3)).strftime("%Y%m%d")
        parts.append(
            f"BEGIN:VEVENT\r\nUID:weekly-{n}\r\nDTSTAMP:20260901T000000Z\r\n"
            f"DTSTART;{NY}:{day}T{hour:02d}0000\r\nDTEND;{NY}:{day}T{hour:02d}3000\r\n"
            f"RRULE:FREQ=WEEKLY\r\nEXDATE;{NY}:{exdate}T{hour:02d}0000\r\n"
            f"SUMMARY:Weekly {n}\r\nEND:VEVENT\r\n"
            f"BEGIN:VEVENT\r\nUID:weekly-{n}\r\nDTSTAMP:20260901T000000Z\r\n"
            f"RECURRENCE-ID;{NY}:{moved}T{hour:02d}0000\r\n"
            f"DTSTART;{NY}:{moved}T{hour + 1:02d}0000\r\nDTEND;{NY}:{moved}T{hour + 1:02d}3000\r\n"
            f"SUMMARY:Weekly {n} (moved)\r\nEND:VEVENT\r\n")
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Heard benchmark//EN\r\n"
            + "".join(parts) + "END:VCALENDAR\r\n")


def counted(client: Any) -> list[int]:
    session = client.session
    original = session.request
    count = [0]

    def request(*args: Any, **kwargs: Any) -> Any:
        count[0] += 1
        return original(*args, **kwargs)

    session.request = request
    return count


def best(runs: int, work: Callable[[], Any]) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(runs):
        t = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - t)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--recurring", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    server = Radicale().start()
    scratch = Path(tempfile.mkdtemp(prefix="heard-caldav-bench-"))
    try:
        user = server.add_user()
        url = f"{user.home}bench/"
        t = time.perf_counter()
        response = user.client(timeout=600).put(url, seed_text(args.events, args.recurring),
                                     {"Content-Type": "text/calendar"})
        assert response.status in (201, 204), response.status
        seed_s = time.perf_counter() - t

        def new_client() -> Any:
            return connect(server.url, user.name, user.password)

        def heard_first() -> tuple[int, int, int]:
            folder = Path(tempfile.mkdtemp(dir=scratch))
            cache = CalDavCache(folder)
            result = cache.sync(new_client(), url)
            intervals, problems = cache.busy_intervals(START, END, ZONE)
            assert not problems, problems[:3]
            return result.requests, result.fetched, len(intervals)

        def bare_search() -> tuple[int, int]:
            client = new_client()
            count = counted(client)
            calendar = client.calendar(url=url)
            found = calendar.search(start=START, end=END, event=True, expand=True)
            busy = 0
            for obj in found:
                event = obj.component
                if str(event.get("TRANSP", "")).upper() != "TRANSPARENT":
                    busy += 1
            return count[0], busy

        rounds = [(heard_first, bare_search)] * args.runs
        first_times, bare_times = [], []
        first = bare = None
        for heard_run, bare_run in rounds:  # interleaved, so drift hits both alike
            ft, first = best(1, heard_run)
            bt, bare = best(1, bare_run)
            first_times.append(ft)
            bare_times.append(bt)
        assert first is not None and bare is not None
        first_s, bare_s = min(first_times), min(bare_times)

        cache = CalDavCache(scratch / "kept")
        client = new_client()
        cache.sync(client, url)
        cache.busy_intervals(START, END, ZONE)
        count = counted(client)

        def refresh() -> tuple[bool, int]:
            before = count[0]
            result = cache.sync(client, url)
            return result.changed, count[0] - before

        refresh_s, (changed, refresh_requests) = best(args.runs, refresh)
        refresh_busy_s, _ = best(args.runs, lambda: (cache.sync(client, url),
                                                     cache.busy_intervals(START, END, ZONE)))
        assert not changed
        ctag_body = ('<?xml version="1.0"?><D:propfind xmlns:D="DAV:" '
                     'xmlns:CS="http://calendarserver.org/ns/"><D:prop><CS:getctag/>'
                     "</D:prop></D:propfind>")
        ctag_s, _ = best(args.runs, lambda: client.propfind(url, ctag_body, depth=0))
    finally:
        server.close()
        shutil.rmtree(scratch, ignore_errors=True)

    print(f"Radicale, {args.events} events ({args.recurring} weekly), 30-day window; "
          f"seeded in {seed_s:.1f} s with one PUT; best of {args.runs}")
    print(f"{'measure':58} {'time':>8} {'requests':>9} {'ratio':>8}")
    rows = [
        ("bare caldav search(expand=True) [floor]", bare_s, bare[0], 1.0),
        (f"Heard first load: sync {first[1]} objects + busy ({first[2]} intervals)",
         first_s, first[0], first_s / bare_s),
        ("bare PROPFIND getctag [floor of any refresh]", ctag_s, 1, ctag_s / first_s),
        ("Heard unchanged refresh (sync only)", refresh_s, refresh_requests,
         refresh_s / first_s),
        ("Heard unchanged refresh + busy computation", refresh_busy_s, refresh_requests,
         refresh_busy_s / first_s),
    ]
    for name, seconds, requests, ratio in rows:
        print(f"{name:58} {seconds:7.3f}s {requests:9d} {ratio:7.2f}x")
    print(f"(bare search: {bare[1]} busy occurrences; ratios: first load / bare search, "
          "refresh / first load; targets <= 1.2x and < 0.05x with 1 request)")


if __name__ == "__main__":
    main()
