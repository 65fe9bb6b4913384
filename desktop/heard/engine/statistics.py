"""How well the user's response standards are kept: every contact measured against its
standard, and summaries by week, client, channel or tier."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from heard.engine.context import EngineContext

if TYPE_CHECKING:
    from heard.domain.followups import FollowUpTally
    from heard.domain.statistics import ContactMeasure, Summary


class Statistics:
    def __init__(self, ctx: EngineContext) -> None:
        self._ctx = ctx

    def measures(self, since: datetime, until: datetime) -> list[ContactMeasure]:
        """Every contact received in [since, until) against its standard (for charts)."""
        from heard.domain.statistics import measure

        ctx = self._ctx
        return measure(ctx.store.timelines_between(since, until), ctx.clients_by_id(),
                       ctx.settings.standards, ctx.settings.hours, ctx.clock.now())

    def stats(self, since: datetime, until: datetime, group_by: str = "all",
              prospects: bool | None = None) -> list[Summary]:
        """Standards compliance of the contacts received in [since, until): counts, shares
        in time, median and p90 times, breaches, promises kept, progress toward each goal.
        `prospects`: True only new people, False only clients, None both."""
        from heard.domain.statistics import is_client, is_prospect, summarise

        ctx = self._ctx
        now = ctx.clock.now()
        where = None if prospects is None else (is_prospect if prospects else is_client)
        return summarise(self.measures(since, until), ctx.store.promises_between(since, until),
                         group_by=group_by, where=where, now=now)  # type: ignore[arg-type]

    def follow_ups(self, since: datetime, until: datetime) -> FollowUpTally:
        """The follow-ups set in [since, until): answered in time, came due, answered late,
        nudged, taken back, open (heard.domain.followups.tally)."""
        from heard.domain.followups import tally

        ctx = self._ctx
        return tally(ctx.store.follow_ups_between(since, until), ctx.clock.now())

    def automatic(self, since: datetime, until: datetime) -> dict[str, int]:
        """Replies sent in [since, until) that nobody chose to send, apart from the user's
        own acknowledgements: the autopilot's in meetings (`autopilot`), while away
        (`absence`) and after hours (`after_hours`)."""
        from heard.domain.outbox import OutboxKind, OutboxState

        counts = {"autopilot": 0, "absence": 0, "after_hours": 0}
        names = {OutboxKind.AUTO: "autopilot", OutboxKind.ABSENCE: "absence",
                 OutboxKind.AFTER_HOURS: "after_hours"}
        for item in self._ctx.store.outbox(since=since):
            if item.kind in names and item.created_at < until \
                    and item.state in (OutboxState.SENT, OutboxState.FILED):
                counts[names[item.kind]] += 1
        return counts
