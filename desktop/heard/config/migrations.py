"""Versioned changes of heard.toml's layout, applied in order when a file written by an
older Heard is read, and written into the file at its next save (which keeps the user's
comments and order). A file written by a newer Heard is refused with a clear message, never
half-understood.

Each migration takes the file's table at version N and returns it at N+1. The version
lives in a top-level `version` key; a file without one was written before versions existed
(version 0: the layout of version 1, which only adds the key).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

VERSION_KEY = "version"


class TooNew(ValueError):
    """The file was written by a newer Heard."""


def _v0_to_v1(data: MutableMapping[str, Any]) -> None:
    """Version 1 names its version; the layout is that of version 0."""


# MIGRATIONS[n] takes a file from version n to n + 1.
MIGRATIONS: list[Callable[[MutableMapping[str, Any]], None]] = [_v0_to_v1]


def latest() -> int:
    return len(MIGRATIONS)


def version_of(data: Mapping[str, Any]) -> int:
    value = data.get(VERSION_KEY, 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TooNew(f"{VERSION_KEY}: {value!r} is not a version of this file; remove the"
                     " line (Heard writes it)")
    return value


def migrate(data: Mapping[str, Any]) -> dict[str, Any]:
    """A plain copy of `data` at the latest version."""
    migrated = dict(data)
    upgrade(migrated)
    return migrated


def upgrade(data: MutableMapping[str, Any]) -> bool:
    """Bring `data` (a plain dict or a tomlkit document, changed in place) to the latest
    version; True when anything changed."""
    found = version_of(data)
    if found > latest():
        raise TooNew(f"this file was written by a newer version of Heard (file version"
                     f" {found}; this Heard reads up to {latest()}): update Heard, or keep a"
                     " copy and start from a new file")
    for step in MIGRATIONS[found:]:
        step(data)
    if found == latest() and VERSION_KEY in data:
        return False
    data[VERSION_KEY] = latest()
    return True
