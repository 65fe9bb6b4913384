"""Statistics over a store of 100,000 inquiries in a year: the year and one week.

    python benchmarks/stats.py [--inquiries 100000] [--clients 500] [--runs 5] [--profile]

Builds a temporary store (heard.store.Store, schema and all) with N inquiries from C clients
over the year before 2 March 2026, in Europe/Berlin office hours mostly: tiers standard, VIP
(10 min / 2 h around the clock) and prospects; email and calls; answered, acknowledged then
answered, answered without acknowledgement, delegated, dismissed, and a few still open; one
promise for about a fifth of them. Then, best of `--runs`, for the year and for one week:

- floor: a bare `SELECT count(*)` over the same rows with sqlite3, and a bare SELECT of them;
- read: `Store.inquiries_between(start, end)` (rows -> Inquiry objects) and the promises;
- measure: `statistics.measure` (every contact against its standard, working time included);
- summarise: `statistics.summarise` for group_by="all" and the chart's grouping ("week" for
  the year, "day" for the week);
- total: read + measure + summarise, what `heard stats --json` pays on top of start-up;
  and the same total with a lean read (only the columns statistics needs, no thread ids).

Targets (issue 7): the week under 100 ms, the year under 1 s. With --profile, the year's
pipeline is run once under cProfile and the top functions printed.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from heard.domain.clients import Channel, Client
from heard.domain.clock import Counting, WorkingHours
from heard.domain.ids import ClientId, InquiryId
from heard.domain.inquiries import Inquiry, InquiryState
from heard.domain.promises import Promise
from heard.domain.standards import PROSPECT_TIER, Standard, Standards
from heard.domain.statistics import GroupBy, measure, summarise, week_bounds
from heard.store import Store

BERLIN = ZoneInfo("Europe/Berlin")
HOURS = WorkingHours.office(BERLIN)
M = timedelta(minutes=1)
STANDARDS = Standards(
    by_tier={"vip": Standard(10 * M, 2 * 60 * M, Counting.CLOCK, ack_goal=0.95)},
    by_tier_channel={("default", Channel.CALL): Standard(10 * M, 24 * 60 * M, Counting.CLOCK)},
)
YEAR_END = datetime(2026, 3, 2, tzinfo=BERLIN)       # a Monday
YEAR_START = datetime(2025, 3, 2, tzinfo=BERLIN)
NOW = YEAR_END + timedelta(hours=12)
WEEK = week_bounds(date(2025, 10, 27), BERLIN)       # the week after the October change


def _ts(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(UTC).isoformat()


def build(path: Path, count: int, clients: int, rng: random.Random) -> None:
    with Store(path) as store:
        ids = []
        for i in range(clients):
            tier = "vip" if i % 10 == 0 else PROSPECT_TIER if i % 17 == 0 else "standard"
            client = Client(f"Client {i}", emails=(f"c{i}@client{i}.example",), tier=tier,
                            prospect=tier == PROSPECT_TIER)
            ids.append(store.add_client(client, YEAR_START).id)
        span_days = (YEAR_END - YEAR_START).days
        rows: list[tuple[Any, ...]] = []
        promises: list[tuple[Any, ...]] = []
        for n in range(count):
            day = YEAR_START + timedelta(days=rng.randrange(span_days))
            # 85% in office hours on weekdays, the rest any time
            if rng.random() < 0.85 and day.weekday() < 5:
                minute = rng.randrange(9 * 60, 17 * 60)
            else:
                minute = rng.randrange(24 * 60)
            received = datetime.combine(day.date(), datetime.min.time(), BERLIN) + minute * M
            channel = Channel.CALL if rng.random() < 0.2 else Channel.EMAIL
            ack_delay = M * int(rng.expovariate(1 / 12))
            answer_delay = ack_delay + M * int(rng.expovariate(1 / 240))
            roll = rng.random()
            ack: datetime | None = received + ack_delay
            closed: datetime | None = received + answer_delay
            if received > NOW - timedelta(hours=6) or roll < 0.01:
                state, closed = ("acknowledged", None) if roll < 0.5 else ("waiting", None)
                if state == "waiting":
                    ack = None
            elif roll < 0.04:
                state, ack = "dismissed", None
            elif roll < 0.07:
                state, closed = "delegated", received + ack_delay
                ack = None
            elif roll < 0.5:
                state, ack = "answered", None   # answered without an acknowledgement
            else:
                state = "answered"
            rows.append((ids[n % clients], channel.value, _ts(received), f"Matter {n}",
                         f"c{n % clients}@x.example", f"<{n}@bench>", "", state, _ts(ack),
                         _ts(closed), "bench"))
            if ack is not None and rng.random() < 0.4:
                due = ack + timedelta(hours=rng.choice((1, 2, 4, 24)))
                kept = None if closed is None else closed
                promises.append((n + 1, ids[n % clients], _ts(ack), _ts(due), "", _ts(kept)))
        with store.transaction() as conn:
            conn.executemany(
                "INSERT INTO inquiries (client_id, channel, received_at, subject, sender,"
                " message_id, preview, state, acknowledged_at, closed_at, account)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            conn.executemany("INSERT INTO inquiry_threads VALUES (?, ?)",
                             [(n + 1, f"<{n}@bench>") for n in range(count)])
            conn.executemany(
                "INSERT INTO promises (inquiry_id, client_id, made_at, due, text, kept_at)"
                " VALUES (?, ?, ?, ?, ?, ?)", promises)


def read_promises(conn: sqlite3.Connection, start: datetime, end: datetime) -> list[Promise]:
    """The promises of the inquiries received in [start, end): the store has no such read yet."""
    rows = conn.execute(
        "SELECT p.inquiry_id, p.client_id, p.made_at, p.due, p.text, p.kept_at FROM promises p"
        " JOIN inquiries i ON i.id = p.inquiry_id WHERE i.received_at >= ? AND"
        " i.received_at < ?", (_ts(start), _ts(end))).fetchall()
    parse = datetime.fromisoformat
    return [Promise(InquiryId(r[0]), ClientId(r[1]), parse(r[2]), parse(r[3]), r[4],
                    None if r[5] is None else parse(r[5])) for r in rows]


def lean_read(conn: sqlite3.Connection, start: datetime, end: datetime) -> list[Inquiry]:
    """What a purpose-built store read could cost: only the columns statistics uses, no thread
    ids, no subject or preview (Store.inquiries_between reads every column and the threads)."""
    rows = conn.execute(
        "SELECT id, client_id, channel, received_at, state, acknowledged_at, closed_at"
        " FROM inquiries WHERE received_at >= ? AND received_at < ?",
        (_ts(start), _ts(end))).fetchall()
    parse = datetime.fromisoformat
    channels = {c.value: c for c in Channel}
    states = {s.value: s for s in InquiryState}
    return [Inquiry(client_id=ClientId(r[1]), channel=channels[r[2]], received_at=parse(r[3]),
                    subject="", sender="", state=states[r[4]],
                    acknowledged_at=None if r[5] is None else parse(r[5]),
                    closed_at=None if r[6] is None else parse(r[6]), id=InquiryId(r[0]))
            for r in rows]


def best(runs: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return min(times), result


def period(name: str, store: Store, conn: sqlite3.Connection, clients: dict[ClientId, Client],
           start: datetime, end: datetime, chart: GroupBy, runs: int) -> list[tuple[str, float]]:
    s, e = _ts(start), _ts(end)
    where = "FROM inquiries WHERE received_at >= ? AND received_at < ?"
    t_count, (n,) = best(runs, lambda: conn.execute(f"SELECT count(*) {where}", (s, e)).fetchone())
    t_rows, _ = best(runs, lambda: conn.execute(f"SELECT * {where}", (s, e)).fetchall())
    t_read, inquiries = best(runs, lambda: store.timelines_between(start, end))
    t_lean, _ = best(runs, lambda: lean_read(conn, start, end))
    t_prom, promises = best(runs, lambda: store.promises_between(start, end))
    t_measure, measures = best(runs, lambda: measure(inquiries, clients, STANDARDS, HOURS, NOW))
    t_sum, _ = best(runs, lambda: (summarise(measures, promises, now=NOW),
                                   summarise(measures, promises, group_by=chart, now=NOW)))
    total = t_read + t_prom + t_measure + t_sum
    [whole] = summarise(measures, promises, now=NOW)
    print(f"\n{name}: {n} inquiries ({len(promises)} promises), {start:%Y-%m-%d} .. {end:%Y-%m-%d}")
    print(f"  ack in time {whole.ack_in_time_share:.1%}, answer in time "
          f"{whole.answer_in_time_share:.1%}, median ack {whole.median_time_to_ack}, "
          f"p90 answer {whole.p90_time_to_answer}, breaches {whole.breaches}")
    return [("floor: SELECT count(*)", t_count), ("floor: bare SELECT * of the rows", t_rows),
            ("Store.timelines_between (what heard stats reads)", t_read),
            ("Store.promises_between", t_prom),
            ("measure", t_measure), ("summarise all + chart (by day | week)", t_sum),
            ("total (read + measure + summarise)", total),
            ("  the same with the benchmark's own lean_read()", total - t_read + t_lean),
            ("total / count(*) floor", total / t_count if t_count else float("nan"))]


def direct_clock_cost(inquiries: list[Any], clients: dict[ClientId, Client], sample: int) -> float:
    """Seconds per inquiry when each deadline and duration walks WorkingHours day by day."""
    items = inquiries[:sample]
    started = time.perf_counter()
    for inq in items:
        client = clients[inq.client_id]
        st = STANDARDS.for_contact(client.tier, inq.channel)
        st.ack_due(inq.received_at, HOURS)
        st.answer_due(inq.received_at, HOURS)
        if st.counting is Counting.WORKING_HOURS:
            for end in (inq.acknowledged_at, inq.closed_at):
                if end is not None:
                    HOURS.elapsed(inq.received_at, end)
    return (time.perf_counter() - started) / max(len(items), 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inquiries", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="heard-stats-") as tmp:
        path = Path(tmp) / "heard.sqlite3"
        started = time.perf_counter()
        build(path, args.inquiries, args.clients, random.Random(7))
        print(f"store: {args.inquiries} inquiries from {args.clients} clients, "
              f"{path.stat().st_size / 2**20:.1f} MiB, built in "
              f"{time.perf_counter() - started:.1f} s; python {sys.version.split()[0]}, "
              f"sqlite {sqlite3.sqlite_version}")
        conn = sqlite3.connect(path)
        with Store(path) as store:
            clients = {c.id: c for c in store.clients() if c.id is not None}
            week = period("week", store, conn, clients, *WEEK, "day", args.runs)
            year = period("year", store, conn, clients, YEAR_START, YEAR_END, "week",
                          max(1, args.runs // 2))
            print(f"\n{'seconds (best of runs)':<38}{'week':>10}{'year':>10}")
            for (label, w), (_, y) in zip(week, year, strict=True):
                unit = "x" if label.startswith("total /") else ""
                print(f"{label:<38}{w:>9.4f}{unit or 's'}{y:>9.3f}{unit or 's'}")
            print(f"{'target':<38}{'< 0.100':>10}{'< 1.000':>10}")
            inquiries = store.inquiries_between(YEAR_START, YEAR_END)
            per = direct_clock_cost(inquiries, clients, 5000)
            print(f"\nfor comparison, WorkingHours.add/elapsed per call instead of the timeline: "
                  f"{per * 1e6:.0f} us per inquiry, ~{per * len(inquiries):.1f} s for the year")
            if args.profile:
                prof = cProfile.Profile()
                prof.enable()
                found = store.inquiries_between(YEAR_START, YEAR_END)
                summarise(measure(found, clients, STANDARDS, HOURS, NOW), group_by="week")
                prof.disable()
                pstats.Stats(prof).sort_stats("tottime").print_stats(12)
        conn.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
