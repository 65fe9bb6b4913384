"""A first sync says how far it is (stderr of `heard sync`, progress events)."""

from __future__ import annotations

from pathlib import Path

import pytest

from heard import cli
from tests.support.dovecot import MailUser
from tests.support.imap import imap_profile
from tests.support.mail import message


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
