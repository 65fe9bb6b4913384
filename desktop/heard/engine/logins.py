"""How Heard logs in to the user's servers: the account's settings turned into the plain
values the adapters take, and passwords from the keyring (the only place they live)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from heard.config import Account, CalendarSource, ImapAccount, passwords

if TYPE_CHECKING:
    from heard.mail.imap import Connection, ServerSettings

log = logging.getLogger(__name__)


def imap_server(account: ImapAccount) -> ServerSettings:
    from heard.mail.imap import Security, ServerSettings

    return ServerSettings(account.host, account.port, Security(account.security),
                          account.username, account.ca_file)


def imap_password(account: ImapAccount) -> str:
    from heard.mail.imap import ImapError, Problem
    from heard.system import secrets

    try:
        password = passwords.imap_password(account)
    except secrets.SecretsUnavailable as exc:
        raise ImapError(Problem.AUTH, str(exc)) from exc
    if password is None:
        raise ImapError(Problem.AUTH, passwords.missing(account))
    return password


def open_imap(account: ImapAccount) -> Connection:
    """A new logged-in connection (only an account's worker keeps one)."""
    from heard.mail.imap import connect

    return connect(imap_server(account), imap_password(account))


def smtp_password(account: Account) -> str | None:
    return passwords.smtp_password(account)


def caldav_password(calendar: CalendarSource) -> str | None:
    """A CalDAV account's password; None (logged) when the keyring cannot be reached."""
    if calendar.kind != "caldav":
        return None
    from heard.system import secrets

    try:
        return passwords.caldav_password(calendar)
    except secrets.SecretsUnavailable as exc:
        log.warning("calendar %s: %s", calendar.name, exc)
        return None
