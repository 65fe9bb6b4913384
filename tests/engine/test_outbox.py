"""The crash-safe outbox (heard.engine.outbox). On the Maildir transport: a crash between
its steps, a failed send that stays visible, a reply held back for Undo. Over real SMTP
into real mailboxes: filing in Sent, exactly-once under SIGKILL at every step, servers
that are down or refuse, a refused forward, and a send cut short found in Sent. The state
machine over all of it is test_outbox_machine.py."""

from __future__ import annotations

import signal
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from heard import config
from heard.config import ConfigFile
from heard.domain.clients import Client
from heard.domain.clock import FixedClock
from heard.domain.inquiries import InquiryState
from heard.domain.outbox import HOLD_GRACE, OutboxItem, OutboxKind, OutboxState
from heard.engine import Engine, EngineError, EngineEvent
from heard.mail.transport import MaildirTransport
from tests.support.devices import inbox_flags
from tests.support.engine import client_waits, lease_waits
from tests.support.imap import sending_profile
from tests.support.mail import MailFolders, sent_messages
from tests.support.scenes import ACK, Scene, accepted_by, copies, heard
from tests.support.smtp import FaultySmtp, Postfix

OUTSIDE_ASSISTANT = "sam@assistants.example"


def _scene_assistant(scene: Scene) -> None:
    file = ConfigFile(scene.engine.profile.config)
    file.set_many([("assistant", "name", "Sam Reed"), ("assistant", "address", OUTSIDE_ASSISTANT)])
    scene.engine.settings = config.load(scene.engine.profile.config)


def unsent(engine: Engine) -> list[OutboxItem]:
    return engine.store.outbox([OutboxState.QUEUED, OutboxState.SENDING, OutboxState.SENT,
                                OutboxState.UNSURE])


def test_an_acknowledgement_arrives_threaded_and_is_filed_in_sent(
        postfix_scene: Scene, postfix: Postfix) -> None:
    scene = postfix_scene
    inquiry_id, client_mid = scene.client_writes()
    result = scene.engine.replies.acknowledge(inquiry_id)
    assert (result.sent, result.state) == (True, "filed")
    postfix.wait_delivered(result.message_id)

    (received,) = copies(scene.client, "INBOX", "Message-ID", result.message_id)
    assert received["In-Reply-To"] == client_mid
    assert received["References"].split() == ["<q1@hale.example>", client_mid]
    assert received[ACK] == client_mid
    assert received["Subject"] == "Re: Closing documents"
    assert received["From"].addresses[0].addr_spec == scene.me.address
    assert received.get_content().startswith("Hi Megge,")
    assert any("Authenticated sender" in str(r) for r in received.get_all("Received"))

    (filed,) = copies(scene.me, "Sent", "Message-ID", result.message_id)
    assert filed.get_content() == received.get_content()
    assert "\\Seen" in " ".join(str(f) for f in _flags(scene, result.message_id))
    # The copy in Sent is Heard's acknowledgement, not the answer.
    scene.engine.sync()
    inquiry = scene.engine.store.inquiry(inquiry_id)
    assert inquiry is not None and inquiry.state is InquiryState.ACKNOWLEDGED


def _flags(scene: Scene, message_id: str) -> list[bytes]:
    client = scene.me.client()
    try:
        client.select_folder("Sent", readonly=True)
        (uid,) = client.search(["HEADER", "Message-ID", message_id])
        return list(client.get_flags([uid])[uid])
    finally:
        client.logout()


