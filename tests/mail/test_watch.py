"""Maildir folders watched by inotify (heard.mail.watch)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from heard.mail.maildir import Maildir
from heard.mail.watch import MaildirWatcher


def _until(check: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_no_callback_runs_after_the_watcher_stopped(tmp_path: object) -> None:
    from pathlib import Path

    box = Maildir(Path(str(tmp_path)) / "box")
    box.create()
    calls: list[float] = []
    watcher = MaildirWatcher([box.path], lambda: calls.append(time.monotonic()))
    watcher.start()
    box.deliver(b"Subject: first\r\n\r\n")
    assert _until(lambda: bool(calls)), "the watcher never called back"
    stop_writing = threading.Event()
    written: list[None] = []

    def writer() -> None:   # a flood: the debounce timer is pending when the watcher stops
        while not stop_writing.is_set():
            box.deliver(b"Subject: x\r\n\r\n")
            written.append(None)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert _until(lambda: len(written) > 20)
        watcher.stop()
        stopped = time.monotonic()
    finally:
        stop_writing.set()
        thread.join()
    # A watcher started now calls back one debounce after a file written now: by then a
    # timer the first one had pending would have fired too.
    witness = threading.Event()
    second = MaildirWatcher([box.path], witness.set)
    second.start()
    try:
        box.deliver(b"Subject: last\r\n\r\n")
        assert witness.wait(timeout=30), "a file written after the stop was never seen"
    finally:
        second.stop()
    assert all(at <= stopped for at in calls)
