"""Setting accounts up, the same way for `heard account` and the settings window: an
entry is checked as heard.toml would load it, it is tried (a login, a read) with the
passwords as typed, and only then are they kept in the keyring and the entry written. A
failed step changes nothing that works: a password that did not log in is never stored,
and one that did never replaces the working password of another account that logs in as
the same user on the same server (they share one keyring entry: `keep_password`). Nothing
here talks to the user: a failure is a SetupError that says what failed, and each face
puts it into its own words.

The keyring, IMAP, SMTP and CalDAV libraries are imported where they are used: every
command line and the settings window load this module, few of them set anything up.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
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
    MaildirAccount,
    Settings,
    load,
    passwords,
    settings_from,
)
from heard.config.editing import SettingsFile, append_entry, replace_entry
from heard.errors import HeardError

if TYPE_CHECKING:
    from heard.calendar.caldav_source import CalendarInfo
    from heard.mail.imap import ServerSettings

log = logging.getLogger(__name__)



# -- what can go wrong ---------------------------------------------------------------------


class Part(StrEnum):
    """The part of an account that failed when it was tried."""

    IMAP = "imap"            # receiving mail from a server
    MAILDIR = "maildir"      # receiving mail from folders on this computer
    SMTP = "smtp"            # sending replies
    OUTBOX = "outbox"        # delivering replies into a Maildir the local mail system sends
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
        return settings_from({array: [dict(entry)], **_oauth_tables(config)}, config)
    except ConfigError as exc:
        raise InvalidEntry(str(entry.get("name", "")), field_problems(exc.problems, array)
                           ) from exc


def _oauth_tables(config: Path) -> dict[str, Any]:
    """The file's [oauth.NAME] tables, which an entry signing in with a provider needs."""
    import tomllib

    try:
        data = tomllib.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {"oauth": data["oauth"]} if isinstance(data.get("oauth"), dict) else {}


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


def keep_password(account: str, entry: str, typed: str, others: Sequence[str],
                  works: Callable[[str], bool], tried: bool = True) -> str:
    """Keep `typed`, the password of `account`'s keyring entry `entry`, now that its login
    worked (`tried`; False: the user asked not to try it). `others` are the accounts already
    set up that log in with the same entry (passwords.sharing); `works(password)` logs in
    with a password. Returns what to tell the user ("" when there is nothing to say).

    - The keyring holds the same password, or none: it is stored (one not tried only where
      the keyring holds none: it replaces nothing).
    - It holds another that still works for `others`: kept. The new account shares it, and
      the one typed is not stored (both work; the others' must not change under them).
    - Otherwise (it no longer works, or nobody set up uses it): the one typed replaces it;
      it logged in as that very user, so it works for the others too."""
    from heard.system import secrets

    try:
        stored = secrets.get_password(entry)
    except secrets.SecretsUnavailable as exc:
        raise KeyringUnavailable(account, str(exc)) from exc
    login = entry.partition(":")[2] or entry
    names = ", ".join(repr(n) for n in others)
    if stored == typed:
        return (f"{account} logs in as {login} like {names}: they share its password in the"
                " keyring" if others else "")
    if stored is not None and not tried:
        return (f"the keyring already holds a password for {login}"
                + (f" (used by {names})" if others else "") + "; it was kept, as the one"
                " typed was not tried: `heard account password` replaces it after a login")
    if stored is not None and others and works(stored):
        return (f"{account} logs in as {login} like {names}: they share the password already"
                " in the keyring, which works (the one typed was not stored)")
    store_password(account, entry, typed)
    if stored is not None and others:
        return (f"the password in the keyring for {login} no longer logged in; the one typed"
                f" replaces it, for {names} too")
    return ""