@pytest.mark.parametrize("step", ["queued", "sent", "filed"])
def test_killed_at_any_step_the_client_gets_exactly_one_copy(
        postfix_scene: Scene, postfix: Postfix, step: str) -> None:
    """SIGKILL right after the intent is written (before the wire), after the server
    accepted the message, and after it was filed in Sent; then Heard starts again."""
    scene = postfix_scene
    inquiry_id, client_mid = scene.client_writes()
    killed = heard(scene, "ack", str(inquiry_id), crash_at=step)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    (item,) = scene.engine.store.outbox()
    assert item.state.value == step

    again = heard(scene, "outbox", "flush")
    assert again.returncode == 0, again.stderr
    assert "The outbox is empty" in again.stdout
    postfix.wait_delivered(item.message_id)
    postfix.wait_queue_empty()
    assert len(copies(scene.client, "INBOX", ACK, client_mid)) == 1
    assert len(copies(scene.me, "Sent", ACK, client_mid)) == 1
    heard(scene, "outbox", "flush")          # and again: nothing more goes out
    postfix.wait_queue_empty()
    assert len(copies(scene.client, "INBOX", ACK, client_mid)) == 1
    assert scene.engine.store.outbox_item(item.message_id).state is OutboxState.FILED  # type: ignore[union-attr]


def test_killed_mid_send_it_is_unsure_never_sent_twice_until_the_user_says(
        postfix_scene: Scene, postfix: Postfix) -> None:
    """Killed while the message may be on the wire: not in Sent, so Heard cannot know.
    It shows the message as unsure and sends it only when told to."""
    scene = postfix_scene
    inquiry_id, client_mid = scene.client_writes()
    killed = heard(scene, "ack", str(inquiry_id), crash_at="sending")
    assert killed.returncode == -signal.SIGKILL
    flushed = heard(scene, "outbox", "flush")
    assert "unsure" in flushed.stdout
    status = heard(scene, "status")
    assert "unsure whether the message to" in status.stdout + status.stderr
    (item,) = scene.engine.store.outbox()
    assert item.state is OutboxState.UNSURE
    postfix.wait_queue_empty()
    assert copies(scene.client, "INBOX", ACK, client_mid) == []   # (it was killed pre-DATA)

    resent = heard(scene, "outbox", "resend", item.message_id)
    assert resent.returncode == 0, resent.stderr
    postfix.wait_delivered(item.message_id)
    assert len(copies(scene.client, "INBOX", ACK, client_mid)) == 1
    assert len(copies(scene.me, "Sent", ACK, client_mid)) == 1


def test_a_server_down_then_up_gets_the_reply_once(
        faulty_scene: Scene, faulty_smtp: FaultySmtp) -> None:
    scene = faulty_scene
    events: list[EngineEvent] = []
    scene.engine.subscribe(events.append)
    inquiry_id, client_mid = scene.client_writes()
    faulty_smtp.stop()
    result = scene.engine.replies.acknowledge(inquiry_id)
    assert (result.sent, result.state) == (False, "queued")
    assert "refused the connection" in result.error
    status = scene.engine.status()
    assert status.count == 0                     # acknowledged: it will go out
    assert any("not sent yet" in p for p in status.problems)
    assert [e.kind for e in events].count("error") == 1

    scene.engine.retry_outbox()                  # still down, and quietly so
    faulty_smtp.start()
    scene.engine.retry_outbox()                  # up, but the back-off has not passed
    assert faulty_smtp.received == []
    scene.clock.advance(timedelta(minutes=2))
    scene.engine.retry_outbox()
    scene.engine.retry_outbox()
    assert _ids(faulty_smtp) == [result.message_id]
    assert len(copies(scene.client, "INBOX", ACK, client_mid)) == 1
    assert scene.engine.status().problems == []
    assert [e.kind for e in events].count("error") == 1


def test_a_temporary_refusal_is_retried_and_delivered_once(
        faulty_scene: Scene, faulty_smtp: FaultySmtp) -> None:
    scene = faulty_scene
    inquiry_id, client_mid = scene.client_writes()
    faulty_smtp.reply_next(451, "4.3.0 Try again later")
    result = scene.engine.replies.acknowledge(inquiry_id)
    assert result.state == "queued" and "451 4.3.0 Try again later" in result.error
    scene.clock.advance(timedelta(seconds=31))
    scene.engine.retry_outbox()
    assert len(accepted_by(faulty_smtp)) == 1
    assert len(copies(scene.client, "INBOX", ACK, client_mid)) == 1


