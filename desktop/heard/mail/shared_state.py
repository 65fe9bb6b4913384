"""State shared by every Heard instance of one mailbox, kept on the IMAP server.

The layer under the engine: it knows IMAP and the keywords of heard.domain.shared, nothing
of the engine or the store. Every IMAP failure becomes heard.mail.imap.ImapError.

- detect(): what the server allows on a folder, and the resulting Mode.
- claim() before sending, mark_sending() just before SMTP, mark() after; release() when
  the user takes a claimed reply back before it went out.
- flags_since(): catching up after being away (QRESYNC, else CHANGEDSINCE, else all
  flags); IdleTracker: flag changes seen in IDLE, with or without QRESYNC.
- queue_request()/take_requests(): one-click actions passed to the designated instance
  when the server keeps no keywords.
- read_settings()/write_settings(): shared settings in METADATA, else in a message.

The claim (section 7 of the research note, steps 1-3 and 5):

1. `UID FETCH u (FLAGS MODSEQ)`: done (acked, delegated, dismissed, \\Answered)? a claim
   already there? Both end the attempt, except a foreign claim older than the lease.
2. `UID STORE u (UNCHANGEDSINCE m) +FLAGS ($HeardClaimed $HeardBy_<me>)`. Lost if the
   tagged reply has `[MODIFIED]` or no untagged FETCH for u came with it (a store on a
   message the session does not know, or one that changed nothing); a MODIFIED caused by
   anything else (a phone setting \\Seen) is retried. Without CONDSTORE: the same STORE
   without the condition.
3. `UID FETCH u (FLAGS)`: proceed only if `$HeardBy_<me>` is the only token. With several,
   every instance but the lowest id removes its token at once and loses; the lowest
   reads again until it is alone. A lowest that waits in vain (a contender died between
   its STORE and its removal, or one proceeded) removes its own token and starts over
   after a random pause. Nobody removes a token after proceeding. This step alone makes
   two senders impossible as long as each message's flags change atomically; CONDSTORE
   only makes contention rare.
5. Takeover: a foreign claim unchanged for a whole lease, as watched by this instance
   (heard.domain.shared.Lease), is taken over only if the Sent folder holds no reply
   naming the message (`sent_has_header()`), and only if it carries no `$HeardSending`:
   a claimer that died after setting it may have handed the reply to SMTP, and no
   protocol can know; that is Unsure, for the user to settle (clear_claim()).
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import logging
import random
import re
import time
import uuid
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from heard.domain.shared import (
    CLAIMED,
    KEYWORDS,
    SENDING,
    Done,
    InstanceId,
    Lease,
    Mark,
    SharedState,
    done,
    has,
    instance_id,
    lowest,
    owner_keyword,
    owners,
    shared_state,
)
from heard.mail.compose import HEARD_DELEGATES_HEADER
from heard.mail.imap import Connection, ImapError, Problem
from heard.mail.parse import HEARD_ACK_HEADER

log = logging.getLogger(__name__)

HEARD_FOLDER = "Heard"
REQUEST_HEADER = "X-Heard-Request"
SETTINGS_HEADER = "X-Heard-Settings"
SETTINGS_ENTRY = "/private/vendor/heard/settings"
# How long the lowest contender waits for the others to take their tokens back.
CONTENTION_WAIT = 1.0
MAX_ROUNDS = 8

__all__ = [
    "HEARD_FOLDER",
    "MODE_TEXT",
    "AlreadyDone",
    "Capabilities",
    "ClaimResult",
    "Claimed",
    "Contended",
    "FlagChange",
    "FlagsDelta",
    "Gone",
    "IdleNews",
    "IdleTracker",
    "LostTo",
    "Mode",
    "NotShared",
    "Request",
    "SettingsWrite",
    "SharedSettings",
    "Taken",
    "Unsure",
    "claim",
    "clear_claim",
    "describe_modes",
    "detect",
    "enable_qresync",
    "flags_since",
    "holding",
    "mark",
    "mark_sending",
    "queue_request",
    "read_settings",
    "release",
    "sent_has_header",
    "take_requests",
    "write_settings",
]


# -- capabilities -------------------------------------------------------------------------

class Mode(StrEnum):
    FULL = "full"                        # keywords + CONDSTORE
    NO_CONDSTORE = "no-condstore"        # keywords, claims without the condition
    DESIGNATED = "designated-only"       # no keywords: one instance sends
    LOCAL = "local-only"                 # no write access: nothing is shared


MODE_TEXT = {
    Mode.FULL: (
        "Heard devices on this account coordinate through the mail server: a message is"
        " claimed before anyone replies, so a client gets one acknowledgement whichever"
        " device sends it, and every device shows the same count."),
    Mode.NO_CONDSTORE: (
        "The mail server keeps Heard's marks on messages but cannot make conditional"
        " changes (no CONDSTORE). Devices still claim each message before replying and"
        " check each claim by reading it back; when two act at once it takes a moment"
        " longer. Catching up after being offline reads every message's flags."),
    Mode.DESIGNATED: (
        "The mail server does not keep custom marks on messages (no IMAP keywords), so"
        " it cannot settle which device replies: only the designated device sends"
        " acknowledgements. One-click acknowledgements from other devices are passed to"
        " it through the 'Heard' folder and go out when it next syncs."),
    Mode.LOCAL: (
        "Heard cannot change this mailbox (the server gives read-only access), so"
        " nothing is shared with other devices: counts and acknowledgements are this"
        " device's own. Run Heard on one device only for this account, or two clients"
        " may get two acknowledgements."),
}


@dataclass(frozen=True)
class Capabilities:
    folder: str
    writable: bool                  # SELECT did not answer [READ-ONLY]
    keywords: bool                  # PERMANENTFLAGS has \\* (or already every Heard keyword)
    condstore: bool
    qresync: bool
    metadata: bool
    uidplus: bool
    rights: str | None = None       # MYRIGHTS, when the server has ACL

    @property
    def mode(self) -> Mode:
        if not self.writable:
            return Mode.LOCAL
        if not self.keywords:
            return Mode.DESIGNATED
        if not self.condstore:
            return Mode.NO_CONDSTORE
        return Mode.FULL

    def describe(self) -> str:
        """The mode in plain words, with what the server lacks (for doctor and settings)."""
        missing = [name for name, ok in (("keywords", self.keywords),
                                          ("CONDSTORE", self.condstore),
                                          ("QRESYNC", self.qresync),
                                          ("METADATA", self.metadata)) if not ok]
        where = "IMAP METADATA" if self.metadata else f"a message in the '{HEARD_FOLDER}' folder"
        text = f"{self.mode.value}: {MODE_TEXT[self.mode]}"
        if self.writable:
            text += f" Shared settings are kept in {where}."
        if missing and self.writable:
            text += f" ({self.folder}: the server lacks {', '.join(missing)}.)"
        return text


_qresync: weakref.WeakKeyDictionary[Connection, bool] = weakref.WeakKeyDictionary()


def enable_qresync(conn: Connection) -> bool:
    """Turn QRESYNC on for this connection where the server has it (once; best right after
    connecting). With it, SELECT reports what changed while away, and flag changes seen in
    IDLE carry their UID. Returns whether it is on."""
    if conn in _qresync:
        return _qresync[conn]
    enabled = False
    if "QRESYNC" in conn.capabilities:
        client = _client(conn)
        if client._imap.state == "SELECTED":   # ENABLE is valid before a SELECT only
            _leave(conn, "")
        with conn._guard():
            typ, _data = client._raw_command(b"ENABLE", [b"QRESYNC"], uid=False)
            answer = _pop(conn, "ENABLED")
        enabled = typ == "OK" and any(b"QRESYNC" in _bytes(item).upper() for item in answer)
    _qresync[conn] = enabled
    return enabled


def detect(conn: Connection, folder: str = "INBOX", instance: str | None = None
           ) -> Capabilities:
    """What the server lets Heard share on `folder`. Opens it read-write (as SELECT; no
    message changes), asks MYRIGHTS where the server has ACL, and leaves it again."""
    caps = conn.capabilities
    selected = _select(conn, folder)
    try:
        rights = None
        if "ACL" in caps:
            rights = _myrights(conn, folder)
    finally:
        _leave(conn, folder)
    perm = selected.permanentflags or ()
    needed = [*KEYWORDS, *( [owner_keyword(instance)] if instance else [])]
    keywords = (not selected.readonly and
                ("\\*" in perm or all(has(perm, keyword) for keyword in needed)))
    if rights is not None and "w" not in rights:
        keywords = False
    return Capabilities(
        folder=folder, writable=not selected.readonly, keywords=keywords,
        condstore=bool({"CONDSTORE", "QRESYNC"} & caps) and selected.highestmodseq is not None,
        qresync="QRESYNC" in caps,
        metadata=bool({"METADATA", "METADATA-SERVER"} & caps),
        uidplus="UIDPLUS" in caps, rights=rights)


def _myrights(conn: Connection, folder: str) -> str | None:
    client = _client(conn)
    with conn._guard():
        typ, _data = client._raw_command(b"MYRIGHTS", [client._normalise_folder(folder)],
                                         uid=False)
        answer = _pop(conn, "MYRIGHTS")
    if typ != "OK" or not answer:
        return None
    words = _bytes(answer[-1]).split()
    return words[-1].decode(errors="replace") if words else None


# -- claims -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Claimed:
    """This instance alone holds the message: it may send (after mark_sending())."""
    uid: int
    rounds: int = 1
    contended: bool = False        # another instance raced for it
    resumed: bool = False          # the claim was already ours (from before a restart)
    took_over: tuple[InstanceId, ...] = ()   # stale claims this one replaced


@dataclass(frozen=True)
class LostTo:
    """Another instance holds the message (or won the race for it)."""
    owner: InstanceId
    since: datetime | None = None  # since when this instance has watched that claim


@dataclass(frozen=True)
class AlreadyDone:
    kind: Done


@dataclass(frozen=True)
class Unsure:
    """A claimer died after it may have handed its reply to SMTP, and Sent has no copy:
    maybe the client got it, maybe not. The user decides (clear_claim() to send again,
    mark() when it did go out)."""
    owner: InstanceId | None
    reason: str


@dataclass(frozen=True)
class Gone:
    """The message is no longer in the folder."""
    uid: int


@dataclass(frozen=True)
class Contended:
    """No instance won within the rounds allowed; nothing was sent. Try again later."""
    rounds: int


@dataclass(frozen=True)
class NotShared:
    """The server cannot hold claims (no keywords, or no write access): fall back to the
    mode's rule (designated-only: queue_request(); local-only: act alone)."""
    mode: Mode
    reason: str


