"""Discovery from an address against real parts: dnsmasq for SRV, MX and A records, and an
HTTPS server for the autoconfig files (tests/support/discovery.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from heard.domain.providers import SignIn
from heard.setup.discover import (
    Network,
    NotAnAddress,
    Source,
    discover,
    parse_autoconfig,
)
from tests.support.discovery import DiscoveryWorld

CONFIG = """<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="{domain}">
    <domain>{domain}</domain>
    <displayName>Example Mail</displayName>
    <incomingServer type="pop3">
      <hostname>pop.{domain}</hostname><port>995</port><socketType>SSL</socketType>
      <username>%EMAILADDRESS%</username><authentication>password-cleartext</authentication>
    </incomingServer>
    <incomingServer type="imap">
      <hostname>imap.{domain}</hostname><port>143</port><socketType>STARTTLS</socketType>
      <username>%EMAILLOCALPART%</username><authentication>password-cleartext</authentication>
    </incomingServer>
    <incomingServer type="imap">
      <hostname>imap.{domain}</hostname><port>993</port><socketType>SSL</socketType>
      <username>%EMAILLOCALPART%</username><authentication>password-cleartext</authentication>
    </incomingServer>
    <outgoingServer type="smtp">
      <hostname>smtp.{domain}</hostname><port>587</port><socketType>STARTTLS</socketType>
      <username>%EMAILADDRESS%</username><authentication>password-cleartext</authentication>
    </outgoingServer>
  </emailProvider>
