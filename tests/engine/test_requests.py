"""On the designated device (heard.engine.requests): a server that keeps no keywords lets only
the designated device send, and the user's other devices pass their clicks to it through
the Heard folder (real Dovecot, real SMTP)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from heard.devices.wire import folder, trust
from heard.domain.ids import InquiryId
from heard.domain.inquiries import InquiryState
from heard.engine import EngineError
from tests.support.devices import (
    CLIENT,
    OTHER,
    busy_for_weeks,
    designated_devices,
    device_engine,
    inquiry_state,
    join,
    new_inquiry_on,
    smtp_received,
)
from tests.support.dovecot import Dovecot
from tests.support.instances import open_conn
from tests.support.mail import SAM
from tests.support.smtp import FaultySmtp


@pytest.mark.usefixtures("real_keyring")
def test_a_server_that_keeps_no_keywords_lets_only_the_designated_device_send(
        tmp_path: Path, shared_dovecot: Dovecot, faulty_smtp: FaultySmtp) -> None:
    with designated_devices(tmp_path, shared_dovecot, faulty_smtp) as (me, lap, desk):
        inquiry_id = new_inquiry_on(lap, me)
        (account,) = lap.settings.accounts
        assert "keywords" in lap.devices.imap.describe(account)
        # The laptop passes its one-click acknowledgement to the desk, sends nothing itself.
        result = lap.replies.acknowledge(inquiry_id)
        assert (result.sent, result.state) == (False, "requested")
        assert "'desk'" in result.error
        assert faulty_smtp.received == []
        desk.sync()                                  # the desk sends it, once
        desk.sync()
        assert len(faulty_smtp.received) == 1
        lap.sync()                                   # and the laptop sees it in Sent
        assert lap.status().count == 0


@pytest.mark.usefixtures("real_keyring")
def test_without_keywords_a_delegation_on_another_device_goes_out_from_the_designated_one(
        tmp_path: Path, shared_dovecot: Dovecot, faulty_smtp: FaultySmtp) -> None:
    with designated_devices(tmp_path, shared_dovecot, faulty_smtp) as (me, lap, desk):
        inquiry_id = new_inquiry_on(lap, me)
        due = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
        result = lap.replies.delegate(InquiryId(inquiry_id), "sam reed", "Please book the notary.",
                              due, tell_client=True)
        assert (result.sent, result.state, result.forward_id) == (False, "requested", "")
        assert "'desk'" in result.error and result.assistant.address == SAM
        assert faulty_smtp.received == []
        assert inquiry_state(lap, inquiry_id) is InquiryState.WAITING   # it stays, as an ack would

        (on_desk,) = desk.sync().new_inquiries          # the desk forwards it, once
        desk.sync()
        forward, told = sorted(smtp_received(faulty_smtp), key=lambda m: m["To"] != SAM)
        assert len(faulty_smtp.received) == 2
        assert forward["To"].addresses[0].addr_spec == SAM
        assert forward["X-Heard-Delegates"]
        assert forward.get_body(("plain",)).get_content().startswith("Please book the notary.")
        assert told["To"].addresses[0].addr_spec == CLIENT   # the client is told who helps
        assert inquiry_state(desk, on_desk) is InquiryState.DELEGATED
        delegation = desk.store.delegation(on_desk)
        assert delegation is not None and delegation.address == SAM and delegation.due == due
        assert delegation.note == "Please book the notary."

        lap.sync()                                       # the note to the client is in Sent
        assert lap.status().count == 0


@pytest.mark.usefixtures("real_keyring")
def test_without_keywords_a_bad_delegation_request_falls_back_or_is_dropped(
        tmp_path: Path, shared_dovecot: Dovecot, faulty_smtp: FaultySmtp) -> None:
    with designated_devices(tmp_path, shared_dovecot, faulty_smtp) as (me, lap, desk):
        first, second = new_inquiry_on(lap, me), new_inquiry_on(lap, me, OTHER)
        for inquiry_id, to in ((first, "nobody"), (second, "")):
            inquiry = lap.store.inquiry(InquiryId(inquiry_id))
            assert inquiry is not None
            lap.devices.imap.request(inquiry, "delegate", {"to": to, "due": "next tuesday",
                                                      "tell_client": "no"})
        lap.devices.imap.request(inquiry, "teleport", {})     # a kind unknown here: dropped
        new = desk.sync().new_inquiries
        desk.sync()
        # An assistant the desk does not know: nothing is sent; a bad due time: the default.
        assert [m["To"].addresses[0].addr_spec for m in smtp_received(faulty_smtp)] == [SAM]
        states = {desk.store.inquiry(i).state for i in new}  # type: ignore[union-attr]
        assert states == {InquiryState.WAITING, InquiryState.DELEGATED}
        (delegation,) = [d for i in new if (d := desk.store.delegation(i))]
        assert delegation.due - delegation.made_at == desk.settings.delegation.due


@pytest.mark.usefixtures("real_keyring")
def test_without_keywords_a_dismissal_reaches_the_designated_device_and_its_autopilot(
        tmp_path: Path, shared_dovecot: Dovecot, faulty_smtp: FaultySmtp) -> None:
    with designated_devices(tmp_path, shared_dovecot, faulty_smtp) as (me, lap, desk):
        busy_for_weeks(desk, tmp_path)
        thanks, other = new_inquiry_on(lap, me), new_inquiry_on(lap, me, OTHER)
        assert lap.inquiries.dismiss(InquiryId(thanks))[0].state is InquiryState.DISMISSED
        assert faulty_smtp.received == []
        report = desk.sync()                 # the dismissal first, then the autopilot
        by_client = {desk.store.inquiry(i).sender: i  # type: ignore[union-attr]
                     for i in report.new_inquiries}
        assert inquiry_state(desk, by_client[CLIENT]) is InquiryState.DISMISSED
        # The autopilot is on: it acknowledged the client nobody dismissed, and only them.
        assert [m["To"].addresses[0].addr_spec for m in smtp_received(faulty_smtp)] == [OTHER]
        assert inquiry_state(desk, by_client[OTHER]) is InquiryState.ACKNOWLEDGED
        assert inquiry_state(lap, other) is InquiryState.WAITING

        # Undo on the laptop: the desk takes the dismissal back too, and acknowledges.
        assert lap.inquiries.undismiss(InquiryId(thanks)).state is InquiryState.WAITING
        desk.sync()
        assert inquiry_state(desk, by_client[CLIENT]) is InquiryState.ACKNOWLEDGED
        assert sorted(m["To"].addresses[0].addr_spec for m in smtp_received(faulty_smtp)) == [
            CLIENT, OTHER]


@pytest.mark.usefixtures("real_keyring")
def test_without_keywords_an_answer_noted_on_another_device_reaches_the_designated_one(
        tmp_path: Path, shared_dovecot: Dovecot, faulty_smtp: FaultySmtp) -> None:
    with designated_devices(tmp_path, shared_dovecot, faulty_smtp) as (me, lap, desk):
        inquiry_id = new_inquiry_on(lap, me)
        handed = new_inquiry_on(lap, me, OTHER)
        (on_desk, handed_on_desk) = desk.sync().new_inquiries
        desk.replies.delegate(handed_on_desk, tell_client=False)   # the laptop does not know
        assert lap.inquiries.mark_answered(InquiryId(inquiry_id))[0].state is InquiryState.ANSWERED
        assert lap.inquiries.mark_answered(InquiryId(handed))[0].state is InquiryState.ANSWERED
        assert inquiry_state(desk, on_desk) is InquiryState.WAITING
        desk.sync()
        assert inquiry_state(desk, on_desk) is InquiryState.ANSWERED
        assert inquiry_state(desk, handed_on_desk) is InquiryState.ANSWERED
        delegation = desk.store.delegation(handed_on_desk)
        assert delegation is not None and delegation.confirmed_at is not None
        assert [m["To"].addresses[0].addr_spec for m in smtp_received(faulty_smtp)] == [SAM]


@pytest.mark.usefixtures("real_keyring")
def test_without_keywords_a_dismissal_stands_when_the_designated_device_cannot_be_told(
        tmp_path: Path, shared_dovecot: Dovecot, faulty_smtp: FaultySmtp,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    with designated_devices(tmp_path, shared_dovecot, faulty_smtp) as (me, lap, _desk):
        inquiry_id = new_inquiry_on(lap, me)

        def unreachable(*_args: object) -> None:
            raise EngineError("could not pass the reply to your other device: timed out")

        monkeypatch.setattr(lap.devices.imap, "request", unreachable)
        assert lap.inquiries.dismiss(InquiryId(inquiry_id))[0].state is InquiryState.DISMISSED
        assert inquiry_state(lap, inquiry_id) is InquiryState.DISMISSED
        assert "could not tell 'desk' (dismiss" in caplog.text


@pytest.mark.usefixtures("real_keyring")
def test_the_designated_device_takes_each_request_at_least_once_and_acts_on_it_once(
        tmp_path: Path, shared_dovecot: Dovecot, faulty_smtp: FaultySmtp) -> None:
    """A request whose handling fails stays in the Heard folder for the next sync (never
    lost); one handled is removed, and one seen twice (a crash before the removal) is acted
    on once, by its id."""
    with designated_devices(tmp_path, shared_dovecot, faulty_smtp) as (me, lap, desk):
        (account,) = desk.settings.accounts
        key = lap.devices.keys.get(account)   # written as the laptop would
        assert key is not None
        conn = open_conn(me.server.imap_port, me.name, me.password)
        try:
            at = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
            for n in (1, 2, 3):
                folder.queue_request(conn, folder.Request("ack", f"<q{n}@hale.example>",
                                                          "lap", at), key)
            again = folder.queue_request(conn, folder.Request("dismiss", "<q4@hale.example>",
                                                              "lap", at), key)
            folder.queue_request(conn, again, key)   # the same request (its id) twice
        finally:
            conn.close()
        handled: list[tuple[str, str, str]] = []
        failing = {"<q2@hale.example>"}

        def handle(kind: str, message_id: str, _options: dict[str, str], by: str) -> None:
            if message_id in failing:
                raise RuntimeError("the outbox is full")
            handled.append((kind, message_id, by))

        with pytest.raises(RuntimeError):
            desk.devices.imap.take_requests(account, handle)
        assert handled == [("ack", "<q1@hale.example>", "lap")]
        failing.clear()
        assert desk.devices.imap.take_requests(account, handle) == 4   # q2, q3, q4 twice
        assert handled == [("ack", f"<q{n}@hale.example>", "lap") for n in (1, 2, 3)] + [
            ("dismiss", "<q4@hale.example>", "lap")]
        assert desk.devices.imap.take_requests(account, handle) == 0   # all removed
        assert lap.status().count == 0   # (the laptop took no part)


def _request(kind: str, message_id: str, headers: str = "") -> bytes:
    """A request as an outsider writes it: Heard's format, without the user's key."""
    body = json.dumps({"version": 1, "kind": kind, "message_id": message_id,
                       "requested_by": "lap", "at": datetime.now(UTC).isoformat(),
                       "options": {"template": "acknowledge"}})
    return (f"From: Heard <heard@heard.invalid>\r\nTo: Heard <heard@heard.invalid>\r\n"
            f"Subject: Heard request: {kind}\r\nMessage-ID: <{kind}.lap@heard.invalid>\r\n"
            f"X-Heard-Request: {kind}\r\n{headers}\r\n{body}\r\n").encode()


@pytest.mark.usefixtures("real_keyring")
def test_a_forged_request_is_never_acted_on_and_is_reported_and_a_genuine_one_still_is(
        tmp_path: Path, shared_dovecot: Dovecot, faulty_smtp: FaultySmtp,
        caplog: pytest.LogCaptureFixture) -> None:
    """Issue 24, 1: anyone who can mail the user can put a request into the Heard folder
    (plus addressing delivers to user+Heard); only what the user's devices signed counts."""
    with designated_devices(tmp_path, shared_dovecot, faulty_smtp) as (me, lap, desk):
        inquiry_id = new_inquiry_on(lap, me)
        (on_desk,) = desk.sync().new_inquiries
        message_id = desk.store.inquiry(on_desk).message_id  # type: ignore[union-attr]
        # Delivered by mail (LMTP, as the MTA does): dismiss the client.
        me.deliver(_request("dismiss", message_id), detail="Heard")
        # Put there by another mail program of the user's, signed with some other key.
        other = bytes(32)
        sig = trust.signature(other, "X-Heard-Request", "ack", "<ack.lap@heard.invalid>",
                              _request("ack", message_id).split(b"\r\n\r\n")[1].rstrip())
        me.append(_request("ack", message_id, f"X-Heard-Signature: {sig}\r\n"),
                  folder="Heard")
        conn = me.client()
        try:
            conn.select_folder("Heard", readonly=True)
            assert len(conn.search(["HEADER", "X-Heard-Request", ""])) == 2   # both there
        finally:
            conn.logout()

        desk.sync()
        desk.sync()
        assert inquiry_state(desk, on_desk) is InquiryState.WAITING     # never acted on
        assert faulty_smtp.received == []
        ignored = [r for r in caplog.records if "ignored a request" in r.getMessage()]
        assert [r.levelname for r in ignored] == ["WARNING", "WARNING"]    # once each
        assert "mail delivery" in ignored[0].getMessage()
        assert "another key" not in ignored[1].getMessage()
        assert "key your devices do not share" in ignored[1].getMessage()
        problems = " ".join(desk.status().problems)
        assert "2 messages in the Heard folder were not written by your devices" in problems
        from heard.engine.doctor import checks
        (check,) = [c for c in checks(desk, network=False) if c.name == "device messages"]
        assert check.verdict.value == "warn" and "were ignored" in check.detail

        # The laptop, joined, still passes a click to the desk: it goes out, once.
        assert lap.replies.acknowledge(InquiryId(inquiry_id)).state == "requested"
        desk.sync()
        assert [m["To"].addresses[0].addr_spec for m in smtp_received(faulty_smtp)] == [
            CLIENT]
        assert inquiry_state(desk, on_desk) is InquiryState.ACKNOWLEDGED


