import pytest

from heard.config import ConfigError, ConfigFile, load
from heard.domain.clients import Client
from heard.engine import Engine


def test_phone_numbers_are_read_in_the_users_region(engine: Engine) -> None:
    ConfigFile(engine.profile.config).set("user", "phone_region", "DE")
    engine.settings = load(engine.profile.config)
    hans = engine.add_client(Client("Hans Berger", phones=("030 1234567", "+1 415 555 0134")))
    assert hans.phones == ("+49301234567", "+14155550134")
    assert engine.directory().match_phone("+49 30 1234567") == hans


def test_an_unknown_region_is_refused_naming_the_key(engine: Engine) -> None:
    path = engine.profile.config
    text = path.read_text().replace('phone_region = "US"', 'phone_region = "Germany"')
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"user\.phone_region: write a two-letter"):
        load(path)
    path.write_text(text.replace('"Germany"', '"XX"'), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"user\.phone_region: 'XX' is not a country code"):
        load(path)
