"""Writing heard.toml: a commented file of every default for a new profile, and edits that
keep the user's comments and order (tomlkit), each validated before anything is written, so
a bad edit never replaces a good file. The file is brought to the latest layout version on
its first write (heard.config.migrations)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import AoT, Table

from heard.config import migrations
from heard.config.load import settings_from
from heard.config.schema import SCHEMA, STANDARD_SCHEMA


def default_text() -> str:
    """A commented settings file listing every option with its default."""
    lines = ["# Heard settings. Every key is optional; the values shown are the defaults.",
             "# The layout version of this file (Heard writes it; do not change it).",
             f"{migrations.VERSION_KEY} = {migrations.latest()}", ""]
    for section, options in SCHEMA.items():
        lines.append(f"[{section}]")
        for key, option in options.items():
            lines.append(f"# {option.help}")
            lines.append(f"{key} = {tomlkit.item(option.default).as_string()}")
        lines.append("")
    lines.append("# Response standards: [standards.default], per tier [standards.vip],")
    lines.append("# per tier and channel [standards.vip.call].")
    lines.append("[standards.default]")
    for key, option in STANDARD_SCHEMA.items():
        lines.append(f"# {option.help}")
        lines.append(f"{key} = {tomlkit.item(option.default).as_string()}")
    lines.append("")
    return "\n".join(lines)


class ConfigFile:
    """Edits heard.toml in place, keeping the user's comments and order."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self) -> tomlkit.TOMLDocument:
        if not self.path.exists():
            return tomlkit.parse(default_text())
        return tomlkit.parse(self.path.read_text(encoding="utf-8"))

    def _write(self, document: tomlkit.TOMLDocument) -> None:
        # Validate before writing, so a bad edit never replaces a good file.
        settings_from(document.unwrap(), self.path)
        # At the latest layout version (tomlkit puts the version key before the tables).
        migrations.upgrade(document)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".toml.tmp")
        tmp.write_text(tomlkit.dumps(document), encoding="utf-8")
        tmp.replace(self.path)

    def ensure(self) -> None:
        if not self.path.exists():
            self._write(self._read())

    def set(self, section: str, key: str, value: Any) -> None:
        """Set section.key; a dotted section ("standards.vip") is nested tables."""
        self.set_many([(section, key, value)])

    def set_many(self, changes: list[tuple[str, str, Any]],
                 drop: list[str] | None = None, dry_run: bool = False) -> None:
        """Several edits (and dotted tables to drop) at once: all are written, or none
        (ConfigError names every problem) — what a settings window's Save needs.
        `dry_run`: only check that they would be accepted."""
        document = self._read()
        for section in drop or ():
            *parents, last = section.split(".")
            table: Any = document
            for part in parents:
                table = table.get(part) if isinstance(table.get(part), Table) else None
                if table is None:
                    break
            if table is not None and last in table:
                del table[last]
        for section, key, value in changes:
            table = document
            for part in section.split("."):
                child = table.get(part)
                if not isinstance(child, Table):
                    child = tomlkit.table(is_super_table=False)
                    table[part] = child
                table = child
            table[key] = value
        if dry_run:
            settings_from(document.unwrap(), self.path)
            return
        self._write(document)

    def append(self, array: str, entry: Mapping[str, Any]) -> None:
        document = self._read()
        aot = document.get(array)
        if not isinstance(aot, AoT):
            aot = tomlkit.aot()
            document[array] = aot
        table = tomlkit.table()
        for k, v in entry.items():
            table[k] = v
        aot.append(table)
        self._write(document)

    def remove(self, array: str, name: str) -> bool:
        document = self._read()
        aot = document.get(array)
        if not isinstance(aot, AoT):
            return False
        kept = [t for t in aot if t.get("name") != name]
        if len(kept) == len(aot):
            return False
        if kept:
            new = tomlkit.aot()
            for t in kept:
                new.append(t)
            document[array] = new
        else:
            del document[array]
        self._write(document)
        return True
