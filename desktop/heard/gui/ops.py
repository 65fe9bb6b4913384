"""The one way the GUI runs engine work: on a worker thread, results back on the GUI thread.

In the spirit of Anki's QueryOp: the worker never touches a widget; success and failure
both arrive as signals on the GUI thread, and a failure is always shown, never swallowed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, Signal

from heard.errors import HeardError

log = logging.getLogger(__name__)


class _Signals(QObject):
    done = Signal(object)
    failed = Signal(object)


def _run(work: Callable[[], Any], signals: _Signals) -> None:
    """On a worker thread: the work, its outcome told back as a signal."""
    try:
        result = work()
    except Exception as exc:
        signals.failed.emit(exc)
    else:
        signals.done.emit(result)


class Ops(QObject):
    """Owns the worker pool. Two threads, so reading the status never queues behind a long
    sync; writes are serialised by the engine's lock and SQLite's single writer."""

    error = Signal(str)   # every failure that had no handler of its own

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(2)
        self._live: set[_Signals] = set()
        self._closed = False

    def run(self, work: Callable[[], Any],
            on_done: Callable[[Any], None] | None = None,
            on_error: Callable[[Exception], None] | None = None) -> None:
        if self._closed:   # shutting down: a late timer's work would outlive the engine
            return
        signals = _Signals()
        self._live.add(signals)

        def finished(result: Any) -> None:
            self._done(signals)
            if self._closed:  # the widgets this would update are gone
                return
            if on_done is not None:
                on_done(result)

        def failed(exc: Exception) -> None:
            self._done(signals)
            if _expected(exc):
                log.info("background work failed: %s: %s", type(exc).__name__, exc)
            else:
                log.error("background work failed", exc_info=exc)
            if self._closed:
                return
            if on_error is not None:
                on_error(exc)
            else:
                self.error.emit(str(exc))

        signals.done.connect(finished)
        signals.failed.connect(failed)
        # A plain callable, not a QRunnable subclass: the pool deletes a finished
        # QRunnable in C++ but its Python half (and the work it holds) can stay behind.
        self._pool.start(lambda: _run(work, signals))

    def _done(self, signals: _Signals) -> None:
        # The connections hold the closures and the closures hold `signals`: a cycle
        # through C++ that no garbage collector sees. Deleting the QObject drops its
        # connections, and so the closures and whatever they hold (one per status read,
        # tick and click: weeks of them in a tray).
        self._live.discard(signals)
        signals.deleteLater()

    def wait(self, msecs: int = 5000) -> bool:
        return self._pool.waitForDone(msecs)

    def close(self, msecs: int = 5000) -> bool:
        """Finish running work and drop its results: for shutting the GUI down."""
        self._closed = True
        return self.wait(msecs)


def _expected(exc: Exception) -> bool:
    """A failure that is the user's to know or fix (an account that refuses the login, a
    client already answered, an address someone else has): shown in words, logged without
    a traceback. Anything else is a bug."""
    return isinstance(exc, HeardError)
