"""`heard doctor` against real servers and a real keyring, and start at login."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from heard.cli import main
from heard.config import ConfigFile
from heard.store import Store
from heard.system.paths import Profile
from tests.support.dovecot import MailUser
from tests.support.imap import imap_profile


def doctor(capsys: pytest.CaptureFixture[str], profile: Path, *args: str
           ) -> tuple[int, dict[str, dict[str, str | None]]]:
    code = main(["--profile", str(profile), "doctor", "--no-desktop", "--json", *args])
    found = json.loads(capsys.readouterr().out)["checks"]
    return code, {c["name"]: c for c in found}


@pytest.mark.usefixtures("real_keyring")
def test_a_healthy_profile_passes_with_the_account_checked_for_real(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, mailuser: MailUser) -> None:
    profile = imap_profile(tmp_path / "p", mailuser)
    ics = tmp_path / "work.ics"
    ics.write_text("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nEND:VCALENDAR\r\n")
    ConfigFile(profile.config).append("calendars", {"name": "work", "kind": "ics",
                                                    "path": str(ics)})
    code, checks = doctor(capsys, profile.root)
    assert {c["status"] for c in checks.values()} <= {"ok", "warn"}
    assert code == 0
    assert checks["keyring"]["detail"] and "Secret Service" in str(checks["keyring"]["detail"])
    assert "push: IDLE" in str(checks["mail work"]["detail"])
    assert checks["store"]["status"] == "ok"
    # No SMTP server yet: a warning that says how to add one.
    assert checks["sending work"]["status"] == "warn"
    assert "smtp_host" in str(checks["sending work"]["fix"])
    # How the devices coordinate, and the settings they share (not agreed yet: the doctor
    # only reads what the last sync left).
    assert checks["devices work"]["status"] == "ok"
    assert "full" in str(checks["devices work"]["detail"])
    assert checks["shared settings"]["status"] == "ok"
    assert "not agreed yet on work" in str(checks["shared settings"]["detail"])


@pytest.mark.usefixtures("real_keyring")
def test_problems_fail_in_plain_words(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                      mailuser: MailUser) -> None:
    profile = imap_profile(tmp_path / "p", mailuser, port=1)   # nothing listens on port 1
    code, checks = doctor(capsys, profile.root)
    assert code == 1
    assert checks["mail work"]["status"] == "fail"
    assert "refused the connection" in str(checks["mail work"]["detail"])
    assert checks["calendar"]["status"] == "warn"


def test_without_a_keyring_the_doctor_says_how_to_get_one(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    profile = Profile(tmp_path / "p")
    profile.create()
    ConfigFile(profile.config).append("accounts", {
        "name": "work", "kind": "imap", "host": "imap.example.org", "username": "alex"})
    code, checks = doctor(capsys, profile.root, "--offline")
    assert code == 1
    assert checks["keyring"]["status"] == "fail"
    assert "gnome-keyring" in str(checks["keyring"]["detail"])
    assert "needed by work" in str(checks["keyring"]["detail"])
    assert "mail work" not in checks                     # --offline: no servers asked
    assert main(["--profile", str(profile.root), "doctor", "--no-desktop", "--offline"]) == 1
    assert capsys.readouterr().out.endswith("\n1 problem to fix.\n")


def test_without_a_keyring_a_profile_that_needs_no_password_is_only_warned(
        capsys: pytest.CaptureFixture[str], profile: Profile) -> None:
    """Maildir only, as `heard --selftest` warns of the same machine (tests/setup/
    test_selftest.py): no FAIL for a keyring nothing here uses."""
    code, checks = doctor(capsys, profile.root, "--offline")
    assert checks["keyring"]["status"] == "warn"
    assert "no account of this profile needs a password" in str(checks["keyring"]["detail"])
    assert code == 0, checks


def test_a_profile_others_can_read_is_flagged(capsys: pytest.CaptureFixture[str],
                                              tmp_path: Path) -> None:
    profile = Profile(tmp_path / "p")
    profile.create()
    profile.root.chmod(0o755)
    _code, checks = doctor(capsys, profile.root, "--offline")
    assert checks["profile"]["status"] == "warn"
    assert checks["profile"]["fix"] == f"chmod 700 {profile.root}"


def test_a_message_intake_could_not_take_in_is_a_warning_and_a_status_problem(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    profile = Profile(tmp_path / "p")
    profile.create()
    _code, checks = doctor(capsys, profile.root, "--offline")
    assert checks["intake"]["status"] == "ok"
    # What intake records when a message cannot be stored (engine/test_intake makes one).
    note = ("failed: RuntimeError: a bug (work:inbox 1764.M1.host, from"
            " margaret@hale.example: 'Closing')")
    with Store(profile.database) as store:
        store.mark_seen("maildir:/mail/INBOX", "1764.M1.host", "<c@hale.example>", "failed",
                        note, datetime.now(UTC) - timedelta(days=10))
    _code, checks = doctor(capsys, profile.root, "--offline")
    assert checks["intake"]["status"] == "warn"
    assert note in str(checks["intake"]["detail"])
    assert "read them in your mail program" in str(checks["intake"]["fix"])
    # The status shows it for a week: this one is older, so only the doctor lists it.
    assert main(["--profile", str(profile.root), "status", "--json"]) == 0
    assert not [p for p in json.loads(capsys.readouterr().out)["problems"]
                if "could not be taken in" in p]
    with Store(profile.database) as store:
        store.mark_seen("maildir:/mail/INBOX", "1764.M2.host", "<d@hale.example>", "failed",
                        note, datetime.now(UTC))
    assert main(["--profile", str(profile.root), "status", "--json"]) == 0
    problems = json.loads(capsys.readouterr().out)["problems"]
    assert [p for p in problems if "could not be taken in" in p] == [
        f"a message could not be taken in and is not counted: {note}; read it in your mail"
        " program (the log has the details)"]
