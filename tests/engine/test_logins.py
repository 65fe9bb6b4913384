"""How Heard logs in to the user's servers (heard.engine.logins), against a real Dovecot."""

from __future__ import annotations

from pathlib import Path

import pytest

from heard import config
from heard.config import ImapAccount
from heard.engine.logins import open_imap
from heard.mail.imap import ImapError
from tests.support.dovecot import MailUser
from tests.support.imap import tls_profile


@pytest.mark.usefixtures("real_keyring")
def test_starttls_without_the_ca_file_is_refused_too(
        tmp_path: Path, mailuser: MailUser) -> None:
    server = mailuser.server
    profile = tls_profile(tmp_path / "p", mailuser, "starttls", server.imap_port, None)
    account = config.load(profile.config).accounts[0]
    assert isinstance(account, ImapAccount)
    with pytest.raises(ImapError) as caught:
        open_imap(account)
    assert "not trusted" in caught.value.message and "--ca-file" in caught.value.message
