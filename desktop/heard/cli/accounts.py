"""`heard account`: mail accounts and calendars."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from heard.config import (
    Account,
    CalendarSource,
    ConfigError,
    ConfigFile,
    ImapAccount,
    MaildirAccount,
)
from heard.engine import (
    Engine,
    EngineError,
)
from heard.mail.maildir import Maildir

if TYPE_CHECKING:
    pass
from heard.cli.output import dump
from heard.cli.parser import UsageError


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


def _store_password(account: ImapAccount, password: str) -> None:
    _store_secret(account.keyring_name, password)


def _store_secret(name: str, password: str) -> None:
    from heard.system import secrets

    try:
        secrets.store_password(name, password)
    except secrets.SecretsUnavailable as exc:
        raise EngineError(str(exc)) from exc


def _smtp_entry(args: argparse.Namespace) -> dict[str, Any]:
    if not args.smtp_host:
        return {}
    entry: dict[str, Any] = {"smtp_host": args.smtp_host, "smtp_security": args.smtp_security}
    if args.smtp_port:
        entry["smtp_port"] = args.smtp_port
    if args.smtp_username:
        entry["smtp_username"] = args.smtp_username
    if args.smtp_ca_file:
        entry["smtp_ca_file"] = str(Path(args.smtp_ca_file).expanduser().absolute())
    if args.sent_copy != "append":
        entry["sent_copy"] = args.sent_copy
    return entry


def _smtp_ok(engine: Engine, account: Account) -> bool:
    """Log in to the account's SMTP server (sending nothing); say what is wrong if not."""
    if account.smtp is None:
        return True
    print(f"Logging in to {account.smtp.host}:{account.smtp.port} (SMTP) ...", file=sys.stderr)
    problem = engine.test_smtp(account)
    if problem:
        print(f"heard: {problem}", file=sys.stderr)
        print("The account was not added; the passwords stay in the keyring for the next"
              " try.", file=sys.stderr)
        return False
    return True


def _add_imap(args: argparse.Namespace, engine: Engine, file: ConfigFile, name: str) -> int:
    if not args.host:
        raise UsageError("account add imap needs --host (e.g. --host imap.example.com)")
    username = args.username or args.address
    if not username:
        raise UsageError("account add imap needs --username (or --address)")
    entry: dict[str, Any] = {"name": name, "kind": "imap", "host": args.host,
                             "security": args.security, "username": username}
    if args.port:
        entry["port"] = args.port
    if args.folder:
        entry["folders"] = args.folder
    if args.sent_folder:
        entry["sent_folder"] = args.sent_folder
    if args.ca_file:
        entry["ca_file"] = str(Path(args.ca_file).expanduser().absolute())
    if args.address:
        entry["address"] = args.address
    entry.update(_smtp_entry(args))
    from heard.config import settings_from

    try:  # the same checks as at load time, before anything is written
        (account,) = settings_from({"accounts": [entry]}, engine.profile.config).accounts
    except ConfigError as exc:
        raise EngineError("; ".join(exc.problems)) from exc
    assert isinstance(account, ImapAccount)
    password = _read_password(args, f"{username} at {args.host}")
    _store_password(account, password)
    if account.smtp is not None and account.smtp.username \
            and account.smtp.username != account.username:
        _store_secret(account.smtp.keyring_name, _read_password(
            args, f"{account.smtp.username} at {account.smtp.host} (SMTP)"))
    if not args.no_test:
        print(f"Logging in to {account.host}:{account.port} ...", file=sys.stderr)
        health = engine.test_account(account)
        if not health.online:
            print(f"heard: {health.problem}", file=sys.stderr)
            print("The account was not added; the password stays in the keyring for the next"
                  " try.", file=sys.stderr)
            return 1
        if health.problem:
            print(f"Note: {health.problem}", file=sys.stderr)
        if not _smtp_ok(engine, account):
            return 1
    file.append("accounts", entry)
    print(f"Added imap account {name!r} ({username} at {account.host}); the password is in"
          " the keyring.")
    return 0


def _calendar_entry(engine: Engine, entry: dict[str, Any]) -> CalendarSource:
    from heard.config import settings_from

    try:  # the same checks as at load time, before anything is written
        (calendar,) = settings_from({"calendars": [entry]}, engine.profile.config).calendars
    except ConfigError as exc:
        raise EngineError("; ".join(exc.problems)) from exc
    return calendar


