"""Claims on the IMAP server (heard.devices.wire.claims), against real Dovecots: the
claim's corner cases, each made to happen on purpose between its steps; three instances
(separate processes, own connections) racing for every new client message, each message
acknowledged exactly once; a dead claimer taken over only after a whole lease, and only
when Sent holds no reply; the assistant as a separate IMAP user on a shared folder; and
the capabilities detected per account, with the fallbacks they engage (no CONDSTORE, no
keywords, no write access)."""

from __future__ import annotations

import collections
import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from heard.devices.wire import claims as ss
from heard.devices.wire import folder
from heard.domain.shared import (
    ACKED,
    CLAIMED,
    SENDING,
    Done,
    InstanceId,
    Lease,
    Status,
    has,
    owners,
    shared_state,
)
from heard.mail.imap import Connection, ImapError
from heard.mail.imap import commands as wire
from heard.mail.imap.commands import imap_client as raw_imap
from tests.support.devices import AT, KEY, client_message, connection, restrict
from tests.support.dovecot import Dovecot, MailUser
from tests.support.instances import context, holder, now, racer

LEASE = timedelta(minutes=10)


class Clock:
    def __init__(self) -> None:
        self.at = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.at


def ack_in_sent(n: int) -> bytes:
    return (f"From: alex@morgan-law.example\r\nTo: margaret@hale.example\r\n"
            f"Subject: Re: Closing documents {n}\r\nMessage-ID: <ack{n}@morgan-law.example>\r\n"
            f"In-Reply-To: <q{n}@hale.example>\r\nX-Heard-Acknowledges: <q{n}@hale.example>\r\n"
            f"\r\nThanks, I'll call you by 4:30 pm.\r\n").encode()


NAMES = ("desk", "lap", "asst")


def race(server: Dovecot, user: MailUser, count: int, conns: list[Connection]
         ) -> tuple[dict[str, list[tuple[int, str, str, float]]], dict[str, list[int]], int]:
    ctx = context()
    barrier = ctx.Barrier(len(NAMES) + 1)
    results = ctx.Queue()
    procs = [ctx.Process(target=racer, args=(server.imap_port, user.name, name, count,
                                             barrier, results), daemon=True)
             for name in NAMES]
    for proc in procs:
        proc.start()
    feeder = user.client()
    try:
        for n in range(count):
            # A new message each round: its MODSEQ is the mailbox's HIGHESTMODSEQ, the case
            # where Dovecot's UNCHANGEDSINCE lets two claimers through.
            feeder.append("INBOX", client_message(n))
            barrier.wait(60)
        barrier.wait(120)
        got = [results.get(timeout=120) for _ in NAMES]
    finally:
        feeder.logout()
        for proc in procs:
            proc.join(30)
            if proc.is_alive():
                proc.kill()
    records = {name: record for name, record, _retried, _late in got}
    late = {name: list(uids) for name, _record, _retried, uids in got}
    retried = sum(r for _n, _rec, r, _l in got)
    return records, late, retried


def check(user: MailUser, count: int, conns: list[Connection],
          records: dict[str, list[tuple[int, str, str, float]]], late: dict[str, list[int]]
          ) -> collections.Counter[str]:
    winners: dict[int, list[str]] = collections.defaultdict(list)
    kinds: collections.Counter[str] = collections.Counter()
    for name, record in records.items():
        assert [uid for uid, *_ in record] == list(range(1, count + 1))
        for uid, kind, _detail, _took in record:
            kinds[kind] += 1
            if kind == "claimed":
                winners[uid].append(name)
    for name, uids in late.items():
        for uid in uids:
            winners[uid].append(name)
    doubles = {uid: names for uid, names in winners.items() if len(names) > 1}
    assert not doubles, f"two instances won: {doubles}"
    missing = [uid for uid in range(1, count + 1) if uid not in winners]
    assert not missing, f"nobody won {missing}"
    # The server agrees: every message acknowledged, by the one instance that won it.
    final = ss.flags_since(connection(user, conns), "INBOX", None, None).changed
    for uid in range(1, count + 1):
        flags = final[uid]
        assert ACKED in flags, (uid, flags)
        assert owners(flags) == {winners[uid][0]}, (uid, flags, winners[uid])
    return kinds


