"""The toaster on its own (the tray app around it: tests/gui/test_toasts.py): notes wait
for the notifier, pause holds every toast back, and an arrival toast acted on is withdrawn
only if it is still the one on screen."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtWidgets import QMenu, QSystemTrayIcon
from pytestqt.qtbot import QtBot

from heard.engine import Engine
from heard.gui.notify import Note
from heard.gui.ops import Ops
from heard.gui.toaster import Toaster, ToastRef
from tests.gui.test_toasts import Recorder


class Showing(Recorder):
    """A recorder that knows which note each slot shows, and takes one back when asked."""

    def __init__(self) -> None:
        super().__init__()
        self.withdrawn: list[str] = []

    def showing(self, slot: str) -> object | None:
        return next((n.ref for n in reversed(self.notes) if n.slot == slot), None)

    def withdraw(self, slot: str) -> None:
        self.withdrawn.append(slot)


@pytest.fixture
def parts(qtbot: QtBot) -> Iterator[tuple[Ops, QSystemTrayIcon, QMenu]]:
    ops, tray, menu = Ops(), QSystemTrayIcon(), QMenu()
    yield ops, tray, menu
    ops.close(5000)
    menu.deleteLater()
    tray.deleteLater()


def toaster(engine: Engine, parts: tuple[Ops, QSystemTrayIcon, QMenu], notifier: Recorder,
            paused: bool = False) -> Toaster:
    ops, tray, menu = parts
    return Toaster(engine, ops, tray, menu, paused=paused, notifier=notifier)


def test_notes_wait_for_the_notifier_and_are_shown_in_order_once_it_is_chosen(
        engine: Engine, parts: tuple[Ops, QSystemTrayIcon, QMenu]) -> None:
    recorder = Recorder()
    toasts = toaster(engine, parts, recorder)
    toasts.problem("disk full")
    toasts.alert([("Megge: 2 minutes left", "Closing")])
    assert recorder.notes == [] and toasts.notifier is None
    toasts.choose_notifier()
    assert toasts.notifier is recorder
    assert recorder.titles() == ["Heard: problem", "Megge: 2 minutes left"]
    assert recorder.notes[1].urgent and recorder.notes[1].ref == ToastRef()


def test_paused_nothing_pops_and_the_tooltip_line_says_so(
        qtbot: QtBot, engine: Engine, parts: tuple[Ops, QSystemTrayIcon, QMenu]) -> None:
    recorder = Recorder()
    toasts = toaster(engine, parts, recorder, paused=True)
    toasts.choose_notifier()
    toasts.problem("disk full")
    toasts.alert([("Megge: 2 minutes left", "Closing")])
    assert recorder.notes == []
    assert toasts.holding_all()
    assert toasts.quiet_line() == "Notifications paused"
    with qtbot.waitSignal(toasts.changed, timeout=1000):
        toasts.set_paused(False)
    assert toasts.quiet_line() is None and not toasts.holding_all()
    toasts.problem("disk full")
    assert recorder.titles() == ["Heard: problem"]


def test_an_arrival_acted_on_is_withdrawn_only_while_it_is_the_one_on_screen(
        engine: Engine, parts: tuple[Ops, QSystemTrayIcon, QMenu]) -> None:
    showing = Showing()
    toasts = toaster(engine, parts, showing)
    toasts.choose_notifier()
    raj, both = ToastRef(1, (1,)), ToastRef(None, (1, 2))
    toasts.notify(Note("Rajesh wrote", slot="arrivals", ref=raj))
    toasts.notify(Note("Rajesh and Sofia are waiting", slot="arrivals", ref=both))
    toasts.withdraw_arrival(raj)    # replaced by the summary meanwhile: it stays
    assert showing.withdrawn == []
    toasts.withdraw_arrival(both)
    assert showing.withdrawn == ["arrivals"]
    assert toasts.last_target is None   # the summary is about no one inquiry