def keep_mail_passwords(account: Account, password: str, smtp_password: str,
                        sources: Iterable[Account | CalendarSource], tried: bool = True
                        ) -> list[str]:
    """The passwords typed for a mail account, kept once they logged in (keep_password);
    "" leaves the keyring's as it is. The SMTP one is kept only for a server that logs in.
    `sources`: the accounts and calendars already set up. What to tell the user."""
    sources = list(sources)
    notes = []
    if isinstance(account, ImapAccount) and password:
        notes.append(keep_password(
            account.name, account.keyring_name, password,
            passwords.sharing(account.keyring_name, sources, account.name),
            lambda p: _imap_logs_in(account, p), tried))
    smtp = account.smtp
    if smtp is not None and smtp.username and smtp_password:
        notes.append(keep_password(
            account.name, smtp.keyring_name, smtp_password,
            passwords.sharing(smtp.keyring_name, sources, account.name),
            lambda p: _smtp_logs_in(account, p), tried))
    return [n for n in notes if n]


def set_up(config: Path) -> list[Account | CalendarSource]:
    """The accounts and calendars heard.toml holds now (none when it cannot be read: its
    problem is reported where it is loaded)."""
    try:
        settings = load(config)
    except ConfigError:
        return []
    return [*settings.accounts, *settings.calendars]


def login_imap(account: ImapAccount, password: str) -> None:
    """Log in to the IMAP server with `password` and out again; AccountProblem when that
    fails (in the words try_mail would use). Blocks."""
    from heard.mail.imap import ImapError, connect

    try:
        connect(_imap_server(account), password).close()
    except ImapError as exc:
        raise AccountProblem(account.name, Part.IMAP, exc.message) from exc


def login_smtp(account: Account, password: str) -> None:
    """Log in to the SMTP server with `password`, sending nothing; AccountProblem when that
    fails. Blocks."""
    from heard.mail.smtp import SmtpTransport
    from heard.mail.transport import SendError

    assert account.smtp is not None
    try:
        SmtpTransport(account.name, account.smtp, lambda: password).test()
    except SendError as exc:
        raise AccountProblem(account.name, Part.SMTP, exc.problem) from exc


def _imap_logs_in(account: ImapAccount, password: str) -> bool:
    try:
        login_imap(account, password)
    except AccountProblem:
        return False
    return True


def _smtp_logs_in(account: Account, password: str) -> bool:
    try:
        login_smtp(account, password)
    except AccountProblem:
        return False
    return True


def _imap_server(account: ImapAccount) -> ServerSettings:
    from heard.mail.imap import Security, ServerSettings

    return ServerSettings(account.host, account.port, Security(account.security),
                          account.username, account.ca_file)


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


def try_mail(account: Account, password: str | None = None) -> MailReport:
    """Log in once and look for the folders (IMAP: with `password`, else the keyring's),
    or look at the folders (Maildir). AccountProblem says what is wrong. Blocks."""
    if not isinstance(account, ImapAccount):
        from heard.mail.maildir import Maildir

        missing = [str(f) for f in (account.inbox, account.sent, account.outbox)
                   if f is not None and not Maildir(f).exists()]
        if missing:
            raise AccountProblem(account.name, Part.MAILDIR, "not a Maildir (it needs new/,"
                                 f" cur/ and tmp/): {', '.join(missing)}")
        return MailReport()
    from heard.mail.imap import ImapError
    from heard.mail.imap.probe import probe
    from heard.mail.oauth import Bearer, bearer

    credential: str | Bearer | None = password
    if account.auth == "oauth2" and account.oauth is not None:   # the sign-in's token
        try:
            credential = bearer(account.keyring_name, account.oauth, account.username,
                                account.name)
        except ImapError as exc:
            raise AccountProblem(account.name, Part.IMAP, exc.message) from exc
    elif not credential:
        credential = _stored(account.name, account.keyring_name, Part.IMAP)
    if credential is None:
        raise AccountProblem(account.name, Part.IMAP, passwords.missing(account))
    try:
        try:
            found = probe(_imap_server(account), credential, account.folders,
                          account.sent_folder, account.poll_every)
        except ImapError:
            if not isinstance(credential, Bearer) or account.oauth is None:
                raise
            # a refused token may have been revoked early: a fresh one, once
            found = probe(_imap_server(account),
                          bearer(account.keyring_name, account.oauth, account.username,
                                 account.name, fresh=True),
                          account.folders, account.sent_folder, account.poll_every)
    except ImapError as exc:
        raise AccountProblem(account.name, Part.IMAP, exc.message) from exc
    if not found.usable:
        raise AccountProblem(account.name, Part.IMAP, "; ".join(found.notes))
    return MailReport(found.notes, found.idle)


