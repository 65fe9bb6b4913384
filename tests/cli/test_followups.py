"""`heard follow-up`, `heard follow-ups` and `heard nudge` (heard.cli.followups), and the
status's `owed`."""

from __future__ import annotations

from datetime import timedelta

import pytest

from heard.cli import main
from heard.config import ConfigFile
from heard.system.paths import Profile
from tests.support.cli import add_margaret, assert_iso, now_utc, run, run_json
from tests.support.mail import MailFolders, drop, message, sent_messages

ME = "Alex Morgan <alex@morgan-law.example>"


def test_follow_up_set_listed_and_taken_off(capsys: pytest.CaptureFixture[str],
                                            root: str) -> None:
    add_margaret(capsys, root)
    done = run_json(capsys, "--profile", root, "follow-up", "Margaret", "--by",
                    "2 working days", "--note", "the signed lease")
    due = assert_iso(done["due"])
    assert due > now_utc() + timedelta(days=1) and done["origin"] == "user"
    assert done["client"]["name"] == "Margaret Hale" and done["note"] == "the signed lease"
    listed = run_json(capsys, "--profile", root, "follow-ups")
    assert [f["id"] for f in listed["follow_ups"]] == [done["id"]] and listed["owed"] == []
    code, out, _err = run(capsys, "--profile", root, "follow-ups")
    assert code == 0 and "Megge" in out and "the signed lease" in out
    status = run_json(capsys, "--profile", root, "status")
    assert status["owed"] == [] and status["count"] == 0
    assert main(["--profile", root, "follow-up", "Margaret", "--by", "someday"]) == 2
    code, _out, err = run(capsys, "--profile", root, "follow-up", "Nobody", "--by", "friday")
    assert code == 1 and "no client matches" in err
    off = run_json(capsys, "--profile", root, "follow-up", "--off", str(done["id"]))
    assert [f["closed"] for f in off["off"]] == ["off"]
    assert run_json(capsys, "--profile", root, "follow-ups")["follow_ups"] == []


def test_an_offered_follow_up_is_owed_and_nudged_as_shown(
        capsys: pytest.CaptureFixture[str], root: str, profile: Profile,
        mail: MailFolders) -> None:
    add_margaret(capsys, root)
    ConfigFile(profile.config).set("followups", "offer_after", "3 working days")
    asked = now_utc() - timedelta(days=8)   # over 3 working days ago, whatever today is
    drop(mail.sent, message(ME, "Closing date", to="Megge <margaret@hale.example>",
                            at=asked, body="Does the 3rd work for you?",
                            message_id="<q1@morgan-law.example>"), asked)
    run_json(capsys, "--profile", root, "sync")
    status = run_json(capsys, "--profile", root, "status")
    (owed,) = status["owed"]
    assert status["count"] == 0 and status["waiting"] == []
    assert owed["origin"] == "sent" and owed["subject"] == "Closing date"
    assert owed["message_id"] == "<q1@morgan-law.example>" and owed["closed"] is None
    assert set(owed) == {"id", "client", "due", "set_at", "note", "subject", "message_id",
                         "origin", "nudges", "nudged_at", "closed_at", "closed",
                         "closed_reason"}
    code, out, _err = run(capsys, "--profile", root, "status")
    assert code == 0 and "Owe you a reply" in out and "Megge" in out
    shown = run_json(capsys, "--profile", root, "nudge", str(owed["id"]), "--dry-run")
    assert shown["sent"] is False and mail.outbox_messages() == []
    sent = run_json(capsys, "--profile", root, "nudge", str(owed["id"]))
    assert sent["sent"] is True and sent["body"] == shown["body"]
    (msg,) = sent_messages(mail)
    assert msg["Subject"] == shown["subject"] == "Re: Closing date"
    assert msg.get_content().rstrip("\n") == shown["body"].rstrip("\n")
    assert run_json(capsys, "--profile", root, "status")["owed"] == []
    since = (now_utc() - timedelta(days=10)).date().isoformat()
    waited = run_json(capsys, "--profile", root, "stats", "--since", since)["follow_ups"]
    assert waited["set"] == 1 and waited["offered"] == 1 and waited["nudged"] == 1
    assert waited["came_due"] == 1 and waited["open"] == 1


def test_away_sets_lists_shows_in_the_status_and_is_taken_off(
        capsys: pytest.CaptureFixture[str], root: str) -> None:
    start = now_utc()
    until = (start + timedelta(days=7)).date().isoformat()
    done = run_json(capsys, "--profile", root, "away", "--until", until, "--deputy",
                    "Jordan Lee", "--tiers", "vip,standard")
    assert done["deputy"] == "Jordan Lee" and done["tiers"] == ["vip", "standard"]
    assert done["source"] == "user" and assert_iso(done["until"]).date().isoformat() == until
    listed = run_json(capsys, "--profile", root, "away")
    assert [a["id"] for a in listed["absences"]] == [done["id"]]
    away = run_json(capsys, "--profile", root, "status")["away"]
    assert away is not None and away["id"] == done["id"] and away["template"] == "absence"
    code, out, _err = run(capsys, "--profile", root, "status")
    assert code == 0 and "Away until" in out and "Jordan Lee stands in" in out
    code, _out, err = run(capsys, "--profile", root, "away", "--until", until)
    assert code == 1 and "overlaps absence" in err
    assert main(["--profile", root, "away", "--deputy", "X"]) == 2   # needs --until
    off = run_json(capsys, "--profile", root, "away", "--off")
    assert [a["id"] for a in off["off"]] == [done["id"]]
    assert run_json(capsys, "--profile", root, "status")["away"] is None
    since = (start - timedelta(days=1)).date().isoformat()
    automatic = run_json(capsys, "--profile", root, "stats", "--since", since)["automatic"]
    assert automatic == {"autopilot": 0, "absence": 0, "after_hours": 0}
