"""The command line: every action of the GUI, scriptable, with stable --json output.

Exit status: 0 done, 1 the command failed (the message says why and what to do),
2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from heard import __version__
from heard import log as heard_log
from heard.clients_import import ImportFormatError, read_clients
from heard.config import ConfigError, ConfigFile
from heard.domain.busy import BusyState
from heard.domain.clients import Channel, Client
from heard.domain.ids import ClientId, InquiryId
from heard.domain.templates import TemplateError
from heard.engine import AckResult, Engine, EngineError, Status, SyncReport
from heard.mail.maildir import Maildir
from heard.paths import Profile
from heard.store import StoreError

log = logging.getLogger(__name__)


class UsageError(Exception):
    """Bad usage found after parsing (exit status 2)."""


# JSON: one object, ISO-8601 times with offsets, null for unknown.

def _iso(at: datetime | None, zone: Any) -> str | None:
    return at.astimezone(zone).isoformat(timespec="seconds") if at else None


def client_json(client: Client | None) -> dict[str, Any] | None:
    if client is None:
        return None
    return {
        "id": client.id, "name": client.name, "preferred_name": client.preferred_name,
        "tier": client.tier, "channel": client.channel.value, "emails": list(client.emails),
        "domains": list(client.domains), "phones": list(client.phones),
        "preferences": dict(client.preferences),
    }


def busy_json(busy: BusyState | None, zone: Any) -> dict[str, Any]:
    if busy is None:
        return {"now": None, "until": None, "next_free": None}
    return {"now": busy.now, "until": _iso(busy.until, zone),
            "next_free": _iso(busy.next_free, zone)}


def status_json(status: Status, zone: Any) -> dict[str, Any]:
    return {
        "at": _iso(status.at, zone),
        "count": status.count,
        "urgency": status.urgency.value if status.urgency else None,
        "busy": busy_json(status.busy, zone),
        "waiting": [
            {
                "id": item.inquiry.id,
                "client": client_json(item.client),
                "channel": item.inquiry.channel.value,
                "received_at": _iso(item.inquiry.received_at, zone),
                "ack_due": _iso(item.ack_due, zone),
                "answer_due": _iso(item.answer_due, zone),
                "urgency": item.urgency.value,
                "subject": item.inquiry.subject,
                "from": item.inquiry.sender,
            }
            for item in status.waiting
        ],
        "promises": [
            {
                "inquiry": view.promise.inquiry_id,
                "client": client_json(view.client),
                "made_at": _iso(view.promise.made_at, zone),
                "due": _iso(view.promise.due, zone),
                "text": view.promise.text,
                "subject": view.subject,
            }
            for view in status.promises
        ],
        "problems": status.problems,
    }


def sync_json(report: SyncReport) -> dict[str, Any]:
    return {
        "seen": report.seen,
        "new_inquiries": report.new_inquiries,
        "answered": report.answered,
        "acknowledged": report.acknowledged,
        "skipped": [{"source": s.source, "file": s.file, "reason": s.reason}
                    for s in report.skipped],
        "errors": report.errors,
    }


def _ago(now: datetime, then: datetime) -> str:
    minutes = int((now - then).total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, mins = divmod(minutes, 60)
    return f"{hours} h {mins:02d} min" if hours < 48 else f"{hours // 24} days"


def print_status(status: Status, zone: Any) -> None:
    if status.busy is None:
        busy = "Calendar: none configured"
    elif status.busy.now:
        busy = f"Busy until {_short(status.busy.until, zone)}"
    else:
        busy = "Free now"
    if status.busy is not None and status.busy.next_free and status.busy.now:
        busy += f", next free {_short(status.busy.next_free, zone)}"
    people = "client" if status.count == 1 else "clients"
    print(f"{status.count} {people} waiting. {busy}.")
    for item in status.waiting:
        waited = _ago(status.at, item.inquiry.received_at)
        print(f"  #{item.inquiry.id:<4} {item.client.display_name:<16} "
              f"{item.inquiry.channel.value:<5} waited {waited:>12}"
              f"  ack by {_short(item.ack_due, zone)} [{item.urgency.value}]  "
              f"{item.inquiry.subject[:40]}")
    if status.promises:
        print("Promises:")
        for view in status.promises:
            who = view.client.display_name if view.client else "?"
            print(f"  #{view.promise.inquiry_id:<4} {who:<16} due {_short(view.promise.due, zone)}"
                  f"  {view.subject[:40]}")
    for problem in status.problems:
        print(f"warning: {problem}", file=sys.stderr)


def _short(at: datetime | None, zone: Any) -> str:
    return at.astimezone(zone).strftime("%a %H:%M") if at else "-"


def _dump(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def _time_arg(text: str, zone: Any, now: datetime) -> datetime:
    """ISO-8601 (with or without offset, in the user's zone) or HH:MM today."""
    try:
        if len(text) <= 5 and ":" in text:
            hour, minute = (int(p) for p in text.split(":"))
            return now.astimezone(zone).replace(hour=hour, minute=minute, second=0,
                                                microsecond=0)
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise UsageError(f"{text!r} is not a time; use HH:MM or 2026-11-26T16:30") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)


