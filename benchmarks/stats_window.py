"""The Statistics window's first paint with a year of 100,000 contacts in the store.

    python benchmarks/stats_window.py [--inquiries 100000]

Runs offscreen. Heard: read + measure + summarise the last 12 weeks on the engine, fill
the window and grab its pixels. Floor, in the same run: an empty window of the same
widgets shown and grabbed.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from heard.domain.clock import FixedClock
from heard.engine import Engine
from heard.system.paths import Profile
from stats import NOW, build


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inquiries", type=int, default=100_000)
    args = parser.parse_args()
    from PySide6.QtWidgets import QApplication

    from heard.gui.stats_window import StatsWindow, stats_for_window

    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory(prefix="heard-statswin-") as tmp:
        profile = Profile(Path(tmp) / "profile")
        profile.create()
        build(profile.database, args.inquiries, 500, random.Random(7))
        engine = Engine.open(profile, FixedClock(NOW))
        try:
            started = time.perf_counter()
            empty = StatsWindow()
            empty.show()
            app.processEvents()
            empty.grab()
            floor = time.perf_counter() - started
            empty.close()

            started = time.perf_counter()
            data = stats_for_window(engine)
            read = time.perf_counter() - started
            window = StatsWindow()
            window.show_stats(*data)
            window.show()
            app.processEvents()
            window.grab()
            total = time.perf_counter() - started
            window.close()
        finally:
            engine.close()
    print(f"store: {args.inquiries} contacts over a year; the window shows the last 12 weeks"
          f" ({len(data[1])} weeks, {len(data[3])} waits)")
    print(f"floor: empty window shown and painted   {floor * 1000:8.1f} ms")
    print(f"heard: read + measure + paint           {total * 1000:8.1f} ms"
          f"  (of which reading and measuring {read * 1000:.1f} ms)")
    print(f"ratio                                   {total / floor:8.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
