"""Several Heard instances on one mailbox, as separate processes, end to end: real
Dovecot, a real SMTP server delivering to the client's mailbox, the real keyring."""

from __future__ import annotations

import email.utils
import os
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.parser import BytesHeaderParser
from pathlib import Path

import pytest

from heard.config import ConfigFile
from heard.domain.clients import Client
from heard.domain.clock import FixedClock
from heard.engine import Engine, EngineError, EngineEvent
from heard.system.paths import Profile
from tests.support.dovecot import Dovecot, MailUser
from tests.support.imap import sending_profile
from tests.support.smtp import FaultySmtp

RACE = """
import random, sys
from heard.engine import Engine, EngineError
from heard.system.paths import Profile

engine = Engine.open(Profile.locate(sys.argv[1]))
engine.sync()
ids = [item.inquiry.id for item in engine.status().waiting]
random.Random(sys.argv[2]).shuffle(ids)
sent = refused = 0
reasons = {}
for inquiry_id in ids:
    try:
        result = engine.replies.acknowledge(inquiry_id)
        sent += result.sent
        if not result.sent:
            reasons[result.state] = reasons.get(result.state, 0) + 1
    except EngineError as exc:
        refused += 1
        reason = str(exc).split(";")[0][:60]
        reasons[reason] = reasons.get(reason, 0) + 1
# A busy machine may make the SMTP server answer "try again later": the outbox retries
# (30 s on), as it would for the user; what counts is what went out in the end.
import time
deadline = time.monotonic() + 180
while time.monotonic() < deadline and any(
        i.state.value == "queued" for i in engine.outbox_items()):
    time.sleep(2)
    engine.retry_outbox()
sent = sum(1 for i in engine.outbox_items(everything=True)
           if i.state.value in ("sent", "filed"))
engine.close()
print(sent, refused, reasons)
"""


def _client_mail(me: MailUser, client: MailUser, n: int) -> bytes:
    date = email.utils.format_datetime(datetime.now(UTC))
    return (f"From: Margaret Hale <{client.address}>\r\nTo: {me.address}\r\n"
            f"Subject: Matter {n}\r\nMessage-ID: <m{n}-{os.getpid()}@hale.example>\r\n"
            f"Date: {date}\r\n\r\nCould you look at matter {n}?\r\n").encode()


def _instance(root: Path, me: MailUser, client: MailUser, smtp: FaultySmtp,
              name: str) -> Profile:
    profile = sending_profile(root / name, me, smtp.port, smtp.cert)
    ConfigFile(profile.config).set("sharing", "instance", name)
    engine = Engine.open(profile)
    try:
        engine.clients.add(Client("Margaret Hale", emails=(client.address,),
                                 preferred_name="Megge", tier="vip"))
    finally:
        engine.close()
    return profile


def _acks(user: MailUser) -> Counter[str]:
    """How many acknowledgements of each client message are in the user's INBOX."""
    conn = user.client()
    try:
        conn.select_folder("INBOX", readonly=True)
        uids = conn.search(["HEADER", "X-Heard-Acknowledges", ""])
        found: Counter[str] = Counter()
        for start in range(0, len(uids), 500):
            data = conn.fetch(uids[start:start + 500], ["BODY.PEEK[HEADER]"])
            for item in data.values():
                head = BytesHeaderParser().parsebytes(item[b"BODY[HEADER]"])
                found[str(head["X-Heard-Acknowledges"])] += 1
        return found
    finally:
        conn.logout()


@pytest.fixture
def team(tmp_path: Path, dovecot: Dovecot, faulty_smtp: FaultySmtp,
         real_keyring: object) -> Iterator[tuple[MailUser, MailUser, list[Profile]]]:
    me, client = dovecot.add_user(), dovecot.add_user()
    profiles = [_instance(tmp_path, me, client, faulty_smtp, name) for name in ("a", "b", "c")]
    yield me, client, profiles


MESSAGES = int(os.environ.get("HEARD_RACE_MESSAGES", "500"))


def test_three_instances_racing_send_exactly_one_acknowledgement_each(
        team: tuple[MailUser, MailUser, list[Profile]]) -> None:
    me, client, profiles = team
    sent_ids = set()
    for n in range(MESSAGES):
        raw = _client_mail(me, client, n)
        me.append(raw)
        sent_ids.add(str(BytesHeaderParser().parsebytes(raw)["Message-ID"]))
    procs = [subprocess.Popen([sys.executable, "-c", RACE, str(p.root), p.root.name],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for p in profiles]
    results = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err[-2000:] for _out, err in results]
    sent = [int(out.split()[0]) for out, _err in results]
    assert sum(sent) == MESSAGES, [out for out, _err in results]  # every client heard back
    acks = _acks(client)
    assert set(acks) == sent_ids                 # ... about every message ...
    assert max(acks.values()) == 1               # ... exactly once, in the client's mailbox
    assert sum(1 for s in sent if s) >= 2        # and the instances really raced


