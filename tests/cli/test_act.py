"""The one-click actions, scriptable (heard.cli.act): `heard ack`, `answered`, `dismiss`,
`log-call` and `prospect`."""

from __future__ import annotations

import email.utils
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from heard.cli import main
from heard.config import ConfigFile
from heard.domain.outbox import OutboxState
from tests.support.cli import (
    add_imap,
    add_margaret,
    assert_iso,
    now_utc,
    run,
    run_json,
)
from tests.support.dovecot import MailUser
from tests.support.mail import MailFolders, drop, message, sent_messages
from tests.support.samples import voicemail
from tests.support.scenes import ACK, Scene, copies, heard
from tests.support.smtp import FaultySmtp

NORA = "Nora Quist <nora@quist-design.example>"
NORAS_COLLEAGUE = "Per Quist <per@quist-design.example>"


def heard_json(capsys: pytest.CaptureFixture[str], root: str, *args: str) -> Any:
    return run_json(capsys, "--profile", root, *args)


def deliver(capsys: pytest.CaptureFixture[str], root: str, mail: MailFolders, sender: str,
            subject: str = "Question", **kwargs: Any) -> dict[str, Any]:
    """Drop one message into the inbox and sync; the sync report."""
    drop(mail.inbox, message(sender, subject, **kwargs), now_utc())
    report = heard_json(capsys, root, "sync")
    assert report["seen"] == 1 and report["errors"] == []
    return dict(report)


def skip_reason(report: dict[str, Any]) -> str:
    assert report["new_inquiries"] == []
    (skipped,) = report["skipped"]
    return str(skipped["reason"])


def names(listed: dict[str, Any], key: str) -> list[str]:
    return [c["name"] for c in listed[key]]


MACHINE_MAIL = {
    "newsletter": (("Design Weekly <news@designweekly.example>", "Issue 42"),
                   {"headers": {"List-Id": "<weekly.designweekly.example>",
                                "List-Unsubscribe": "<mailto:leave@designweekly.example>"}},
                   "auto-generated: List-Id"),
    "auto-reply": (("Nora Quist <nora@quist-design.example>", "Out of office"),
                   {"headers": {"Auto-Submitted": "auto-replied"}},
                   "auto-generated: Auto-Submitted"),
    "auto-reply by subject": (("Nora Quist <nora@quist-design.example>",
                               "Automatic reply: Question"), {},
                              "not a prospect: auto-reply"),
    "bounce": (("Mail Delivery System <MAILER-DAEMON@mx.example>",
                "Undelivered Mail Returned to Sender"), {},
               "not a prospect: bounce report"),
    "own organisation": (("Jamie Colleague <jamie@morgan-law.example>", "Lunch?"), {},
                         "not a prospect: your own organisation"),
}


@pytest.mark.usefixtures("real_keyring")
def test_log_call_for_a_clients_number_waits_like_any_contact(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, bare_root: str,
        mailuser: MailUser) -> None:
    assert add_imap(capsys, monkeypatch, bare_root, mailuser, mailuser.password,
                    "--address", mailuser.address)[0] == 0
    sofia = run_json(capsys, "--profile", bare_root, "clients", "add", "Sofia Lindqvist",
                     "--phone", "+1 555 0100", "--email", "sofia@lindqvist.example")
    assert sofia["phones"] == ["+15550100"]

    logged = run_json(capsys, "--profile", bare_root, "log-call", "--from", "+1 555 0100",
                      "--note", "about the lease")
    assert logged["client_id"] == sofia["id"]
    assert logged["number"] == "+15550100"
    # The note is the user's: kept as the call's text, never in a subject a reply quotes.
    assert logged["subject"] == "Call from Sofia Lindqvist"
    assert logged["note"] == "about the lease"

    status = run_json(capsys, "--profile", bare_root, "status")
    (item,) = status["waiting"]
    assert item["id"] == logged["id"]
    assert item["channel"] == "call" and item["client"]["name"] == "Sofia Lindqvist"
    assert item["prospect"] is False

    assert logged["prospect"] is False

    # README: an unknown caller is a prospect, the note kept as for anyone.
    stranger = run_json(capsys, "--profile", bare_root, "log-call", "--from", "+1 555 0199",
                        "--note", "a new matter")
    assert stranger["prospect"] is True and stranger["number"] == "+15550199"
    assert stranger["note"] == "a new matter"
    status = run_json(capsys, "--profile", bare_root, "status")
    assert status["count"] == 2
    new = next(i for i in status["waiting"] if i["id"] == stranger["id"])
    assert new["prospect"] is True and new["channel"] == "call"
    # The same number again is the same prospect, not a second one.
    again = run_json(capsys, "--profile", bare_root, "log-call", "--from", "+15550199")
    assert again["client_id"] == stranger["client_id"]
    prospects = run_json(capsys, "--profile", bare_root, "clients", "list")["prospects"]
    assert [p["phones"] for p in prospects] == [["+15550199"]]

    code, out, err = run(capsys, "--profile", bare_root, "log-call", "--from", "Nobody Known")
    assert code == 1 and out == ""
    assert "no client matches 'Nobody Known'" in err


