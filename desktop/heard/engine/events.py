"""What the engine tells its subscribers: plain events, from whichever thread did the work
(the GUI turns them into Qt signals in one bridge; the CLI prints progress). The store's
changes are numbered, so a face that reads the status can tell whether a read already saw a
change it hears of (one read per burst of changes, not one per event)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from heard.domain.ids import InquiryId
from heard.domain.warnings import Toast as DeadlineToast

log = logging.getLogger(__name__)


class EventKind(StrEnum):
    CHANGED = "changed"      # the store changed: read the status again
    ERROR = "error"          # something the user must hear of (`message`)
    PROGRESS = "progress"    # a long sync's progress (`message`)
    ACCOUNTS = "accounts"    # an account went online or offline
    ALERTS = "alerts"        # toasts to show (`toasts`: (title, text); `deadlines`)


@dataclass(frozen=True)
class EngineEvent:
    """Something changed; `new` lists inquiries that just arrived (for toasts)."""

    kind: EventKind
    new: tuple[InquiryId, ...] = ()
    message: str = ""
    toasts: tuple[tuple[str, str], ...] = ()
    # Deadline warnings, with the alerts they are about: the tray takes each off the
    # screen when its client no longer waits.
    deadlines: tuple[DeadlineToast, ...] = ()
    # A CHANGED event's number (Events.changes after it): a status read that began when
    # `changes` was at least this has seen the change (Status.changes).
    seq: int = 0


Listener = Callable[[EngineEvent], None]


class Events:
    """The engine's subscribers, and the few ways services tell them something."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()
        self._changes = 0

    @property
    def changes(self) -> int:
        """How many changes have been told so far. Each is counted after the store was
        written and before anyone hears of it, so a status read that begins when this is
        N has seen every change numbered up to N (the tray reads once per burst of them)."""
        return self._changes

    def subscribe(self, listener: Listener) -> None:
        with self._lock:
            self._listeners.append(listener)

    def emit(self, event: EngineEvent) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(event)
            except Exception:
                log.exception("an engine listener failed")

    def changed(self, new: tuple[InquiryId, ...] = ()) -> None:
        with self._lock:
            self._changes += 1
            seq = self._changes
        self.emit(EngineEvent(EventKind.CHANGED, new, seq=seq))

    def error(self, message: str) -> None:
        self.emit(EngineEvent(EventKind.ERROR, message=message))

    def progress(self, message: str) -> None:
        self.emit(EngineEvent(EventKind.PROGRESS, message=message))

    def toast(self, title: str, text: str) -> None:
        self.emit(EngineEvent(EventKind.ALERTS, toasts=((title, text),)))

    def toasts(self, toasts: list[tuple[str, str]],
               deadlines: tuple[DeadlineToast, ...] = ()) -> None:
        self.emit(EngineEvent(EventKind.ALERTS, toasts=tuple(toasts), deadlines=deadlines))

    def accounts(self) -> None:
        self.emit(EngineEvent(EventKind.ACCOUNTS))
