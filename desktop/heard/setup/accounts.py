"""Setting accounts up, the same way for `heard account` and the settings window: an
entry is checked as heard.toml would load it, its passwords go to the keyring, it is tried
(a login, a read) and only then written. Nothing here talks to the user: a failure is a
SetupError that says what failed, and each face puts it into its own words.

The keyring, IMAP, SMTP and CalDAV libraries are imported where they are used: every
command line and the settings window load this module, few of them set anything up.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tomlkit

from heard.calendar import READ_AHEAD
from heard.config import (
    Account,
    CalendarSource,
    ConfigError,
    ConfigFile,
    ImapAccount,
    Settings,
    passwords,
    settings_from,
)
from heard.config.editing import SettingsFile, append_entry, replace_entry
from heard.errors import HeardError

if TYPE_CHECKING:
    from heard.calendar.caldav_source import CalendarInfo

log = logging.getLogger(__name__)



# -- what can go wrong ---------------------------------------------------------------------


class Part(StrEnum):
    """The part of an account that failed when it was tried."""

    IMAP = "imap"            # receiving mail from a server
    MAILDIR = "maildir"      # receiving mail from folders on this computer
    SMTP = "smtp"            # sending replies
    CALENDAR = "calendar"    # reading a calendar, or finding a CalDAV account's calendars


@dataclass(frozen=True)
class FieldProblem:
    """One problem the file's checks found, and the key of the entry it is about."""

    field: str | None    # "host", "smtp_port", ...; None when it is not one key's
    text: str            # what is wrong and the fix, without the key
    raw: str             # as the file's checks put it: "accounts[0].host: ..."


class SetupError(HeardError):
    """An account or calendar cannot be set up as it is; `account` is its name."""

    def __init__(self, account: str, detail: str) -> None:
        super().__init__(f"{account}: {detail}")
        self.account = account


class InvalidEntry(SetupError):
    """The entry as typed breaks the file's rules; each problem names its field."""

    def __init__(self, account: str, problems: Sequence[FieldProblem]) -> None:
        super().__init__(account, "; ".join(p.raw for p in problems))
        self.problems = tuple(problems)


class KeyringUnavailable(SetupError):
    """A password could not be stored; `problem` is the keyring's reason and fix."""

    def __init__(self, account: str, problem: str) -> None:
        super().__init__(account, problem)
        self.problem = problem


class PasswordNeeded(SetupError):
    """No password was given and the keyring has none."""

    def __init__(self, account: str) -> None:
        super().__init__(account, "no password")


class AccountProblem(SetupError):
    """Trying the account failed: `part` says where, `problem` why (in plain words)."""

    def __init__(self, account: str, part: Part, problem: str) -> None:
        super().__init__(account, f"{part}: {problem}")
        self.part = part
        self.problem = problem


class CalendarsNotFound(SetupError):
    """The CalDAV account lacks calendars asked for by name (`missing`), or has none that
    count; `found` names those it has."""

    def __init__(self, account: str, missing: Iterable[str], found: Iterable[str]) -> None:
        self.missing = tuple(sorted(missing))
        self.found = tuple(found)
        super().__init__(account, f"missing {self.missing}, found {self.found}")


class UnknownAccount(SetupError):
    """heard.toml has no account or calendar by this name."""

    def __init__(self, account: str) -> None:
        super().__init__(account, "not in the settings file")


# -- the entry -----------------------------------------------------------------------------


def field_problems(problems: Iterable[str], array: str) -> tuple[FieldProblem, ...]:
    """The file's problems, each with the key of an [[array]] entry it names (if any)."""
    found = []
    for problem in problems:
        where, _, text = problem.partition(": ")
        key = where.split(".", 1)[1] if where.startswith(f"{array}[") and "." in where \
            else None
        found.append(FieldProblem(key, text, problem))
    return tuple(found)


def _alone(entry: Mapping[str, Any], config: Path, array: str) -> Settings:
    """The settings of a file holding only `entry` in [[array]]; InvalidEntry names each
    bad field."""
    try:
        return settings_from({array: [dict(entry)]}, config)
    except ConfigError as exc:
        raise InvalidEntry(str(entry.get("name", "")), field_problems(exc.problems, array)
                           ) from exc


