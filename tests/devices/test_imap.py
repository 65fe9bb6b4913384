"""Heard on several devices of one mailbox (heard.devices.imap), end to end: real Dovecot,
real SMTP, the real keyring.

Two of the user's own devices: what one acknowledged, promised or noted as answered, the
other shows and reminds of. The assistant's own Heard, as a separate IMAP user with rights
on the professional's INBOX (Dovecot ACL, shared namespace): it sees the client waiting,
claims and answers, and the professional's Heard sees who did it. Several instances as
separate processes: racing, catching up, killed claimers taken over. And a server without
CONDSTORE, where the claim still guards.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from heard.config import ConfigFile
from heard.devices.coordinator import Claim, Where
from heard.domain.clients import Client
from heard.domain.clock import FixedClock
from heard.domain.ids import InquiryId
from heard.domain.inquiries import Inquiry, InquiryState
from heard.domain.outbox import OutboxState
from heard.engine import Engine, EngineError, EngineEvent
from heard.engine.results import AckResult
from heard.system.paths import Profile
from tests.support.devices import (
    CLIENT,
    client_writes,
    device_engine,
    inbox_flags,
    inquiry_of,
    new_inquiry_on,
    office_engine,
)
from tests.support.dovecot import Dovecot, MailUser
from tests.support.imap import sending_profile
from tests.support.mail import SAM
from tests.support.scenes import ACK, Scene, copies
from tests.support.smtp import FaultySmtp

pytestmark = pytest.mark.usefixtures("real_keyring")

# SAM, the assistant's address, is outside the test mail server, whose SMTP keeps what it
# is sent to other domains: the professional's [[assistants]] and the assistant's own [user].

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
        result = engine.replies.acknowledge(inquiry_id, only=True)   # each message races
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


@contextmanager
def _devices(tmp_path: Path, me: MailUser, smtp: FaultySmtp) -> Iterator[tuple[Engine, Engine]]:
    """The desk and the laptop, both synced once."""
    desk = office_engine(tmp_path, me, smtp, "desk")
    lap = office_engine(tmp_path, me, smtp, "lap")
    try:
        desk.sync()
        lap.sync()
        yield desk, lap
    finally:
        desk.close()
        lap.close()


ZONE = ZoneInfo("Europe/Berlin")   # the profiles' zone (tests/support/imap.imap_profile)


@dataclass
class Office:
    pro: MailUser
    asst: MailUser
    desk: Engine       # the professional's Heard
    helper: Engine     # the assistant's Heard, on shared/<pro>/INBOX

    def client_writes(self, subject: str = "Closing documents") -> str:
        return client_writes(self.pro, subject=subject, sender=CLIENT)


@pytest.fixture
def office(tmp_path: Path, shared_dovecot: Dovecot, faulty_smtp: FaultySmtp
           ) -> Iterator[Office]:
    pro, asst = shared_dovecot.add_user(), shared_dovecot.add_user()
    pro.append(b"From: a@b.example\r\nAuto-Submitted: auto-generated\r\nSubject: x\r\n\r\nx\r\n")
    asst.client().logout()
    conn = pro.client()
    conn.setacl("INBOX", asst.name, "lrswi")      # read, seen, keywords, insert
    conn.create_folder("Heard")                   # where the delegation records go
    conn.setacl("Heard", asst.name, "lr")
    conn.logout()
    desk = office_engine(tmp_path, pro, faulty_smtp, "desk")
    helper = office_engine(tmp_path, asst, faulty_smtp, "asst", f"shared/{pro.name}/INBOX")
    ConfigFile(helper.profile.config).set("user", "addresses", [asst.address, SAM])
    helper.reload_settings()
    yield Office(pro, asst, desk, helper)
    desk.close()
    helper.close()


def test_the_assistant_sees_claims_and_acknowledges_and_the_professional_sees_who(
        office: Office, faulty_smtp: FaultySmtp) -> None:
    message_id = office.client_writes()
    office.desk.sync()
    office.helper.sync()
    mine, theirs = inquiry_of(office.desk, message_id), inquiry_of(office.helper, message_id)
    assert office.helper.status().count == 1          # sees: the client waits for it too

    result = office.helper.replies.acknowledge(theirs)
    assert result.sent, result.error
    (sent,) = faulty_smtp.received
    reply = email.message_from_bytes(bytes(sent.original_content or b""),
                                     policy=email.policy.default)
    assert reply["To"].addresses[0].addr_spec == CLIENT
    assert reply["From"].addresses[0].addr_spec == office.asst.address
    assert reply["X-Heard-Acknowledges"] == message_id

    # The professional's Heard, not synced yet, tries the same client: the claim says no.
    with pytest.raises(EngineError, match="already acknowledged from another"):
        office.desk.replies.acknowledge(mine)
    events: list[str] = []
    office.desk.subscribe(lambda event: events.append(event.kind))
    office.desk.sync()
    inquiry = office.desk.store.inquiry(mine)
    assert inquiry is not None and inquiry.state is InquiryState.ACKNOWLEDGED
    assert office.desk.store.owners()[mine] == "asst"    # who took care of it
    assert office.desk.status().count == 0
    assert len(faulty_smtp.received) == 1                 # never twice
    (handled,) = _status_json(office.desk)["handled_elsewhere"]
    assert (handled["inquiry"], handled["state"], handled["by"]) == \
        (mine, "acknowledged", "asst")
    assert _status_json(office.helper)["handled_elsewhere"] == []   # its own doing
    office.desk.inquiries.mark_answered(InquiryId(mine))       # the professional then calls her
    assert _status_json(office.desk)["handled_elsewhere"] == []     # done here, last


def test_the_professional_answers_first_and_the_assistant_stands_back(
        office: Office, faulty_smtp: FaultySmtp) -> None:
    message_id = office.client_writes()
    office.desk.sync()
    office.helper.sync()
    theirs = inquiry_of(office.helper, message_id)
    assert office.desk.replies.acknowledge(inquiry_of(office.desk, message_id)).sent
    with pytest.raises(EngineError, match="already acknowledged from another"):
        office.helper.replies.acknowledge(theirs)
    office.helper.sync()
    inquiry = office.helper.store.inquiry(theirs)
    assert inquiry is not None and inquiry.state is InquiryState.ACKNOWLEDGED
    assert office.helper.store.owners()[theirs] == "desk"
    assert office.helper.status().count == 0
    assert len(faulty_smtp.received) == 1


def test_a_delegation_shows_on_the_assistants_heard_with_its_due_time_and_note(
        office: Office, faulty_smtp: FaultySmtp) -> None:
    ConfigFile(office.desk.profile.config).append(
        "assistants", {"name": "Sam Reed", "address": SAM})
    office.desk.reload_settings()
    message_id = office.client_writes("Lease renewal")
    office.desk.sync()
    office.helper.sync()
    mine, theirs = inquiry_of(office.desk, message_id), inquiry_of(office.helper, message_id)
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=3)
    result = office.desk.replies.delegate(InquiryId(mine), note="Call her about the"
                                  " lease, she prefers mornings", due=due, tell_client=False)
    assert result.sent, result
    (forward,) = faulty_smtp.received
    assert forward.rcpt_tos == [SAM]

    events: list[str] = []
    office.helper.subscribe(lambda event: events.append(event.kind))
    office.helper.sync()
    inquiry = office.helper.store.inquiry(theirs)
    assert inquiry is not None and inquiry.state is InquiryState.DELEGATED
    (view,) = office.helper.status().assigned
    assert view.to_me and view.assignment.inquiry_id == theirs
    assert view.assignment.due == due and view.assignment.by == "desk"
    assert view.assignment.note.startswith("Call her about the lease")
    assert view.client is not None and view.client.name == "Margaret Hale"
    assert office.helper.status().count == 0          # not waiting: handed to the assistant
    assert "changed" in events
    # The same, scripted; and nothing on the professional's own devices' "to me" list.
    shown = _status_json(office.helper)["assigned"]
    assert [(a["to_me"], a["by"], a["subject"], a["due"][:16]) for a in shown] == [
        (True, "desk", "Lease renewal", due.astimezone(ZONE).isoformat()[:16])]
    assert office.desk.status().assigned == []
    # Filing in Sent may be retried: the record is written once all the same.
    where = office.desk.devices.where(office.desk.store.inquiry(InquiryId(mine)))  # type: ignore[arg-type]
    assert where is not None
    office.desk.devices.record_delegation(where, InquiryId(mine))
    conn = office.pro.client()
    try:
        conn.select_folder("Heard", readonly=True)
        assert len(conn.search(["HEADER", "X-Heard-Delegation", ""])) == 1
    finally:
        conn.logout()

    # The assistant calls her, and marks it answered: the professional's Heard follows.
    office.helper.inquiries.mark_answered(InquiryId(theirs))
    assert office.helper.status().assigned == []
    office.desk.sync()
    inquiry = office.desk.store.inquiry(mine)
    assert inquiry is not None and inquiry.state is InquiryState.ANSWERED
    assert office.desk.store.open_delegations() == []      # no "has not taken it up"


def test_the_assistant_is_reminded_once_when_a_delegation_falls_due(
        office: Office, faulty_smtp: FaultySmtp) -> None:
    ConfigFile(office.desk.profile.config).append(
        "assistants", {"name": "Sam Reed", "address": SAM})
    office.desk.reload_settings()
    message_id = office.client_writes()
    office.desk.sync()
    office.helper.sync()
    due = datetime.now(UTC) + timedelta(seconds=1)
    assert office.desk.replies.delegate(inquiry_of(office.desk, message_id), due=due,
                                tell_client=False).sent
    office.helper.sync()
    office.helper.sync()
    assert office.helper.status().assigned[0].to_me
    time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()) + 0.1)
    toasts = office.helper.reminders.alerts()
    assert [t for t in toasts if t[0] == "Due: Margaret Hale"], toasts
    assert not [t for t in office.helper.reminders.alerts() if t[0].startswith("Due:")]   # once


def _status_json(engine: Engine) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-m", "heard", "status", "--json", "--profile",
                          str(engine.profile.root)], capture_output=True, text=True,
                         check=True)
    return dict(json.loads(out.stdout))


def test_the_promise_an_acknowledgement_made_on_one_device_is_kept_on_the_other(
        tmp_path: Path, shared_dovecot: Dovecot, faulty_smtp: FaultySmtp) -> None:
    me = shared_dovecot.add_user()
    message_id = client_writes(me)
    with _devices(tmp_path, me, faulty_smtp) as (desk, lap):
        reply_by = (datetime.now(UTC) + timedelta(hours=2)).replace(second=0, microsecond=0)
        result = desk.replies.acknowledge(inquiry_of(desk, message_id), reply_by=reply_by)
        assert result.sent, result.error

        lap.sync()
        mine = lap.store.inquiry(inquiry_of(lap, message_id))
        assert mine is not None and mine.state is InquiryState.ACKNOWLEDGED
        (promise,) = lap.status().promises
        assert promise.promise.due == reply_by and promise.promise.inquiry_id == mine.id
        assert promise.promise.text.startswith("reply by ")
        lap.sync()                                   # read again: still one promise
        assert len(lap.status().promises) == 1
        assert len(desk.status().promises) == 1      # and the sender's own is not doubled
        desk.sync()
        assert len(desk.status().promises) == 1


@pytest.mark.parametrize("server", ["shared_dovecot", "plain_dovecot"])
def test_an_answer_noted_on_one_device_does_not_close_a_follow_up_on_another(
        tmp_path: Path, faulty_smtp: FaultySmtp, server: str,
        request: pytest.FixtureRequest) -> None:
    dovecot: Dovecot = request.getfixturevalue(server)   # with CONDSTORE, and without
    me = dovecot.add_user()
    client_writes(me, "<m1@hale.example>")
    with _devices(tmp_path, me, faulty_smtp) as (desk, lap):
        on_lap = inquiry_of(lap, "<m1@hale.example>")
        desk.inquiries.mark_answered(inquiry_of(desk, "<m1@hale.example>"))   # she was called back
        lap.sync()
        first = lap.store.inquiry(on_lap)
        assert first is not None and first.state is InquiryState.ANSWERED   # follows
        client_writes(me, "<m2@hale.example>", "<m1@hale.example>")  # ... and writes again
        for _ in range(2):                     # a second sync re-reads every \Answered
            desk.sync()                        # without CONDSTORE
            lap.sync()
        assert desk.status().count == 1 and lap.status().count == 1


def test_answered_on_a_thread_with_a_follow_up_reaches_the_other_device(
        tmp_path: Path, shared_dovecot: Dovecot, faulty_smtp: FaultySmtp) -> None:
    me = shared_dovecot.add_user()
    client_writes(me, "<f1@hale.example>")
    client_writes(me, "<f2@hale.example>", "<f1@hale.example>")
    with _devices(tmp_path, me, faulty_smtp) as (desk, lap):
        assert desk.status().count == 1 and lap.status().count == 1   # one inquiry each
        (item,) = desk.status().waiting
        assert item.inquiry.id is not None
        desk.inquiries.mark_answered(item.inquiry.id)      # the answer is to her latest message
        lap.sync()
        assert lap.status().count == 0


def test_an_undone_claim_is_nobodys_again_on_the_other_device(
        tmp_path: Path, shared_dovecot: Dovecot, faulty_smtp: FaultySmtp) -> None:
    me = shared_dovecot.add_user()
    message_id = client_writes(me)
    with _devices(tmp_path, me, faulty_smtp) as (desk, lap):
        on_desk = inquiry_of(desk, message_id)
        held = lap.replies.acknowledge(inquiry_of(lap, message_id), delay=timedelta(minutes=1))
        assert held.state == "queued"             # claimed, waiting for the window's Undo
        desk.sync()
        assert desk.status().owners.get(on_desk) == "lap"
        lap.outbox.cancel(held.message_id)           # Undo: the claim is released
        desk.sync()
        assert on_desk not in desk.status().owners
        assert desk.replies.acknowledge(on_desk).sent      # and the desk may answer her
        assert len(faulty_smtp.received) == 1


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


def test_three_instances_acknowledging_a_client_at_once_send_one_reply_for_all(
        team: tuple[MailUser, MailUser, list[Profile]]) -> None:
    """The client is the unit: Megge writes three times; three instances acknowledge her at
    once, each through another of her messages. One reply reaches her, and every instance
    sees all three acknowledged."""
    me, client, profiles = team
    for n in range(3):
        me.append(_client_mail(me, client, 100 + n))
    procs = [subprocess.Popen([sys.executable, "-c", CLIENT_RACE, str(p.root), str(k)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for k, p in enumerate(profiles)]
    results = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err[-2000:] for _out, err in results]
    assert sorted(out.strip() for out, _err in results) == ["refused", "refused", "sent"]
    assert sum(_acks(client).values()) == 1                     # one mail, not three
    for profile in profiles:
        engine = Engine.open(profile)
        try:
            engine.sync()
            assert engine.status().count == 0, profile.root.name
            assert len(engine.status().waiting) == 0
        finally:
            engine.close()


CLIENT_RACE = """
import sys
from heard.engine import Engine, EngineError
from heard.system.paths import Profile

