"""A local Maildir folder as a source of messages, and as a place to deliver them."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class MaildirEntry:
    key: str     # the unique part of the file name; it survives moves from new/ to cur/
    path: Path


class MaildirError(OSError):
    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


def entry_key(filename: str) -> str:
    # Flags follow ':2,' (or '!2,' on systems where ':' is not allowed in file names).
    return filename.split(":", 1)[0].split("!", 1)[0]


class Maildir:
    def __init__(self, path: Path) -> None:
        self.path = path

    def exists(self) -> bool:
        return all((self.path / sub).is_dir() for sub in ("new", "cur", "tmp"))

    def check(self) -> None:
        if not self.path.exists():
            raise MaildirError(self.path, "does not exist")
        if not self.exists():
            raise MaildirError(self.path, "is not a Maildir (it needs new/, cur/ and tmp/)")

    def create(self) -> None:
        for sub in ("new", "cur", "tmp"):
            (self.path / sub).mkdir(parents=True, exist_ok=True, mode=0o700)

    def entries(self) -> Iterator[MaildirEntry]:
        for sub in ("new", "cur"):
            try:
                with os.scandir(self.path / sub) as it:
                    for dirent in it:
                        if dirent.name.startswith(".") or not dirent.is_file():
                            continue
                        yield MaildirEntry(entry_key(dirent.name), Path(dirent.path))
            except FileNotFoundError:
                continue

    def deliver(self, raw: bytes, key: str | None = None) -> MaildirEntry:
        """Write a message the Maildir way: into tmp/, fsync, then rename into new/.

        A reader never sees half a message. With a `key`, delivering twice keeps one copy,
        which is what makes the outbox idempotent.
        """
        self.create()
        key = key or f"{time.time_ns()}.P{os.getpid()}.{socket.gethostname()}"
        existing = self.find(key)
        if existing is not None:
            return existing
        tmp = self.path / "tmp" / key
        with tmp.open("wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        final = self.path / "new" / key
        tmp.rename(final)
        return MaildirEntry(key, final)

    def find(self, key: str) -> MaildirEntry | None:
        for sub in ("new", "cur"):
            candidate = self.path / sub / key
            if candidate.exists():
                return MaildirEntry(key, candidate)
            for found in (self.path / sub).glob(f"{key}:*") if (self.path / sub).is_dir() else []:
                return MaildirEntry(key, found)
        return None
