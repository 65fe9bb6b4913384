"""Start-up benchmark: time-to-tray-icon and peak memory, the floor vs. an app.

    python benchmarks/startup.py [--runs 5] [--warmup 1] [--app "CMD ..."] [--json out.json]

Everything runs inside one private desktop (``tests.support.desktop.DesktopSession``: Xvfb,
openbox, trayer, dunst, session bus), each run under ``/usr/bin/time -v`` (Debian package
``time``). The floor is ``benchmarks/bare_tray.py`` (QApplication + tray icon + menu).

Protocol for any measured command: started with ``--exit-when-shown`` (appended to ``--app``
unless it is already there or ``--app-as-is`` is given), it prints ``shown <seconds since its
process started> [cpu <CPU seconds it has used>]`` once its tray icon is embedded and exits 0.

Printed per run: seconds-to-shown and CPU seconds to shown (as reported by the program), wall
seconds and max RSS (``MiB`` = 2^20 bytes, from ``time -v``); then, unless ``--idle 0``, the
same command started again *without* the flag and left running: its CPU seconds (utime +
stime, /proc/PID/stat) in its first 10 s and its RSS (VmRSS) at ``--idle`` seconds after
launch, when it is idle; then medians and, with ``--app``, the ratios app/floor of the
medians. Warm-up runs are shown but not counted.

Every command runs as an installed program does, from compiled bytecode: when the environment
says PYTHONDONTWRITEBYTECODE (this project's sandboxes do), each run would compile the app's
~200 modules from source again (~0.5 s of CPU that no installed Heard pays, since pip writes
the bytecode at install), so the runs get a private PYTHONPYCACHEPREFIX instead, filled by
the warm-up run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.desktop import DesktopSession  # noqa: E402

FLOOR = ROOT / "benchmarks" / "bare_tray.py"
FLAG = "--exit-when-shown"
_SHOWN = re.compile(r"^shown\s+([0-9.]+)(?:\s+cpu\s+([0-9.]+))?\s*$", re.MULTILINE)
_RSS = re.compile(r"Maximum resident set size \(kbytes\):\s*(\d+)")
_WALL = re.compile(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\):\s*([0-9:.]+)")


@dataclass
class Run:
    label: str
    shown_s: float | None
    wall_s: float | None
    max_rss_mib: float | None
    exit_code: int
    error: str = ""
    cpu_shown_s: float | None = None   # CPU seconds to shown, as the program reports it
    cpu_10s: float | None = None       # CPU seconds in the first 10 s (a run without the flag)
    idle_rss_mib: float | None = None  # VmRSS at --idle seconds (the same run)

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and self.shown_s is not None


@dataclass
class Series:
    name: str
    command: list[str]
    runs: list[Run]

    def counted(self) -> list[Run]:
        return [r for r in self.runs if not r.label.startswith("w")]

    def median(self, attr: str) -> float | None:
        values = [getattr(r, attr) for r in self.counted() if r.ok]
        values = [v for v in values if v is not None]
        return statistics.median(values) if values else None


def _wall_seconds(text: str) -> float:
    seconds = 0.0
    for part in text.split(":"):
        seconds = seconds * 60 + float(part)
    return seconds


def measure(desk: DesktopSession, time_bin: str, cmd: list[str], label: str,
            timeout: float) -> Run:
    with tempfile.NamedTemporaryFile("r", prefix="time-v-", suffix=".txt") as report:
        try:
            proc = subprocess.run(
                [time_bin, "-v", "-o", report.name, *cmd],
                env=desk.env, capture_output=True, text=True, timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return Run(label, None, None, None, -1, f"timed out after {timeout:g}s")
        stats = Path(report.name).read_text()
    shown = _SHOWN.search(proc.stdout)
    rss = _RSS.search(stats)
    wall = _WALL.search(stats)
    error = ""
    if proc.returncode != 0 or shown is None:
        tail = (proc.stderr.strip().splitlines() or [""])[-1]
        error = f"rc={proc.returncode}" + (", no 'shown' line" if shown is None else "")
        error += f": {tail}" if tail else ""
    return Run(
        label=label,
        shown_s=float(shown.group(1)) if shown else None,
        wall_s=_wall_seconds(wall.group(1)) if wall else None,
        max_rss_mib=int(rss.group(1)) / 1024 if rss else None,
        exit_code=proc.returncode,
        error=error,
        cpu_shown_s=float(shown.group(2)) if shown and shown.group(2) else None,
    )


CPU_WINDOW_S = 10.0


def cpu_seconds(pid: int) -> float:
    """utime + stime of the process (all its threads), from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise ValueError(f"no VmRSS for {pid}")