@contextmanager
def after_first_read(monkeypatch: pytest.MonkeyPatch, action: Callable[[], None]
                     ) -> Iterator[list[int]]:
    """Run `action` (another device's change) right after the claim's first FETCH."""
    calls: list[int] = []
    original = wire.read_flags

    def read_flags(conn: Connection, uid: int, modseq: bool) -> Any:
        result = original(conn, uid, modseq)
        calls.append(uid)
        if len(calls) == 1:
            action()
        return result

    monkeypatch.setattr(wire, "read_flags", read_flags)
    yield calls


def test_a_spurious_modified_from_a_phone_reading_the_mail_is_retried(
        owner: MailUser, conns: list[Connection], monkeypatch: pytest.MonkeyPatch) -> None:
    owner.append(client_message(1))
    desk = connection(owner, conns)
    with after_first_read(monkeypatch, lambda: owner.set_flags(1, ["\\Seen"])):
        result = ss.claim(desk, "INBOX", 1, "desk", lambda: False, Lease(), now)
    assert isinstance(result, ss.Claimed) and result.rounds == 2, result


def test_a_claim_that_lands_between_read_and_store_wins_over_ours(
        owner: MailUser, conns: list[Connection], monkeypatch: pytest.MonkeyPatch) -> None:
    owner.append(client_message(1))
    desk, lap = connection(owner, conns), connection(owner, conns)
    with after_first_read(monkeypatch, lambda: owner.set_flags(1, [CLAIMED, "$HeardBy_lap"])):
        result = ss.claim(desk, "INBOX", 1, "desk", lambda: False, Lease(), now)
    assert isinstance(result, ss.LostTo) and result.owner == "lap", result
    monkeypatch.undo()
    flags = ss.flags_since(lap, "INBOX", None, None).changed[1]
    assert owners(flags) == {"lap"}          # the conditional STORE changed nothing


def test_without_condstore_two_tokens_are_settled_by_the_lowest_id(
        owner: MailUser, conns: list[Connection], monkeypatch: pytest.MonkeyPatch) -> None:
    """The CAS is off (as on a server without CONDSTORE), so both tokens land: the lower
    id (desk) stays and waits for lap to step back; lap steps back at once."""
    owner.append(client_message(1))
    desk = connection(owner, conns)
    caps = ss.detect(desk, "INBOX", "desk")
    plain = ss.Capabilities(**{**caps.__dict__, "condstore": False})
    assert plain.mode is ss.Mode.NO_CONDSTORE
    lap_token = "$HeardBy_lap"
    stepped_back: list[bool] = []

    def lap_claims() -> None:
        owner.set_flags(1, [CLAIMED, lap_token])

    original_pause = [0]

    def pause(seconds: float) -> None:
        # While desk waits as the lowest, lap (a live instance) removes its token.
        original_pause[0] += 1
        if not stepped_back:
            client = owner.client()
            client.select_folder("INBOX")
            client.remove_flags([1], [lap_token])
            client.logout()
            stepped_back.append(True)

    with after_first_read(monkeypatch, lap_claims):
        result = ss.claim(desk, "INBOX", 1, "desk", lambda: False, Lease(), now,
                          caps=plain, pause=pause)
    assert isinstance(result, ss.Claimed) and result.contended, result
    assert stepped_back and original_pause[0] >= 1


