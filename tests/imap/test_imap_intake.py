"""Mail intake over IMAP against a real Dovecot: push, catch-up, flags, UIDVALIDITY. What
every mail source does (Maildir too) is in tests/engine/test_intake_contract.py."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from heard.config import ImapAccount
from heard.domain.inquiries import InquiryState
from heard.engine import Engine
from heard.engine.logins import open_imap
from heard.mail.imap import FolderState
from tests.conftest import CLIENTS
from tests.support.dovecot import Dovecot, MailUser
from tests.support.events import Events, wait_until
from tests.support.imap import imap_profile
from tests.support.mail import MEGGE, RAJ, message


def waiting_from(engine: Engine) -> list[str]:
    return sorted(item.inquiry.sender for item in engine.status().waiting)


def test_a_pushed_message_reaches_the_engine_and_a_follow_up_adds_no_one(
        imap_engine: Engine, mailuser: MailUser) -> None:
    events = Events(imap_engine)
    imap_engine.start_watching()
    wait_until(lambda: any(a.push for a in imap_engine.status().accounts))
    mailuser.append(message(MEGGE, "Lease", message_id="<lease-1@hale.example>"))
    event = events.wait_for(lambda e: e.kind == "changed" and bool(e.new))
    status = imap_engine.status()
    assert status.count == 1
    assert [i.inquiry.id for i in status.waiting] == list(event.new)
    assert status.waiting[0].inquiry.subject == "Lease"

    # The client writes again in the same thread, delivered over LMTP this time.
    mailuser.deliver(message(MEGGE, "Re: Lease", message_id="<lease-2@hale.example>",
                             in_reply_to="<lease-1@hale.example>"))
    wait_until(lambda: imap_engine.store.seen_count() >= 2)
    status = imap_engine.status()
    assert status.count == 1
    assert status.waiting[0].inquiry.thread_ids[-1] == "<lease-2@hale.example>"


def test_first_sync_reads_headers_only_and_never_marks_mail_read(
        imap_engine: Engine, mailuser: MailUser) -> None:
    mailuser.append(message(MEGGE, "Unread question"))
    report = imap_engine.sync()
    assert len(report.new_inquiries) == 1
    client = mailuser.client()
    try:
        client.select_folder("INBOX", readonly=True)
        flags = client.get_flags(client.search(["ALL"]))
    finally:
        client.logout()
    assert all(b"\\Seen" not in f for f in flags.values())


def test_an_unchanged_mailbox_is_resynced_with_one_status_per_folder(
        imap_engine: Engine, mailuser: MailUser) -> None:
    mailuser.append(message(MEGGE, "Lease"))
    assert imap_engine.sync().seen == 1
    again = imap_engine.sync()
    assert again.seen == 0 and not again.errors
    account = imap_engine.settings.accounts[0]
    assert isinstance(account, ImapAccount)
    known = imap_engine.store.imap_state("work", "INBOX")
    assert known is not None
    conn = open_imap(account)
    try:
        delta = conn.sync_folder("INBOX", FolderState(*known), date(2026, 1, 1),
                                 lambda _u, _h: True)
    finally:
        conn.close()
    assert delta.unchanged and delta.new == []


def test_answered_flag_set_elsewhere_answers_the_inquiry(
        imap_engine: Engine, mailuser: MailUser) -> None:
    uid = mailuser.append(message(RAJ, "Drawings"))
    imap_engine.sync()
    assert imap_engine.status().count == 1
    mailuser.set_flags(uid, [b"\\Answered"])
    report = imap_engine.sync()
    assert len(report.answered) == 1
    assert imap_engine.status().count == 0
    (inquiry,) = imap_engine.store.inquiries_between(datetime(2000, 1, 1, tzinfo=UTC),
                                                      datetime(2100, 1, 1, tzinfo=UTC))
    assert inquiry.state is InquiryState.ANSWERED


def test_catch_up_after_the_server_was_down_takes_each_message_once(
        tmp_path: Path, own_dovecot: Dovecot, real_keyring: object) -> None:
    user = own_dovecot.add_user()
    engine = Engine.open(imap_profile(tmp_path / "p", user))
    try:
        for client in CLIENTS:
            engine.clients.add(client)
        user.append(message(MEGGE, "Before"))
        engine.start_watching()
        wait_until(lambda: engine.status().count == 1)
        own_dovecot.stop()
        wait_until(lambda: bool(engine.status().offline))
        status = engine.status()
        assert any("offline" in p for p in status.problems)
        # Mail keeps arriving at the server's store while IMAP is down.
        for n in range(3):
            user.write_into_store(message(RAJ, f"While down {n}"), f"down{n}")
        own_dovecot.start()
        wait_until(lambda: len(engine.status().waiting) == 4, timeout=30)
        wait_until(lambda: not engine.status().offline, timeout=30)
        assert engine.sync().seen == 0   # nothing left over, nothing twice
        subjects = sorted(i.inquiry.subject for i in engine.status().waiting)
        assert subjects == ["Before", "While down 0", "While down 1", "While down 2"]
    finally:
        engine.close()


def test_a_killed_connection_is_reopened_and_nothing_is_missed(
        imap_engine: Engine, mailuser: MailUser) -> None:
    imap_engine.start_watching()
    wait_until(lambda: any(a.push for a in imap_engine.status().accounts))
    mailuser.server.kick(mailuser)
    mailuser.deliver(message(RAJ, "After the cut"))
    wait_until(lambda: imap_engine.status().count == 1, timeout=30)
    assert imap_engine.sync().seen == 0
    assert len(imap_engine.status().waiting) == 1


def test_a_new_uidvalidity_rereads_the_folder_without_counting_twice(
        tmp_path: Path, own_dovecot: Dovecot, real_keyring: object) -> None:
    user = own_dovecot.add_user()
    engine = Engine.open(imap_profile(tmp_path / "p", user))
    try:
        for client in CLIENTS:
            engine.clients.add(client)
        user.append(message(MEGGE, "Old one"))
        engine.sync()
        before = engine.store.imap_state("work", "INBOX")
        own_dovecot.stop()
        user.bump_uidvalidity()
        user.write_into_store(message(RAJ, "New one"), "new1")
        own_dovecot.start()
        report = engine.sync()
        assert not report.errors
        after = engine.store.imap_state("work", "INBOX")
        assert before is not None and after is not None and after[0] != before[0]
        subjects = sorted(i.inquiry.subject for i in engine.status().waiting)
        assert subjects == ["New one", "Old one"]
    finally:
        engine.close()


def test_folders_can_be_named_in_settings(tmp_path: Path, mailuser: MailUser,
                                         real_keyring: object) -> None:
    client = mailuser.client()
    try:
        client.create_folder("Clients")
    finally:
        client.logout()
    engine = Engine.open(imap_profile(tmp_path / "p", mailuser,
                                      extra={"folders": ["INBOX", "Clients"]}))
    try:
        engine.clients.add(CLIENTS[0])
        mailuser.append(message(MEGGE, "Filed by a rule"), folder="Clients")
        mailuser.append(message(MEGGE, "In the inbox", message_id="<in@hale.example>"))
        engine.sync()
        assert len(engine.status().waiting) == 2
    finally:
        engine.close()


def test_a_new_uidvalidity_does_not_bring_answered_inquiries_back(
        tmp_path: Path, own_dovecot: Dovecot, real_keyring: object) -> None:
    user = own_dovecot.add_user()
    engine = Engine.open(imap_profile(tmp_path / "p", user))
    try:
        engine.clients.add(CLIENTS[0])
        user.append(message(MEGGE, "Old one", message_id="<old@hale.example>"))
        engine.sync()
        user.append(message(user.address, "Re: Old one", to=MEGGE,
                            in_reply_to="<old@hale.example>", references="<old@hale.example>"),
                    folder="Sent")
        engine.sync()
        assert engine.status().waiting == []
        own_dovecot.stop()
        user.bump_uidvalidity()
        own_dovecot.start()
        report = engine.sync()
        assert report.new_inquiries == [] and not report.errors
        assert engine.status().waiting == []
    finally:
        engine.close()


def test_mail_already_answered_elsewhere_when_first_seen_is_not_waiting(
        imap_engine: Engine, mailuser: MailUser) -> None:
    mailuser.append(message(MEGGE, "Answered from my other account"), flags=[b"\\Answered"])
    mailuser.append(message(RAJ, "Still open"))
    report = imap_engine.sync()
    assert len(report.new_inquiries) == 1
    assert [i.inquiry.subject for i in imap_engine.status().waiting] == ["Still open"]


def test_a_sender_clock_far_in_the_past_does_not_hide_the_message(
        imap_engine: Engine, mailuser: MailUser) -> None:
    mailuser.append(message(RAJ, "Sent from a phone set to 1970",
                            at=datetime(1970, 1, 1, tzinfo=UTC)))
    report = imap_engine.sync()
    assert len(report.new_inquiries) == 1
    (item,) = imap_engine.status().waiting
    assert item.inquiry.received_at.year == datetime.now(UTC).year
