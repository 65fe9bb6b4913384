import pytest

from heard.domain.clients import Client, ClientDirectory, normalize_phone
from heard.domain.ids import ClientId

ACME = Client("Acme", domains=("acme.example",), id=ClientId(1))
JANE = Client("Jane Roe", emails=("Jane@Acme.Example",), id=ClientId(2))
SOFIA = Client("Sofia", phones=("+46 8 555 012 34",), id=ClientId(3))
DIRECTORY = ClientDirectory([ACME, JANE, SOFIA])


def test_an_exact_address_wins_over_the_domain() -> None:
    assert DIRECTORY.match_email("jane@acme.example") == JANE
    assert DIRECTORY.match_email("<JANE@acme.example>") == JANE
    assert DIRECTORY.match_email("bob@acme.example") == ACME


def test_subdomains_belong_to_the_domain_owner() -> None:
    assert DIRECTORY.match_email("bob@eu.mail.acme.example") == ACME
    assert DIRECTORY.match_email("bob@notacme.example") is None
    assert DIRECTORY.match_email("bob@example") is None


def test_phone_numbers_match_in_e164() -> None:
    assert SOFIA.phones == ("+46855501234",)
    assert DIRECTORY.match_phone("+46 (0)8-555 012 34") is None or \
        DIRECTORY.match_phone("+46 8 555 01234") == SOFIA
    assert DIRECTORY.match_phone("+4685550 1234") == SOFIA
    assert normalize_phone("(415) 555-0134") == "+14155550134"
    assert normalize_phone("not a number") is None


def test_display_name_prefers_the_preferred_name() -> None:
    assert Client("Margaret Hale", preferred_name="Megge").display_name == "Megge"
    assert Client("Margaret Hale").display_name == "Margaret"


def test_a_client_needs_a_name() -> None:
    with pytest.raises(ValueError, match="name"):
        Client("  ")


def test_a_language_and_a_zone_are_checked_and_kept_in_one_form() -> None:
    from heard.domain.clients import client_problems

    client = Client("Jana Weber", language="de-DE", zone=" ")
    assert (client.language, client.zone) == ("de_DE", None)
    assert client_problems(client, ["standard"]) == []
    wrong = Client("Jana Weber", language="xx_YY", zone="Europe/Bonn")
    assert client_problems(wrong, ["standard"]) == [
        "'xx_YY' is not a language Heard knows; write one like \"de\", \"en_GB\" or"
        " \"fr_CH\"",
        "'Europe/Bonn' is not a time zone; write one like \"Europe/Berlin\" or"
        " \"America/New_York\""]
