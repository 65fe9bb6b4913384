"""A claimer that dies: another instance takes over only after a whole lease of watching
the same claim, and only when Sent holds no reply; a claimer that died after it may have
handed the reply to SMTP leaves an "unsure" message, never a second send."""

from __future__ import annotations

import os
import signal
from datetime import UTC, datetime, timedelta

from heard.devices.wire import claims as ss
from heard.domain.shared import SENDING, Done, Lease, owners
from heard.mail.imap import Connection
from tests.support.devices import client_message, connection
from tests.support.dovecot import MailUser
from tests.support.instances import context, holder

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
