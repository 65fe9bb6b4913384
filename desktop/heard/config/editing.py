"""What the settings window and the first-run wizard write: heard.toml through ConfigFile's
own validation (one write, all or nothing, comments kept) and the profile's templates.toml.

ConfigFile.set_many edits values; the windows also edit arrays of tables (assistants, an
account changed in place, a new account or calendar) in the *same* write, so a bad value
anywhere leaves the file as it was. SettingsFile stages those array edits and applies them
just before ConfigFile validates and writes the document.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import tomlkit
import tomlkit.exceptions
from tomlkit.items import AoT, Table

from heard.config.file import ConfigFile
from heard.config.load import ConfigError, settings_from
from heard.config.schema import SCHEMA, STANDARD_SCHEMA
from heard.config.templates import write_templates
from heard.domain.templates import Template, TemplateError

__all__ = ["write_templates"]  # where the windows have always imported it from

Edit = Callable[[Any], None]   # applied to the tomlkit document before it is validated


def set_array(name: str, entries: Sequence[Mapping[str, Any]]) -> Edit:
    """[[name]] becomes exactly `entries` (untouched when it already is)."""
    def edit(document: Any) -> None:
        current = document.get(name)
        if isinstance(current, AoT) and [dict(t.unwrap()) for t in current] == \
                [dict(e) for e in entries]:
            return
        if not entries:
            if name in document:
                del document[name]
            return
        aot = tomlkit.aot()
        for entry in entries:
            aot.append(_table(entry))
        document[name] = aot
    return edit


def append_entry(name: str, entry: Mapping[str, Any]) -> Edit:
    def edit(document: Any) -> None:
        aot = document.get(name)
        if not isinstance(aot, AoT):
            aot = tomlkit.aot()
            document[name] = aot
        aot.append(_table(entry))
    return edit


def replace_entry(name: str, old_name: str, entry: Mapping[str, Any]) -> Edit:
    """The [[name]] table named `old_name` takes `entry`'s keys, in place: it keeps its
    position and the comments around it."""
    def edit(document: Any) -> None:
        aot = document.get(name)
        table = next((t for t in aot if t.get("name") == old_name), None) \
            if isinstance(aot, AoT) else None
        if table is None:
            raise _Gone(f"{name}: there is no entry named {old_name!r} any more (was the"
                        " file changed meanwhile?)")
        for key in [k for k in table if k not in entry]:
            del table[key]
        for key, value in entry.items():
            if table.get(key) != value:
                table[key] = value
    return edit


class _Gone(LookupError):
    pass


def _table(entry: Mapping[str, Any]) -> Table:
    table = tomlkit.table()
    for key, value in entry.items():
        table[key] = value
    return table


class SettingsFile(ConfigFile):
    """ConfigFile with staged array edits, written in the same validated write."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._edits: list[Edit] = []
        self._dry_run = False

    def _write(self, document: tomlkit.TOMLDocument) -> None:
        try:
            for edit in self._edits:
                edit(document)
        except _Gone as exc:
            raise ConfigError(self.path, [str(exc)]) from exc
        if self._dry_run:
            settings_from(document.unwrap(), self.path)
            return
        super()._write(document)

    def save(self, changes: list[tuple[str, str, Any]], drop: list[str] | None = None,
             edits: Sequence[Edit] = (), *, dry_run: bool = False) -> None:
        """Every change and edit, or nothing (ConfigError names every problem by key).
        `dry_run`: only validate, so that other problems can be reported together."""
        self._edits = list(edits)
        self._dry_run = dry_run
        try:
            self.set_many(changes, drop)
        finally:
            self._edits = []
            self._dry_run = False


def unchanged(path: Path, changes: list[tuple[str, str, Any]]) -> list[tuple[str, str, Any]]:
    """The changes that would not change what the file means: the value equals the one
    written there or, for a key not written, the one it stands for (the default; for a
    tier's standard, the default tier's value after these changes). Leaving them out keeps
    the user's file as they wrote it."""
    try:
        data = tomlkit.parse(path.read_text(encoding="utf-8")).unwrap() \
            if path.exists() else {}
    except (OSError, UnicodeDecodeError, tomlkit.exceptions.ParseError):
        return []
    new = {(section, key): value for section, key, value in changes}
    same = []
    for section, key, value in changes:
        parts = section.split(".")
        if parts[0] == "standards" and len(parts) == 2:
            option = STANDARD_SCHEMA.get(key)
            table = data.get("standards", {}).get(parts[1], {}) \
                if isinstance(data.get("standards"), Mapping) else {}
            if parts[1] == "default" or option is None:
                base = option.default if option is not None else None
            else:
                base = new.get(("standards.default", key),
                               data.get("standards", {}).get("default", {}).get(
                                   key, option.default))
        else:
            option = SCHEMA.get(section, {}).get(key)
            table = data.get(section, {})
            base = option.default if option is not None else None
        if option is None or not isinstance(table, Mapping):
            continue
        old = table.get(key, base)
        try:
            if option.parse(value) == option.parse(old):
                same.append((section, key, value))
        except ValueError:   # a bad value: kept, so that validation names it
            continue
    return same


# templates.toml


def template_problems(templates: Mapping[str, tuple[str, str, str]]) -> list[str]:
    """Each template checked as it would be loaded; a problem names the template."""
    problems = []
    for name, (subject, body, promise) in templates.items():
        if not name.strip() or any(c in name for c in "[]\"'.= \t\n"):
            problems.append(f"templates.{name}: a template name is one word, like"
                            " \"acknowledge-short\"")
            continue
        if not body.strip():
            problems.append(f"templates.{name}.body: the text is empty")
            continue
        try:
            Template(name, subject, body, promise)
        except TemplateError as exc:
            problems.append(f"templates.{name}: {exc.problem}")
    return problems