def test_ack_dry_run_shows_the_reply_and_sends_nothing(
        capsys: pytest.CaptureFixture[str], root: str, mail: MailFolders) -> None:
    add_margaret(capsys, root)
    drop(mail.inbox, message("margaret@hale.example", "Lease renewal"), now_utc())
    (inquiry_id,) = run_json(capsys, "--profile", root, "sync")["new_inquiries"]

    result = run_json(capsys, "--profile", root, "ack", str(inquiry_id), "--dry-run")
    assert result["id"] == inquiry_id
    assert result["sent"] is False
    assert result["to"] == "margaret@hale.example"
    assert result["subject"] == "Re: Lease renewal"
    assert result["template"] == "acknowledge"
    assert result["body"].startswith("Hi Megge,")
    assert "Alex Morgan" in result["body"]
    assert_iso(result["reply_by"])

    assert mail.outbox_messages() == []
    assert run_json(capsys, "--profile", root, "status")["count"] == 1


def test_ack_sends_one_message_and_the_count_drops(
        capsys: pytest.CaptureFixture[str], root: str, mail: MailFolders) -> None:
    add_margaret(capsys, root)
    drop(mail.inbox, message("margaret@hale.example", "Lease renewal",
                             message_id="<lease-1@hale.example>"), now_utc())
    (inquiry_id,) = run_json(capsys, "--profile", root, "sync")["new_inquiries"]

    result = run_json(capsys, "--profile", root, "ack", str(inquiry_id), "--reply-by",
                      "2030-01-02T16:30")
    assert result["sent"] is True
    assert result["reply_by"] == "2030-01-02T16:30:00+01:00"
    (sent,) = mail.outbox_messages()
    assert b"In-Reply-To: <lease-1@hale.example>" in sent
    assert result["message_id"].encode() in sent

    status = run_json(capsys, "--profile", root, "status")
    assert status["count"] == 0
    assert status["waiting"] == []
    (promise,) = status["promises"]
    assert promise["inquiry"] == inquiry_id
    assert promise["due"] == "2030-01-02T16:30:00+01:00"
    assert promise["subject"] == "Lease renewal"
    assert_iso(promise["made_at"])

    code, _out, err = run(capsys, "--profile", root, "ack", str(inquiry_id))
    assert code == 1
    assert "already acknowledged" in err
    assert len(mail.outbox_messages()) == 1


def test_ack_of_an_unknown_inquiry_fails_with_the_fix(
        capsys: pytest.CaptureFixture[str], root: str, mail: MailFolders) -> None:
    code, _out, err = run(capsys, "--profile", root, "ack", "999")
    assert code == 1
    assert "there is no inquiry 999; `heard status` lists them" in err
    assert mail.outbox_messages() == []


