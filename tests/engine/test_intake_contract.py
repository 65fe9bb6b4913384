"""What every mail source must do for intake, run against each of them: a Maildir account and
an IMAP account on the session's Dovecot (one contract, in the spirit of vdirsyncer's
tests/storage).

Each test gets a `source`: an Engine on a fixed clock with the three clients of
tests/conftest.py, and a way to put raw mail into the account's inbox and Sent as it would
arrive there (a Maildir file with its arrival time; an IMAP APPEND with its INTERNALDATE).
What only one kind of source does stays with it: tests/engine/test_intake.py (a folder
that is not a Maildir, the file watcher, flags set over IMAP) and
tests/engine/test_accounts.py (push, UIDVALIDITY, the server going away).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from heard.domain.clock import FixedClock
from heard.domain.inquiries import InquiryState
from heard.engine import Engine, SyncReport
from heard.system.paths import Profile
from tests.conftest import CLIENTS
from tests.support.dovecot import MailUser
from tests.support.imap import imap_profile
from tests.support.mail import MEGGE, RAJ, MailFolders, drop, message


class MailSource:
    """An account's inbox and Sent as the contract sees them, and the engine reading them."""

    def __init__(self, profile: Profile, clock: FixedClock, me: str) -> None:
        self.profile = profile
        self.clock = clock
        self.me = me          # the user, as a From or To header
        self.engine = Engine.open(profile, clock)
        for client in CLIENTS:
            self.engine.clients.add(client)

    def deliver(self, raw: bytes, at: datetime) -> None:
        """`raw` arrives in the inbox at `at`."""
        raise NotImplementedError

    def file_sent(self, raw: bytes, at: datetime) -> None:
        """`raw` is put into Sent at `at` (by the user's other mail program)."""
        raise NotImplementedError

    def sync(self) -> SyncReport:
        return self.engine.sync()

    def stop(self) -> None:
        """Heard is not running (mail still arrives)."""
        self.engine.close()

    def start(self) -> None:
        self.engine = Engine.open(self.profile, self.clock)

    def close(self) -> None:
        self.engine.close()


class MaildirSource(MailSource):
    def __init__(self, profile: Profile, clock: FixedClock, mail: MailFolders) -> None:
        super().__init__(profile, clock, "Alex Morgan <alex@morgan-law.example>")
        self.mail = mail

    def deliver(self, raw: bytes, at: datetime) -> None:
        drop(self.mail.inbox, raw, at)

    def file_sent(self, raw: bytes, at: datetime) -> None:
        drop(self.mail.sent, raw, at)


class ImapSource(MailSource):
    def __init__(self, profile: Profile, clock: FixedClock, user: MailUser) -> None:
        super().__init__(profile, clock, f"Alex Morgan <{user.address}>")
        self.user = user

    def deliver(self, raw: bytes, at: datetime) -> None:
        self.user.append(raw, at=at)

    def file_sent(self, raw: bytes, at: datetime) -> None:
        self.user.append(raw, folder="Sent", flags=[b"\\Seen"], at=at)


@pytest.fixture(params=["maildir", "imap"])
def source(request: pytest.FixtureRequest, clock: FixedClock) -> Iterator[MailSource]:
    """The same account on each kind of source; Dovecot (once per session) and the keyring
    only for IMAP."""
    made: MailSource
    if request.param == "maildir":
        made = MaildirSource(request.getfixturevalue("profile"), clock,
                             request.getfixturevalue("mail"))
    else:
        user: MailUser = request.getfixturevalue("mailuser")
        request.getfixturevalue("real_keyring")
        tmp_path = request.getfixturevalue("tmp_path")
        made = ImapSource(imap_profile(tmp_path / "imap-profile", user), clock, user)
    try:
        yield made
    finally:
        made.close()


def test_a_clients_message_becomes_an_inquiry_and_other_mail_is_skipped_with_a_reason(
        source: MailSource) -> None:
    at = source.clock.now() - timedelta(minutes=5)
    source.deliver(message(MEGGE, "Closing documents"), at)
    source.deliver(message(RAJ, "Site visit"), at)
    source.deliver(message("News <news@weekly.example>", "Digest",
                           headers={"List-Unsubscribe": "<mailto:u@weekly.example>"}), at)
    source.deliver(message("Stranger <who@else.example>", "Hello"), at)
    source.deliver(message("Robot <robot@hale.example>", "Receipt",
                           headers={"Auto-Submitted": "auto-generated"}), at)
    source.deliver(message(source.me, "Note to self"), at)

    report = source.sync()

    assert report.seen == 6
    assert len(report.new_inquiries) == 3
    reasons = sorted(s.reason for s in report.skipped)
    assert reasons == ["auto-generated: Auto-Submitted", "auto-generated: List-Unsubscribe",
                       "own message"]
    status = source.engine.status()
    assert status.count == 3  # the stranger is a possible prospect, and counts
    assert {i.client.display_name for i in status.waiting} == {"Megge", "Rajesh", "Stranger"}
    stranger = next(c for c in source.engine.clients.all() if c.name == "Stranger")
    assert stranger.prospect and stranger.tier == "prospect"
    assert stranger.emails == ("who@else.example",)
    megge = next(i for i in status.waiting if i.client.display_name == "Megge")
    assert megge.inquiry.received_at == at
    assert megge.inquiry.subject == "Closing documents"
    assert megge.inquiry.preview == "Could you have a look?"


