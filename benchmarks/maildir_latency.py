"""New client mail in a Maildir -> the engine's "changed" event (what moves the badge).

    python benchmarks/maildir_latency.py [--runs 20]

Floor, measured in the same run: a bare watchdog observer on the same kind of folder,
file rename -> its callback. Heard adds a short debounce (bursts of files make one
sync), the read, the parse and the store transaction. DESIGN.md aims for under 1 s.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from heard.config import ConfigFile
from heard.domain.clients import Client
from heard.engine import Engine, EngineEvent
from heard.mail.maildir import Maildir
from heard.mail.watch import DEBOUNCE_SECONDS
from heard.system.paths import Profile

MESSAGE = (b"From: Margaret Hale <margaret@hale.example>\r\nTo: alex@example.com\r\n"
           b"Subject: Closing documents\r\nMessage-ID: <%d@hale.example>\r\n\r\nCall me.\r\n")


def floor(root: Path, runs: int) -> list[float]:
    maildir = Maildir(root / "floor")
    maildir.create()
    seen = threading.Event()

    class Handler(FileSystemEventHandler):
        def on_any_event(self, event: FileSystemEvent) -> None:
            if event.event_type in ("created", "moved") and not event.is_directory:
                seen.set()

    observer = Observer()
    observer.schedule(Handler(), str(maildir.path / "new"))
    observer.start()
    times = []
    try:
        for n in range(runs):
            seen.clear()
            started = time.perf_counter()
            maildir.deliver(MESSAGE % n)
            if not seen.wait(5):
                raise SystemExit("floor: no event within 5 s")
            times.append(time.perf_counter() - started)
            time.sleep(0.05)
    finally:
        observer.stop()
        observer.join()
    return times


def heard(root: Path, runs: int) -> list[float]:
    inbox = Maildir(root / "INBOX")
    inbox.create()
    profile = Profile(root / "profile")
    profile.create()
    ConfigFile(profile.config).append("accounts", {"name": "bench", "kind": "maildir",
                                                   "inbox": str(inbox.path)})
    engine = Engine.open(profile)
    engine.clients.add(Client("Margaret Hale", emails=("margaret@hale.example",)))
    changed = threading.Event()

    def listener(event: EngineEvent) -> None:
        if event.kind == "changed" and event.new:
            changed.set()

    engine.subscribe(listener)
    engine.start_watching()
    times = []
    try:
        for n in range(runs):
            changed.clear()
            started = time.perf_counter()
            inbox.deliver(MESSAGE % (n + 10_000))
            if not changed.wait(5):
                raise SystemExit("heard: no event within 5 s")
            times.append(time.perf_counter() - started)
            time.sleep(0.3)
    finally:
        engine.close()
    return times


def show(name: str, times: list[float]) -> float:
    median = statistics.median(times)
    print(f"{name:<32} median {median * 1000:7.1f} ms   min {min(times) * 1000:7.1f}   "
          f"max {max(times) * 1000:7.1f}   (n={len(times)})")
    return median


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="heard-latency-") as tmp:
        base = show("floor: bare watchdog callback", floor(Path(tmp), args.runs))
        ours = show("heard: file -> engine event", heard(Path(tmp), args.runs))
    print(f"heard - floor: {(ours - base) * 1000:.1f} ms (of which "
          f"{DEBOUNCE_SECONDS * 1000:.0f} ms is the debounce)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
