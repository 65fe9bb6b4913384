"""Running one command (heard.cli.commands): the profile it runs on, its errors in words,
its exit status, and no traceback for what is expected."""

from __future__ import annotations

import json
import sqlite3
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
