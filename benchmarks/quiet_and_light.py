"""Issue 25 ("Quiet and light") in one run: every goal printed beside its floor.

    python benchmarks/quiet_and_light.py [--idle-seconds 300] [--quick]

Runs, one after another on this machine, the benchmarks that measure each goal against a
floor measured in the same run (each script starts its own servers and its own floor):

- idle:   benchmarks/idle_cpu.py: wakeups/s and CPU of the tray with one IMAP account at
          idle, IMAP logins since start and connections at the end; floor: a bare PySide6
          tray (benchmarks/bare_tray.py) in the same run. Goals: <= 0.1 wakeups/s, no CPU
          tick, one login and one connection per account.
- start and memory: benchmarks/heard_startup.py --imap: start -> icon, peak RSS and CPU
          of `heard --exit-when-shown` with one IMAP account and a store of past contacts,
          and the RSS at idle; floor: the bare tray under
          the same /usr/bin/time. Goals: icon <= 2x, start-up CPU <= 2x, RSS <= 1.5x.
- first sync: benchmarks/imap_intake.py: engine.sync() of a 10,000-message INBOX; floor: a
          bare imapclient login+EXAMINE+SEARCH+FETCH of the same headers. Goal: <= 1.5x
          (DESIGN.md: 1.2x).
- Enter -> badge: benchmarks/send_latency.py --only-badge (needs root for Postfix);
          floor: one committed SQLite write on the worker pool, then the icon. Goal: 0.2 s.

Peers (gnubiff, mailnag) are not run: both are in Debian's archive (bookworm) but not
installed here; the issue's table gives their figures (1 login and 1 IDLE connection per
account, 0.01 and 0.06 wakeups/s).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = ROOT / "benchmarks"


def run(title: str, goal: str, command: list[str], timeout: float) -> int:
    print(f"\n=== {title}\n    goal: {goal}\n    $ {' '.join(command)}", flush=True)
    started = time.monotonic()
    try:
        done = subprocess.run(command, cwd=ROOT, timeout=timeout, text=True,
                              capture_output=True)
    except subprocess.TimeoutExpired:
        print(f"    timed out after {timeout:.0f} s")
        return 1
    # The benchmarks' own tables and verdicts; the engine's keyring chatter left out.
    for line in done.stdout.splitlines():
        if "keyring" not in line and "sharing" not in line:
            print(f"    {line}")
    if done.returncode != 0:
        print(f"    exit {done.returncode}: {done.stderr[-800:]}")
    print(f"    ({time.monotonic() - started:.0f} s; load {os.getloadavg()[0]:.2f})",
          flush=True)
    return done.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle-seconds", type=float, default=300)
    parser.add_argument("--quick", action="store_true",
                        help="fewer runs and trials (noisier; for a first look)")
    args = parser.parse_args()
    py = sys.executable
    quick = args.quick
    print(f"load at start: {os.getloadavg()}")
    failures = 0
    failures += run("idle", "<= 0.1 wakeups/s, no CPU tick; 1 login and 1 connection",
                    [py, str(HERE / "idle_cpu.py"), "--seconds", str(args.idle_seconds)],
                    2 * args.idle_seconds + 300)   # Heard, then the bare tray, as long each
    # The memory goal is stated with one IMAP account (its keyring and IMAP client loaded).
    failures += run("start and memory", "icon <= 2x, CPU <= 2x, RSS <= 1.5x the bare tray",
                    [py, str(HERE / "heard_startup.py"), "--runs", "3" if quick else "5",
                     "--imap", "--contacts", "20000" if quick else "100000"], 1800)
    failures += run("first sync", "<= 1.5x the bare imapclient fetch of the same headers",
                    [py, str(HERE / "imap_intake.py"), "--trials", "5" if quick else "20",
                     "--runs", "2" if quick else "3"], 1800)
    if os.geteuid() == 0:
        failures += run("Enter -> badge", "<= 0.2 s",
                        [py, str(HERE / "send_latency.py"), "--only-badge",
                         "--badge-trials", "5" if quick else "15"], 900)
    else:
        print("\n=== Enter -> badge: skipped (Postfix needs root)")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
