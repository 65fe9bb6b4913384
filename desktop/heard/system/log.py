"""Logging for every face of Heard (Qt-free): a file in the profile and stderr."""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
import threading
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Every password Heard has handled in this process: never written to a log, whatever
# library (imaplib and smtplib debug output included) tries to.
_secrets: set[str] = set()
_secrets_lock = threading.Lock()
_SECRET_WORDS = re.compile(
    r"(?i)\b(password|passwd|pwd|secret|token)(['\"]?\s*[=:]\s*)(['\"]?)[^\s'\",;]+")
_AUTH_LINES = re.compile(r"(?i)\b(AUTH\s+(?:PLAIN|LOGIN|XOAUTH2)\s+)\S+|"
                         r"(\bLOGIN\s+\S+\s+)(?:\"[^\"]*\"|\S+)")
REDACTED = "[redacted]"


def redact(secret: str) -> None:
    """Remember a secret so no log line ever shows it."""
    if secret and len(secret) >= 3:
        with _secrets_lock:
            _secrets.add(secret)


def scrub(text: str) -> str:
    with _secrets_lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, REDACTED)
    text = _SECRET_WORDS.sub(lambda m: f"{m[1]}{m[2]}{m[3]}{REDACTED}", text)
    return _AUTH_LINES.sub(lambda m: f"{m[1] or m[2]}{REDACTED}", text)


class _Redacting(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


def setup(log_file: Path | None, verbose: bool = False) -> None:
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for handler in list(root.handlers):
        if getattr(handler, "_heard", False):
            root.removeHandler(handler)
    stderr = logging.StreamHandler()
    stderr.setLevel(logging.DEBUG if verbose else logging.WARNING)
    stderr.setFormatter(_Redacting("heard: %(levelname)s: %(message)s"))
    handlers: list[logging.Handler] = [stderr]
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)  # client names
        _private(log_file)
        rotating = _PrivateRotatingFile(
            log_file, maxBytes=2_000_000, backupCount=3, encoding="utf-8"
        )
        rotating.setFormatter(_Redacting(FORMAT))
        handlers.append(rotating)
    for handler in handlers:
        handler._heard = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    # Third-party chatter is not the user's business.
    for noisy in ("watchdog", "caldav", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # imapclient logs whole commands and responses (headers, bodies) at DEBUG: never, not
    # even with -v.
    logging.getLogger("imapclient").setLevel(logging.INFO)
    # Authlib logs whole token responses (access and refresh tokens) at DEBUG ("Issue
    # token {...}"): a sign-in must never reach the log file, with -v or not.
    logging.getLogger("authlib").setLevel(logging.INFO)


def _private(path: Path) -> None:
    """The log file, made (or kept) readable by the user alone: it names clients."""
    os.close(os.open(path, os.O_CREAT | os.O_APPEND | os.O_WRONLY, 0o600))
    path.chmod(0o600)


class _PrivateRotatingFile(logging.handlers.RotatingFileHandler):
    """A rotating log whose every file, the new one after a rollover too, is the user's
    alone."""

    def doRollover(self) -> None:  # noqa: N802  (logging's name)
        super().doRollover()
        for n in range(self.backupCount + 1):
            rotated = Path(f"{self.baseFilename}.{n}" if n else self.baseFilename)
            if rotated.exists():
                rotated.chmod(0o600)
