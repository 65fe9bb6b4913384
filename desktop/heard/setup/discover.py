"""From an e-mail address to its servers, the way Thunderbird finds them, in this order:

1. Heard's own knowledge of the big providers (heard.domain.providers): Microsoft 365 /
   Outlook.com, Google, iCloud, Fastmail, Yahoo, by the address's domain;
2. the domain's autoconfig file (Thunderbird's format, config-v1.1.xml), from
   `https://autoconfig.DOMAIN/mail/config-v1.1.xml?emailaddress=ADDRESS`, then
   `https://DOMAIN/.well-known/autoconfig/mail/config-v1.1.xml`;
3. DNS SRV records: RFC 6186 (`_imaps._tcp`, `_imap._tcp`, `_submissions._tcp`,
   `_submission._tcp`), with RFC 6764's `_caldavs._tcp` for the calendar;
4. the domain's MX records: a custom domain whose mail Microsoft 365 or Google Workspace
   receives gets that provider's servers and sign-in;
5. nothing: the caller asks the user (Discovered.source is Source.NONE).

Nothing here talks to the user or signs in: the answer says what was found, where, and
how to sign in (a password, an app password and where to make one, or OAuth2 with which
provider), and each face acts on it. Blocks (DNS and HTTPS): off the GUI thread.

The network is a parameter (`Network`): which DNS server to ask and which CA to trust for
the autoconfig files. The defaults are the system's; `Network.from_environment` reads
HEARD_DNS_SERVER (host or host:port), HEARD_DISCOVERY_CA_FILE and
HEARD_DISCOVERY_HTTPS_PORT, which is how the tests point discovery at their own DNS server
and HTTPS server on loopback. TLS is always verified; the XML is parsed by defusedxml (no
entities, no external references).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import quote

from heard.domain.providers import Provider, Server, SignIn, by_domain, by_host, by_mx, domain_of

log = logging.getLogger(__name__)

MAX_CONFIG = 512 * 1024      # bytes: an autoconfig file is a few kB


class Source(StrEnum):
    """Where the servers were found."""

    BUILT_IN = "built-in"
    AUTOCONFIG = "autoconfig"
    SRV = "srv"
    MX = "mx"
    NONE = "none"


@dataclass(frozen=True)
class Network:
    """Where discovery asks: the DNS server ("" = the system's resolver), the CA file
    trusted for autoconfig over HTTPS (None = the system's), and the HTTPS port (443 but
    in tests)."""

    nameserver: str = ""
    dns_port: int = 53
    ca_file: Path | None = None
    https_port: int = 443
    timeout: float = 5.0

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> Network:
        env = os.environ if env is None else env
        server = env.get("HEARD_DNS_SERVER", "").strip()
        host, port = server, ""
        if server.startswith("["):                      # [::1]:5353
            host, _, port = server[1:].partition("]")
            port = port.removeprefix(":")
        elif server.count(":") == 1:                    # 127.0.0.1:5353 (not a bare IPv6)
            host, _, port = server.partition(":")
        ca = env.get("HEARD_DISCOVERY_CA_FILE", "").strip()
        return cls(nameserver=host, dns_port=_port(port, 53, "HEARD_DNS_SERVER"),
                   ca_file=Path(ca) if ca else None,
                   https_port=_port(env.get("HEARD_DISCOVERY_HTTPS_PORT", "").strip(), 443,
                                    "HEARD_DISCOVERY_HTTPS_PORT"))


def _port(text: str, default: int, name: str) -> int:
    """A port from the environment; a bad one is said in the log and the default used."""
    if not text:
        return default
    if text.isdigit() and 0 < int(text) < 65536:
        return int(text)
    log.warning("%s: %r is no port; using %d", name, text, default)
    return default


@dataclass(frozen=True)
class Discovered:
    """What discovery found for `address`: the servers (None when nothing was found), the
    login name, how to sign in, and where it was found (`where`, in words)."""

    address: str
    source: Source
    where: str
    imap: Server | None = None
    smtp: Server | None = None
    username: str = ""
    sign_in: SignIn = SignIn.PASSWORD
    provider: Provider | None = None
    caldav: str = ""
    tried: tuple[str, ...] = field(default=())   # the steps that found nothing, and why

    @property
    def oauth2(self) -> str | None:
        """The OAuth2 provider to sign in with ("microsoft", "google"), or None."""
        if self.sign_in is not SignIn.OAUTH2:
            return None
        return self.provider.key if self.provider is not None else "oauth2"

    @property
    def app_password_url(self) -> str:
        return self.provider.app_password_url if self.provider is not None else ""

    def as_json(self) -> dict[str, Any]:
        def server(s: Server | None) -> dict[str, Any] | None:
            return None if s is None else {"host": s.host, "port": s.port,
                                           "security": s.security}

        provider = self.provider
        return {
            "address": self.address, "source": self.source.value, "where": self.where,
            "provider": provider.key if provider else None,
            "provider_name": provider.name if provider else None,
            "sign_in": self.sign_in.value, "oauth2": self.oauth2,
            "app_password_url": self.app_password_url or None,
            "note": provider.note if provider and provider.note else None,
            "imap": server(self.imap), "smtp": server(self.smtp),
            "username": self.username or None, "caldav": self.caldav or None,
            "calendar": (provider.calendar or None) if provider else
                        ("caldav" if self.caldav else None),
            "tried": list(self.tried),
        }


class NotAnAddress(ValueError):
    """The text given is no e-mail address."""


def discover(address: str, network: Network | None = None) -> Discovered:
    """The servers of `address` (see the module's docstring for the order). Blocks."""
    network = network or Network()
    domain = domain_of(address)
    if not domain or ("." not in domain and domain != "localhost"):
        raise NotAnAddress(f"{address!r} is not an e-mail address (name@example.com)")
    address = address.strip()
    known = by_domain(domain)
    if known is not None:
        return _from_provider(address, known, Source.BUILT_IN,
                              f"Heard's own knowledge of {known.name}")
    tried: list[str] = []
    found = _autoconfig(address, domain, network, tried)
    if found is None:
        found = _srv(address, domain, network, tried)
    if found is None:
        found = _mx(address, domain, network, tried)
    if found is None:
        return Discovered(address, Source.NONE, "nothing found", tried=tuple(tried))
    found = replace(found, tried=tuple(tried))
    if found.source is not Source.MX and found.imap is not None:
        # A domain's own file that points at Microsoft's or Google's servers: their sign-in.
        hosted = by_host(found.imap.host)
        if hosted is not None and found.provider is None:
            found = replace(found, provider=hosted, sign_in=hosted.sign_in)
    if not found.caldav:
        found = replace(found, caldav=_caldav_srv(domain, network))
    return found


def _from_provider(address: str, provider: Provider, source: Source, where: str
                   ) -> Discovered:
    return Discovered(address, source, where, provider.imap, provider.smtp, address,
                      provider.sign_in, provider, provider.caldav)


# -- autoconfig ----------------------------------------------------------------------------


def _autoconfig(address: str, domain: str, network: Network, tried: list[str]
                ) -> Discovered | None:
    where = (f"autoconfig.{domain}", f"/mail/config-v1.1.xml?emailaddress="
             f"{quote(address, safe='@')}"), \
            (domain, "/.well-known/autoconfig/mail/config-v1.1.xml")
    for host, path in where:
        shown = f"https://{host}{path.split('?', 1)[0]}"
        status, body = _fetch(host, path, network)
        if status != 200:
            tried.append(f"{shown}: {body.decode() if status == 0 else f'HTTP {status}'}")
            continue
        found = parse_autoconfig(body, address)
        if found is None:
            tried.append(f"{shown}: no IMAP server with TLS in it")
            continue
        imap, smtp, username, sign_in = found
        return Discovered(address, Source.AUTOCONFIG, shown, imap, smtp, username, sign_in)
    return None


def _fetch(host: str, path: str, network: Network) -> tuple[int, bytes]:
    """GET https://host/path with the certificate verified for `host`: (status, body), or
    (0, why) when it cannot be had. The name is looked up with the network's DNS server
    when one is given (the tests' own), else by the system. Redirects are not followed."""
    import urllib3

    address = host
    if network.nameserver:
        records = _query(network, host, "A")
        if not records:
            return 0, b"no such host"
        address = str(records[0])
    pool = urllib3.HTTPSConnectionPool(
        address, network.https_port, server_hostname=host, assert_hostname=host,
        cert_reqs="CERT_REQUIRED", ca_certs=str(network.ca_file) if network.ca_file else None,
        timeout=urllib3.Timeout(network.timeout), retries=False)
    try:
        response = pool.request("GET", path, redirect=False, preload_content=False,
                                headers={"Host": host, "Accept": "application/xml, text/xml",
                                         "User-Agent": "Heard"})
        try:
            body = response.read(MAX_CONFIG + 1)
        finally:
            response.release_conn()
    except urllib3.exceptions.SSLError:
        return 0, b"its certificate is not trusted"
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        log.debug("autoconfig %s: %s", host, exc)
        return 0, b"cannot be reached"
    finally:
        pool.close()
    if len(body) > MAX_CONFIG:
        return 0, b"too large to be a mail configuration"
    return response.status, body


_SOCKETS = {"SSL": "tls", "STARTTLS": "starttls"}


def parse_autoconfig(body: bytes, address: str
                     ) -> tuple[Server, Server | None, str, SignIn] | None:
    """The IMAP server (the first with TLS, implicit TLS preferred), the SMTP server, the
    login name and the sign-in of a config-v1.1.xml; None when it has no usable IMAP."""
    from defusedxml import ElementTree  # type: ignore[import-untyped]
    from defusedxml.common import DefusedXmlException  # type: ignore[import-untyped]

    try:
        root = ElementTree.fromstring(body)
    except (ElementTree.ParseError, DefusedXmlException, ValueError) as exc:
        log.info("autoconfig: not readable (%s)", exc)
        return None
    provider = root.find("emailProvider")
    if provider is None:
        return None
    local, _, domain = address.rpartition("@")

    def fill(text: str) -> str:
        return (text.replace("%EMAILADDRESS%", address).replace("%EMAILLOCALPART%", local)
                .replace("%EMAILDOMAIN%", domain))

    def servers(tag: str, kind: str) -> list[tuple[Server, str, set[str]]]:
        found = []
        for element in provider.iterfind(tag):
            if element.get("type") != kind:
                continue
            host = (element.findtext("hostname") or "").strip()
            socket = (element.findtext("socketType") or "").strip().upper()
            try:
                port = int((element.findtext("port") or "").strip())
            except ValueError:
                continue
            if not host or socket not in _SOCKETS or not 0 < port < 65536:
                continue
            auths = {(a.text or "").strip() for a in element.iterfind("authentication")}
            found.append((Server(fill(host), port, _SOCKETS[socket]),
                          fill((element.findtext("username") or "%EMAILADDRESS%").strip()),
                          auths))
        # implicit TLS first, then the file's order
        return sorted(found, key=lambda f: f[0].security != "tls")

    imap = servers("incomingServer", "imap")
    if not imap:
        return None
    smtp = servers("outgoingServer", "smtp")
    server, username, auths = imap[0]
    sign_in = SignIn.OAUTH2 if auths and auths <= {"OAuth2"} else SignIn.PASSWORD
    return server, smtp[0][0] if smtp else None, username, sign_in


# -- DNS -------------------------------------------------------------------------------------


def _resolver(network: Network) -> Any:
    import dns.resolver

    resolver = dns.resolver.Resolver(configure=not network.nameserver)
    if network.nameserver:
        resolver.nameservers = [network.nameserver]
        resolver.port = network.dns_port
    resolver.lifetime = network.timeout
    return resolver


def _query(network: Network, name: str, kind: str) -> list[Any]:
    """The records of `name`; none when the name or the records do not exist or the DNS
    cannot be asked (logged)."""
    import dns.exception
    import dns.resolver

    try:
        return list(_resolver(network).resolve(name, kind, search=False))
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except (dns.exception.DNSException, OSError) as exc:
        log.info("DNS %s %s: %s", kind, name, exc)
        return []


def _best_srv(network: Network, name: str) -> tuple[str, int] | None:
    """The preferred target of an SRV record (lowest priority, then highest weight);
    None when there is none or the service is declared absent (target ".")."""
    records = sorted(_query(network, name, "SRV"), key=lambda r: (r.priority, -r.weight))
    if not records:
        return None
    best = records[0]
    target = str(best.target).rstrip(".")
    if not target or best.port == 0:
        return None
    return target, int(best.port)


def _srv(address: str, domain: str, network: Network, tried: list[str]
         ) -> Discovered | None:
    imap = None
    for service, security in (("_imaps._tcp", "tls"), ("_imap._tcp", "starttls")):
        found = _best_srv(network, f"{service}.{domain}")
        if found is not None:
            imap = Server(found[0], found[1], security)
            break
    if imap is None:
        tried.append(f"SRV records of {domain}: no _imaps._tcp or _imap._tcp")
        return None
    smtp = None
    for service, security in (("_submissions._tcp", "tls"), ("_submission._tcp",
                                                              "starttls")):
        found = _best_srv(network, f"{service}.{domain}")
        if found is not None:
            smtp = Server(found[0], found[1], security)
            break
    return Discovered(address, Source.SRV, f"the SRV records of {domain} (RFC 6186)", imap,
                      smtp, address)


def _caldav_srv(domain: str, network: Network) -> str:
    """The CalDAV address of RFC 6764 (_caldavs._tcp and its TXT path), or ""."""
    found = _best_srv(network, f"_caldavs._tcp.{domain}")
    if found is None:
        return ""
    path = "/.well-known/caldav"
    for record in _query(network, f"_caldavs._tcp.{domain}", "TXT"):
        text = b"".join(record.strings).decode("utf-8", "replace")
        if text.startswith("path=/"):
            path = text[len("path="):]
    port = "" if found[1] == 443 else f":{found[1]}"
    return f"https://{found[0]}{port}{path}"


def _mx(address: str, domain: str, network: Network, tried: list[str]) -> Discovered | None:
    records = sorted(_query(network, domain, "MX"), key=lambda r: r.preference)
    hosts = [str(r.exchange).rstrip(".") for r in records]
    provider = by_mx(hosts)
    if provider is None:
        tried.append(f"MX records of {domain}: " + (", ".join(hosts[:3]) if hosts else "none")
                     + (" (no provider Heard knows)" if hosts else ""))
        return None
    return _from_provider(address, provider, Source.MX,
                          f"the MX records of {domain} ({hosts[0]}): {provider.name}"
                          " receives its mail")
