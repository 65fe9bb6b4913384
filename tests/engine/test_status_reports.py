"""Clients who ask for regular status reports get a reminder when one is due; others none."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from heard.domain.clock import FixedClock
from heard.engine import Engine


def test_a_monthly_report_is_due_a_month_after_the_last_and_resets_when_sent(
        engine: Engine, clock: FixedClock) -> None:
    megge = next(c for c in engine.clients.all() if c.preferred_name == "Megge")
    raj = next(c for c in engine.clients.all() if c.name == "Rajesh Patel")
    engine.clients.update(dataclasses.replace(megge, preferences={"status_reports": "monthly"}))
    assert engine.status().reports_due == []          # the clock starts now
    clock.advance(timedelta(days=29))
    assert engine.status().reports_due == []
    clock.advance(timedelta(days=1, minutes=1))
    (due,) = engine.status().reports_due
    assert due[0].name == "Margaret Hale"
    assert all(client.id != raj.id for client, _ in engine.status().reports_due)  # asked none
    assert megge.id is not None
    engine.reminders.status_report_sent(megge.id)
    assert engine.status().reports_due == []
    clock.advance(timedelta(days=30))
    assert [c.name for c, _ in engine.status().reports_due] == ["Margaret Hale"]
