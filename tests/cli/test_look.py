"""Run and look (heard.cli.look): `heard status`, `sync`, `busy`, `explain` and `stats`."""

from __future__ import annotations

import csv
import email.utils
import io
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from heard import cli
from heard.cli.output import print_status
from heard.config import ConfigFile
from heard.domain.clock import FixedClock
from heard.domain.wording import day_and_time
from heard.engine import Engine
from heard.system.paths import Profile
from tests.conftest import BERLIN, NOW
from tests.support.cli import (
    CLIENT_KEYS,
    STATUS_KEYS,
    add_imap,
    add_margaret,
    assert_iso,
    berlin_offset,
    now_utc,
    run,
    run_json,
    write_calendar,
)
from tests.support.dovecot import MailUser
from tests.support.engine import client_waits
from tests.support.imap import imap_profile
from tests.support.mail import MEGGE, MailFolders, drop, message
from tests.support.samples import (
    CALLERS,
    LABELS,
    NO_EMAIL,
    SAMPLES,
    SUBMITTERS,
    WITHHELD,
    voicemail,
)

SINCE = "2026-11-23"
UNTIL = "2026-11-26"


@pytest.fixture
def measured(engine: Engine, mail: MailFolders, clock: FixedClock) -> str:
    """Three contacts on Wednesday morning (office hours 09-17): Megge acknowledged in 5
    minutes (VIP: 10), Raj answered after 45 (no acknowledgement; standard 30: late), a new
    person still waiting."""
    drop(mail.inbox, message("Margaret Hale <margaret@hale.example>", "Closing",
                             message_id="<m1@hale.example>"), NOW - timedelta(hours=1))
    drop(mail.inbox, message("Rajesh Patel <raj@patel-eng.example>", "Drawings",
                             message_id="<r1@patel-eng.example>"), NOW - timedelta(minutes=55))
    drop(mail.inbox, message("Jane Roe <jane@roe-bakery.example>", "New matter"),
         NOW - timedelta(minutes=5))
    clock.set(NOW - timedelta(minutes=55))
    engine.sync()
    megge = next(i for i in engine.status().waiting if i.client.preferred_name == "Megge")
    assert megge.inquiry.id is not None
    engine.replies.acknowledge(megge.inquiry.id)
    drop(mail.sent, message("alex@morgan-law.example", "Re: Drawings",
                            to="raj@patel-eng.example", in_reply_to="<r1@patel-eng.example>"),
         NOW - timedelta(minutes=10))
    clock.set(NOW)
    engine.sync()
    return str(engine.profile.root)


