"""IMAP intake: push latency, first sync of a 10,000-message INBOX, re-sync of it unchanged.

    python benchmarks/imap_intake.py [--trials 50] [--messages 10000] [--runs 3] [--profile]

Starts its own Dovecot on loopback (tests/support/dovecot.py) and prints each figure next
to a floor measured in the same run against the same server:

1. New client mail -> the engine's "changed" event with a new inquiry (the engine
   watching the account over IDLE; each message APPENDed on its own connection, the
   clock started just before the APPEND). Floor: a bare imapclient connection in IDLE on
   INBOX seeing the EXISTS. Dovecot itself waits ~0.5 s before it tells IDLE clients.
   Target: p95 within 0.5 s of the floor's p95.
2. First sync (engine.sync() on a fresh profile, wall time) of an INBOX of N messages.
   Floors: a bare imapclient session (login, EXAMINE, SEARCH SINCE, one FETCH of
   ENVELOPE FLAGS BODY.PEEK[HEADER] for every UID), and mbsync pulling the folder into a
   fresh local Maildir. Targets: <= 1.5x the bare fetch (issue 25), >= 5x faster than mbsync.
3. Re-sync of the unchanged mailbox: the second engine.sync() on the same engine (its
   connection is kept): wall time and every IMAP command sent (imaplib.IMAP4.send is
   wrapped in this process). Floor: STATUS of INBOX and Sent on an open connection.
   Target: one round trip per folder (a STATUS each), plus at most one LIST to find Sent.

--profile adds a cProfile of one more first sync (part 2) and prints the top functions.
"""

from __future__ import annotations

import argparse
import cProfile
import imaplib
import io
import os
import pstats
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))        # tests.support.dovecot
sys.path.insert(0, str(ROOT / "benchmarks"))

from tests.support.dovecot import Dovecot, MailUser  # noqa: E402

import heard.engine.logins  # noqa: E402
from _imap_mailbox import MIX_TEXT, client_address, populate  # noqa: E402
from heard.config import ConfigFile  # noqa: E402
from heard.domain.clients import Client  # noqa: E402
from heard.engine import Engine, EngineEvent, SyncReport  # noqa: E402
from heard.system.paths import Profile  # noqa: E402

# The benchmark has no keyring: every account's password is the mail user's.
heard.engine.logins.imap_password = lambda account: "secret"

CLIENTS = 25
MESSAGE = (b"From: Margaret Hale <margaret@hale.example>\r\nTo: %s\r\n"
           b"Subject: Closing documents %d\r\nMessage-ID: <bench-%d@hale.example>\r\n"
           b"Date: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n"
           b"Could you call me about the closing documents?\r\n")


