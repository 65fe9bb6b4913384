"""Capabilities are detected per account and the fallbacks engage and say so: no
CONDSTORE, no keywords (designated-only, requests through the Heard folder), no write
access (local-only). Shared settings in METADATA, or in a message where there is none."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from heard.devices.wire import claims as ss
from heard.domain.shared import Lease, Status, shared_state
from heard.mail.imap import Connection, ImapError
from tests.support.devices import client_message, connection, restrict
from tests.support.dovecot import Dovecot, MailUser
from tests.support.instances import now

AT = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def test_full_mode_on_dovecot(owner: MailUser, conns: list[Connection]) -> None:
    owner.append(client_message(1))
    caps = ss.detect(connection(owner, conns), "INBOX", "desk")
    assert caps.mode is ss.Mode.FULL
    assert caps.keywords and caps.condstore and caps.qresync and caps.metadata
    assert caps.rights is not None and "w" in caps.rights
    assert caps.describe().startswith("full: ")
    assert "IMAP METADATA" in caps.describe()


def test_a_server_without_condstore_claims_without_the_condition(
        plain_dovecot: Dovecot, conns: list[Connection]) -> None:
    user = plain_dovecot.add_user()
    for n in (1, 2):
        user.append(client_message(n))
    desk, lap = connection(user, conns), connection(user, conns)
    caps = ss.detect(desk, "INBOX", "desk")
    assert caps.mode is ss.Mode.NO_CONDSTORE and caps.keywords and not caps.condstore
    text = caps.describe()
    assert text.startswith("no-condstore: ") and "CONDSTORE" in text and "QRESYNC" in text
    assert isinstance(ss.claim(desk, "INBOX", 1, "desk", lambda: False, Lease(), now,
                               caps=caps), ss.Claimed)
    assert isinstance(ss.claim(lap, "INBOX", 1, "lap", lambda: False, Lease(), now),
                      ss.LostTo)
    assert ss.mark_sending(desk, "INBOX", 1, "desk", caps=caps)
    ss.mark(desk, "INBOX", 1, "acked")
    # Catching up has no MODSEQ to start from: every message's flags, every time.
    first = ss.flags_since(lap, "INBOX", None, None)
    assert first.highestmodseq is None
    later = ss.flags_since(lap, "INBOX", first.uidvalidity, 7)
    assert later.full and later.method == "full"
    assert shared_state(later.changed[1]).status is Status.ACKED


def test_a_server_that_keeps_no_keywords_means_designated_only(
        owner: MailUser, conns: list[Connection]) -> None:
    owner.append(client_message(1))
    restrict(owner, "lrsitekx")                 # everything but `w`: no keywords
    lap, desk = connection(owner, conns), connection(owner, conns)
    caps = ss.detect(lap, "INBOX", "lap")
    assert caps.mode is ss.Mode.DESIGNATED and caps.writable and not caps.keywords
    assert "designated device" in caps.describe()
    result = ss.claim(lap, "INBOX", 1, "lap", lambda: False, Lease(), now)
    assert isinstance(result, ss.NotShared) and result.mode is ss.Mode.DESIGNATED

    # lap's one-click acknowledgement goes to the designated instance (desk).
    queued = ss.queue_request(lap, ss.Request("ack", "<q1@hale.example>", "lap", AT,
                                              {"template": "busy-until"}))
    assert queued.id.endswith("@heard.invalid>")
    ss.queue_request(lap, ss.Request("dismiss", "<q2@hale.example>", "lap", AT))
    seen: list[ss.Request] = []
    taken = ss.take_requests(desk, seen.append)
    assert [(r.kind, r.message_id, r.requested_by) for r in taken.handled] == [
        ("ack", "<q1@hale.example>", "lap"), ("dismiss", "<q2@hale.example>", "lap")]
    assert taken.handled[0].id == queued.id
    assert taken.handled[0].options == {"template": "busy-until"}
    assert taken.handled[0].at == AT
    assert ss.take_requests(desk, seen.append) == ss.Taken([], [])


def test_requests_survive_a_failing_handler_and_bad_ones_are_dropped(
        owner: MailUser, conns: list[Connection]) -> None:
    lap, desk = connection(owner, conns), connection(owner, conns)
    for n in (1, 2, 3):
        ss.queue_request(lap, ss.Request("ack", f"<q{n}@hale.example>", "lap", AT))
    owner.append(b"From: x@y\r\nX-Heard-Request: ack\r\nSubject: junk\r\n\r\n{not json\r\n",
                 folder="Heard")

    def handle(request: ss.Request) -> None:
        if request.message_id == "<q2@hale.example>":
            raise RuntimeError("the outbox is full")
        done.append(request.message_id)

    done: list[str] = []
    with pytest.raises(RuntimeError):
        ss.take_requests(desk, handle)
    assert done == ["<q1@hale.example>"]
    # q1 is gone for good, and so is the unreadable one (read, refused and removed before
    # any was handled); q2 waits for the next run (at least once, never lost).
    done.clear()
    taken = ss.take_requests(desk, lambda r: done.append(r.message_id))
    assert done == ["<q2@hale.example>", "<q3@hale.example>"]
    assert taken.rejected == []
    assert ss.take_requests(desk, handle) == ss.Taken([], [])


def test_an_unreadable_request_is_refused_and_removed(
        owner: MailUser, conns: list[Connection]) -> None:
    desk = connection(owner, conns)
    ss.queue_request(desk, ss.Request("ack", "<q1@hale.example>", "lap", AT))  # makes Heard
    owner.append(b"From: x@y\r\nX-Heard-Request: ack\r\nSubject: junk\r\n\r\n{not json\r\n",
                 folder="Heard")
    taken = ss.take_requests(desk, lambda r: None)
    assert [r.message_id for r in taken.handled] == ["<q1@hale.example>"]
    assert len(taken.rejected) == 1 and "not JSON" in taken.rejected[0]
    assert ss.take_requests(desk, lambda r: None) == ss.Taken([], [])


def test_a_request_kind_or_time_that_could_break_the_message_is_refused(
        owner: MailUser, conns: list[Connection]) -> None:
    lap = connection(owner, conns)
    with pytest.raises(ValueError):
        ss.queue_request(lap, ss.Request("ack\r\nBcc: x@y", "<q@x>", "lap", AT))
    with pytest.raises(ValueError):
        ss.queue_request(lap, ss.Request("ack", "<q@x>", "Lap Top", AT))
    with pytest.raises(ValueError):
        ss.queue_request(lap, ss.Request("ack", "<q@x>", "lap", datetime(2026, 1, 1)))


def test_no_write_access_means_local_only(owner: MailUser, conns: list[Connection]) -> None:
    owner.append(client_message(1))
    restrict(owner, "lr")
    conn = connection(owner, conns)
    caps = ss.detect(conn, "INBOX", "desk")
    assert caps.mode is ss.Mode.LOCAL and not caps.writable
    assert "read-only" in caps.describe()
    result = ss.claim(conn, "INBOX", 1, "desk", lambda: False, Lease(), now)
    assert isinstance(result, ss.NotShared) and result.mode is ss.Mode.LOCAL
    # Reading still works, and the connection is usable afterwards.
    assert set(ss.flags_since(conn, "INBOX", None, None).changed) == {1}
    assert conn.status("INBOX").uidnext == 2


def test_every_mode_has_words() -> None:
    words = ss.describe_modes()
    assert set(words) == {"full", "no-condstore", "designated-only", "local-only"}
    assert all(len(text) > 80 for text in words.values())


@pytest.mark.parametrize("metadata", [True, False], ids=["metadata", "settings-message"])
def test_shared_settings_versioned_last_writer_wins_conflicts_reported(
        shared_dovecot: Dovecot, plain_dovecot: Dovecot, conns: list[Connection],
        metadata: bool) -> None:
    user = (shared_dovecot if metadata else plain_dovecot).add_user()
    desk, lap = connection(user, conns), connection(user, conns)
    where = "metadata" if metadata else "message"
    empty = ss.read_settings(lap)
    assert empty.version == 0 and empty.values == {}

    first = ss.write_settings(desk, {"designated": "desk", "quiet": ["12:00", "13:00"]},
                              0, "desk", AT)
    assert (first.version, first.where, first.conflict) == (1, where, None)
    read = ss.read_settings(lap)
    assert read.values == {"designated": "desk", "quiet": ["12:00", "13:00"]}
    assert (read.version, read.written_by, read.written_at, read.where) == (
        1, "desk", AT, where)

    second = ss.write_settings(lap, {"designated": "lap"}, 1, "lap", AT + timedelta(1))
    assert second.version == 2 and second.conflict is None
    # desk still edits version 1: its write wins (last writer), and says whose it replaced.
    third = ss.write_settings(desk, {"designated": "desk"}, 1, "desk", AT + timedelta(2))
    assert third.version == 3
    assert third.conflict is not None and "'lap'" in third.conflict
    assert third.replaced is not None and third.replaced.values == {"designated": "lap"}
    assert ss.read_settings(lap).values == {"designated": "desk"}
    # Hostile text in values is data, not protocol.
    odd = {"note": 'a "quoted" \\ back\\slash ) and {literal} \u00e9'}
    ss.write_settings(lap, odd, 3, "lap", AT)
    assert ss.read_settings(desk).values == odd


def test_a_folder_that_cannot_be_opened_is_a_plain_error(owner: MailUser,
                                                         conns: list[Connection]) -> None:
    conn = connection(owner, conns)
    with pytest.raises(ImapError) as err:
        ss.detect(conn, "No such folder")
    assert "cannot open the folder 'No such folder'" in err.value.message
    assert ss.detect(conn, "INBOX").mode is ss.Mode.FULL   # still usable