def test_the_higher_id_steps_back_at_once(owner: MailUser, conns: list[Connection],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    owner.append(client_message(1))
    lap = connection(owner, conns)
    caps = ss.detect(lap, "INBOX", "lap")
    plain = ss.Capabilities(**{**caps.__dict__, "condstore": False})
    with after_first_read(monkeypatch, lambda: owner.set_flags(1, [CLAIMED, "$HeardBy_desk"])):
        result = ss.claim(lap, "INBOX", 1, "lap", lambda: False, Lease(), now, caps=plain,
                          pause=lambda s: None)
    assert result == ss.LostTo("desk", None)
    monkeypatch.undo()
    assert owners(ss.flags_since(lap, "INBOX", None, None).changed[1]) == {"desk"}


def test_a_lowest_that_waits_in_vain_steps_back_and_tries_again_later(
        owner: MailUser, conns: list[Connection], monkeypatch: pytest.MonkeyPatch) -> None:
    """zed claimed at the same time and then died before stepping back: desk (lowest)
    gives up waiting, removes its own token, and sees zed's claim as any other."""
    owner.append(client_message(1))
    desk = connection(owner, conns)
    caps = ss.detect(desk, "INBOX", "desk")
    plain = ss.Capabilities(**{**caps.__dict__, "condstore": False})
    with after_first_read(monkeypatch, lambda: owner.set_flags(1, [CLAIMED, "$HeardBy_zed"])):
        result = ss.claim(desk, "INBOX", 1, "desk", lambda: False, Lease(), now, caps=plain,
                          contention_wait=0.05, pause=lambda s: None)
    assert isinstance(result, ss.LostTo) and result.owner == "zed", result
    monkeypatch.undo()
    assert owners(ss.flags_since(desk, "INBOX", None, None).changed[1]) == {"zed"}


def test_done_messages_and_gone_ones(owner: MailUser, conns: list[Connection]) -> None:
    owner.append(client_message(1), flags=["\\Answered"])
    owner.append(client_message(2), flags=["$HeardDelegated"])
    desk = connection(owner, conns)
    assert ss.claim(desk, "INBOX", 1, "desk", lambda: False, Lease(), now) == ss.AlreadyDone(
        Done.ANSWERED)
    assert ss.claim(desk, "INBOX", 2, "desk", lambda: False, Lease(), now) == ss.AlreadyDone(
        Done.DELEGATED)
    assert ss.claim(desk, "INBOX", 9, "desk", lambda: False, Lease(), now) == ss.Gone(9)


def test_a_held_folder_sees_mail_that_came_after_it_was_opened(
        owner: MailUser, conns: list[Connection]) -> None:
    owner.append(client_message(1))
    desk = connection(owner, conns)
    with ss.holding(desk, "INBOX"):
        uid = owner.append(client_message(2))
        result = ss.claim(desk, "INBOX", uid, "desk", lambda: False, Lease(), now)
        assert isinstance(result, ss.Claimed), result
        assert ss.mark_sending(desk, "INBOX", uid, "desk")
        ss.mark(desk, "INBOX", uid, "acked")
    # Left again: STATUS is answered from the server, not a stale view.
    assert desk.status("INBOX").uidnext == uid + 1
    # ... and says who took care of it (the tokens stay), not the sending mark (settled).
    assert ss.claim(desk, "INBOX", uid, "lap", lambda: False, Lease(), now) == ss.AlreadyDone(
        Done.ACKED, frozenset({InstanceId("desk")}))
    flags = ss.flags_since(desk, "INBOX", None, None).changed[uid]
    assert not has(flags, SENDING)


def test_a_claim_of_our_own_from_before_a_restart_is_ours(owner: MailUser,
                                                          conns: list[Connection]) -> None:
    owner.append(client_message(1))
    desk = connection(owner, conns)
    assert isinstance(ss.claim(desk, "INBOX", 1, "desk", lambda: False, Lease(), now),
                      ss.Claimed)
    again = ss.claim(connection(owner, conns), "INBOX", 1, "desk", lambda: False, Lease(), now)
    assert isinstance(again, ss.Claimed) and again.resumed


def test_the_sent_search_takes_a_hostile_message_id_as_text(owner: MailUser,
                                                            conns: list[Connection]) -> None:
    owner.append(b"X-Heard-Acknowledges: <q1@hale.example>\r\nSubject: re\r\n\r\nok\r\n",
                 folder="Sent")
    conn = connection(owner, conns)
    assert ss.sent_has_header(conn, "Sent", "<q1@hale.example>")
    assert not ss.sent_has_header(conn, "Sent", "<q2@hale.example>\r\nX1 LOGOUT")
    assert not ss.sent_has_header(conn, "Sent", "\r\n")
    assert ss.sent_has_header(conn, "Sent", "<q1@hale.example>")   # still logged in


def test_the_assistant_sees_claims_and_answers_on_a_shared_folder(
        shared_dovecot: Dovecot, owner: MailUser, conns: list[Connection]) -> None:
    assistant = shared_dovecot.add_user()
    assistant.client().logout()
    owner.append(client_message(1))
    owner.append(client_message(2))
    mine = connection(owner, conns)
    raw_imap(mine).setacl("INBOX", assistant.name, "lrswi")

    theirs = connection(assistant, conns)
    folder = f"shared/{owner.name}/INBOX"
    caps = ss.detect(theirs, folder, "asst")
    assert caps.mode is ss.Mode.FULL, caps
    # Sees: both messages waiting.
    seen = ss.flags_since(theirs, folder, None, None)
    assert {uid: shared_state(f).status for uid, f in seen.changed.items()} == {
        1: Status.WAITING, 2: Status.WAITING}

    watcher = connection(owner, conns)
    assert ss.enable_qresync(watcher)
    watcher.start_idle("INBOX")
    tracker = ss.IdleTracker()
    started = time.monotonic()
    # Claims and answers message 1 (the assistant's Heard instance is "asst").
    assert isinstance(ss.claim(theirs, folder, 1, "asst", lambda: False, Lease(), now,
                               caps=caps), ss.Claimed)
    assert ss.mark_sending(theirs, folder, 1, "asst", caps=caps)
    ss.mark(theirs, folder, 1, "acked")
    changes: list[ss.FlagChange] = []
    while time.monotonic() - started < 5:
        changes += tracker.apply(raw_imap(watcher).idle_check(0.2)).changes
        if any(c.uid == 1 and c.state.status is Status.ACKED for c in changes):
            break
    watcher.end_idle()
    final = [c for c in changes if c.uid == 1][-1].state
    assert final.status is Status.ACKED and final.owners == {"asst"}, changes

    # The owner's own instance stands back: 1 is done; 2 is still free for it.
    assert ss.claim(mine, "INBOX", 1, "desk", lambda: False, Lease(), now) == ss.AlreadyDone(
        Done.ACKED, frozenset({InstanceId("asst")}))
    assert isinstance(ss.claim(mine, "INBOX", 2, "desk", lambda: False, Lease(), now),
                      ss.Claimed)
    # ... and the assistant sees that claim too.
    result = ss.claim(theirs, folder, 2, "asst", lambda: False, Lease(), now, caps=caps)
    assert isinstance(result, ss.LostTo) and result.owner == "desk"


def test_an_assistant_without_the_keyword_right_falls_back(
        shared_dovecot: Dovecot, owner: MailUser, conns: list[Connection]) -> None:
    assistant = shared_dovecot.add_user()
    assistant.client().logout()
    owner.append(client_message(1))
    raw_imap(connection(owner, conns)).setacl(
        "INBOX", assistant.name, "lrs")
    caps = ss.detect(connection(assistant, conns), f"shared/{owner.name}/INBOX", "asst")
    assert caps.mode is ss.Mode.DESIGNATED and caps.rights is not None
    assert "w" not in caps.rights


def test_three_instances_race_for_500_new_messages(owner: MailUser, conns: list[Connection]
                                                   ) -> None:
    started = time.perf_counter()
    records, late, retried = race(owner.server, owner, 500, conns)
    kinds = check(owner, 500, conns, records, late)
    no_winner = sum(1 for uid in range(1, 501)
                    if not any(r[uid - 1][1] == "claimed" for r in records.values()))
    print(f"\n500 x 3: {dict(kinds)}; first-round no-winner {no_winner}, retried {retried},"
          f" won late {sum(map(len, late.values()))}; {time.perf_counter() - started:.1f} s")
    assert kinds["claimed"] + sum(map(len, late.values())) == 500
    assert kinds["unsure"] == 0 and kinds["refused-sending"] == 0


@pytest.mark.parametrize("count", [100])
def test_the_race_without_condstore(plain_dovecot: Dovecot, conns: list[Connection],
                                   count: int) -> None:
    user = plain_dovecot.add_user()
    user.client().logout()
    caps = ss.detect(connection(user, conns), "INBOX")
    assert caps.mode is ss.Mode.NO_CONDSTORE
    records, late, retried = race(plain_dovecot, user, count, conns)
    kinds = check(user, count, conns, records, late)
    print(f"\n{count} x 3 without CONDSTORE: {dict(kinds)}; retried {retried},"
          f" won late {sum(map(len, late.values()))}")
    assert kinds["unsure"] == 0 and kinds["refused-sending"] == 0


def test_a_dead_claimer_is_taken_over_after_the_lease_only_when_sent_has_nothing(
        owner: MailUser, conns: list[Connection]) -> None:
    for n in (1, 2, 3):
        owner.append(client_message(n))
    ctx = context()
    ready = ctx.Queue()
    # desk claims 1 and 3, and gets as far as "sending" on 2; then it is killed.
    proc = ctx.Process(target=holder, args=(owner.server.imap_port, owner.name, "desk",
                                            [(1, False), (2, True), (3, False)], ready),
                       daemon=True)
    proc.start()
    pid, got = ready.get(timeout=60)
    assert got == [(1, "claimed"), (2, "claimed"), (3, "claimed")]
    os.kill(pid, signal.SIGKILL)
    proc.join(10)
    # desk's reply to 3 did reach Sent before it died (its keyword never did).
    owner.append(ack_in_sent(3), folder="Sent")

    lap = connection(owner, conns)
    clock = Clock()
    lease = Lease(LEASE)
    searches: list[int] = []

    def claim(uid: int) -> ss.ClaimResult:
        def sent() -> bool:
            searches.append(uid)
            return ss.sent_has_header(lap, "Sent", f"<q{uid}@hale.example>")
        return ss.claim(lap, "INBOX", uid, "lap", sent, lease, clock)

    # Within the lease (as lap watched it): lost to desk, and Sent is not even asked.
    for uid in (1, 2, 3):
        result = claim(uid)
        assert isinstance(result, ss.LostTo) and result.owner == "desk", result
        assert result.since == clock.at
    clock.at += LEASE - timedelta(seconds=1)
    assert all(isinstance(claim(uid), ss.LostTo) for uid in (1, 2, 3))
    assert searches == []

    clock.at += timedelta(seconds=2)
    # 1: desk never sent: lap takes it over.
    taken = claim(1)
    assert isinstance(taken, ss.Claimed) and taken.took_over == ("desk",), taken
    # 2: desk may have handed it to SMTP: unsure, nobody sends.
    unsure = claim(2)
    assert isinstance(unsure, ss.Unsure) and unsure.owner == "desk", unsure
    assert "may or may not" in unsure.reason
    # 3: Sent has desk's reply: done, and desk's claim stays.
    assert claim(3) == ss.AlreadyDone(Done.SENT)
    assert searches == [1, 2, 3]

    flags = ss.flags_since(lap, "INBOX", None, None).changed
    assert owners(flags[1]) == {"lap"}
    assert owners(flags[2]) == {"desk"} and SENDING in flags[2]
    assert owners(flags[3]) == {"desk"}
    # lap may send 1 (its token is still the only one) ...
    assert ss.mark_sending(lap, "INBOX", 1, "lap")
    # ... and 2 only once the user said "send it again".
    ss.clear_claim(lap, "INBOX", 2)
    again = claim(2)
    assert isinstance(again, ss.Claimed) and not again.took_over


def test_a_claim_that_changes_starts_a_new_lease(owner: MailUser, conns: list[Connection]
                                                 ) -> None:
    owner.append(client_message(1))
    desk, lap = connection(owner, conns), connection(owner, conns)
    clock = Clock()
    lease = Lease(LEASE)
    assert isinstance(ss.claim(desk, "INBOX", 1, "desk", lambda: False, Lease(), clock),
                      ss.Claimed)
    assert isinstance(ss.claim(lap, "INBOX", 1, "lap", lambda: False, lease, clock),
                      ss.LostTo)
    clock.at += LEASE - timedelta(minutes=1)
    # desk is alive: it goes on to send. The claim lap watches has changed.
    assert ss.mark_sending(desk, "INBOX", 1, "desk")
    result = ss.claim(lap, "INBOX", 1, "lap", lambda: False, lease, clock)
    assert isinstance(result, ss.LostTo) and result.since == clock.at
    clock.at += timedelta(minutes=2)
    assert isinstance(ss.claim(lap, "INBOX", 1, "lap", lambda: False, lease, clock),
                      ss.LostTo)


def test_a_stalled_claimer_whose_claim_was_taken_over_must_not_send(
        owner: MailUser, conns: list[Connection]) -> None:
    owner.append(client_message(1))
    desk, lap = connection(owner, conns), connection(owner, conns)
    clock = Clock()
    assert isinstance(ss.claim(desk, "INBOX", 1, "desk", lambda: False, Lease(), clock),
                      ss.Claimed)
    lease = Lease(LEASE)
    ss.claim(lap, "INBOX", 1, "lap", lambda: False, lease, clock)
    clock.at += LEASE
    assert isinstance(ss.claim(lap, "INBOX", 1, "lap", lambda: False, lease, clock),
                      ss.Claimed)
    # desk wakes up (suspended laptop) and wants to send: refused.
    assert not ss.mark_sending(desk, "INBOX", 1, "desk")
    assert ss.mark_sending(lap, "INBOX", 1, "lap")


def test_release_before_sending_and_never_after(owner: MailUser, conns: list[Connection]
                                                ) -> None:
    owner.append(client_message(1))
    desk, lap = connection(owner, conns), connection(owner, conns)
    clock = Clock()
    assert isinstance(ss.claim(desk, "INBOX", 1, "desk", lambda: False, Lease(), clock),
                      ss.Claimed)
    assert ss.release(desk, "INBOX", 1, "desk")          # the user pressed Undo
    flags = ss.flags_since(lap, "INBOX", None, None).changed[1]
    assert not owners(flags) and "$HeardClaimed" not in flags
    assert isinstance(ss.claim(lap, "INBOX", 1, "lap", lambda: False, Lease(), clock),
                      ss.Claimed)
    assert ss.mark_sending(lap, "INBOX", 1, "lap")
    assert not ss.release(lap, "INBOX", 1, "lap")       # too late: it may be out
    assert owners(ss.flags_since(lap, "INBOX", None, None).changed[1]) == {"lap"}


def test_full_mode_on_dovecot(owner: MailUser, conns: list[Connection]) -> None:
    owner.append(client_message(1))
    caps = ss.detect(connection(owner, conns), "INBOX", "desk")
    assert caps.mode is ss.Mode.FULL
    assert caps.keywords and caps.condstore and caps.qresync and caps.metadata
    assert caps.rights is not None and "w" in caps.rights
    assert caps.describe().startswith("full: ")
    assert "IMAP METADATA" in caps.describe()


def test_a_server_without_condstore_claims_without_the_condition(
        plain_dovecot: Dovecot, conns: list[Connection]) -> None:
    user = plain_dovecot.add_user()
    for n in (1, 2):
        user.append(client_message(n))
    desk, lap = connection(user, conns), connection(user, conns)
    caps = ss.detect(desk, "INBOX", "desk")
    assert caps.mode is ss.Mode.NO_CONDSTORE and caps.keywords and not caps.condstore
    text = caps.describe()
    assert text.startswith("no-condstore: ") and "CONDSTORE" in text and "QRESYNC" in text
    assert isinstance(ss.claim(desk, "INBOX", 1, "desk", lambda: False, Lease(), now,
                               caps=caps), ss.Claimed)
    assert isinstance(ss.claim(lap, "INBOX", 1, "lap", lambda: False, Lease(), now),
                      ss.LostTo)
    assert ss.mark_sending(desk, "INBOX", 1, "desk", caps=caps)
    ss.mark(desk, "INBOX", 1, "acked")
    # Catching up has no MODSEQ to start from: every message's flags, every time.
    first = ss.flags_since(lap, "INBOX", None, None)
    assert first.highestmodseq is None
    later = ss.flags_since(lap, "INBOX", first.uidvalidity, 7)
    assert later.full and later.method == "full"
    assert shared_state(later.changed[1]).status is Status.ACKED


def test_a_server_that_keeps_no_keywords_means_designated_only(
        owner: MailUser, conns: list[Connection]) -> None:
    owner.append(client_message(1))
    restrict(owner, "lrsitekx")                 # everything but `w`: no keywords
    lap, desk = connection(owner, conns), connection(owner, conns)
    caps = ss.detect(lap, "INBOX", "lap")
    assert caps.mode is ss.Mode.DESIGNATED and caps.writable and not caps.keywords
    assert "designated device" in caps.describe()
    result = ss.claim(lap, "INBOX", 1, "lap", lambda: False, Lease(), now)
    assert isinstance(result, ss.NotShared) and result.mode is ss.Mode.DESIGNATED

    # lap's one-click acknowledgement goes to the designated instance (desk).
    queued = ss.queue_request(lap, ss.Request("ack", "<q1@hale.example>", "lap", AT,
                                              {"template": "busy-until"}), KEY)
    assert queued.id.endswith("@heard.invalid>")
    ss.queue_request(lap, ss.Request("dismiss", "<q2@hale.example>", "lap", AT), KEY)
    taken = folder.read_requests(desk, KEY).requests
    assert [(r.kind, r.message_id, r.requested_by) for r in taken] == [
        ("ack", "<q1@hale.example>", "lap"), ("dismiss", "<q2@hale.example>", "lap")]
    assert taken[0].id == queued.id
    assert taken[0].options == {"template": "busy-until"}
    assert taken[0].at == AT


def test_no_write_access_means_local_only(owner: MailUser, conns: list[Connection]) -> None:
    owner.append(client_message(1))
    restrict(owner, "lr")
    conn = connection(owner, conns)
    caps = ss.detect(conn, "INBOX", "desk")
    assert caps.mode is ss.Mode.LOCAL and not caps.writable
    assert "read-only" in caps.describe()
    result = ss.claim(conn, "INBOX", 1, "desk", lambda: False, Lease(), now)
    assert isinstance(result, ss.NotShared) and result.mode is ss.Mode.LOCAL
    # Reading still works, and the connection is usable afterwards.
    assert set(ss.flags_since(conn, "INBOX", None, None).changed) == {1}
    assert conn.status("INBOX").uidnext == 2


def test_every_mode_has_words() -> None:
    words = ss.describe_modes()
    assert set(words) == {"full", "no-condstore", "designated-only", "local-only"}
    assert all(len(text) > 80 for text in words.values())


def test_a_folder_that_cannot_be_opened_is_a_plain_error(owner: MailUser,
                                                         conns: list[Connection]) -> None:
    conn = connection(owner, conns)
    with pytest.raises(ImapError) as err:
        ss.detect(conn, "No such folder")
    assert "cannot open the folder 'No such folder'" in err.value.message
    assert ss.detect(conn, "INBOX").mode is ss.Mode.FULL   # still usable