BUSY_ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//heard tests//EN
BEGIN:VEVENT
UID:deposition@test
DTSTART;TZID=Europe/Berlin:20261125T100000
DTEND;TZID=Europe/Berlin:20261125T120000
SUMMARY:Deposition Hale v. Patel
END:VEVENT
BEGIN:VEVENT
UID:lunch@test
DTSTART;TZID=Europe/Berlin:20261125T120000
DTEND;TZID=Europe/Berlin:20261125T123000
SUMMARY:Lunch with Raj
END:VEVENT
END:VCALENDAR
"""


@pytest.fixture
def calendar_root(profile: Profile, tmp_path: Path) -> str:
    calendar = tmp_path / "work.ics"
    calendar.write_text(BUSY_ICS)
    ConfigFile(profile.config).append("calendars", {"name": "work", "kind": "ics",
                                                    "path": str(calendar)})
    return str(profile.root)


def expected_explain(path: Path) -> dict[str, Any]:
    if path.parent.name == "voicemail":
        label = LABELS[path.name]
        if path.name == WITHHELD:
            return {"channel": "call", "caller": {"name": None, "number": None,
                                                  "withheld": True},
                    "reason": f"possible prospect: voicemail from a withheld number ({label})"}
        name, number, _written = CALLERS[path.name]
        return {"channel": "call", "caller": {"name": name, "number": number,
                                              "withheld": False},
                "reason": f"possible prospect: voicemail from an unknown number ({label})"}
    if path.name == NO_EMAIL:
        return {"channel": "call", "caller": None, "email": None,
                "reason": "possible prospect: website form (no email: call back)"
                          " (Squarespace form)"}
    _name, address, label = SUBMITTERS[path.name]
    return {"channel": "email", "caller": None, "email": address,
            "reason": f"possible prospect: website form ({label})"}


@pytest.mark.usefixtures("real_keyring")
def test_heard_sync_prints_progress_per_folder(
        tmp_path: Path, mailuser: MailUser, capsys: pytest.CaptureFixture[str]) -> None:
    for n in range(3):
        mailuser.append(message(f"Person {n} <p{n}@people.example>", f"Hello {n}"))
    profile = imap_profile(tmp_path / "p", mailuser)
    assert cli.main(["--profile", str(profile.root), "sync"]) == 0
    captured = capsys.readouterr()
    assert "work: INBOX 3/3" in captured.err
    assert "Read 3 new messages: 3 new inquiries" in captured.out


@pytest.mark.parametrize("path", sorted([*(SAMPLES / "voicemail").glob("*.eml"),
                                         *(SAMPLES / "contact_forms").glob("*.eml")]),
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_explain_says_what_each_sample_is(capsys: pytest.CaptureFixture[str],
                                          tmp_path: Path, path: Path) -> None:
    expected = expected_explain(path)
    Profile(tmp_path / "p").create()
    (found,) = run_json(capsys, "--profile", str(tmp_path / "p"), "explain",
                        str(path))["messages"]
    assert found["file"] == str(path)
    assert found["inquiry"] is True
    assert found["prospect"] is True
    assert found["client"] is None
    assert found["channel"] == expected["channel"]
    assert found["caller"] == expected["caller"]
    assert found["reason"] == expected["reason"]
    assert found["auto_generated"] is False
    if "email" in expected:
        assert found["person"]["email"] == expected["email"]
        assert found["person"]["email"] != email.utils.parseaddr(found["from"])[1]
    # Nothing was stored: explaining is not intake.
    assert run_json(capsys, "--profile", str(tmp_path / "p"), "status")["count"] == 0


def test_explain_names_the_client_a_voicemail_is_from(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    root = str(tmp_path / "p")
    Profile(Path(root)).create()
    ConfigFile(Path(root) / "heard.toml").set("user", "phone_region", "US")
    run_json(capsys, "--profile", root, "clients", "add", "Marcus Bell",
             "--phone", "617-555-0142")
    (found,) = run_json(capsys, "--profile", root, "explain",
                        str(voicemail("asterisk.eml")))["messages"]
    assert found["client"]["name"] == "Marcus Bell"
    assert found["prospect"] is False
    assert found["channel"] == "call"
    assert found["reason"] == "voicemail from a client (Asterisk voicemail)"
    assert found["caller"] == {"name": "Marcus Bell", "number": "+16175550142",
                               "withheld": False}


def test_explain_says_when_heard_is_unsure_a_person_wrote_it(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A client's out-of-office is nobody's inquiry; her mail through a mailing service
    counts, marked unsure."""
    root = str(tmp_path / "p")
    Profile(Path(root)).create()
    run_json(capsys, "--profile", root, "clients", "add", "Margaret Hale",
             "--email", "margaret@hale.example")
    away = tmp_path / "away.eml"
    away.write_bytes(message("Margaret Hale <margaret@hale.example>",
                             "Automatic reply: Lease"))
    relayed = tmp_path / "relayed.eml"
    relayed.write_bytes(message("Margaret Hale <margaret@hale.example>", "Lease",
                                headers={"X-Mailgun-Tag": "crm"}))
    first, second = run_json(capsys, "--profile", root, "explain", str(away),
                             str(relayed))["messages"]
    assert (first["inquiry"], first["auto_generated"], first["reason"]) == (
        False, True, "auto-generated: auto-reply")
    assert (second["inquiry"], second["unsure"]) == (True, "mailing service (Mailgun)")
    assert second["reason"] == "client message (unsure: mailing service (Mailgun))"


@pytest.mark.usefixtures("real_keyring")
def test_sync_and_status_over_imap_from_the_command_line(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, bare_root: str,
        mailuser: MailUser) -> None:
    assert add_imap(capsys, monkeypatch, bare_root, mailuser, mailuser.password,
                    "--address", mailuser.address, "--name", "work")[0] == 0
    client = run_json(capsys, "--profile", bare_root, "clients", "add", "Margaret Hale",
                      "--email", "margaret@hale.example", "--preferred-name", "Megge")
    mailuser.append(message(MEGGE, "Lease renewal"))

    report = run_json(capsys, "--profile", bare_root, "sync")
    assert report["errors"] == [] and report["seen"] == 1
    (inquiry_id,) = report["new_inquiries"]

    status = run_json(capsys, "--profile", bare_root, "status")
    assert status["count"] == 1
    (item,) = status["waiting"]
    assert item["id"] == inquiry_id and item["client"]["id"] == client["id"]
    assert item["subject"] == "Lease renewal" and item["from"] == "margaret@hale.example"
    (account,) = status["accounts"]
    assert (account["name"], account["kind"]) == ("work", "imap")
    assert status["problems"] == []