# commands

def cmd_status(args: argparse.Namespace, engine: Engine) -> int:
    status = engine.status()
    zone = engine.settings.zone
    if args.json:
        _dump(status_json(status, zone))
    else:
        print_status(status, zone)
    return 0


def cmd_sync(args: argparse.Namespace, engine: Engine) -> int:
    report = engine.sync()
    if args.json:
        _dump(sync_json(report))
    else:
        print(f"Read {report.seen} new messages: {len(report.new_inquiries)} new inquiries, "
              f"{len(report.answered)} answered, {len(report.skipped)} skipped.")
        for skipped in report.skipped:
            print(f"  skipped {skipped.file} ({skipped.source}): {skipped.reason}")
    for error in report.errors:
        print(f"heard: {error}", file=sys.stderr)
    return 1 if report.errors and not report.seen else 0


def ack_json(result: AckResult, zone: Any) -> dict[str, Any]:
    return {"id": result.inquiry_id, "message_id": result.message_id, "to": result.to,
            "subject": result.subject, "body": result.body, "template": result.template,
            "reply_by": _iso(result.reply_by, zone), "sent": result.sent}


def cmd_ack(args: argparse.Namespace, engine: Engine) -> int:
    zone = engine.settings.zone
    reply_by = _time_arg(args.reply_by, zone, engine.clock.now()) if args.reply_by else None
    result = engine.acknowledge(InquiryId(args.id), args.template, reply_by, args.dry_run)
    if args.json:
        _dump(ack_json(result, zone))
    else:
        verb = "Would send" if args.dry_run else ("Sent" if result.sent else "Queued")
        print(f"{verb} to {result.to}: {result.subject}\n\n{result.body}")
    return 0


def cmd_close(args: argparse.Namespace, engine: Engine) -> int:
    if args.command == "answered":
        inquiry = engine.mark_answered(InquiryId(args.id))
    else:
        inquiry = engine.dismiss(InquiryId(args.id))
    if args.json:
        _dump({"id": inquiry.id, "state": inquiry.state.value,
               "closed_at": _iso(inquiry.closed_at, engine.settings.zone)})
    else:
        print(f"Inquiry {inquiry.id} is now {inquiry.state.value}.")
    return 0


def _find_client(engine: Engine, key: str) -> Client:
    clients = engine.clients()
    if key.isdigit():
        found = [c for c in clients if c.id == int(key)]
    else:
        found = [c for c in clients if c.name.lower() == key.lower()] or [
            c for c in clients if key.lower() in c.name.lower()]
    if len(found) != 1:
        raise EngineError(f"no client matches {key!r}" if not found else
                          f"{key!r} matches {len(found)} clients; use the id from"
                          " `heard clients list`")
    return found[0]


