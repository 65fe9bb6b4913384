"""Catching up with the shared state: what changed in a folder's flags while this
instance was away (QRESYNC, else CHANGEDSINCE, else every message's flags), and the flag
changes a folder in IDLE reports, turned into "message u has these flags now"."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from heard.domain.shared import SharedState, shared_state
from heard.mail.imap import Connection
from heard.mail.imap import commands as wire


@dataclass(frozen=True)
class FlagsDelta:
    """What changed in a folder's flags since a known (UIDVALIDITY, HIGHESTMODSEQ)."""
    folder: str
    uidvalidity: int
    highestmodseq: int | None         # keep it for next time (None: server has no MODSEQ)
    changed: Mapping[int, frozenset[str]]
    vanished: frozenset[int] = frozenset()
    present: frozenset[int] | None = None   # every UID now there (CHANGEDSINCE path)
    full: bool = False                # `changed` is everything: replace the cache
    method: str = "full"              # "qresync" | "changedsince" | "full"

    def apply(self, cache: Mapping[int, frozenset[str]]) -> dict[int, frozenset[str]]:
        """The cache brought up to date (a new dict)."""
        if self.full:
            return dict(self.changed)
        out = {uid: flags for uid, flags in cache.items()
               if uid not in self.vanished and (self.present is None or uid in self.present)}
        out.update(self.changed)
        return out

    def states(self) -> dict[int, SharedState]:
        return {uid: shared_state(flags) for uid, flags in self.changed.items()}


def flags_since(conn: Connection, folder: str, uidvalidity: int | None,
                modseq: int | None, *, use_qresync: bool = True) -> FlagsDelta:
    """The flags that changed in `folder` since (uidvalidity, modseq), read-only.

    QRESYNC where the server has it (one SELECT, expunges included), else CHANGEDSINCE
    plus the list of UIDs (for expunges), else (nothing cached, a new UIDVALIDITY, no
    CONDSTORE) every message's flags."""
    condstore = bool({"CONDSTORE", "QRESYNC"} & conn.capabilities)
    cached = uidvalidity is not None and modseq is not None and condstore
    if cached and use_qresync and wire.enable_qresync(conn):
        assert uidvalidity is not None and modseq is not None
        selected = wire.select(conn, folder, readonly=True, qresync=(uidvalidity, modseq))
        try:
            if selected.uidvalidity == uidvalidity and selected.highestmodseq is not None:
                return FlagsDelta(folder, selected.uidvalidity, selected.highestmodseq,
                                  selected.fetched, selected.vanished, method="qresync")
            return _full(conn, folder, selected)
        finally:
            wire.leave(conn, folder)
    selected = wire.select(conn, folder, readonly=True)
    try:
        if (not cached or selected.uidvalidity != uidvalidity
                or selected.highestmodseq is None):
            return _full(conn, folder, selected)
        assert modseq is not None
        changed = wire.fetch_all(conn, selected.exists, changedsince=modseq)
        present = wire.all_uids(conn, selected.exists)
        return FlagsDelta(folder, selected.uidvalidity, selected.highestmodseq, changed,
                          present=frozenset(present), method="changedsince")
    finally:
        wire.leave(conn, folder)


def _full(conn: Connection, folder: str, selected: wire.Selected) -> FlagsDelta:
    changed = wire.fetch_all(conn, selected.exists, changedsince=None)
    return FlagsDelta(folder, selected.uidvalidity, selected.highestmodseq, changed,
                      present=frozenset(changed), full=True, method="full")


# -- push ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class FlagChange:
    uid: int | None               # None: a message whose UID this tracker does not know yet
    seq: int
    flags: frozenset[str]
    modseq: int | None = None

    @property
    def state(self) -> SharedState:
        return shared_state(self.flags)


@dataclass(frozen=True)
class IdleNews:
    changes: list[FlagChange]
    vanished: list[int]
    new: int                      # messages that arrived (EXISTS grew)
    stale: bool                   # some UIDs are unknown: sync, then load the tracker again


class IdleTracker:
    """Turns what a folder in IDLE reports (imapclient's idle_check() tuples) into
    "message u has these flags now".

    With QRESYNC enabled (enable_qresync() before the folder is opened) every FETCH carries
    its UID and expunges come as VANISHED: IdleTracker() keeps no map. Without it FETCH and
    EXPUNGE give sequence numbers only: IdleTracker.load(conn) between SELECT and IDLE
    keeps the sequence -> UID map, and says `stale` when new mail left numbers it cannot
    name (sync, then load it again before the next IDLE)."""

    def __init__(self, uids: Iterable[int] | None = None) -> None:
        self._mapped = uids is not None
        self._uids: list[int | None] = []
        if uids is not None:
            self._uids.extend(sorted(uids))

    @classmethod
    def load(cls, conn: Connection) -> IdleTracker:
        """The map of the folder now selected on `conn` (between SELECT and IDLE)."""
        selected = wire.is_selected(conn)
        return cls(wire.all_uids(conn, 1) if selected else [])

    def __len__(self) -> int:
        return len(self._uids)

    def apply(self, responses: Iterable[object]) -> IdleNews:
        changes: list[FlagChange] = []
        vanished: list[int] = []
        new = 0
        stale = False
        for response in responses:
            if not isinstance(response, tuple) or len(response) < 2:
                continue
            head, kind = response[0], response[1]
            if head == b"VANISHED":
                gone = set()
                for item in response[1:]:
                    if isinstance(item, tuple):
                        continue                # (EARLIER)
                    gone |= wire.uid_set(wire.as_bytes(item))
                vanished.extend(sorted(gone))
                self._uids = [u for u in self._uids if u not in gone]
            elif not isinstance(head, int):
                continue
            elif kind == b"EXISTS":
                if not self._mapped:
                    new += 1                    # at least one; QRESYNC's FETCH names them
                elif head > len(self._uids):
                    new += head - len(self._uids)
                    self._uids.extend([None] * (head - len(self._uids)))
            elif kind == b"EXPUNGE":
                if 0 < head <= len(self._uids):
                    known = self._uids.pop(head - 1)
                    if known is not None:
                        vanished.append(known)
                else:
                    stale = True
            elif kind == b"FETCH" and len(response) > 2 and isinstance(response[2], tuple):
                items = _pairs(response[2])
                uid = items.get(b"UID")
                if isinstance(uid, int):
                    if 0 < head <= len(self._uids):
                        self._uids[head - 1] = uid
                elif 0 < head <= len(self._uids):
                    uid = self._uids[head - 1]
                else:
                    uid = None
                if uid is None:
                    stale = stale or self._mapped
                flags = items.get(b"FLAGS")
                if flags is None:
                    continue
                modseq = items.get(b"MODSEQ")
                changes.append(FlagChange(
                    uid if isinstance(uid, int) else None, head, wire.flagset(flags),
                    int(modseq[0]) if isinstance(modseq, tuple) and modseq else None))
        stale = self._mapped and (stale or any(u is None for u in self._uids))
        return IdleNews(changes, vanished, new, stale)


def _pairs(items: Sequence[object]) -> dict[bytes, Any]:
    out: dict[bytes, Any] = {}
    for i in range(0, len(items) - 1, 2):
        key = items[i]
        if isinstance(key, bytes):
            out[key.upper()] = items[i + 1]
    return out
