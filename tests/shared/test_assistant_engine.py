"""The assistant's own Heard, as a separate IMAP user with rights on the professional's
INBOX (Dovecot ACL, shared namespace): it sees the client waiting, claims and answers;
the professional's Heard sees who did it. Two engines, real Dovecot and real SMTP."""

from __future__ import annotations

import email
import email.policy
import email.utils
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from heard.config import ConfigFile
from heard.domain.clients import Client
from heard.domain.ids import InquiryId
from heard.domain.inquiries import InquiryState
from heard.engine import Engine
from heard.errors import EngineError
from tests.support.devices import client_writes
from tests.support.dovecot import Dovecot, MailUser
from tests.support.imap import imap_profile
from tests.support.smtp import FaultySmtp

pytestmark = pytest.mark.usefixtures("real_keyring")

CLIENT = "margaret@hale.example"
# The assistant's address (outside the test mail server, whose SMTP keeps what it is sent
# to other domains): the professional's [[assistants]] and the assistant's own [user].
SAM = "sam@morgan-law.example"
ZONE = ZoneInfo("Europe/Berlin")   # the profiles' zone (tests/support/imap.imap_profile)


def _engine(root: Path, user: MailUser, smtp: FaultySmtp, instance: str,
            folder: str = "INBOX") -> Engine:
    profile = imap_profile(root / instance, user, extra={
        "smtp_host": "127.0.0.1", "smtp_port": smtp.port, "smtp_security": "starttls",
        "smtp_ca_file": str(smtp.cert), "folders": [folder]})
    ConfigFile(profile.config).set("sharing", "instance", instance)
    engine = Engine.open(profile)
    engine.clients.add(Client("Margaret Hale", emails=(CLIENT,), preferred_name="Megge"))
    return engine


@dataclass
class Office:
    pro: MailUser
    asst: MailUser
    desk: Engine       # the professional's Heard
    helper: Engine     # the assistant's Heard, on shared/<pro>/INBOX

    def client_writes(self, subject: str = "Closing documents") -> str:
        return client_writes(self.pro, subject=subject, sender=CLIENT)


@pytest.fixture
def office(tmp_path: Path, shared_dovecot: Dovecot, faulty_smtp: FaultySmtp
           ) -> Iterator[Office]:
    pro, asst = shared_dovecot.add_user(), shared_dovecot.add_user()
    pro.append(b"From: a@b.example\r\nAuto-Submitted: auto-generated\r\nSubject: x\r\n\r\nx\r\n")
    asst.client().logout()
    conn = pro.client()
    conn.setacl("INBOX", asst.name, "lrswi")      # read, seen, keywords, insert
    conn.create_folder("Heard")                   # where the delegation records go
    conn.setacl("Heard", asst.name, "lr")
    conn.logout()
    desk = _engine(tmp_path, pro, faulty_smtp, "desk")
    helper = _engine(tmp_path, asst, faulty_smtp, "asst", f"shared/{pro.name}/INBOX")
    ConfigFile(helper.profile.config).set("user", "addresses", [asst.address, SAM])
    helper.reload_settings()
    yield Office(pro, asst, desk, helper)
    desk.close()
    helper.close()


def _one(engine: Engine, message_id: str) -> int:
    (inquiry,) = [i for i in engine.store.open_inquiries_in_thread([message_id])
                  if i.message_id == message_id]
    assert inquiry.id is not None
    return int(inquiry.id)


def test_the_assistant_sees_claims_and_acknowledges_and_the_professional_sees_who(
        office: Office, faulty_smtp: FaultySmtp) -> None:
    message_id = office.client_writes()
    office.desk.sync()
    office.helper.sync()
    mine, theirs = _one(office.desk, message_id), _one(office.helper, message_id)
    assert office.helper.status().count == 1          # sees: the client waits for it too

    result = office.helper.replies.acknowledge(theirs)
    assert result.sent, result.error
    (sent,) = faulty_smtp.received
    reply = email.message_from_bytes(bytes(sent.original_content or b""),
                                     policy=email.policy.default)
    assert reply["To"].addresses[0].addr_spec == CLIENT
    assert reply["From"].addresses[0].addr_spec == office.asst.address
    assert reply["X-Heard-Acknowledges"] == message_id

    # The professional's Heard, not synced yet, tries the same client: the claim says no.
    with pytest.raises(EngineError, match="already acknowledged from another"):
        office.desk.replies.acknowledge(mine)
    events: list[str] = []
    office.desk.subscribe(lambda event: events.append(event.kind))
    office.desk.sync()
    inquiry = office.desk.store.inquiry(mine)
    assert inquiry is not None and inquiry.state is InquiryState.ACKNOWLEDGED
    assert office.desk.store.owners()[mine] == "asst"    # who took care of it
    assert office.desk.status().count == 0
    assert len(faulty_smtp.received) == 1                 # never twice
    (handled,) = _status_json(office.desk)["handled_elsewhere"]
    assert (handled["inquiry"], handled["state"], handled["by"]) == \
        (mine, "acknowledged", "asst")
    assert _status_json(office.helper)["handled_elsewhere"] == []   # its own doing
    office.desk.inquiries.mark_answered(InquiryId(mine))       # the professional then calls her
    assert _status_json(office.desk)["handled_elsewhere"] == []     # done here, last