def parse_account(entry: Mapping[str, Any], config: Path) -> Account:
    """The account as heard.toml would load it (`config` is its path, for relative
    paths); InvalidEntry names each bad field."""
    (account,) = _alone(entry, config, "accounts").accounts
    return account


def parse_calendar(entry: Mapping[str, Any], config: Path) -> CalendarSource:
    (calendar,) = _alone(entry, config, "calendars").calendars
    return calendar


# -- passwords -----------------------------------------------------------------------------


def keyring_problem() -> str | None:
    """None when passwords can be kept, else why not and how to get a keyring. Blocks (an
    unlock prompt may wait for the user): off the GUI thread."""
    from heard.system import secrets

    return secrets.check()


def store_password(account: str, keyring_name: str, password: str) -> None:
    """`password` becomes the keyring's entry `keyring_name` (one of `account`'s); an empty
    one is PasswordNeeded."""
    from heard.system import secrets

    if not password:
        raise PasswordNeeded(account)
    try:
        secrets.store_password(keyring_name, password)
    except secrets.SecretsUnavailable as exc:
        raise KeyringUnavailable(account, str(exc)) from exc


def store_mail_passwords(account: Account, password: str, smtp_password: str) -> None:
    """The passwords typed for a mail account; "" leaves the keyring's as it is. The SMTP
    one is kept only for a server that logs in."""
    if isinstance(account, ImapAccount) and password:
        store_password(account.name, account.keyring_name, password)
    if account.smtp is not None and account.smtp.username and smtp_password:
        store_password(account.name, account.smtp.keyring_name, smtp_password)


def _stored(account: str, keyring_name: str, part: Part) -> str | None:
    """A password the keyring holds; a keyring that cannot be read fails `part`."""
    from heard.system import secrets

    try:
        return secrets.get_password(keyring_name)
    except secrets.SecretsUnavailable as exc:
        raise AccountProblem(account, part, str(exc)) from exc


def _calendar_password(calendar: CalendarSource) -> str | None:
    """As the tray reads it: a keyring that cannot be read has no password either."""
    from heard.system import secrets

    try:
        return passwords.caldav_password(calendar)
    except secrets.SecretsUnavailable as exc:
        log.warning("calendar %s: %s", calendar.name, exc)
        return None


def forget_passwords(names: Iterable[str]) -> dict[str, str]:
    """Remove keyring entries; those that could not be removed, with the keyring's
    reason. Blocks: off the GUI thread."""
    from heard.system import secrets

    kept = {}
    for name in names:
        try:
            secrets.delete_password(name)
        except secrets.SecretsUnavailable as exc:
            kept[name] = str(exc)
    return kept


# -- trying an account ---------------------------------------------------------------------


@dataclass(frozen=True)
class MailReport:
    """A mail account that works, and what is worth knowing about it (no IDLE, ...)."""

    notes: tuple[str, ...] = ()
    push: bool = False


def try_mail(account: Account) -> MailReport:
    """Log in once and look for the folders (IMAP), or look at the folders (Maildir).
    AccountProblem says what is wrong. Blocks."""
    if not isinstance(account, ImapAccount):
        from heard.mail.maildir import Maildir

        missing = [str(f) for f in (account.inbox, account.sent, account.outbox)
                   if f is not None and not Maildir(f).exists()]
        if missing:
            raise AccountProblem(account.name, Part.MAILDIR, "not a Maildir (it needs new/,"
                                 f" cur/ and tmp/): {', '.join(missing)}")
        return MailReport()
    from heard.mail.imap import ImapError, Security, ServerSettings
    from heard.mail.imap.probe import probe

    password = _stored(account.name, account.keyring_name, Part.IMAP)
    if password is None:
        raise AccountProblem(account.name, Part.IMAP, passwords.missing(account))
    server = ServerSettings(account.host, account.port, Security(account.security),
                            account.username, account.ca_file)
    try:
        found = probe(server, password, account.folders, account.sent_folder,
                      account.poll_every)
    except ImapError as exc:
        raise AccountProblem(account.name, Part.IMAP, exc.message) from exc
    if not found.usable:
        raise AccountProblem(account.name, Part.IMAP, "; ".join(found.notes))
    return MailReport(found.notes, found.idle)


