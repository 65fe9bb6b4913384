"""How urgent a waiting contact is, from its deadline and the instant asked about."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from heard.domain.clock import WorkingHours


class Urgency(StrEnum):
    ON_TRACK = "on_track"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"

    @property
    def rank(self) -> int:
        """Higher is more urgent; used to colour the badge by the worst one."""
        return _RANK[self]


_RANK = {Urgency.ON_TRACK: 0, Urgency.DUE_SOON: 1, Urgency.OVERDUE: 2}

# "Due soon" starts when a quarter of the allowed time is left, but never later than
# two minutes before the deadline, so a short standard still gives a warning.
DUE_SOON_FRACTION = 0.25
DUE_SOON_MINIMUM = timedelta(minutes=2)


def urgency_at(now: datetime, received_at: datetime, due: datetime,
               hours: WorkingHours | None = None) -> Urgency:
    """With `hours`, time is counted as the standard counts it: in working hours, so a
    Friday-evening message is not "due soon" on Sunday night."""
    if now >= due:
        return Urgency.OVERDUE
    if hours is None:
        allowed, left = due - received_at, due - now
    else:
        allowed, left = hours.elapsed(received_at, due), hours.elapsed(now, due)
    if left <= max(allowed * DUE_SOON_FRACTION, DUE_SOON_MINIMUM):
        return Urgency.DUE_SOON
    return Urgency.ON_TRACK


def most_urgent(urgencies: list[Urgency]) -> Urgency | None:
    return max(urgencies, key=lambda u: u.rank, default=None)