@pytest.mark.expect_log_errors(r"heard\.engine\.outbox: .* was refused: .*550 5\.7\.1")
def test_a_permanent_refusal_is_shown_in_the_servers_words_and_the_client_waits_again(
        faulty_scene: Scene, faulty_smtp: FaultySmtp) -> None:
    scene = faulty_scene
    events: list[EngineEvent] = []
    scene.engine.subscribe(events.append)
    inquiry_id, _ = scene.client_writes()
    faulty_smtp.reply_next(550, "5.7.1 Message rejected as spam")
    result = scene.engine.replies.acknowledge(inquiry_id)
    assert (result.sent, result.state) == (False, "failed")
    assert "550 5.7.1 Message rejected as spam" in result.error
    toasts = [t for e in events if e.kind == "alerts" for t in e.toasts]
    assert any("rejected as spam" in text and "waiting again" in text for _t, text in toasts)
    status = scene.engine.status()
    assert status.count == 1 and status.promises == []
    inquiry = scene.engine.store.inquiry(inquiry_id)
    assert inquiry is not None and inquiry.acknowledged_at is None
    # Nothing is lost: the message stays in the outbox with the reason.
    (item,) = scene.engine.outbox_items(everything=True)
    assert item.state is OutboxState.FAILED and "rejected as spam" in item.error
    assert item.raw
    scene.clock.advance(timedelta(hours=1))
    scene.engine.retry_outbox()
    assert accepted_by(faulty_smtp) == []          # never retried by itself


@pytest.mark.expect_log_errors(r"heard\.engine\.outbox: unsure whether .* went out: .*connection")
def test_a_link_broken_mid_message_is_unsure_and_can_be_settled(
        faulty_scene: Scene, faulty_smtp: FaultySmtp) -> None:
    scene = faulty_scene
    inquiry_id, _ = scene.client_writes()
    faulty_smtp.disconnect_next(stage="DATA")
    result = scene.engine.replies.acknowledge(inquiry_id)
    assert result.state == "unsure" and "may have gone out" in result.error
    assert any("unsure whether" in p for p in scene.engine.status().problems)
    scene.engine.retry_outbox()
    scene.clock.advance(timedelta(hours=1))
    scene.engine.retry_outbox()                  # an unsure message is never resent alone
    assert scene.engine.outbox.mark_sent(result.message_id).state is OutboxState.FILED
    assert scene.engine.status().problems == []


def _ids(server: FaultySmtp) -> list[str]:
    from email.parser import BytesHeaderParser

    return [str(BytesHeaderParser().parsebytes(r.content)["Message-ID"])
            for r in server.received if isinstance(r.content, bytes)]


def test_a_send_interrupted_by_a_crash_is_sent_once_on_the_next_sync(
    engine: Engine, mail: MailFolders, monkeypatch: pytest.MonkeyPatch
) -> None:
    inquiry_id = client_waits(engine, mail)

    def crash(self: MaildirTransport, raw: bytes, message_id: str,
              on_the_wire: object = None) -> None:
        raise KeyboardInterrupt  # the process dies between recording intent and sending

    monkeypatch.setattr(MaildirTransport, "send", crash)
    with pytest.raises(KeyboardInterrupt):
        engine.replies.acknowledge(inquiry_id)
    monkeypatch.undo()
    assert mail.outbox_messages() == []
    assert len(unsent(engine)) == 1

    engine.sync()
    engine.sync()
    assert len(mail.outbox_messages()) == 1
    assert unsent(engine) == []
    inquiry = engine.store.inquiry(inquiry_id)
    assert inquiry is not None and inquiry.state is InquiryState.ACKNOWLEDGED