# `heard status` runs in a new process after `heard sync`, and account health lives only
# in the engine's memory (ImapAccounts.health): the account the sync just read is shown
# as never tried (online null, last_sync null), although README says `null until first
# tried` and shows last_sync.
@pytest.mark.usefixtures("real_keyring")
def test_status_after_sync_shows_the_account_online(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, bare_root: str,
        mailuser: MailUser) -> None:
    assert add_imap(capsys, monkeypatch, bare_root, mailuser, mailuser.password,
                    "--name", "work")[0] == 0
    assert run_json(capsys, "--profile", bare_root, "sync")["errors"] == []
    (account,) = run_json(capsys, "--profile", bare_root, "status")["accounts"]
    assert account["online"] is True
    assert account["last_sync"] is not None


def test_status_json_on_an_empty_profile(capsys: pytest.CaptureFixture[str], empty: str) -> None:
    status = run_json(capsys, "--profile", empty, "status")
    assert set(status) == STATUS_KEYS
    assert status["count"] == 0
    assert status["urgency"] is None
    assert status["busy"] == {"now": None, "until": None, "next_free": None, "stale": False,
                              "away": None}
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
                         "urgency", "subject", "from", "prospect", "unsure", "owner",
                         "autopilot_skipped", "escalated_from"}
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


def test_busy_in_a_meeting_until_the_end_of_back_to_back_meetings(
        capsys: pytest.CaptureFixture[str], calendar_root: str) -> None:
    answer = run_json(capsys, "--profile", calendar_root, "busy", "--at", "2026-11-25T10:30+01:00")
    assert answer["now"] is True
    assert answer["until"] == "2026-11-25T12:30:00+01:00"     # lunch follows at once
    assert answer["next_free"] == "2026-11-25T12:30:00+01:00"
    assert answer["event"] is None                            # titles are private by default
    assert answer["calendars"] == 1 and answer["problems"] == []


def test_titles_show_only_when_the_user_allows_it(
        capsys: pytest.CaptureFixture[str], calendar_root: str) -> None:
    ConfigFile(Profile(Path(calendar_root)).config).set("calendar", "share_titles", True)
    answer = run_json(capsys, "--profile", calendar_root, "busy", "--at", "2026-11-25T12:10+01:00")
    assert answer["event"] == "Lunch with Raj"
    code, out, _err = run(capsys, "--profile", calendar_root, "busy", "--at",
                          "2026-11-25T12:10+01:00")
    # The command line runs on the real clock: the asked day is said relative to today.
    now = datetime.now(BERLIN)
    at, until = (datetime(2026, 11, 25, h, m, tzinfo=BERLIN) for h, m in ((12, 10), (12, 30)))
    assert code == 0
    assert (f"Busy {day_and_time(at, now, BERLIN)} (Lunch with Raj) until"
            f" {day_and_time(until, now, BERLIN)}.") in out


def test_status_says_today_and_tomorrow_where_a_weekday_would(
        capsys: pytest.CaptureFixture[str], engine: Engine, mail: MailFolders) -> None:
    client_waits(engine, mail)
    print_status(engine.status(), BERLIN)
    out = capsys.readouterr().out
    assert out.startswith("1 client waiting.")
    assert "ack by today 10:06" in out          # Megge is VIP: 10 minutes from 09:56
    assert "Wed" not in out


def test_free_after_hours_points_to_the_next_morning(
        capsys: pytest.CaptureFixture[str], calendar_root: str) -> None:
    answer = run_json(capsys, "--profile", calendar_root, "busy", "--at", "2026-11-25T18:00+01:00")
    assert answer["now"] is False and answer["until"] is None
    assert answer["next_free"] == "2026-11-26T09:00:00+01:00"


def test_without_a_calendar_everything_is_unknown(
        capsys: pytest.CaptureFixture[str], empty: str) -> None:
    answer = run_json(capsys, "--profile", empty, "busy")
    assert (answer["now"], answer["until"], answer["next_free"], answer["event"]) == (
        None, None, None, None)
    assert answer["calendars"] == 0


def test_json_and_csv_agree_and_prospects_are_apart(
        capsys: pytest.CaptureFixture[str], measured: str) -> None:
    data = run_json(capsys, "--profile", measured, "stats", "--since", SINCE, "--until", UNTIL)
    (group,) = data["groups"]
    assert group["count"] == 3 and group["acknowledged"] == 2 and group["answered"] == 1
    # Raj's reply came late; the CLI measures at the real clock, by which Jane's deadline
    # (Wednesday 10:05) has long passed without a reply.
    assert group["ack_in_time"] == 1 and group["ack_late"] == 2
    assert group["median_time_to_ack_seconds"] == 300.0
    code, out, _err = run(capsys, "--profile", measured, "stats", "--since", SINCE,
                          "--until", UNTIL, "--csv")
    assert code == 0
    (row,) = list(csv.DictReader(io.StringIO(out)))
    assert set(row) == set(group)
    assert {k: str(v) if v is not None else "" for k, v in group.items()} == row

    apart = run_json(capsys, "--profile", measured, "stats", "--since", SINCE, "--until",
                     UNTIL, "--by", "prospect")
    assert {g["key"]: g["count"] for g in apart["groups"]} == {"clients": 2, "prospects": 1}
    only = run_json(capsys, "--profile", measured, "stats", "--since", SINCE, "--until",
                    UNTIL, "--prospects")
    assert [g["count"] for g in only["groups"]] == [1]


