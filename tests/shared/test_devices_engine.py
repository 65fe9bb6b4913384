"""Two of the user's own devices on one mailbox (real Dovecot, real SMTP): what one
acknowledged, promised or noted as answered, the other shows and reminds of."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from heard.domain.inquiries import InquiryState
from heard.engine import Engine
from tests.shared.test_assistant_engine import _engine, _one
from tests.support.devices import client_writes
from tests.support.dovecot import Dovecot, MailUser
from tests.support.smtp import FaultySmtp

pytestmark = pytest.mark.usefixtures("real_keyring")


@contextmanager
def _devices(tmp_path: Path, me: MailUser, smtp: FaultySmtp) -> Iterator[tuple[Engine, Engine]]:
    """The desk and the laptop, both synced once."""
    desk = _engine(tmp_path, me, smtp, "desk")
    lap = _engine(tmp_path, me, smtp, "lap")
    try:
        desk.sync()
        lap.sync()
        yield desk, lap
    finally:
        desk.close()
        lap.close()


def test_the_promise_an_acknowledgement_made_on_one_device_is_kept_on_the_other(
        tmp_path: Path, shared_dovecot: Dovecot, faulty_smtp: FaultySmtp) -> None:
    me = shared_dovecot.add_user()
    message_id = client_writes(me)
    with _devices(tmp_path, me, faulty_smtp) as (desk, lap):
        reply_by = (datetime.now(UTC) + timedelta(hours=2)).replace(second=0, microsecond=0)
        result = desk.replies.acknowledge(_one(desk, message_id), reply_by=reply_by)
        assert result.sent, result.error

        lap.sync()
        mine = lap.store.inquiry(_one(lap, message_id))
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
        on_lap = _one(lap, "<m1@hale.example>")
        desk.inquiries.mark_answered(_one(desk, "<m1@hale.example>"))   # she was called back
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
        on_desk = _one(desk, message_id)
        held = lap.replies.acknowledge(_one(lap, message_id), delay=timedelta(minutes=1))
        assert held.state == "queued"             # claimed, waiting for the window's Undo
        desk.sync()
        assert desk.status().owners.get(on_desk) == "lap"
        lap.outbox.cancel(held.message_id)           # Undo: the claim is released
        desk.sync()
        assert on_desk not in desk.status().owners
        assert desk.replies.acknowledge(on_desk).sent      # and the desk may answer her
        assert len(faulty_smtp.received) == 1