engine = Engine.open(Profile.locate(sys.argv[1]))
engine.sync()
waiting = sorted(item.inquiry.received_at.isoformat() + " " + str(item.inquiry.id)
                 for item in engine.status().waiting)
# each instance through another of her messages
inquiry_id = int(waiting[int(sys.argv[2]) % len(waiting)].split()[1])
try:
    print("sent" if engine.replies.acknowledge(inquiry_id).sent else "not sent")
except EngineError:
    print("refused")
engine.close()
"""


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
            busy.replies.acknowledge(inquiry_id, only=True)   # one message at a time
        for inquiry_id in waiting[20:25]:
            assert inquiry_id is not None
            busy.inquiries.dismiss(inquiry_id, only=True)
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


def test_without_condstore_the_claim_still_guards_and_marks(
        tmp_path: Path, plain_dovecot: Dovecot, faulty_smtp: FaultySmtp) -> None:
    me = plain_dovecot.add_user()
    engine = device_engine(tmp_path, me, faulty_smtp, "desk")
    try:
        (account,) = engine.settings.accounts
        assert "CONDSTORE" in engine.devices.imap.describe(account)   # says what is missing
        assert engine.replies.acknowledge(new_inquiry_on(engine, me)).sent
        flags = inbox_flags(me)
        assert {"$HeardAcked", "$HeardBy_desk"} <= flags
        assert "$HeardSending" not in flags     # settled by the done mark
    finally:
        engine.close()


# Two processes of one device (the tray and `heard ack` in a terminal, a double click and
# a toast): one claim token, the instance's, shared by both. Here the second process is a
# second engine on the same profile, and each test makes the interleaving the race would
# make, by running the first process's click inside the second's claim.

def test_two_acknowledgements_of_one_client_on_one_device_at_once_send_it_exactly_once(
        faulty_scene: Scene, faulty_smtp: FaultySmtp, monkeypatch: pytest.MonkeyPatch
        ) -> None:
    """`heard ack 2 & heard ack 2`: both find the claim this device's; the script loses
    the store's race to the tray. Letting go of the claim it took for its own must not take
    it from the tray, whose reply (held for Undo) must then go out, once."""
    scene = faulty_scene
    inquiry_id, client_mid = scene.client_writes()
    script = Engine.open(scene.engine.profile, scene.clock)
    held: list[AckResult] = []
    claim = script.devices.claim

    def tray_acknowledges_meanwhile(inquiry: Inquiry) -> Claim:
        claimed = claim(inquiry)
        held.append(scene.engine.replies.acknowledge(inquiry_id, delay=timedelta(seconds=10)))
        return claimed

    monkeypatch.setattr(script.devices, "claim", tray_acknowledges_meanwhile)
    try:
        with pytest.raises(EngineError) as lost:
            script.replies.acknowledge(inquiry_id)
    finally:
        script.close()
    assert "another of your devices" not in str(lost.value)
    (tray,) = held
    outcome = scene.engine.replies.send_queued(tray.message_id)
    assert outcome.state is OutboxState.FILED, outcome
    assert len(copies(scene.client, "INBOX", ACK, client_mid)) == 1
    assert len(copies(scene.me, "Sent", ACK, client_mid)) == 1
    assert len(faulty_smtp.received) == 1
    status = scene.engine.status()
    assert status.count == 0 and [p.promise.inquiry_id for p in status.promises] == [inquiry_id]


def test_the_second_click_on_one_device_says_this_device_answered_not_another(
        faulty_scene: Scene, faulty_smtp: FaultySmtp, monkeypatch: pytest.MonkeyPatch
        ) -> None:
    """The script found the client waiting; before its claim the tray's reply went out."""
    scene = faulty_scene
    inquiry_id, client_mid = scene.client_writes()
    script = Engine.open(scene.engine.profile, scene.clock)
    claim = script.devices.claim

    def tray_acknowledges_first(inquiry: Inquiry) -> Claim:
        assert scene.engine.replies.acknowledge(inquiry_id).sent
        return claim(inquiry)

    monkeypatch.setattr(script.devices, "claim", tray_acknowledges_first)
    try:
        with pytest.raises(EngineError) as lost:
            script.replies.acknowledge(inquiry_id)
    finally:
        script.close()
    assert "another of your devices" not in str(lost.value)
    assert "this device" in str(lost.value)
    assert len(copies(scene.client, "INBOX", ACK, client_mid)) == 1
    assert len(faulty_smtp.received) == 1
    assert scene.engine.status().count == 0


