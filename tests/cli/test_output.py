"""What the command line prints (heard.cli.output): text from mail reaches a terminal as
text, JSON as the mail had it (issue 24, 3)."""

from __future__ import annotations

import pytest

from heard.cli.output import for_terminal
from heard.engine import Engine
from heard.system.paths import Profile
from tests.conftest import NOW
from tests.support.cli import run, run_json
from tests.support.hostile import FORBIDDEN, feed
from tests.support.mail import MailFolders


def test_a_terminal_is_given_text_not_commands() -> None:
    assert for_terminal("Account \u202egpj.exe\x07\x1b[2J") == "Account gpj.exe[2J"
    assert for_terminal("paid\rUNPAID\r\nnext\tline\n") == "paidUNPAID\r\nnext\tline\n"
    assert for_terminal("\x9b31m\u2066x\u2069\u200f") == "31mx"
    assert for_terminal("Šárka Nováková, 日本, عربي") == "Šárka Nováková, 日本, عربي"


def test_hostile_mail_reaches_the_terminal_as_text_and_json_as_written(
        capsys: pytest.CaptureFixture[str], profile: Profile, engine: Engine,
        mail: MailFolders) -> None:
    feed(mail.inbox, NOW)
    engine.close()   # the command line opens the profile itself
    root = str(profile.root)
    code, _out, err = run(capsys, "--profile", root, "sync")
    assert code == 0, err
    code, out, err = run(capsys, "--profile", root, "status")
    assert code == 0, err
    assert "<span foreground=" in out and "<b>Urgent</b>" in out   # markup shown as text
    assert "Account gpj.exe[2J" in out                             # the override gone
    for text in (out, err):
        assert not [c for c in FORBIDDEN if c in text]
    for command in (("clients", "list"), ("outbox",)):
        code, out, err = run(capsys, "--profile", root, *command)
        assert code == 0, err
        assert not [c for c in FORBIDDEN if c in out + err]
    # A script reads the subject exactly as the mail had it (JSON escapes what it must).
    shown = run_json(capsys, "--profile", root, "status")
    subjects = {w["subject"] for w in shown["waiting"]}
    assert "Account \u202egpj.exe\x07\x1b[2J" in subjects