ClaimResult = Claimed | LostTo | AlreadyDone | Unsure | Gone | Contended | NotShared


def claim(conn: Connection, folder: str, uid: int, instance: str,
          sent_has_header: Callable[[], bool], lease: Lease, now: Callable[[], datetime],
          *, caps: Capabilities | None = None, contention_wait: float = CONTENTION_WAIT,
          max_rounds: int = MAX_ROUNDS, rng: random.Random | None = None,
          pause: Callable[[float], None] = time.sleep) -> ClaimResult:
    """Claim message `uid` in `folder` for `instance` before sending to its sender.

    `sent_has_header()` says whether Sent holds a reply naming this message (see
    sent_has_header() below; it may use `conn`: the folder is opened again after it).
    `lease` remembers the foreign claims this instance has watched, `now` is the clock.
    `caps` (from detect()) saves a round trip per claim; `pause` and `rng` are for tests.
    """
    me = instance_id(instance)
    if caps is None:
        caps = detect(conn, folder, me)
    if not caps.writable or not caps.keywords:
        return NotShared(caps.mode, MODE_TEXT[caps.mode])
    random_ = rng or random.Random()
    with _opened(conn, folder) as held:
        run = _ClaimRun(conn, folder, uid, me, caps.condstore, sent_has_header, lease, now,
                        contention_wait, random_, pause, held)
        return run.go(max_rounds)


