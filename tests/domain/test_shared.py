"""The pure rules of the shared state (heard.domain.shared), on fixed inputs: instance ids,
the keywords and what a set of them means, the lease."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from heard.domain.shared import (
    ACKED,
    CLAIMED,
    DELEGATED,
    DISMISSED,
    KEYWORDS,
    SENDING,
    Done,
    InstanceId,
    Lease,
    Mark,
    Status,
    done,
    instance_id,
    owner_keyword,
    owners,
    shared_state,
)

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("good", ["desk", "lap2", "a", "x" * 12, "0"])
def test_instance_ids(good: str) -> None:
    assert instance_id(good) == good
    assert owner_keyword(good) == f"$HeardBy_{good}"


@pytest.mark.parametrize("bad", ["", "Desk", "lap top", "x" * 13, "lap_2", "é", "a)"])
def test_bad_instance_ids_say_what_is_allowed(bad: str) -> None:
    with pytest.raises(ValueError, match="lower-case letters or digits"):
        instance_id(bad)


def test_few_keywords() -> None:
    assert len(KEYWORDS) <= 6 and all(k.startswith("$Heard") for k in KEYWORDS)
    # Answered is the standard flag, not a keyword of Heard's (no Maildir budget spent).
    assert {m.keyword for m in Mark} == {ACKED, DELEGATED, DISMISSED, "\\Answered"}


def test_owners_ignore_case_and_malformed_tokens() -> None:
    flags = {"$heardby_DESK", "$HeardBy_lap", "$HeardBy_", "$HeardBy_bad name",
             "$HeardBy_toolongname123", "\\Seen", CLAIMED}
    assert owners(flags) == {"desk", "lap"}


@pytest.mark.parametrize(("flags", "status", "who"), [
    ((), Status.WAITING, ()),
    (("\\Seen", "$label1", CLAIMED), Status.WAITING, ()),     # a leftover mark alone
    ((CLAIMED, "$HeardBy_lap", "$HeardBy_desk"), Status.CLAIMED, ("desk", "lap")),
    (("$HeardBy_lap", SENDING), Status.SENDING, ("lap",)),
    (("$HeardBy_lap", SENDING, ACKED), Status.ACKED, ("lap",)),
    (("$HeardBy_asst", DELEGATED, ACKED), Status.DELEGATED, ("asst",)),
    ((DISMISSED,), Status.DISMISSED, ()),
    (("\\Answered", ACKED), Status.ANSWERED, ()),
    (("\\ANSWERED",), Status.ANSWERED, ()),
])
def test_what_every_instance_shows(flags: tuple[str, ...], status: Status,
                                   who: tuple[str, ...]) -> None:
    state = shared_state(flags)
    assert state.status is status
    assert state.owners == frozenset(who)
    assert state.waiting is (status in (Status.WAITING, Status.CLAIMED, Status.SENDING))
    assert state.owner == (min(who) if who else None)


def test_done_kinds() -> None:
    assert done({"\\Seen"}) is None
    assert done({"$heardacked"}) is Done.ACKED


def test_the_lease_counts_from_when_this_instance_first_saw_the_same_claim() -> None:
    lease = Lease(timedelta(minutes=10))
    desk = frozenset({InstanceId("desk")})
    assert not lease.expired("INBOX", 1, desk, False, T0)
    assert not lease.expired("INBOX", 1, desk, False, T0 + timedelta(minutes=9))
    assert lease.expired("INBOX", 1, desk, False, T0 + timedelta(minutes=10))
    # The claim moved on (desk is sending now): a new watch.
    assert not lease.expired("INBOX", 1, desk, True, T0 + timedelta(minutes=11))
    assert lease.watch("INBOX", 1, desk, True, T0 + timedelta(hours=1)) == T0 + timedelta(
        minutes=11)
    # Other messages and folders are watched apart; forgetting starts over.
    assert lease.watch("Other", 1, desk, True, T0 + timedelta(hours=2)) == T0 + timedelta(
        hours=2)
    lease.forget("INBOX", 1)
    assert lease.watch("INBOX", 1, desk, True, T0 + timedelta(hours=3)) == T0 + timedelta(
        hours=3)
    assert len(lease) == 2