def _add_subscription(args: argparse.Namespace, engine: Engine, file: ConfigFile,
                      name: str) -> int:
    entry: dict[str, Any] = {"name": name, "kind": "url", "url": args.path}
    if args.ca_file:
        entry["ca_file"] = str(Path(args.ca_file).expanduser().absolute())
    calendar = _calendar_entry(engine, entry)
    ok, detail = engine.test_calendar(calendar)
    if not ok:
        print(f"heard: {detail}", file=sys.stderr)
        print("The calendar was not added.", file=sys.stderr)
        return 1
    file.append("calendars", entry)
    print(f"Added calendar subscription {name!r} ({calendar.url}).")
    return 0


def _add_caldav(args: argparse.Namespace, engine: Engine, file: ConfigFile, name: str) -> int:
    url = args.path or args.host
    if not url:
        raise UsageError("account add caldav needs the server's address, e.g."
                         " https://cal.example.com/")
    username = args.username or args.address
    if not username:
        raise UsageError("account add caldav needs --username")
    entry: dict[str, Any] = {"name": name, "kind": "caldav", "url": url,
                             "username": username}
    if args.ca_file:
        entry["ca_file"] = str(Path(args.ca_file).expanduser().absolute())
    calendar = _calendar_entry(engine, entry)
    password = _read_password(args, f"{username} at {calendar.url}")
    from heard.calendar.caldav_source import CalendarUnavailable, discover
    from heard.system import secrets

    try:
        secrets.store_password(calendar.keyring_name, password)
    except secrets.SecretsUnavailable as exc:
        raise EngineError(str(exc)) from exc
    print(f"Looking for calendars at {calendar.url} ...", file=sys.stderr)
    try:
        found = discover(calendar.url, username, password, calendar.ca_file)
    except CalendarUnavailable as exc:
        print(f"heard: {exc.problem}", file=sys.stderr)
        print("The account was not added; the password stays in the keyring for the next"
              " try.", file=sys.stderr)
        return 1
    wanted = {c.lower() for c in args.calendar}
    chosen = [c for c in found if not wanted or c.name.lower() in wanted]
    missing = wanted - {c.name.lower() for c in found}
    if missing or not chosen:
        names = ", ".join(repr(c.name) for c in found) or "none"
        raise EngineError(f"no calendar named {', '.join(sorted(missing)) or '(any)'}"
                          f" on the server; it has: {names}")
    entry["calendars"] = [c.url for c in chosen]
    file.append("calendars", entry)
    print(f"Added CalDAV account {name!r}: {', '.join(c.name for c in chosen)}; the password"
          " is in the keyring.")
    return 0


