"""The outbox as a state machine: a process killed at any step, and still exactly once.

A hypothesis RuleBasedStateMachine drives the public Engine (the facade, and the replies
and outbox services it exposes) on a profile with one local Maildir account (replies are
delivered into an outbox Maildir and filed in Sent), for three clients who each wrote
once. Its rules are what the user and the app do: acknowledge (now, or held back for
Undo), Undo (the outbox's cancel), send a held reply now (send_queued), resend, mark sent,
flush (retry_outbox and sync), let time pass, lose and get back the outbox folder (every
send then fails and is retried), restart the app, and run a send in a process that is
killed.

How a kill is modelled: for real. A killed step runs in a child process (its own Python,
which loads Heard and then opens its own Engine on the same profile, at the parent's fixed
clock time) with heard.engine.context.CRASH_ENV (HEARD_TEST_CRASH_AT) naming a state: the
engine's own crash_point() SIGKILLs the child the moment that state is committed, as in
tests/engine/test_outbox.py. Nothing is simulated, so nothing can be simulated wrong: the
SQLite rows and the Maildir files are whatever a dead process leaves, and a SENDING row's
claim names a process that is really gone (reaped, its pid free), so the next flush has to
tell a dead sender from a live one exactly as after a crash in the field. (Each child is started one
step ahead and loads meanwhile; it reads its order only then. That only hides start-up
time: the claims still name the child, which computed its own token when it loaded.)
After a kill the app either restarts (the tray was closed and `heard ack` died) or carries
on with its Engine open (the tray kept running while a `heard ack` in a terminal died). A
kill between steps is the `restart` rule: every step commits before it returns, so a
process killed while idle leaves exactly what a clean close leaves.

Kill points are the states the outbox commits: queued, sending, sent and filed. For each
killed step the machine predicts whether the kill comes and, if it does, checks that the
row it was working on says exactly that state (and no other row moved). A send goes
SENDING -> SENT (the outbox Maildir has it: the client has it) -> FILED (the copy is in
Sent), as over SMTP. The transport is idempotent on the Message-ID, so a send cut short is
sent again rather than left UNSURE: here no reply is ever UNSURE or FAILED, and mark_sent
(which settles an unsure one) is always refused; "the user settled an unsure one" cannot
arise. Unsure sends over SMTP are tested in tests/engine/test_outbox.py.

Invariants, after every step: each client is either waiting (in the status's waiting list,
the inquiry WAITING) or acknowledged (a promise, the inquiry ACKNOWLEDGED), never neither
and never both; no client ever has two replies, in the outbox or in Sent; a reply that can
still be undone (QUEUED) or was undone (CANCELLED) has reached no one; a FILED reply is in
the outbox and in Sent once; each acknowledged client has exactly one live reply, and it is
the one the model expects. At the end, after the outbox folder is back, the clock is past
every hold, back-off and lease, and the app restarted, one flush settles everything: every
acknowledged client has exactly one reply, every undone one none.

The outbox folder and the Sent folder can each be lost and come back: a lost outbox makes
a send fail before anything is written (the reply waits for its retry); a lost Sent leaves
a delivered reply SENT (the client has it; only the copy waits), which Undo can no longer
take back (test_undo_cannot_take_back_a_reply_the_client_has_when_sent_cannot_be_written
below shows that case alone).
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from email import policy
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from heard.config import ConfigFile
from heard.domain.clients import Client
from heard.domain.clock import FixedClock
from heard.domain.ids import InquiryId
from heard.domain.inquiries import InquiryState
from heard.domain.outbox import OutboxItem, OutboxState
from heard.engine import Engine, EngineError, NotWaiting
from heard.engine.context import CRASH_ENV
from heard.mail.maildir import Maildir
from heard.system.paths import Profile
from tests.conftest import CLIENTS, NOW
from tests.support.mail import MailFolders, drop, message

# The Undo window of a held-back acknowledgement.
HOLD = timedelta(seconds=10)
# Past every hold, every retry's back-off (at most 15 minutes) and a dead sender's lease.
SETTLE = timedelta(hours=1)

WRITERS = (
    ("Margaret Hale <margaret@hale.example>", "<q1@hale.example>", "Lease"),
    ("Rajesh Patel <raj@patel-eng.example>", "<q2@patel-eng.example>", "Drawings"),
    ("Theo Brandt <theo@brandt.example>", "<q3@brandt.example>", "Invoice"),
)
THEO = Client("Theo Brandt", emails=("theo@brandt.example",))

# One step of the app in a process of its own. It loads Python and Heard first (which takes
# longer than the step: the machine goes on meanwhile), then reads its order: the profile,
# the parent's clock time (it opens the profile as the app would at that moment), the step,
# and HEARD_TEST_CRASH_AT, which kills it at that state. An empty order: not needed after all.
CHILD = """
import json
import os
import sys
from datetime import datetime, timedelta