def test_ack_with_a_time_that_is_not_a_time_is_bad_usage(
        capsys: pytest.CaptureFixture[str], root: str) -> None:
    code, _out, err = run(capsys, "--profile", root, "ack", "1", "--reply-by", "soonish")
    assert code == 2
    assert "'soonish' is not a time" in err


def test_answered_and_dismiss_take_an_inquiry_out_of_the_count(
        capsys: pytest.CaptureFixture[str], root: str, mail: MailFolders) -> None:
    add_margaret(capsys, root)
    drop(mail.inbox, message("Margaret Hale <margaret@hale.example>", "Call me"), now_utc())
    drop(mail.inbox, message("Margaret Hale <margaret@hale.example>", "Thanks!"), now_utc())
    first, second = run_json(capsys, "--profile", root, "sync")["new_inquiries"]
    done = run_json(capsys, "--profile", root, "answered", str(first), "--only")
    assert done["id"] == first and done["state"] == "answered"
    assert done["closed_at"] is not None and done["covers"] == [first]
    assert run_json(capsys, "--profile", root, "status")["count"] == 1
    assert run_json(capsys, "--profile", root, "dismiss", str(second))["state"] == "dismissed"
    assert run_json(capsys, "--profile", root, "status")["count"] == 0
    assert main(["--profile", root, "dismiss", str(second)]) == 1
    assert "already dismissed" in capsys.readouterr().err


def test_the_client_is_the_unit_of_ack_and_dismiss(
        capsys: pytest.CaptureFixture[str], root: str, mail: MailFolders) -> None:
    add_margaret(capsys, root)
    for n, subject in enumerate(("Lease", "Keys", "Parking")):
        drop(mail.inbox, message("Margaret Hale <margaret@hale.example>", subject,
                                 message_id=f"<m{n}@hale.example>"),
             now_utc() - timedelta(minutes=10 - n))
    ids = run_json(capsys, "--profile", root, "sync")["new_inquiries"]
    status = run_json(capsys, "--profile", root, "status")
    (megge,) = status["clients"]
    subjects = {w["id"]: w["subject"] for w in status["waiting"]}
    assert [subjects[i] for i in megge["inquiries"]] == ["Parking", "Keys", "Lease"]
    assert megge["ack_due"] == min(w["ack_due"] for w in status["waiting"])
    assert megge["client"]["name"] == "Margaret Hale" and megge["urgency"] is not None
    acked = run_json(capsys, "--profile", root, "ack", str(min(ids)))
    assert sorted(acked["covers"]) == sorted(ids) and acked["subject"] == "Re: Parking"
    assert run_json(capsys, "--profile", root, "status")["count"] == 0
    assert len(sent_messages(mail)) == 1


def test_a_new_person_who_writes_is_a_waiting_prospect(
        capsys: pytest.CaptureFixture[str], root: str, mail: MailFolders) -> None:
    report = deliver(capsys, root, mail, NORA, "Logo for our studio")
    (inquiry_id,) = report["new_inquiries"]

    status = heard_json(capsys, root, "status")
    assert status["count"] == 1
    (item,) = status["waiting"]
    assert item["id"] == inquiry_id
    assert item["prospect"] is True
    assert item["client"]["name"] == "Nora Quist"
    assert item["client"]["emails"] == ["nora@quist-design.example"]
    assert item["client"]["tier"] == "prospect"
    assert item["from"] == "nora@quist-design.example"
    listed = heard_json(capsys, root, "clients", "list")
    assert names(listed, "prospects") == ["Nora Quist"]
    assert names(listed, "clients") == []
    # Explain agrees with intake on the next message from her.
    path = drop(mail.inbox, message(NORA, "Again"), now_utc()).path
    (found,) = heard_json(capsys, root, "explain", str(path))["messages"]
    assert found["prospect"] is True and found["inquiry"] is True
    assert found["reason"] == "prospect writing again"