def test_resyncing_an_unchanged_source_adds_nothing(source: MailSource) -> None:
    source.deliver(message(MEGGE, "Lease"), source.clock.now() - timedelta(minutes=1))
    first = source.sync()
    assert (first.seen, len(first.new_inquiries)) == (1, 1)
    again = source.sync()
    assert (again.seen, again.new_inquiries, again.errors) == (0, [], [])
    assert source.engine.status().count == 1


def test_a_restart_takes_up_where_the_last_sync_stopped(source: MailSource) -> None:
    now = source.clock.now()
    source.deliver(message(MEGGE, "One"), now - timedelta(minutes=5))
    source.sync()
    source.stop()
    source.deliver(message(MEGGE, "Two", message_id="<two@hale.example>"),
                   now - timedelta(minutes=1))
    source.start()
    report = source.sync()
    assert report.seen == 1     # only what came while Heard was not running
    assert sorted(i.inquiry.subject for i in source.engine.status().waiting) == ["One", "Two"]


def test_a_follow_up_in_the_thread_stays_one_inquiry_and_a_new_matter_is_another(
        source: MailSource) -> None:
    now = source.clock.now()
    source.deliver(message(MEGGE, "One", message_id="<one@hale.example>"),
                   now - timedelta(minutes=9))
    source.deliver(message(MEGGE, "Re: One", message_id="<one-2@hale.example>",
                           in_reply_to="<one@hale.example>", references="<one@hale.example>"),
                   now - timedelta(minutes=5))
    source.deliver(message(MEGGE, "Another matter"), now - timedelta(minutes=1))
    report = source.sync()
    assert len(report.new_inquiries) == 2
    status = source.engine.status()
    assert status.count == 1    # one client waiting...
    assert len(status.waiting) == 2    # ... on two matters
    lease = next(i.inquiry for i in status.waiting if i.inquiry.subject == "One")
    assert lease.thread_ids[-1] == "<one-2@hale.example>"


def test_a_reply_in_sent_threaded_on_a_message_answers_only_its_thread(
        source: MailSource) -> None:
    now = source.clock.now()
    source.deliver(message(MEGGE, "Lease", message_id="<lease@hale.example>"),
                   now - timedelta(minutes=20))
    source.deliver(message(MEGGE, "Invoice", message_id="<invoice@hale.example>"),
                   now - timedelta(minutes=15))
    source.sync()
    replied = now - timedelta(minutes=2)
    source.file_sent(message(source.me, "Re: Lease", to=MEGGE, at=replied,
                             in_reply_to="<lease@hale.example>",
                             references="<lease@hale.example>"), replied)
    report = source.sync()
    assert len(report.answered) == 1
    (still,) = source.engine.status().waiting
    assert still.inquiry.subject == "Invoice"
    answered = source.engine.store.inquiry(report.answered[0])
    assert answered is not None
    assert answered.state is InquiryState.ANSWERED
    assert answered.closed_at == replied


def test_an_unthreaded_mail_to_the_client_after_the_inquiry_answers_it(
        source: MailSource) -> None:
    now = source.clock.now()
    source.deliver(message(RAJ, "Drawings"), now - timedelta(minutes=30))
    source.sync()
    # Written before the client's message arrived: not an answer to it.
    earlier = now - timedelta(minutes=40)
    source.file_sent(message(source.me, "Earlier", to=RAJ, at=earlier), earlier)
    assert source.sync().answered == []
    later = now - timedelta(minutes=1)
    source.file_sent(message(source.me, "Call me", to=RAJ, at=later), later)
    assert len(source.sync().answered) == 1
    assert source.engine.status().count == 0


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"To: alex@morgan-law.example\r\nSubject: no sender\r\n\r\nbody\r\n",
         "malformed: no From header"),
        (b"From: nobody\r\nSubject: x\r\n\r\nbody\r\n",
         "malformed: From header has no usable address"),
    ],
    ids=["no-from", "no-usable-address"],
)
def test_a_malformed_message_is_skipped_with_a_reason_and_the_rest_still_counts(
        source: MailSource, caplog: pytest.LogCaptureFixture, raw: bytes, reason: str
) -> None:
    at = source.clock.now() - timedelta(minutes=1)
    source.deliver(raw, at)
    source.deliver(message(MEGGE, "Still counted"), at)
    with caplog.at_level(logging.WARNING):
        report = source.sync()
    assert [s.reason[: len(reason)] for s in report.skipped] == [reason]
    assert any("skipped" in r.getMessage() and reason.split(": ", 1)[1] in r.getMessage()
               for r in caplog.records)
    assert [i.inquiry.subject for i in source.engine.status().waiting] == ["Still counted"]


