"""The command line, driven in-process through heard.cli.main (and, where the exit status or
the absence of a traceback is the point, as a real `python -m heard` process).

The CLI runs on the wall clock, so mail is dropped with an arrival time of "now"."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from heard.cli import main
from heard.store import migrations
from heard.system.paths import Profile
from tests.support.mail import MailFolders, drop, message

BERLIN = ZoneInfo("Europe/Berlin")
ISO_WITH_OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")
STATUS_KEYS = {"at", "count", "urgency", "busy", "waiting", "promises", "problems",
               "accounts", "reports_due", "outbox", "delegations", "instance", "assigned",
               "handled_elsewhere", "sharing_notice"}
CLIENT_KEYS = {"id", "name", "preferred_name", "tier", "channel", "emails", "domains", "phones",
               "preferences"}


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """main() installs stderr handlers on the root logger; keep them out of other tests."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    code, out, err = run(capsys, *args, "--json")
    assert code == 0, err
    return json.loads(out)


def heard(*args: str) -> subprocess.CompletedProcess[str]:
    """A real `python -m heard` process, with the test's isolated environment."""
    return subprocess.run([sys.executable, "-m", "heard", *args], capture_output=True,
                          text=True, timeout=120, check=False)


def assert_iso(value: object) -> datetime:
    assert isinstance(value, str) and ISO_WITH_OFFSET.match(value), value
    parsed = datetime.fromisoformat(value)
    assert parsed.utcoffset() is not None
    return parsed


def berlin_offset(at: datetime) -> str:
    """The UTC offset Berlin (the test's TZ and the profile's zone) has at `at`, as +HH:MM."""
    return at.astimezone(BERLIN).isoformat()[-6:]


@pytest.fixture
def empty(tmp_path: Path) -> str:
    return str(tmp_path / "empty-profile")


@pytest.fixture
def root(profile: Profile) -> str:
    return str(profile.root)


def add_margaret(capsys: pytest.CaptureFixture[str], root: str) -> int:
    client = run_json(capsys, "--profile", root, "clients", "add", "Margaret Hale",
                      "--email", "margaret@hale.example", "--preferred-name", "Megge",
                      "--tier", "vip")
    return int(client["id"])


def now_utc() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


# choosing the profile


def test_profile_option_works_before_and_after_the_command(
        capsys: pytest.CaptureFixture[str], empty: str) -> None:
    code, out, _err = run(capsys, "--profile", empty, "clients", "add", "Ada Byron",
                          "--email", "ada@example.org")
    assert code == 0
    assert "Added client #1 Ada Byron." in out

    for args in (("--profile", empty, "clients", "list"),
                 ("clients", "--profile", empty, "list"),
                 ("clients", "list", "--profile", empty)):
        listed = run_json(capsys, *args)
        assert [c["name"] for c in listed["clients"]] == ["Ada Byron"], args
    assert Path(empty, "heard.sqlite3").exists()
    assert not Path(os.environ["HEARD_PROFILE"]).exists()


