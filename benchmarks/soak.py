"""Soak: Heard's tray running for a long while under a steady trickle of work; is it flat?

    python benchmarks/soak.py [--minutes 60] [--sample 60] [--warmup MIN]
                              [--mail-every 4] [--ack-every 15] [--answer-every 0]
                              [--cut-every 180] [--calendar-every 300]
                              [--keep FILE] [--tracemalloc FILE]

Starts its own Dovecot, Postfix (submission with STARTTLS, delivering into Dovecot) and a
private D-Bus with an unlocked gnome-keyring (tests/support), then the tray itself, as a
user starts it: `heard --profile P` in a process of its own (Qt offscreen, so the small
window stands in for the tray icon), with its real IDLE watchers and its real tick timer.
Meanwhile, for `--minutes`:
- a client message is APPENDed to the INBOX every `--mail-every` seconds (40 clients in
  turn; each writes again once acknowledged);
- every `--ack-every` seconds the longest-waiting client is acknowledged from the command
  line (`heard ack ID`, the id of the oldest waiting inquiry read from the store), the
  reply sent over SMTP and filed in Sent; one at a time, beside the rest (an ack slower
  than that is followed by the next at once). Before 2026-12-07 each ack was `heard status
  --json` then `heard ack`, run in turn with everything else, and the next came
  `--ack-every` after it ended: on a loaded machine (a command taking 10 s to start) the
  mail waited behind the acks and came in bursts, and the waiting list grew all along;
- every `--answer-every` seconds (0, the default: never) the user answers the client
  acknowledged longest ago: their reply is APPENDed to Sent, and the tray's watcher on Sent
  closes what that client had open (an acknowledgement owes an answer: without answers
  the acknowledged inquiries and their promises pile up, and the tray reads them all);
- every `--cut-every` seconds every IMAP connection of the account is cut (doveadm kick:
  what a server restart or a NAT timeout does), and the tray reconnects;
- every `--calendar-every` seconds the calendar (.ics file) changes, and the tick reads it.

The tray process is sampled every `--sample` seconds from /proc: resident memory, open file
descriptors, threads, and CPU (its share of one core over the interval); each line also
gives the open work (inquiries waiting + acknowledged, from the store) and the engine's
timed work since the last line, counted inside the tray (COUNTED wraps Engine.tick,
next_tick, status, plan_toasts and sync): calls a minute and CPU ms a call, so a rise
shows whether the tray does things more often or each one dearer. `--keep FILE` copies
the tray's store at the end, to profile it. `--tracemalloc FILE` traces the tray's Python
allocations (in the benchmark's wrapper, not in Heard): each line adds its Python heap, the
end its slope, and FILE what grew after the warm-up, by traceback (is it Python or native?).
After the warm-up
(default: the first fifth, at least a minute) a least-squares line through each series
gives its slope per hour, printed next to the values (first, last, min, max after the
warm-up). Flat means the slopes are small against the values: a tray app runs for weeks.
At the end: how many messages, acknowledgements (and failures), cuts, calendar changes,
clients still waiting; the replies delivered; the tray log's errors and tracebacks.

With the defaults mail comes in faster (15 a minute) than the command line acknowledges (4
a minute): the store and the open work grow all along, as on a day the user falls behind,
and memory and CPU may grow with them. `--ack-every` equal to `--mail-every` keeps the
clients waiting level (one acknowledgement covers all a client wrote, and each ack takes a
few seconds of its own), but not the answers owed; add `--answer-every` equal to it too and
the open work is level, so what still grows is the app's own. The end says how many
inquiries were open (waiting and acknowledged) and how many warnings were ever given.

Issue 23, measured here (2 cores, other work running):
- before (cd96ff9), 20 min balanced (--mail-every 4 --ack-every 4): RSS +43.7 MiB/h,
  CPU 1.2 -> 3.8 % (+9.8 %/h); 10 min defaults: RSS +79 MiB/h, CPU +11 %/h. Found: every
  job the tray ran off the GUI thread (each status, tick, toast plan) stayed in memory
  (about 4 KiB each), every command's socket stayed in the tray, and each tick and status
  read every warning key ever given.
- after those (9d88f8c), 20 min each, three soaks at once: balanced RSS +30.0 MiB/h, CPU
  2.2 -> 3.4 % (+5.4 %/h), 245 answers owed at the end and growing; defaults +34.8 MiB/h,
  CPU 1.9 -> 4.0 % (+8.1 %/h), 114 waiting and 185 owed; balanced with --answer-every 4
  (the open work level: 50 waiting, 3 owed at the end) +21.5 MiB/h, CPU 1.9 -> 2.3 %
  (-0.6 %/h). What RSS still gained was Qt's pixmap cache filling with a new badge picture
  per status up to its 10 MiB bound (a refresh loop on a constant store: 94.2 -> 104.0 MiB,
  then flat; +0.9 MiB with the cache limited to 1 MiB): the badge is now painted only when
  it changes. Also found and fixed: the sync after each claim read every inquiry key of
  the folder, and each status scanned every message ever seen and every inquiry ever
  claimed (now by key and through indexes).
- at 37c02ee (all of that, and others' work since 9d88f8c), 18 min, two at once: balanced
  RSS +17.6 MiB/h, defaults +14.1 MiB/h (answers owed still piling up in both); but CPU
  3.4 -> 8.1 % (+19 %/h) balanced and 4.3 -> 10.9 % (+30 %/h) defaults, steeper than at
  9d88f8c: not yet bisected (the commits between include the tick's schedule, the idle
  tray, one IMAP connection per account, delegations handed back and per-client snooze).
- found with the counts above, at 8c01169 (20 min, --ack-every 4 --answer-every 4, the old
  serial driver, load 6-8 on 2 cores): the ticks did not multiply (6-16 a minute all
  along) but each grew dearer with the open work: next_tick 5 -> 195 ms a call, status
  and tick 3 -> 30 ms, as the waiting list grew to 104 (the acks could not keep up). The
  schedule bisected every waiting item's badge colour change to the second (some 17
  working-hours measurements each, per tick, a tick a second after every change), and
  Settings.hours is a new WorkingHours on each read, so every deadline of every open item
  was worked out again, day by day, at each status, tick and schedule. Also each status
  read every inquiry this device acted on in the last day (the soak's whole history).
  Fixed in 0d9cedd (migration 16: other devices' last day by device), e1a31ff (the colour
  change worked out, not searched), bd1ad1c (equal working hours share their days and
  deadlines): a status, tick and schedule read as many SQLite steps with 2,050 answered
  inquiries as with 50 (tests), and at 150 waiting status 24 -> 7 ms, tick 28 -> 9 ms,
  next_tick 29 -> 12 ms.
- after (bd1ad1c), the driver as now (acks beside the mail), two soaks at once, load 3-9:
  20 min balanced (--ack-every 4 --answer-every 4; 299 messages, 285 acks, 283 answers,
  open work level at 14 waiting + 2-4 owed): RSS 125.3 -> 128.0 MiB (+11.6 MiB/h), fds
  and threads flat (15 and 8, -0.2/h), CPU 3.5 -> 5.0 % (min 3.5, max 5.6; +4.6 %/h, from
  +19); per call flat: tick 4-8 ms, next_tick 3-4 ms, status 4-6 ms at 18-30 ticks and
  65-78 statuses a minute. 40 min balanced (--sample 60, warm-up 8 min; 599 messages, 583
  acks, 1 failed 'Not sent yet', 581 answers, 13 cuts; open work 14-15 + 2-4 all along):
  CPU 3.7 -> 3.1 % (min 2.9, max 5.2; -2.1 %/h), fds 15 and threads 8 throughout (0/h),
  RSS 125.4 -> 131.1 MiB (+10.6 MiB/h: still rising, not yet found); per call flat (tick
  4-6 ms, next_tick 4 ms, status 5 ms), but sync 7-8 -> 10-12 ms as the INBOX grew to 600.
  py-spy on the tray at minutes 21 and 31: no frame grew; about a quarter of its samples
  are the hidden quick-reply window redrawn on every status (show_status, the reply
  preview built anew).
- where the RSS goes (at 0e125c7, 2026-12-07, two 13-min balanced soaks at once, load
  from other soaks): `--tracemalloc` (12 frames; the tray runs ~10x slower, 45 % CPU) gave
  a Python heap of 42.2 MiB from minute 1.5 to 8 (45.4 at 8.5, the open work then 38 not
  15; read only when the dump thread was free), and between the warm-up's snapshot and
  minute ~7 no traceback grew by more than 15 KiB. The other, with MALLOC_ARENA_MAX=2:
  RSS 122.8 -> 125.0 MiB (3 -> 12 min), same slope as without, so not arena waste; in
  /proc/PID/smaps the growth is the main malloc heap ([heap] +736 KiB in 7 min, other
  anonymous +120 KiB). glibc malloc_stats (gdb) at 9 and 11 min: arena 0 18.27 -> 18.55
  MiB in use of 18.7-19.1 (fragmentation small; malloc_trim(0) gave back 0.1 MiB), so
  live native memory, +140 KiB/min. Of that, sqlite3_memory_used() 1.47 -> 1.59 MiB
  (+60 KiB/min: the one connection's page cache following the store, 0.4 MiB + 4 MiB WAL,
  bound by cache_size, 2 MiB by default) and QPixmapCache::clear() on the GUI thread
  freed 1.13 MiB at minute 12 (~95 KiB/min; likely the badge painted anew at each count
  change, as the open work moves 13-16: a QIcon of six pixmaps for the tray and a QPixmap
  for the small window, each a new cache key, up to the 10 MiB limit; not yet confirmed
  which). Both bounded: the +10-12 MiB/h
  is likely those two caches filling, not a leak; to check: a soak of 90+ min, or one with
  QPixmapCache.setCacheLimit small and the badge icons kept by (count, urgency, offline).
  Confirmed which (offscreen, 400 badges of counts 13-16): the small window's QLabel
  given a new QPixmap each time, +4.7 KiB of cache each (1.8 MiB freed by clear); the
  tray's setIcon with a new QIcon, nothing; the same QPixmap shown again, nothing. Fixed
  in 5b056cb (the small window keeps 16 pictures by what they show). After, 12 min
  balanced alone (load lower: the open work 1-2 waiting + 1 owed; 179 messages, 178 acks,
  177 answers): RSS 124.0 -> 124.6 MiB (+3.5 MiB/h, from +10.6), CPU 3.1 -> 2.9 %, fds
  and threads flat; what is left is likely SQLite's page cache filling to its 2 MiB.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))        # tests.support

from tests.support.dovecot import Dovecot, MailUser  # noqa: E402
from tests.support.imap import sending_profile  # noqa: E402
from tests.support.keyring import KeyringService  # noqa: E402
from tests.support.smtp import Postfix  # noqa: E402

HEARD = [sys.executable, "-m", "heard"]
# The tray as `heard` starts it, with the engine's timed work counted: how many ticks,
# statuses, schedules and toast plans ran, and the CPU time of their threads, written to
# $HEARD_SOAK_COUNTS every $HEARD_SOAK_EVERY seconds (what grows: how often, or how dear).
COUNTED = """
import json, os, threading, time
TRACE = os.environ.get("HEARD_SOAK_TRACEMALLOC")
if TRACE:
    import tracemalloc
    tracemalloc.start(int(os.environ.get("HEARD_SOAK_FRAMES", "12")))
