"""heard.toml's layout versions: an older file is read and brought up to date at its next
write (comments kept), a newer one is refused in words, and migrations run in order."""

from __future__ import annotations

from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import pytest

from heard.config import ConfigError, ConfigFile, default_text, load, migrations


def test_a_file_from_before_versions_loads_and_is_stamped_at_its_next_write(
        tmp_path: Path) -> None:
    path = tmp_path / "heard.toml"
    path.write_text('# my own note\n[user]\nname = "Alex" # as clients know me\n',
                    encoding="utf-8")
    assert load(path).user.name == "Alex"
    assert "version" not in path.read_text()          # reading changes nothing
    ConfigFile(path).set("user", "timezone", "Europe/Berlin")
    text = path.read_text()
    assert text.startswith(f"# my own note\nversion = {migrations.latest()}\n")
    assert 'name = "Alex" # as clients know me' in text
    assert load(path).user.timezone == "Europe/Berlin"


def test_a_new_file_says_its_version() -> None:
    assert f"\nversion = {migrations.latest()}\n" in default_text()


def test_a_file_from_a_newer_heard_is_refused_in_words(tmp_path: Path) -> None:
    path = tmp_path / "heard.toml"
    path.write_text("version = 99\n[user]\nname = \"Alex\"\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load(path)
    assert "written by a newer version of Heard (file version 99" in str(info.value)
    with pytest.raises(ConfigError):
        ConfigFile(path).set("user", "name", "Kim")   # nothing is written over it
    assert 'name = "Alex"' in path.read_text()


def test_a_version_that_is_not_a_number_is_named(tmp_path: Path) -> None:
    path = tmp_path / "heard.toml"
    path.write_text('version = "one"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load(path)
    assert "'one' is not a version of this file" in str(info.value)


def test_migrations_run_in_order_from_the_files_version(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[str] = []

    def rename_title(data: MutableMapping[str, Any]) -> None:   # v1 -> v2
        ran.append("v2")
        user = data.get("user")
        if isinstance(user, MutableMapping) and "title" in user:
            user["name"] = user.pop("title")

    def nothing(_data: MutableMapping[str, Any]) -> None:       # v2 -> v3
        ran.append("v3")

    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, rename_title,
                                                   nothing])
    path = tmp_path / "heard.toml"
    path.write_text('version = 1\n[user]\ntitle = "Alex"\n', encoding="utf-8")
    assert load(path).user.name == "Alex"
    assert ran == ["v2", "v3"]
    ConfigFile(path).set("user", "timezone", "UTC")
    assert path.read_text().startswith("version = 3\n")
    assert 'name = "Alex"' in path.read_text() and "title" not in path.read_text()
