"""Small words every face uses the same way: a count with its noun ("1 contact", "2
contacts", never "1 contacts" or "1 problem(s)"), and a moment as a person says it near
now ("today 12:19", "tomorrow 09:00", "Mon 12:19" within the week, "Mon 3 Nov 12:19"
beyond it)."""

from __future__ import annotations

from datetime import datetime, tzinfo


def plural(n: int, word: str, words: str | None = None) -> str:
    """`n` and the noun in its number; `words` when the plural is not word + "s"."""
    return f"{n} {word if n == 1 else (words or word + 's')}"


def day_and_time(at: datetime, now: datetime, zone: tzinfo) -> str:
    """`at` in `zone`, its day said relative to `now` where that reads better than a
    weekday: a weekday alone is ambiguous beyond six days, so farther days carry the date."""
    local, today = at.astimezone(zone), now.astimezone(zone).date()
    days = (local.date() - today).days
    named = {0: "today", 1: "tomorrow", -1: "yesterday"}.get(days)
    if named is None:
        named = f"{local:%a}" if -6 <= days <= 6 else f"{local:%a} {local.day} {local:%b}"
    return f"{named} {local:%H:%M}"