def cmd_clients(args: argparse.Namespace, engine: Engine) -> int:
    if args.action == "list":
        clients = engine.clients()
        if args.json:
            _dump({"clients": [client_json(c) for c in clients]})
        else:
            for c in clients:
                addresses = ", ".join([*c.emails, *("@" + d for d in c.domains), *c.phones])
                nick = f" ({c.preferred_name})" if c.preferred_name else ""
                print(f"  #{c.id:<4} {c.name}{nick}  [{c.tier}, {c.channel.value}]  {addresses}")
            if not clients:
                print("No clients yet: `heard clients add NAME --email ADDR`.")
        return 0
    if args.action == "add":
        client = engine.add_client(Client(
            name=args.name, emails=tuple(args.email), domains=tuple(args.domain),
            phones=tuple(args.phone), preferred_name=args.preferred_name, tier=args.tier,
            channel=Channel(args.channel)))
        if args.json:
            _dump(client_json(client))
        else:
            print(f"Added client #{client.id} {client.name}.")
        return 0
    if args.action == "edit":
        old = _find_client(engine, args.client)
        client = Client(
            id=old.id, name=args.name or old.name,
            emails=tuple(args.email) or old.emails, domains=tuple(args.domain) or old.domains,
            phones=tuple(args.phone) or old.phones,
            preferred_name=old.preferred_name if args.preferred_name is None
            else (args.preferred_name or None),
            tier=args.tier or old.tier,
            channel=Channel(args.channel) if args.channel else old.channel,
            preferences=old.preferences)
        client = engine.update_client(client)
        if args.json:
            _dump(client_json(client))
        else:
            print(f"Updated client #{client.id} {client.name}.")
        return 0
    if args.action == "remove":
        client = _find_client(engine, args.client)
        assert client.id is not None
        engine.remove_client(ClientId(client.id))
        print(f"Removed client #{client.id} {client.name}; their past inquiries are kept.")
        return 0
    if args.action == "import":
        result = read_clients(Path(args.file))
        imported = 0
        for client in result.clients:
            try:
                engine.add_client(client)
                imported += 1
            except StoreError as exc:
                result.skipped.append((client.name, str(exc)))
        if args.json:
            _dump({"imported": imported,
                   "skipped": [{"entry": e, "reason": r} for e, r in result.skipped]})
        else:
            print(f"Imported {imported} clients, skipped {len(result.skipped)}.")
            for entry, reason in result.skipped:
                print(f"  skipped {entry}: {reason}")
        return 0
    raise UsageError("clients: say list, add, edit, remove or import")


def cmd_account(args: argparse.Namespace, engine: Engine) -> int:
    file = ConfigFile(engine.profile.config)
    settings = engine.settings
    if args.action == "list":
        accounts = [{"name": a.name, "kind": "maildir", "inbox": str(a.inbox),
                     "sent": str(a.sent) if a.sent else None,
                     "outbox": str(a.outbox) if a.outbox else None, "address": a.address}
                    for a in settings.accounts]
        calendars = [{"name": c.name, "kind": "ics", "path": str(c.path)}
                     for c in settings.calendars]
        if args.json:
            _dump({"accounts": accounts, "calendars": calendars})
        else:
            for a in accounts:
                print(f"  mail     {a['name']:<12} maildir {a['inbox']}"
                      + (f" (sent: {a['sent']})" if a["sent"] else ""))
            for c in calendars:
                print(f"  calendar {c['name']:<12} {c['path']}")
            if not accounts and not calendars:
                print("No accounts yet: `heard account add maildir PATH`.")
        return 0
    if args.action == "add":
        names = {a.name for a in settings.accounts} | {c.name for c in settings.calendars}
        name = args.name or (args.kind if args.kind not in names else
                             f"{args.kind}{len(names) + 1}")
        if name in names:
            raise EngineError(f"there is already an account named {name!r}; pick --name")
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
            file.append("accounts", entry)
        else:
            if not path.exists():
                raise EngineError(f"{path}: no such file or folder")
            file.append("calendars", {"name": name, "kind": "ics", "path": str(path)})
        print(f"Added {args.kind} account {name!r}.")
        return 0
    if args.action == "remove":
        if not (file.remove("accounts", args.name) or file.remove("calendars", args.name)):
            raise EngineError(f"there is no account named {args.name!r}")
        print(f"Removed account {args.name!r}.")
        return 0
    if args.action == "test":
        failures = 0
        for acc in settings.accounts:
            if args.name and acc.name != args.name:
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
            now = engine.clock.now()
            from heard.calendar.ics import CalendarError, busy_intervals

            try:
                _found, problems = busy_intervals(cal.path, now, now, settings.zone)
            except CalendarError as exc:
                failures += 1
                print(f"  FAIL  {cal.name}: {exc}")
                continue
            failures += len(problems)
            for problem in problems:
                print(f"  FAIL  {cal.name}: {problem}")
            if not problems:
                print(f"  ok    {cal.name}: {cal.path}")
        return 1 if failures else 0
    raise UsageError("account: say list, add, remove or test")