def test_the_professional_answers_first_and_the_assistant_stands_back(
        office: Office, faulty_smtp: FaultySmtp) -> None:
    message_id = office.client_writes()
    office.desk.sync()
    office.helper.sync()
    theirs = _one(office.helper, message_id)
    assert office.desk.replies.acknowledge(_one(office.desk, message_id)).sent
    with pytest.raises(EngineError, match="already acknowledged from another"):
        office.helper.replies.acknowledge(theirs)
    office.helper.sync()
    inquiry = office.helper.store.inquiry(theirs)
    assert inquiry is not None and inquiry.state is InquiryState.ACKNOWLEDGED
    assert office.helper.store.owners()[theirs] == "desk"
    assert office.helper.status().count == 0
    assert len(faulty_smtp.received) == 1


def test_a_delegation_shows_on_the_assistants_heard_with_its_due_time_and_note(
        office: Office, faulty_smtp: FaultySmtp) -> None:
    ConfigFile(office.desk.profile.config).append(
        "assistants", {"name": "Sam Reed", "address": SAM})
    office.desk.reload_settings()
    message_id = office.client_writes("Lease renewal")
    office.desk.sync()
    office.helper.sync()
    mine, theirs = _one(office.desk, message_id), _one(office.helper, message_id)
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=3)
    result = office.desk.replies.delegate(InquiryId(mine), note="Call her about the"
                                  " lease, she prefers mornings", due=due, tell_client=False)
    assert result.sent, result
    (forward,) = faulty_smtp.received
    assert forward.rcpt_tos == [SAM]

    events: list[str] = []
    office.helper.subscribe(lambda event: events.append(event.kind))
    office.helper.sync()
    inquiry = office.helper.store.inquiry(theirs)
    assert inquiry is not None and inquiry.state is InquiryState.DELEGATED
    (view,) = office.helper.status().assigned
    assert view.to_me and view.assignment.inquiry_id == theirs
    assert view.assignment.due == due and view.assignment.by == "desk"
    assert view.assignment.note.startswith("Call her about the lease")
    assert view.client is not None and view.client.name == "Margaret Hale"
    assert office.helper.status().count == 0          # not waiting: handed to the assistant
    assert "changed" in events
    # The same, scripted; and nothing on the professional's own devices' "to me" list.
    shown = _status_json(office.helper)["assigned"]
    assert [(a["to_me"], a["by"], a["subject"], a["due"][:16]) for a in shown] == [
        (True, "desk", "Lease renewal", due.astimezone(ZONE).isoformat()[:16])]
    assert office.desk.status().assigned == []
    # Filing in Sent may be retried: the record is written once all the same.
    where = office.desk.devices.where(office.desk.store.inquiry(InquiryId(mine)))  # type: ignore[arg-type]
    assert where is not None
    office.desk.devices.record_delegation(where, InquiryId(mine))
    conn = office.pro.client()
    try:
        conn.select_folder("Heard", readonly=True)
        assert len(conn.search(["HEADER", "X-Heard-Delegation", ""])) == 1
    finally:
        conn.logout()

    # The assistant calls her, and marks it answered: the professional's Heard follows.
    office.helper.inquiries.mark_answered(InquiryId(theirs))
    assert office.helper.status().assigned == []
    office.desk.sync()
    inquiry = office.desk.store.inquiry(mine)
    assert inquiry is not None and inquiry.state is InquiryState.ANSWERED
    assert office.desk.store.open_delegations() == []      # no "has not taken it up"


def test_the_assistant_is_reminded_once_when_a_delegation_falls_due(
        office: Office, faulty_smtp: FaultySmtp) -> None:
    ConfigFile(office.desk.profile.config).append(
        "assistants", {"name": "Sam Reed", "address": SAM})
    office.desk.reload_settings()
    message_id = office.client_writes()
    office.desk.sync()
    office.helper.sync()
    due = datetime.now(UTC) + timedelta(seconds=1)
    assert office.desk.replies.delegate(_one(office.desk, message_id), due=due,
                                tell_client=False).sent
    office.helper.sync()
    office.helper.sync()
    assert office.helper.status().assigned[0].to_me
    time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()) + 0.1)
    toasts = office.helper.reminders.alerts()
    assert [t for t in toasts if t[0] == "Due: Margaret Hale"], toasts
    assert not [t for t in office.helper.reminders.alerts() if t[0].startswith("Due:")]   # once


def _status_json(engine: Engine) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-m", "heard", "status", "--json", "--profile",
                          str(engine.profile.root)], capture_output=True, text=True,
                         check=True)
    return dict(json.loads(out.stdout))
