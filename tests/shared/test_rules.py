"""The pure rules (heard.domain.shared) and the parsers, on fixed inputs and raw server
responses as imapclient hands them over."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from heard.devices.wire import claims as ss
from heard.devices.wire.folder import _parse_request
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
from heard.mail.imap.commands import uid_set as _uid_set

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


def test_uid_sets() -> None:
    assert _uid_set(b"1:3,7,9:8") == {1, 2, 3, 7, 8, 9}
    assert _uid_set(b"") == set()
    assert _uid_set(b"x,5") == {5}
    assert _uid_set(b"1:99999999") == set()        # nonsense is ignored, not allocated


def test_a_delta_applies_to_a_cache() -> None:
    cache = {1: frozenset({"\\Seen"}), 2: frozenset(), 3: frozenset({ACKED})}
    qresync = ss.FlagsDelta("INBOX", 7, 20, {2: frozenset({DISMISSED}), 4: frozenset()},
                            vanished=frozenset({3, 99}), method="qresync")
    assert qresync.apply(cache) == {1: frozenset({"\\Seen"}), 2: frozenset({DISMISSED}),
                                    4: frozenset()}
    changedsince = ss.FlagsDelta("INBOX", 7, 20, {4: frozenset()},
                                 present=frozenset({1, 2, 4}), method="changedsince")
    assert changedsince.apply(cache) == {1: frozenset({"\\Seen"}), 2: frozenset(),
                                         4: frozenset()}
    full = ss.FlagsDelta("INBOX", 8, 3, {5: frozenset()}, full=True)
    assert full.apply(cache) == {5: frozenset()}
    assert qresync.states()[2].status is Status.DISMISSED


def test_idle_with_qresync() -> None:
    tracker = ss.IdleTracker()
    news = tracker.apply([
        (b"OK", b"Still here"),
        (3, b"FETCH", (b"UID", 12, b"MODSEQ", (40,), b"FLAGS", (b"$HeardBy_lap",
                                                                 b"$HeardClaimed"))),
        (b"VANISHED", 5),
        (b"VANISHED", (b"EARLIER",), b"7:8,10"),
        (b"OK", b"[HIGHESTMODSEQ 41] Highest"),
        (7, b"EXISTS"),
        (7, b"FETCH", (b"UID", 30, b"MODSEQ", (42,), b"FLAGS", ())),
    ])
    assert news.changes == [ss.FlagChange(12, 3, frozenset({"$HeardBy_lap", CLAIMED}), 40),
                            ss.FlagChange(30, 7, frozenset(), 42)]
    assert news.new == 1 and not news.stale      # no map is needed with QRESYNC
    assert news.changes[0].state.status is Status.CLAIMED
    assert news.vanished == [5, 7, 8, 10]


def test_idle_without_qresync_keeps_the_sequence_map() -> None:
    tracker = ss.IdleTracker([10, 11, 12, 13])
    news = tracker.apply([
        (2, b"EXPUNGE"),                          # uid 11 goes; 12 is number 2 now
        (2, b"FETCH", (b"FLAGS", (b"$HeardAcked", b"\\Recent"))),
        (4, b"EXISTS"),                           # one new message, UID unknown
        (4, b"FETCH", (b"FLAGS", ())),
    ])
    assert news.vanished == [11]
    assert [(c.uid, c.seq, c.flags) for c in news.changes] == [
        (12, 2, frozenset({ACKED})), (None, 4, frozenset())]
    assert news.new == 1 and news.stale
    # A FETCH with its UID fills the gap.
    news = tracker.apply([(4, b"FETCH", (b"UID", 14, b"FLAGS", (b"\\Seen",)))])
    assert news.changes[0].uid == 14 and not news.stale
    assert len(tracker) == 4
    # Out of range: the map is wrong somehow, so say so rather than guess.
    assert tracker.apply([(9, b"EXPUNGE")]).stale


def test_requests_parse_from_the_message_only_when_well_formed() -> None:
    raw = (b"Message-ID: <r1.lap@heard.invalid>\r\nX-Heard-Request: ack\r\n\r\n"
           b'{"version": 1, "kind": "ack", "message_id": "<q@x>", "requested_by": "lap",'
           b' "at": "2026-11-25T09:00:00+00:00", "options": {"template": "t"}}\r\n')
    request = _parse_request(raw, 4)
    assert (request.id, request.uid, request.kind, request.at) == (
        "<r1.lap@heard.invalid>", 4, "ack", T0)
    for body, why in ((b"[]", "not a JSON object"), (b"{", "not JSON"),
                      (b'{"kind": "ack"}', "missing or bad field"),
                      (b'{"kind": "Ack!", "message_id": "<q>", "requested_by": "lap",'
                       b' "at": "2026-11-25T09:00:00"}', "bad kind"),
                      (b'{"kind": "ack", "message_id": "<q>", "requested_by": "Lap",'
                       b' "at": "2026-11-25T09:00:00"}', "missing or bad field")):
        with pytest.raises(ValueError, match=why):
            _parse_request(b"X-Heard-Request: ack\r\n\r\n" + body, 1)


def test_fetch_lines_as_imaplib_keeps_them() -> None:
    from heard.mail.imap.commands import parse_fetches

    parsed = parse_fetches([
        b"2 (UID 2 FLAGS () MODSEQ (6))",
        b"2 (UID 2 FLAGS (\\Seen $HeardBy_a) MODSEQ (7))",    # a later one wins
        b"3 (FLAGS (\\Seen))",                                # no UID: another session's
        b"4 (MODSEQ (8) FLAGS ($x \\Recent) UID 9)",           # any order; \\Recent dropped
        b"5 (UID 10 MODSEQ (9))",                             # no FLAGS: keeps the last known
        b"not a fetch at all (((",
    ])
    assert parsed == {2: (frozenset({"\\Seen", "$HeardBy_a"}), 7),
                      9: (frozenset({"$x"}), 8), 10: (frozenset(), 9)}