def try_smtp(account: Account) -> None:
    """Log in to the account's SMTP server, sending nothing; AccountProblem if that fails.
    Blocks."""
    from heard.mail.smtp import SmtpTransport
    from heard.mail.transport import SendError

    smtp = account.smtp
    if smtp is None:
        raise AccountProblem(account.name, Part.SMTP, f"{account.name} has no SMTP server")

    try:
        # A keyring that cannot be read is the transport's to tell.
        SmtpTransport(account.name, smtp, lambda: passwords.smtp_password(account)).test()
    except SendError as exc:
        raise AccountProblem(account.name, Part.SMTP, exc.problem) from exc


def try_calendar(calendar: CalendarSource, zone: tzinfo, now: datetime) -> None:
    """Read the calendar once, from `now` on; a remote one is read into a copy of its own
    that is thrown away (a test never touches the tray's copy while it refreshes it).
    AccountProblem says what is wrong: the server's answer, or the first few events that
    cannot be read. Blocks."""
    from heard.calendar.caldav_source import CalendarUnavailable

    try:
        if calendar.kind == "ics":
            from heard.calendar.ics import busy_intervals

            assert calendar.path is not None
            _found, errors = busy_intervals(calendar.path, now, now + READ_AHEAD, zone)
            problems = [str(e) for e in errors]
        else:
            with tempfile.TemporaryDirectory(prefix="heard-calendar-test-") as copy:
                problems = _read_remote(calendar, Path(copy), zone, now)
    except CalendarUnavailable as exc:
        raise AccountProblem(calendar.name, Part.CALENDAR, exc.problem) from exc
    except ValueError as exc:   # a file that is not there, or not a calendar
        raise AccountProblem(calendar.name, Part.CALENDAR,
                             str(exc) or "the calendar cannot be read") from exc
    if problems:
        raise AccountProblem(calendar.name, Part.CALENDAR, "; ".join(problems[:3]))


def _read_remote(calendar: CalendarSource, copy: Path, zone: tzinfo, now: datetime
                 ) -> list[str]:
    """Download the calendar into `copy`; the problems of its events."""
    from heard.calendar.caldav_source import (
        CalDavCache,
        CalendarUnavailable,
        connect,
        sync_all,
    )
    from heard.calendar.subscription import Subscription

    end = now + READ_AHEAD
    if calendar.kind == "url":
        feed = Subscription(calendar.url, copy / "feed.ics", calendar.ca_file)
        feed.refresh()
        return feed.busy_intervals(now, end, zone)[1]
    password = _calendar_password(calendar)
    if password is None:
        raise CalendarUnavailable(passwords.missing(calendar))
    caches = [(url, CalDavCache(copy / str(i))) for i, url in enumerate(calendar.calendars)]
    with connect(calendar.url, calendar.username, password, calendar.ca_file) as client:
        sync_all(client, caches)
    return [p for _url, cache in caches for p in cache.busy_intervals(now, end, zone)[1]]


def discover_calendars(calendar: CalendarSource, password: str) -> list[CalendarInfo]:
    """The calendars of events a CalDAV account can read; AccountProblem when the server
    cannot be asked. Blocks."""
    from heard.calendar.caldav_source import CalendarUnavailable, discover

    try:
        return discover(calendar.url, calendar.username, password, calendar.ca_file)
    except CalendarUnavailable as exc:
        raise AccountProblem(calendar.name, Part.CALENDAR, exc.problem) from exc


def choose_calendars(calendar: CalendarSource, found: Sequence[CalendarInfo],
                     wanted: Iterable[str]) -> list[CalendarInfo]:
    """The found calendars named in `wanted` (any case), or all of them when it is empty;
    CalendarsNotFound when a name is not there, or nothing is."""
    names = {w.lower() for w in wanted}
    chosen = [c for c in found if not names or c.name.lower() in names]
    missing = names - {c.name.lower() for c in found}
    if missing or not chosen:
        raise CalendarsNotFound(calendar.name, missing, [c.name for c in found])
    return chosen


