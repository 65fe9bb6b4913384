"""Logging for every face of Heard (Qt-free): a file in the profile and stderr."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup(log_file: Path | None, verbose: bool = False) -> None:
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for handler in list(root.handlers):
        if getattr(handler, "_heard", False):
            root.removeHandler(handler)
    stderr = logging.StreamHandler()
    stderr.setLevel(logging.DEBUG if verbose else logging.WARNING)
    stderr.setFormatter(logging.Formatter("heard: %(levelname)s: %(message)s"))
    handlers: list[logging.Handler] = [stderr]
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        rotating = logging.handlers.RotatingFileHandler(
            log_file, maxBytes=2_000_000, backupCount=3, encoding="utf-8"
        )
        rotating.setFormatter(logging.Formatter(FORMAT))
        handlers.append(rotating)
    for handler in handlers:
        handler._heard = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    # Third-party chatter is not the user's business.
    for noisy in ("watchdog", "caldav", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