def test_broken_encodings_and_8bit_headers_do_not_stop_intake(source: MailSource) -> None:
    eight_bit = ("From: Margaret H\xe4le <margaret@hale.example>\r\n"
                 "Subject: K\xf6ln \xff\xfe contract\r\nMessage-ID: <8bit@hale.example>\r\n"
                 "\r\nGr\xfc\xdfe\r\n").encode("latin-1")
    bad_charset = (b"From: Rajesh <raj@patel-eng.example>\r\nSubject: =?x-unknown?q?Hi?=\r\n"
                   b"Content-Type: text/plain; charset=x-does-not-exist\r\n"
                   b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64!!!\r\n")
    garbage = b"\x00\x01\x02 this is not a mail message at all \xff\xfe"
    at = source.clock.now() - timedelta(minutes=1)
    for raw in (eight_bit, bad_charset, garbage):
        source.deliver(raw, at)
    source.deliver(message("Sofia <sofia@lindqvist.example>", "Fine mail"), at)
    report = source.sync()
    assert report.seen == 4
    status = source.engine.status()
    names = sorted(i.client.display_name for i in status.waiting)
    assert names == ["Megge", "Rajesh", "Sofia"]
    megge = next(i for i in status.waiting if i.client.display_name == "Megge")
    assert "\ufffd" in megge.inquiry.subject  # undecodable bytes shown, not crashing
    assert [s.reason.split(":")[0] for s in report.skipped] == ["malformed"]


def test_an_empty_sender_a_broken_multipart_and_a_huge_header_do_not_stop_intake(
        source: MailSource) -> None:
    at = source.clock.now() - timedelta(minutes=1)
    source.deliver(b"From: \r\nSubject: no sender\r\n\r\nbody", at)
    source.deliver(b"From: Margaret Hale <margaret@hale.example>\r\nSubject: =?utf-8?B?broken"
                   b"\r\nContent-Type: multipart/mixed; boundary=\"x\"\r\n\r\n--x\r\n"
                   b"Content-Type: text/plain; charset=no-such-charset\r\n"
                   b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64\r\n", at)
    source.deliver(b"From: raj@patel-eng.example\r\nX-Long: " + b"a" * 200_000
                   + b"\r\nSubject: huge header\r\n\r\nhello", at)
    source.deliver(message(MEGGE, "Fine message"), at)
    report = source.sync()
    assert report.seen == 4
    assert [s.reason for s in report.skipped] == ["malformed: no From header"]
    subjects = sorted(i.inquiry.subject for i in source.engine.status().waiting)
    assert "Fine message" in subjects and "huge header" in subjects
    assert len(subjects) == 3


def test_mail_older_than_the_intake_window_does_not_count(source: MailSource) -> None:
    now = source.clock.now()
    source.deliver(message(MEGGE, "Ancient"), now - timedelta(days=45))
    source.deliver(message(RAJ, "Recent"), now - timedelta(minutes=3))
    report = source.sync()
    assert len(report.new_inquiries) == 1
    assert [i.inquiry.subject for i in source.engine.status().waiting] == ["Recent"]


def test_a_client_message_in_utf7_with_half_a_surrogate_pair_still_counts(
        source: MailSource) -> None:
    # UTF-7 decodes "+2D0-" to half a surrogate pair, which no UTF-8 store can hold.
    raw = (b"From: =?utf-7?Q?Margaret_Hale+2D0-?= <margaret@hale.example>\r\n"
           b"To: alex@morgan-law.example\r\nSubject: =?utf-7?Q?Lease+2D0-x?=\r\n"
           b"Message-ID: <utf7@hale.example>\r\nContent-Type: text/plain; charset=utf-7\r\n"
           b"\r\nSee +2D0-x you\r\n")
    source.deliver(raw, source.clock.now() - timedelta(minutes=1))
    report = source.sync()
    assert len(report.new_inquiries) == 1 and report.skipped == []
    (item,) = source.engine.status().waiting
    assert item.client.display_name == "Megge"
    assert item.inquiry.subject == "Lease\ufffdx"
    assert item.inquiry.preview == "See \ufffdx you"
