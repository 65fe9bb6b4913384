"""The Heard folder (heard.devices.wire.folder): one-click requests passed to the designated
device where the server keeps no keywords, and the shared settings, in IMAP METADATA or in
a settings message where there is none."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from heard.devices.wire import claims as ss
from heard.devices.wire import folder, trust
from heard.devices.wire.folder import _parse_request
from heard.mail.imap import Connection
from tests.support.devices import AT, KEY, connection
from tests.support.dovecot import Dovecot, MailUser

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def test_requests_are_read_oldest_first_and_stay_until_removed(
        owner: MailUser, conns: list[Connection]) -> None:
    """Reading takes nothing away: a request is removed only once handled (at least once,
    never lost; heard.devices.imap acts on each once, by its id)."""
    lap, desk = connection(owner, conns), connection(owner, conns)
    for n in (1, 2, 3):
        ss.queue_request(lap, ss.Request("ack", f"<q{n}@hale.example>", "lap", AT), KEY)
    pending = folder.read_requests(desk, KEY)
    assert [r.message_id for r in pending.requests] == [f"<q{n}@hale.example>" for n in (1, 2, 3)]
    assert pending.rejected == []
    assert folder.read_requests(desk, KEY) == pending
    folder.remove_requests(desk, [pending.requests[0].uid])
    assert [r.message_id for r in folder.read_requests(desk, KEY).requests] == [
        "<q2@hale.example>", "<q3@hale.example>"]


def test_an_unreadable_request_is_refused_and_removed(
        owner: MailUser, conns: list[Connection]) -> None:
    desk = connection(owner, conns)
    ss.queue_request(desk, ss.Request("ack", "<q1@hale.example>", "lap", AT), KEY)  # makes Heard
    owner.append(trust.signed_message(KEY, "<junk@heard.invalid>", "junk",
                                      "X-Heard-Request", "ack", "{not json", AT),
                 folder="Heard")   # one of the user's devices, gone wrong
    pending = folder.read_requests(desk, KEY)
    assert [r.message_id for r in pending.requests] == ["<q1@hale.example>"]
    ((uid, why),) = pending.rejected
    assert "not JSON" in why
    folder.remove_requests(desk, [uid, pending.requests[0].uid])
    assert folder.read_requests(desk, KEY) == folder.Pending([], [], [])


def test_a_request_kind_or_time_that_could_break_the_message_is_refused(
        owner: MailUser, conns: list[Connection]) -> None:
    lap = connection(owner, conns)
    with pytest.raises(ValueError):
        ss.queue_request(lap, ss.Request("ack\r\nBcc: x@y", "<q@x>", "lap", AT), KEY)
    with pytest.raises(ValueError):
        ss.queue_request(lap, ss.Request("ack", "<q@x>", "Lap Top", AT), KEY)
    with pytest.raises(ValueError):
        ss.queue_request(lap, ss.Request("ack", "<q@x>", "lap", datetime(2026, 1, 1)), KEY)


@pytest.mark.parametrize("metadata", [True, False], ids=["metadata", "settings-message"])
def test_shared_settings_versioned_last_writer_wins_conflicts_reported(
        shared_dovecot: Dovecot, plain_dovecot: Dovecot, conns: list[Connection],
        metadata: bool) -> None:
    user = (shared_dovecot if metadata else plain_dovecot).add_user()
    desk, lap = connection(user, conns), connection(user, conns)
    where = "metadata" if metadata else "message"
    empty = ss.read_settings(lap, KEY)
    assert empty.version == 0 and empty.values == {}

    first = ss.write_settings(desk, {"designated": "desk", "quiet": ["12:00", "13:00"]},
                              0, "desk", AT, KEY)
    assert (first.version, first.where, first.conflict) == (1, where, None)
    read = ss.read_settings(lap, KEY)
    assert read.values == {"designated": "desk", "quiet": ["12:00", "13:00"]}
    assert (read.version, read.written_by, read.written_at, read.where) == (
        1, "desk", AT, where)

    second = ss.write_settings(lap, {"designated": "lap"}, 1, "lap", AT + timedelta(1), KEY)
    assert second.version == 2 and second.conflict is None
    # desk still edits version 1: its write wins (last writer), and says whose it replaced.
    third = ss.write_settings(desk, {"designated": "desk"}, 1, "desk", AT + timedelta(2), KEY)
    assert third.version == 3
    assert third.conflict is not None and "'lap'" in third.conflict
    assert third.replaced is not None and third.replaced.values == {"designated": "lap"}
    assert ss.read_settings(lap, KEY).values == {"designated": "desk"}
    # Hostile text in values is data, not protocol.
    odd = {"note": 'a "quoted" \\ back\\slash ) and {literal} \u00e9'}
    ss.write_settings(lap, odd, 3, "lap", AT, KEY)
    assert ss.read_settings(desk, KEY).values == odd


def test_requests_parse_from_the_message_only_when_well_formed() -> None:
    raw = (b"Message-ID: <r1.lap@heard.invalid>\r\nX-Heard-Request: ack\r\n\r\n"
           b'{"version": 1, "kind": "ack", "message_id": "<q@x>", "requested_by": "lap",'
           b' "at": "2026-11-25T09:00:00+00:00", "options": {"template": "t"}}\r\n')
    request = _parse_request(raw, 4)
    assert (request.id, request.uid, request.kind, request.at) == (
        "<r1.lap@heard.invalid>", 4, "ack", T0)
    for body, why in ((b"[]", "not a JSON object"), (b"{", "not JSON"),
                      (b'{"kind": "ack"}', "missing or bad field"),
                      (b'{"kind": "Ack!", "message_id": "<q>", "requested_by": "lap",'
                       b' "at": "2026-11-25T09:00:00"}', "bad kind"),
                      (b'{"kind": "ack", "message_id": "<q>", "requested_by": "Lap",'
                       b' "at": "2026-11-25T09:00:00"}', "missing or bad field")):
        with pytest.raises(ValueError, match=why):
            _parse_request(b"X-Heard-Request: ack\r\n\r\n" + body, 1)
