"""Logs never hold a password: the ones Heard handled, and password-like text from any
library."""

from __future__ import annotations

import logging
from pathlib import Path

from heard.system import log as heard_log


def test_known_secrets_and_password_like_text_are_redacted(tmp_path: Path) -> None:
    heard_log.redact("s3cr3t-Pa55")
    file = tmp_path / "logs" / "heard.log"
    heard_log.setup(file)
    try:
        logger = logging.getLogger("heard.test")
        logger.warning("login failed for alex with s3cr3t-Pa55 at imap.example.com")
        logger.warning("config: password = hunter22, token: abc.def")
        logger.warning("send: 'AUTH PLAIN AGFsZXgAc2VjcmV0'")
        logger.warning('imaplib: > b\'a001 LOGIN alex "another one"\'')
        logger.warning("client Megge wrote about the lease")
    finally:
        for handler in logging.getLogger().handlers:
            handler.flush()
    text = file.read_text()
    for secret in ("s3cr3t-Pa55", "hunter22", "abc.def", "AGFsZXgAc2VjcmV0", "another",
                   " one"):
        assert secret not in text
    assert text.count("[redacted]") >= 5
    assert "client Megge wrote about the lease" in text   # the rest stays readable
    assert oct(file.parent.stat().st_mode & 0o777) == "0o700"
