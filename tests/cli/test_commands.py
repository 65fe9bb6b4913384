"""Running one command (heard.cli.commands): the profile it runs on, its errors in words,
its exit status, and no traceback for what is expected."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from heard.store import migrations
from heard.system.paths import Profile
from tests.support.cli import (
    STATUS_KEYS,
    heard,
    run,
    run_json,
)
from tests.support.mail import MailFolders


def test_heard_profile_environment_variable_chooses_the_profile(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chosen = tmp_path / "from-env"
    chosen.mkdir()
    monkeypatch.setenv("HEARD_PROFILE", str(chosen))
    assert run(capsys, "clients", "add", "Ada Byron", "--email", "ada@example.org")[0] == 0
    assert (chosen / "heard.sqlite3").exists()
    assert [c["name"] for c in run_json(capsys, "clients", "list")["clients"]] == ["Ada Byron"]
    # --profile wins over the environment
    other = tmp_path / "explicit"
    other.mkdir()
    assert run_json(capsys, "clients", "list", "--profile", str(other)) == {
        "clients": [], "prospects": [], "not_clients": []}


@pytest.mark.parametrize("command", [("status",), ("clients", "list"), ("sync",),
                                     ("clients", "add", "Ada", "--email", "ada@example.org"),
                                     ("doctor", "--no-desktop", "--offline")])
def test_a_mistyped_profile_is_said_not_to_exist_instead_of_made(
        capsys: pytest.CaptureFixture[str], profile: Profile, command: tuple[str, ...],
        monkeypatch: pytest.MonkeyPatch) -> None:
    typo = profile.root.with_name(profile.root.name + "s")
    for named in (("--profile", str(typo)), ()):
        if not named:   # the environment's profile is named as much as --profile's
            monkeypatch.setenv("HEARD_PROFILE", str(typo))
        code, out, err = run(capsys, *named, *command)
        assert code == 1
        assert f"there is no profile at {typo}" in err
        assert out == ""
        assert not typo.exists()


def test_the_first_account_added_makes_a_profile(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, mail: MailFolders) -> None:
    new = tmp_path / "new-profile"
    code, _out, err = run(capsys, "--profile", str(new), "account", "add", "maildir",
                          str(mail.inbox.path))
    assert code == 0, err
    assert run_json(capsys, "--profile", str(new), "status")["count"] == 0


def test_a_reader_that_leaves_early_is_no_error(profile: Profile) -> None:
    """`heard status | head`: the pipe's reader closed before heard wrote."""
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run([sys.executable, "-m", "heard", "--profile", str(profile.root),
                               "status"], stdout=write, stderr=subprocess.PIPE,
                              text=True, timeout=120, check=False)
    finally:
        os.close(write)
    assert done.stderr == ""
    assert done.returncode == 0


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


def test_times_for_people_follow_the_users_locale(
        capsys: pytest.CaptureFixture[str], profile: Profile, mail: MailFolders,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 22, 4: the command line's words for people write times in the user's locale
    (LC_TIME here), C as they always were; JSON is ISO-8601 whatever the locale."""
    from tests.support.cli import add_margaret, now_utc
    from tests.support.mail import drop, message

    root = str(profile.root)
    add_margaret(capsys, root)
    drop(mail.inbox, message("Margaret Hale <margaret@hale.example>", "Lease"), now_utc())
    (inquiry,) = run_json(capsys, "--profile", root, "sync")["new_inquiries"]
    code, out, _err = run(capsys, "--profile", root, "snooze", str(inquiry), "--until",
                          "tomorrow 9:00")
    assert code == 0 and "set aside until tomorrow 09:00:" in out
    monkeypatch.setenv("LC_TIME", "en_US.UTF-8")
    code, out, _err = run(capsys, "--profile", root, "snooze", str(inquiry), "--until",
                          "tomorrow 9:00")
    assert code == 0 and "set aside until tomorrow 9:00 am:" in out
    done = run_json(capsys, "--profile", root, "snooze", str(inquiry), "--until",
                    "tomorrow 9:00")
    assert done["until"].endswith(("T09:00:00+01:00", "T09:00:00+02:00"))