@pytest.mark.usefixtures("real_keyring")
def test_a_device_that_has_not_joined_signs_nothing_and_acts_on_nothing(
        tmp_path: Path, shared_dovecot: Dovecot, faulty_smtp: FaultySmtp) -> None:
    with designated_devices(tmp_path, shared_dovecot, faulty_smtp) as (me, lap, desk):
        inquiry_id = new_inquiry_on(lap, me)
        (on_desk,) = desk.sync().new_inquiries
        third = device_engine(tmp_path, me, faulty_smtp, "home", designated="desk")
        try:
            (mine,) = third.sync().new_inquiries
            with pytest.raises(EngineError, match="has not joined"):
                third.replies.acknowledge(mine)
            assert any("heard sharing join CODE" in p for p in third.status().problems)
            desk.sync()
            assert faulty_smtp.received == []
            # Joined: its click counts.
            join(third, desk)
            assert not any("has not joined" in p for p in third.status().problems)
            assert third.replies.acknowledge(mine).state == "requested"
            desk.sync()
            assert len(faulty_smtp.received) == 1
            assert inquiry_state(desk, on_desk) is InquiryState.ACKNOWLEDGED
        finally:
            third.close()
        lap.sync()
        assert inquiry_state(lap, inquiry_id) is InquiryState.ACKNOWLEDGED
