"""The engine on servers that cannot fully coordinate devices: no CONDSTORE, no keywords."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from heard.config import ConfigFile
from heard.domain.clients import Client
from heard.domain.ids import InquiryId
from heard.domain.inquiries import InquiryState
from heard.engine import Engine, EngineError
from heard.system.paths import Profile
from tests.support.devices import client_writes, restrict
from tests.support.dovecot import Dovecot, MailUser
from tests.support.imap import sending_profile
from tests.support.mail import SAM
from tests.support.smtp import FaultySmtp

CLIENT = "margaret@hale.example"
OTHER = "raj@patel-eng.example"


def _engine(root: Path, me: MailUser, smtp: FaultySmtp, instance: str,
            designated: str = "") -> Engine:
    profile: Profile = sending_profile(root / instance, me, smtp.port, smtp.cert)
    ConfigFile(profile.config).set_many([("sharing", "instance", instance),
                                         ("sharing", "designated_instance", designated),
                                         ("assistant", "name", "Sam Reed"),
                                         ("assistant", "address", SAM)])
    engine = Engine.open(profile)
    engine.clients.add(Client("Margaret Hale", emails=(CLIENT,), preferred_name="Megge"))
    engine.clients.add(Client("Raj Patel", emails=(OTHER,)))
    return engine


def _waiting(engine: Engine, me: MailUser, sender: str = CLIENT) -> int:
    client_writes(me, sender=sender)
    (inquiry_id,) = engine.sync().new_inquiries
    return int(inquiry_id)


@contextmanager
def _designated(root: Path, dovecot: Dovecot, smtp: FaultySmtp
                ) -> Iterator[tuple[MailUser, Engine, Engine]]:
    """A mailbox whose server keeps no keywords; the laptop and the desk (designated)."""
    me = dovecot.add_user()
    me.append(b"From: a@b.example\r\nAuto-Submitted: auto-generated\r\nSubject: hello\r\n"
              b"\r\nhello\r\n")   # so the Maildir exists
    restrict(me, "lrsitekx")               # everything but keywords ("w")
    lap = _engine(root, me, smtp, "lap", designated="desk")
    desk = _engine(root, me, smtp, "desk", designated="desk")
    try:
        yield me, lap, desk
    finally:
        lap.close()
        desk.close()


def _mail(smtp: FaultySmtp) -> list[EmailMessage]:
    """What the SMTP server accepted, parsed."""
    return [message_from_bytes(m.content, policy=policy.default)  # type: ignore[misc]
            for m in smtp.received if isinstance(m.content, bytes)]


def _state(engine: Engine, inquiry_id: int) -> InquiryState:
    inquiry = engine.store.inquiry(InquiryId(inquiry_id))
    assert inquiry is not None
    return inquiry.state


def _busy_for_weeks(engine: Engine, root: Path) -> None:
    """In a meeting from an hour ago for a month; the autopilot on, whatever the deadline."""
    start, end = datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC) + timedelta(days=30)
    ics = root / f"{engine.settings.instance}.ics"
    ics.write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
        "BEGIN:VEVENT\r\nUID:a\r\nDTSTAMP:20261101T000000Z\r\n"
        f"DTSTART:{start:%Y%m%dT%H%M%SZ}\r\nDTEND:{end:%Y%m%dT%H%M%SZ}\r\n"
        "SUMMARY:Trial\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", encoding="utf-8")
    file = ConfigFile(engine.profile.config)
    file.append("calendars", {"name": "work", "kind": "ics", "path": str(ics)})
    file.set_many([("autopilot", "tiers", ["standard"]), ("autopilot", "before", "30d")])
    engine.reload_settings()


def _flags(me: MailUser) -> set[str]:
    conn = me.client()
    try:
        conn.select_folder("INBOX", readonly=True)
        return {f.decode() for uid, f in conn.get_flags(conn.search(["ALL"])).items()
                for f in f}
    finally:
        conn.logout()


@pytest.mark.usefixtures("real_keyring")
def test_without_condstore_the_claim_still_guards_and_marks(
        tmp_path: Path, plain_dovecot: Dovecot, faulty_smtp: FaultySmtp) -> None:
    me = plain_dovecot.add_user()
    engine = _engine(tmp_path, me, faulty_smtp, "desk")
    try:
        (account,) = engine.settings.accounts
        assert "CONDSTORE" in engine.devices.imap.describe(account)   # says what is missing
        assert engine.replies.acknowledge(_waiting(engine, me)).sent
        assert {"$HeardAcked", "$HeardBy_desk", "$HeardSending"} <= _flags(me)
    finally:
        engine.close()


@pytest.mark.usefixtures("real_keyring")
def test_a_server_that_keeps_no_keywords_lets_only_the_designated_device_send(
        tmp_path: Path, shared_dovecot: Dovecot, faulty_smtp: FaultySmtp) -> None:
    with _designated(tmp_path, shared_dovecot, faulty_smtp) as (me, lap, desk):
        inquiry_id = _waiting(lap, me)
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
    with _designated(tmp_path, shared_dovecot, faulty_smtp) as (me, lap, desk):
        inquiry_id = _waiting(lap, me)
        due = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
        result = lap.replies.delegate(InquiryId(inquiry_id), "sam reed", "Please book the notary.",
                              due, tell_client=True)
        assert (result.sent, result.state, result.forward_id) == (False, "requested", "")
        assert "'desk'" in result.error and result.assistant.address == SAM
        assert faulty_smtp.received == []
        assert _state(lap, inquiry_id) is InquiryState.WAITING   # it stays, as an ack would

        (on_desk,) = desk.sync().new_inquiries          # the desk forwards it, once
        desk.sync()
        forward, told = sorted(_mail(faulty_smtp), key=lambda m: m["To"] != SAM)
        assert len(faulty_smtp.received) == 2
        assert forward["To"].addresses[0].addr_spec == SAM
        assert forward["X-Heard-Delegates"]
        assert forward.get_body(("plain",)).get_content().startswith("Please book the notary.")
        assert told["To"].addresses[0].addr_spec == CLIENT   # the client is told who helps
        assert _state(desk, on_desk) is InquiryState.DELEGATED
        delegation = desk.store.delegation(on_desk)
        assert delegation is not None and delegation.address == SAM and delegation.due == due
        assert delegation.note == "Please book the notary."

        lap.sync()                                       # the note to the client is in Sent
        assert lap.status().count == 0


@pytest.mark.usefixtures("real_keyring")
def test_without_keywords_a_bad_delegation_request_falls_back_or_is_dropped(
        tmp_path: Path, shared_dovecot: Dovecot, faulty_smtp: FaultySmtp) -> None:
    with _designated(tmp_path, shared_dovecot, faulty_smtp) as (me, lap, desk):
        first, second = _waiting(lap, me), _waiting(lap, me, OTHER)
        for inquiry_id, to in ((first, "nobody"), (second, "")):
            inquiry = lap.store.inquiry(InquiryId(inquiry_id))
            assert inquiry is not None
            lap.devices.imap.request(inquiry, "delegate", {"to": to, "due": "next tuesday",
                                                      "tell_client": "no"})
        lap.devices.imap.request(inquiry, "teleport", {})     # a kind unknown here: dropped
        new = desk.sync().new_inquiries
        desk.sync()
        # An assistant the desk does not know: nothing is sent; a bad due time: the default.
        assert [m["To"].addresses[0].addr_spec for m in _mail(faulty_smtp)] == [SAM]
        states = {desk.store.inquiry(i).state for i in new}  # type: ignore[union-attr]
        assert states == {InquiryState.WAITING, InquiryState.DELEGATED}
        (delegation,) = [d for i in new if (d := desk.store.delegation(i))]
        assert delegation.due - delegation.made_at == desk.settings.delegation.due


@pytest.mark.usefixtures("real_keyring")
def test_without_keywords_a_dismissal_reaches_the_designated_device_and_its_autopilot(
        tmp_path: Path, shared_dovecot: Dovecot, faulty_smtp: FaultySmtp) -> None:
    with _designated(tmp_path, shared_dovecot, faulty_smtp) as (me, lap, desk):
        _busy_for_weeks(desk, tmp_path)
        thanks, other = _waiting(lap, me), _waiting(lap, me, OTHER)
        assert lap.inquiries.dismiss(InquiryId(thanks)).state is InquiryState.DISMISSED
        assert faulty_smtp.received == []
        report = desk.sync()                 # the dismissal first, then the autopilot
        by_client = {desk.store.inquiry(i).sender: i  # type: ignore[union-attr]
                     for i in report.new_inquiries}
        assert _state(desk, by_client[CLIENT]) is InquiryState.DISMISSED
        # The autopilot is on: it acknowledged the client nobody dismissed, and only them.
        assert [m["To"].addresses[0].addr_spec for m in _mail(faulty_smtp)] == [OTHER]
        assert _state(desk, by_client[OTHER]) is InquiryState.ACKNOWLEDGED
        assert _state(lap, other) is InquiryState.WAITING

        # Undo on the laptop: the desk takes the dismissal back too, and acknowledges.
        assert lap.inquiries.undismiss(InquiryId(thanks)).state is InquiryState.WAITING
        desk.sync()
        assert _state(desk, by_client[CLIENT]) is InquiryState.ACKNOWLEDGED
        assert sorted(m["To"].addresses[0].addr_spec for m in _mail(faulty_smtp)) == [
            CLIENT, OTHER]


@pytest.mark.usefixtures("real_keyring")
def test_without_keywords_an_answer_noted_on_another_device_reaches_the_designated_one(
        tmp_path: Path, shared_dovecot: Dovecot, faulty_smtp: FaultySmtp) -> None:
    with _designated(tmp_path, shared_dovecot, faulty_smtp) as (me, lap, desk):
        inquiry_id = _waiting(lap, me)
        handed = _waiting(lap, me, OTHER)
        (on_desk, handed_on_desk) = desk.sync().new_inquiries
        desk.replies.delegate(handed_on_desk, tell_client=False)   # the laptop does not know
        assert lap.inquiries.mark_answered(InquiryId(inquiry_id)).state is InquiryState.ANSWERED
        assert lap.inquiries.mark_answered(InquiryId(handed)).state is InquiryState.ANSWERED
        assert _state(desk, on_desk) is InquiryState.WAITING
        desk.sync()
        assert _state(desk, on_desk) is InquiryState.ANSWERED
        assert _state(desk, handed_on_desk) is InquiryState.ANSWERED
        delegation = desk.store.delegation(handed_on_desk)
        assert delegation is not None and delegation.confirmed_at is not None
        assert [m["To"].addresses[0].addr_spec for m in _mail(faulty_smtp)] == [SAM]


@pytest.mark.usefixtures("real_keyring")
def test_without_keywords_a_dismissal_stands_when_the_designated_device_cannot_be_told(
        tmp_path: Path, shared_dovecot: Dovecot, faulty_smtp: FaultySmtp,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    with _designated(tmp_path, shared_dovecot, faulty_smtp) as (me, lap, _desk):
        inquiry_id = _waiting(lap, me)

        def unreachable(*_args: object) -> None:
            raise EngineError("could not pass the reply to your other device: timed out")

        monkeypatch.setattr(lap.devices.imap, "request", unreachable)
        assert lap.inquiries.dismiss(InquiryId(inquiry_id)).state is InquiryState.DISMISSED
        assert _state(lap, inquiry_id) is InquiryState.DISMISSED
        assert "could not tell 'desk' (dismiss" in caplog.text


@pytest.mark.usefixtures("real_keyring")
def test_the_settings_window_points_out_a_fallback_mode(
        tmp_path: Path, shared_dovecot: Dovecot, faulty_smtp: FaultySmtp,
        qtbot: QtBot) -> None:
    from tests.support.gui import window_for

    with _designated(tmp_path, shared_dovecot, faulty_smtp) as (_me, lap, _desk):
        window = window_for(qtbot, lap)
        qtbot.waitUntil(lambda: "designated-only" in window.devices_mode.text(),
                        timeout=10000)
        assert "keywords" in window.devices_mode.text()   # what the server lacks
        assert "c62828" in window.devices_mode.styleSheet()
        assert window.designated_instance.text() == "desk"
        # ... and the laptop's main window says what it means, once a sync learnt it.
        lap.sync()
        notice = lap.status().sharing_notice
        assert "replies go out from 'desk'" in notice
        from heard.gui.quick_reply import QuickReplyWindow

        quick = QuickReplyWindow()
        qtbot.addWidget(quick)
        quick.show_status(lap.status(), lap.settings.zone)
        assert quick.banner.text() == notice and not quick.banner.isHidden()
