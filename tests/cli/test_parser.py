"""The command line's grammar (heard.cli.parser): options before or after the command, and
bad usage."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from heard.cli import main
from tests.support.cli import (
    run,
    run_json,
)


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


def test_an_unknown_command_is_bad_usage(capsys: pytest.CaptureFixture[str], empty: str) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--profile", empty, "frobnicate"])
    assert info.value.code == 2
    assert "invalid choice: 'frobnicate'" in capsys.readouterr().err


def test_demo_help_says_where_its_profile_is_by_default(
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "default: a new temporary folder, removed when the demo ends" in text
    assert "user data folder" not in text