def test_making_a_prospect_a_client_and_undoing_it(
        capsys: pytest.CaptureFixture[str], root: str, mail: MailFolders) -> None:
    (inquiry_id,) = deliver(capsys, root, mail, NORA)["new_inquiries"]

    decided = heard_json(capsys, root, "prospect", "client", str(inquiry_id))
    assert decided["kind"] == "client" and decided["inquiry_id"] == inquiry_id
    listed = heard_json(capsys, root, "clients", "list")
    assert names(listed, "clients") == ["Nora Quist"]
    assert names(listed, "prospects") == []
    (nora,) = listed["clients"]
    assert nora["tier"] == "standard"
    (item,) = heard_json(capsys, root, "status")["waiting"]
    assert item["prospect"] is False and item["client"]["tier"] == "standard"

    code, out, err = run(capsys, "--profile", root, "prospect", "undo")
    assert code == 0, err
    assert "Undone: client for Nora Quist" in out
    listed = heard_json(capsys, root, "clients", "list")
    assert names(listed, "prospects") == ["Nora Quist"]
    assert names(listed, "clients") == []
    assert listed["prospects"][0]["tier"] == "prospect"
    # Nothing left to undo.
    code, _out, err = run(capsys, "--profile", root, "prospect", "undo")
    assert code == 1 and "no decision to undo" in err


def test_a_prospect_made_a_client_with_a_tier(
        capsys: pytest.CaptureFixture[str], root: str, mail: MailFolders) -> None:
    (inquiry_id,) = deliver(capsys, root, mail, NORA)["new_inquiries"]
    heard_json(capsys, root, "prospect", "client", str(inquiry_id), "--tier", "vip")
    (nora,) = heard_json(capsys, root, "clients", "list")["clients"]
    assert nora["tier"] == "vip"


def test_not_a_client_sets_the_inquiry_aside_and_lists_the_address(
        capsys: pytest.CaptureFixture[str], root: str, mail: MailFolders) -> None:
    (inquiry_id,) = deliver(capsys, root, mail, NORA)["new_inquiries"]
    assert heard_json(capsys, root, "status")["count"] == 1

    decided = heard_json(capsys, root, "prospect", "not-a-client", str(inquiry_id))
    assert decided["dismissed"] == [inquiry_id]
    assert decided["listed"] == ["nora@quist-design.example", "address"]
    assert heard_json(capsys, root, "status")["count"] == 0
    listed = heard_json(capsys, root, "clients", "list")
    assert listed["not_clients"] == [{"value": "nora@quist-design.example",
                                      "kind": "address"}]


# classify() looks the sender up in the directory first, and the prospect record made by
# their first message is still there (prospect=True): "prospect writing again" wins over
# the not-a-client list, so the next message counts again.
@pytest.mark.parametrize("whole_domain", [False, True], ids=["address", "domain"])
def test_the_next_mail_of_someone_not_a_client_is_skipped(
        capsys: pytest.CaptureFixture[str], root: str, mail: MailFolders,
        whole_domain: bool) -> None:
    (inquiry_id,) = deliver(capsys, root, mail, NORA)["new_inquiries"]
    heard_json(capsys, root, "prospect", "not-a-client", str(inquiry_id),
               *(["--domain"] if whole_domain else []))

    later = deliver(capsys, root, mail, NORA, "Following up")

    assert heard_json(capsys, root, "status")["count"] == 0
    assert skip_reason(later) == ("not a prospect: domain on your not-a-client list"
                                  if whole_domain else
                                  "not a prospect: on your not-a-client list")


def test_the_next_voicemail_from_a_number_not_a_client_is_skipped(
        capsys: pytest.CaptureFixture[str], root: str, mail: MailFolders) -> None:
    sample = voicemail("asterisk.eml").read_bytes()
    now = email.utils.format_datetime(now_utc()).encode()
    first = re.sub(rb"^Date: [^\r\n]*", b"Date: " + now, sample, count=1, flags=re.M)
    drop(mail.inbox, first, now_utc())
    (inquiry_id,) = heard_json(capsys, root, "sync")["new_inquiries"]
    (item,) = heard_json(capsys, root, "status")["waiting"]
    assert item["prospect"] is True and item["channel"] == "call"
    decided = heard_json(capsys, root, "prospect", "not-a-client", str(inquiry_id))
    assert decided["listed"] == ["+16175550142", "phone"]

    drop(mail.inbox, first.replace(b"<Asterisk-3-", b"<Asterisk-9-"), now_utc())
    later = heard_json(capsys, root, "sync")

    assert heard_json(capsys, root, "status")["count"] == 0
    assert skip_reason(later).startswith("not a prospect: number on your not-a-client list")