import heard.engine.outbox  # noqa: F401  (loaded by this process: the claims name it)
import heard.engine.replies  # noqa: F401
from heard.domain.clock import FixedClock
from heard.engine import Engine
from heard.system.paths import Profile

line = sys.stdin.readline()
if not line:
    raise SystemExit(0)
order = json.loads(line)
os.environ.update(order["env"])
engine = Engine.open(Profile.locate(order["profile"]),
                     FixedClock(datetime.fromisoformat(order["now"])))
try:
    action, args = order["action"], order["args"]
    if action == "acknowledge":
        engine.replies.acknowledge(int(args[0]),
                                   delay=timedelta(seconds=float(args[1])))
    elif action == "send_queued":
        engine.replies.send_queued(args[0])
    elif action == "resend":
        engine.outbox.resend(args[0])
    elif action == "retry_outbox":
        engine.retry_outbox()
    else:
        raise SystemExit(f"unknown action {action!r}")
finally:
    engine.close()
"""


class Processes:
    """The child processes of the killed steps, each started (and loading) ahead of the
    step it will run: on a busy two-core machine that hides most of Python's start-up."""

    def __init__(self) -> None:
        self._ready: subprocess.Popen[str] | None = None

    def _start(self) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-c", CHILD], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})

    def run(self, order: dict[str, Any]) -> tuple[int, str]:
        """The child's exit status (negative: the signal that ended it) and its stderr."""
        child, self._ready = self._ready or self._start(), None
        _out, err = child.communicate(json.dumps(order) + "\n", timeout=120)
        self._ready = self._start()
        return child.returncode, err

    def close(self) -> None:
        if self._ready is not None:
            self._ready.communicate("", timeout=120)   # no order: it exits
            self._ready = None


KILL_WAYS = (("queued", True), ("queued", False), ("sending", False), ("sent", False),
             ("filed", False))
SEND_POINTS = ("sending", "sent", "filed")

F = TypeVar("F", bound=Callable[..., Any])


def maildir_profile(root: Path, mail: MailFolders) -> Profile:
    """The `profile` fixture's Maildir account, in a folder of one machine run's own."""
    profile = Profile(root)
    profile.create()
    file = ConfigFile(profile.config)
    file.set("user", "name", "Alex Morgan")
    file.set("user", "addresses", ["alex@morgan-law.example"])
    file.set("user", "timezone", "Europe/Berlin")
    file.append("accounts", {"name": "work", "kind": "maildir", "inbox": str(mail.inbox.path),
                             "sent": str(mail.sent.path), "outbox": str(mail.outbox.path),
                             "address": "alex@morgan-law.example"})
    return profile


def replies_in(folder: Path) -> Counter[str]:
    """How many copies of each of Heard's replies (by Message-ID) a Maildir folder holds."""
    parser = BytesHeaderParser(policy=policy.compat32)
    found: Counter[str] = Counter()
    for entry in Maildir(folder).entries():
        head = parser.parsebytes(entry.path.read_bytes())
        if head["X-Heard-Acknowledges"]:
            found[str(head["Message-ID"])] += 1
    return found


def guarded(step: F) -> F:
    """Remember that a step failed, so the teardown only cleans up after it (its own final
    checks would otherwise replace the failure hypothesis is shrinking)."""
    @functools.wraps(step)
    def run(self: OutboxMachine, *args: Any, **kwargs: Any) -> Any:
        try:
            return step(self, *args, **kwargs)
        except BaseException:
            self.failed = True
            raise
    return run  # type: ignore[return-value]