def test_a_click_that_fails_in_one_process_leaves_the_claim_to_the_other(
        faulty_scene: Scene, faulty_smtp: FaultySmtp, monkeypatch: pytest.MonkeyPatch
        ) -> None:
    """The script claims after the tray did (the same token) and fails before the tray has
    written its reply: it lets the token go. The tray claims the message again before SMTP
    and its reply goes out, once."""
    scene = faulty_scene
    inquiry_id, client_mid = scene.client_writes()
    script = Engine.open(scene.engine.profile, scene.clock)
    claim = scene.engine.devices.claim
    failed: list[Exception] = []

    def script_fails_meanwhile(inquiry: Inquiry) -> Claim:
        claimed = claim(inquiry)
        with pytest.raises(EngineError, match="no template") as refused:
            script.replies.acknowledge(inquiry_id, template="no-such-template")
        failed.append(refused.value)
        return claimed

    monkeypatch.setattr(scene.engine.devices, "claim", script_fails_meanwhile)
    try:
        result = scene.engine.replies.acknowledge(inquiry_id)
    finally:
        script.close()
    assert failed and (result.sent, result.state) == (True, "filed"), result
    assert len(copies(scene.client, "INBOX", ACK, client_mid)) == 1
    assert len(faulty_smtp.received) == 1
    flags = inbox_flags(scene.me)
    assert "$HeardAcked" in flags and "$HeardSending" not in flags


