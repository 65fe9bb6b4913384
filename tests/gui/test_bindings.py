"""The Qt bindings must not leak or over-release Python's singletons.

PySide6 6.12.0 under Python 3.11 releases None/True/False once per signal emission or
slot call; after a few thousand the interpreter aborts ("bool_dealloc"), so a tray app
that lives all day would die. pyproject.toml caps PySide6 below 6.12 for this.
"""

from __future__ import annotations

import sys

import pytest
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QPushButton

pytestmark = pytest.mark.usefixtures("qapp")


class _Emitter(QObject):
    changed = Signal()
    carried = Signal(object)


def test_signals_and_slots_leave_none_true_and_false_alone() -> None:
    emitter = _Emitter()
    calls: list[object] = []
    emitter.changed.connect(lambda: calls.append(1))
    emitter.carried.connect(calls.append)
    button = QPushButton()
    button.clicked.connect(lambda: calls.append(2))
    before = [sys.getrefcount(x) for x in (None, True, False)]
    for _ in range(300):
        emitter.changed.emit()
        emitter.carried.emit(None)
        button.click()
    calls.clear()
    after = [sys.getrefcount(x) for x in (None, True, False)]
    # Other threads may hold a few references for a moment; 300 calls must not show.
    assert all(abs(a - b) < 50 for a, b in zip(after, before, strict=True)), (before, after)
