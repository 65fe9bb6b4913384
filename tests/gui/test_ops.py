"""Work run off the GUI thread: each outcome arrives on the GUI thread, and nothing of a job
(its work, its handlers, what they hold, its signals) outlives it: a tray runs a job for
every status read, tick and click, for weeks."""

from __future__ import annotations

import gc
import weakref

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QObject
from pytestqt.qtbot import QtBot

from heard.errors import HeardError
from heard.gui.ops import Ops

pytestmark = pytest.mark.usefixtures("qapp")


class Held:
    """Something a job's work and handlers hold (a status, a window's rows)."""


def test_a_finished_job_leaves_nothing_behind(qtbot: QtBot) -> None:
    ops = Ops()
    held: list[weakref.ref[Held]] = []
    outcomes: list[object] = []
    jobs = 50
    for n in range(jobs):
        thing = Held()
        held.append(weakref.ref(thing))
        if n % 5 == 0:   # some fail: the failure's handler must not stay either
            def work(thing: Held = thing) -> object:
                raise HeardError(f"no {thing!r}")
        else:
            def work(thing: Held = thing) -> object:
                return thing

        ops.run(work, lambda result, thing=thing: outcomes.append((result, thing)),
                lambda exc, thing=thing: outcomes.append((exc, thing)))
        del thing, work
    qtbot.waitUntil(lambda: len(outcomes) == jobs, timeout=10_000)
    assert ops.wait(5000)
    outcomes.clear()

    def nothing_left() -> bool:
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        gc.collect()
        return all(ref() is None for ref in held)

    qtbot.waitUntil(nothing_left, timeout=5000)
    # Nor the jobs' signal objects.
    assert sum(isinstance(o, QObject) and type(o).__name__ == "_Signals"
               for o in gc.get_objects()) == 0
