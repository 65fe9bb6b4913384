"""Idle CPU and wakeups of the running tray with an IMAP account, next to a bare tray.

    python benchmarks/idle_cpu.py [--seconds 600]

Starts its own Dovecot (an account watching INBOX and Sent) and gnome-keyring on a private
bus (tests/support), then runs `heard` (the tray, offscreen) and, in the same run,
benchmarks/bare_tray.py (a bare PySide6 tray app). After a 30 s settle, each process's CPU
time (utime + stime from /proc) is read at the start and the end of the window, and its
wakeups counted: the context switches of all its threads (/proc/PID/task/*/status, read
every second so a thread that starts and ends in the window still counts). Prints CPU
seconds per hour, wakeups per second and RSS; for Heard also the IMAP logins since start
(Dovecot's log) and the connections open at the end (doveadm who).
Targets (issue 25): <= 0.1 wakeups/s, no CPU tick; one login and one connection per account.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.dovecot import Dovecot  # noqa: E402
from tests.support.keyring import KeyringService  # noqa: E402

from heard.config import ConfigFile, ImapAccount  # noqa: E402
from heard.system.paths import Profile  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def switches(pid: int) -> dict[int, int]:
    """Each live thread's context switches (voluntary and not) so far."""
    found = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            text = (task / "status").read_text()
        except OSError:
            continue   # the thread ended meanwhile
        found[int(task.name)] = sum(int(line.split()[1]) for line in text.splitlines()
                                    if "ctxt_switches:" in line)
    return found


def count_wakeups(pid: int, seconds: float) -> int:
    """Context switches of every thread of `pid` over `seconds` (read each second: a thread
    that ends is counted as last seen)."""
    start = switches(pid)
    last = dict(start)
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        time.sleep(min(1.0, left))
        last.update(switches(pid))
    return sum(n - start.get(tid, 0) for tid, n in last.items())


def watch(cmd: list[str], env: dict[str, str], settle: float, seconds: float,
          ready: Path | None = None, after: Callable[[], None] | None = None
          ) -> tuple[float, float, int]:
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if ready is not None:
            end = time.monotonic() + 60
            while not (ready.exists() and "tray: shown" in ready.read_text()):
                if time.monotonic() > end or proc.poll() is not None:
                    raise RuntimeError(f"{cmd} did not come up")
                time.sleep(0.2)
        time.sleep(settle)
        start = cpu_seconds(proc.pid)
        wakeups = count_wakeups(proc.pid, seconds)
        used = cpu_seconds(proc.pid) - start
        if after is not None:
            after()
        return used, rss_mib(proc.pid), wakeups
    finally:
        proc.terminate()
        proc.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--settle", type=float, default=30)
    args = parser.parse_args()

    dovecot = Dovecot().start()
    try:
        user = dovecot.add_user()
        with KeyringService() as keyring, tempfile.TemporaryDirectory() as tmp:
            env = {**os.environ, **keyring.env, "QT_QPA_PLATFORM": "offscreen"}
            profile = Profile(Path(tmp) / "profile")
            profile.create()
            file = ConfigFile(profile.config)
            file.set("user", "addresses", [user.address])
            file.append("accounts", {"name": "work", "kind": "imap", "host": "127.0.0.1",
                                     "port": user.server.imap_port, "security": "plain",
                                     "username": user.name, "address": user.address})
            account = ImapAccount("work", "127.0.0.1", 0, "plain", user.name)
            subprocess.run([sys.executable, "-c", "import sys; from heard.system import secrets;"
                            " secrets.store_password(sys.argv[1], sys.argv[2])",
                            account.keyring_name, user.password], env=env, check=True)
            imap: list[int] = []
            heard_cpu, heard_rss, heard_wakeups = watch(
                [sys.executable, "-m", "heard", "--profile", str(profile.root)], env,
                args.settle, args.seconds, ready=profile.log,
                after=lambda: imap.extend((dovecot.logins(user), dovecot.connections(user))))
            bare_cpu, bare_rss, bare_wakeups = watch(
                [sys.executable, str(ROOT / "benchmarks/bare_tray.py")], env, args.settle,
                args.seconds)
    finally:
        dovecot.close()

    def line(name: str, used: float, rss: float, wakeups: int) -> str:
        per_hour = used / args.seconds * 3600
        return (f"  {name:<30} {used:6.2f} s CPU in {args.seconds:.0f} s = {per_hour:6.1f} s/h"
                f"; {wakeups / args.seconds:6.3f} wakeups/s; RSS {rss:5.1f} MiB")

    print(f"Idle over {args.seconds:.0f} s after a {args.settle:.0f} s settle (offscreen)")
    print(line("heard, IMAP account", heard_cpu, heard_rss, heard_wakeups))
    print(line("floor: bare PySide6 tray", bare_cpu, bare_rss, bare_wakeups))
    print(f"  heard, IMAP account: {imap[0]} logins since start, {imap[1]} connections open"
          " at the end")
    print("  floor: gnubiff, mailnag (IMAP IDLE): 1 login, 1 connection per account")


if __name__ == "__main__":
    main()
