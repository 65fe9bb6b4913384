"""Where an account's passwords are kept, and how they are found: only in the keyring
(heard.system.secrets), under the entry each account names. The IMAP login has its own; the
SMTP login its own, else the IMAP one when it logs in as the same user; a CalDAV account
its own. The tray, `heard sync` and account setup all find them here.

An entry is named for the login (`imap:user@host`), not for the account: two accounts
that log in as the same user on the same server share one entry, so one password. Account
setup (heard.setup.accounts) says so when it happens (`sharing`), and never replaces the
password they share with one that has not logged in."""

from __future__ import annotations

from collections.abc import Iterable

from heard.config.settings import Account, CalendarSource, ImapAccount


def imap_password(account: ImapAccount) -> str | None:
    """None when the keyring has none (SecretsUnavailable when it cannot be read)."""
    from heard.system import secrets  # ~40 ms: not on the tray's start-up path

    return secrets.get_password(account.keyring_name)


def smtp_password(account: Account) -> str | None:
    from heard.system import secrets

    assert account.smtp is not None
    password = secrets.get_password(account.smtp.keyring_name)
    if password is None and isinstance(account, ImapAccount) \
            and account.smtp.username == account.username:
        password = secrets.get_password(account.keyring_name)
    return password


def caldav_password(calendar: CalendarSource) -> str | None:
    from heard.system import secrets

    return secrets.get_password(calendar.keyring_name)


def missing(source: ImapAccount | CalendarSource) -> str:
    """What to say when the keyring holds no password for `source`, and how to fix it."""
    where = f"{source.username}@{source.host}" if isinstance(source, ImapAccount) \
        else source.username
    return (f"no password for {where} in the keyring; store it with"
            f" `heard account password {source.name}`")


def entries(source: Account | CalendarSource) -> list[str]:
    """The keyring entries a source logs in with."""
    if isinstance(source, CalendarSource):
        return [source.keyring_name] if source.kind == "caldav" else []
    names = [source.keyring_name] if isinstance(source, ImapAccount) else []
    return names + ([source.smtp.keyring_name] if source.smtp is not None else [])


def sharing(entry: str, sources: Iterable[Account | CalendarSource], but: str = ""
            ) -> list[str]:
    """The names of the accounts and calendars (other than `but`) that log in with the
    keyring entry `entry`."""
    return [s.name for s in sources if s.name != but and entry in entries(s)]