def test_the_html_summary_has_no_script_or_remote_content(
        capsys: pytest.CaptureFixture[str], measured: str, tmp_path: Path) -> None:
    page = tmp_path / "week.html"
    code, _out, _err = run(capsys, "--profile", measured, "stats", "--since", SINCE,
                           "--until", UNTIL, "--by", "client", "--html", str(page))
    assert code == 0
    text = page.read_text()
    assert "<script" not in text and "http" not in text.replace('http-equiv', '')
    assert "Margaret Hale" in text and "Rajesh Patel" in text


def test_an_empty_period_says_so(capsys: pytest.CaptureFixture[str], measured: str) -> None:
    code, out, _err = run(capsys, "--profile", measured, "stats", "--since", "2026-01-01",
                          "--until", "2026-01-08")
    assert code == 0 and "No contacts" in out


def _vip_in_a_meeting_all_day(capsys: pytest.CaptureFixture[str], root: str,
                              tmp_path: Path) -> datetime:
    """Office hours around the clock (whenever this runs), a meeting from an hour ago, the
    autopilot on for VIPs, and Margaret Hale a VIP client; returns now."""
    now = now_utc()
    file = ConfigFile(Profile(Path(root)).config)
    for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                "sunday"):
        file.set("hours", day, "00:00-24:00")
    file.set("autopilot", "tiers", ["vip"])
    ics = write_calendar(tmp_path / "work.ics", now - timedelta(hours=1),
                         now + timedelta(hours=2))
    assert run(capsys, "--profile", root, "account", "add", "calendar", str(ics))[0] == 0
    assert run(capsys, "--profile", root, "clients", "add", "Margaret Hale", "--email",
               "margaret@hale.example", "--tier", "vip")[0] == 0
    return now


def test_an_automatic_reply_sent_by_heard_sync_is_in_the_log(
        capsys: pytest.CaptureFixture[str], root: str, mail: MailFolders,
        tmp_path: Path) -> None:
    """The tray logs what the autopilot does; so does `heard sync`, in the same file."""
    now = _vip_in_a_meeting_all_day(capsys, root, tmp_path)
    drop(mail.inbox, message(MEGGE, "Lease", message_id="<lease-9@hale.example>"),
         now - timedelta(minutes=9))            # a VIP's ten minutes are nearly over

    report = run_json(capsys, "--profile", root, "sync")
    assert len(report["new_inquiries"]) == 1
    (sent,) = mail.outbox_messages()
    assert b"Auto-Submitted: auto-replied" in sent
    logged = Profile(Path(root)).log.read_text(encoding="utf-8")
    assert f"autopilot acknowledged inquiry {report['new_inquiries'][0]}" in logged


def test_heard_outbox_says_what_the_autopilot_left_to_you_and_why(
        capsys: pytest.CaptureFixture[str], root: str, mail: MailFolders,
        tmp_path: Path) -> None:
    now = _vip_in_a_meeting_all_day(capsys, root, tmp_path)
    drop(mail.inbox, message(MEGGE, "Wire the deposit", authenticated=False),
         now - timedelta(minutes=9))
    (inquiry_id,) = run_json(capsys, "--profile", root, "sync")["new_inquiries"]
    assert mail.outbox_messages() == []
    (left,) = run_json(capsys, "--profile", root, "outbox")["autopilot_skipped"]
    assert (left["inquiry"], left["client"]) == (inquiry_id, "Margaret Hale")
    assert left["reason"].startswith("your mail server did not vouch for its sender")
    code, out, _err = run(capsys, "--profile", root, "outbox")
    assert code == 0 and "Left to you by the autopilot:" in out
    assert f"#{inquiry_id} Margaret Hale" in out


def test_a_maildir_account_says_when_it_last_synced(
        capsys: pytest.CaptureFixture[str], root: str) -> None:
    (before,) = run_json(capsys, "--profile", root, "status")["accounts"]
    assert (before["kind"], before["online"], before["last_sync"]) == ("maildir", True, None)
    run_json(capsys, "--profile", root, "sync")
    (after,) = run_json(capsys, "--profile", root, "status")["accounts"]
    assert after["online"] is True
    assert abs(assert_iso(after["last_sync"]) - now_utc()) < timedelta(minutes=5)
