"""Waiting for what happens on other threads: engine events, or any condition."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from heard.engine import Engine, EngineEvent


class Events:
    """Collects engine events from any thread, and waits for one that matches."""

    def __init__(self, engine: Engine) -> None:
        self.events: list[EngineEvent] = []
        self._cond = threading.Condition()
        engine.subscribe(self._add)

    def _add(self, event: EngineEvent) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def wait_for(self, test: Callable[[EngineEvent], bool], timeout: float = 30.0
                 ) -> EngineEvent:
        end = time.monotonic() + timeout
        with self._cond:
            while True:
                for event in self.events:
                    if test(event):
                        self.events.remove(event)
                        return event
                left = end - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no matching event in {timeout} s: {self.events}")
                self._cond.wait(left)


def wait_until(check: Callable[[], bool], timeout: float = 15.0) -> None:
    end = time.monotonic() + timeout
    while not check():
        if time.monotonic() > end:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)
