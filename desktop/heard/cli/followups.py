"""Waiting on clients: `heard follow-up`, `heard follow-ups` and `heard nudge`; and the
other side, when the user is away: `heard away`."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from heard.cli.output import client_json, dump, iso, short
from heard.cli.parser import UsageError

if TYPE_CHECKING:
    from datetime import datetime

    from heard.domain.clients import Client
    from heard.domain.followups import FollowUp
    from heard.engine import Engine


def follow_up_json(follow_up: FollowUp, client: Client | None, zone: Any) -> dict[str, Any]:
    """One follow-up (`heard follow-ups`, `follow-up`, and the status's `owed` items)."""
    closed = follow_up.closed
    return {
        "id": follow_up.id, "client": client_json(client), "due": iso(follow_up.due, zone),
        "set_at": iso(follow_up.set_at, zone), "note": follow_up.note or None,
        "subject": follow_up.subject or None, "message_id": follow_up.message_id or None,
        # "user": set by the user; "sent": offered from a question in Sent
        "origin": follow_up.origin.value, "nudges": follow_up.nudges,
        "nudged_at": iso(follow_up.nudged_at, zone),
        "closed_at": iso(follow_up.closed_at, zone),
        "closed": closed.value if closed else None,
        "closed_reason": follow_up.closed_reason or None,
    }


def _said(follow_up: FollowUp) -> str:
    origin = " (offered: a question in Sent)" if follow_up.origin.value == "sent" else ""
    return f"{follow_up.about()[:50]}{origin}"


def cmd_follow_up(args: argparse.Namespace, engine: Engine) -> int:
    from heard.domain.followups import follow_up_time

    zone = engine.settings.zone
    now = engine.clock.now()
    if args.off:
        if args.note:
            raise UsageError("--note goes with --by, not --off")
        closed = engine.follow_ups.off(args.who)
        if args.json:
            clients = {c.id: c for c in engine.clients.all()}
            dump({"off": [follow_up_json(f, clients.get(f.client_id), zone) for f in closed]})
        else:
            for f in closed:
                print(f"No longer waiting on follow-up {f.id}: {_said(f)}.")
        return 0
    try:
        due = follow_up_time(args.by, now, engine.settings.hours)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    follow_up = engine.follow_ups.set(args.who, due, args.note or "")
    client = next((c for c in engine.clients.all() if c.id == follow_up.client_id), None)
    if args.json:
        dump(follow_up_json(follow_up, client, zone))
    else:
        name = client.display_name if client else "the client"
        print(f"Waiting on {name} (follow-up {follow_up.id}): if they have not written by"
              f" {short(due, zone, now)}, they show as owing you a reply. Anything they"
              " write closes it.")
    return 0


def cmd_follow_ups(args: argparse.Namespace, engine: Engine) -> int:
    zone = engine.settings.zone
    now = engine.clock.now()
    found = engine.follow_ups.listing(everything=args.all)
    if args.json:
        dump({"follow_ups": [follow_up_json(f, c, zone) for f, c in found],
              "owed": [f.id for f, _c in found if f.is_due(now)]})
        return 0
    if not found:
        print("You are not waiting on anyone.")
        return 0
    for f, client in found:
        if f.is_due(now):
            state = f"OWES YOU A REPLY since {short(f.due, zone, now)}"
        elif f.is_open:
            state = f"due {short(f.due, zone, now)}"
        else:
            state = f"closed {short(f.closed_at, zone, now)}: {f.closed_reason}"
        nudged = f", nudged {f.nudges}x" if f.nudges else ""
        print(f"  {f.id:<4} {client.display_name:<16} {state}{nudged}  {_said(f)}")
    return 0


def cmd_nudge(args: argparse.Namespace, engine: Engine) -> int:
    zone = engine.settings.zone
    if args.dry_run:
        draft = engine.follow_ups.draft(args.follow_up)
        if args.json:
            dump({"follow_up": args.follow_up, "to": draft.to, "subject": draft.subject,
                  "body": draft.body, "sent": False})
        else:
            print(f"To: {draft.to}\nSubject: {draft.subject}\n\n{draft.body}")
        return 0
    result = engine.follow_ups.nudge(args.follow_up)
    if args.json:
        dump({"follow_up": args.follow_up, "message_id": result.message_id, "to": result.to,
              "subject": result.subject, "body": result.body, "sent": result.sent,
              "state": result.state.value, "error": result.error or None,
              "due": iso(result.follow_up.due, zone)})
    elif result.sent:
        print(f"Nudged {result.to}. If they still do not write, they owe you a reply again"
              f" {short(result.follow_up.due, zone, engine.clock.now())}.")
    else:
        print(f"The nudge to {result.to} is not out yet ({result.state.value}"
              f"{': ' + result.error if result.error else ''}); `heard outbox` shows it.")
        return 1 if result.state.value == "failed" else 0
    return 0


def _when(text: str, engine: Engine, end: bool) -> datetime:
    """A time as `heard away` takes it: a date (its start of day; for the end, that day's
    opening: "until Monday" means back on Monday), or a time (time_arg)."""
    from datetime import date, datetime, time

    from heard.cli.output import time_arg

    zone = engine.settings.zone
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        return time_arg(text, zone, engine.clock.now())
    if end:
        openings = engine.settings.hours.openings(day)
        return openings[0][0] if openings else datetime.combine(day, time(0), tzinfo=zone)
    return datetime.combine(day, time(0), tzinfo=zone)


def cmd_away(args: argparse.Namespace, engine: Engine) -> int:
    from heard.cli.output import absence_json

    zone = engine.settings.zone
    now = engine.clock.now()
    if args.off is not None:
        if args.until or args.starts:
            raise UsageError("--off takes no --from or --until")
        which = None if args.off == "all" else int(args.off) if args.off.isdigit() else -1
        if which == -1:
            raise UsageError("--off takes an absence id (from `heard away`)")
        off = engine.absences.off(which)
        if args.json:
            dump({"off": [absence_json(a, zone) for a in off]})
        else:
            for a in off:
                print(f"Absence {a.id} taken back: no absence replies for it.")
        return 0
    if args.until is None:
        if args.starts or args.template or args.deputy or args.tiers:
            raise UsageError("an absence needs --until")
        found = engine.absences.listing()
        if args.json:
            dump({"absences": [absence_json(a, zone) for a in found]})
            return 0
        if not found:
            print("No absence set.")
        for a in found:
            deputy = f", {a.deputy} stands in" if a.deputy else ""
            print(f"  {a.id:<3} {short(a.starts, zone, now)} to {short(a.ends, zone, now)}"
                  f"{deputy} ({a.template}; {', '.join(a.tiers)})")
        return 0
    try:
        starts = _when(args.starts, engine, end=False) if args.starts else now
        ends = _when(args.until, engine, end=True)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    tiers = tuple(t.strip() for t in (args.tiers or "").split(",") if t.strip())
    absence = engine.absences.add(starts, ends, args.template, args.deputy, tiers)
    if args.json:
        dump(absence_json(absence, zone))
    else:
        deputy = f", naming {absence.deputy}" if absence.deputy else ""
        print(f"Away {short(starts, zone, now)} to {short(ends, zone, now)}: each client"
              f" ({', '.join(absence.tiers)}) who writes hears once, from"
              f" {absence.template!r}{deputy}; they still wait for you.")
    return 0
