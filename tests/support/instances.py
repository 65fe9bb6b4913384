"""Heard instances as separate processes, for the shared-state tests and the benchmark.

Each instance is a process of its own (multiprocessing, "spawn": a fresh interpreter, no
state inherited from the test process) with its own IMAP connection, as two laptops and a
desktop would be. Only the functions here run in the children.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from heard.devices.wire import claims as ss
from heard.domain.shared import Lease, shared_state
from heard.mail.imap import Connection, Security, ServerSettings, connect

FOLDER = "INBOX"


def open_conn(port: int, user: str, password: str = "secret") -> Connection:
    return connect(ServerSettings("127.0.0.1", port, Security.PLAIN, user), password)


def now() -> datetime:
    return datetime.now(UTC)


def context() -> Any:
    return multiprocessing.get_context("spawn")


def outcome(result: ss.ClaimResult) -> tuple[str, str]:
    if isinstance(result, ss.LostTo):
        return "lost", result.owner
    if isinstance(result, ss.AlreadyDone):
        return "done", result.kind.value
    if isinstance(result, ss.Unsure):
        return "unsure", result.owner or ""
    if isinstance(result, ss.Claimed):
        return "claimed", "contended" if result.contended else ""
    return type(result).__name__.lower(), ""


def racer(port: int, user: str, name: str, count: int, barrier: Any, results: Any,
          first_uid: int = 1, batch: int = 1) -> None:
    """Claim messages first_uid.. first_uid+count-1, one at a time, all racers together
    (the coordinator APPENDs `batch` messages, then everyone passes the barrier and
    claims them in the same order). A winner
    marks the message sending, then acknowledged, as Heard would around its SMTP send.
    Then a retry pass over every message still waiting. Sends (name, [(uid, outcome,
    detail, seconds)], retried, winners_after_retry) to `results`."""
    conn = open_conn(port, user)
    caps = ss.detect(conn, FOLDER, name)
    lease = Lease(timedelta(minutes=10))
    record: list[tuple[int, str, str, float]] = []
    try:
        for uid in range(first_uid, first_uid + count):
            if (uid - first_uid) % batch == 0:
                barrier.wait(60)
            started = time.perf_counter()
            with ss.holding(conn, FOLDER):
                result = ss.claim(conn, FOLDER, uid, name, lambda: False, lease, now,
                                  caps=caps)
                took = time.perf_counter() - started
                kind, detail = outcome(result)
                if isinstance(result, ss.Claimed):
                    if not ss.mark_sending(conn, FOLDER, uid, name, caps=caps):
                        kind = "refused-sending"
                    else:
                        ss.mark(conn, FOLDER, uid, "acked")
            record.append((uid, kind, detail, took))
        barrier.wait(60)
        # Retry pass: a message nobody won (every contender stepped back) is claimed again.
        retried = 0
        late: list[int] = []
        delta = ss.flags_since(conn, FOLDER, None, None)
        for uid in range(first_uid, first_uid + count):
            state = shared_state(delta.changed.get(uid, frozenset()))
            if state.waiting and not state.sending:
                retried += 1
                result = ss.claim(conn, FOLDER, uid, name, lambda: False, lease, now,
                                  caps=caps)
                if isinstance(result, ss.Claimed) and ss.mark_sending(conn, FOLDER, uid,
                                                                       name, caps=caps):
                    ss.mark(conn, FOLDER, uid, "acked")
                    late.append(uid)
        results.put((name, record, retried, late))
    finally:
        conn.close()


def holder(port: int, user: str, name: str, claims: list[tuple[int, bool]], ready: Any
           ) -> None:
    """Claim each (uid, sending) and, when `sending`, mark it so, as an instance would
    just before SMTP; then report and wait to be killed (SIGKILL: no cleanup at all)."""
    conn = open_conn(port, user)
    lease = Lease(timedelta(minutes=10))
    got = []
    for uid, sending in claims:
        result = ss.claim(conn, FOLDER, uid, name, lambda: False, lease, now)
        if isinstance(result, ss.Claimed) and sending:
            ss.mark_sending(conn, FOLDER, uid, name)
        got.append((uid, outcome(result)[0]))
    ready.put((os.getpid(), got))
    time.sleep(600)


def start(target: Callable[..., None], *args: Any) -> Any:
    process = context().Process(target=target, args=args, daemon=True)
    process.start()
    return process


def unsafe_racer(port: int, user: str, name: str, count: int, barrier: Any, results: Any,
                 first_uid: int = 1) -> None:
    """What the protocol prevents, for reference: one shared keyword ($HeardClaimed) set
    with UNCHANGEDSINCE, "won" when the STORE says OK without MODIFIED and shows the flag
    (no per-instance token, no read-back). Sends (name, [uids won])."""
    from heard.domain.shared import CLAIMED
    from heard.mail.imap import commands as wire

    conn = open_conn(port, user)
    won: list[int] = []
    try:
        wire.select(conn, FOLDER)
        for uid in range(first_uid, first_uid + count):
            barrier.wait(60)
            wire.noop(conn)                   # see the message just appended
            read = wire.read_flags(conn, uid, modseq=True)
            if read is None or CLAIMED in read[0] or read[1] is None:
                continue
            reply = wire.store(conn, uid, b"+FLAGS", (CLAIMED,), read[1])
            if not reply.modified and reply.flags is not None and CLAIMED in reply.flags:
                won.append(uid)
        wire.leave(conn, FOLDER)
        results.put((name, won))
    finally:
        conn.close()