class OutboxMachine(RuleBasedStateMachine):
    # Set by the test: where each run makes its profile and Maildirs; the child processes.
    root: Path
    processes: Processes
    runs = itertools.count()

    def __init__(self) -> None:
        super().__init__()
        self.failed = False
        base = self.root / f"run{next(self.runs)}"
        self.mail = MailFolders.create(base / "mail")
        self.profile = maildir_profile(base / "profile", self.mail)
        self.clock = FixedClock(NOW)
        self.engine = Engine.open(self.profile, self.clock)
        for client in (CLIENTS[0], CLIENTS[1], THEO):
            self.engine.clients.add(client)
        for minutes, (sender, message_id, subject) in enumerate(WRITERS, start=1):
            drop(self.mail.inbox, message(sender, subject, message_id=message_id),
                 NOW - timedelta(minutes=10 - minutes))
        report = self.engine.sync()
        assert len(report.new_inquiries) == len(WRITERS), report
        self.inquiries: list[InquiryId] = list(report.new_inquiries)
        # The model: each acknowledged client's live reply; every reply ever queued, and
        # whose it is; the replies undone.
        self.live: dict[InquiryId, str] = {}
        self.replies: dict[str, InquiryId] = {}
        self.undone: set[str] = set()
        self.broken = False     # the outbox folder cannot be written
        self.sent_broken = False   # the Sent folder cannot be written

    # what the model and the world say

    @property
    def waiting(self) -> list[InquiryId]:
        return [i for i in self.inquiries if i not in self.live]

    @property
    def outbox_folder(self) -> Path:
        """Where the delivered replies are, also while the account's path is broken."""
        path = self.mail.outbox.path
        return path.with_name("Outbox.away") if self.broken else path

    @property
    def sent_folder(self) -> Path:
        """Where the filed copies are, also while the account's Sent path is broken."""
        path = self.mail.sent.path
        return path.with_name("Sent.away") if self.sent_broken else path

    @property
    def done(self) -> OutboxState:
        """Where a send that reached the client stops now: filed, unless Sent is lost."""
        return OutboxState.SENT if self.sent_broken else OutboxState.FILED

    def rows(self) -> dict[str, OutboxItem]:
        return {item.message_id: item for item in self.engine.outbox_items(everything=True)}

    def acknowledged(self, inquiry_id: InquiryId, message_id: str) -> None:
        assert message_id not in self.replies
        self.replies[message_id] = inquiry_id
        self.live[inquiry_id] = message_id

    def pick_reply(self, data: st.DataObject, state: OutboxState | None = None) -> str:
        rows = self.rows()
        # In the order they were made (their ids are random: a replayed draw must pick the
        # same reply).
        mids = [m for m in self.replies if state is None or rows[m].state is state]
        return data.draw(st.sampled_from(mids), label="reply")

    def has_state(self, *states: OutboxState) -> bool:
        return any(r.state in states for r in self.rows().values())

    def restart_engine(self) -> None:
        self.engine.close()
        self.engine = Engine.open(self.profile, self.clock)

    def in_a_killed_process(self, point: str, restart: bool, *args: str) -> bool:
        """Run one step in a child process killed at `point`; True if the kill came.

        With `restart` the app is closed around it and started again afterwards; otherwise
        it carries on, its Engine open the whole time."""
        if restart:
            self.engine.close()
        try:
            returncode, stderr = self.processes.run({
                "profile": str(self.profile.root), "now": self.clock.now().isoformat(),
                "env": {CRASH_ENV: point}, "action": args[0], "args": args[1:]})
        finally:
            if restart:
                self.engine = Engine.open(self.profile, self.clock)
        assert returncode in (0, -signal.SIGKILL), stderr
        return returncode == -signal.SIGKILL

    def check_flushed(self, before: dict[str, OutboxItem]) -> None:
        """After a flush: nothing is left mid-send, nothing due is left unsent (unless the
        outbox cannot be written: then it waits for its retry)."""
        now = self.clock.now()
        for mid, row in self.rows().items():
            assert row.state is not OutboxState.SENDING, row
            if row.state is OutboxState.QUEUED:
                assert row.next_try is not None and row.next_try > now, row
            was = before.get(mid)
            if not self.broken and was is not None and (
                    was.state in (OutboxState.SENDING, OutboxState.SENT) or was.due(now)):
                assert row.state is self.done, (was, row)

    # the user and the app

    @rule(data=st.data(), held=st.booleans())
    @guarded
    def acknowledge(self, data: st.DataObject, held: bool) -> None:
        inquiry_id = data.draw(st.sampled_from(self.inquiries), label="inquiry")
        delay = HOLD if held else timedelta(0)
        if inquiry_id in self.live:
            with pytest.raises(NotWaiting):
                self.engine.replies.acknowledge(inquiry_id, delay=delay)
            return
        result = self.engine.replies.acknowledge(inquiry_id, delay=delay)
        self.acknowledged(inquiry_id, result.message_id)
        expected = OutboxState.QUEUED if held or self.broken else self.done
        assert (result.state, result.sent) == (expected.value, expected is not OutboxState.QUEUED)

    @precondition(lambda self: bool(self.replies))
    @rule(data=st.data())
    @guarded
    def undo(self, data: st.DataObject) -> None:
        mid = self.pick_reply(data)
        before = self.rows()[mid]
        if before.state is OutboxState.QUEUED:
            self.engine.outbox.cancel(mid)
            assert self.rows()[mid].state is OutboxState.CANCELLED
            self.undone.add(mid)
            del self.live[self.replies[mid]]
        else:
            with pytest.raises(EngineError, match="this only works for queued or unsure"):
                self.engine.outbox.cancel(mid)
            assert self.rows()[mid] == before

    @precondition(lambda self: bool(self.replies))
    @rule(data=st.data())
    @guarded
    def send_now(self, data: st.DataObject) -> None:
        """The Undo window's "send now" (or its timer running out)."""
        mid = self.pick_reply(data)
        before = self.rows()[mid]
        outcome = self.engine.replies.send_queued(mid)
        expected = before.state
        if before.state is OutboxState.QUEUED:
            expected = OutboxState.QUEUED if self.broken else self.done
        assert outcome.state is expected
        assert self.rows()[mid].state is expected

    @precondition(lambda self: bool(self.replies))
    @rule(data=st.data())
    @guarded
    def resend(self, data: st.DataObject) -> None:
        mid = self.pick_reply(data)
        before = self.rows()[mid]
        if before.state is OutboxState.QUEUED:
            expected = OutboxState.QUEUED if self.broken else self.done
            assert self.engine.outbox.resend(mid).state is expected
        else:
            with pytest.raises(EngineError, match="this only works for unsure or queued"):
                self.engine.outbox.resend(mid)
            assert self.rows()[mid] == before

    @precondition(lambda self: bool(self.replies))
    @rule(data=st.data())
    @guarded
    def mark_sent(self, data: st.DataObject) -> None:
        """Only an unsure reply may be marked sent, and a Maildir send is never unsure: a
        held or retrying one must not be taken for sent (the client would get none)."""
        mid = self.pick_reply(data)
        before = self.rows()[mid]
        with pytest.raises(EngineError, match="this only works for unsure"):
            self.engine.outbox.mark_sent(mid)
        assert self.rows()[mid] == before

    @rule()
    @guarded
    def retry_outbox(self) -> None:
        before = self.rows()
        self.engine.retry_outbox()
        self.check_flushed(before)

    @rule()
    @guarded
    def sync(self) -> None:
        """A sync reads the replies filed in Sent too (Heard's own: answers nobody), then
        flushes the outbox."""
        before = self.rows()
        report = self.engine.sync()
        assert (report.new_inquiries, report.answered) == ([], [])
        self.check_flushed(before)

    @rule(by=st.sampled_from([timedelta(seconds=5), timedelta(seconds=11),
                              timedelta(seconds=31), timedelta(minutes=2),
                              timedelta(minutes=11)]))
    @guarded
    def time_passes(self, by: timedelta) -> None:
        self.clock.advance(by)

    @precondition(lambda self: not self.broken)
    @rule()
    @guarded
    def outbox_lost(self) -> None:
        """The outbox folder cannot be written (a file where the folder was): every send
        fails before anything reaches it, and is retried."""
        path = self.mail.outbox.path
        path.rename(path.with_name("Outbox.away"))
        path.write_text("not a folder")
        self.broken = True

    @precondition(lambda self: self.broken)
    @rule()
    @guarded
    def outbox_back(self) -> None:
        path = self.mail.outbox.path
        path.unlink()
        path.with_name("Outbox.away").rename(path)
        self.broken = False

    @precondition(lambda self: not self.sent_broken)
    @rule()
    @guarded
    def sent_lost(self) -> None:
        """Sent cannot be written (a full disk, a folder moved away): filing waits."""
        path = self.mail.sent.path
        path.rename(path.with_name("Sent.away"))
        path.write_text("not a folder")
        self.sent_broken = True

    @precondition(lambda self: self.sent_broken)
    @rule()
    @guarded
    def sent_back(self) -> None:
        path = self.mail.sent.path
        path.unlink()
        path.with_name("Sent.away").rename(path)
        self.sent_broken = False

    @rule()
    @guarded
    def restart(self) -> None:
        """The app is closed (or killed between steps: the same rows, the same files) and
        started again."""
        self.restart_engine()

    @precondition(lambda self: any(i not in self.live for i in self.inquiries))
    @rule(data=st.data(), way=st.sampled_from(KILL_WAYS), restart=st.booleans())
    @guarded
    def killed_acknowledging(self, data: st.DataObject, way: tuple[str, bool],
                             restart: bool) -> None:
        """Killed once the acknowledgement is queued (held back for Undo, or not), once it
        is being sent, or once it is filed."""
        point, held = way
        inquiry_id = data.draw(st.sampled_from(self.waiting), label="inquiry")
        before = self.rows()
        killed = self.in_a_killed_process(point, restart, "acknowledge", str(inquiry_id),
                                          str((HOLD if held else timedelta(0)).total_seconds()))
        rows = self.rows()
        (mid,) = set(rows) - set(before)
        self.acknowledged(inquiry_id, mid)   # the acknowledgement committed before any kill
        reached = {"queued": True, "sending": True, "sent": not self.broken,
                   "filed": not self.broken and not self.sent_broken}[point]
        assert killed == reached, (point, held, self.broken, rows[mid])
        if killed:
            assert rows[mid].state.value == point
        else:
            expected = OutboxState.QUEUED if held or self.broken else self.done
            assert rows[mid].state is expected

    @precondition(lambda self: self.has_state(OutboxState.QUEUED, OutboxState.SENDING))
    @rule(data=st.data(), how=st.sampled_from(["retry_outbox", "send_queued", "resend"]),
          point=st.sampled_from(SEND_POINTS), restart=st.booleans())
    @guarded
    def killed_sending(self, data: st.DataObject, how: str, point: str,
                       restart: bool) -> None:
        before = self.rows()
        now = self.clock.now()
        if how != "retry_outbox" and self.has_state(OutboxState.QUEUED):
            mid = self.pick_reply(data, OutboxState.QUEUED)
            killed = self.in_a_killed_process(point, restart, how, mid)
            sends, files = True, False
        else:
            how, mid = "retry_outbox", ""
            killed = self.in_a_killed_process(point, restart, how)
            sends = any(r.state is OutboxState.SENDING or r.due(now) for r in before.values())
            files = any(r.state is OutboxState.SENT for r in before.values())
        rows = self.rows()
        reached = {"sending": sends, "sent": sends and not self.broken,
                   "filed": ((sends and not self.broken) or files) and not self.sent_broken
                   }[point]
        assert killed == reached, (how, point, self.broken, before, rows)
        if killed:
            # The kill came at the first send: that row, and no other, says where it stopped.
            changed = [m for m, row in rows.items()
                       if (row.state, row.claim) != (before[m].state, before[m].claim)]
            assert len(changed) == 1, (before, rows)
            assert rows[changed[0]].state.value == point
            assert how == "retry_outbox" or changed == [mid]
        elif how == "retry_outbox":
            self.check_flushed(before)
        else:
            expected = OutboxState.QUEUED if self.broken else self.done
            assert rows[mid].state is expected

    # what must always hold

    @invariant()
    @guarded
    def every_client_is_waiting_or_acknowledged(self) -> None:
        status = self.engine.status()
        waiting = {w.inquiry.id for w in status.waiting}
        promised = {p.promise.inquiry_id for p in status.promises}
        assert waiting == set(self.waiting)
        assert promised == set(self.live)
        for inquiry_id in self.inquiries:
            inquiry = self.engine.store.inquiry(inquiry_id)
            assert inquiry is not None
            assert inquiry.state is (InquiryState.ACKNOWLEDGED if inquiry_id in self.live
                                     else InquiryState.WAITING)

    @invariant()
    @guarded
    def no_client_ever_hears_twice(self) -> None:
        rows = self.rows()
        assert set(rows) == set(self.replies)
        delivered, filed = replies_in(self.outbox_folder), replies_in(self.sent_folder)
        assert set(delivered) | set(filed) <= set(rows)
        for mid, row in rows.items():
            assert row.state not in (OutboxState.FAILED, OutboxState.UNSURE), row
            if row.state in (OutboxState.QUEUED, OutboxState.CANCELLED):
                # What Undo can still take back, or took back, has reached no one.
                assert (delivered[mid], filed[mid]) == (0, 0), row
            elif row.state is OutboxState.FILED:
                assert (delivered[mid], filed[mid]) == (1, 1), row
            else:
                assert delivered[mid] <= 1 and filed[mid] <= 1, row
            assert (row.state is OutboxState.CANCELLED) == (mid in self.undone), row
        for inquiry_id in self.inquiries:
            mine = [m for m, i in self.replies.items() if i == inquiry_id]
            assert sum(delivered[m] for m in mine) <= 1
            assert sum(filed[m] for m in mine) <= 1
            live = [m for m in mine if rows[m].state is not OutboxState.CANCELLED]
            assert live == ([self.live[inquiry_id]] if inquiry_id in self.live else [])

    # the end: back up, past every wait, restarted, flushed once

    def teardown(self) -> None:
        engine = getattr(self, "engine", None)
        if engine is None:
            return
        try:
            if not self.failed:
                self.settle()
        finally:
            self.engine.close()

    def settle(self) -> None:
        if self.broken:
            self.outbox_back()
        if self.sent_broken:
            self.sent_back()
        self.clock.advance(SETTLE)
        self.restart_engine()
        report = self.engine.retry_outbox()
        assert report.errors == []
        assert self.engine.outbox_items() == []     # nothing unfinished
        self.every_client_is_waiting_or_acknowledged()
        self.no_client_ever_hears_twice()
        delivered, filed = replies_in(self.outbox_folder), replies_in(self.sent_folder)
        for inquiry_id in self.inquiries:
            mine = [m for m, i in self.replies.items() if i == inquiry_id]
            heard = sum(delivered[m] for m in mine)
            if inquiry_id in self.live:
                # Exactly one reply, and it is the live one.
                assert heard == 1 and delivered[self.live[inquiry_id]] == 1
                assert filed[self.live[inquiry_id]] == 1
            else:
                assert heard == 0   # never acknowledged, or every reply undone