@dataclass
class _ClaimRun:
    conn: Connection
    folder: str
    uid: int
    me: InstanceId
    condstore: bool
    sent_has_header: Callable[[], bool]
    lease: Lease
    now: Callable[[], datetime]
    contention_wait: float
    rng: random.Random
    pause: Callable[[float], None]
    held: bool = False
    contended: bool = False
    took_over: list[InstanceId] = field(default_factory=list)

    @property
    def token(self) -> str:
        return owner_keyword(self.me)

    def go(self, max_rounds: int) -> ClaimResult:
        for round_ in range(1, max_rounds + 1):
            read = _read_flags(self.conn, self.uid, modseq=self.condstore)
            if read is None and self.held and round_ == 1:
                _noop(self.conn)                # a folder kept open may not know it yet
                read = _read_flags(self.conn, self.uid, modseq=self.condstore)
            if read is None:
                self.lease.forget(self.folder, self.uid)
                return Gone(self.uid)
            flags, modseq = read
            kind = done(flags)
            if kind is not None:
                self.lease.forget(self.folder, self.uid)
                return AlreadyDone(kind)
            claimers = owners(flags)
            foreign = claimers - {self.me}
            sending = has(flags, SENDING)
            if sending or foreign:
                watched = self.lease.watch(self.folder, self.uid, claimers, sending, self.now())
                stale = self.now() - watched >= self.lease.duration
                if foreign and not stale and self.me not in claimers:
                    return LostTo(lowest(foreign), watched)
                if sending:
                    # Someone (or this instance, before a crash) went on to SMTP.
                    if foreign and not stale:
                        return LostTo(lowest(foreign), watched)
                    return self._settle_sending(claimers)
                if self.me in claimers:       # left over from an interrupted attempt of ours
                    outcome = self._resolve(round_)
                    if outcome is not None:
                        return outcome
                    continue
                # A stale claim, no reply in Sent: take it over.
                if self._sent():
                    return AlreadyDone(Done.SENT)
                if self._remove(foreign, modseq):
                    self.took_over.extend(sorted(foreign))
                    self.lease.forget(self.folder, self.uid)
                continue
            if claimers == {self.me}:
                return Claimed(self.uid, round_, resumed=True)
            # Unclaimed: step 2.
            if not self._store_claim(modseq):
                continue                        # lost the CAS (or spurious): read again
            outcome = self._resolve(round_)
            if outcome is not None:
                return outcome
        return Contended(max_rounds)

    def _sent(self) -> bool:
        try:
            return self.sent_has_header()
        finally:
            _select(self.conn, self.folder)    # the check may have opened Sent

    def _settle_sending(self, claimers: frozenset[InstanceId]) -> ClaimResult:
        if self._sent():
            self.lease.forget(self.folder, self.uid)
            return AlreadyDone(Done.SENT)
        owner = lowest(claimers) if claimers else None
        who = "this device" if owner == self.me else (f"'{owner}'" if owner else "a device")
        return Unsure(owner, (
            f"{who} started sending a reply to this message and stopped answering; the"
            " Sent folder has no copy, so the reply may or may not have reached the"
            " client"))

    def _store_claim(self, modseq: int | None) -> bool:
        reply = _store(self.conn, self.uid, b"+FLAGS", (CLAIMED, self.token),
                       modseq if self.condstore else None)
        if not self.condstore:
            return True
        return not reply.modified and reply.flags is not None and has(reply.flags, self.token)

    def _resolve(self, round_: int) -> ClaimResult | None:
        """Step 3: read back; None means "start the next round"."""
        deadline = time.monotonic() + self.contention_wait
        wait = 0.002
        while True:
            read = _read_flags(self.conn, self.uid, modseq=False)
            if read is None:
                return Gone(self.uid)
            flags, _ = read
            claimers = owners(flags)
            if self.me not in claimers:
                return None                     # our token was taken away: read again
            kind = done(flags)
            if kind is not None:
                self._drop_own()
                return AlreadyDone(kind)
            if has(flags, SENDING):             # someone proceeded; we have not
                self._drop_own()
                return None
            if claimers == {self.me}:
                self.lease.forget(self.folder, self.uid)
                return Claimed(self.uid, round_, self.contended, took_over=tuple(self.took_over))
            self.contended = True
            first = lowest(claimers)
            if first != self.me:
                self._drop_own()
                return LostTo(first, None)
            if time.monotonic() >= deadline:
                # The others did not step back: dead, slow, or one proceeded. Step back
                # too and try again a little later (they may be gone by then).
                self._drop_own()
                self.pause(self.rng.uniform(0.02, 0.1) * round_)
                return None
            self.pause(wait)
            wait = min(wait * 2, 0.05)

    def _drop_own(self) -> None:
        _store(self.conn, self.uid, b"-FLAGS", (self.token,), None)

    def _remove(self, foreign: frozenset[InstanceId], modseq: int | None) -> bool:
        tokens = tuple(owner_keyword(name) for name in sorted(foreign))
        reply = _store(self.conn, self.uid, b"-FLAGS", tokens,
                       modseq if self.condstore else None)
        return not reply.modified


