"""Delegation over real SMTP when the forward is refused, and settling a send cut short
when the server files sent mail itself (Gmail's way)."""

from __future__ import annotations

import signal
from typing import Any

import pytest

from heard import config
from heard.config import ConfigFile
from heard.domain.inquiries import InquiryState
from heard.domain.outbox import OutboxKind, OutboxState
from tests.support.scenes import ACK, Scene, copies, heard
from tests.support.smtp import FaultySmtp

SAM = "sam@assistants.example"


def _assistant(scene: Scene) -> None:
    file = ConfigFile(scene.engine.profile.config)
    file.set_many([("assistant", "name", "Sam Reed"), ("assistant", "address", SAM)])
    scene.engine.settings = config.load(scene.engine.profile.config)


@pytest.mark.expect_log_errors(r"heard\.engine\.outbox: .* was refused: .*550 5\.1\.1")
def test_a_refused_forward_never_tells_the_client(
        faulty_scene: Scene, faulty_smtp: FaultySmtp) -> None:
    scene = faulty_scene
    _assistant(scene)
    inquiry_id, _ = scene.client_writes()
    faulty_smtp.reply_next(550, "5.1.1 No such user here", stage="RCPT")
    result = scene.engine.replies.delegate(inquiry_id, tell_client=True)
    assert not result.sent and "No such user" in result.error
    assert faulty_smtp.received == []
    states = {i.kind: i.state for i in scene.engine.store.outbox()}
    assert states == {OutboxKind.FORWARD: OutboxState.FAILED,
                      OutboxKind.TELL: OutboxState.CANCELLED}
    after = scene.engine.store.inquiry(inquiry_id)
    assert after is not None and after.state is InquiryState.WAITING
    status = scene.engine.status()
    assert status.delegations == [] and status.count == 1
    assert any("not sent to sam@" in p for p in status.problems)


@pytest.mark.expect_log_errors(r"heard\.engine\.outbox: .* was refused: .*550 5\.1\.1")
def test_a_refused_forward_keeps_an_earlier_acknowledgement(
        faulty_scene: Scene, faulty_smtp: FaultySmtp) -> None:
    scene = faulty_scene
    _assistant(scene)
    inquiry_id, _ = scene.client_writes()
    assert scene.engine.replies.acknowledge(inquiry_id).sent
    before = scene.engine.store.inquiry(inquiry_id)
    assert before is not None and before.acknowledged_at is not None
    faulty_smtp.reply_next(550, "5.1.1 No such user here", stage="RCPT")
    assert not scene.engine.replies.delegate(inquiry_id).sent
    after = scene.engine.store.inquiry(inquiry_id)
    assert after is not None and after.state is InquiryState.ACKNOWLEDGED
    assert after.acknowledged_at == before.acknowledged_at     # the statistics keep it


def test_the_client_is_told_only_after_the_assistant_has_it(
        faulty_scene: Scene, faulty_smtp: FaultySmtp) -> None:
    scene = faulty_scene
    _assistant(scene)
    inquiry_id, client_mid = scene.client_writes()
    faulty_smtp.reply_next(451, "4.3.0 Try later", stage="RCPT")
    result = scene.engine.replies.delegate(inquiry_id)
    assert not result.sent
    assert faulty_smtp.received == []          # neither the forward nor the client's note
    scene.clock.advance(scene.engine.settings.delegation.due / 4)
    scene.engine.retry_outbox()
    received = [r.rcpt_tos for r in faulty_smtp.received]
    assert received == [[SAM], [scene.client.address]]   # forward first, then the client
    assert len(copies(scene.client, "INBOX", ACK, client_mid)) == 1


def test_a_send_cut_short_is_found_in_sent_when_the_server_files_it(
        faulty_scene: Scene, faulty_smtp: FaultySmtp) -> None:
    scene = faulty_scene
    file = ConfigFile(scene.engine.profile.config)
    document: Any = file._read()
    document["accounts"][0]["sent_copy"] = "server"
    file._write(document)
    inquiry_id, _ = scene.client_writes()
    killed = heard(scene, "ack", str(inquiry_id), crash_at="sending")
    assert killed.returncode == -signal.SIGKILL
    (item,) = scene.engine.store.outbox()
    # What a server that files sent mail itself would have done before the crash:
    scene.me.append(item.raw.replace(b"\n", b"\r\n"), folder="Sent")
    flushed = heard(scene, "outbox", "flush")
    assert flushed.returncode == 0, flushed.stderr
    assert scene.engine.store.outbox_item(item.message_id).state is OutboxState.FILED  # type: ignore[union-attr]
    assert faulty_smtp.received == []          # never sent a second time
