"""Writing heard.toml (heard.config.file.ConfigFile): edits keep what the user wrote, and a
bad edit never replaces a good file."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from heard.config import (
    ConfigError,
    ConfigFile,
    load,
)
from heard.domain.clients import Channel
from tests.support.config import NINE_TO_FIVE, write

USER_FILE = """\
# Alex's settings: do not lose this comment
[user]
name = "Alex Morgan"  # as clients know me

[replies]
margin = "45m"
"""


def test_set_keeps_the_users_comments_and_adds_the_value(tmp_path: Path) -> None:
    path = write(tmp_path, USER_FILE)
    ConfigFile(path).set("user", "timezone", "Europe/Berlin")
    ConfigFile(path).set("standards.vip", "ack_within", "10m")
    text = path.read_text(encoding="utf-8")
    assert "# Alex's settings: do not lose this comment" in text
    assert 'name = "Alex Morgan"  # as clients know me' in text
    settings = load(path)
    assert settings.user.timezone == "Europe/Berlin"
    assert settings.replies.margin == timedelta(minutes=45)
    assert settings.standards.for_contact("vip", Channel.EMAIL).ack_within == timedelta(
        minutes=10)


def test_append_and_remove_keep_the_users_comments(tmp_path: Path) -> None:
    path = write(tmp_path, USER_FILE)
    file = ConfigFile(path)
    file.append("accounts", {"name": "work", "kind": "maildir", "inbox": str(tmp_path / "in")})
    file.append("accounts", {"name": "home", "kind": "maildir", "inbox": str(tmp_path / "h")})
    assert [a.name for a in load(path).accounts] == ["work", "home"]

    assert file.remove("accounts", "work") is True
    assert file.remove("accounts", "work") is False
    assert file.remove("calendars", "work") is False
    assert [a.name for a in load(path).accounts] == ["home"]
    text = path.read_text(encoding="utf-8")
    assert "# Alex's settings: do not lose this comment" in text
    assert 'name = "Alex Morgan"  # as clients know me' in text


def test_set_on_a_missing_file_writes_a_commented_file_with_every_default(
        tmp_path: Path) -> None:
    path = tmp_path / "profile" / "heard.toml"
    ConfigFile(path).set("user", "name", "Alex Morgan")
    text = path.read_text(encoding="utf-8")
    assert "# your time zone" in text
    assert "[standards.default]" in text
    settings = load(path)
    assert settings.user.name == "Alex Morgan"
    assert settings.opening.week == (NINE_TO_FIVE,) * 5 + ((), ())


def test_an_invalid_value_is_refused_and_the_file_stays_unchanged(tmp_path: Path) -> None:
    path = write(tmp_path, USER_FILE)
    before = path.read_bytes()
    file = ConfigFile(path)
    with pytest.raises(ConfigError) as info:
        file.set("standards.default", "ack_within", "soon")
    assert any(p.startswith("standards.default.ack_within") for p in info.value.problems)
    with pytest.raises(ConfigError):
        file.set("user", "timezone", "Nowhere/Special")
    with pytest.raises(ConfigError):
        file.append("accounts", {"name": "broken", "kind": "imap"})
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["heard.toml"]


def test_an_invalid_value_on_a_missing_file_creates_no_file(tmp_path: Path) -> None:
    path = tmp_path / "heard.toml"
    with pytest.raises(ConfigError):
        ConfigFile(path).set("replies", "margin", "whenever")
    assert not path.exists()
