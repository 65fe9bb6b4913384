"""State shared by every Heard instance of one mailbox, kept on the IMAP server.

The layer under heard.devices: it knows IMAP and the keywords of heard.domain.shared,
nothing of the engine or the store. Every IMAP failure becomes heard.mail.imap.ImapError.
This module is the one to import; it holds the capabilities and the claim, and re-exports:

- heard.devices.wire.flags: flags_since() (catching up: QRESYNC, else CHANGEDSINCE, else
  every message's flags), IdleTracker (flag changes seen in IDLE, with or without QRESYNC);
- heard.devices.wire.folder: queue_request() (one-click actions passed to the designated
  instance when the server keeps no keywords; it reads and removes them with
  read_requests()/remove_requests()), read_settings()/write_settings() (METADATA, else a
  settings message);
- heard.mail.imap.commands: the raw IMAP commands; holding() keeps a folder open across
  calls.

detect() says what the server allows on a folder and the resulting Mode. Around a send:
claim() before, mark_sending() just before SMTP (send only if it says True), mark() after;
release() when the user takes a claimed reply back before it went out.

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

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from heard.devices.wire.flags import (
    FlagChange,
    FlagsDelta,
    IdleNews,
    IdleTracker,
    flags_since,
)
from heard.devices.wire.folder import (
    HEARD_FOLDER,
    Request,
    SettingsWrite,
    SharedSettings,
    queue_request,
    read_settings,
    write_settings,
)
from heard.domain.shared import (
    CLAIMED,
    KEYWORDS,
    SENDING,
    Done,
    InstanceId,
    Lease,
    Mark,
    done,
    has,
    instance_id,
    lowest,
    owner_keyword,
    owners,
)
from heard.mail.compose import HEARD_DELEGATES_HEADER
from heard.mail.imap import Connection
from heard.mail.imap import commands as wire
from heard.mail.imap.commands import enable_qresync, holding
from heard.mail.parse import HEARD_ACK_HEADER

log = logging.getLogger(__name__)

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
    "not_sent",
    "queue_request",
    "read_settings",
    "release",
    "sent_has_header",
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
        " acknowledgements. One-click acknowledgements and delegations from other devices"
        " are passed to it through the 'Heard' folder and go out when it next syncs;"
        " dismissals and answers noted elsewhere reach it the same way."),
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


def detect(conn: Connection, folder: str = "INBOX", instance: str | None = None
           ) -> Capabilities:
    """What the server lets Heard share on `folder`. Opens it read-write (as SELECT; no
    message changes), asks MYRIGHTS where the server has ACL, and leaves it again."""
    caps = conn.capabilities
    selected = wire.select(conn, folder)
    try:
        rights = None
        if "ACL" in caps:
            rights = wire.myrights(conn, folder)
    finally:
        wire.leave(conn, folder)
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
    # The claim tokens on the message: who took care of it (tokens stay after the mark).
    by: frozenset[InstanceId] = frozenset()


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
    with wire.opened(conn, folder) as held:
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
            read = wire.read_flags(self.conn, self.uid, modseq=self.condstore)
            if read is None and self.held and round_ == 1:
                wire.noop(self.conn)                # a folder kept open may not know it yet
                read = wire.read_flags(self.conn, self.uid, modseq=self.condstore)
            if read is None:
                self.lease.forget(self.folder, self.uid)
                return Gone(self.uid)
            flags, modseq = read
            kind = done(flags)
            if kind is not None:
                self.lease.forget(self.folder, self.uid)
                return AlreadyDone(kind, owners(flags))
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
            wire.select(self.conn, self.folder)    # the check may have opened Sent

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
        reply = wire.store(self.conn, self.uid, b"+FLAGS", (CLAIMED, self.token),
                       modseq if self.condstore else None)
        if not self.condstore:
            return True
        return not reply.modified and reply.flags is not None and has(reply.flags, self.token)

    def _resolve(self, round_: int) -> ClaimResult | None:
        """Step 3: read back; None means "start the next round"."""
        deadline = time.monotonic() + self.contention_wait
        wait = 0.002
        while True:
            read = wire.read_flags(self.conn, self.uid, modseq=False)
            if read is None:
                return Gone(self.uid)
            flags, _ = read
            claimers = owners(flags)
            if self.me not in claimers:
                return None                     # our token was taken away: read again
            kind = done(flags)
            if kind is not None:
                self._drop_own()
                return AlreadyDone(kind, claimers - {self.me})
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
        wire.store(self.conn, self.uid, b"-FLAGS", (self.token,), None)

    def _remove(self, foreign: frozenset[InstanceId], modseq: int | None) -> bool:
        tokens = tuple(owner_keyword(name) for name in sorted(foreign))
        reply = wire.store(self.conn, self.uid, b"-FLAGS", tokens,
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
    with wire.opened(conn, folder):
        for _ in range(MAX_ROUNDS):
            read = wire.read_flags(conn, uid, modseq=condstore)
            if read is None:
                return False
            flags, modseq = read
            if not has(flags, token) or done(flags) is not None:
                return False
            if has(flags, SENDING):
                return True
            # Other tokens may be there: contenders that read before our claim and have
            # not stepped back yet. They will (ours is here, and never goes), so they
            # do not stop us; only our own token missing does.
            reply = wire.store(conn, uid, b"+FLAGS", (SENDING,), modseq if condstore else None)
            if reply.modified:
                continue                        # changed meanwhile (\\Seen?): look again
            read = wire.read_flags(conn, uid, modseq=False)
            return read is not None and has(read[0], token) and has(read[0], SENDING)
        return False


def release(conn: Connection, folder: str, uid: int, instance: str) -> bool:
    """Give a claim back before anything was sent (the user took the reply back).
    Refused (False) once `$HeardSending` is set: a token is never removed after
    proceeding."""
    me = instance_id(instance)
    with wire.opened(conn, folder):
        read = wire.read_flags(conn, uid, modseq=False)
        if read is None:
            return True
        flags, _ = read
        if has(flags, SENDING) and has(flags, owner_keyword(me)):
            return False
        wire.store(conn, uid, b"-FLAGS", (owner_keyword(me),), None)
        after = wire.read_flags(conn, uid, modseq=False)
        if after is not None and not owners(after[0]) and not has(after[0], SENDING):
            wire.store(conn, uid, b"-FLAGS", (CLAIMED,), None)
        return True


def mark(conn: Connection, folder: str, uid: int, kind: Mark | str) -> None:
    """Record what was done (after the reply is accepted and filed, or on dismissing).
    Tokens stay: they say who did it. A reply that went out (acknowledged, delegated) also
    loses `$HeardSending`, after its done mark is there (never a moment with neither): the
    mark settles what the sending mark left open, and a message reads the same whether its
    send went straight through or an unsure one was settled by the user."""
    what = Mark(kind)
    with wire.opened(conn, folder):
        wire.store(conn, uid, b"+FLAGS", (what.keyword,), None)
        if what in (Mark.ACKED, Mark.DELEGATED):
            wire.store(conn, uid, b"-FLAGS", (SENDING,), None)


def not_sent(conn: Connection, folder: str, uid: int, instance: str) -> None:
    """Take back a sending mark this instance set but never acted on: its reply was
    cancelled between mark_sending() and SMTP, so nothing went out (the caller knows; the
    protocol cannot). Only while this instance's token is the only one and nothing is done;
    then the claim is released too."""
    me = instance_id(instance)
    with wire.opened(conn, folder):
        read = wire.read_flags(conn, uid, modseq=False)
        if read is None:
            return
        flags, _ = read
        if owners(flags) != {me} or done(flags) is not None or not has(flags, SENDING):
            return
        wire.store(conn, uid, b"-FLAGS", (SENDING,), None)
    release(conn, folder, uid, instance)


def clear_claim(conn: Connection, folder: str, uid: int) -> None:
    """On the user's word only (an Unsure they chose to send again): remove every claim
    token and the sending mark, so the message is waiting and can be claimed anew."""
    with wire.opened(conn, folder):
        read = wire.read_flags(conn, uid, modseq=False)
        if read is None:
            return
        tokens = tuple(owner_keyword(name) for name in sorted(owners(read[0])))
        wire.store(conn, uid, b"-FLAGS", (*tokens, SENDING, CLAIMED), None)


def sent_has_header(conn: Connection, sent_folder: str, message_id: str) -> bool:
    """Whether `sent_folder` holds a reply of Heard's naming `message_id` (an
    acknowledgement or a delegation: X-Heard-Acknowledges / X-Heard-Delegates)."""
    message_id = "".join(ch for ch in message_id if ch >= " " and ch != "\x7f")[:998]
    if not message_id.strip():
        return False                # nothing Heard sends could name it
    return bool(wire.search_folder(conn, sent_folder, [
        "OR", "HEADER", HEARD_ACK_HEADER, message_id, "HEADER", HEARD_DELEGATES_HEADER,
        message_id]))


def describe_modes() -> dict[str, str]:
    """Every mode's plain-words description, by name (for settings and docs)."""
    return {mode.value: MODE_TEXT[mode] for mode in Mode}
