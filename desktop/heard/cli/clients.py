"""`heard clients`: the client directory."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from heard.cli.output import client_json, dump
from heard.cli.parser import UsageError
from heard.domain.clients import ASSISTANT_PREFERENCE, Channel, Client
from heard.domain.ids import ClientId
from heard.engine import (
    Engine,
    EngineError,
)
from heard.errors import ClientClash


def _find_client(engine: Engine, key: str) -> Client:
    clients = engine.clients.all()
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


def _with_args(client: Client, args: argparse.Namespace) -> Client:
    """The client with what the command line gives (what it leaves out stays)."""
    return Client(
        id=client.id, name=args.name or client.name,
        emails=tuple(args.email) or client.emails,
        domains=tuple(args.domain) or client.domains, phones=tuple(args.phone) or client.phones,
        preferred_name=client.preferred_name if args.preferred_name is None
        else (args.preferred_name or None),
        tier=args.tier or client.tier,
        channel=Channel(args.channel) if args.channel else client.channel,
        preferences=_preferences(client.preferences, args),
        language=client.language if args.language is None else (args.language or None),
        zone=client.zone if args.zone is None else (args.zone or None))


def _preferences(preferences: Any, args: argparse.Namespace) -> dict[str, str]:
    """The client's preferences with the ones given on the command line changed."""
    result = dict(preferences)
    every = args.status_reports
    if every == "none":
        result.pop("status_reports", None)
    elif every:
        result["status_reports"] = every
    if args.assistant:
        result[ASSISTANT_PREFERENCE] = args.assistant
    if args.signs == "no":
        result["signs"] = "no"   # heard.engine.replies: the autopilot's authentication
    elif args.signs == "yes":
        result.pop("signs", None)
    return result


def cmd_clients(args: argparse.Namespace, engine: Engine) -> int:
    if args.action == "report-sent":
        client = _find_client(engine, args.client)
        assert client.id is not None
        engine.reminders.status_report_sent(ClientId(client.id))
        print(f"Noted: {client.name} had their status report; the next reminder follows"
              f" their preference ({client.preferences.get('status_reports', 'none')}).")
        return 0
    if args.action == "list":
        everyone = engine.clients.all()
        clients = [c for c in everyone if not c.prospect]
        prospects = [c for c in everyone if c.prospect]
        not_clients = engine.clients.not_clients()
        if args.json:
            dump({"clients": [client_json(c) for c in clients],
                   "prospects": [client_json(c) for c in prospects],
                   "not_clients": [{"value": v, "kind": k} for v, k in not_clients]})
            return 0
        for c in clients:
            addresses = ", ".join([*c.emails, *("@" + d for d in c.domains), *c.phones])
            nick = f" ({c.preferred_name})" if c.preferred_name else ""
            where = ", ".join(x for x in (c.language, c.zone) if x)
            print(f"  #{c.id:<4} {c.name}{nick}  [{c.tier}, {c.channel.value}"
                  f"{', ' + where if where else ''}]  {addresses}")
        if not clients:
            print("No clients yet: `heard clients add NAME --email ADDR`.")
        if prospects:
            print("Prospects (new people who may become clients):")
            for c in prospects:
                via = f" via {c.preferences['via']}" if "via" in c.preferences else ""
                print(f"  #{c.id:<4} {c.name}  {', '.join([*c.emails, *c.phones])}{via}")
        if not_clients:
            print("Not clients (their mail never counts):")
            for value, kind in not_clients:
                print(f"  {kind:<8} {value}")
        return 0
    if args.action in ("add", "edit"):
        if args.action == "add":
            client = engine.clients.add(_with_args(Client(name=args.name), args))
        else:
            client = engine.clients.update(_with_args(_find_client(engine, args.client), args))
        if args.json:
            dump(client_json(client))
        else:
            print(f"{'Added' if args.action == 'add' else 'Updated'} client #{client.id}"
                  f" {client.name}.")
        return 0
    if args.action == "remove":
        client = _find_client(engine, args.client)
        assert client.id is not None
        engine.clients.remove(ClientId(client.id))
        print(f"Removed client #{client.id} {client.name}; their past inquiries are kept.")
        return 0
    if args.action == "import":
        from heard.setup.clients_import import import_clients, read_clients

        report = import_clients(read_clients(Path(args.file)), engine.clients.add,
                                refused=(ClientClash,))
        if args.json:
            dump({"imported": len(report.added),
                   "skipped": [{"entry": e, "reason": r}
                               for e, r in [*report.skipped, *report.clashing]],
                   "notes": [{"entry": e, "note": n} for e, n in report.notes]})
        else:
            print("\n".join(report.lines()))
        return 0
    raise UsageError("clients: say list, add, edit, remove or import")
