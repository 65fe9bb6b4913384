"""Shared state between Heard instances on one IMAP mailbox: propagation, racing claims,
catching up.

    python benchmarks/shared_state.py [--trials 40] [--claims 1000] [--unsafe 300]
                                      [--messages 10000] [--runs 5]

Starts its own Dovecot on loopback (tests/support/dovecot.py, default settings: fsync on,
Maildir) and prints each figure next to a floor measured in the same run:

1. Propagation: instance A marks a message ($HeardAcked, heard.devices.wire.claims.mark()),
   instance B, in IDLE on INBOX with QRESYNC, sees "message u is acknowledged"
   (IdleTracker). Floor: bare imapclient sessions, `UID STORE +FLAGS` on one and the
   untagged FETCH in IDLE on the other. Trials alternate floor and Heard. Dovecot waits
   ~0.5 s before it tells IDLE sessions anything, so both sit near 500 ms.
2. Racing claims: N new client messages, three instances (separate processes, own
   connections), all claiming each new message at the same moment (a barrier after each
   APPEND); a winner marks it sending, then acknowledged. Figures: double sends (two
   instances allowed to send the same message: target 0), rounds with no winner (every
   contender stepped back; the message waits for a retry), claim latency. Floors: one
   bare `UID STORE` round trip, and one uncontended claim. Reference: the same race with
   one shared keyword and UNCHANGEDSINCE alone (what Dovecot 2.3 lets through twice).
3. Catching up after 100 changes (claims, marks, \\Seen, expunges, new mail) on an INBOX
   of 10,000 messages: bytes received and time of flags_since() with QRESYNC and with
   CHANGEDSINCE, next to a full flag fetch (flags_since() with nothing cached, and bare
   imapclient `fetch(uids, ["FLAGS"])`); and whether the delta-applied cache equals the
   full fetch.

Nothing is asserted: the figures are for reading.
"""

from __future__ import annotations

import argparse
import collections
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))        # tests.support.dovecot, tests.support.instances
sys.path.insert(0, str(ROOT / "benchmarks"))

from tests.support.dovecot import Dovecot, MailUser  # noqa: E402
from tests.support.instances import (  # noqa: E402
    context,
    open_conn,
    racer,
    unsafe_racer,
)

from _imap_mailbox import populate  # noqa: E402
from heard.devices.wire import claims as ss  # noqa: E402
from heard.domain.shared import ACKED, Lease, Status  # noqa: E402

NAMES = ("desk", "lap", "asst")


