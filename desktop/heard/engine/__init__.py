"""The engine: one facade (heard.engine.facade.Engine) over named services, shared by the
CLI and the GUI. Import what a face needs from here."""

from typing import TYPE_CHECKING

from heard.domain.accounts import AccountHealth
from heard.engine.facade import (
    REPORT_EVERY,
    AssignedView,
    Decision,
    Engine,
    EngineEvent,
    Explanation,
    PromiseView,
    Status,
)
from heard.engine.intake import Skipped, SyncReport
from heard.errors import EngineError, NotWaiting

if TYPE_CHECKING:
    from heard.engine.replies import AckResult, DelegateResult

__all__ = ["REPORT_EVERY", "AccountHealth", "AckResult", "AssignedView", "Decision",
           "DelegateResult", "Engine", "EngineError", "EngineEvent", "Explanation",
           "NotWaiting", "PromiseView", "Skipped", "Status", "SyncReport"]


def __getattr__(name: str) -> object:
    # The reply types live in heard.engine.replies, loaded on first use (not on the tray's
    # start path); `from heard.engine import AckResult` still works.
    if name in ("AckResult", "DelegateResult"):
        from heard.engine import replies

        return getattr(replies, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
