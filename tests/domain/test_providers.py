from __future__ import annotations

from heard.domain.providers import (
    GOOGLE,
    MICROSOFT,
    PROVIDERS,
    SignIn,
    by_domain,
    by_host,
    by_mx,
    domain_of,
)


def test_the_address_domain_is_found_in_any_case() -> None:
    assert domain_of(" Jo@Example.COM. ") == "example.com"
    assert domain_of("nobody") == "" and domain_of("@x.com") == ""


def test_each_provider_says_how_to_sign_in_and_where_to_make_an_app_password() -> None:
    for provider in PROVIDERS:
        if provider.sign_in is SignIn.APP_PASSWORD:
            assert provider.app_password_url.startswith("https://"), provider.key
        assert provider.imap.security == "tls"
    assert MICROSOFT.oauth2 and GOOGLE.oauth2
    assert by_domain("ICLOUD.com") is not None and not by_domain("icloud.com").oauth2  # type: ignore[union-attr]


def test_mx_hosts_name_the_provider_in_preference_order() -> None:
    assert by_mx(["firm-com.mail.protection.outlook.com."]) is MICROSOFT
    assert by_mx(["mx.elsewhere.example", "aspmx.l.google.com"]) is GOOGLE
    assert by_mx(["google.com.evil.example"]) is None
    assert by_mx([]) is None


def test_a_server_host_names_its_provider() -> None:
    assert by_host("outlook.office365.com") is MICROSOFT
    assert by_host("imap.example.com") is None
