"""What Undo (Ctrl+Z in the window, "Undo" on a toast) can take back, the newest first.

An entry is either an action already done, which its `take_back` reverses (a dismissal, a
decision about a new person), or an acknowledgement held back before it is sent
(`UndoStack.hold`): sent when its delay is over, at once when Heard quits
(`send_held_now`), or never, if Undo comes first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, QTimer, Signal

# Enough to walk back a busy minute; older entries are forgotten (a held one is still sent).
UNDO_DEPTH = 20


# Compared by identity: two entries with the same words are still two actions.
@dataclass(eq=False)
class Undoable:
    """One action Undo can take back: `label` says what, `take_back` does it."""

    label: str
    take_back: Callable[[], None]
    send_now: Callable[[], None] | None = None   # held back: sends it without waiting


class UndoStack(QObject):
    """The entries Undo can still reach, oldest first, at most `depth` of them."""

    changed = Signal(object)   # what Undo would take back now (a label), or None

    def __init__(self, depth: int = UNDO_DEPTH, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.depth = depth
        self._entries: list[Undoable] = []
        self._timers: set[QTimer] = set()   # of the entries held back

    def __contains__(self, entry: object) -> bool:
        return entry in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def labels(self) -> list[str]:
        """What each entry would take back, the newest last."""
        return [e.label for e in self._entries]

    @property
    def sending(self) -> bool:
        """Whether Undo would now take back a message waiting to go out."""
        return bool(self._entries) and self._entries[-1].send_now is not None

    def push(self, entry: Undoable) -> None:
        self._entries.append(entry)
        del self._entries[:-self.depth]
        self.changed.emit(entry.label)

    def drop(self, entry: Undoable) -> None:
        """Undo can no longer reach `entry` (it was taken back, or it went out)."""
        if entry in self._entries:
            self._entries.remove(entry)
        self.changed.emit(self._entries[-1].label if self._entries else None)

    def undo(self) -> None:
        """Take back the most recent action still open to it."""
        if self._entries:
            self._entries[-1].take_back()

    def hold(self, label: str, send: Callable[[], None], cancel: Callable[[], None],
             delay_ms: int) -> Undoable:
        """Something that waits `delay_ms` for Undo: then `send` runs, unless Undo came
        first and `cancel` ran instead. Either way the entry leaves the stack first."""
        timer = QTimer(self)
        timer.setSingleShot(True)
        timer.setInterval(delay_ms)

        def settle() -> None:
            timer.stop()
            timer.deleteLater()
            self._timers.discard(timer)
            self.drop(entry)

        def send_now() -> None:
            settle()
            send()

        def take_back() -> None:
            settle()
            cancel()

        entry = Undoable(label, take_back, send_now)
        timer.timeout.connect(send_now)
        self.push(entry)
        self._timers.add(timer)
        timer.start()
        return entry

    def close(self) -> None:
        """The app is going away without quitting (its window may be gone already): no
        held entry goes out from here any more; it waits in the outbox, which the next
        start sends (`send_held_now` is for quitting)."""
        for timer in self._timers:
            timer.stop()
        self._timers.clear()
        self._entries.clear()

    def send_held_now(self) -> None:
        """Quitting: what waits for Undo goes out now rather than at the next start."""
        for entry in list(self._entries):
            if entry.send_now is not None:
                entry.send_now()