def test_delivered_but_not_marked_sent_before_a_crash_is_not_sent_again(
    engine: Engine, mail: MailFolders, monkeypatch: pytest.MonkeyPatch
) -> None:
    inquiry_id = client_waits(engine, mail)

    real = type(engine.store).update_outbox

    def crash_after_delivery(self: object, message_id: str, state: OutboxState,
                             *args: object, **kwargs: object) -> bool:
        if state is OutboxState.SENT:  # dies after the file is in the outbox
            raise KeyboardInterrupt
        return real(self, message_id, state, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(type(engine.store), "update_outbox", crash_after_delivery)
    with pytest.raises(KeyboardInterrupt):
        engine.replies.acknowledge(inquiry_id)
    monkeypatch.undo()
    assert len(mail.outbox_messages()) == 1
    assert [i.state for i in unsent(engine)] == [OutboxState.SENDING]
    engine.sync()  # reconciles the row: same Message-ID, same file
    assert len(mail.outbox_messages()) == 1
    assert unsent(engine) == []


def test_a_failed_send_stays_visible_until_it_goes_out(engine: Engine, mail: MailFolders,
                                                       clock: FixedClock) -> None:
    inquiry_id = client_waits(engine, mail)
    outbox = mail.outbox.path
    outbox.rename(outbox.with_name("Outbox.away"))
    outbox.write_text("a file where the outbox should be")
    result = engine.replies.acknowledge(inquiry_id)
    assert not result.sent
    status = engine.status()
    assert status.count == 0
    assert len(status.problems) == 1
    assert "1 message not sent yet" in status.problems[0]
    outbox.unlink()
    outbox.with_name("Outbox.away").rename(outbox)
    engine.retry_outbox()
    assert mail.outbox_messages() == []   # the retry waits its back-off
    clock.advance(timedelta(seconds=30))
    engine.retry_outbox()
    assert len(mail.outbox_messages()) == 1
    assert engine.status().problems == []


def test_only_the_first_failure_is_announced_retries_stay_quiet(
    engine: Engine, mail: MailFolders, clock: FixedClock
) -> None:

    events: list[EngineEvent] = []
    engine.subscribe(events.append)
    inquiry_id = client_waits(engine, mail)
    outbox = mail.outbox.path
    outbox.rename(outbox.with_name("away"))
    outbox.write_text("not a folder")
    engine.replies.acknowledge(inquiry_id)
    clock.advance(timedelta(minutes=1))
    engine.retry_outbox()
    clock.advance(timedelta(minutes=5))
    engine.retry_outbox()
    assert engine.store.outbox()[0].attempts == 3
    assert [e.kind for e in events].count("error") == 1


def test_a_held_back_acknowledgement_can_be_cancelled_and_nothing_goes_out(
        engine: Engine, mail: MailFolders) -> None:
    inquiry_id = lease_waits(engine, mail)
    result = engine.replies.acknowledge(inquiry_id, delay=timedelta(seconds=5))
    assert (result.sent, result.state) == (False, "queued")
    assert engine.status().count == 0          # acknowledged while it waits to go
    engine.retry_outbox()                      # not yet: the delay has not passed
    assert mail.outbox_messages() == []
    engine.outbox.cancel(result.message_id)
    assert mail.outbox_messages() == []
    status = engine.status()
    assert status.count == 1 and status.promises == []
    assert engine.store.outbox_item(result.message_id).state is OutboxState.CANCELLED  # type: ignore[union-attr]
    # ... and can be acknowledged again.
    assert engine.replies.acknowledge(inquiry_id).sent


def test_a_held_back_acknowledgement_goes_out_after_the_delay_even_after_a_restart(
        engine: Engine, mail: MailFolders, clock: FixedClock) -> None:
    inquiry_id = lease_waits(engine, mail)
    result = engine.replies.acknowledge(inquiry_id, delay=timedelta(seconds=5))
    again = Engine.open(engine.profile, clock)  # the tray restarted meanwhile
    try:
        clock.advance(timedelta(seconds=6))
        again.retry_outbox()       # the delay is over: the window holding it sends it now,
        assert sent_messages(mail) == []   # so a flush leaves it the grace (no race) ...
        clock.advance(HOLD_GRACE)
        again.retry_outbox()       # ... and then sends it: nobody else will
    finally:
        again.close()
    (sent,) = sent_messages(mail)
    assert sent["Message-ID"] == result.message_id
    with pytest.raises(EngineError, match="filed"):
        engine.outbox.cancel(result.message_id)   # too late to undo


def test_an_undo_during_a_failing_send_stays_undone(engine: Engine, mail: MailFolders,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The user cancels while the server is being reached; the attempt then fails: the
    message must stay cancelled, never come back for a retry."""
    from heard.mail.transport import MaildirTransport, SendError

    inquiry_id = lease_waits(engine, mail)
    result = engine.replies.acknowledge(inquiry_id, delay=timedelta(seconds=5))

    def slow_then_down(self: MaildirTransport, raw: bytes, message_id: str,
                       on_the_wire: object = None) -> None:
        engine.outbox.cancel(message_id)            # Undo, meanwhile
        raise SendError("work", "the server did not answer in time")

    monkeypatch.setattr(MaildirTransport, "send", slow_then_down)
    engine.replies.send_queued(result.message_id)
    item = engine.store.outbox_item(result.message_id)
    assert item is not None and item.state is OutboxState.CANCELLED
    assert engine.status().count == 1


@pytest.mark.expect_log_errors(r"heard\.engine\.outbox: .* was refused: .*550 5\.1\.1")
def test_a_refused_forward_never_tells_the_client(
        faulty_scene: Scene, faulty_smtp: FaultySmtp) -> None:
    scene = faulty_scene
    _scene_assistant(scene)
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
    _scene_assistant(scene)
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
    _scene_assistant(scene)
    inquiry_id, client_mid = scene.client_writes()
    faulty_smtp.reply_next(451, "4.3.0 Try later", stage="RCPT")
    result = scene.engine.replies.delegate(inquiry_id)
    assert not result.sent
    assert faulty_smtp.received == []          # neither the forward nor the client's note
    scene.clock.advance(scene.engine.settings.delegation.due / 4)
    scene.engine.retry_outbox()
    received = [r.rcpt_tos for r in faulty_smtp.received]
    # forward first, then the client
    assert received == [[OUTSIDE_ASSISTANT], [scene.client.address]]
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


def _second_device(scene: Scene, root: Path, port: int, cert: Path) -> Engine:
    """Another device of the user's on the same mailbox ('lap'), with the same client."""
    profile = sending_profile(root / "lap", scene.me, port, cert)
    ConfigFile(profile.config).set("sharing", "instance", "lap")
    lap = Engine.open(profile)
    lap.clients.add(Client("Margaret Hale", emails=(scene.client.address,)))
    return lap


@pytest.mark.expect_log_errors(r"heard\.engine\.outbox: unsure whether .* went out")
def test_an_unsure_reply_marked_sent_is_filed_and_done_for_every_device(
        faulty_scene: Scene, faulty_smtp: FaultySmtp, tmp_path: Path) -> None:
    """`heard outbox mark-sent` after a send cut short mid-DATA leaves Sent and the other
    devices as a send that went through does: a copy in Sent, the client's message marked
    acknowledged (no longer "being sent"), the other device counting the client as heard."""
    scene = faulty_scene
    lap = _second_device(scene, tmp_path, faulty_smtp.port, faulty_smtp.cert)
    try:
        inquiry_id, client_mid = scene.client_writes()
        (on_lap,) = lap.sync().new_inquiries
        faulty_smtp.disconnect_next(stage="DATA")
        result = scene.engine.replies.acknowledge(inquiry_id)
        assert result.state == "unsure"

        marked = heard(scene, "outbox", "mark-sent", result.message_id)
        assert (marked.returncode, marked.stdout) == (0, f"{result.message_id}: filed\n"), \
            marked.stderr
        assert len(copies(scene.me, "Sent", ACK, client_mid)) == 1
        flags = inbox_flags(scene.me)
        assert "$HeardAcked" in flags and "$HeardSending" not in flags
        lap.sync()
        assert lap.status().count == 0
        with pytest.raises(EngineError, match="already acknowledged"):
            lap.replies.acknowledge(on_lap)
        assert faulty_smtp.received == []              # nothing was sent again
        assert scene.engine.outbox_items() == []       # and nothing is left to settle
    finally:
        lap.close()


def test_a_send_found_in_sent_after_a_crash_is_done_for_every_device(
        faulty_scene: Scene, faulty_smtp: FaultySmtp, tmp_path: Path) -> None:
    """Killed mid-send, but the server filed the reply in Sent: settled as sent, and the
    other devices are told, as after any send."""
    scene = faulty_scene
    file = ConfigFile(scene.engine.profile.config)
    document: Any = file._read()
    document["accounts"][0]["sent_copy"] = "server"
    file._write(document)
    lap = _second_device(scene, tmp_path, faulty_smtp.port, faulty_smtp.cert)
    try:
        inquiry_id, _client_mid = scene.client_writes()
        lap.sync()
        killed = heard(scene, "ack", str(inquiry_id), crash_at="sending")
        assert killed.returncode == -signal.SIGKILL
        (item,) = scene.engine.store.outbox()
        scene.me.append(item.raw.replace(b"\n", b"\r\n"), folder="Sent")
        flushed = heard(scene, "outbox", "flush")
        assert flushed.returncode == 0, flushed.stderr
        assert scene.engine.store.outbox_item(item.message_id).state is OutboxState.FILED  # type: ignore[union-attr]
        assert "$HeardAcked" in inbox_flags(scene.me)
        lap.sync()
        assert lap.status().count == 0
    finally:
        lap.close()


def test_send_now_sends_a_retrying_reply_at_once(
        faulty_scene: Scene, faulty_smtp: FaultySmtp) -> None:
    """The window's "Send now" (replies.send_queued) does not wait for the back-off."""
    scene = faulty_scene
    inquiry_id, client_mid = scene.client_writes()
    faulty_smtp.stop()
    queued = scene.engine.replies.acknowledge(inquiry_id)
    assert queued.state == "queued"
    faulty_smtp.start()
    assert scene.engine.replies.send_queued(queued.message_id).state is OutboxState.FILED
    assert len(copies(scene.client, "INBOX", ACK, client_mid)) == 1


@pytest.mark.expect_log_errors(r"heard\.engine\.outbox: unsure whether .* went out")
def test_an_unsure_reply_cancelled_leaves_the_client_waiting_on_every_device(
        faulty_scene: Scene, faulty_smtp: FaultySmtp, tmp_path: Path) -> None:
    scene = faulty_scene
    lap = _second_device(scene, tmp_path, faulty_smtp.port, faulty_smtp.cert)
    try:
        inquiry_id, client_mid = scene.client_writes()
        (on_lap,) = lap.sync().new_inquiries
        faulty_smtp.disconnect_next(stage="DATA")
        result = scene.engine.replies.acknowledge(inquiry_id)
        assert result.state == "unsure"
        scene.engine.outbox.cancel(result.message_id)       # the user: it did not go out
        assert scene.engine.status().count == 1
        assert not any(f.startswith("$Heard") for f in inbox_flags(scene.me))
        assert lap.replies.acknowledge(on_lap).sent          # the laptop may answer her
        assert len(copies(scene.client, "INBOX", ACK, client_mid)) == 1
    finally:
        lap.close()
