"""Absences and after-hours: a vacation or a day in court known in advance (dates set by the
user, or an out-of-office event in the calendar), during which the autopilot tells each
client once that the user is away and who stands in (the deputy); and, outside working
hours, an optional acknowledgement for chosen tiers. Both are automatic replies (RFC 3834
`Auto-Submitted: auto-replied`), sent with the autopilot's guards, and counted apart from
the user's own acknowledgements."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from heard.domain.clock import WorkingHours

# The store's small-values table keeps each absence the user set under this prefix.
ABSENCE_KEY = "absence:"
ABSENCE_TEMPLATE = "absence"
AFTER_HOURS_TEMPLATE = "after-hours"
# Every tier: an absence set without --tiers tells every client.
ALL_TIERS = ("*",)


@dataclass(frozen=True)
class Absence:
    """`source` "user" (heard away) or "calendar" (an out-of-office event: `id` is 0)."""

    id: int
    starts: datetime
    ends: datetime
    template: str = ABSENCE_TEMPLATE
    deputy: str = ""
    tiers: tuple[str, ...] = ALL_TIERS
    source: str = "user"

    def __post_init__(self) -> None:
        if self.starts.tzinfo is None or self.ends.tzinfo is None:
            raise ValueError("absence times must be timezone-aware")
        if self.ends <= self.starts:
            raise ValueError("an absence ends after it starts")

    @property
    def key(self) -> str:
        """What "once per client per absence" is counted against."""
        if self.source == "calendar":
            return f"calendar:{self.ends.isoformat()}"
        return f"{ABSENCE_KEY}{self.id}"

    def covers(self, at: datetime) -> bool:
        return self.starts <= at < self.ends

    def for_tier(self, tier: str) -> bool:
        return "*" in self.tiers or tier in self.tiers

    def to_text(self) -> str:
        return json.dumps({"starts": self.starts.isoformat(), "ends": self.ends.isoformat(),
                           "template": self.template, "deputy": self.deputy,
                           "tiers": list(self.tiers)})

    @classmethod
    def from_text(cls, absence_id: int, text: str) -> Absence | None:
        try:
            data = json.loads(text)
            return cls(absence_id, datetime.fromisoformat(data["starts"]),
                       datetime.fromisoformat(data["ends"]), str(data["template"]),
                       str(data["deputy"]), tuple(str(t) for t in data["tiers"]))
        except (ValueError, KeyError, TypeError):
            return None


def read_absences(values: Mapping[str, str]) -> list[Absence]:
    """The absences the user set, soonest first, from the store's values under ABSENCE_KEY."""
    found = []
    for key, text in values.items():
        rest = key.removeprefix(ABSENCE_KEY)
        if rest.isdigit() and (absence := Absence.from_text(int(rest), text)) is not None:
            found.append(absence)
    return sorted(found, key=lambda a: (a.starts, a.id))


def current(absences: list[Absence], at: datetime) -> Absence | None:
    return next((a for a in absences if a.covers(at)), None)


def closed_since(at: datetime, hours: WorkingHours) -> datetime | None:
    """When the office closed, if it is closed at `at` (None while it is open): the end of
    the last opening before `at`, so "once per client" after hours means once per closed
    evening, weekend or holiday."""
    if hours.is_open(at):
        return None
    day = at.astimezone(hours.zone).date()
    for _ in range(60):
        ends = [e for _s, e in hours.openings(day) if e <= at]
        if ends:
            return max(ends)
        day -= timedelta(days=1)
    return at - timedelta(days=60)