def try_smtp(account: Account, password: str | None = None,
             imap_password: str | None = None) -> None:
    """Log in to the account's SMTP server, sending nothing; AccountProblem if that fails.
    With the password typed for it, else the one typed for IMAP when it logs in as the same
    user, else the keyring's (as the outbox finds it). Blocks."""
    from heard.mail.oauth import Bearer, bearer
    from heard.mail.smtp import SmtpTransport
    from heard.mail.transport import SendError

    smtp = account.smtp
    if smtp is None:
        raise AccountProblem(account.name, Part.SMTP, f"{account.name} has no SMTP server")
    same_user = isinstance(account, ImapAccount) and smtp.username == account.username
    typed = password or (imap_password if same_user else None)

    def login() -> str | Bearer | None:
        if isinstance(account, ImapAccount) and account.auth == "oauth2" \
                and account.oauth is not None:
            return bearer(account.keyring_name, account.oauth, account.username,
                          account.name)
        return typed or passwords.smtp_password(account)

    try:
        # A keyring that cannot be read is the transport's to tell.
        SmtpTransport(account.name, smtp, login).test()
    except SendError as exc:
        raise AccountProblem(account.name, Part.SMTP, exc.problem) from exc


def try_calendar(calendar: CalendarSource, zone: tzinfo, now: datetime,
                 password: str | None = None) -> None:
    """Read the calendar once, from `now` on (CalDAV: with `password`, else the
    keyring's); a remote one is read into a copy of its own that is thrown away (a test
    never touches the tray's copy while it refreshes it). AccountProblem says what is
    wrong: the server's answer, or the first few events that cannot be read. Blocks."""
    from heard.calendar.caldav_source import CalendarUnavailable

    try:
        if calendar.kind == "ics":
            from heard.calendar.ics import busy_intervals

            assert calendar.path is not None
            _found, errors = busy_intervals(calendar.path, now, now + READ_AHEAD, zone)
            problems = [str(e) for e in errors]
        else:
            with tempfile.TemporaryDirectory(prefix="heard-calendar-test-") as copy:
                problems = _read_remote(calendar, Path(copy), zone, now, password)
    except CalendarUnavailable as exc:
        raise AccountProblem(calendar.name, Part.CALENDAR, exc.problem) from exc
    except ValueError as exc:   # a file that is not there, or not a calendar
        raise AccountProblem(calendar.name, Part.CALENDAR,
                             str(exc) or "the calendar cannot be read") from exc
    if problems:
        raise AccountProblem(calendar.name, Part.CALENDAR, "; ".join(problems[:3]))


