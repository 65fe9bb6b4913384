"""`heard account`: mail accounts and calendars. The setting up itself is
heard.setup.accounts, as for the settings window; here the command line asks, prints, and
puts setup's failures into its words (_words)."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any, ParamSpec

from heard.cli.output import dump
from heard.cli.parser import UsageError
from heard.config import Account, CalendarSource, ImapAccount, MaildirAccount, passwords
from heard.engine import Engine, EngineError
from heard.setup import accounts as setup
from heard.setup import signin
from heard.setup.accounts import (
    AccountProblem,
    CalendarsNotFound,
    InvalidEntry,
    KeyringUnavailable,
    PasswordNeeded,
    SetupError,
    UnknownAccount,
)
from heard.setup.signin import DeviceCode, OAuthError

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
    if args.oauth:
        entry.update(auth="oauth2", provider=args.oauth)
        return _add_oauth_entry(args, engine, entry)
    return _add_imap_entry(args, engine, entry)


def _show_code(code: DeviceCode) -> None:
    print(f"{code.instructions()}.\nWaiting for the sign-in ...", file=sys.stderr,
          flush=True)


def _add_oauth_entry(args: argparse.Namespace, engine: Engine, entry: dict[str, Any]) -> int:
    """Sign in (the device flow), keep the sign-in, try it (unless --no-test), write."""
    if entry["provider"] not in engine.settings.oauth:
        names = ", ".join(engine.settings.oauth)
        raise UsageError(f"--oauth: {entry['provider']!r} is not a provider; use one of"
                         f" {names} (or declare [oauth.{entry['provider']}] in heard.toml)")
    account = setup.parse_account(entry, engine.profile.config)   # as heard.toml loads it
    assert isinstance(account, ImapAccount)
    try:
        grant = signin.sign_in_device(signin.provider_of(account), _show_code)
        signin.keep(account, grant)
    except OAuthError as exc:
        print(f"heard: not added: {exc}", file=sys.stderr)
        return 1
    if not args.no_test:
        try:
            setup.try_mail(account)
            if account.smtp is not None:
                setup.try_smtp(account)
        except AccountProblem as exc:
            return _not_added(exc, NOT_ADDED)
    setup.save_entry(engine.profile.config, "accounts", entry)
    print(f"Added account {entry['name']!r}, signed in to {signin.provider_of(account).label}"
          f" as {account.username}.")
    return 0


def _signin(args: argparse.Namespace, engine: Engine) -> int:
    """`heard account signin NAME`: a new sign-in for an account whose sign-in ended."""
    settings = engine.settings
    account: ImapAccount | CalendarSource | None = next(
        (a for a in settings.accounts if a.name == args.name and isinstance(a, ImapAccount)),
        None) or next((c for c in settings.calendars if c.name == args.name), None)
    if account is None or account.auth != "oauth2":
        raise UsageError(f"{args.name!r} is no account that signs in with a provider"
                         " (auth = \"oauth2\"); a password is stored with"
                         " `heard account password NAME`")
    try:
        provider = signin.provider_of(account)
        grant = signin.sign_in_device(provider, _show_code)
        signin.keep(account, grant)
    except OAuthError as exc:
        print(f"heard: not signed in: {exc}", file=sys.stderr)
        return 1
    try:
        if isinstance(account, ImapAccount):
            setup.try_mail(account)
        else:
            setup.try_calendar(account, settings.zone, engine.clock.now())
    except AccountProblem as exc:
        print(f"heard: signed in, but: {_words(exc)}", file=sys.stderr)
        return 1
    print(f"Signed in to {provider.label} as {account.username}; {account.name} works again.")
    return 0


def _add_imap_entry(args: argparse.Namespace, engine: Engine, entry: dict[str, Any],
                    say: bool = True) -> int:
    """Ask for the password(s), try them (unless --no-test), keep them and write `entry`;
    `say`: print the line that says it was added."""
    name, username = entry["name"], entry["username"]
    # the same checks as at load time, before anything is asked or written
    account = setup.parse_account(entry, engine.profile.config)
    assert isinstance(account, ImapAccount)
    password = _read_password(args, f"{username} at {account.host}")
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
    if say:
        print(f"Added imap account {name!r} ({username} at {account.host}); the password is"
              " in the keyring.")
    return 0


def _add_mail(args: argparse.Namespace, engine: Engine, name: str) -> int:
    """`heard account add mail ADDRESS`: the servers found from the address (heard.setup.
    discover), said with where they were found, then added as an IMAP account with its
    SMTP server once the password logged in; an OAuth2 provider needs its sign-in."""
    from heard.setup.discover import Network, NotAnAddress, Source, discover

    address = (args.path or "").strip()
    if not address:
        raise UsageError("account add mail needs your e-mail address, e.g."
                         " `heard account add mail you@firm.example`")
    print(f"Looking for the mail servers of {address} ...", file=sys.stderr)
    try:
        found = discover(address, Network.from_environment())
    except NotAnAddress as exc:
        raise UsageError(str(exc)) from exc
    result: dict[str, Any] = {"discovered": found.as_json(), "added": False, "account": None,
                              "needs": None}

    def done(code: int, needs: str | None = None) -> int:
        if code == 0 and needs is None:
            for line in _calendar_hint(found, args.username or found.username or address):
                print(line, file=sys.stderr)
        if args.json:
            result["needs"] = needs
            result["added"] = code == 0 and needs is None
            result["account"] = name if result["added"] else None
            dump(result)
        return code

    for line in _found_words(found):
        print(line, file=sys.stderr)
    if found.source is Source.NONE or found.imap is None:
        if not args.host:
            print(f"heard: no mail servers found for {address}; give them with `heard"
                  f" account add imap --host HOST --address {address}` (and --smtp-host)",
                  file=sys.stderr)
            return done(1, "servers")
        entry = {"host": args.host, "port": args.port or 0, "security": args.security}
    else:
        imap = found.imap
        entry = {"host": imap.host, "port": imap.port, "security": imap.security}
    # --oauth names the provider to sign in with (an autoconfig file says OAuth2, not whose)
    oauth = None if args.app_password else (args.oauth or found.oauth2)
    if oauth == "oauth2":
        print(f"heard: sign-in with OAuth2 is needed: {address} takes no password; name the"
              " provider to sign in with: --oauth microsoft|google|NAME ([oauth.NAME] in"
              " heard.toml)", file=sys.stderr)
        return done(1, "oauth2")
    if found.app_password_url and (found.sign_in.value == "app_password"
                                   or args.app_password):
        print(f"Make an app password for Heard at {found.app_password_url} and give it"
              " below (your own password will not work).", file=sys.stderr)
    entry = {"name": name, "kind": "imap", **entry,
             "username": args.username or found.username or address, "address": address}
    if args.ca_file:
        entry["ca_file"] = str(Path(args.ca_file).expanduser().absolute())
    smtp = found.smtp
    if smtp is not None and not args.smtp_host:
        entry.update({"smtp_host": smtp.host, "smtp_port": smtp.port,
                      "smtp_security": smtp.security})
        if args.ca_file:
            entry["smtp_ca_file"] = entry["ca_file"]
        if found.provider is not None and found.provider.sent_copy != "append":
            entry["sent_copy"] = found.provider.sent_copy
    else:
        entry.update(_smtp_entry(args))
    if oauth:
        # Signed in (the device flow) and tried as `account add imap --oauth` does.
        label = found.provider.name if found.provider else oauth
        print(f"Sign-in with {label} is needed: {address} signs in with OAuth2, not a"
              " password" + ("; or add it with an app password: --app-password"
                             if found.app_password_url else "") + ".", file=sys.stderr)
        entry.update(auth="oauth2", provider=oauth)
        with contextlib.redirect_stdout(sys.stderr if args.json else sys.stdout):
            code = _add_oauth_entry(args, engine, entry)
        result["entry"] = {k: v for k, v in entry.items() if k != "name"}
        return done(code, None if code == 0 else "oauth2")
    code = _add_imap_entry(args, engine, entry, say=not args.json)
    result["entry"] = {k: v for k, v in entry.items() if k != "name"}
    return done(code)


def _calendar_hint(found: Any, login: str) -> list[str]:
    """How to add the calendar of the same account, when discovery knows where it is."""
    provider = found.provider
    if provider is not None and provider.calendar == "graph":
        return [f"Your {provider.name} calendar is read through Microsoft Graph with this"
                " sign-in: add to heard.toml [[calendars]] with kind = \"graph\" and"
                f" username = \"{login}\" (README: Microsoft 365 calendars)."]
    if found.caldav:
        return [f"Your calendar: `heard account add caldav {found.caldav} --username"
                f" {login}`" + (" (the same app password)." if found.app_password_url
                                 else ".")]
    return []


def _found_words(found: Any) -> list[str]:
    """What discovery found, for people: the servers, from where, and how to sign in."""
    if found.imap is None:
        return [f"Nothing found for {found.address}: " + "; ".join(found.tried)]
    lines = [f"Found in {found.where}:",
             f"  IMAP  {found.imap.host}:{found.imap.port} ({found.imap.security})"]
    if found.smtp is not None:
        lines.append(f"  SMTP  {found.smtp.host}:{found.smtp.port} ({found.smtp.security})")
    if found.caldav:
        lines.append(f"  CalDAV {found.caldav}")
    lines.append(f"  login {found.username}, sign-in: {found.sign_in.value.replace('_', ' ')}")
    if found.provider is not None and found.provider.note:
        lines.append(f"  {found.provider.note}")
    return lines


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
        if args.json and args.kind != "mail":
            raise UsageError("--json is for `account add mail`")
        if args.kind == "imap":
            return _add_imap(args, engine, name)
        if args.kind == "mail":
            return _add_mail(args, engine, name)
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
    if args.action == "signin":
        return _signin(args, engine)
    raise UsageError("account: say list, add, password, remove, signin or test")


def _password(args: argparse.Namespace, engine: Engine) -> int:
    """A new password for a login, stored only once it logged in (the one in the keyring
    may be the one that works); every account of that login uses it."""
    settings = engine.settings
    sources = [*settings.accounts, *settings.calendars]
    account = next((a for a in settings.accounts if a.name == args.name), None)
    calendar = next((c for c in settings.calendars if c.name == args.name
                     and c.kind == "caldav"), None)
    signs_in = account if isinstance(account, ImapAccount) else calendar
    if signs_in is not None and signs_in.auth == "oauth2" and not args.smtp:
        # its keyring entry holds the sign-in: a password typed here would replace it
        raise UsageError(f"{args.name!r} signs in with {signs_in.provider}, not a password;"
                         f" sign in again with `heard account signin {args.name}`")
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