def test_heard_profile_environment_variable_chooses_the_profile(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chosen = tmp_path / "from-env"
    monkeypatch.setenv("HEARD_PROFILE", str(chosen))
    assert run(capsys, "clients", "add", "Ada Byron", "--email", "ada@example.org")[0] == 0
    assert (chosen / "heard.sqlite3").exists()
    assert [c["name"] for c in run_json(capsys, "clients", "list")["clients"]] == ["Ada Byron"]
    # --profile wins over the environment
    other = str(tmp_path / "explicit")
    assert run_json(capsys, "clients", "list", "--profile", other) == {
        "clients": [], "prospects": [], "not_clients": []}


# clients


def test_clients_add_with_every_option_then_list_as_json(
        capsys: pytest.CaptureFixture[str], empty: str) -> None:
    added = run_json(capsys, "--profile", empty, "clients", "add", "Margaret Hale",
                     "--email", "Margaret@Hale.example", "--email", "meg@home.example",
                     "--domain", "hale.example", "--phone", "+1 415 555 0134",
                     "--preferred-name", "Megge", "--tier", "vip", "--channel", "call")
    run(capsys, "--profile", empty, "clients", "add", "Rajesh Patel", "--domain",
        "patel-eng.example")

    listed = run_json(capsys, "--profile", empty, "clients", "list")
    assert set(listed) == {"clients", "prospects", "not_clients"}
    margaret, raj = listed["clients"]
    assert margaret == added
    assert margaret == {
        "id": 1, "name": "Margaret Hale", "preferred_name": "Megge", "tier": "vip",
        "channel": "call", "emails": ["margaret@hale.example", "meg@home.example"],
        "domains": ["hale.example"], "phones": ["+14155550134"], "preferences": {},
    }
    assert set(raj) == CLIENT_KEYS
    assert (raj["tier"], raj["channel"], raj["preferred_name"]) == ("standard", "email", None)


def test_clients_add_refuses_an_address_another_client_has(
        capsys: pytest.CaptureFixture[str], empty: str) -> None:
    run(capsys, "--profile", empty, "clients", "add", "Ada Byron", "--email", "ada@example.org")
    code, _out, err = run(capsys, "--profile", empty, "clients", "add", "Impostor",
                          "--email", "ADA@example.org")
    assert code == 1
    assert "ada@example.org already belongs to client 'Ada Byron'" in err
    assert len(run_json(capsys, "--profile", empty, "clients", "list")["clients"]) == 1


def test_clients_edit_changes_only_what_is_given(
        capsys: pytest.CaptureFixture[str], empty: str) -> None:
    run(capsys, "--profile", empty, "clients", "add", "Margaret Hale", "--email",
        "margaret@hale.example", "--preferred-name", "Megge", "--tier", "vip")
    code, out, _err = run(capsys, "--profile", empty, "clients", "edit", "margaret",
                          "--name", "Margaret Hale-Smith", "--channel", "call",
                          "--preferred-name", "")
    assert code == 0
    assert "Updated client #1 Margaret Hale-Smith." in out
    (client,) = run_json(capsys, "--profile", empty, "clients", "list")["clients"]
    assert client["name"] == "Margaret Hale-Smith"
    assert client["channel"] == "call"
    assert client["preferred_name"] is None
    assert client["tier"] == "vip"
    assert client["emails"] == ["margaret@hale.example"]

    assert run(capsys, "--profile", empty, "clients", "edit", "1", "--email",
               "meg@new.example")[0] == 0
    (client,) = run_json(capsys, "--profile", empty, "clients", "list")["clients"]
    assert client["emails"] == ["meg@new.example"]


def test_clients_remove_by_name_or_id(capsys: pytest.CaptureFixture[str], empty: str) -> None:
    for name, email in (("Ada Byron", "ada@example.org"), ("Ada Lovelace", "al@example.org"),
                        ("Grace Hopper", "grace@example.org")):
        run(capsys, "--profile", empty, "clients", "add", name, "--email", email)

    code, _out, err = run(capsys, "--profile", empty, "clients", "remove", "ada")
    assert code == 1
    assert "matches 2 clients" in err

    code, out, _err = run(capsys, "--profile", empty, "clients", "remove", "Ada Byron")
    assert code == 0
    assert "Removed client #1 Ada Byron" in out
    assert run(capsys, "--profile", empty, "clients", "remove", "3")[0] == 0
    names = [c["name"] for c in run_json(capsys, "--profile", empty, "clients", "list")["clients"]]
    assert names == ["Ada Lovelace"]

    code, _out, err = run(capsys, "--profile", empty, "clients", "remove", "Nobody")
    assert code == 1
    assert "no client matches 'Nobody'" in err


CSV = """\
name,email,domain,phone,preferred_name,tier,channel
Margaret Hale,margaret@hale.example;meg@home.example,,,Megge,vip,email
,orphan@example.org,,,,,
Bob Nobody,,,,,,
Rajesh Patel,,patel-eng.example,+1 415 555 0199,,,call
Carla Fax,carla@example.org,,,,,fax
"""

VCF = """\
BEGIN:VCARD
VERSION:3.0
FN:Sofia Lindqvist
NICKNAME:Sofi
EMAIL;TYPE=work:sofia@lindqvist.example
TEL;TYPE=cell:+46 8 555 012 34
END:VCARD
BEGIN:VCARD
VERSION:3.0
EMAIL:nameless@example.org
END:VCARD
BEGIN:VCARD
VERSION:3.0
FN:Tom Becker
END:VCARD
BEGIN:VCARD
VERSION:4.0
N:Curie;Marie;;;
EMAIL:marie@curie.example
END:VCARD
END:VCARD
"""


def test_clients_import_csv_reports_imported_and_skipped_with_reasons(
        capsys: pytest.CaptureFixture[str], empty: str, tmp_path: Path) -> None:
    file = tmp_path / "clients.csv"
    file.write_text(CSV, encoding="utf-8")
    result = run_json(capsys, "--profile", empty, "clients", "import", str(file))
    assert result == {
        "imported": 2,
        "skipped": [
            {"entry": "line 3", "reason": "no name"},
            {"entry": "line 4", "reason": "no email address, domain or phone number"},
            {"entry": "line 6", "reason": "channel 'fax' is not email or call"},
        ],
        "notes": [],
    }
    clients = {c["name"]: c for c in
               run_json(capsys, "--profile", empty, "clients", "list")["clients"]}
    assert set(clients) == {"Margaret Hale", "Rajesh Patel"}
    assert clients["Margaret Hale"]["emails"] == ["margaret@hale.example", "meg@home.example"]
    assert clients["Margaret Hale"]["tier"] == "vip"
    assert clients["Rajesh Patel"]["domains"] == ["patel-eng.example"]
    assert clients["Rajesh Patel"]["channel"] == "call"


def test_clients_import_vcf_reports_imported_and_skipped_with_reasons(
        capsys: pytest.CaptureFixture[str], empty: str, tmp_path: Path) -> None:
    file = tmp_path / "contacts.vcf"
    file.write_text(VCF, encoding="utf-8")
    result = run_json(capsys, "--profile", empty, "clients", "import", str(file))
    assert result == {
        "imported": 2,
        "skipped": [
            {"entry": "card 2", "reason": "no name"},
            {"entry": "card 3 (Tom Becker)",
             "reason": "no email address, domain or phone number"},
        ],
        "notes": [],
    }
    clients = {c["name"]: c for c in
               run_json(capsys, "--profile", empty, "clients", "list")["clients"]}
    assert set(clients) == {"Sofia Lindqvist", "Marie Curie"}
    assert clients["Sofia Lindqvist"]["preferred_name"] == "Sofi"
    assert clients["Sofia Lindqvist"]["phones"] == ["+46855501234"]


def test_clients_import_skips_an_entry_whose_address_is_taken(
        capsys: pytest.CaptureFixture[str], empty: str, tmp_path: Path) -> None:
    run(capsys, "--profile", empty, "clients", "add", "Sofia L.", "--email",
        "sofia@lindqvist.example")
    file = tmp_path / "contacts.vcf"
    file.write_text(VCF, encoding="utf-8")
    result = run_json(capsys, "--profile", empty, "clients", "import", str(file))
    assert result["imported"] == 1
    taken = [s for s in result["skipped"] if s["entry"] == "Sofia Lindqvist"]
    assert len(taken) == 1
    assert "already belongs to client 'Sofia L.'" in taken[0]["reason"]


def test_clients_import_of_an_unknown_format_fails_with_the_fix(
        capsys: pytest.CaptureFixture[str], empty: str, tmp_path: Path) -> None:
    file = tmp_path / "clients.xlsx"
    file.write_text("not really", encoding="utf-8")
    code, _out, err = run(capsys, "--profile", empty, "clients", "import", str(file))
    assert code == 1
    assert "use a .vcf or .csv file" in err


# accounts


ICS = """\
BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Heard tests//EN
BEGIN:VEVENT
UID:meeting-1@heard.test
DTSTAMP:20260101T000000Z
DTSTART:{start}
DTEND:{end}
SUMMARY:Court hearing
END:VEVENT
END:VCALENDAR
"""


def write_calendar(path: Path, start: datetime, end: datetime) -> Path:
    stamp = "%Y%m%dT%H%M%SZ"
    path.write_text(ICS.format(start=start.astimezone(UTC).strftime(stamp),
                               end=end.astimezone(UTC).strftime(stamp)), encoding="utf-8")
    return path


def test_account_add_maildir_then_list_as_json(
        capsys: pytest.CaptureFixture[str], empty: str, tmp_path: Path) -> None:
    mail = MailFolders.create(tmp_path / "Mail")
    code, out, err = run(capsys, "--profile", empty, "account", "add", "maildir",
                         str(mail.inbox.path), "--sent", str(mail.sent.path),
                         "--outbox", str(mail.outbox.path), "--address", "alex@example.org")
    assert code == 0, err
    assert "Added maildir account 'maildir'." in out

    listed = run_json(capsys, "--profile", empty, "account", "list")
    assert listed == {
        "accounts": [{"name": "maildir", "kind": "maildir", "inbox": str(mail.inbox.path),
                      "sent": str(mail.sent.path), "outbox": str(mail.outbox.path),
                      "address": "alex@example.org"}],
        "calendars": [],
    }


def test_account_add_maildir_on_a_plain_folder_fails_clearly(
        capsys: pytest.CaptureFixture[str], empty: str, tmp_path: Path) -> None:
    plain = tmp_path / "Documents"
    plain.mkdir()
    code, _out, err = run(capsys, "--profile", empty, "account", "add", "maildir", str(plain))
    assert code == 1
    assert f"{plain}: is not a Maildir (it needs new/, cur/ and tmp/)" in err
    assert run_json(capsys, "--profile", empty, "account", "list")["accounts"] == []

    code, _out, err = run(capsys, "--profile", empty, "account", "add", "maildir",
                          str(tmp_path / "missing"))
    assert code == 1
    assert "does not exist" in err


def test_account_add_calendar_test_and_remove(
        capsys: pytest.CaptureFixture[str], empty: str, tmp_path: Path) -> None:
    mail = MailFolders.create(tmp_path / "Mail")
    now = now_utc()
    ics = write_calendar(tmp_path / "work.ics", now - timedelta(hours=1),
                         now + timedelta(hours=1))
    assert run(capsys, "--profile", empty, "account", "add", "maildir", str(mail.inbox.path),
               "--sent", str(mail.sent.path), "--outbox", str(mail.outbox.path))[0] == 0
    code, out, err = run(capsys, "--profile", empty, "account", "add", "calendar", str(ics),
                         "--name", "office")
    assert code == 0, err
    assert "Added calendar account 'office'." in out
    assert run_json(capsys, "--profile", empty, "account", "list")["calendars"] == [
        {"name": "office", "kind": "ics", "path": str(ics), "url": None, "username": None,
         "calendars": []}]

    code, out, _err = run(capsys, "--profile", empty, "account", "test")
    assert code == 0, out
    assert f"ok    maildir inbox: {mail.inbox.path}" in out
    assert f"ok    maildir sent: {mail.sent.path}" in out
    assert f"ok    office: {ics}" in out

    shutil.rmtree(mail.sent.path)
    code, out, _err = run(capsys, "--profile", empty, "account", "test")
    assert code == 1
    assert "FAIL  maildir sent:" in out
    assert run(capsys, "--profile", empty, "account", "test", "office")[0] == 0

    code, out, _err = run(capsys, "--profile", empty, "account", "remove", "office")
    assert code == 0
    assert "Removed account 'office'." in out
    listed = run_json(capsys, "--profile", empty, "account", "list")
    assert listed["calendars"] == []
    assert [a["name"] for a in listed["accounts"]] == ["maildir"]

    code, _out, err = run(capsys, "--profile", empty, "account", "remove", "office")
    assert code == 1
    assert "there is no account named 'office'" in err


def test_account_add_calendar_needs_an_existing_file(
        capsys: pytest.CaptureFixture[str], empty: str, tmp_path: Path) -> None:
    code, _out, err = run(capsys, "--profile", empty, "account", "add", "calendar",
                          str(tmp_path / "nope.ics"))
    assert code == 1
    assert "no such file or folder" in err


def test_account_add_refuses_a_second_account_with_the_same_name(
        capsys: pytest.CaptureFixture[str], root: str, mail: MailFolders) -> None:
    code, _out, err = run(capsys, "--profile", root, "account", "add", "maildir",
                          str(mail.inbox.path), "--name", "work")
    assert code == 1
    assert "already an account named 'work'" in err


# status and sync


def test_status_json_on_an_empty_profile(capsys: pytest.CaptureFixture[str], empty: str) -> None:
    status = run_json(capsys, "--profile", empty, "status")
    assert set(status) == STATUS_KEYS
    assert status["count"] == 0
    assert status["urgency"] is None
    assert status["busy"] == {"now": None, "until": None, "next_free": None, "stale": False}
    assert status["waiting"] == []
    assert status["promises"] == []
    assert status["problems"] == []
    assert status["accounts"] == []
    at = assert_iso(status["at"])
    assert status["at"].endswith(berlin_offset(at))   # the system zone (TZ) when none is set


def test_status_json_gives_busy_times_with_offsets(
        capsys: pytest.CaptureFixture[str], root: str, tmp_path: Path) -> None:
    now = now_utc()
    ics = write_calendar(tmp_path / "work.ics", now - timedelta(hours=1),
                         now + timedelta(hours=2))
    assert run(capsys, "--profile", root, "account", "add", "calendar", str(ics))[0] == 0
    busy = run_json(capsys, "--profile", root, "status")["busy"]
    assert busy["now"] is True
    until = assert_iso(busy["until"])
    assert until == now + timedelta(hours=2)
    assert busy["until"].endswith(berlin_offset(until))
    assert assert_iso(busy["next_free"]) >= until


def test_sync_json_on_an_empty_profile(capsys: pytest.CaptureFixture[str], empty: str) -> None:
    report = run_json(capsys, "--profile", empty, "sync")
    assert report == {"seen": 0, "new_inquiries": [], "answered": [], "acknowledged": [],
                      "skipped": [], "errors": []}


def test_sync_then_status_lists_a_client_who_wrote(
        capsys: pytest.CaptureFixture[str], root: str, mail: MailFolders) -> None:
    client_id = add_margaret(capsys, root)
    arrived = now_utc()
    drop(mail.inbox, message("Margaret Hale <Margaret@Hale.example>", "Lease renewal",
                             message_id="<lease-1@hale.example>"), arrived)
    drop(mail.inbox, message("Spam King <king@spam.example>", "Offer",
                             headers={"List-Unsubscribe": "<mailto:u@spam.example>"}), arrived)

    report = run_json(capsys, "--profile", root, "sync")
    assert set(report) == {"seen", "new_inquiries", "answered", "acknowledged", "skipped",
                           "errors"}
    assert report["seen"] == 2
    assert len(report["new_inquiries"]) == 1
    assert report["errors"] == []
    (skipped,) = report["skipped"]
    assert set(skipped) == {"source", "file", "reason"}
    assert skipped["source"] == "work:inbox"

    status = run_json(capsys, "--profile", root, "status")
    assert set(status) == STATUS_KEYS
    assert status["count"] == 1
    (item,) = status["waiting"]
    assert set(item) == {"id", "client", "channel", "received_at", "ack_due", "answer_due",
                         "urgency", "subject", "from", "prospect", "owner"}
    assert item["id"] == report["new_inquiries"][0]
    assert set(item["client"]) == CLIENT_KEYS
    assert (item["client"]["id"], item["client"]["name"], item["client"]["preferred_name"]) == (
        client_id, "Margaret Hale", "Megge")
    assert item["channel"] == "email"
    assert item["subject"] == "Lease renewal"
    assert item["from"] == "margaret@hale.example"
    assert status["urgency"] == item["urgency"]
    received = assert_iso(item["received_at"])
    assert received == arrived
    assert item["received_at"].endswith(berlin_offset(received))
    ack_due = assert_iso(item["ack_due"])
    answer_due = assert_iso(item["answer_due"])
    assert received < ack_due <= answer_due

    # A second sync reads nothing new and keeps the count.
    assert run_json(capsys, "--profile", root, "sync")["seen"] == 0
    assert run_json(capsys, "--profile", root, "status")["count"] == 1


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


# errors


def test_a_bad_settings_file_fails_naming_the_key(
        capsys: pytest.CaptureFixture[str], profile: Profile) -> None:
    text = profile.config.read_text(encoding="utf-8")
    assert "paused = false" in text
    profile.config.write_text(text.replace("paused = false", 'paused = "maybe"'),
                              encoding="utf-8")
    code, _out, err = run(capsys, "--profile", str(profile.root), "status")
    assert code == 1
    assert "the settings file has problems" in err
    assert "notifications.paused: must be true or false" in err


def test_an_unknown_command_is_bad_usage(capsys: pytest.CaptureFixture[str], empty: str) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--profile", empty, "frobnicate"])
    assert info.value.code == 2
    assert "invalid choice: 'frobnicate'" in capsys.readouterr().err


def test_process_exit_codes_and_no_tracebacks(profile: Profile, tmp_path: Path) -> None:
    root = str(profile.root)
    done = heard("--profile", root, "status", "--json")
    assert done.returncode == 0, done.stderr
    assert set(json.loads(done.stdout)) == STATUS_KEYS

    done = heard("--profile", root, "nonsense")
    assert done.returncode == 2
    assert "usage: heard" in done.stderr
    assert "Traceback" not in done.stderr

    plain = tmp_path / "plain"
    plain.mkdir()
    done = heard("--profile", root, "account", "add", "maildir", str(plain))
    assert done.returncode == 1
    assert "is not a Maildir" in done.stderr
    assert "Traceback" not in done.stderr

    profile.config.write_text('[replies]\nmargin = "whenever"\n', encoding="utf-8")
    done = heard("status", "--profile", root)
    assert done.returncode == 1
    assert "replies.margin" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_profile_from_a_newer_heard_fails_without_a_traceback(tmp_path: Path) -> None:
    profile = Profile(tmp_path / "newer")
    profile.create()
    conn = sqlite3.connect(profile.database, isolation_level=None)
    try:
        migrations.migrate(conn)
        conn.execute(f"PRAGMA user_version = {migrations.LATEST + 1}")
    finally:
        conn.close()

    done = heard("--profile", str(profile.root), "status")
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 1
    assert "update Heard or use another profile" in done.stderr


def test_answered_and_dismiss_take_an_inquiry_out_of_the_count(
        capsys: pytest.CaptureFixture[str], root: str, mail: MailFolders) -> None:
    add_margaret(capsys, root)
    drop(mail.inbox, message("Margaret Hale <margaret@hale.example>", "Call me"), now_utc())
    drop(mail.inbox, message("Margaret Hale <margaret@hale.example>", "Thanks!"), now_utc())
    first, second = run_json(capsys, "--profile", root, "sync")["new_inquiries"]
    done = run_json(capsys, "--profile", root, "answered", str(first))
    assert done["id"] == first and done["state"] == "answered"
    assert done["closed_at"] is not None
    assert run_json(capsys, "--profile", root, "dismiss", str(second))["state"] == "dismissed"
    assert run_json(capsys, "--profile", root, "status")["count"] == 0
    assert main(["--profile", root, "dismiss", str(second)]) == 1
    assert "already dismissed" in capsys.readouterr().err


def test_clients_edit_json_prints_the_client(
        capsys: pytest.CaptureFixture[str], root: str) -> None:
    client_id = add_margaret(capsys, root)
    edited = run_json(capsys, "--profile", root, "clients", "edit", str(client_id),
                      "--tier", "standard")
    assert edited["id"] == client_id and edited["tier"] == "standard"


def test_sharing_on_a_profile_without_imap_says_this_device_works_alone(
        capsys: pytest.CaptureFixture[str], root: str) -> None:
    shown = run_json(capsys, "--profile", root, "sharing", "sync")
    assert set(shown) == {"instance", "autopilot_instance", "designated_instance",
                          "accounts", "shared_settings"}
    assert shown["shared_settings"]["account"] is None
    assert shown["shared_settings"]["error"] is None
    assert all(a["mode"] == "local" for a in shown["accounts"])
    code, out, _err = run(capsys, "--profile", root, "sharing")
    assert code == 0 and "not shared (no IMAP account)" in out