def test_killed_at_any_step_every_acknowledged_client_hears_exactly_once(
        tmp_path: Path) -> None:
    class Machine(OutboxMachine):
        root = tmp_path
        processes = Processes()

    try:
        run_state_machine_as_test(
            Machine, settings=settings(max_examples=25, stateful_step_count=12, deadline=None))
    finally:
        Machine.processes.close()


def test_undo_cannot_take_back_a_reply_the_client_has_when_sent_cannot_be_written(
        engine: Engine, mail: MailFolders, clock: FixedClock) -> None:
    sender, message_id, subject = WRITERS[0]
    drop(mail.inbox, message(sender, subject, message_id=message_id),
         NOW - timedelta(minutes=3))
    (inquiry_id,) = engine.sync().new_inquiries
    sent = mail.sent.path
    sent.rename(sent.with_name("Sent.away"))
    sent.write_text("not a folder")
    result = engine.replies.acknowledge(inquiry_id)
    assert sum(replies_in(mail.outbox.path).values()) == 1     # the client has it
    with pytest.raises(EngineError):
        engine.outbox.cancel(result.message_id)   # so Undo cannot say it was not sent
    sent.unlink()
    sent.with_name("Sent.away").rename(sent)
    clock.advance(timedelta(minutes=1))
    engine.retry_outbox()
    with pytest.raises(NotWaiting):
        engine.replies.acknowledge(inquiry_id)
    assert replies_in(mail.outbox.path) == Counter({result.message_id: 1})
    assert replies_in(sent) == Counter({result.message_id: 1})