def cmd_tray(args: argparse.Namespace, engine: Engine) -> int:
    from heard.gui.app import run_tray  # Qt is loaded only for the faces that need it

    return run_tray(engine, exit_when_shown=args.exit_when_shown)


def cmd_demo(args: argparse.Namespace) -> int:
    from heard.demo import DemoGenerator, create_demo_profile

    profile = create_demo_profile(Path(args.profile) if args.profile else None)
    heard_log.setup(profile.log, args.verbose)
    print(f"Demo profile: {profile.root}", file=sys.stderr)
    engine = Engine.open(profile)
    generator = None if args.no_generator else DemoGenerator(profile, engine.store)
    try:
        engine.sync()
        from heard.gui.app import run_tray

        if generator:
            generator.start()
        return run_tray(engine, exit_when_shown=args.exit_when_shown)
    finally:
        if generator:
            generator.stop()
        engine.close()


def _parser() -> argparse.ArgumentParser:
    # The options every command takes, before or after the command name. In subcommands
    # they default to SUPPRESS so they do not overwrite a value given before the command.
    top = argparse.ArgumentParser(add_help=False)
    common = argparse.ArgumentParser(add_help=False)
    for parser_, default in ((top, None), (common, argparse.SUPPRESS)):
        parser_.add_argument(
            "--profile", metavar="DIR", default=default,
            help="profile folder (default: $HEARD_PROFILE or the user data folder)")
        parser_.add_argument("-v", "--verbose", action="store_true",
                             default=False if default is None else default,
                             help="log debug detail")
    jsonp = argparse.ArgumentParser(add_help=False)
    jsonp.add_argument("--json", action="store_true", help="print one JSON object")

    parser = argparse.ArgumentParser(
        prog="heard", parents=[top],
        description="Heard keeps your promise of responsiveness to clients. "
                    "Without a command, starts the tray app.")
    parser.add_argument("--version", action="version", version=f"heard {__version__}")
    parser.add_argument("--exit-when-shown", action="store_true", help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser("demo", parents=[common],
                          help="the tray app on a fresh demo profile (no account needed)")
    demo.add_argument("--no-generator", action="store_true",
                      help="do not drop new client messages while running")
    demo.add_argument("--exit-when-shown", action="store_true", help=argparse.SUPPRESS)

    sub.add_parser("sync", parents=[common, jsonp], help="fetch mail and calendars once")
    sub.add_parser("status", parents=[common, jsonp], help="who is waiting, and the busy state")

    ack = sub.add_parser("ack", parents=[common, jsonp], help="acknowledge an inquiry")
    ack.add_argument("id", type=int, help="inquiry id (from `heard status`)")
    ack.add_argument("--template", help="template name (default: from settings)")
    ack.add_argument("--reply-by", metavar="TIME", help="promised time (HH:MM or ISO-8601)")
    ack.add_argument("--dry-run", action="store_true", help="show the reply, send nothing")

    for name, text in (("answered", "mark an inquiry answered (you called, you met)"),
                       ("dismiss", "set an inquiry aside: no reply needed")):
        p = sub.add_parser(name, parents=[common, jsonp], help=text)
        p.add_argument("id", type=int, help="inquiry id (from `heard status`)")

    clients = sub.add_parser("clients", parents=[common], help="the client directory")
    csub = clients.add_subparsers(dest="action", metavar="ACTION", required=True)
    csub.add_parser("list", parents=[common, jsonp], help="list clients")
    for name in ("add", "edit"):
        p = csub.add_parser(name, parents=[common, jsonp], help=f"{name} a client")
        if name == "add":
            p.add_argument("name")
        else:
            p.add_argument("client", help="client id or name")
            p.add_argument("--name")
        p.add_argument("--email", action="append", default=[], metavar="ADDR")
        p.add_argument("--domain", action="append", default=[], metavar="DOMAIN")
        p.add_argument("--phone", action="append", default=[], metavar="NUMBER")
        p.add_argument("--preferred-name", metavar="NAME")
        p.add_argument("--tier", default="standard" if name == "add" else None)
        p.add_argument("--channel", choices=[c.value for c in Channel],
                       default="email" if name == "add" else None)
    rm = csub.add_parser("remove", parents=[common], help="remove a client")
    rm.add_argument("client", help="client id or name")
    imp = csub.add_parser("import", parents=[common, jsonp], help="import a .vcf or .csv file")
    imp.add_argument("file")

    account = sub.add_parser("account", parents=[common], help="mail accounts and calendars")
    asub = account.add_subparsers(dest="action", metavar="ACTION", required=True)
    asub.add_parser("list", parents=[common, jsonp], help="list accounts")
    add = asub.add_parser("add", parents=[common], help="add a Maildir or a calendar")
    add.add_argument("kind", choices=["maildir", "calendar"])
    add.add_argument("path", help="Maildir folder, or .ics file / folder of .ics files")
    add.add_argument("--name")
    add.add_argument("--sent", metavar="PATH", help="Maildir of your sent mail")
    add.add_argument("--outbox", metavar="PATH", help="Maildir that replies are delivered to")
    add.add_argument("--address", help="the address replies are sent from")
    test = asub.add_parser("test", parents=[common], help="check that accounts can be read")
    test.add_argument("name", nargs="?")
    rma = asub.add_parser("remove", parents=[common], help="remove an account")
    rma.add_argument("name")
    return parser


COMMANDS: dict[str | None, Callable[[argparse.Namespace, Engine], int]] = {
    None: cmd_tray, "status": cmd_status, "sync": cmd_sync, "ack": cmd_ack,
    "clients": cmd_clients, "account": cmd_account, "answered": cmd_close, "dismiss": cmd_close,
}


def _fail(args: argparse.Namespace, message: str) -> int:
    print(f"heard: {message}", file=sys.stderr)
    log.debug("command failed", exc_info=True)
    if args.command in (None, "demo"):
        from heard.gui.app import show_fatal

        show_fatal(message)
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            return cmd_demo(args)
        profile = Profile.locate(args.profile)
        heard_log.setup(profile.log if args.command is None else None, args.verbose)
        engine = Engine.open(profile)
        try:
            return COMMANDS[args.command](args, engine)
        finally:
            engine.close()
    except UsageError as exc:
        parser.print_usage(sys.stderr)
        print(f"heard: {exc}", file=sys.stderr)
        return 2
    except ConfigError as exc:
        return _fail(args, f"the settings file has problems:\n{exc}")
    except (EngineError, StoreError, TemplateError, ImportFormatError, OSError,
            ValueError) as exc:  # CalendarError is a ValueError
        return _fail(args, str(exc))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())

