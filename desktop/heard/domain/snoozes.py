"""One waiting client set aside until a time ("after my 3 pm call", "tomorrow 9:00", "when
this meeting ends") without acknowledging them: the badge stops counting them, their
deadlines keep running (the warnings still come), and anything new from them wakes the
snooze at once. It ends by itself at its time."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as dtime
from typing import TYPE_CHECKING

from heard.domain.ids import ClientId, InquiryId
from heard.domain.waiting import WaitingClient, WaitingItem, by_client

if TYPE_CHECKING:
    from heard.domain.busy import BusyState
    from heard.domain.clock import WorkingHours

# The store's small-values table keeps one snooze per client under this prefix.
SNOOZE_KEY = "client_snooze:"


@dataclass(frozen=True)
class ClientSnooze:
    """`latest_id` and `latest_at`: the newest inquiry and the client's latest message when
    it was set, so that anything they write afterwards wakes it (a new inquiry has a higher
    id; a follow-up in a waiting thread moves its last activity on)."""

    client_id: ClientId
    until: datetime
    set_at: datetime
    latest_id: InquiryId
    latest_at: datetime

    def __post_init__(self) -> None:
        if self.until.tzinfo is None or self.set_at.tzinfo is None \
                or self.latest_at.tzinfo is None:
            raise ValueError("snooze times must be timezone-aware")

    @property
    def key(self) -> str:
        return f"{SNOOZE_KEY}{self.client_id}"

    def to_text(self) -> str:
        return json.dumps({"until": self.until.isoformat(), "set_at": self.set_at.isoformat(),
                           "latest_id": int(self.latest_id),
                           "latest_at": self.latest_at.isoformat()})

    @classmethod
    def from_text(cls, client_id: ClientId, text: str) -> ClientSnooze | None:
        """None for a value that cannot be read (it then holds nobody back)."""
        try:
            data = json.loads(text)
            return cls(client_id, datetime.fromisoformat(data["until"]),
                       datetime.fromisoformat(data["set_at"]), InquiryId(int(data["latest_id"])),
                       datetime.fromisoformat(data["latest_at"]))
        except (ValueError, KeyError, TypeError):
            return None

    @classmethod
    def of(cls, group: WaitingClient, until: datetime, now: datetime) -> ClientSnooze:
        """A snooze of a waiting client as they are now."""
        return cls(group.client.id or ClientId(0), until, now, max(group.ids),
                   max(i.inquiry.last_activity for i in group.items))

    def holds(self, items: Iterable[WaitingItem], now: datetime) -> bool:
        """Whether it still sets the client aside: its time has not come, and nothing they
        wrote is newer than what was snoozed."""
        if self.until <= now:
            return False
        return not any((i.inquiry.id or 0) > self.latest_id
                       or i.inquiry.last_activity > self.latest_at for i in items)


@dataclass(frozen=True)
class SnoozedClient:
    waiting: WaitingClient
    snooze: ClientSnooze

    @property
    def until(self) -> datetime:
        return self.snooze.until


def read_snoozes(values: Mapping[str, str]) -> dict[ClientId, ClientSnooze]:
    """The snoozes from the store's values under SNOOZE_KEY."""
    found = {}
    for key, text in values.items():
        rest = key.removeprefix(SNOOZE_KEY)
        if not rest.isdigit():
            continue
        snooze = ClientSnooze.from_text(ClientId(int(rest)), text)
        if snooze is not None:
            found[snooze.client_id] = snooze
    return found


def set_aside(items: list[WaitingItem], snoozes: Mapping[ClientId, ClientSnooze],
              now: datetime) -> tuple[list[WaitingItem], list[SnoozedClient]]:
    """Who waits (in the badge) and who is snoozed, soonest back first."""
    snoozed_ids = set()
    snoozed = []
    for group in by_client(items):
        snooze = snoozes.get(group.client.id) if group.client.id is not None else None
        if snooze is not None and snooze.holds(group.items, now):
            snoozed_ids.add(group.client.id)
            snoozed.append(SnoozedClient(group, snooze))
    snoozed.sort(key=lambda s: (s.until, s.waiting.ack_due))
    return [i for i in items if i.inquiry.client_id not in snoozed_ids], snoozed


class NotInMeeting(ValueError):
    """"meeting-end" asked for while the calendar says free (or no calendar is read)."""


def snooze_time(text: str, now: datetime, hours: WorkingHours,
                busy: BusyState | None) -> datetime:
    """The end of a snooze said as the user says it: "15:00" (today), "tomorrow 9:00",
    "tomorrow" (when the next working day opens), "meeting-end" (the end of the current
    block of meetings), "90m" or "2h" (from now), or an ISO-8601 time (the user's zone
    unless it has an offset). ValueError says what is wrong in words."""
    from heard.domain.toasts import Snooze, snooze_until

    zone = hours.zone
    said = " ".join(text.lower().split())
    if said in ("meeting-end", "meeting end", "meeting"):
        until = snooze_until(Snooze.MEETING, now, busy=busy, hours=hours)
        if until is None:
            raise NotInMeeting("you are not in a meeting now (by your calendar): give a time")
        return until
    if said == "tomorrow":
        until = snooze_until(Snooze.TOMORROW, now, busy=busy, hours=hours)
        assert until is not None
        return until
    if said[-1:] in ("m", "h") and said[:-1].isdigit():
        amount = int(said[:-1])
        return now + (timedelta(minutes=amount) if said[-1] == "m" else timedelta(hours=amount))
    day = now.astimezone(zone).date()
    if said.startswith("tomorrow "):
        day, said = day + timedelta(days=1), said.removeprefix("tomorrow ")
    if len(said) <= 5 and ":" in said:
        try:
            hour, minute = (int(p) for p in said.split(":"))
            until = datetime.combine(day, dtime(hour, minute), tzinfo=zone)
        except ValueError as exc:
            raise ValueError(f"{text!r} is not a time of day; write it as 15:00") from exc
    else:
        try:
            parsed = datetime.fromisoformat(text.strip())
        except ValueError as exc:
            raise ValueError(f"{text!r} is not a time; use 15:00, tomorrow 9:00,"
                             " meeting-end, 90m or 2026-11-26T16:30") from exc
        until = parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)
    if until <= now:
        raise ValueError(f"{text.strip()} has passed; a snooze ends later (tomorrow"
                         f" {said}?)" if len(said) <= 5 else
                         f"{text.strip()} has passed; a snooze ends later than now")
    return until