def measure_idle(env: dict[str, str], cmd: list[str], idle_s: float, run: Run) -> None:
    """Start `cmd` (no --exit-when-shown) and leave it running: its CPU in the first
    CPU_WINDOW_S seconds and its RSS at `idle_s` seconds, then SIGTERM."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    started = time.monotonic()
    try:
        for at in sorted({CPU_WINDOW_S, idle_s}):
            time.sleep(max(0.0, started + at - time.monotonic()))
            if proc.poll() is not None:
                tail = (proc.stderr.read().strip().splitlines() if proc.stderr else []) or [""]
                run.error += f" idle run ended early (rc={proc.returncode}): {tail[-1]}"
                run.exit_code = run.exit_code or proc.returncode or 1
                return
            if at == CPU_WINDOW_S:
                run.cpu_10s = cpu_seconds(proc.pid)
            if at == idle_s:
                run.idle_rss_mib = rss_mib(proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _fmt(value: float | None, spec: str) -> str:
    if value is None:
        width = spec.split(".")[0]
        return format("-", f">{width}") if width else "-"
    return format(value, spec)


COLUMNS = (("shown_s", "shown s", "8.3f"), ("cpu_shown_s", "CPU to shown", "12.3f"),
           ("wall_s", "wall s", "7.2f"), ("max_rss_mib", "maxRSS MiB", "10.1f"),
           ("cpu_10s", "CPU 10 s", "8.3f"), ("idle_rss_mib", "idle RSS MiB", "12.1f"))


def print_series(series: Series, idle_s: float) -> None:
    print(f"\n{series.name}: {shlex.join(series.command)}")
    if idle_s:
        print(f"(CPU 10 s: CPU seconds in the first {CPU_WINDOW_S:g} s; idle RSS: VmRSS at"
              f" {idle_s:g} s; both from a second start without {FLAG})")
    print(f"{'run':>4}  " + "  ".join(f"{t:>{f.split('.')[0]}}" for _, t, f in COLUMNS))
    for r in series.runs:
        note = " (warm-up, not counted)" if r.label.startswith("w") else ""
        note += f"  FAILED {r.error}" if not r.ok else ""
        print(f"{r.label:>4}  " + "  ".join(_fmt(getattr(r, a), f) for a, _, f in COLUMNS)
              + note)
    print(f"{'med':>4}  " + "  ".join(_fmt(series.median(a), f) for a, _, f in COLUMNS))


def bytecode_env(env: dict[str, str], cache: Path) -> dict[str, str]:
    """`env` as an installed program sees it: bytecode cached (in `cache`), not compiled
    again at every start."""
    env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    return env


def run_series(desk: DesktopSession, time_bin: str, name: str, cmd: list[str], runs: int,
               warmup: int, timeout: float, pause: float, idle_s: float = 0.0) -> Series:
    labels = [f"w{i + 1}" for i in range(warmup)] + [str(i + 1) for i in range(runs)]
    results: list[Run] = []
    for label in labels:
        run = measure(desk, time_bin, cmd, label, timeout)
        time.sleep(pause)  # let the tray host drop the previous icon
        if idle_s and run.ok and not label.startswith("w"):
            measure_idle(desk.env, [a for a in cmd if a != FLAG], idle_s, run)
            time.sleep(pause)
        results.append(run)
    series = Series(name, cmd, results)
    print_series(series, idle_s)
    return series


def _ratio(a: float | None, b: float | None) -> str:
    return "-" if a is None or b is None or b == 0 else f"{a / b:.2f}x"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Tray start-up benchmark (floor vs. app).")
    parser.add_argument("--runs", type=int, default=5, help="runs per command (%(default)s)")
    parser.add_argument("--warmup", type=int, default=1, help="uncounted runs first (%(default)s)")
    parser.add_argument("--app", help=f"command to compare with the floor ({FLAG} is appended)")
    parser.add_argument("--app-as-is", action="store_true", help=f"do not append {FLAG}")
    parser.add_argument("--timeout", type=float, default=60.0, help="per run, seconds")
    parser.add_argument("--pause", type=float, default=0.3, help="seconds between runs")
    parser.add_argument("--size", default="1024x768")
    parser.add_argument("--idle", type=float, default=20.0,
                        help="seconds after launch to read the idle RSS (>= 10; 0: skip the"
                             " idle runs) (%(default)s)")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="set in the environment of both commands (repeatable): say, the"
                             " bus of a keyring the app's account password is in")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)

    time_bin = "/usr/bin/time" if Path("/usr/bin/time").exists() else shutil.which("gtime")
    if time_bin is None:
        print("GNU time is needed: apt-get install -y --no-install-recommends time",
              file=sys.stderr)
        return 2

    floor_cmd = [sys.executable, str(FLOOR), FLAG]
    app_cmd: list[str] | None = None
    if args.app:
        app_cmd = shlex.split(args.app)
        if not args.app_as_is and FLAG not in app_cmd:
            app_cmd.append(FLAG)

    if args.idle and args.idle < CPU_WINDOW_S:
        parser.error(f"--idle must be 0 or at least {CPU_WINDOW_S:g}")
    t0 = time.monotonic()
    with DesktopSession("xembed", args.size) as desk, \
            tempfile.TemporaryDirectory(prefix="pycache-") as cache:
        desk.env = bytecode_env(desk.env, Path(cache))
        desk.env.update(item.split("=", 1) for item in args.env)
        print(f"desktop {desk.display} ready in {desk.started_in:.2f}s; "
              f"{args.runs} runs (+{args.warmup} warm-up) per command; python {sys.executable}"
              f"; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        all_series = [run_series(desk, time_bin, "floor", floor_cmd, args.runs, args.warmup,
                                 args.timeout, args.pause, args.idle)]
        if app_cmd is not None:
            all_series.append(run_series(desk, time_bin, "app", app_cmd, args.runs, args.warmup,
                                         args.timeout, args.pause, args.idle))
    print(f"\n(total {time.monotonic() - t0:.1f}s including the desktop)")

    if len(all_series) == 2:
        floor, app = all_series
        print("\nmedian ratios app/floor:")
        for attr, title in (("shown_s", "seconds to shown"), ("cpu_shown_s", "CPU to shown"),
                            ("wall_s", "wall seconds"), ("max_rss_mib", "max RSS"),
                            ("cpu_10s", "CPU first 10 s"), ("idle_rss_mib", "idle RSS")):
            a, f = app.median(attr), floor.median(attr)
            print(f"  {title:<17} {_ratio(a, f):>7}   ({_fmt(a, '.3f')} / {_fmt(f, '.3f')})")
        print(f"  (load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())})")

    if args.json:
        payload = {
            s.name: {
                "command": s.command,
                "runs": [asdict(r) for r in s.runs],
                "median": {k: s.median(k) for k, _, _ in COLUMNS},
            }
            for s in all_series
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n")

    failed = [r for s in all_series for r in s.counted() if not r.ok]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