def client_mail(user: MailUser, n: int) -> bytes:
    date = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000").encode()
    return MESSAGE % (user.address.encode(), n, n, date)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def table(title: str, header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    print(f"\n{title}")
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        print("  " + "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(row, widths, strict=True))))


def rss() -> str:
    return f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"


def make_profile(root: Path, user: MailUser) -> Profile:
    """What tests/support/imap.imap_profile writes, minus the keyring."""
    profile = Profile(root)
    profile.create()
    file = ConfigFile(profile.config)
    file.set("user", "name", "Alex Morgan")
    file.set("user", "addresses", [user.address])
    file.set("user", "timezone", "Europe/Berlin")
    file.append("accounts", {"name": "work", "kind": "imap", "host": "127.0.0.1",
                             "port": user.server.imap_port, "security": "plain",
                             "username": user.name, "address": user.address})
    return profile


def open_engine(root: Path, user: MailUser) -> Engine:
    engine = Engine.open(make_profile(root, user))
    engine.clients.add(Client("Margaret Hale", emails=("margaret@hale.example",)))
    for i in range(CLIENTS):
        engine.clients.add(Client(f"Client {i}", emails=(client_address(i),)))
    return engine


# 1. push latency

def idle_floor(user: MailUser, trials: int) -> list[float]:
    watcher = user.client()
    watcher.select_folder("INBOX", readonly=True)
    watcher.idle()
    times = []
    try:
        for n in range(trials):
            sender = user.client()
            started = time.perf_counter()
            sender.append("INBOX", client_mail(user, n))
            deadline = started + 5
            while True:
                left = deadline - time.perf_counter()
                if left <= 0:
                    raise SystemExit("floor: no EXISTS within 5 s")
                responses = watcher.idle_check(timeout=left)
                if any(isinstance(r, tuple) and len(r) > 1 and r[1] == b"EXISTS"
                       for r in responses):
                    break
            times.append(time.perf_counter() - started)
            sender.logout()
            time.sleep(0.2)
        watcher.idle_done()
    finally:
        watcher.logout()
    return times


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while not check():
        if time.monotonic() > end:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)


def heard_push(root: Path, user: MailUser, trials: int) -> list[float]:
    engine = open_engine(root, user)
    arrived = threading.Event()

    def listener(event: EngineEvent) -> None:
        if event.kind == "changed" and event.new:
            arrived.set()

    engine.subscribe(listener)
    engine.start_watching()
    times = []
    try:
        wait_for(lambda: any(h.online and h.push and h.last_sync for h in engine.accounts()),
                 15, "the engine's watchers to connect")
        time.sleep(1.5)  # both watchers in IDLE, their catch-up syncs done
        for n in range(trials):
            arrived.clear()
            sender = user.client()
            started = time.perf_counter()
            sender.append("INBOX", client_mail(user, 10_000 + n))
            if not arrived.wait(5):
                raise SystemExit("heard: no new-inquiry event within 5 s")
            times.append(time.perf_counter() - started)
            sender.logout()
            time.sleep(0.2)
    finally:
        engine.close()
    return times


def part1(server: Dovecot, tmp: Path, trials: int) -> list[tuple[str, bool]]:
    floor = idle_floor(server.add_user(), trials)
    ours = heard_push(tmp / "push", server.add_user(), trials)
    rows = []
    for name, times in (("floor: bare IDLE, APPEND -> EXISTS", floor),
                        ("heard: APPEND -> engine event", ours)):
        rows.append((name, ms(statistics.median(times)), ms(pct(times, 95)),
                     ms(min(times)), ms(max(times)),
                     f"{pct(times, 95) / pct(floor, 95):.2f}x"))
    table(f"1. new message -> event, {trials} trials (each APPEND on a new connection)",
          ("", "p50", "p95", "min", "max", "p95/floor"), rows)
    gap = pct(ours, 95) - pct(floor, 95)
    print(f"  heard p95 - floor p95: {gap * 1000:.1f} ms;  peak RSS so far {rss()}")
    return [(f"1. push p95 within 0.5 s of the floor (+{gap * 1000:.0f} ms)", gap <= 0.5)]


# 2. first sync

def bare_fetch(user: MailUser, since: datetime) -> tuple[float, float, int, float]:
    cpu = time.process_time()
    started = time.perf_counter()
    client = user.client()
    client.select_folder("INBOX", readonly=True)
    uids = client.search(["SINCE", since.date()])
    fetch_start = time.perf_counter()
    data = client.fetch(uids, ["ENVELOPE", "FLAGS", "BODY.PEEK[HEADER]"])
    done = time.perf_counter()
    client.logout()
    return done - started, done - fetch_start, len(data), time.process_time() - cpu


MBSYNC_RC = """\
IMAPAccount bench
Host 127.0.0.1
Port {port}
User {user}
Pass {password}
SSLType None
AuthMechs LOGIN

IMAPStore remote
Account bench

MaildirStore local
Path {dir}/
Inbox {dir}/INBOX

Channel inbox
Far :remote:INBOX
Near :local:INBOX
Create Near
Sync Pull
SyncState *
"""


def mbsync(user: MailUser, where: Path) -> tuple[float, int]:
    shutil.rmtree(where, ignore_errors=True)
    (where / "mail").mkdir(parents=True)
    rc = where / "mbsyncrc"
    rc.write_text(MBSYNC_RC.format(port=user.server.imap_port, user=user.name,
                                   password=user.password, dir=where / "mail"))
    started = time.perf_counter()
    done = subprocess.run(["mbsync", "-c", str(rc), "-q", "inbox"], capture_output=True,
                          text=True)
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"mbsync failed ({done.returncode}): {done.stderr[-500:]}")
    inbox = where / "mail" / "INBOX"
    count = sum(1 for sub in ("cur", "new") for _ in (inbox / sub).iterdir())
    return took, count