</clientConfig>
"""


def net() -> Network:
    return Network.from_environment()


def test_the_environment_points_discovery_at_a_dns_server_and_a_ca() -> None:
    found = Network.from_environment({"HEARD_DNS_SERVER": "127.0.0.1:5353",
                                      "HEARD_DISCOVERY_CA_FILE": "/tmp/ca.pem",
                                      "HEARD_DISCOVERY_HTTPS_PORT": "8443"})
    assert found == Network("127.0.0.1", 5353, Path("/tmp/ca.pem"), 8443)
    assert Network.from_environment({}) == Network()
    assert Network.from_environment({"HEARD_DNS_SERVER": "[::1]:5353"}) == Network("::1", 5353)
    assert Network.from_environment({"HEARD_DNS_SERVER": "::1"}) == Network("::1")
    assert Network.from_environment({"HEARD_DNS_SERVER": "127.0.0.1:x",
                                     "HEARD_DISCOVERY_HTTPS_PORT": "99999"}) == \
        Network("127.0.0.1")


@pytest.mark.parametrize("address,provider,oauth", [
    ("someone@outlook.com", "microsoft", "microsoft"),
    ("someone@hotmail.co.uk", "microsoft", "microsoft"),
    ("someone@gmail.com", "google", "google"),
])
def test_microsoft_and_google_addresses_are_known_and_need_oauth2(
        discovery: DiscoveryWorld, address: str, provider: str, oauth: str) -> None:
    found = discover(address, net())
    assert found.source is Source.BUILT_IN
    assert found.sign_in is SignIn.OAUTH2 and found.oauth2 == oauth
    assert found.provider is not None and found.provider.key == provider
    assert found.username == address
    # Heard's own knowledge: nothing was asked of the domain
    assert discovery.https.requests == []


@pytest.mark.parametrize("address,host,link", [
    ("someone@icloud.com", "imap.mail.me.com", "https://account.apple.com/account/manage"),
    ("someone@yahoo.com", "imap.mail.yahoo.com", "https://login.yahoo.com/account/security"),
    ("someone@fastmail.com", "imap.fastmail.com",
     "https://app.fastmail.com/settings/security/apps"),
])
def test_icloud_yahoo_and_fastmail_need_an_app_password_made_at_their_link(
        discovery: DiscoveryWorld, address: str, host: str, link: str) -> None:
    found = discover(address, net())
    assert found.sign_in is SignIn.APP_PASSWORD and found.oauth2 is None
    assert found.imap is not None and found.imap.host == host and found.imap.port == 993
    assert found.app_password_url == link
    assert found.as_json()["app_password_url"] == link


def test_a_domain_s_autoconfig_file_gives_its_servers(discovery: DiscoveryWorld) -> None:
    discovery.https.files["autoconfig.example.test"] = CONFIG.format(
        domain="example.test").encode()
    found = discover("jo.doe@example.test", net())
    assert found.source is Source.AUTOCONFIG
    assert found.where == "https://autoconfig.example.test/mail/config-v1.1.xml"
    # implicit TLS preferred over STARTTLS, POP3 ignored, the placeholders filled in
    assert (found.imap, found.username) == (
        found.imap and type(found.imap)("imap.example.test", 993, "tls"), "jo.doe")
    assert found.smtp is not None and (found.smtp.port, found.smtp.security) == (587,
                                                                                 "starttls")
    assert found.sign_in is SignIn.PASSWORD
    assert discovery.https.requests == [
        ("autoconfig.example.test", "/mail/config-v1.1.xml?emailaddress=jo.doe@example.test")]


def test_without_autoconfig_host_the_well_known_file_is_read(
        discovery: DiscoveryWorld) -> None:
    discovery.https.files["wellknown.test"] = CONFIG.format(domain="wellknown.test").encode()
    found = discover("sam@wellknown.test", net())
    assert found.source is Source.AUTOCONFIG
    assert found.where == "https://wellknown.test/.well-known/autoconfig/mail/config-v1.1.xml"
    assert found.imap is not None and found.imap.host == "imap.wellknown.test"
    assert any("autoconfig.wellknown.test" in t for t in found.tried)


def test_an_autoconfig_server_whose_certificate_is_not_trusted_is_not_believed(
        discovery: DiscoveryWorld, tmp_path: Path) -> None:
    discovery.https.files["autoconfig.example.test"] = CONFIG.format(
        domain="example.test").encode()
    pem = tmp_path / "other.pem"   # a CA, but not the server's
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    str(tmp_path / "k.pem"), "-out", str(pem), "-days", "1", "-subj",
                    "/CN=other"], check=True, capture_output=True)
    untrusting = Network(net().nameserver, net().dns_port, pem, net().https_port)
    found = discover("jo@example.test", untrusting)
    assert found.source is not Source.AUTOCONFIG
    assert "https://autoconfig.example.test/mail/config-v1.1.xml: its certificate is not" \
           " trusted" in found.tried


def test_srv_records_give_the_servers_by_priority_and_the_caldav_address(
        discovery: DiscoveryWorld) -> None:
    found = discover("kim@srv.test", net())
    assert found.source is Source.SRV
    assert found.imap is not None and (found.imap.host, found.imap.port,
                                       found.imap.security) == ("imap.srv.test", 993, "tls")
    assert found.smtp is not None and (found.smtp.host, found.smtp.security) == (
        "smtp.srv.test", "starttls")
    assert found.username == "kim@srv.test"
    assert found.caldav == "https://dav.srv.test:8443/dav/calendars/"   # RFC 6764 + TXT


@pytest.mark.parametrize("address,provider", [("ann@m365.test", "microsoft"),
                                              ("ann@workspace.test", "google")])
def test_a_custom_domain_hosted_by_microsoft_or_google_gets_their_sign_in(
        discovery: DiscoveryWorld, address: str, provider: str) -> None:
    found = discover(address, net())
    assert found.source is Source.MX
    assert found.oauth2 == provider and found.username == address
    assert found.as_json()["provider"] == provider
    assert "MX records of" in found.where


def test_when_nothing_is_found_the_answer_says_so_and_what_was_tried(
        discovery: DiscoveryWorld) -> None:
    found = discover("lee@nothing.test", net())
    assert found.source is Source.NONE and found.imap is None
    assert found.tried[-1] == "MX records of nothing.test: mx.nothing.test (no provider" \
                              " Heard knows)"
    assert found.as_json()["imap"] is None


def test_not_an_address_is_refused() -> None:
    with pytest.raises(NotAnAddress):
        discover("not an address", Network())


def test_an_autoconfig_file_with_entities_or_without_imap_gives_nothing() -> None:
    bomb = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>'
            b"<clientConfig><emailProvider><incomingServer type='imap'><hostname>&a;"
            b"</hostname><port>993</port><socketType>SSL</socketType></incomingServer>"
            b"</emailProvider></clientConfig>")
    assert parse_autoconfig(bomb, "a@b.test") is None
    plain_only = CONFIG.replace("SSL", "plain").replace("STARTTLS", "plain").format(
        domain="b.test").encode()
    assert parse_autoconfig(plain_only, "a@b.test") is None
    oauth = CONFIG.replace("password-cleartext", "OAuth2").format(domain="b.test").encode()
    parsed = parse_autoconfig(oauth, "a@b.test")
    assert parsed is not None and parsed[3] is SignIn.OAUTH2
