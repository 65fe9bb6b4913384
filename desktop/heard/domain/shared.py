"""State that every Heard instance of one mailbox shares, kept as IMAP keywords on the
client's message. Pure rules: the keywords, what a set of flags means, and the lease.

Keywords (few, all starting with `$` so mail clients keep them out of the user's tags;
Maildir servers hold only 26 keywords per mailbox):

- `$HeardBy_<instance>`: instance <instance> claims the message (one token per instance,
  so every claim is a change no other claimer can make; a shared token alone lets two
  instances win a conditional STORE on Dovecot 2.3);
- `$HeardClaimed`: informational, set with the first token (other clients can search it);
- `$HeardSending`: the sole claimer is about to hand the reply to SMTP. Set only by a
  claimer whose token is the only one, never removed by the protocol. A stale claim
  without it never reached SMTP and may be taken over; with it, and no copy in Sent, the
  reply may or may not have gone out: "unsure", for the user to settle;
- `$HeardAcked`, `$HeardDelegated`, `$HeardDismissed`: done.

The lease: a foreign claim may be taken over only once this instance has seen the very
same claim (same tokens, same sending mark) for a whole lease, by its own clock. Clocks of
other machines, the message's arrival time and its MODSEQ say nothing about when a claim
was made (a claim can come hours after the message), so the only sound lower bound of a
claim's age is how long one has watched it oneself. A restart forgets what was watched and
waits a full lease again: later, never wrong.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import NewType

InstanceId = NewType("InstanceId", str)

CLAIMED = "$HeardClaimed"
SENDING = "$HeardSending"
ACKED = "$HeardAcked"
DELEGATED = "$HeardDelegated"
DISMISSED = "$HeardDismissed"
OWNER_PREFIX = "$HeardBy_"
ANSWERED = "\\Answered"
# Every name Heard uses besides the per-instance tokens (the Maildir budget is 26 a mailbox).
KEYWORDS = (CLAIMED, SENDING, ACKED, DELEGATED, DISMISSED)

_INSTANCE = re.compile(r"[a-z0-9]{1,12}")


def instance_id(text: str) -> InstanceId:
    """A checked instance id: 1 to 12 lower-case letters or digits ("desk", "lap2")."""
    if not isinstance(text, str) or not _INSTANCE.fullmatch(text):
        raise ValueError(f"instance id {text!r} must be 1 to 12 lower-case letters or digits"
                         " (for example 'desk' or 'laptop2')")
    return InstanceId(text)


def owner_keyword(instance: str) -> str:
    return OWNER_PREFIX + instance_id(instance)


def has(flags: Iterable[str], keyword: str) -> bool:
    """Whether `keyword` is among `flags` (IMAP flags compare without case)."""
    wanted = keyword.casefold()
    return any(flag.casefold() == wanted for flag in flags)


def owners(flags: Iterable[str]) -> frozenset[InstanceId]:
    """The instances whose claim token is among `flags` (malformed tokens are ignored)."""
    found = set()
    prefix = OWNER_PREFIX.casefold()
    for flag in flags:
        if flag.casefold().startswith(prefix):
            name = flag[len(OWNER_PREFIX):].lower()
            if _INSTANCE.fullmatch(name):
                found.add(InstanceId(name))
    return frozenset(found)


def lowest(instances: Iterable[InstanceId]) -> InstanceId:
    """The instance that wins a tie: the smallest id."""
    return min(instances)


class Status(StrEnum):
    WAITING = "waiting"        # nobody has acted
    CLAIMED = "claimed"        # an instance is about to act (see SharedState.owners)
    SENDING = "sending"        # its reply is being handed to SMTP (or was, when it died)
    ACKED = "acked"
    DELEGATED = "delegated"
    DISMISSED = "dismissed"
    ANSWERED = "answered"      # \\Answered: someone replied (a phone, webmail, Heard)

    @property
    def is_done(self) -> bool:
        return self in (Status.ACKED, Status.DELEGATED, Status.DISMISSED, Status.ANSWERED)


class Done(StrEnum):
    """Why a claim is not needed: the message is already taken care of."""
    ACKED = "acked"
    DELEGATED = "delegated"
    DISMISSED = "dismissed"
    ANSWERED = "answered"
    SENT = "sent"              # Sent holds Heard's reply, though no keyword says so yet


class Mark(StrEnum):
    """What an instance records on the message once it has acted."""
    ACKED = "acked"
    DELEGATED = "delegated"
    DISMISSED = "dismissed"
    ANSWERED = "answered"   # the standard \Answered: every mail client shows it too

    @property
    def keyword(self) -> str:
        return {Mark.ACKED: ACKED, Mark.DELEGATED: DELEGATED, Mark.DISMISSED: DISMISSED,
                Mark.ANSWERED: ANSWERED}[self]


# The order decides what a message with several marks shows: a real answer first.
_DONE_ORDER = ((ANSWERED, Done.ANSWERED), (DELEGATED, Done.DELEGATED), (ACKED, Done.ACKED),
               (DISMISSED, Done.DISMISSED))


def done(flags: Iterable[str]) -> Done | None:
    """What already took care of the message, if anything did."""
    folded = {flag.casefold() for flag in flags}
    for keyword, kind in _DONE_ORDER:
        if keyword.casefold() in folded:
            return kind
    return None


@dataclass(frozen=True)
class SharedState:
    status: Status
    owners: frozenset[InstanceId] = frozenset()
    sending: bool = False

    @property
    def waiting(self) -> bool:
        """Counts as waiting: nothing is done yet (a claim may still die)."""
        return not self.status.is_done

    @property
    def owner(self) -> InstanceId | None:
        """The instance a claim belongs to (the one a contention would settle on)."""
        return lowest(self.owners) if self.owners else None


def shared_state(flags: Iterable[str]) -> SharedState:
    """What every instance shows for a message with these flags."""
    flags = frozenset(flags)
    claimers = owners(flags)
    sending = has(flags, SENDING)
    kind = done(flags)
    if kind is not None:
        return SharedState(Status(kind.value), claimers, sending)
    if sending:
        return SharedState(Status.SENDING, claimers, True)
    if claimers:
        return SharedState(Status.CLAIMED, claimers)
    return SharedState(Status.WAITING)


@dataclass
class Lease:
    """How long a foreign claim must stay unchanged, as watched by this instance, before
    this instance may take it over (and then only if Sent holds no reply).

    Keyed by (folder, uid); an entry is the claim last seen there and since when. A claim
    that changes (a token more or less, the sending mark) starts a new watch."""

    duration: timedelta = timedelta(minutes=10)
    _seen: dict[tuple[str, int], tuple[frozenset[InstanceId], bool, datetime]] = field(
        default_factory=dict, repr=False)

    def watch(self, folder: str, uid: int, claimers: frozenset[InstanceId], sending: bool,
              now: datetime) -> datetime:
        """Record the claim seen now; returns since when this same claim has been seen."""
        key = (folder, uid)
        seen = self._seen.get(key)
        if seen is not None and seen[0] == claimers and seen[1] == sending:
            return seen[2]
        self._seen[key] = (claimers, sending, now)
        return now

    def expired(self, folder: str, uid: int, claimers: frozenset[InstanceId], sending: bool,
                now: datetime) -> bool:
        return now - self.watch(folder, uid, claimers, sending, now) >= self.duration

    def forget(self, folder: str, uid: int) -> None:
        self._seen.pop((folder, uid), None)

    def __len__(self) -> int:
        return len(self._seen)