def heard_first_sync(root: Path, user: MailUser) -> tuple[float, float, Engine, SyncReport]:
    """Wall time and this process's CPU time (every thread) of one first sync."""
    engine = open_engine(root, user)
    cpu = time.process_time()
    started = time.perf_counter()
    report = engine.sync()
    took = time.perf_counter() - started
    cpu = time.process_time() - cpu
    if report.errors:
        raise SystemExit(f"heard: sync errors: {report.errors}")
    return took, cpu, engine, report


def part2(server: Dovecot, tmp: Path, messages: int, runs: int, profile: bool
          ) -> tuple[list[tuple[str, bool]], Engine, MailUser]:
    user = server.add_user()
    started = time.perf_counter()
    box = populate(user.maildir, messages, user.address, server.uid, server.gid,
                   clients=CLIENTS)
    made = time.perf_counter() - started
    print(f"\n2. INBOX: {box.count} messages, mean {box.mean_size:.0f} bytes, all dated within"
          f" the last 30 days; {MIX_TEXT}")
    print(f"   counts: {box.kinds}; written in {made:.1f} s")
    since = datetime.now(UTC) - timedelta(days=30)
    started = time.perf_counter()
    bare_fetch(user, since)  # Dovecot indexes the folder; every timed run finds it warm
    print("   warm-up (Dovecot indexes the folder, untimed): "
          f"{time.perf_counter() - started:.1f} s")

    floors, fetches, ours, pulls = [], [], [], []
    floor_cpu, our_cpu, loads = [], [], []
    engine: Engine | None = None
    report: SyncReport | None = None
    for run in range(runs):
        loads.append(os.getloadavg()[0])
        total, fetch_only, count, cpu = bare_fetch(user, since)
        assert count == messages, count
        floors.append(total)
        fetches.append(fetch_only)
        floor_cpu.append(cpu)
        if engine is not None:
            engine.close()
        took, cpu, engine, report = heard_first_sync(tmp / f"first-{run}", user)
        ours.append(took)
        our_cpu.append(cpu)
        took, count = mbsync(user, tmp / "mbsync")
        assert count == messages, count
        pulls.append(took)
    assert engine is not None and report is not None
    floor, heard_t, mb = (statistics.median(x) for x in (floors, ours, pulls))
    rows = [
        ("floor: imapclient login+EXAMINE+SEARCH+FETCH", floor, floors),
        ("  of which the FETCH alone", statistics.median(fetches), fetches),
        ("heard: engine.sync(), fresh profile", heard_t, ours),
        ("mbsync: full pull into a fresh Maildir", mb, pulls),
    ]
    table(f"   first sync, median of {runs} runs (each run: floor, heard, mbsync)",
          ("", "median", "min", "max", "x floor"),
          [(name, f"{m:6.2f} s", f"{min(v):6.2f} s", f"{max(v):6.2f} s", f"{m / floor:5.2f}x")
           for name, m, v in rows])
    print(f"   CPU of this process, median: floor {statistics.median(floor_cpu):.2f} s, heard"
          f" {statistics.median(our_cpu):.2f} s (runs: {', '.join(f'{c:.2f}' for c in our_cpu)});"
          f" 1-min load at each run's start: {', '.join(f'{x:.2f}' for x in loads)}"
          f" ({os.cpu_count()} CPUs)")
    print(f"   heard took in {report.seen} messages: "
          f"{len(report.new_inquiries)} new inquiries, "
          f"{len(report.skipped)} skipped;  peak RSS so far {rss()}")
    print(f"   mbsync / heard = {mb / heard_t:.1f}x (mbsync / bare fetch = {mb / floor:.1f}x: "
          f"5x needs heard <= {mb / 5:.2f} s)")
    if profile:
        profile_first_sync(tmp / "profiled", user)
    return ([(f"2. first sync <= 1.5x the bare fetch ({heard_t / floor:.2f}x)",
              heard_t <= 1.5 * floor),
             (f"2. first sync >= 5x faster than mbsync ({mb / heard_t:.1f}x)",
              mb >= 5 * heard_t)], engine, user)


def profile_first_sync(root: Path, user: MailUser) -> None:
    engine = open_engine(root, user)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    engine.sync()
    profiler.disable()
    took = time.perf_counter() - started
    engine.close()
    for key, limit in (("tottime", 25), ("cumulative", 40)):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(key).print_stats(limit)
        print(f"\n   cProfile of one first sync ({took:.2f} s under the profiler), by {key}:")
        print("\n".join("   " + ln for ln in out.getvalue().splitlines()
                        if ln.strip() and not ln.startswith(("   Ordered", "   List"))))


