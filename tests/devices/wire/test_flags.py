"""Catching up (heard.devices.wire.flags): an instance that was offline while 100 changes
happened brings its cached flags to exactly what a full fetch gives (QRESYNC and
CHANGEDSINCE alike); flag changes seen in IDLE name their message, with QRESYNC or through
the sequence-number map; and the same on raw responses as imapclient hands them over."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import pytest

from heard.devices.wire import claims as ss
from heard.domain.shared import (
    ACKED,
    CLAIMED,
    DELEGATED,
    DISMISSED,
    SENDING,
    Lease,
    Status,
    owner_keyword,
)
from heard.mail.imap import Connection
from heard.mail.imap.commands import imap_client as raw_imap
from tests.support.devices import client_message, connection
from tests.support.dovecot import MailUser
from tests.support.instances import now

KEYWORDS = (ACKED, DELEGATED, DISMISSED, SENDING, owner_keyword("desk"),
            owner_keyword("lap"), "\\Seen", "\\Flagged", "\\Answered")


def fill(user: MailUser, count: int) -> None:
    client = user.client()
    try:
        for n in range(count):
            client.append("INBOX", client_message(n))
    finally:
        client.logout()


def hundred_changes(user: MailUser, count: int, rng: random.Random) -> int:
    """100 flag changes on random messages (some set and cleared again, some twice),
    5 expunged, 5 new: what a day of other devices looks like."""
    client = user.client()
    stores = 0
    try:
        client.select_folder("INBOX")
        uids = list(client.search(["ALL"]))
        while stores < 100:
            uid = rng.choice(uids)
            keyword = rng.choice(KEYWORDS)
            if rng.random() < 0.7:
                client.add_flags([uid], [keyword])
            else:
                client.remove_flags([uid], [keyword])
            stores += 1
        gone = rng.sample(uids, 5)
        client.add_flags(gone, ["\\Deleted"])
        client.expunge()
        for n in range(5):
            client.append("INBOX", client_message(count + n))
    finally:
        client.logout()
    return stores


@pytest.mark.parametrize("use_qresync", [True, False], ids=["qresync", "changedsince"])
def test_an_offline_instance_catches_up_to_exactly_a_full_fetch(
        owner: MailUser, conns: list[Connection], use_qresync: bool) -> None:
    fill(owner, 300)
    away = connection(owner, conns)
    first = ss.flags_since(away, "INBOX", None, None)
    assert first.full and len(first.changed) == 300
    cache = dict(first.changed)
    away.close()
    conns.remove(away)

    hundred_changes(owner, 300, random.Random(11))

    back = connection(owner, conns)
    delta = ss.flags_since(back, "INBOX", first.uidvalidity, first.highestmodseq,
                           use_qresync=use_qresync)
    assert delta.method == ("qresync" if use_qresync else "changedsince")
    assert not delta.full and 0 < len(delta.changed) <= 105
    caught_up = delta.apply(cache)
    truth = ss.flags_since(connection(owner, conns), "INBOX", None, None).changed
    assert caught_up == dict(truth)
    assert len(caught_up) == 300
    # And nothing left over: a second catch-up from the new point is empty.
    again = ss.flags_since(back, "INBOX", delta.uidvalidity, delta.highestmodseq,
                           use_qresync=use_qresync)
    assert again.apply(caught_up) == caught_up and not again.changed


def test_a_new_uidvalidity_or_nothing_cached_means_a_full_fetch(
        owner: MailUser, conns: list[Connection]) -> None:
    fill(owner, 3)
    conn = connection(owner, conns)
    first = ss.flags_since(conn, "INBOX", None, None)
    assert first.full and first.method == "full"
    stale = ss.flags_since(conn, "INBOX", first.uidvalidity + 1, first.highestmodseq)
    assert stale.full and stale.apply({99: frozenset()}) == dict(first.changed)


Want = Callable[[list[ss.FlagChange], list[int]], bool]


def wait_for_change(conn: Connection, tracker: ss.IdleTracker, want: Want,
                    timeout: float = 5.0) -> ss.IdleNews:
    end = time.monotonic() + timeout
    seen: list[ss.FlagChange] = []
    vanished: list[int] = []
    while time.monotonic() < end:
        news = tracker.apply(raw_imap(conn).idle_check(timeout=0.2))
        seen += news.changes
        vanished += news.vanished
        if want(seen, vanished):
            return ss.IdleNews(seen, vanished, news.new, news.stale)
    raise AssertionError(f"no such change within {timeout} s: {seen} {vanished}")


def test_idle_with_qresync_names_each_changed_message(owner: MailUser,
                                                      conns: list[Connection]) -> None:
    fill(owner, 5)
    watcher, other = connection(owner, conns), connection(owner, conns)
    assert ss.enable_qresync(watcher)
    watcher.start_idle("INBOX")
    tracker = ss.IdleTracker()
    assert isinstance(ss.claim(other, "INBOX", 3, "desk", lambda: False, Lease(), now),
                      ss.Claimed)
    news = wait_for_change(watcher, tracker, lambda seen, _v: any(
        c.uid == 3 and c.state.status is Status.CLAIMED for c in seen))
    assert {c.uid for c in news.changes} == {3}
    assert news.changes[-1].state.owners == {"desk"}
    client = owner.client()
    client.select_folder("INBOX")
    client.delete_messages([2])
    client.expunge()
    client.logout()
    news = wait_for_change(watcher, tracker, lambda _s, vanished: 2 in vanished)
    watcher.end_idle()


def test_idle_without_qresync_maps_sequence_numbers(owner: MailUser,
                                                    conns: list[Connection]) -> None:
    fill(owner, 6)
    watcher, other = connection(owner, conns), connection(owner, conns)
    raw_imap(watcher).select_folder("INBOX", readonly=True)
    tracker = ss.IdleTracker.load(watcher)
    assert len(tracker) == 6
    raw_imap(watcher).idle()
    client = owner.client()
    client.select_folder("INBOX")
    client.delete_messages([2])
    client.expunge()
    client.logout()
    news = wait_for_change(watcher, tracker, lambda _s, vanished: 2 in vanished)
    # Message 5 is number 4 now: the FETCH says "4", the tracker says "uid 5".
    ss.mark(other, "INBOX", 5, "acked")
    news = wait_for_change(watcher, tracker, lambda seen, _v: any(
        c.uid == 5 and c.state.status is Status.ACKED for c in seen))
    acked = [c for c in news.changes if ACKED in c.flags]
    assert [(c.uid, c.seq) for c in acked] == [(5, 4)]
    assert not news.stale
    watcher.end_idle()


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
