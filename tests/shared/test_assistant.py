"""The assistant as a separate IMAP user with rights on the owner's INBOX (Dovecot ACL,
shared namespace): sees the waiting message, claims it, answers it; the owner's session
in IDLE sees the assistant's keyword, and the owner's own claim then stands back."""

from __future__ import annotations

import time

from heard.devices.wire import claims as ss
from heard.domain.shared import Done, Lease, Status, shared_state
from heard.mail.imap import Connection
from heard.mail.imap.commands import imap_client as raw_imap
from tests.support.devices import client_message, connection
from tests.support.dovecot import Dovecot, MailUser
from tests.support.instances import now


def test_the_assistant_sees_claims_and_answers_on_a_shared_folder(
        shared_dovecot: Dovecot, owner: MailUser, conns: list[Connection]) -> None:
    assistant = shared_dovecot.add_user()
    assistant.client().logout()
    owner.append(client_message(1))
    owner.append(client_message(2))
    mine = connection(owner, conns)
    raw_imap(mine).setacl("INBOX", assistant.name, "lrswi")

    theirs = connection(assistant, conns)
    folder = f"shared/{owner.name}/INBOX"
    caps = ss.detect(theirs, folder, "asst")
    assert caps.mode is ss.Mode.FULL, caps
    # Sees: both messages waiting.
    seen = ss.flags_since(theirs, folder, None, None)
    assert {uid: shared_state(f).status for uid, f in seen.changed.items()} == {
        1: Status.WAITING, 2: Status.WAITING}

    watcher = connection(owner, conns)
    assert ss.enable_qresync(watcher)
    watcher.start_idle("INBOX")
    tracker = ss.IdleTracker()
    started = time.monotonic()
    # Claims and answers message 1 (the assistant's Heard instance is "asst").
    assert isinstance(ss.claim(theirs, folder, 1, "asst", lambda: False, Lease(), now,
                               caps=caps), ss.Claimed)
    assert ss.mark_sending(theirs, folder, 1, "asst", caps=caps)
    ss.mark(theirs, folder, 1, "acked")
    changes: list[ss.FlagChange] = []
    while time.monotonic() - started < 5:
        changes += tracker.apply(raw_imap(watcher).idle_check(0.2)).changes
        if any(c.uid == 1 and c.state.status is Status.ACKED for c in changes):
            break
    watcher.end_idle()
    final = [c for c in changes if c.uid == 1][-1].state
    assert final.status is Status.ACKED and final.owners == {"asst"}, changes

    # The owner's own instance stands back: 1 is done; 2 is still free for it.
    assert ss.claim(mine, "INBOX", 1, "desk", lambda: False, Lease(), now) == ss.AlreadyDone(
        Done.ACKED)
    assert isinstance(ss.claim(mine, "INBOX", 2, "desk", lambda: False, Lease(), now),
                      ss.Claimed)
    # ... and the assistant sees that claim too.
    result = ss.claim(theirs, folder, 2, "asst", lambda: False, Lease(), now, caps=caps)
    assert isinstance(result, ss.LostTo) and result.owner == "desk"


def test_an_assistant_without_the_keyword_right_falls_back(
        shared_dovecot: Dovecot, owner: MailUser, conns: list[Connection]) -> None:
    assistant = shared_dovecot.add_user()
    assistant.client().logout()
    owner.append(client_message(1))
    raw_imap(connection(owner, conns)).setacl(
        "INBOX", assistant.name, "lrs")
    caps = ss.detect(connection(assistant, conns), f"shared/{owner.name}/INBOX", "asst")
    assert caps.mode is ss.Mode.DESIGNATED and caps.rights is not None
    assert "w" not in caps.rights
