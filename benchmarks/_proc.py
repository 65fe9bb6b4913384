"""Process timing helpers for the benchmarks (stdlib only, Linux /proc)."""

from __future__ import annotations

import os
import time
from pathlib import Path

__all__ = ["process_start_monotonic", "seconds_since_process_start"]


def _start_ticks(stat_path: str = "/proc/self/stat") -> int:
    """Field 22 of /proc/<pid>/stat: start time in clock ticks after boot.

    The command name (field 2) is in parentheses and may contain spaces or ')', so split after
    the *last* ')': what follows starts at field 3.
    """
    stat = Path(stat_path).read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[22 - 3])


def _seconds_since_boot() -> float:
    """Now, on the clock /proc/<pid>/stat starttime is counted in (CLOCK_BOOTTIME).

    CLOCK_BOOTTIME has ns resolution; /proc/uptime (same clock, 10 ms steps) is the fallback.
    """
    clock = getattr(time, "CLOCK_BOOTTIME", None)
    if clock is not None:
        try:
            return time.clock_gettime(clock)
        except OSError:
            pass
    return float(Path("/proc/uptime").read_text().split()[0])


def seconds_since_process_start(pid: int | str = "self") -> float:
    """Seconds since the process was created (fork), so interpreter start-up counts.

    Resolution is one clock tick (SC_CLK_TCK, usually 10 ms): the kernel truncates the start
    time, so the result is 0-10 ms *too large*.
    """
    ticks = _start_ticks(f"/proc/{pid}/stat")
    return _seconds_since_boot() - ticks / os.sysconf("SC_CLK_TCK")


def process_start_monotonic() -> float:
    """The process start time on the ``time.monotonic()`` scale.

    ``time.monotonic() - process_start_monotonic()`` then gives the seconds since start without
    re-reading /proc (compute this once, early).
    """
    return time.monotonic() - seconds_since_process_start()


if __name__ == "__main__":
    print(f"{seconds_since_process_start():.3f}")