# -- what a form's Test button does --------------------------------------------------------


@dataclass(frozen=True)
class Checked:
    """A tried entry: what to write, and anything worth knowing (no IDLE, ...)."""

    entry: dict[str, Any]
    notes: str = ""
    calendars: tuple[tuple[str, str], ...] = ()   # CalDAV: (name, url) found on the server


def check_mail(entry: Mapping[str, Any], config: Path, password: str,
               smtp_password: str) -> Checked:
    """The typed passwords to the keyring, then a login (IMAP, then SMTP); writes no
    file. Blocks."""
    account = parse_account(entry, config)
    store_mail_passwords(account, password, smtp_password)
    report = try_mail(account)
    if account.smtp is not None:
        try_smtp(account)
    return Checked(dict(entry), "; ".join(report.notes))


def check_calendar(entry: Mapping[str, Any], config: Path, password: str, zone: tzinfo,
                   now: datetime) -> Checked:
    """A CalDAV account's calendars (the typed password to the keyring first, else the
    keyring's), or an .ics file, folder or subscription read once. Blocks."""
    calendar = parse_calendar(entry, config)
    if calendar.kind != "caldav":
        try_calendar(calendar, zone, now)
        return Checked(dict(entry))
    if password:
        store_password(calendar.name, calendar.keyring_name, password)
    else:
        password = _stored(calendar.name, calendar.keyring_name, Part.CALENDAR) or ""
        if not password:
            raise PasswordNeeded(calendar.name)
    found = discover_calendars(calendar, password)
    if not found:
        raise CalendarsNotFound(calendar.name, (), ())
    return Checked(dict(entry), calendars=tuple((c.name, c.url) for c in found))


def check_folder(path: Path, *, create: bool = False) -> None:
    """A Maildir folder is there (made first with `create`); OSError names the folder
    and what is wrong."""
    from heard.mail.maildir import Maildir

    if create:
        Maildir(path).create()
    Maildir(path).check()


# -- heard.toml ----------------------------------------------------------------------------


def raw_entries(config: Path, array: str) -> list[dict[str, Any]]:
    """The [[array]] tables as written (not as defaulted), for editing."""
    if not config.exists():
        return []
    try:
        data = tomlkit.parse(config.read_text(encoding="utf-8")).unwrap()
    except Exception:  # a broken file: its load problem is reported where it is loaded
        return []
    value = data.get(array, [])
    return [dict(t) for t in value if isinstance(t, dict)] if isinstance(value, list) else []


def save_entry(config: Path, array: str, entry: Mapping[str, Any],
               replacing: str | None = None) -> None:
    """`entry` joins [[array]], or takes the place of the one named `replacing` (keeping
    its position and comments), in one validated write: ConfigError names every problem
    and the file stays as it was."""
    edit = replace_entry(array, replacing, entry) if replacing else append_entry(array, entry)
    SettingsFile(config).save([], edits=[edit])


def remove_entry(config: Path, settings: Settings, name: str) -> list[str]:
    """Take the account (or else the calendar) `name` out of heard.toml; `settings` are
    the file's as loaded. Returns the keyring entries no other account or calendar uses,
    for forget_passwords. UnknownAccount when there is none by that name."""
    sources: list[Account | CalendarSource] = [*settings.accounts, *settings.calendars]
    removed = next((s for s in sources if s.name == name), None)
    arrays = (("accounts", "calendars") if removed is None else
              ("calendars",) if isinstance(removed, CalendarSource) else ("accounts",))
    file = ConfigFile(config)
    if not any(file.remove(array, name) for array in arrays):
        raise UnknownAccount(name)
    if removed is None:   # written meanwhile: its passwords are not known here
        return []
    in_use = {n for s in sources if s is not removed for n in passwords.entries(s)}
    return [n for n in dict.fromkeys(passwords.entries(removed)) if n not in in_use]