def test_an_undo_in_another_process_during_a_send_leaves_no_sending_mark(
        faulty_scene: Scene, faulty_smtp: FaultySmtp, monkeypatch: pytest.MonkeyPatch
        ) -> None:
    """A flush (here: `heard sync`) marks the held reply as being sent; the tray's Undo
    comes before the flush's last word: nothing goes out, and the client's message must not
    keep a sending mark (other devices would call it unsure for good)."""
    scene = faulty_scene
    inquiry_id, _client_mid = scene.client_writes()
    held = scene.engine.replies.acknowledge(inquiry_id, delay=timedelta(seconds=10))
    script = Engine.open(scene.engine.profile, scene.clock)
    sending = script.devices.sending

    def undone_meanwhile(where: Where) -> bool:
        holds = sending(where)
        scene.engine.outbox.cancel(held.message_id)
        return holds

    monkeypatch.setattr(script.devices, "sending", undone_meanwhile)
    try:
        outcome = script.replies.send_queued(held.message_id)
    finally:
        script.close()
    assert outcome.state is OutboxState.CANCELLED
    assert faulty_smtp.received == []
    flags = inbox_flags(scene.me)
    assert not any(f.startswith("$Heard") for f in flags), flags
    assert scene.engine.status().count == 1


def test_a_reply_held_past_the_lease_and_taken_over_is_not_sent_and_the_client_waits_here(
        tmp_path: Path, dovecot: Dovecot, faulty_smtp: FaultySmtp) -> None:
    """The desk holds its reply (Undo) longer than the lease; the laptop takes the claim
    over and answers. The desk's reply must not go out, even though it claims again when
    its token is gone, and the desk must not keep a promise for a reply it never sent."""
    me = dovecot.add_user()
    desk = device_engine(tmp_path, me, faulty_smtp, "desk")
    lap = device_engine(tmp_path, me, faulty_smtp, "lap")
    clock = FixedClock(datetime.now(UTC))
    lap.close()
    lap = Engine.open(lap.profile, clock)
    try:
        on_desk = new_inquiry_on(desk, me)
        (on_lap,) = lap.sync().new_inquiries
        held = desk.replies.acknowledge(InquiryId(on_desk), delay=timedelta(minutes=30))
        with pytest.raises(EngineError, match="'desk' is already answering"):
            lap.replies.acknowledge(on_lap)
        clock.advance(timedelta(minutes=11))
        assert lap.replies.acknowledge(on_lap).sent       # taken over: the desk seems gone
        outcome = desk.replies.send_queued(held.message_id)
        assert outcome.state is OutboxState.CANCELLED, outcome
        assert len(faulty_smtp.received) == 1
        assert desk.status().promises == []
        desk.sync()                                        # and learns who answered
        assert desk.store.inquiry(InquiryId(on_desk)).state is InquiryState.ACKNOWLEDGED  # type: ignore[union-attr]
        assert desk.status().count == 0
    finally:
        desk.close()
        lap.close()
