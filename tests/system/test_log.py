"""Logs never hold a password: the ones Heard handled, and password-like text from any
library."""

from __future__ import annotations

import logging
import logging.handlers
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


def test_the_log_is_the_users_alone_even_after_it_rotates(tmp_path: Path) -> None:
    file = tmp_path / "logs" / "heard.log"
    file.parent.mkdir(mode=0o700)
    file.write_text("an old log, made by a umask of 022\n")
    file.chmod(0o644)
    heard_log.setup(file)
    try:
        assert oct(file.stat().st_mode & 0o777) == "0o600"
        (handler,) = [h for h in logging.getLogger().handlers
                      if isinstance(h, logging.handlers.RotatingFileHandler)]
        logging.getLogger("heard.test").warning("before the rollover")
        handler.doRollover()
        logging.getLogger("heard.test").warning("after the rollover")
        handler.flush()
    finally:
        heard_log.setup(None)
    for rotated in (file, file.with_name("heard.log.1")):
        assert oct(rotated.stat().st_mode & 0o777) == "0o600", rotated


def test_imap_traffic_never_reaches_the_log_even_verbose(tmp_path: Path) -> None:
    file = tmp_path / "heard.log"
    heard_log.setup(file, verbose=True)
    try:
        logging.getLogger("imapclient.imaplib").debug("< * 1 FETCH (BODY[] {42} Dear Alex")
        logging.getLogger("heard.test").debug("heard's own debug line")
        for handler in logging.getLogger().handlers:
            handler.flush()
    finally:
        heard_log.setup(None)
    text = file.read_text()
    assert "heard's own debug line" in text and "Dear Alex" not in text


def test_authlib_s_token_responses_never_reach_the_log_even_verbose(tmp_path: Path) -> None:
    # Authlib logs a whole token response at DEBUG (seen in the wizard's OAuth2 test).
    file = tmp_path / "heard.log"
    heard_log.setup(file, verbose=True)
    try:
        logging.getLogger("authlib.oauth2.rfc6749.grants.authorization_code").debug(
            "Issue token {'refresh_token': 'r3fr3sh-s3cr3t'}")
        logging.getLogger("heard.test").debug("heard's own debug line")
        for handler in logging.getLogger().handlers:
            handler.flush()
    finally:
        heard_log.setup(None)
    text = file.read_text()
    assert "heard's own debug line" in text and "r3fr3sh-s3cr3t" not in text