def test_an_acknowledgement_on_one_instance_clears_the_others(
        team: tuple[MailUser, MailUser, list[Profile]]) -> None:
    me, client, (first, second, _third) = team
    me.append(_client_mail(me, client, 1))
    watching = Engine.open(second)
    try:
        watching.sync()
        assert watching.status().count == 1
        changed = threading.Event()

        def on_event(event: EngineEvent) -> None:
            if event.kind == "changed" and watching.status().count == 0:
                changed.set()

        watching.subscribe(on_event)
        watching.start_watching()
        acker = Engine.open(first)
        try:
            acker.sync()
            (item,) = acker.status().waiting
            assert item.inquiry.id is not None and acker.replies.acknowledge(item.inquiry.id).sent
        finally:
            acker.close()
        assert changed.wait(60), "the watching instance never saw the acknowledgement"
        assert watching.status().count == 0
        # And it will not answer the client a second time.
        (inquiry,) = [i for i in watching.store.open_inquiries()]
        assert inquiry.state.value == "acknowledged"
    finally:
        watching.close()


def test_an_instance_away_during_many_changes_catches_up(
        team: tuple[MailUser, MailUser, list[Profile]]) -> None:
    me, client, (first, second, _third) = team
    for n in range(30):
        me.append(_client_mail(me, client, n))
    away = Engine.open(second)
    try:
        away.sync()
        assert away.status().count == 1 and len(away.status().waiting) == 30
    finally:
        away.close()
    busy = Engine.open(first)
    try:
        busy.sync()
        waiting = [i.inquiry.id for i in busy.status().waiting]
        for inquiry_id in waiting[:20]:
            assert inquiry_id is not None
            busy.replies.acknowledge(inquiry_id)
        for inquiry_id in waiting[20:25]:
            assert inquiry_id is not None
            busy.inquiries.dismiss(inquiry_id)
    finally:
        busy.close()
    back = Engine.open(second)
    try:
        back.sync()
        states = Counter(i.state.value for i in back.store.inquiries_between(
            datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)))
        assert states == {"acknowledged": 20, "dismissed": 5, "waiting": 5}
        assert set(back.status().owners.values()) == {"a"}
    finally:
        back.close()


def _killed_claimer(team: tuple[MailUser, MailUser, list[Profile]], step: str
                    ) -> tuple[MailUser, Profile, Engine, FixedClock, int]:
    """Instance a claims a new client message and is SIGKILLed at `step` of its outbox;
    instance b (on a clock the test moves) has synced the same message."""
    from heard.engine.context import CRASH_ENV

    me, client, (first, second, _third) = team
    me.append(_client_mail(me, client, 1))
    prepare = Engine.open(first)
    try:
        (inquiry_id,) = prepare.sync().new_inquiries
    finally:
        prepare.close()
    killed = subprocess.run(
        [sys.executable, "-m", "heard", "--profile", str(first.root), "ack", str(inquiry_id)],
        env={**os.environ, CRASH_ENV: step}, capture_output=True, text=True, timeout=120)
    assert killed.returncode == -9, killed.stderr
    clock = FixedClock(datetime.now(UTC))
    other = Engine.open(second, clock)
    (theirs,) = other.sync().new_inquiries
    return client, first, other, clock, int(theirs)


def test_a_claimer_killed_before_sending_is_taken_over_after_the_lease_and_sends_once(
        team: tuple[MailUser, MailUser, list[Profile]], faulty_smtp: FaultySmtp) -> None:
    client, first, other, clock, theirs = _killed_claimer(team, "queued")
    try:
        with pytest.raises(EngineError, match="'a' is already answering"):
            other.replies.acknowledge(theirs)                     # within the lease: hands off
        clock.advance(timedelta(minutes=11))
        assert other.replies.acknowledge(theirs).sent             # after it, and Sent is empty
    finally:
        other.close()
    restarted = subprocess.run(
        [sys.executable, "-m", "heard", "--profile", str(first.root), "outbox", "flush"],
        capture_output=True, text=True, timeout=120)
    assert restarted.returncode == 0, restarted.stderr
    assert list(_acks(client).values()) == [1]            # the client got exactly one
    assert len(faulty_smtp.received) == 1


def test_a_claimer_killed_after_smtp_and_before_filing_is_unsure_never_sent_twice(
        team: tuple[MailUser, MailUser, list[Profile]], faulty_smtp: FaultySmtp) -> None:
    client, _first, other, clock, theirs = _killed_claimer(team, "sent")
    try:
        with pytest.raises(EngineError):
            other.replies.acknowledge(theirs)
        clock.advance(timedelta(minutes=11))
        with pytest.raises(EngineError, match="settle it"):
            other.replies.acknowledge(theirs)                     # unsure: never a guess
    finally:
        other.close()
    assert len(faulty_smtp.received) == 1
    assert list(_acks(client).values()) == [1]
