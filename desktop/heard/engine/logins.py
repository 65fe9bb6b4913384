"""How Heard logs in to the user's servers: the account's settings turned into the plain
values the adapters take, and passwords from the keyring (the only place they live)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from heard.config import Account, CalendarSource, ImapAccount, passwords

if TYPE_CHECKING:
    from heard.mail.imap import Connection, ServerSettings
    from heard.mail.oauth import Bearer

log = logging.getLogger(__name__)


def imap_server(account: ImapAccount) -> ServerSettings:
    from heard.mail.imap import Security, ServerSettings

    return ServerSettings(account.host, account.port, Security(account.security),
                          account.username, account.ca_file)


def imap_password(account: ImapAccount) -> str | Bearer:
    """The password from the keyring, or with oauth2 a valid access token (ImapError AUTH
    with the words to say when there is none: no password, sign in again)."""
    from heard.mail.imap import ImapError, Problem
    from heard.system import secrets

    if account.auth == "oauth2":
        return bearer(account)

    try:
        password = passwords.imap_password(account)
    except secrets.SecretsUnavailable as exc:
        raise ImapError(Problem.AUTH, str(exc)) from exc
    if password is None:
        raise ImapError(Problem.AUTH, passwords.missing(account))
    return password


def open_imap(account: ImapAccount) -> Connection:
    """A new logged-in connection (only an account's worker keeps one). An access token
    the server refuses is asked for again, fresh, once (it may have been revoked early;
    a revoked grant then says "sign in again")."""
    from heard.mail.imap import ImapError, Problem, connect

    try:
        return connect(imap_server(account), imap_password(account))
    except ImapError as exc:
        if account.auth != "oauth2" or exc.problem is not Problem.AUTH:
            raise
    return connect(imap_server(account), bearer(account, fresh=True))


def bearer(account: ImapAccount | CalendarSource, fresh: bool = False) -> Bearer:
    """An access token for an oauth2 account's login; ImapError(AUTH) when there is
    none, saying to sign in again when that is what it takes (heard.mail.oauth)."""
    from heard.mail import oauth

    assert account.oauth is not None, "an oauth2 source carries its provider"
    return oauth.bearer(account.keyring_name, account.oauth, account.username,
                        account.name, fresh)


def smtp_password(account: Account) -> str | Bearer | None:
    """The SMTP login's password, or an oauth2 account's access token (its grant covers
    sending too)."""
    if isinstance(account, ImapAccount) and account.auth == "oauth2":
        return bearer(account)
    return passwords.smtp_password(account)


def caldav_password(calendar: CalendarSource) -> str | Bearer | None:
    """A CalDAV account's password, or with oauth2 an access token of the sign-in it
    shares with its mail account; None (logged) when there is none to be had."""
    if calendar.kind != "caldav":
        return None
    from heard.system import secrets

    if calendar.auth == "oauth2" and calendar.oauth is not None:
        from heard.mail.imap import ImapError

        try:
            return bearer(calendar)
        except ImapError as exc:
            log.warning("calendar %s: %s", calendar.name, exc.message)
            return None

    try:
        return passwords.caldav_password(calendar)
    except secrets.SecretsUnavailable as exc:
        log.warning("calendar %s: %s", calendar.name, exc)
        return None
