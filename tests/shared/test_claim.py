"""The claim's corner cases, each made to happen on purpose between its steps."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from heard.devices.wire import claims as ss
from heard.domain.shared import CLAIMED, Done, Lease, owners
from heard.mail.imap import Connection
from heard.mail.imap import commands as wire
from tests.support.devices import client_message, connection
from tests.support.dovecot import MailUser
from tests.support.instances import now


@contextmanager
def after_first_read(monkeypatch: pytest.MonkeyPatch, action: Callable[[], None]
                     ) -> Iterator[list[int]]:
    """Run `action` (another device's change) right after the claim's first FETCH."""
    calls: list[int] = []
    original = wire.read_flags

    def read_flags(conn: Connection, uid: int, modseq: bool) -> Any:
        result = original(conn, uid, modseq)
        calls.append(uid)
        if len(calls) == 1:
            action()
        return result

    monkeypatch.setattr(wire, "read_flags", read_flags)
    yield calls


def test_a_spurious_modified_from_a_phone_reading_the_mail_is_retried(
        owner: MailUser, conns: list[Connection], monkeypatch: pytest.MonkeyPatch) -> None:
    owner.append(client_message(1))
    desk = connection(owner, conns)
    with after_first_read(monkeypatch, lambda: owner.set_flags(1, ["\\Seen"])):
        result = ss.claim(desk, "INBOX", 1, "desk", lambda: False, Lease(), now)
    assert isinstance(result, ss.Claimed) and result.rounds == 2, result


def test_a_claim_that_lands_between_read_and_store_wins_over_ours(
        owner: MailUser, conns: list[Connection], monkeypatch: pytest.MonkeyPatch) -> None:
    owner.append(client_message(1))
    desk, lap = connection(owner, conns), connection(owner, conns)
    with after_first_read(monkeypatch, lambda: owner.set_flags(1, [CLAIMED, "$HeardBy_lap"])):
        result = ss.claim(desk, "INBOX", 1, "desk", lambda: False, Lease(), now)
    assert isinstance(result, ss.LostTo) and result.owner == "lap", result
    monkeypatch.undo()
    flags = ss.flags_since(lap, "INBOX", None, None).changed[1]
    assert owners(flags) == {"lap"}          # the conditional STORE changed nothing


def test_without_condstore_two_tokens_are_settled_by_the_lowest_id(
        owner: MailUser, conns: list[Connection], monkeypatch: pytest.MonkeyPatch) -> None:
    """The CAS is off (as on a server without CONDSTORE), so both tokens land: the lower
    id (desk) stays and waits for lap to step back; lap steps back at once."""
    owner.append(client_message(1))
    desk = connection(owner, conns)
    caps = ss.detect(desk, "INBOX", "desk")
    plain = ss.Capabilities(**{**caps.__dict__, "condstore": False})
    assert plain.mode is ss.Mode.NO_CONDSTORE
    lap_token = "$HeardBy_lap"
    stepped_back: list[bool] = []

    def lap_claims() -> None:
        owner.set_flags(1, [CLAIMED, lap_token])

    original_pause = [0]

    def pause(seconds: float) -> None:
        # While desk waits as the lowest, lap (a live instance) removes its token.
        original_pause[0] += 1
        if not stepped_back:
            client = owner.client()
            client.select_folder("INBOX")
            client.remove_flags([1], [lap_token])
            client.logout()
            stepped_back.append(True)

    with after_first_read(monkeypatch, lap_claims):
        result = ss.claim(desk, "INBOX", 1, "desk", lambda: False, Lease(), now,
                          caps=plain, pause=pause)
    assert isinstance(result, ss.Claimed) and result.contended, result
    assert stepped_back and original_pause[0] >= 1


def test_the_higher_id_steps_back_at_once(owner: MailUser, conns: list[Connection],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    owner.append(client_message(1))
    lap = connection(owner, conns)
    caps = ss.detect(lap, "INBOX", "lap")
    plain = ss.Capabilities(**{**caps.__dict__, "condstore": False})
    with after_first_read(monkeypatch, lambda: owner.set_flags(1, [CLAIMED, "$HeardBy_desk"])):
        result = ss.claim(lap, "INBOX", 1, "lap", lambda: False, Lease(), now, caps=plain,
                          pause=lambda s: None)
    assert result == ss.LostTo("desk", None)
    monkeypatch.undo()
    assert owners(ss.flags_since(lap, "INBOX", None, None).changed[1]) == {"desk"}


def test_a_lowest_that_waits_in_vain_steps_back_and_tries_again_later(
        owner: MailUser, conns: list[Connection], monkeypatch: pytest.MonkeyPatch) -> None:
    """zed claimed at the same time and then died before stepping back: desk (lowest)
    gives up waiting, removes its own token, and sees zed's claim as any other."""
    owner.append(client_message(1))
    desk = connection(owner, conns)
    caps = ss.detect(desk, "INBOX", "desk")
    plain = ss.Capabilities(**{**caps.__dict__, "condstore": False})
    with after_first_read(monkeypatch, lambda: owner.set_flags(1, [CLAIMED, "$HeardBy_zed"])):
        result = ss.claim(desk, "INBOX", 1, "desk", lambda: False, Lease(), now, caps=plain,
                          contention_wait=0.05, pause=lambda s: None)
    assert isinstance(result, ss.LostTo) and result.owner == "zed", result
    monkeypatch.undo()
    assert owners(ss.flags_since(desk, "INBOX", None, None).changed[1]) == {"zed"}


def test_done_messages_and_gone_ones(owner: MailUser, conns: list[Connection]) -> None:
    owner.append(client_message(1), flags=["\\Answered"])
    owner.append(client_message(2), flags=["$HeardDelegated"])
    desk = connection(owner, conns)
    assert ss.claim(desk, "INBOX", 1, "desk", lambda: False, Lease(), now) == ss.AlreadyDone(
        Done.ANSWERED)
    assert ss.claim(desk, "INBOX", 2, "desk", lambda: False, Lease(), now) == ss.AlreadyDone(
        Done.DELEGATED)
    assert ss.claim(desk, "INBOX", 9, "desk", lambda: False, Lease(), now) == ss.Gone(9)


def test_a_held_folder_sees_mail_that_came_after_it_was_opened(
        owner: MailUser, conns: list[Connection]) -> None:
    owner.append(client_message(1))
    desk = connection(owner, conns)
    with ss.holding(desk, "INBOX"):
        uid = owner.append(client_message(2))
        result = ss.claim(desk, "INBOX", uid, "desk", lambda: False, Lease(), now)
        assert isinstance(result, ss.Claimed), result
        assert ss.mark_sending(desk, "INBOX", uid, "desk")
        ss.mark(desk, "INBOX", uid, "acked")
    # Left again: STATUS is answered from the server, not a stale view.
    assert desk.status("INBOX").uidnext == uid + 1
    assert ss.claim(desk, "INBOX", uid, "lap", lambda: False, Lease(), now) == ss.AlreadyDone(
        Done.ACKED)


def test_a_claim_of_our_own_from_before_a_restart_is_ours(owner: MailUser,
                                                          conns: list[Connection]) -> None:
    owner.append(client_message(1))
    desk = connection(owner, conns)
    assert isinstance(ss.claim(desk, "INBOX", 1, "desk", lambda: False, Lease(), now),
                      ss.Claimed)
    again = ss.claim(connection(owner, conns), "INBOX", 1, "desk", lambda: False, Lease(), now)
    assert isinstance(again, ss.Claimed) and again.resumed


def test_the_sent_search_takes_a_hostile_message_id_as_text(owner: MailUser,
                                                            conns: list[Connection]) -> None:
    owner.append(b"X-Heard-Acknowledges: <q1@hale.example>\r\nSubject: re\r\n\r\nok\r\n",
                 folder="Sent")
    conn = connection(owner, conns)
    assert ss.sent_has_header(conn, "Sent", "<q1@hale.example>")
    assert not ss.sent_has_header(conn, "Sent", "<q2@hale.example>\r\nX1 LOGOUT")
    assert not ss.sent_has_header(conn, "Sent", "\r\n")
    assert ss.sent_has_header(conn, "Sent", "<q1@hale.example>")   # still logged in
