"""How Heard logs in to the user's servers: the account's settings turned into the plain
values the adapters take, and passwords from the keyring (the only place they live)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from heard.config import Account, CalendarSource, ImapAccount

if TYPE_CHECKING:
    from heard.mail.imap import Connection, ServerSettings

log = logging.getLogger(__name__)


def imap_server(account: ImapAccount) -> ServerSettings:
    from heard.mail.imap import Security, ServerSettings

    return ServerSettings(account.host, account.port, Security(account.security),
                          account.username, account.ca_file)


def imap_password(account: ImapAccount) -> str:
    # The keyring library costs ~40 ms: not on the tray's start-up path.
    from heard.mail.imap import ImapError, Problem
    from heard.system import secrets

    try:
        password = secrets.get_password(account.keyring_name)
    except secrets.SecretsUnavailable as exc:
        raise ImapError(Problem.AUTH, str(exc)) from exc
    if password is None:
        raise ImapError(Problem.AUTH, (
            f"no password for {account.username}@{account.host} in the keyring; store it"
            f" with `heard account password {account.name}`"))
    return password


def open_imap(account: ImapAccount) -> Connection:
    """A new logged-in connection (only an account's worker keeps one)."""
    from heard.mail.imap import connect

    return connect(imap_server(account), imap_password(account))


def smtp_password(account: Account) -> str | None:
    """The SMTP password: its own keyring entry, else the IMAP one for the same login."""
    from heard.system import secrets

    assert account.smtp is not None
    password = secrets.get_password(account.smtp.keyring_name)
    if password is None and isinstance(account, ImapAccount) \
            and account.smtp.username == account.username:
        password = secrets.get_password(account.keyring_name)
    return password


def caldav_password(calendar: CalendarSource) -> str | None:
    """A CalDAV account's password; None (logged) when the keyring cannot be reached."""
    if calendar.kind != "caldav":
        return None
    from heard.system import secrets

    try:
        return secrets.get_password(calendar.keyring_name)
    except secrets.SecretsUnavailable as exc:
        log.warning("calendar %s: %s", calendar.name, exc)
        return None