# 3. re-sync

class Commands:
    """Every IMAP command line this process sends (passwords masked)."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str]] = []
        self.active = False
        original = imaplib.IMAP4.send
        log = self

        def send(conn: imaplib.IMAP4, data: bytes) -> None:
            if log.active:
                if data.startswith(cast(bytes, conn.tagpre)):  # bytes, whatever typeshed says
                    words = data.decode(errors="replace").split()
                    line = " ".join(words[1:])
                    if words[1:2] in (["LOGIN"], ["AUTHENTICATE"]):
                        line = " ".join(words[1:3]) + " ***"
                    log.sent.append((id(conn), line[:70]))
                elif data.strip() == b"DONE":
                    log.sent.append((id(conn), "DONE"))
            original(conn, data)

        imaplib.IMAP4.send = send  # type: ignore[method-assign, assignment]

    @contextmanager
    def recording(self) -> Iterator[list[tuple[int, str]]]:
        self.sent = []
        self.active = True
        try:
            yield self.sent
        finally:
            self.active = False


def name_of(line: str) -> str:
    words = line.split()
    return " ".join(words[:2]) if words[0] == "UID" else words[0]


def part3(engine: Engine, user: MailUser, runs: int) -> list[tuple[str, bool]]:
    commands = Commands()
    times = []
    with commands.recording() as sent:
        started = time.perf_counter()
        report = engine.sync()
        times.append(time.perf_counter() - started)
    first = list(sent)
    for _ in range(runs - 1):
        with commands.recording():
            started = time.perf_counter()
            engine.sync()
            times.append(time.perf_counter() - started)
    # Floor: the least a client can ask: STATUS of each folder on an open connection.
    client = user.client()
    floors = []
    for _ in range(runs):
        started = time.perf_counter()
        for folder in ("INBOX", "Sent"):
            client.folder_status(folder, [b"UIDVALIDITY", b"UIDNEXT", b"HIGHESTMODSEQ"])
        floors.append(time.perf_counter() - started)
    client.logout()
    floor, ours = statistics.median(floors), statistics.median(times)
    table(f"3. re-sync of the unchanged mailbox, median of {runs} (same engine, kept "
          "connection)", ("", "median", "min", "x floor"),
          [("floor: STATUS INBOX + STATUS Sent, open connection", ms(floor), ms(min(floors)),
            "1.00x"),
           ("heard: second engine.sync()", ms(ours), ms(min(times)), f"{ours / floor:.2f}x")])
    connections = len({conn for conn, _ in first})
    names = [name_of(line) for _, line in first]
    print(f"   commands sent by the first re-sync: {len(first)} on {connections} connection(s),"
          f" {report.seen} messages read")
    for _conn, line in first:
        print(f"     {line}")
    counts = {n: names.count(n) for n in dict.fromkeys(names)}
    print("   by name: " + ", ".join(f"{n} x{c}" for n, c in counts.items()))
    allowed = {"STATUS", "LIST"}
    ok = (set(names) <= allowed and names.count("STATUS") == 2
          and names.count("LIST") <= 1 and connections == 1)
    return [(f"3. re-sync: one STATUS per folder (+ one LIST for Sent), nothing else "
             f"({len(first)} commands: {', '.join(names)})", ok)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", action="store_true",
                        help="cProfile one more first sync and print the top functions")
    args = parser.parse_args()
    begun = time.perf_counter()
    server = Dovecot().start()
    verdicts: list[tuple[str, bool]] = []
    engine: Engine | None = None
    try:
        with tempfile.TemporaryDirectory(prefix="heard-imap-bench-") as tmp:
            print(f"Dovecot on 127.0.0.1:{server.imap_port} (plain IMAP on loopback)")
            verdicts += part1(server, Path(tmp), args.trials)
            found, engine, user = part2(server, Path(tmp), args.messages, args.runs,
                                        args.profile)
            verdicts += found
            verdicts += part3(engine, user, args.runs)
            engine.close()
            engine = None
    finally:
        if engine is not None:
            engine.close()
        server.close()
    print(f"\npeak RSS of this process: {rss()} (ru_maxrss; includes the floors' fetches)")
    print(f"total time {time.perf_counter() - begun:.0f} s\n")
    for text, met in verdicts:
        print(f"{'met    ' if met else 'NOT MET'}  {text}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