def mark_sending(conn: Connection, folder: str, uid: int, instance: str,
                 *, caps: Capabilities | None = None) -> bool:
    """Call right before handing a claimed reply to SMTP; send only if it returns True.

    Sets `$HeardSending`, conditionally where the server can, and reads it back: True
    when this instance's token is still there (a takeover after a long stall removes it,
    and then this instance must not send). Idempotent."""
    me = instance_id(instance)
    token = owner_keyword(me)
    condstore = (caps.condstore if caps is not None
                 else bool({"CONDSTORE", "QRESYNC"} & conn.capabilities))
    with _opened(conn, folder):
        for _ in range(MAX_ROUNDS):
            read = _read_flags(conn, uid, modseq=condstore)
            if read is None:
                return False
            flags, modseq = read
            if not has(flags, token) or done(flags) is not None:
                return False
            if has(flags, SENDING):
                return True
            if owners(flags) != {me}:
                return False                    # still contended: not ours to send
            reply = _store(conn, uid, b"+FLAGS", (SENDING,), modseq if condstore else None)
            if reply.modified:
                continue                        # changed meanwhile (\\Seen?): look again
            read = _read_flags(conn, uid, modseq=False)
            return read is not None and has(read[0], token) and has(read[0], SENDING)
        return False


def release(conn: Connection, folder: str, uid: int, instance: str) -> bool:
    """Give a claim back before anything was sent (the user took the reply back).
    Refused (False) once `$HeardSending` is set: a token is never removed after
    proceeding."""
    me = instance_id(instance)
    with _opened(conn, folder):
        read = _read_flags(conn, uid, modseq=False)
        if read is None:
            return True
        flags, _ = read
        if has(flags, SENDING) and has(flags, owner_keyword(me)):
            return False
        _store(conn, uid, b"-FLAGS", (owner_keyword(me),), None)
        after = _read_flags(conn, uid, modseq=False)
        if after is not None and not owners(after[0]) and not has(after[0], SENDING):
            _store(conn, uid, b"-FLAGS", (CLAIMED,), None)
        return True


def mark(conn: Connection, folder: str, uid: int, kind: Mark | str) -> None:
    """Record what was done (after the reply is accepted and filed, or on dismissing).
    Tokens stay: they say who did it."""
    keyword = Mark(kind).keyword
    with _opened(conn, folder):
        _store(conn, uid, b"+FLAGS", (keyword,), None)


def clear_claim(conn: Connection, folder: str, uid: int) -> None:
    """On the user's word only (an Unsure they chose to send again): remove every claim
    token and the sending mark, so the message is waiting and can be claimed anew."""
    with _opened(conn, folder):
        read = _read_flags(conn, uid, modseq=False)
        if read is None:
            return
        tokens = tuple(owner_keyword(name) for name in sorted(owners(read[0])))
        _store(conn, uid, b"-FLAGS", (*tokens, SENDING, CLAIMED), None)


_held: weakref.WeakKeyDictionary[Connection, str] = weakref.WeakKeyDictionary()


@contextlib.contextmanager
def holding(conn: Connection, folder: str) -> Iterator[None]:
    """Keep `folder` open (read-write) across several calls: claim(), mark_sending() and
    mark() on one message then cost 9 round trips instead of 13. Nothing else may use
    `conn` inside (imap.py's methods open folders of their own)."""
    if _held.get(conn) == folder:
        yield
        return
    _select(conn, folder)
    _held[conn] = folder
    try:
        yield
    finally:
        _held.pop(conn, None)
        _leave(conn, folder)


@contextlib.contextmanager
def _opened(conn: Connection, folder: str) -> Iterator[bool]:
    """The folder open read-write for one call; True when holding() keeps it open."""
    if _held.get(conn) == folder and _client(conn)._imap.state == "SELECTED":
        yield True
        return
    _held.pop(conn, None)
    _select(conn, folder)
    try:
        yield False
    finally:
        _leave(conn, folder)


def _noop(conn: Connection) -> None:
    with conn._guard():
        _client(conn)._raw_command(b"NOOP", [], uid=False)
        _client(conn)._imap.untagged_responses = {}


def sent_has_header(conn: Connection, sent_folder: str, message_id: str) -> bool:
    """Whether `sent_folder` holds a reply of Heard's naming `message_id` (an
    acknowledgement or a delegation: X-Heard-Acknowledges / X-Heard-Delegates)."""
    client = _client(conn)
    with conn._guard():
        client.select_folder(sent_folder, readonly=True)
        try:
            found = client.search(["OR", "HEADER", HEARD_ACK_HEADER, message_id,
                                   "HEADER", HEARD_DELEGATES_HEADER, message_id])
        finally:
            _leave(conn, sent_folder)
    return bool(found)


# -- catching up --------------------------------------------------------------------------

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
    if cached and use_qresync and enable_qresync(conn):
        assert uidvalidity is not None and modseq is not None
        selected = _select(conn, folder, readonly=True, qresync=(uidvalidity, modseq))
        try:
            if selected.uidvalidity == uidvalidity and selected.highestmodseq is not None:
                return FlagsDelta(folder, selected.uidvalidity, selected.highestmodseq,
                                  selected.fetched, selected.vanished, method="qresync")
            return _full(conn, folder, selected)
        finally:
            _leave(conn, folder)
    selected = _select(conn, folder, readonly=True)
    try:
        if (not cached or selected.uidvalidity != uidvalidity
                or selected.highestmodseq is None):
            return _full(conn, folder, selected)
        assert modseq is not None
        changed = _fetch_all(conn, selected, changedsince=modseq)
        present = _all_uids(conn, selected)
        return FlagsDelta(folder, selected.uidvalidity, selected.highestmodseq, changed,
                          present=frozenset(present), method="changedsince")
    finally:
        _leave(conn, folder)


def _full(conn: Connection, folder: str, selected: _Selected) -> FlagsDelta:
    changed = _fetch_all(conn, selected, changedsince=None)
    return FlagsDelta(folder, selected.uidvalidity, selected.highestmodseq, changed,
                      present=frozenset(changed), full=True, method="full")


def _fetch_all(conn: Connection, selected: _Selected, changedsince: int | None
               ) -> dict[int, frozenset[str]]:
    if selected.exists == 0:
        return {}
    args = [b"1:*", b"(FLAGS)"]
    if changedsince is not None:
        args.append(b"(CHANGEDSINCE %d)" % changedsince)
    client = _client(conn)
    with conn._guard():
        _pop(conn, "FETCH")
        typ, data = client._raw_command(b"FETCH", args)
        fetched = _parse_fetches(_pop(conn, "FETCH"))
    _check(conn, typ, data, "read the flags")
    return {uid: flags for uid, (flags, _m) in fetched.items()}