from heard.engine import Engine
counts = {}
first = None
def traced():
    # The Python heap (tracemalloc) now, and what grew since the warm-up's snapshot, by
    # traceback, into $HEARD_SOAK_TRACEMALLOC: is the RSS growth Python objects or native?
    global first
    counts["py_heap"] = (tracemalloc.get_traced_memory()[0], 0.0)
    if time.monotonic() - STARTED < float(os.environ["HEARD_SOAK_WARMUP"]):
        return
    snap = tracemalloc.take_snapshot().filter_traces(
        (tracemalloc.Filter(False, tracemalloc.__file__),))
    if first is None:
        first = snap
        return
    lines = []
    for stat in snap.compare_to(first, "traceback")[:12]:
        lines.append(f"{stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+7d} blocks")
        lines.extend("      " + line for line in stat.traceback.format()[-16:])
    with open(TRACE + ".new", "w") as out:
        out.write("\\n".join(lines) + "\\n")
    os.replace(TRACE + ".new", TRACE)
STARTED = time.monotonic()
def counted(name, work):
    def wrapper(*args, **kwargs):
        began = time.thread_time()
        try:
            return work(*args, **kwargs)
        finally:
            n, cpu = counts.get(name, (0, 0.0))
            counts[name] = (n + 1, cpu + time.thread_time() - began)
    return wrapper