def test_undoing_not_a_client_brings_the_inquiry_back(
        capsys: pytest.CaptureFixture[str], root: str, mail: MailFolders) -> None:
    (inquiry_id,) = deliver(capsys, root, mail, NORA)["new_inquiries"]
    heard_json(capsys, root, "prospect", "not-a-client", str(inquiry_id))
    assert heard_json(capsys, root, "status")["count"] == 0

    code, out, err = run(capsys, "--profile", root, "prospect", "undo")
    assert code == 0, err
    assert "not-a-client" in out
    status = heard_json(capsys, root, "status")
    assert status["count"] == 1
    assert [i["id"] for i in status["waiting"]] == [inquiry_id]
    assert heard_json(capsys, root, "clients", "list")["not_clients"] == []


def test_not_a_client_for_the_whole_domain_and_unlisting_it(
        capsys: pytest.CaptureFixture[str], root: str, mail: MailFolders) -> None:
    (inquiry_id,) = deliver(capsys, root, mail, NORA)["new_inquiries"]

    decided = heard_json(capsys, root, "prospect", "not-a-client", str(inquiry_id),
                         "--domain")
    assert decided["listed"] == ["quist-design.example", "domain"]
    assert heard_json(capsys, root, "clients", "list")["not_clients"] == [
        {"value": "quist-design.example", "kind": "domain"}]
    colleague = deliver(capsys, root, mail, NORAS_COLLEAGUE, "Invoice")
    assert skip_reason(colleague) == "not a prospect: domain on your not-a-client list"
    assert heard_json(capsys, root, "status")["count"] == 0

    code, out, err = run(capsys, "--profile", root, "prospect", "unlist",
                         "quist-design.example")
    assert code == 0, err
    assert "no longer on the not-a-client list" in out
    assert heard_json(capsys, root, "clients", "list")["not_clients"] == []
    # Unlisting again: nothing to take off.
    code, _out, err = run(capsys, "--profile", root, "prospect", "unlist",
                          "quist-design.example")
    assert code == 1 and "not on the not-a-client list" in err
    # The domain's people count again.
    another = deliver(capsys, root, mail, "Ida Quist <ida@quist-design.example>", "Hello")
    assert len(another["new_inquiries"]) == 1
    (item,) = heard_json(capsys, root, "status")["waiting"]
    assert item["prospect"] is True and item["client"]["name"] == "Ida Quist"


def test_a_client_is_not_a_prospect_decision(
        capsys: pytest.CaptureFixture[str], root: str, mail: MailFolders) -> None:
    heard_json(capsys, root, "clients", "add", "Margaret Hale", "--email",
               "margaret@hale.example")
    (inquiry_id,) = deliver(capsys, root, mail, "Margaret Hale <margaret@hale.example>"
                            )["new_inquiries"]
    code, _out, err = run(capsys, "--profile", root, "prospect", "not-a-client",
                          str(inquiry_id))
    assert code == 1 and "already a client" in err
    assert heard_json(capsys, root, "status")["count"] == 1
    code, _out, err = run(capsys, "--profile", root, "prospect", "client")
    assert code == 2 and "needs an inquiry id" in err


@pytest.mark.parametrize("kind", sorted(MACHINE_MAIL))
def test_machine_mail_and_colleagues_never_become_prospects(
        capsys: pytest.CaptureFixture[str], root: str, mail: MailFolders, kind: str) -> None:
    (sender, subject), kwargs, reason = MACHINE_MAIL[kind]
    report = deliver(capsys, root, mail, sender, subject, **kwargs)
    assert skip_reason(report) == reason
    assert heard_json(capsys, root, "status")["count"] == 0
    assert heard_json(capsys, root, "clients", "list")["prospects"] == []