def _all_uids(conn: Connection, selected: _Selected) -> list[int]:
    if selected.exists == 0:
        return []
    client = _client(conn)
    with conn._guard():
        if "ESEARCH" in conn.capabilities:
            typ, data = client._raw_command(b"SEARCH", [b"RETURN", b"(ALL)", b"ALL"])
            answer = _pop(conn, "ESEARCH")
            _check(conn, typ, data, "list the messages")
            for item in answer:
                match = re.search(rb"\bALL ([0-9:,]+)", _bytes(item))
                if match:
                    return sorted(_uid_set(match.group(1)))
            return []
        found = client.search(["ALL"])
    return sorted(int(u) for u in found)


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
    "message u has these flags now". With QRESYNC every FETCH carries its UID and
    expunges come as VANISHED; without it FETCH and EXPUNGE give sequence numbers only,
    so the tracker keeps the sequence -> UID map (load() it after selecting)."""

    def __init__(self, uids: Iterable[int] = ()) -> None:
        self._uids: list[int | None] = list(sorted(uids))

    @classmethod
    def load(cls, conn: Connection) -> IdleTracker:
        """The map of the folder now selected on `conn` (between SELECT and IDLE)."""
        client = _client(conn)
        exists = 1 if client._imap.state == "SELECTED" else 0
        return cls(_all_uids(conn, _Selected("", 0, 0, exists, None, None, False)))

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
                    gone |= _uid_set(_bytes(item))
                vanished.extend(sorted(gone))
                self._uids = [u for u in self._uids if u not in gone]
            elif not isinstance(head, int):
                continue
            elif kind == b"EXISTS":
                if head > len(self._uids):
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
                    stale = True
                flags = items.get(b"FLAGS")
                if flags is None:
                    continue
                modseq = items.get(b"MODSEQ")
                changes.append(FlagChange(
                    uid if isinstance(uid, int) else None, head, _flagset(flags),
                    int(modseq[0]) if isinstance(modseq, tuple) and modseq else None))
        stale = stale or any(u is None for u in self._uids)
        return IdleNews(changes, vanished, new, stale)


def _pairs(items: Sequence[object]) -> dict[bytes, Any]:
    out: dict[bytes, Any] = {}
    for i in range(0, len(items) - 1, 2):
        key = items[i]
        if isinstance(key, bytes):
            out[key.upper()] = items[i + 1]
    return out


# -- designated-only: requests through the Heard folder -----------------------------------

@dataclass(frozen=True)
class Request:
    """A one-click action asked of the designated instance."""
    kind: str                          # "ack", "delegate", "dismiss"
    message_id: str                    # the client's Message-ID
    requested_by: InstanceId
    at: datetime
    options: Mapping[str, Any] = field(default_factory=dict)   # template, reply_by, note ...
    id: str = ""                       # the request's own Message-ID: the idempotency key
    uid: int = 0                       # where take_requests() found it

    def to_json(self) -> dict[str, Any]:
        return {"version": 1, "kind": self.kind, "message_id": self.message_id,
                "requested_by": self.requested_by, "at": self.at.isoformat(),
                "options": dict(self.options)}


@dataclass(frozen=True)
class Taken:
    handled: list[Request]
    rejected: list[str]                # unreadable requests, removed (one line each why)


_KIND = re.compile(r"[a-z][a-z-]{0,30}")


def queue_request(conn: Connection, request: Request, folder: str = HEARD_FOLDER) -> Request:
    """APPEND the request to `folder` (created when missing) for the designated instance.
    Returns it with its id (its own Message-ID)."""
    if not _KIND.fullmatch(request.kind):
        raise ValueError(f"request kind {request.kind!r} must be a short lower-case word")
    instance_id(request.requested_by)
    if request.at.tzinfo is None:
        raise ValueError("the request time must carry its time zone")
    request_id = request.id or f"<{uuid.uuid4().hex}.{request.requested_by}@heard.invalid>"
    body = json.dumps(request.to_json(), ensure_ascii=True, sort_keys=True)
    raw = _small_message(request_id, f"Heard request: {request.kind}",
                         {REQUEST_HEADER: request.kind}, body, request.at)
    _ensure_folder(conn, folder)
    _append(conn, folder, raw, request.at)
    return replace(request, id=request_id)


def take_requests(conn: Connection, handle: Callable[[Request], None],
                  folder: str = HEARD_FOLDER) -> Taken:
    """For the designated instance: every waiting request, oldest first, handed to
    `handle`, then deleted. At least once: a crash after `handle` and before the delete
    hands it over again, so `handle` must be idempotent by `request.id` (record it in the
    crash-safe outbox, keyed by it; the at-most-once ack per inquiry is the outbox's and
    the store's rule). Flagging \\Deleted first would make it at most once, and a crash
    would then lose a user's click silently: worse than a duplicate that `handle` drops.
    An exception from `handle` stops the run; that request stays for next time."""
    if not _folder_exists(conn, folder):
        return Taken([], [])
    handled: list[Request] = []
    rejected: list[str] = []
    finished: list[int] = []
    _select(conn, folder)
    try:
        uids = sorted(int(u) for u in _search(conn, ["UNDELETED", "HEADER", REQUEST_HEADER, ""]))
        bodies = _fetch_bodies(conn, uids)
        try:
            for uid in uids:
                raw = bodies.get(uid)
                if raw is None:
                    continue
                try:
                    request = _parse_request(raw, uid)
                except ValueError as exc:
                    log.warning("%s: request %d in %s is unreadable (%s); removed",
                                conn.server.host, uid, folder, exc)
                    rejected.append(f"request {uid}: {exc}")
                    finished.append(uid)
                    continue
                handle(request)
                handled.append(request)
                finished.append(uid)
        finally:
            _delete(conn, finished)
    finally:
        _leave(conn, folder)
    return Taken(handled, rejected)


def _parse_request(raw: bytes, uid: int) -> Request:
    header, _, body = raw.partition(b"\r\n\r\n")
    if not body:
        header, _, body = raw.partition(b"\n\n")
    ids = re.search(rb"(?im)^Message-ID:\s*(<[^>\r\n]{1,250}>)", header)
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    try:
        at = datetime.fromisoformat(str(data["at"]))
        request = Request(kind=str(data["kind"]), message_id=str(data["message_id"]),
                          requested_by=instance_id(str(data["requested_by"])),
                          at=at if at.tzinfo else at.replace(tzinfo=UTC),
                          options=dict(data.get("options") or {}),
                          id=ids.group(1).decode() if ids else "", uid=uid)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"missing or bad field ({exc})") from exc
    if not _KIND.fullmatch(request.kind):
        raise ValueError(f"bad kind {request.kind!r}")
    return request


# -- shared settings ----------------------------------------------------------------------

@dataclass(frozen=True)
class SharedSettings:
    values: Mapping[str, Any]
    version: int = 0                   # 0: never written
    written_by: str = ""
    written_at: datetime | None = None
    where: str = ""                    # "metadata" | "message" | "" (nothing yet)


@dataclass(frozen=True)
class SettingsWrite:
    version: int
    where: str
    conflict: str | None = None        # plain words when the version moved under the writer
    replaced: SharedSettings | None = None   # what this write replaced, or what replaced it


def read_settings(conn: Connection, folder: str = HEARD_FOLDER) -> SharedSettings:
    """The shared settings: METADATA where the server has it, else the newest settings
    message in `folder`; an empty version 0 when none were written."""
    return _read_settings(conn, folder)[0]


def write_settings(conn: Connection, values: Mapping[str, Any], based_on: int,
                   instance: str, now: datetime, folder: str = HEARD_FOLDER
                   ) -> SettingsWrite:
    """Write `values` as the next version. Last writer wins; `based_on` is the version
    the user edited: if the stored one is newer, this write still wins but says whose
    change it replaced; if another instance wrote at the same moment and won, it says so
    (the write is read back: neither METADATA nor APPEND can be conditional)."""
    me = instance_id(instance)
    if now.tzinfo is None:
        raise ValueError("the time must carry its time zone")
    current, _ = _read_settings(conn, folder)
    version = max(current.version, based_on) + 1
    nonce = uuid.uuid4().hex
    text = json.dumps({"version": version, "written_by": me, "written_at": now.isoformat(),
                       "nonce": nonce, "settings": dict(values)},
                      ensure_ascii=True, sort_keys=True)
    if _has_metadata(conn):
        where = "metadata"
        _write_metadata(conn, text)
    else:
        where = "message"
        _write_settings_message(conn, folder, text, version, now)
    conflict = None
    replaced = None
    if current.version > based_on:
        conflict = (f"the shared settings were changed by '{current.written_by or '?'}'"
                    f" (version {current.version}) after you opened version {based_on};"
                    " your change replaced theirs")
        replaced = current
    after, after_nonce = _read_settings(conn, folder)
    if after_nonce != nonce:
        conflict = (f"'{after.written_by or '?'}' wrote the shared settings at the same"
                    f" time (version {after.version}); theirs replaced yours")
        replaced = after
    return SettingsWrite(after.version, where, conflict, replaced)


def _has_metadata(conn: Connection) -> bool:
    return bool({"METADATA", "METADATA-SERVER"} & conn.capabilities)


def _read_settings(conn: Connection, folder: str) -> tuple[SharedSettings, str]:
    if _has_metadata(conn):
        return _read_metadata(conn)
    return _read_settings_message(conn, folder)


def _settings_from(text: bytes, where: str) -> tuple[SharedSettings, str]:
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or not isinstance(data.get("settings"), dict):
            raise ValueError("no settings object")
        at = data.get("written_at")
        return (SharedSettings(dict(data["settings"]), int(data.get("version", 0)),
                               str(data.get("written_by", "")),
                               datetime.fromisoformat(at) if isinstance(at, str) else None,
                               where), str(data.get("nonce", "")))
    except (ValueError, TypeError) as exc:
        log.warning("the shared settings (%s) are unreadable: %s", where, exc)
        return SharedSettings({}, 0, "", None, where), ""


def _read_metadata(conn: Connection) -> tuple[SharedSettings, str]:
    client = _client(conn)
    with conn._guard():
        _pop(conn, "METADATA")
        typ, data = client._raw_command(b"GETMETADATA", [b'""', SETTINGS_ENTRY.encode()],
                                        uid=False)
        answer = _pop(conn, "METADATA")
    _check(conn, typ, data, "read the shared settings (METADATA)")
    value: bytes | None = None
    for item in answer:
        if isinstance(item, tuple) and len(item) == 2:
            value = bytes(item[1])
        else:
            match = re.search(rb'\s"((?:[^"\\]|\\.)*)"\)\s*$', _bytes(item))
            if match:
                value = re.sub(rb"\\(.)", rb"\1", match.group(1))
    if value is None:
        return SharedSettings({}), ""
    return _settings_from(value, "metadata")


def _write_metadata(conn: Connection, text: str) -> None:
    if len(text) > 60_000:
        raise ImapError(Problem.PROTOCOL, "the shared settings are too large to store")
    quoted = b'"' + text.encode().replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'
    client = _client(conn)
    with conn._guard():
        typ, data = client._raw_command(
            b"SETMETADATA", [b'""', b"(" + SETTINGS_ENTRY.encode(), quoted + b")"], uid=False)
    _check(conn, typ, data, "store the shared settings (METADATA)")


def _read_settings_message(conn: Connection, folder: str) -> tuple[SharedSettings, str]:
    if not _folder_exists(conn, folder):
        return SharedSettings({}), ""
    _select(conn, folder, readonly=True)
    try:
        uids = _search(conn, ["UNDELETED", "HEADER", SETTINGS_HEADER, ""])
        if not uids:
            return SharedSettings({}), ""
        bodies = _fetch_bodies(conn, [max(int(u) for u in uids)])
    finally:
        _leave(conn, folder)
    raw = next(iter(bodies.values()), b"")
    _h, _, body = raw.partition(b"\r\n\r\n")
    return _settings_from(body, "message")


def _write_settings_message(conn: Connection, folder: str, text: str, version: int,
                            now: datetime) -> None:
    raw = _small_message(f"<{uuid.uuid4().hex}@heard.invalid>", "Heard settings",
                         {SETTINGS_HEADER: str(version)}, text, now)
    _ensure_folder(conn, folder)
    new_uid = _append(conn, folder, raw, now)
    # The newest message (the highest UID) is the settings; older ones go.
    _select(conn, folder)
    try:
        uids = [int(u) for u in _search(conn, ["UNDELETED", "HEADER", SETTINGS_HEADER, ""])]
        newest = max(uids) if uids else new_uid
        _delete(conn, [u for u in uids if u < (new_uid or newest)])
    finally:
        _leave(conn, folder)


# -- IMAP plumbing ------------------------------------------------------------------------

@dataclass(frozen=True)
class _Selected:
    folder: str
    uidvalidity: int
    uidnext: int
    exists: int
    highestmodseq: int | None
    permanentflags: tuple[str, ...] | None
    readonly: bool
    vanished: frozenset[int] = frozenset()
    fetched: Mapping[int, frozenset[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class _StoreReply:
    modified: bool
    flags: frozenset[str] | None      # from the untagged FETCH for the UID, if one came


def _client(conn: Connection) -> Any:
    return conn.client


def _bytes(item: object) -> bytes:
    if isinstance(item, bytes):
        return item
    if isinstance(item, tuple):
        return b" ".join(_bytes(part) for part in item)
    return str(item).encode()


def _pop(conn: Connection, name: str) -> list[Any]:
    return list(_client(conn)._imap.untagged_responses.pop(name, []))


def _text(data: object) -> str:
    if isinstance(data, list) and data:
        return _bytes(data[0]).decode(errors="replace")
    return ""


def _check(conn: Connection, typ: str, data: object, what: str) -> None:
    if typ != "OK":
        raise ImapError(Problem.PROTOCOL,
                        f"{conn.server.host} refused to {what}: {_text(data) or typ}")


def _select(conn: Connection, folder: str, readonly: bool = False,
            qresync: tuple[int, int] | None = None) -> _Selected:
    client = _client(conn)
    imap = client._imap
    args = [client._normalise_folder(folder)]
    if qresync is not None:
        args.append(b"(QRESYNC (%d %d))" % qresync)
    elif {"CONDSTORE", "QRESYNC"} & conn.capabilities and not _qresync.get(conn):
        args.append(b"(CONDSTORE)")
    with conn._guard():
        imap.untagged_responses = {}
        imap.is_readonly = readonly
        typ, data = client._raw_command(b"EXAMINE" if readonly else b"SELECT", args,
                                        uid=False)
        untagged = imap.untagged_responses
        imap.untagged_responses = {}
    if typ != "OK":
        imap.state = "AUTH"
        raise ImapError(Problem.FOLDER,
                        f"{conn.server.host} cannot open the folder {folder!r}: {_text(data)}")
    imap.state = "SELECTED"
    tagged = _text(data).upper()
    readonly_now = readonly or "READ-ONLY" in untagged or "[READ-ONLY]" in tagged
    imap.is_readonly = readonly_now
    perm = None
    if "PERMANENTFLAGS" in untagged:
        perm = tuple(_bytes(untagged["PERMANENTFLAGS"][-1]).decode(errors="replace")
                     .strip("()").split())

    def number(name: str) -> int | None:
        values = untagged.get(name)
        if not values:
            return None
        match = re.match(rb"\s*(\d+)", _bytes(values[-1]))
        return int(match.group(1)) if match else None

    vanished: set[int] = set()
    for item in untagged.get("VANISHED", []):
        vanished |= _uid_set(_bytes(item).replace(b"(EARLIER)", b"").strip())
    fetched = {uid: flags for uid, (flags, _m) in
               _parse_fetches(untagged.get("FETCH", [])).items()}
    return _Selected(folder, number("UIDVALIDITY") or 0, number("UIDNEXT") or 0,
                     number("EXISTS") or 0,
                     None if "NOMODSEQ" in untagged else number("HIGHESTMODSEQ"),
                     perm, readonly_now, frozenset(vanished), fetched)


def _leave(conn: Connection, folder: str) -> None:
    """Back to the authenticated state: a later STATUS is not answered from this view,
    and nothing is expunged (no CLOSE on a folder opened read-write)."""
    client = _client(conn)
    imap = client._imap
    if imap.state != "SELECTED":
        return
    with conn._guard():
        if "UNSELECT" in conn.capabilities:
            client._raw_command(b"UNSELECT", [], uid=False)
        else:
            client._raw_command(b"EXAMINE", [client._normalise_folder(folder or "INBOX")],
                                uid=False)
            client._raw_command(b"CLOSE", [], uid=False)
        imap.untagged_responses = {}
        imap.state = "AUTH"
        imap.is_readonly = False


def _parse_fetches(raw: list[Any]) -> dict[int, tuple[frozenset[str], int | None]]:
    """Untagged FETCH lines that name their UID, by UID (lines without one, from other
    sessions' changes, are left out: their number is a sequence number)."""
    if not raw:
        return {}
    from imapclient.response_parser import parse_fetch_response

    out: dict[int, tuple[frozenset[str], int | None]] = {}
    for item in raw:
        try:
            parsed = parse_fetch_response([item], False, False)
        except Exception:   # imapclient's ProtocolError on a line it cannot read
            log.debug("unreadable FETCH line skipped: %r", item)
            continue
        for data in parsed.values():
            uid = data.get(b"UID")
            if not isinstance(uid, int):
                continue
            flags = data.get(b"FLAGS")
            modseq = data.get(b"MODSEQ")
            previous = out.get(uid)
            out[uid] = (_flagset(flags) if flags is not None else
                        (previous[0] if previous else frozenset()),
                        int(modseq[0]) if isinstance(modseq, tuple) and modseq else
                        (previous[1] if previous else None))
    return out


def _flagset(raw: Iterable[object]) -> frozenset[str]:
    """Flags as text, without \\Recent (it belongs to one session, not to the message)."""
    flags = (f.decode(errors="replace") if isinstance(f, bytes) else str(f) for f in raw)
    return frozenset(f for f in flags if f.casefold() != "\\recent")


def _read_flags(conn: Connection, uid: int, modseq: bool
                ) -> tuple[frozenset[str], int | None] | None:
    client = _client(conn)
    with conn._guard():
        _pop(conn, "FETCH")
        typ, data = client._raw_command(
            b"FETCH", [b"%d" % uid, b"(FLAGS MODSEQ)" if modseq else b"(FLAGS)"])
        fetched = _parse_fetches(_pop(conn, "FETCH"))
        client._imap.untagged_responses = {}   # EXISTS & co. would pile up in a held folder
    _check(conn, typ, data, "read a message's flags")
    return fetched.get(uid)


def _store(conn: Connection, uid: int, op: bytes, keywords: Sequence[str],
           unchangedsince: int | None) -> _StoreReply:
    client = _client(conn)
    args = [b"%d" % uid]
    if unchangedsince is not None:
        args.append(b"(UNCHANGEDSINCE %d)" % unchangedsince)
    args += [op, b"(" + " ".join(keywords).encode() + b")"]
    with conn._guard():
        _pop(conn, "FETCH")
        _pop(conn, "MODIFIED")
        typ, data = client._raw_command(b"STORE", args)
        fetched = _parse_fetches(_pop(conn, "FETCH"))
        client._imap.untagged_responses = {}
    _check(conn, typ, data, "change a message's flags")
    modified = "[MODIFIED" in _text(data).upper()
    found = fetched.get(uid)
    return _StoreReply(modified, found[0] if found else None)


def _uid_set(text: bytes) -> set[int]:
    out: set[int] = set()
    for part in text.replace(b" ", b"").split(b","):
        if not part:
            continue
        first, _, last = part.partition(b":")
        try:
            a = int(first)
            b = int(last) if last and last != b"*" else a
        except ValueError:
            continue
        if b - a > 10_000_000:
            continue                                  # a nonsense range: ignore it
        out.update(range(min(a, b), max(a, b) + 1))
    return out


def _search(conn: Connection, criteria: list[str]) -> list[int]:
    with conn._guard():
        return [int(u) for u in _client(conn).search(criteria)]


def _fetch_bodies(conn: Connection, uids: list[int]) -> dict[int, bytes]:
    if not uids:
        return {}
    with conn._guard():
        data = _client(conn).fetch(uids, ["BODY.PEEK[]"])
    return {int(uid): bytes(item.get(b"BODY[]") or b"") for uid, item in data.items()}


def _delete(conn: Connection, uids: list[int]) -> None:
    if not uids:
        return
    client = _client(conn)
    spec = b",".join(b"%d" % u for u in uids)
    with conn._guard():
        typ, data = client._raw_command(b"STORE", [spec, b"+FLAGS.SILENT", b"(\\Deleted)"])
        _check(conn, typ, data, "delete handled messages")
        if "UIDPLUS" in conn.capabilities:
            typ, data = client._raw_command(b"EXPUNGE", [spec])
        else:   # only Heard deletes in its own folder
            typ, data = client._raw_command(b"EXPUNGE", [], uid=False)
        _pop(conn, "EXPUNGE")
        _pop(conn, "VANISHED")
    _check(conn, typ, data, "remove handled messages")


def _folder_exists(conn: Connection, folder: str) -> bool:
    with conn._guard():
        return bool(_client(conn).folder_exists(folder))


def _ensure_folder(conn: Connection, folder: str) -> None:
    if _folder_exists(conn, folder):
        return
    client = _client(conn)
    with conn._guard():
        typ, data = client._raw_command(b"CREATE", [client._normalise_folder(folder)],
                                        uid=False)
    if typ != "OK" and not _folder_exists(conn, folder):   # another instance made it
        raise ImapError(Problem.FOLDER, (
            f"{conn.server.host} refused to create the folder {folder!r} that Heard uses"
            f" to pass requests between devices: {_text(data)}"))


def _append(conn: Connection, folder: str, raw: bytes, when: datetime) -> int:
    client = _client(conn)
    with conn._guard():
        answer = client.append(folder, raw, flags=(b"\\Seen",), msg_time=when)
    match = re.search(rb"APPENDUID \d+ (\d+)", _bytes(answer or b""))
    return int(match.group(1)) if match else 0


def _small_message(message_id: str, subject: str, headers: Mapping[str, str], body: str,
                   when: datetime) -> bytes:
    lines = [
        "From: Heard <heard@heard.invalid>",
        "To: Heard <heard@heard.invalid>",
        f"Subject: {subject}",
        f"Date: {email.utils.format_datetime(when.astimezone(UTC))}",
        f"Message-ID: {message_id}",
        *(f"{name}: {value}" for name, value in headers.items()),
        "Auto-Submitted: auto-generated",
        "MIME-Version: 1.0",
        "Content-Type: application/json; charset=us-ascii",
        "Content-Transfer-Encoding: 7bit",
    ]
    for line in lines:
        if "\r" in line or "\n" in line:
            raise ValueError("a header of Heard's own message has a line break")
    return ("\r\n".join(lines) + "\r\n\r\n" + body + "\r\n").encode("ascii")


def describe_modes() -> dict[str, str]:
    """Every mode's plain-words description, by name (for settings and docs)."""
    return {mode.value: MODE_TEXT[mode] for mode in Mode}
