"""Absences the user sets (`heard away`): kept in the store's small-values table
(heard.domain.absences). The replies themselves are the autopilot's
(heard.engine.replies.Replies.notices); an out-of-office event in the calendar is an absence
too, read there, when [absence] calendar_tiers is set."""

from __future__ import annotations

import logging
from datetime import datetime

from heard.domain.absences import ABSENCE_KEY, ABSENCE_TEMPLATE, ALL_TIERS, Absence, read_absences
from heard.engine.context import EngineContext
from heard.errors import EngineError

log = logging.getLogger(__name__)


class AbsenceError(EngineError):
    """An expected refusal, told to the user as is."""


class Absences:
    def __init__(self, ctx: EngineContext) -> None:
        self._ctx = ctx

    def listing(self, everything: bool = False) -> list[Absence]:
        """The absences not over yet (with `everything`, past ones too), soonest first."""
        ctx = self._ctx
        found = read_absences(ctx.store.states(ABSENCE_KEY))
        now = ctx.clock.now()
        return found if everything else [a for a in found if a.ends > now]

    def add(self, starts: datetime, ends: datetime, template: str | None = None,
            deputy: str | None = None, tiers: tuple[str, ...] = ()) -> Absence:
        """Away from `starts` to `ends`: each client of `tiers` (every tier when none are
        given) who writes meanwhile hears once that the user is away, from `template`
        (default [absence] template), naming `deputy` (default [absence] deputy)."""
        ctx = self._ctx
        settings = ctx.settings
        name = template or settings.absence.template or ABSENCE_TEMPLATE
        if name not in ctx.templates:
            raise AbsenceError(f"there is no template {name!r}; known: "
                               f"{', '.join(sorted(ctx.templates))}")
        if ends <= max(starts, ctx.clock.now()):
            raise AbsenceError("an absence must end later than it starts, and than now")
        with ctx.lock:
            known = read_absences(ctx.store.states(ABSENCE_KEY))
            clash = next((a for a in known if a.starts < ends and starts < a.ends), None)
            if clash is not None:
                raise AbsenceError(f"it overlaps absence {clash.id} ({clash.starts:%Y-%m-%d}"
                                   f" to {clash.ends:%Y-%m-%d}); take that off first")
            absence = Absence(max((a.id for a in known), default=0) + 1, starts, ends, name,
                              deputy if deputy is not None else settings.absence.deputy,
                              tuple(tiers) or ALL_TIERS)
            ctx.store.set_state(absence.key, absence.to_text())
        log.info("absence %s set: %s to %s", absence.id, starts.isoformat(), ends.isoformat())
        ctx.events.changed()
        return absence

    def off(self, absence_id: int | None = None) -> list[Absence]:
        """Take an absence back (None: every one not over yet)."""
        ctx = self._ctx
        with ctx.lock:
            found = [a for a in self.listing() if absence_id is None or a.id == absence_id]
            if not found:
                raise AbsenceError(f"there is no absence {absence_id}" if absence_id
                                   else "no absence is set")
            for absence in found:
                ctx.store.set_state(absence.key, None)
        ctx.events.changed()
        return found