for name in ("tick", "next_tick", "status", "plan_toasts", "sync"):
    setattr(Engine, name, counted(name, getattr(Engine, name)))
def write():
    path, every = os.environ["HEARD_SOAK_COUNTS"], float(os.environ["HEARD_SOAK_EVERY"])
    while True:
        time.sleep(every / 2)
        if TRACE:
            traced()
        with open(path + ".new", "w") as out:
            json.dump(counts, out)
        os.replace(path + ".new", path)
threading.Thread(target=write, daemon=True).start()
from heard.launcher import main
raise SystemExit(main())
"""
CLIENTS = 40
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Sample:
    at: float          # seconds since the tray started
    rss_mib: float
    fds: int
    threads: int
    cpu_pct: float     # of one core, over the interval before this sample
    py_mib: float = 0.0   # the Python heap, with --tracemalloc


def client_address(i: int) -> str:
    return f"client{i:02d}@soak-{i:02d}.example"


def mail(user: MailUser, n: int) -> bytes:
    i = n % CLIENTS
    date = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
    return (f"From: Client {i} <{client_address(i)}>\r\nTo: {user.address}\r\n"
            f"Subject: Question {n}\r\nMessage-ID: <soak-{n}@soak-{i:02d}.example>\r\n"
            f"Date: {date}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n"
            f"Could you call me about item {n}?\r\n").encode()


def calendar(n: int) -> str:
    now = datetime.now(UTC).replace(microsecond=0)
    start, end = now + timedelta(minutes=30 + n), now + timedelta(minutes=90 + n)
    fmt = "%Y%m%dT%H%M%SZ"
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//heard soak//EN\r\n"
            f"BEGIN:VEVENT\r\nUID:soak-{n}@heard\r\nDTSTAMP:{now.strftime(fmt)}\r\n"
            f"DTSTART:{start.strftime(fmt)}\r\nDTEND:{end.strftime(fmt)}\r\n"
            f"SUMMARY:Meeting {n}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


def answer(user: MailUser, address: str) -> bytes:
    """The user's answer to a client, as their mail program files it in Sent (no thread:
    it answers everything the client has open)."""
    date = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
    return (f"From: {user.address}\r\nTo: {address}\r\nSubject: Your questions\r\n"
            f"Message-ID: <answer-{time.monotonic_ns()}@soak.example>\r\nDate: {date}\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nHere is the answer.\r\n"
            ).encode()


def open_work(database: Path) -> dict[str, int]:
    """Inquiries open at the end (waiting, acknowledged) and warnings ever given."""
    import sqlite3

    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        states = dict(conn.execute("SELECT state, count(*) FROM inquiries GROUP BY state"))
        given = conn.execute("SELECT count(*) FROM alerts_sent").fetchone()[0]
    finally:
        conn.close()
    return {"inquiries waiting": states.get("waiting", 0),
            "acknowledged (answers owed)": states.get("acknowledged", 0),
            "warnings given": given}


def longest_waiting(database: Path) -> tuple[int, str] | None:
    """The oldest waiting inquiry's id and its client's address (None: nobody waits)."""
    import sqlite3

    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        row = conn.execute(
            "SELECT i.id, a.value FROM inquiries i JOIN client_addresses a ON"
            " a.client_id = i.client_id AND a.kind = 'email' WHERE i.state = 'waiting'"
            " ORDER BY i.received_at, i.id LIMIT 1").fetchone()
    finally:
        conn.close()
    return None if row is None else (int(row[0]), str(row[1]))


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])   # utime, stime


def sample(pid: int, at: float, ticks_before: int, seconds: float) -> tuple[Sample, int]:
    status = dict(line.split(":", 1) for line in
                  Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    ticks = cpu_ticks(pid)
    return Sample(at, int(status["VmRSS"].split()[0]) / 1024,
                  sum(1 for _fd in Path(f"/proc/{pid}/fd").iterdir()),
                  int(status["Threads"]),
                  100 * (ticks - ticks_before) / TICK / seconds if seconds > 0 else 0.0), ticks


def engine_work(path: Path, before: dict[str, tuple[int, float]], seconds: float
                ) -> tuple[str, dict[str, tuple[int, float]]]:
    """The engine's timed work since the last sample, from the counts the tray writes: per
    kind, calls a minute and CPU milliseconds per call."""
    try:
        now = {k: (int(v[0]), float(v[1])) for k, v in json.loads(path.read_text()).items()}
    except (OSError, ValueError):
        return "", before
    parts = []
    for name in ("tick", "next_tick", "status", "plan_toasts", "sync"):
        n, cpu = now.get(name, (0, 0.0))
        n0, cpu0 = before.get(name, (0, 0.0))
        if n > n0:
            parts.append(f"{name} {60 * (n - n0) / seconds:4.1f}/min"
                         f" {1000 * (cpu - cpu0) / (n - n0):5.1f} ms")
    return "  ".join(parts), now


def slope_per_hour(xs: list[float], ys: list[float]) -> float:
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    return 0.0 if sxx == 0 else sum((x - mx) * (y - my)
                                     for x, y in zip(xs, ys, strict=True)) / sxx * 3600


def run(cmd: list[str], env: dict[str, str],
        timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout,
                          check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--sample", type=float, default=60, help="seconds between samples")
    parser.add_argument("--warmup", type=float, default=None, help="minutes left out of the"
                        " slopes (default: a fifth of the run, at least 1)")
    parser.add_argument("--mail-every", type=float, default=4)
    parser.add_argument("--ack-every", type=float, default=15)
    parser.add_argument("--answer-every", type=float, default=0,
                        help="seconds between the user's answers (0: never)")
    parser.add_argument("--cut-every", type=float, default=180)
    parser.add_argument("--calendar-every", type=float, default=300)
    parser.add_argument("--keep", type=Path, default=None,
                        help="copy the tray's store there at the end (to profile it)")
    parser.add_argument("--tracemalloc", type=Path, default=None, metavar="FILE",
                        help="trace the tray's Python allocations: its Python heap on each"
                        " line, and what grew after the warm-up, by traceback, in FILE")
    args = parser.parse_args()
    warmup = 60 * (args.warmup if args.warmup is not None else max(1.0, args.minutes / 5))

    with tempfile.TemporaryDirectory(prefix="heard-soak-") as tmp, KeyringService() as ks:
        os.environ.update(ks.env)
        import keyring.core

        keyring.core._keyring_backend = keyring.core.load_env()   # the private keyring
        server = Dovecot().start()
        try:
            with Postfix(server) as postfix:
                return soak(args, warmup, Path(tmp), server, postfix, ks)
        finally:
            server.close()


def soak(args: argparse.Namespace, warmup: float, tmp: Path, server: Dovecot,
         postfix: Postfix, ks: KeyringService) -> int:
    from heard.config import ConfigFile
    from heard.domain.clients import Client
    from heard.engine import Engine

    user = server.add_user()
    profile = sending_profile(tmp / "profile", user, postfix.starttls_port, server.cert)
    ics = tmp / "calendar.ics"
    ics.write_text(calendar(0))
    ConfigFile(profile.config).append("calendars", {"name": "work", "kind": "ics",
                                                    "path": str(ics)})
    engine = Engine.open(profile)
    for i in range(CLIENTS):
        engine.clients.add(Client(f"Client {i}", emails=(client_address(i),)))
    engine.close()

    env = {**os.environ, **ks.env, "QT_QPA_PLATFORM": "offscreen",
           "HEARD_PROFILE": str(profile.root), "PYTHONUNBUFFERED": "1"}
    counts_file = tmp / "counts.json"
    errors = (tmp / "tray.err").open("w")
    traced = ({"HEARD_SOAK_TRACEMALLOC": str(args.tracemalloc.resolve()),
               "HEARD_SOAK_WARMUP": str(warmup)} if args.tracemalloc else {})
    tray = subprocess.Popen([sys.executable, "-c", COUNTED], stdout=subprocess.DEVNULL,
                            stderr=errors, env={**env, "HEARD_SOAK_COUNTS": str(counts_file),
                                                "HEARD_SOAK_EVERY": str(args.sample),
                                                **traced})
    print(f"Dovecot :{server.imap_port}, Postfix :{postfix.starttls_port}; tray pid"
          f" {tray.pid}; {args.minutes:g} min, a sample every {args.sample:g} s, warm-up"
          f" {warmup / 60:g} min")
    started = time.monotonic()
    end = started + args.minutes * 60
    ticks = cpu_ticks(tray.pid)
    last_sample = last_sample_work = started
    calls: dict[str, tuple[int, float]] = {}
    samples: list[Sample] = []
    counts = {"messages": 0, "acks": 0, "ack failures": 0, "nobody waiting": 0, "answers": 0,
              "cuts": 0, "calendar changes": 0}
    due = {"mail": started + 5, "ack": started + 10, "cut": started + args.cut_every,
           "calendar": started + args.calendar_every, "sample": started + args.sample}
    if args.answer_every > 0:
        due["answer"] = started + 10 + args.answer_every
    acknowledged: list[str] = []   # the clients acknowledged and not answered yet, oldest first
    acking: tuple[subprocess.Popen[str], str] | None = None   # the ack under way, and to whom
    appender = user.client()
    problems: list[str] = []
    try:
        while (now := time.monotonic()) < end:
            if tray.poll() is not None:
                raise SystemExit(f"the tray exited with {tray.returncode}:"
                                 f" {(tmp / 'tray.err').read_text()[-2000:]}")
            if now >= due["sample"]:
                s, ticks = sample(tray.pid, now - started, ticks, now - last_sample)
                last_sample = now
                samples.append(s)
                work, calls = engine_work(counts_file, calls, now - last_sample_work)
                last_sample_work = now
                state = open_work(profile.database)
                if "py_heap" in calls:
                    s.py_mib = calls["py_heap"][0] / 2**20
                    work = f"py {s.py_mib:5.1f} MiB  {work}"
                print(f"  {s.at / 60:6.1f} min  RSS {s.rss_mib:6.1f} MiB  fds {s.fds:3d}"
                      f"  threads {s.threads:3d}  CPU {s.cpu_pct:5.1f}%"
                      f"  open {state['inquiries waiting']:3d}+"
                      f"{state['acknowledged (answers owed)']:<3d} {work}", flush=True)
                due["sample"] += args.sample
            if now >= due["mail"]:
                try:
                    appender.append("INBOX", mail(user, counts["messages"]))
                except Exception:   # cut by the kick: a new connection
                    appender = user.client()
                    appender.append("INBOX", mail(user, counts["messages"]))
                counts["messages"] += 1
                due["mail"] += args.mail_every
            if acking is not None and acking[0].poll() is not None:
                proc, address = acking
                acking = None
                if proc.returncode == 0:
                    counts["acks"] += 1
                    if address not in acknowledged:
                        acknowledged.append(address)
                else:
                    out, err = proc.communicate()
                    counts["ack failures"] += 1
                    problems.append((out + err).strip()[-300:])
            if now >= due["ack"] and acking is None:
                # The client waiting longest (read from the store, as `heard status` lists
                # them first), acknowledged from the command line, beside the mail: one
                # ack at a time, the next when it is due and the last has ended.
                oldest = longest_waiting(profile.database)
                if oldest is None:
                    counts["nobody waiting"] += 1
                else:
                    acking = (subprocess.Popen([*HEARD, "ack", str(oldest[0])], env=env,
                                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                               text=True), oldest[1])
                due["ack"] = max(due["ack"] + args.ack_every, time.monotonic())
            if "answer" in due and now >= due["answer"]:
                if acknowledged:
                    try:
                        appender.append("Sent", answer(user, acknowledged.pop(0)))
                    except Exception:   # cut by the kick: a new connection
                        appender = user.client()
                        appender.append("Sent", answer(user, acknowledged.pop(0)))
                    counts["answers"] += 1
                due["answer"] += args.answer_every
            if now >= due["cut"]:
                server.kick(user)
                counts["cuts"] += 1
                due["cut"] += args.cut_every
            if now >= due["calendar"]:
                counts["calendar changes"] += 1
                ics.write_text(calendar(counts["calendar changes"]))
                due["calendar"] += args.calendar_every
            time.sleep(min(0.2, max(0.0, min(due.values()) - time.monotonic())))
        if acking is not None:
            acking[0].communicate(timeout=120)
        status = run([*HEARD, "status", "--json"], env)
        if status.returncode == 0:
            counts["waiting at the end"] = json.loads(status.stdout)["count"]
        counts.update(open_work(profile.database))
        if args.keep is not None:
            import sqlite3

            with sqlite3.connect(profile.database) as live, sqlite3.connect(args.keep) as copy:
                live.backup(copy)
    finally:
        errors.close()
        tray.terminate()
        try:
            tray.wait(30)
        except subprocess.TimeoutExpired:
            tray.kill()
            tray.wait()
    report(samples, warmup, counts, problems, profile.log, server)
    return 0


def report(samples: list[Sample], warmup: float, counts: dict[str, int],
           problems: list[str], log: Path, server: Dovecot) -> None:
    after = [s for s in samples if s.at >= warmup]
    print(f"\n{len(samples)} samples; {len(after)} after the warm-up"
          f" ({warmup / 60:g} min)")
    if len(after) >= 2:
        xs = [s.at for s in after]
        print(f"  {'':10} {'first':>9} {'last':>9} {'min':>9} {'max':>9}   slope per hour")
        for name, unit, ys in (
                ("RSS", "MiB", [s.rss_mib for s in after]),
                ("fds", "", [float(s.fds) for s in after]),
                ("threads", "", [float(s.threads) for s in after]),
                ("CPU", "%", [s.cpu_pct for s in after]),
                *((("Python", "MiB", [s.py_mib for s in after]),)
                  if any(s.py_mib for s in after) else ())):
            print(f"  {name:10} {ys[0]:9.1f} {ys[-1]:9.1f} {min(ys):9.1f} {max(ys):9.1f}"
                  f"   {slope_per_hour(xs, ys):+9.2f} {unit}/h")
    print("  " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    for problem in problems[:5]:
        print(f"  ack failed: {problem}")
    text = log.read_text(errors="replace") if log.exists() else ""
    errors = [ln for ln in text.splitlines() if " ERROR " in ln]
    print(f"  tray log: {len(text.splitlines())} lines, {len(errors)} errors,"
          f" {text.count('Traceback')} tracebacks")
    for line in errors[:5]:
        print(f"    {line[:200]}")
    elsewhere = server.elsewhere.client()
    delivered = len(elsewhere.select_folder("INBOX", readonly=True) and
                    elsewhere.search(["HEADER", "X-Heard-Acknowledges", ""]))
    elsewhere.logout()
    print(f"  replies delivered to the clients' mailboxes: {delivered}")


if __name__ == "__main__":
    raise SystemExit(main())
