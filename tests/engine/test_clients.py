import pytest

from heard.config import ConfigError, ConfigFile, load
from heard.domain.clients import Client
from heard.engine import Engine


def test_phone_numbers_are_read_in_the_users_region(engine: Engine) -> None:
    ConfigFile(engine.profile.config).set("user", "phone_region", "DE")
    engine.settings = load(engine.profile.config)
    hans = engine.clients.add(Client("Hans Berger", phones=("030 1234567", "+1 415 555 0134")))
    assert hans.phones == ("+49301234567", "+14155550134")
    assert engine.clients.directory().match_phone("+49 30 1234567") == hans


def test_an_unknown_region_is_refused_naming_the_key(engine: Engine) -> None:
    path = engine.profile.config
    text = path.read_text().replace('phone_region = "US"', 'phone_region = "Germany"')
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"user\.phone_region: write a two-letter"):
        load(path)
    path.write_text(text.replace('"Germany"', '"XX"'), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"user\.phone_region: 'XX' is not a country code"):
        load(path)


def test_settings_edited_while_running_are_taken_up_and_a_broken_edit_is_reported(
    engine: Engine, tmp_path: object
) -> None:
    import os
    from pathlib import Path

    from heard.mail.maildir import Maildir

    second = Maildir(Path(str(tmp_path)) / "second")
    second.create()
    ConfigFile(engine.profile.config).append(
        "accounts", {"name": "home", "kind": "maildir", "inbox": str(second.path)})
    engine.status()
    assert [a.name for a in engine.settings.accounts] == ["work", "home"]

    path = engine.profile.config
    good = path.read_text()
    path.write_text(good.replace('ack_within = "30m"', 'ack_within = "soon"'))
    os.utime(path, ns=(0, 10**9))  # a different mtime, whatever the file system's resolution
    status = engine.status()
    assert any("standards.default.ack_within" in p for p in status.problems)
    assert [a.name for a in engine.settings.accounts] == ["work", "home"]  # kept
    path.write_text(good)
    assert engine.status().problems == []
