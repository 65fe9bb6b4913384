"""Acknowledgements over real SMTP into real mailboxes: threading, filing in Sent,
exactly-once under SIGKILL at every step, servers that are down or refuse, and header
injection attempts."""

from __future__ import annotations

import dataclasses
import signal
from datetime import timedelta
from pathlib import Path

import pytest

from heard.domain.inquiries import InquiryState
from heard.domain.outbox import OutboxState
from heard.engine import EngineEvent
from tests.support.scenes import ACK, Scene, copies, heard
from tests.support.smtp import FaultySmtp, Postfix, Received


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
    assert len(_received(faulty_smtp)) == 1
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
    assert _received(faulty_smtp) == []          # never retried by itself


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


def test_header_injection_through_names_subjects_and_templates_is_defused(
        faulty_scene: Scene, faulty_smtp: FaultySmtp, tmp_path: Path) -> None:
    scene = faulty_scene
    (megge,) = scene.engine.clients.all()
    scene.engine.clients.update(dataclasses.replace(
        megge, name="Megge\r\nBcc: victim@evil.example", preferred_name="M\nCc: x@evil.example"))
    (scene.engine.profile.root / "templates.toml").write_text(
        '[sneaky]\nsubject = "Re: {subject}\\r\\nBcc: {client.name}"\nbody = "Hi {client.name}"\n',
        encoding="utf-8")

    scene.engine.reload_templates()
    # An encoded word that decodes to a line break: the realistic way in.
    inquiry_id, _ = scene.client_writes("=?utf-8?q?Hello=0D=0ABcc=3A_spy=40evil=2Eexample?=")
    assert "Bcc: spy" in scene.engine.store.inquiry(inquiry_id).subject  # type: ignore[union-attr]
    result = scene.engine.replies.acknowledge(inquiry_id, template="sneaky")
    assert result.sent
    (got,) = _received(faulty_smtp)
    assert got.rcpt_tos == [scene.client.address]
    head = got.content.split(b"\r\n\r\n", 1)[0].decode()
    names = [line.split(":", 1)[0].lower() for line in head.splitlines()
             if line and not line[0].isspace()]
    assert "bcc" not in names and "cc" not in names
    assert names.count("subject") == 1 and names.count("to") == 1


# The test server's own log: it saw the handshake refused (the second test, which succeeds,
# is served after it has said so).
@pytest.mark.expect_log_errors(r"mail\.log: .*SMTP session exception \[TLSSetupException")
def test_an_untrusted_certificate_is_refused_in_plain_words(
        faulty_scene: Scene, faulty_smtp: FaultySmtp) -> None:
    scene = faulty_scene
    (account,) = scene.engine.settings.accounts
    assert account.smtp is not None
    bare = dataclasses.replace(account, smtp=dataclasses.replace(account.smtp, ca_file=None))
    problem = scene.engine.test_smtp(bare)
    assert problem is not None and "is not trusted" in problem and "--smtp-ca-file" in problem
    assert scene.engine.test_smtp(account) is None


def test_a_wrong_smtp_password_is_told_as_such(
        faulty_scene: Scene, faulty_smtp: FaultySmtp) -> None:
    from heard.system import secrets

    scene = faulty_scene
    (account,) = scene.engine.settings.accounts
    assert account.smtp is not None
    secrets.store_password(account.smtp.keyring_name, "not the password")
    assert "wrong user name or password" in (scene.engine.test_smtp(account) or "")


def _received(server: FaultySmtp) -> list[Received]:
    return list(server.received)


def _ids(server: FaultySmtp) -> list[str]:
    from email.parser import BytesHeaderParser

    return [str(BytesHeaderParser().parsebytes(r.content)["Message-ID"])
            for r in server.received if isinstance(r.content, bytes)]