def cmd_account(args: argparse.Namespace, engine: Engine) -> int:
    file = ConfigFile(engine.profile.config)
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
            return _add_imap(args, engine, file, name)
        if args.kind == "caldav":
            return _add_caldav(args, engine, file, name)
        if not args.path:
            raise UsageError(f"account add {args.kind} needs a PATH")
        if args.kind == "calendar" and args.path.lower().startswith(
                ("https://", "http://", "webcal://")):
            return _add_subscription(args, engine, file, name)
        path = Path(args.path).expanduser().absolute()
        if args.kind == "maildir":
            for folder in filter(None, (path, args.sent)):
                Maildir(Path(folder)).check()
            entry = {"name": name, "kind": "maildir", "inbox": str(path)}
            for key in ("sent", "outbox"):
                if getattr(args, key):
                    entry[key] = str(Path(getattr(args, key)).expanduser().absolute())
            if args.address:
                entry["address"] = args.address
            entry.update(_smtp_entry(args))
            file.append("accounts", entry)
        else:
            if not path.exists():
                raise EngineError(f"{path}: no such file or folder")
            file.append("calendars", {"name": name, "kind": "ics", "path": str(path)})
        print(f"Added {args.kind} account {name!r}.")
        return 0
    if args.action == "password":
        account = next((a for a in settings.accounts if a.name == args.name), None)
        calendar = next((c for c in settings.calendars if c.name == args.name
                         and c.kind == "caldav"), None)
        if calendar is not None and account is None:
            from heard.system import secrets

            try:
                secrets.store_password(calendar.keyring_name, _read_password(
                    args, f"{calendar.username} at {calendar.url}"))
            except secrets.SecretsUnavailable as exc:
                raise EngineError(str(exc)) from exc
            ok, detail = engine.test_calendar(calendar)
            print(f"Stored the password of {calendar.name!r}; "
                  + ("the calendar answers." if ok else f"but: {detail}"))
            return 0 if ok else 1
        if args.smtp:
            if account is None or account.smtp is None:
                raise EngineError(f"there is no account named {args.name!r} with an SMTP"
                                  " server")
            _store_secret(account.smtp.keyring_name, _read_password(
                args, f"{account.smtp.username} at {account.smtp.host} (SMTP)"))
            problem = engine.test_smtp(account)
            print(f"Stored the SMTP password of {account.name!r}; "
                  + (f"but: {problem}" if problem else "login works."))
            return 1 if problem else 0
        if not isinstance(account, ImapAccount):
            raise EngineError(f"there is no imap or caldav account named {args.name!r}")
        _store_password(account, _read_password(args, f"{account.username} at {account.host}"))
        health = engine.test_account(account)
        print(f"Stored the password of {account.name!r}; "
              + ("login works." if health.online else f"but: {health.problem}"))
        return 0 if health.online else 1
    if args.action == "remove":
        removed = next((a for a in settings.accounts if a.name == args.name), None)
        removed_calendar = next((c for c in settings.calendars if c.name == args.name
                                 and c.kind == "caldav"), None)
        if not (file.remove("accounts", args.name) or file.remove("calendars", args.name)):
            raise EngineError(f"there is no account named {args.name!r}")
        if isinstance(removed, ImapAccount) and not any(
                isinstance(a, ImapAccount) and a.keyring_name == removed.keyring_name
                and a.name != removed.name for a in settings.accounts):
            from heard.system import secrets

            try:
                secrets.delete_password(removed.keyring_name)
            except secrets.SecretsUnavailable as exc:
                print(f"heard: the password could not be removed from the keyring: {exc}",
                      file=sys.stderr)
        if removed_calendar is not None and removed is None and not any(
                c.keyring_name == removed_calendar.keyring_name and c.name != args.name
                for c in settings.calendars if c.kind == "caldav"):
            from heard.system import secrets

            try:
                secrets.delete_password(removed_calendar.keyring_name)
            except secrets.SecretsUnavailable as exc:
                print(f"heard: the password could not be removed from the keyring: {exc}",
                      file=sys.stderr)
        print(f"Removed account {args.name!r}.")
        return 0
    if args.action == "test":
        failures = 0
        for acc in settings.accounts:
            if args.name and acc.name != args.name:
                continue
            if acc.smtp is not None:
                problem = engine.test_smtp(acc)
                failures += bool(problem)
                print(f"  {'FAIL' if problem else 'ok  '}  {acc.name} smtp: "
                      + (problem or f"{acc.smtp.username or '(no login)'} at"
                         f" {acc.smtp.host}:{acc.smtp.port}"))
            if isinstance(acc, ImapAccount):
                health = engine.test_account(acc)
                failures += not health.online
                mark = "ok  " if health.online else "FAIL"
                detail = f"{acc.username} at {acc.host}:{acc.port}"
                print(f"  {mark}  {acc.name}: {health.problem or detail}"
                      if not health.online else f"  {mark}  {acc.name}: {detail}"
                      + (f" ({health.problem})" if health.problem else ""))
                continue
            for label, folder in (("inbox", acc.inbox), ("sent", acc.sent),
                                  ("outbox", acc.outbox)):
                if folder is None:
                    continue
                try:
                    if label == "outbox":
                        Maildir(folder).create()
                    Maildir(folder).check()
                    print(f"  ok    {acc.name} {label}: {folder}")
                except OSError as exc:
                    failures += 1
                    print(f"  FAIL  {acc.name} {label}: {exc}")
        for cal in settings.calendars:
            if args.name and cal.name != args.name:
                continue
            ok, detail = engine.test_calendar(cal)
            failures += not ok
            where = cal.path if cal.kind == "ics" else cal.url
            print(f"  {'ok  ' if ok else 'FAIL'}  {cal.name}: {detail or where}")
        return 1 if failures else 0
    raise UsageError("account: say list, add, password, remove or test")