def message(n: int) -> bytes:
    date = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
    return (f"From: Margaret Hale <margaret@hale.example>\r\nTo: alex@example.com\r\n"
            f"Subject: Closing documents {n}\r\nMessage-ID: <bench-{n}@hale.example>\r\n"
            f"Date: {date}\r\n\r\nCould you call me about the closing documents?\r\n"
            ).encode()


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def pct(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def table(title: str, header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    print(f"\n{title}")
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        print("  " + "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(row, widths, strict=True))))


def now() -> datetime:
    return datetime.now(UTC)


def fill(user: MailUser, count: int) -> None:
    client = user.client()
    try:
        for n in range(count):
            client.append("INBOX", message(n))
    finally:
        client.logout()


# 1. propagation

def idle_until(check: Callable[[list[Any]], bool], poll: Callable[[float], list[Any]],
               started: float, timeout: float = 5.0) -> float:
    while True:
        left = started + timeout - time.perf_counter()
        if left <= 0:
            raise SystemExit("no change seen in IDLE within 5 s")
        if check(poll(left)):
            return time.perf_counter() - started


def part1(server: Dovecot, trials: int) -> None:
    user = server.add_user()
    fill(user, 2 * trials)
    # Floor: bare imapclient on both ends.
    writer, watcher = user.client(), user.client()
    writer.select_folder("INBOX")
    watcher.select_folder("INBOX", readonly=True)
    watcher.idle()
    # Heard: mark() on one Connection, IdleTracker on another (QRESYNC on).
    heard_writer = open_conn(server.imap_port, user.name)
    heard_watcher = open_conn(server.imap_port, user.name)
    ss.enable_qresync(heard_watcher)
    heard_watcher.start_idle("INBOX")
    tracker = ss.IdleTracker()
    floor: list[float] = []
    ours: list[float] = []
    try:
        time.sleep(0.6)   # both IDLEs settled
        for n in range(trials):
            uid = 2 * n + 1
            started = time.perf_counter()
            writer.add_flags([uid], [ACKED], silent=True)

            def fetched(responses: list[Any], uid: int = uid) -> bool:
                # No expunges here, so the sequence number is the UID.
                return any(isinstance(r, tuple) and len(r) > 2 and r[:2] == (uid, b"FETCH")
                           for r in responses)

            floor.append(idle_until(fetched, lambda left: watcher.idle_check(timeout=left),
                                    started))
            uid += 1
            started = time.perf_counter()
            ss.mark(heard_writer, "INBOX", uid, "acked")

            def seen(news: list[Any], uid: int = uid) -> bool:
                return any(c.uid == uid and c.state.status is Status.ACKED for c in news)

            ours.append(idle_until(
                seen, lambda left: tracker.apply(
                    heard_watcher.client.idle_check(timeout=left)).changes,  # type: ignore[attr-defined]
                started))
            time.sleep(0.05)
        watcher.idle_done()
        heard_watcher.end_idle()
    finally:
        writer.logout()
        watcher.logout()
        heard_writer.close()
        heard_watcher.close()
    rows = [(name, ms(statistics.median(t)), ms(pct(t, 95)), ms(min(t)), ms(max(t)),
             f"{pct(t, 95) / pct(floor, 95):.2f}x")
            for name, t in (("floor: bare STORE -> FETCH in IDLE", floor),
                            ("heard: mark() -> IdleTracker change", ours))]
    table(f"1. propagation of a flag change, {trials} trials each (alternating)",
          ("", "p50", "p95", "min", "max", "p95/floor"), rows)
    gap50 = (statistics.median(ours) - statistics.median(floor)) * 1000
    print(f"   heard - floor: p50 {gap50:+.1f} ms, p95"
          f" {(pct(ours, 95) - pct(floor, 95)) * 1000:+.1f} ms")


# 2. racing claims

def run_race(server: Dovecot, user: MailUser, count: int, target: Callable[..., None]
             ) -> tuple[list[Any], float]:
    ctx = context()
    barrier = ctx.Barrier(len(NAMES) + 1)
    results = ctx.Queue()
    procs = [ctx.Process(target=target, args=(server.imap_port, user.name, name, count,
                                              barrier, results), daemon=True)
             for name in NAMES]
    for proc in procs:
        proc.start()
    feeder = user.client()
    started = time.perf_counter()
    try:
        for n in range(count):
            feeder.append("INBOX", message(n))
            barrier.wait(120)
        if target is racer:
            barrier.wait(300)
        took = time.perf_counter() - started
        got = [results.get(timeout=600) for _ in NAMES]
    finally:
        feeder.logout()
        for proc in procs:
            proc.join(60)
            if proc.is_alive():
                proc.kill()
    return got, took


def bare_store_floor(server: Dovecot, runs: int = 200) -> tuple[list[float], list[float]]:
    """One bare `UID STORE` round trip; one whole claim of a new message, nobody racing."""
    user = server.add_user()
    fill(user, 2 * runs)
    client = user.client()
    client.select_folder("INBOX")
    stores = []
    for uid in range(1, runs + 1):
        started = time.perf_counter()
        client.add_flags([uid], ["$HeardBy_desk"])
        stores.append(time.perf_counter() - started)
    client.logout()
    conn = open_conn(server.imap_port, user.name)
    caps = ss.detect(conn, "INBOX", "lap")
    claims = []
    for uid in range(runs + 1, 2 * runs + 1):
        started = time.perf_counter()
        result = ss.claim(conn, "INBOX", uid, "lap", lambda: False, Lease(), now, caps=caps)
        claims.append(time.perf_counter() - started)
        assert isinstance(result, ss.Claimed), result
    conn.close()
    return stores, claims


def part2(server: Dovecot, count: int, unsafe: int) -> None:
    stores, lone = bare_store_floor(server)
    user = server.add_user()
    user.client().logout()
    got, took = run_race(server, user, count, racer)
    winners: dict[int, list[str]] = collections.defaultdict(list)
    kinds: collections.Counter[str] = collections.Counter()
    latency: dict[str, list[float]] = collections.defaultdict(list)
    contended = 0
    retried = 0
    for name, record, tried, late in got:
        retried += tried
        for uid, kind, detail, seconds in record:
            kinds[kind] += 1
            latency[kind].append(seconds)
            if kind == "claimed":
                winners[uid].append(name)
                contended += detail == "contended"
        for uid in late:
            winners[uid].append(f"{name} (retry)")
    doubles = sum(1 for names in winners.values() if len(names) > 1)
    first_round = sum(1 for uid in range(1, count + 1)
                      if not any(not n.endswith("(retry)") for n in winners.get(uid, [])))
    unwon = sum(1 for uid in range(1, count + 1) if not winners.get(uid))
    every = [s for values in latency.values() for s in values]
    print(f"\n2. racing claims: {count} new messages, {len(NAMES)} instances each claiming"
          f" every one at once ({took:.1f} s, {took / count * 1000:.1f} ms a round)")
    print(f"   double sends: {doubles}   (target 0)")
    print(f"   rounds with no winner: {first_round} of {count}; after one retry pass"
          f" ({retried} retries): {unwon} left without a winner")
    print(f"   outcomes: {dict(kinds)}; contended wins (several tokens seen, resolved):"
          f" {contended}")
    rows = [("floor: one bare UID STORE round trip", stores),
            ("floor: one claim of a new message, nobody racing", lone),
            ("heard: claim in the race, every outcome", every),
            ("heard: claim in the race, the winner's", latency["claimed"])]
    table("   claim latency", ("", "p50", "p95", "max"),
          [(name, ms(statistics.median(v)), ms(pct(v, 95)), ms(max(v))) for name, v in rows])
    if unsafe:
        reference = server.add_user()
        reference.client().logout()
        got, _took = run_race(server, reference, unsafe, unsafe_racer)
        counts = collections.Counter(uid for _name, won in got for uid in won)
        two = sum(1 for c in counts.values() if c > 1)
        print(f"   reference, one shared keyword + UNCHANGEDSINCE, no token or read-back:"
              f" {two} of {unsafe} messages 'won' by two or more instances")


# 3. catching up

class Received:
    """Bytes an imaplib session reads from the server (its readline and read)."""

    def __init__(self, imap: Any) -> None:
        self.count = 0
        readline, read = imap.readline, imap.read

        def counted_readline() -> bytes:
            line = readline()
            self.count += len(line)
            return line

        def counted_read(size: int) -> bytes:
            data = read(size)
            self.count += len(data)
            return data

        imap.readline, imap.read = counted_readline, counted_read

    @contextmanager
    def measure(self, into: list[tuple[float, int]]) -> Iterator[None]:
        before = self.count
        started = time.perf_counter()
        yield
        into.append((time.perf_counter() - started, self.count - before))


def hundred_changes(user: MailUser, rng: random.Random) -> None:
    conn = open_conn(user.server.imap_port, user.name)
    caps = ss.detect(conn, "INBOX", "desk")
    client = user.client()
    client.select_folder("INBOX")
    uids = list(client.search(["ALL"]))
    picked = rng.sample(uids, 55)
    changes = 0
    for uid in picked[:20]:     # claimed, sending, acknowledged: 3 STOREs each
        ss.claim(conn, "INBOX", uid, "desk", lambda: False, Lease(), now, caps=caps)
        ss.mark_sending(conn, "INBOX", uid, "desk", caps=caps)
        ss.mark(conn, "INBOX", uid, "acked")
        changes += 3
    for uid in picked[20:50]:   # flagged on a phone, or dismissed
        client.add_flags([uid], ["\\Flagged" if uid % 2 else "$HeardDismissed"])
        changes += 1
    client.add_flags(picked[50:55], ["\\Deleted"])
    client.expunge()
    for n in range(5):
        client.append("INBOX", message(100_000 + n))
    client.logout()
    conn.close()
    assert changes + 10 == 100


def part3(server: Dovecot, messages: int, runs: int) -> None:
    user = server.add_user()
    started = time.perf_counter()
    populate(user.maildir, messages, user.address, server.uid, server.gid)
    conn = open_conn(server.imap_port, user.name)
    received = Received(conn.client._imap)  # type: ignore[attr-defined]
    first = ss.flags_since(conn, "INBOX", None, None)   # Dovecot indexes the folder
    print(f"\n3. catching up: INBOX of {len(first.changed)} messages (written and indexed in"
          f" {time.perf_counter() - started:.1f} s); 100 changes while one instance was away")
    cache = dict(first.changed)
    hundred_changes(user, random.Random(7))
    results: dict[str, list[tuple[float, int]]] = collections.defaultdict(list)
    exact: dict[str, bool] = {}
    truth: dict[int, frozenset[str]] = {}
    for _ in range(runs):
        with received.measure(results["full"]):
            full = ss.flags_since(conn, "INBOX", None, None)
        truth = dict(full.changed)
        client = user.client()
        bare = Received(client._imap)      # the floor's bytes, counted the same way
        client.select_folder("INBOX", readonly=True)
        uids = client.search(["ALL"])
        with bare.measure(results["bare"]):
            client.fetch(uids, ["FLAGS"])
        client.logout()
        for method, qresync in (("qresync", True), ("changedsince", False)):
            with received.measure(results[method]):
                delta = ss.flags_since(conn, "INBOX", first.uidvalidity,
                                       first.highestmodseq, use_qresync=qresync)
            exact[method] = delta.apply(cache) == truth
            results[f"{method}-n"].append((0.0, len(delta.changed)))
    conn.close()
    rows = []
    floor_t = statistics.median(t for t, _b in results["full"])
    floor_b = statistics.median(b for _t, b in results["full"])
    for key, name in (("bare", "floor: imapclient fetch(all UIDs, FLAGS)"),
                      ("full", "floor: flags_since(), nothing cached (full fetch)"),
                      ("qresync", "heard: flags_since(), QRESYNC"),
                      ("changedsince", "heard: flags_since(), CHANGEDSINCE + UID list")):
        t = statistics.median(x for x, _b in results[key])
        b = statistics.median(y for _t, y in results[key])
        rows.append((name, ms(t), f"{b / 1024:8.1f} KB", f"{t / floor_t:5.2f}x",
                     f"{b / floor_b:6.3f}x"))
    table(f"   median of {runs} (one open connection; time of the call alone)",
          ("", "time", "received", "time/full", "bytes/full"), rows)
    changed = {k: results[f"{k}-n"][0][1] for k in ("qresync", "changedsince")}
    print(f"   messages reported changed: {changed}; delta applied to the cache == full"
          f" fetch: {exact}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--claims", type=int, default=1000)
    parser.add_argument("--unsafe", type=int, default=300,
                        help="rounds of the unsafe reference race (0: skip)")
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", choices=("1", "2", "3"), default=None)
    args = parser.parse_args()
    begun = time.perf_counter()
    server = Dovecot().start()
    try:
        print(f"Dovecot on 127.0.0.1:{server.imap_port} (plain IMAP on loopback, Maildir,"
              " default fsync)")
        if args.only in (None, "1"):
            part1(server, args.trials)
        if args.only in (None, "2"):
            part2(server, args.claims, args.unsafe)
        if args.only in (None, "3"):
            part3(server, args.messages, args.runs)
    finally:
        server.close()
    print(f"\ntotal time {time.perf_counter() - begun:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
