"""The engine: one facade (heard.engine.facade.Engine) over named services, shared by the
CLI and the GUI. Import what a face needs from here."""

from typing import TYPE_CHECKING

from heard.devices.coordinator import DeviceMode
from heard.domain.accounts import AccountHealth
from heard.domain.clients import REPORT_EVERY
from heard.engine.events import EngineEvent, EventKind
from heard.engine.facade import Engine, Ticked
from heard.engine.prospects import Decision, DecisionKind
from heard.engine.results import (
    AckResult,
    DelegateResult,
    Delivery,
    Outcome,
    Skipped,
    SyncReport,
)
from heard.engine.status import AssignedView, PromiseView, Status
from heard.errors import EngineError, NotWaiting

__all__ = [
    "REPORT_EVERY",
    "AccountHealth",
    "AckResult",
    "AssignedView",
    "Decision",
    "DecisionKind",
    "DelegateResult",
    "Delivery",
    "DeviceMode",
    "Engine",
    "EngineError",
    "EngineEvent",
    "EventKind",
    "Explanation",
    "NotWaiting",
    "Outcome",
    "PromiseView",
    "Skipped",
    "Status",
    "SyncReport",
    "Ticked",
]

if TYPE_CHECKING:
    from heard.engine.intake import Explanation


def __getattr__(name: str) -> object:
    # Intake (and the MIME parser under it) loads with the first sync, not with the
    # engine: the tray's icon does not wait for it (start-up time and RSS).
    if name == "Explanation":
        from heard.engine.intake import Explanation

        return Explanation
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