def test_prospects_can_be_turned_off(
        capsys: pytest.CaptureFixture[str], root: str, mail: MailFolders) -> None:
    ConfigFile(Path(root) / "heard.toml").set("prospects", "enabled", False)
    report = deliver(capsys, root, mail, NORA)
    assert skip_reason(report) == "not a client"
    assert heard_json(capsys, root, "status")["count"] == 0
    assert heard_json(capsys, root, "clients", "list")["prospects"] == []


def test_outbox_flush_tries_now_whatever_the_back_off_but_not_a_reply_held_for_undo(
        faulty_scene: Scene, faulty_smtp: FaultySmtp) -> None:
    """With the SMTP server down, `heard ack` queues ("Heard keeps trying"); once it is
    back, `heard outbox flush` sends at once, not after the back-off. A reply the tray
    holds back for Undo is not the flush's to send."""
    scene = faulty_scene
    first, first_mid = scene.client_writes()
    # The retry is due an hour and 30 s from now, however slow this machine is today.
    scene.clock.advance(timedelta(hours=1))
    faulty_smtp.stop()
    queued = scene.engine.replies.acknowledge(first)
    assert queued.state == "queued"
    faulty_smtp.start()
    second, second_mid = scene.client_writes("Drawings")
    held = scene.engine.replies.acknowledge(second, delay=timedelta(hours=2))

    flushed = heard(scene, "outbox", "flush")
    assert flushed.returncode == 0, flushed.stderr
    states = {i.message_id: i.state for i in scene.engine.outbox_items(everything=True)}
    assert states == {queued.message_id: OutboxState.FILED,
                      held.message_id: OutboxState.QUEUED}
    assert len(copies(scene.client, "INBOX", ACK, first_mid)) == 1
    assert copies(scene.client, "INBOX", ACK, second_mid) == []
    assert "filed" not in flushed.stdout and held.message_id in flushed.stdout


def test_snooze_sets_a_client_aside_until_a_time_and_off_counts_them_again(
        capsys: pytest.CaptureFixture[str], root: str, mail: MailFolders) -> None:
    add_margaret(capsys, root)
    drop(mail.inbox, message("Margaret Hale <margaret@hale.example>", "Lease"), now_utc())
    (inquiry,) = run_json(capsys, "--profile", root, "sync")["new_inquiries"]
    done = run_json(capsys, "--profile", root, "snooze", str(inquiry), "--until",
                    "tomorrow 9:00")
    until = assert_iso(done["until"])
    assert done["snoozed"] is True and done["inquiries"] == [inquiry]
    assert (until.hour, until.minute) == (9, 0) and until > now_utc()
    status = run_json(capsys, "--profile", root, "status")
    assert status["count"] == 0 and status["waiting"] == [] and status["clients"] == []
    (snoozed,) = status["snoozed"]
    assert snoozed["client"]["name"] == "Margaret Hale" and snoozed["inquiries"] == [inquiry]
    assert snoozed["until"] == done["until"] and snoozed["urgency"] == "on_track"
    code, out, _err = run(capsys, "--profile", root, "status")
    assert code == 0 and "Snoozed" in out and "Megge" in out and "0 clients waiting" in out
    # Not in a meeting (no calendar): "until the meeting ends" cannot be, and says why.
    code, _out, err = run(capsys, "--profile", root, "snooze", "Margaret", "--until",
                          "meeting-end")
    assert code == 1 and "not in a meeting" in err
    assert main(["--profile", root, "snooze", "Margaret", "--until", "soonish"]) == 2
    woken = run_json(capsys, "--profile", root, "snooze", "Margaret", "--off")
    assert woken["snoozed"] is False and woken["until"] is None
    status = run_json(capsys, "--profile", root, "status")
    assert status["count"] == 1 and status["waiting"][0]["escalated_from"] is None
