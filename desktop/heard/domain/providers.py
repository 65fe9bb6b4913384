"""What Heard knows of the big mail providers, as data: their servers, how one signs in
(OAuth2, an app password, or the account's own password), where an app password is made,
and the MX hosts by which a custom domain they host is recognised. Discovery
(heard.setup.discover) reads it first, before asking the domain itself.

Pure data and lookups: no I/O. The servers are the providers' published ones (checked
December 2026): Microsoft's "POP, IMAP, and SMTP settings for Outlook.com" and Exchange
Online's; Google's "Read Gmail messages on other email clients using IMAP"; Apple's
"iCloud Mail server settings"; Fastmail's "Server names and ports"; Yahoo's "IMAP server
settings".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class SignIn(StrEnum):
    """How a mail account proves who it is."""

    PASSWORD = "password"           # the account's own password (most hosts, autoconfig)
    APP_PASSWORD = "app_password"   # a password made for Heard alone at the provider's site
    OAUTH2 = "oauth2"               # a sign-in in the browser (XOAUTH2 for IMAP and SMTP)


@dataclass(frozen=True)
class Server:
    """A mail server as heard.toml writes it: `security` is "tls", "starttls" or "plain"."""

    host: str
    port: int
    security: str


@dataclass(frozen=True)
class Provider:
    key: str                        # "microsoft", "google", ... (the OAuth2 provider's name)
    name: str                       # as the user knows it
    domains: frozenset[str]         # its own address domains (gmail.com, ...)
    mx_suffixes: tuple[str, ...]    # MX hosts of domains it hosts end with one of these
    imap: Server
    smtp: Server
    sign_in: SignIn
    app_password_url: str = ""      # where an app password is made (SignIn.APP_PASSWORD,
                                    # or as the fallback an OAuth2 provider may allow)
    caldav: str = ""                # its CalDAV server ("" = none)
    calendar: str = ""              # "caldav", "graph" (Microsoft Graph) or "" (none)
    sent_copy: str = "append"       # "server": it files sent mail itself (Gmail)
    note: str = ""                  # what the user should expect, in a sentence

    @property
    def oauth2(self) -> bool:
        return self.sign_in is SignIn.OAUTH2


MICROSOFT = Provider(
    key="microsoft", name="Microsoft 365 / Outlook.com",
    domains=frozenset({"outlook.com", "hotmail.com", "live.com", "msn.com", "outlook.de",
                       "outlook.fr", "outlook.es", "outlook.it", "hotmail.co.uk",
                       "hotmail.de", "hotmail.fr", "hotmail.it", "live.co.uk", "live.de",
                       "live.fr", "passport.com"}),
    mx_suffixes=(".mail.protection.outlook.com", ".olc.protection.outlook.com"),
    imap=Server("outlook.office365.com", 993, "tls"),
    smtp=Server("smtp.office365.com", 587, "starttls"),
    sign_in=SignIn.OAUTH2, calendar="graph",
    note="Microsoft has switched password sign-in off for IMAP and SMTP: sign in with"
         " Microsoft in the browser; an organisation's administrator may have to consent"
         " to Heard first (Entra ID)")
GOOGLE = Provider(
    key="google", name="Google (Gmail, Google Workspace)",
    domains=frozenset({"gmail.com", "googlemail.com"}),
    mx_suffixes=(".google.com", ".googlemail.com"),
    imap=Server("imap.gmail.com", 993, "tls"),
    smtp=Server("smtp.gmail.com", 465, "tls"),
    sign_in=SignIn.OAUTH2,
    app_password_url="https://myaccount.google.com/apppasswords",
    caldav="https://apidata.googleusercontent.com/caldav/v2/", calendar="caldav",
    sent_copy="server",
    note="sign in with Google in the browser; an app password also works where your"
         " administrator allows them (2-Step Verification on)")
ICLOUD = Provider(
    key="icloud", name="iCloud Mail",
    domains=frozenset({"icloud.com", "me.com", "mac.com"}),
    mx_suffixes=(".mail.icloud.com",),
    imap=Server("imap.mail.me.com", 993, "tls"),
    smtp=Server("smtp.mail.me.com", 587, "starttls"),
    sign_in=SignIn.APP_PASSWORD,
    app_password_url="https://account.apple.com/account/manage",
    caldav="https://caldav.icloud.com/", calendar="caldav",
    note="iCloud takes an app-specific password, not your Apple Account password: make"
         " one under Sign-In and Security, App-Specific Passwords")
FASTMAIL = Provider(
    key="fastmail", name="Fastmail",
    domains=frozenset({"fastmail.com", "fastmail.fm", "fastmail.net", "fastmail.org",
                       "fastmail.to", "fastmail.us", "sent.com", "messagingengine.com"}),
    mx_suffixes=(".messagingengine.com",),
    imap=Server("imap.fastmail.com", 993, "tls"),
    smtp=Server("smtp.fastmail.com", 465, "tls"),
    sign_in=SignIn.APP_PASSWORD,
    app_password_url="https://app.fastmail.com/settings/security/apps",
    caldav="https://caldav.fastmail.com/", calendar="caldav",
    note="Fastmail takes an app password with IMAP, SMTP and CalDAV access: make one"
         " under Settings, Privacy & Security, Manage app passwords")
YAHOO = Provider(
    key="yahoo", name="Yahoo Mail",
    domains=frozenset({"yahoo.com", "ymail.com", "rocketmail.com", "yahoo.co.uk",
                       "yahoo.de", "yahoo.fr", "yahoo.es", "yahoo.it", "yahoo.ca",
                       "yahoo.com.au", "yahoo.co.in", "yahoo.co.jp"}),
    mx_suffixes=(".yahoodns.net",),
    imap=Server("imap.mail.yahoo.com", 993, "tls"),
    smtp=Server("smtp.mail.yahoo.com", 465, "tls"),
    sign_in=SignIn.APP_PASSWORD,
    app_password_url="https://login.yahoo.com/account/security",
    caldav="https://caldav.calendar.yahoo.com/", calendar="caldav",
    note="Yahoo takes an app password: make one under Account Security, Generate app"
         " password")

PROVIDERS: tuple[Provider, ...] = (MICROSOFT, GOOGLE, ICLOUD, FASTMAIL, YAHOO)


def domain_of(address: str) -> str:
    """The domain of an address, lower case, without a trailing dot ("" if it has none)."""
    local, at, domain = address.strip().rpartition("@")
    return domain.strip().rstrip(".").lower() if at and local else ""


def by_domain(domain: str) -> Provider | None:
    """The provider whose own addresses end in `domain` (gmail.com, outlook.com, ...)."""
    domain = domain.lower().rstrip(".")
    return next((p for p in PROVIDERS if domain in p.domains), None)


def by_mx(hosts: Iterable[str]) -> Provider | None:
    """The provider that receives a domain's mail, from its MX hosts (a custom domain on
    Microsoft 365 has `*.mail.protection.outlook.com`, one on Google Workspace
    `aspmx.l.google.com`); the first host that names one wins (they are in preference
    order)."""
    for host in hosts:
        host = "." + host.lower().rstrip(".")
        for provider in PROVIDERS:
            if any(host.endswith(suffix) for suffix in provider.mx_suffixes):
                return provider
    return None


def by_host(host: str) -> Provider | None:
    """The provider whose IMAP or SMTP server `host` is (for an account already set up)."""
    host = host.lower().rstrip(".")
    return next((p for p in PROVIDERS if host in (p.imap.host, p.smtp.host)
                 or any(("." + host).endswith(s) for s in p.mx_suffixes)), None)
