"""Claim before send: three instances (separate processes, own connections) race for
every new client message; each message gets exactly one acknowledgement."""

from __future__ import annotations

import collections
import time

import pytest

from heard.devices.wire import claims as ss
from heard.domain.shared import ACKED, owners
from heard.mail.imap import Connection
from tests.support.devices import client_message, connection
from tests.support.dovecot import Dovecot, MailUser
from tests.support.instances import context, racer

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
