"""Prospects on the command line: a new person who writes is noticed, and the user's word
on them (`heard prospect client | not-a-client | undo | unlist`) sticks. On a Maildir
profile with the wall clock, so mail is dropped with an arrival time of "now"."""

from __future__ import annotations

import email.utils
import re
from pathlib import Path
from typing import Any

import pytest

from heard.config import ConfigFile
from heard.system.paths import Profile
from tests.cli.test_cli import _restore_logging, now_utc, run, run_json  # noqa: F401
from tests.support.mail import MailFolders, drop, message

NORA = "Nora Quist <nora@quist-design.example>"
NORAS_COLLEAGUE = "Per Quist <per@quist-design.example>"


@pytest.fixture
def root(profile: Profile) -> str:
    return str(profile.root)


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
    sample = (Path(__file__).parent.parent / "samples" / "voicemail" / "asterisk.eml"
              ).read_bytes()
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
