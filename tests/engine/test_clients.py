"""The client directory (heard.engine.clients): phone numbers read in the user's region."""

from heard.config import ConfigFile, load
from heard.domain.clients import Client
from heard.engine import Engine


def test_phone_numbers_are_read_in_the_users_region(engine: Engine) -> None:
    ConfigFile(engine.profile.config).set("user", "phone_region", "DE")
    engine.settings = load(engine.profile.config)
    hans = engine.clients.add(Client("Hans Berger", phones=("030 1234567", "+1 415 555 0134")))
    assert hans.phones == ("+49301234567", "+14155550134")
    assert engine.clients.directory().match_phone("+49 30 1234567") == hans
