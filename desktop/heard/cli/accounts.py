"""`heard account`: mail accounts and calendars. The setting up itself is
heard.setup.accounts, as for the settings window; here the command line asks, prints, and
puts setup's failures into its words (_words)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any, ParamSpec

from heard.cli.output import dump
from heard.cli.parser import UsageError
from heard.config import Account, CalendarSource, ImapAccount, MaildirAccount, passwords
from heard.engine import Engine, EngineError
from heard.setup import accounts as setup
from heard.setup.accounts import (
    AccountProblem,
    CalendarsNotFound,
    InvalidEntry,
    KeyringUnavailable,
    PasswordNeeded,
    SetupError,
    UnknownAccount,
)

P = ParamSpec("P")
NOT_ADDED = ("The account was not added, and no password was stored: the keyring keeps what"
             " it had.")


def _words(exc: SetupError) -> str:
    """A setup failure as the command line says it (after "heard: ")."""
    if isinstance(exc, InvalidEntry):
        return "; ".join(p.raw for p in exc.problems)
    if isinstance(exc, KeyringUnavailable | AccountProblem):
        return exc.problem
    if isinstance(exc, CalendarsNotFound):
        names = ", ".join(map(repr, exc.found)) or "none"
        return (f"no calendar named {', '.join(exc.missing) or '(any)'} on the server; it"
                f" has: {names}")
    if isinstance(exc, UnknownAccount):
        return f"there is no account named {exc.account!r}"
    if isinstance(exc, PasswordNeeded):
        return "the password is empty"
    return str(exc)


def _problem(attempt: Callable[P, object], *args: P.args, **kwargs: P.kwargs) -> str | None:
    """What trying a part of an account found wrong, in words; None when it works."""
    try:
        attempt(*args, **kwargs)
    except AccountProblem as exc:
        return _words(exc)
    return None


def _not_added(exc: SetupError, why: str) -> int:
    print(f"heard: {_words(exc)}", file=sys.stderr)
    print(why, file=sys.stderr)
    return 1


def _account_json(account: MaildirAccount | ImapAccount) -> dict[str, Any]:
    if isinstance(account, ImapAccount):
        return {"name": account.name, "kind": "imap", "host": account.host,
                "port": account.port, "security": account.security,
                "username": account.username, "folders": list(account.folders),
                "sent_folder": account.sent_folder or None, "address": account.address}
    return {"name": account.name, "kind": "maildir", "inbox": str(account.inbox),
            "sent": str(account.sent) if account.sent else None,
            "outbox": str(account.outbox) if account.outbox else None,
            "address": account.address}


def _read_password(args: argparse.Namespace, what: str) -> str:
    """From stdin with --password-stdin (scripts), else asked without echo."""
    if getattr(args, "password_stdin", False):
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        import getpass

        password = getpass.getpass(f"Password for {what}: ")
    else:
        raise UsageError("no terminal to ask for the password: pass it with --password-stdin")
    if not password:
        raise EngineError("the password is empty")
    return password


def _given(args: argparse.Namespace, keys: Mapping[str, str],
           paths: Collection[str] = ()) -> dict[str, Any]:
    """The options the user gave (`keys`: heard.toml key -> option), files made absolute."""
    entry: dict[str, Any] = {}
    for key, option in keys.items():
        value = getattr(args, option)
        if value:
            entry[key] = str(Path(value).expanduser().absolute()) if key in paths else value
    return entry


def _smtp_entry(args: argparse.Namespace) -> dict[str, Any]:
    if not args.smtp_host:
        return {}
    entry: dict[str, Any] = {"smtp_host": args.smtp_host, "smtp_security": args.smtp_security}
    entry.update(_given(args, {"smtp_port": "smtp_port", "smtp_username": "smtp_username",
                               "smtp_ca_file": "smtp_ca_file"}, paths=("smtp_ca_file",)))
    if args.sent_copy != "append":
        entry["sent_copy"] = args.sent_copy
    return entry


def _smtp_ok(account: Account, password: str, imap_password: str) -> bool:
    """Log in to the account's SMTP server with the password typed (sending nothing); say
    what is wrong if not."""
    if account.smtp is None:
        return True
    print(f"Logging in to {account.smtp.host}:{account.smtp.port} (SMTP) ...", file=sys.stderr)
    try:
        setup.try_smtp(account, password or None, imap_password or None)
    except AccountProblem as exc:
        _not_added(exc, NOT_ADDED)
        return False
    return True


def _notes(notes: list[str]) -> None:
    for note in notes:
        print(f"Note: {note}.", file=sys.stderr)


def _add_imap(args: argparse.Namespace, engine: Engine, name: str) -> int:
    if not args.host:
        raise UsageError("account add imap needs --host (e.g. --host imap.example.com)")
    username = args.username or args.address
    if not username:
        raise UsageError("account add imap needs --username (or --address)")
    entry: dict[str, Any] = {"name": name, "kind": "imap", "host": args.host,
                             "security": args.security, "username": username}
    entry.update(_given(args, {"port": "port", "folders": "folder",
                               "sent_folder": "sent_folder", "ca_file": "ca_file",
                               "address": "address"}, paths=("ca_file",)))
    entry.update(_smtp_entry(args))
    # the same checks as at load time, before anything is asked or written
    account = setup.parse_account(entry, engine.profile.config)
    assert isinstance(account, ImapAccount)
    password = _read_password(args, f"{username} at {args.host}")
    smtp, smtp_password = account.smtp, ""
    if smtp is not None and smtp.username and smtp.username != account.username:
        smtp_password = _read_password(args, f"{smtp.username} at {smtp.host} (SMTP)")
    # Tried before anything is kept: a password that does not log in must not replace the
    # one another account of the same login works with.
    if not args.no_test:
        print(f"Logging in to {account.host}:{account.port} ...", file=sys.stderr)
        try:
            report = setup.try_mail(account, password)
        except AccountProblem as exc:
            return _not_added(exc, NOT_ADDED)
        if report.notes:
            print(f"Note: {'; '.join(report.notes)}", file=sys.stderr)
        if not _smtp_ok(account, smtp_password, password):
            return 1
    sources = [*engine.settings.accounts, *engine.settings.calendars]
    _notes(setup.keep_mail_passwords(account, password, smtp_password, sources,
                                     tried=not args.no_test))
    setup.save_entry(engine.profile.config, "accounts", entry)
    print(f"Added imap account {name!r} ({username} at {account.host}); the password is in"
          " the keyring.")
    return 0


def _add_subscription(args: argparse.Namespace, engine: Engine, name: str) -> int:
    entry: dict[str, Any] = {"name": name, "kind": "url", "url": args.path,
                             **_given(args, {"ca_file": "ca_file"}, paths=("ca_file",))}
    calendar = setup.parse_calendar(entry, engine.profile.config)
    try:
        setup.try_calendar(calendar, engine.settings.zone, engine.clock.now())
    except AccountProblem as exc:
        return _not_added(exc, "The calendar was not added.")
    setup.save_entry(engine.profile.config, "calendars", entry)
    print(f"Added calendar subscription {name!r} ({calendar.url}).")
    return 0


def _add_caldav(args: argparse.Namespace, engine: Engine, name: str) -> int:
    url = args.path or args.host
    if not url:
        raise UsageError("account add caldav needs the server's address, e.g."
                         " https://cal.example.com/")
    username = args.username or args.address
    if not username:
        raise UsageError("account add caldav needs --username")
    entry: dict[str, Any] = {"name": name, "kind": "caldav", "url": url,
                             "username": username,
                             **_given(args, {"ca_file": "ca_file"}, paths=("ca_file",))}
    calendar = setup.parse_calendar(entry, engine.profile.config)
    password = _read_password(args, f"{username} at {calendar.url}")
    print(f"Looking for calendars at {calendar.url} ...", file=sys.stderr)
    try:
        found = setup.discover_calendars(calendar, password)
    except AccountProblem as exc:
        return _not_added(exc, NOT_ADDED)
    chosen = setup.choose_calendars(calendar, found, args.calendar)
    entry["calendars"] = [c.url for c in chosen]
    settings = engine.settings
    note = setup.keep_caldav_password(calendar, password,
                                      [*settings.accounts, *settings.calendars])
    _notes([note] if note else [])
    setup.save_entry(engine.profile.config, "calendars", entry)
    print(f"Added CalDAV account {name!r}: {', '.join(c.name for c in chosen)}; the password"
          " is in the keyring.")
    return 0


def cmd_account(args: argparse.Namespace, engine: Engine) -> int:
    try:
        return _account(args, engine)
    except SetupError as exc:   # said like every expected failure, by the CLI's handler
        raise EngineError(_words(exc)) from exc


def _account(args: argparse.Namespace, engine: Engine) -> int:
    settings = engine.settings
    if args.action == "list":
        accounts = [_account_json(a) for a in settings.accounts]
        calendars = [{"name": c.name, "kind": c.kind,
                      "path": str(c.path) if c.path else None, "url": c.url or None,
                      "username": c.username or None, "calendars": list(c.calendars)}
                     for c in settings.calendars]
        if args.json:
            dump({"accounts": accounts, "calendars": calendars})
        else:
            for a in accounts:
                if a["kind"] == "imap":
                    print(f"  mail     {a['name']:<12} imap    {a['username']} at"
                          f" {a['host']}:{a['port']} ({a['security']})")
                else:
                    print(f"  mail     {a['name']:<12} maildir {a['inbox']}"
                          + (f" (sent: {a['sent']})" if a["sent"] else ""))
            for c in calendars:
                print(f"  calendar {c['name']:<12} {c['kind']:<7} {c['path'] or c['url']}")
            if not accounts and not calendars:
                print("No accounts yet: `heard account add imap --host HOST --username USER`"
                      " or `heard account add maildir PATH`.")
        return 0
    if args.action == "add":
        names = {a.name for a in settings.accounts} | {c.name for c in settings.calendars}
        name = args.name or (args.kind if args.kind not in names else
                             f"{args.kind}{len(names) + 1}")
        if name in names:
            raise EngineError(f"there is already an account named {name!r}; pick --name")
        if args.kind == "imap":
            return _add_imap(args, engine, name)
        if args.kind == "caldav":
            return _add_caldav(args, engine, name)
        if not args.path:
            raise UsageError(f"account add {args.kind} needs a PATH")
        if args.kind == "calendar" and args.path.lower().startswith(
                ("https://", "http://", "webcal://")):
            return _add_subscription(args, engine, name)
        path = Path(args.path).expanduser().absolute()
        if args.kind == "maildir":
            for folder in filter(None, (path, args.sent)):
                setup.check_folder(Path(folder))
            entry = {"name": name, "kind": "maildir", "inbox": str(path),
                     **_given(args, {"sent": "sent", "outbox": "outbox", "address": "address"},
                              paths=("sent", "outbox")),
                     **_smtp_entry(args)}
            setup.save_entry(engine.profile.config, "accounts", entry)
        else:
            if not path.exists():
                raise EngineError(f"{path}: no such file or folder")
            setup.save_entry(engine.profile.config, "calendars",
                             {"name": name, "kind": "ics", "path": str(path)})
        print(f"Added {args.kind} account {name!r}.")
        return 0
    if args.action == "password":
        return _password(args, engine)
    if args.action == "remove":
        unused = setup.remove_entry(engine.profile.config, settings, args.name)
        for problem in setup.forget_passwords(unused).values():
            print(f"heard: the password could not be removed from the keyring: {problem}",
                  file=sys.stderr)
        print(f"Removed account {args.name!r}.")
        return 0
    if args.action == "test":
        return _test(args, engine)
    raise UsageError("account: say list, add, password, remove or test")


def _password(args: argparse.Namespace, engine: Engine) -> int:
    """A new password for a login, stored only once it logged in (the one in the keyring
    may be the one that works); every account of that login uses it."""
    settings = engine.settings
    sources = [*settings.accounts, *settings.calendars]
    account = next((a for a in settings.accounts if a.name == args.name), None)
    calendar = next((c for c in settings.calendars if c.name == args.name
                     and c.kind == "caldav"), None)
    if calendar is not None and account is None:
        password = _read_password(args, f"{calendar.username} at {calendar.url}")
        problem = _problem(setup.try_calendar, calendar, settings.zone, engine.clock.now(),
                           password)
        return _stored(calendar.name, calendar.keyring_name, password, problem, sources,
                       "the calendar answers")
    if args.smtp:
        if account is None or account.smtp is None:
            raise EngineError(f"there is no account named {args.name!r} with an SMTP"
                              " server")
        smtp = account.smtp
        password = _read_password(args, f"{smtp.username} at {smtp.host} (SMTP)")
        problem = _problem(setup.try_smtp, account, password)
        return _stored(account.name, smtp.keyring_name, password, problem, sources,
                       "login works", "SMTP ")
    if not isinstance(account, ImapAccount):
        raise EngineError(f"there is no imap or caldav account named {args.name!r}")
    password = _read_password(args, f"{account.username} at {account.host}")
    problem = _problem(setup.try_mail, account, password)
    return _stored(account.name, account.keyring_name, password, problem, sources,
                   "login works")


def _stored(name: str, entry: str, password: str, problem: str | None,
            sources: list[Account | CalendarSource], works: str, what: str = "") -> int:
    if problem:
        print(f"Did not store the {what}password of {name!r}: {problem}. The keyring keeps"
              " the one it had.")
        return 1
    setup.store_password(name, entry, password)
    others = passwords.sharing(entry, sources, name)
    print(f"Stored the {what}password of {name!r}; {works}."
          + (f" {', '.join(map(repr, others))} {'logs' if len(others) == 1 else 'log'} in"
             " as the same user and use it too."
             if others else ""))
    return 0


def _test(args: argparse.Namespace, engine: Engine) -> int:
    settings = engine.settings
    failures = 0
    for acc in settings.accounts:
        if args.name and acc.name != args.name:
            continue
        if acc.smtp is not None:
            problem = _problem(setup.try_smtp, acc)
            failures += bool(problem)
            print(f"  {'FAIL' if problem else 'ok  '}  {acc.name} smtp: "
                  + (problem or f"{acc.smtp.username or '(no login)'} at"
                     f" {acc.smtp.host}:{acc.smtp.port}"))
        if isinstance(acc, ImapAccount):
            try:
                report = setup.try_mail(acc)
            except AccountProblem as exc:
                failures += 1
                print(f"  FAIL  {acc.name}: {_words(exc)}")
                continue
            notes = "; ".join(report.notes)
            print(f"  ok    {acc.name}: {acc.username} at {acc.host}:{acc.port}"
                  + (f" ({notes})" if notes else ""))
            continue
        for label, folder in (("inbox", acc.inbox), ("sent", acc.sent),
                              ("outbox", acc.outbox)):
            if folder is None:
                continue
            try:
                setup.check_folder(folder, create=label == "outbox")
                print(f"  ok    {acc.name} {label}: {folder}")
            except OSError as exc:
                failures += 1
                print(f"  FAIL  {acc.name} {label}: {exc}")
    for cal in settings.calendars:
        if args.name and cal.name != args.name:
            continue
        problem = _problem(setup.try_calendar, cal, settings.zone, engine.clock.now())
        failures += bool(problem)
        where = cal.path if cal.kind == "ics" else cal.url
        print(f"  {'ok  ' if not problem else 'FAIL'}  {cal.name}: {problem or where}")
    return 1 if failures else 0
