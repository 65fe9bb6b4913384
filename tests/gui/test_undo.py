"""The undo stack on its own: newest first, a bounded depth, held actions that go out when
their delay is over or at quit, and never twice."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from heard.gui.undo import Undoable, UndoStack

pytestmark = pytest.mark.usefixtures("qapp")


def entry(label: str, log: list[str]) -> Undoable:
    return Undoable(label, lambda: log.append(label))


def test_undo_takes_back_the_newest_entry_and_the_window_is_told_what_is_next() -> None:
    stack = UndoStack()
    told: list[str | None] = []
    stack.changed.connect(told.append)
    taken: list[str] = []
    first, second = entry("dismissing Raj's message", taken), entry("Jane is a client", taken)
    stack.push(first)
    stack.push(second)
    assert told == ["dismissing Raj's message", "Jane is a client"]

    stack.undo()
    assert taken == ["Jane is a client"]
    stack.drop(second)   # as an action does once its take-back succeeded
    assert told[-1] == "dismissing Raj's message"
    stack.undo()
    assert taken == ["Jane is a client", "dismissing Raj's message"]
    stack.drop(first)
    assert told[-1] is None and len(stack) == 0
    stack.undo()         # nothing left: nothing happens
    assert len(taken) == 2


def test_entries_with_the_same_words_are_still_two_actions() -> None:
    stack = UndoStack()
    taken: list[str] = []
    one, two = entry("dismissing Raj's message", taken), entry("dismissing Raj's message", taken)
    stack.push(one)
    stack.push(two)
    stack.drop(two)
    assert one in stack and two not in stack


def test_the_stack_keeps_only_the_newest_entries_up_to_its_depth() -> None:
    stack = UndoStack(depth=3)
    taken: list[str] = []
    entries = [entry(f"action {n}", taken) for n in range(5)]
    for e in entries:
        stack.push(e)
    assert stack.labels == ["action 2", "action 3", "action 4"]
    assert entries[1] not in stack and entries[2] in stack


def test_a_held_action_goes_out_when_its_delay_is_over(qtbot: QtBot) -> None:
    stack = UndoStack()
    sent: list[str] = []
    held = stack.hold("the acknowledgement to Raj", send=lambda: sent.append("raj"),
                      cancel=lambda: sent.append("cancelled"), delay_ms=50)
    assert held in stack and sent == []
    qtbot.waitUntil(lambda: sent == ["raj"], timeout=5000)
    assert held not in stack
    stack.send_held_now()   # quitting now: it went out already, not again
    assert sent == ["raj"]


def test_undo_of_a_held_action_cancels_it_and_it_never_goes_out(qtbot: QtBot) -> None:
    stack = UndoStack()
    done: list[str] = []
    raj = stack.hold("the acknowledgement to Raj", send=lambda: done.append("raj sent"),
                     cancel=lambda: done.append("raj cancelled"), delay_ms=50)
    stack.undo()
    assert done == ["raj cancelled"] and raj not in stack
    # Proof that it would have gone out by now: another, held as long and started after it,
    # has gone out.
    stack.hold("the acknowledgement to Megge", send=lambda: done.append("megge sent"),
               cancel=lambda: done.append("megge cancelled"), delay_ms=50)
    qtbot.waitUntil(lambda: "megge sent" in done, timeout=5000)
    assert done == ["raj cancelled", "megge sent"]


def test_quitting_sends_what_waits_for_undo_at_once_in_order() -> None:
    stack = UndoStack()
    sent: list[str] = []
    stack.push(entry("dismissing Raj's message", []))
    for name in ("Raj", "Megge"):
        stack.hold(f"the acknowledgement to {name}", send=lambda n=name: sent.append(n),
                   cancel=lambda: sent.append("cancelled"), delay_ms=60_000)
    stack.send_held_now()
    assert sent == ["Raj", "Megge"]
    assert stack.labels == ["dismissing Raj's message"]   # done actions stay undoable



def test_a_closed_stack_sends_nothing_more(qtbot: QtBot) -> None:
    """The app goes away without quitting (its window first): a held entry stays in the
    outbox for the next start rather than going out into widgets that are gone."""
    stack = UndoStack()
    sent: list[str] = []
    stack.hold("the acknowledgement to Raj", send=lambda: sent.append("raj"),
               cancel=lambda: sent.append("cancelled"), delay_ms=50)
    stack.close()
    assert len(stack) == 0
    # Proof that it would have gone out by now: a new stack's, held as long and started
    # after it, has gone out.
    other = UndoStack()
    other.hold("the acknowledgement to Megge", send=lambda: sent.append("megge"),
               cancel=lambda: sent.append("cancelled"), delay_ms=50)
    qtbot.waitUntil(lambda: "megge" in sent, timeout=5000)
    assert sent == ["megge"]
    stack.send_held_now()
    assert sent == ["megge"]