def _read_remote(calendar: CalendarSource, copy: Path, zone: tzinfo, now: datetime,
                 password: str | None = None) -> list[str]:
    """Download the calendar into `copy`; the problems of its events."""
    from heard.calendar.caldav_source import (
        CalDavCache,
        CalendarUnavailable,
        connect,
        sync_all,
    )
    from heard.calendar.subscription import Subscription
    from heard.system.oauth import Bearer

    end = now + READ_AHEAD
    if calendar.kind == "url":
        feed = Subscription(calendar.url, copy / "feed.ics", calendar.ca_file)
        feed.refresh()
        return feed.busy_intervals(now, end, zone)[1]
    if calendar.kind == "graph":   # Microsoft 365, with the sign-in of its login
        from heard.calendar.graph import GraphCalendar, signed_in

        if calendar.oauth is None:
            raise CalendarUnavailable(f"{calendar.name} names no provider to sign in with")
        graph = GraphCalendar(copy, signed_in(calendar.keyring_name, calendar.oauth,
                                              calendar.username),
                              base=calendar.url, ca_file=calendar.ca_file)
        graph.sync(now, end)
        return graph.busy_intervals(now, end, zone)[1]
    credential: str | Bearer | None = password or None
    if calendar.auth == "oauth2" and calendar.oauth is not None:   # Google: the sign-in
        from heard.mail.imap import ImapError
        from heard.mail.oauth import bearer

        try:
            credential = bearer(calendar.keyring_name, calendar.oauth, calendar.username,
                                calendar.name)
        except ImapError as exc:
            raise CalendarUnavailable(exc.message) from exc
    credential = credential or _calendar_password(calendar)
    if credential is None:
        raise CalendarUnavailable(passwords.missing(calendar))
    caches = [(url, CalDavCache(copy / str(i))) for i, url in enumerate(calendar.calendars)]
    with connect(calendar.url, calendar.username, credential, calendar.ca_file) as client:
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
    """What a form's Test runs: each password typed ("": the keyring's) logs in first
    (IMAP, then SMTP), and only then is it kept in the keyring (keep_password); then the
    account is tried as the tray will use it (its folders, the SMTP login). Writes no
    file. Blocks."""
    account = parse_account(entry, config)
    if isinstance(account, ImapAccount) and password:
        login_imap(account, password)
    smtp = account.smtp
    if smtp is not None:
        same_user = isinstance(account, ImapAccount) and smtp.username == account.username
        typed = smtp_password or (password if same_user else "")
        if typed:
            login_smtp(account, typed)
    kept = keep_mail_passwords(account, password, smtp_password, set_up(config))
    report = try_mail(account)
    # The send path is tried too: an account that watches but cannot acknowledge is not
    # what Heard is for (the first Enter would fail).
    # (An IMAP account with no SMTP may have its replies sent by another device of the
    # mailbox; a Maildir account has no other device.)
    if smtp is not None:
        try_smtp(account)
    elif isinstance(account, MaildirAccount) and account.outbox is not None:
        try_outbox(account.name, account.outbox)
    elif isinstance(account, MaildirAccount):
        raise AccountProblem(account.name, Part.OUTBOX, "replies cannot go out: give it an"
                             " outbox folder your mail system sends from, or an SMTP server")
    return Checked(dict(entry), "; ".join([*report.notes, *kept]))


def try_outbox(name: str, outbox: Path) -> None:
    """A reply can be put into the outbox Maildir: a probe written into its tmp/ and
    removed, as a delivery would begin. AccountProblem says what is wrong. Blocks."""
    import os
    import uuid

    probe = outbox / "tmp" / f"heard-probe-{uuid.uuid4().hex}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
        if not os.access(outbox / "new", os.W_OK | os.X_OK):
            raise PermissionError(f"cannot write into {outbox / 'new'}")
    except OSError as exc:
        raise AccountProblem(name, Part.OUTBOX, f"{outbox}: {exc.strerror or exc}") from exc


def check_calendar(entry: Mapping[str, Any], config: Path, password: str, zone: tzinfo,
                   now: datetime) -> Checked:
    """A CalDAV account's calendars (the typed password to the keyring first, else the
    keyring's), or an .ics file, folder or subscription read once. Blocks."""
    calendar = parse_calendar(entry, config)
    if calendar.kind != "caldav":
        try_calendar(calendar, zone, now)
        return Checked(dict(entry))
    typed = password
    if not password:
        password = _stored(calendar.name, calendar.keyring_name, Part.CALENDAR) or ""
        if not password:
            raise PasswordNeeded(calendar.name)
    found = discover_calendars(calendar, password)
    if not found:
        raise CalendarsNotFound(calendar.name, (), ())
    note = keep_caldav_password(calendar, typed, set_up(config)) if typed else ""
    return Checked(dict(entry), note, calendars=tuple((c.name, c.url) for c in found))


def keep_caldav_password(calendar: CalendarSource, password: str,
                         sources: Iterable[Account | CalendarSource]) -> str:
    """A CalDAV password that logged in, kept (keep_password); what to tell the user."""
    def works(stored: str) -> bool:
        try:
            discover_calendars(calendar, stored)
        except AccountProblem:
            return False
        return True

    return keep_password(calendar.name, calendar.keyring_name, password,
                         passwords.sharing(calendar.keyring_name, sources, calendar.name),
                         works)


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
