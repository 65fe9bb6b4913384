"""Start-up benchmark: time-to-tray-icon and peak memory, the floor vs. an app.

    python benchmarks/startup.py [--runs 5] [--warmup 1] [--app "CMD ..."] [--json out.json]

Everything runs inside one private desktop (``tests.support.desktop.DesktopSession``: Xvfb,
openbox, trayer, dunst, session bus), each run under ``/usr/bin/time -v`` (Debian package
``time``). The floor is ``benchmarks/bare_tray.py`` (QApplication + tray icon + menu).

Protocol for any measured command: started with ``--exit-when-shown`` (appended to ``--app``
unless it is already there or ``--app-as-is`` is given), it prints ``shown <seconds since its
process started>`` once its tray icon is embedded and exits 0.

Printed per run: seconds-to-shown (as reported by the program), wall seconds and max RSS
(``MiB`` = 2^20 bytes, from ``time -v``); then medians and, with ``--app``, the ratios
app/floor of the medians. Warm-up runs are shown but not counted.
"""

from __future__ import annotations

import argparse
import json
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
_SHOWN = re.compile(r"^shown\s+([0-9.]+)\s*$", re.MULTILINE)
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
    )


def _fmt(value: float | None, spec: str) -> str:
    if value is None:
        width = spec.split(".")[0]
        return format("-", f">{width}") if width else "-"
    return format(value, spec)


def print_series(series: Series) -> None:
    print(f"\n{series.name}: {shlex.join(series.command)}")
    print(f"{'run':>4}  {'shown s':>8}  {'wall s':>7}  {'maxRSS MiB':>10}")
    for r in series.runs:
        note = " (warm-up, not counted)" if r.label.startswith("w") else ""
        note += f"  FAILED {r.error}" if not r.ok else ""
        print(f"{r.label:>4}  {_fmt(r.shown_s, '8.3f')}  {_fmt(r.wall_s, '7.2f')}  "
              f"{_fmt(r.max_rss_mib, '10.1f')}{note}")
    print(f"{'med':>4}  {_fmt(series.median('shown_s'), '8.3f')}  "
          f"{_fmt(series.median('wall_s'), '7.2f')}  {_fmt(series.median('max_rss_mib'), '10.1f')}")


def run_series(desk: DesktopSession, time_bin: str, name: str, cmd: list[str], runs: int,
               warmup: int, timeout: float, pause: float) -> Series:
    labels = [f"w{i + 1}" for i in range(warmup)] + [str(i + 1) for i in range(runs)]
    results: list[Run] = []
    for label in labels:
        results.append(measure(desk, time_bin, cmd, label, timeout))
        time.sleep(pause)  # let the tray host drop the previous icon
    series = Series(name, cmd, results)
    print_series(series)
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

    t0 = time.monotonic()
    with DesktopSession("xembed", args.size) as desk:
        print(f"desktop {desk.display} ready in {desk.started_in:.2f}s; "
              f"{args.runs} runs (+{args.warmup} warm-up) per command; python {sys.executable}")
        all_series = [run_series(desk, time_bin, "floor", floor_cmd, args.runs, args.warmup,
                                 args.timeout, args.pause)]
        if app_cmd is not None:
            all_series.append(run_series(desk, time_bin, "app", app_cmd, args.runs, args.warmup,
                                         args.timeout, args.pause))
    print(f"\n(total {time.monotonic() - t0:.1f}s including the desktop)")

    if len(all_series) == 2:
        floor, app = all_series
        print("\nmedian ratios app/floor:")
        for attr, title in (("shown_s", "seconds to shown"), ("wall_s", "wall seconds"),
                            ("max_rss_mib", "max RSS")):
            a, f = app.median(attr), floor.median(attr)
            print(f"  {title:<17} {_ratio(a, f):>7}   ({_fmt(a, '.3f')} / {_fmt(f, '.3f')})")

    if args.json:
        payload = {
            s.name: {
                "command": s.command,
                "runs": [asdict(r) for r in s.runs],
                "median": {k: s.median(k) for k in ("shown_s", "wall_s", "max_rss_mib")},
            }
            for s in all_series
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n")

    failed = [r for s in all_series for r in s.counted() if not r.ok]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
