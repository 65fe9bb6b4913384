"""Notice new files in Maildir folders within a second, by inotify (watchdog), not polling."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

log = logging.getLogger(__name__)

# Bursts of files (a client's message plus a server's bookkeeping, or a whole fetch)
# come as many events; waiting this long merges them into one sync.
DEBOUNCE_SECONDS = 0.05


class _Handler(FileSystemEventHandler):
    def __init__(self, poke: Callable[[], None]) -> None:
        self._poke = poke

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("created", "moved", "deleted") and not event.is_directory:
            self._poke()


class MaildirWatcher:
    """Calls `on_change` (on a watcher thread) shortly after files appear or move."""

    def __init__(self, folders: Iterable[Path], on_change: Callable[[], None]) -> None:
        self._folders = [f for f in folders]
        self._on_change = on_change
        self._observer: Observer | None = None  # type: ignore[valid-type]
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self._stopped = False

    def _poke(self) -> None:
        with self._lock:
            if self._stopped:
                return
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(DEBOUNCE_SECONDS, self._fire)
            self._timer.daemon = True
            self._timer.start()

    def _fire(self) -> None:
        if self._stopped:
            return
        try:
            self._on_change()
        except Exception:  # a failed sync must not kill the watcher; it is logged, not lost
            log.exception("sync after a Maildir change failed")

    def start(self) -> None:
        observer = Observer()
        handler = _Handler(self._poke)
        for folder in self._folders:
            for sub in ("new", "cur"):
                path = folder / sub
                if path.is_dir():
                    observer.schedule(handler, str(path), recursive=False)
                else:
                    log.warning("not watching %s: no such folder", path)
        observer.daemon = True
        observer.start()
        self._observer = observer

    def stop(self) -> None:
        """Stop watching; a sync already running is allowed to finish first."""
        with self._lock:
            self._stopped = True
            timer, self._timer = self._timer, None
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=2)
            self._observer = None
        if timer is not None:
            timer.cancel()
            if timer is not threading.current_thread():
                timer.join(timeout=30)
