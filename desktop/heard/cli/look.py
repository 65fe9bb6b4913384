"""Run and look: `heard status`, `sync`, `busy`, `explain` and `stats`."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from datetime import datetime, timedelta
from pathlib import Path

from heard.cli.output import (
    STATS_FIELDS,
    busy_json,
    date_arg,
    dump,
    explain_json,
    iso,
    print_status,
    short,
    stats_row,
    status_json,
    sync_json,
    time_arg,
)
from heard.cli.parser import UsageError
from heard.domain.wording import plural
from heard.engine import (
    Engine,
    EngineEvent,
)


def cmd_status(args: argparse.Namespace, engine: Engine) -> int:
    status = engine.status()
    zone = engine.settings.zone
    if args.json:
        dump(status_json(status, zone))
    else:
        print_status(status, zone)
    return 0


def cmd_sync(args: argparse.Namespace, engine: Engine) -> int:
    def progress(event: EngineEvent) -> None:
        if event.kind == "progress":  # a first sync of a big mailbox takes a while
            print(f"  {event.message}", file=sys.stderr, flush=True)

    engine.subscribe(progress)
    report = engine.sync()
    if args.json:
        dump(sync_json(report))
    else:
        print(f"Read {report.seen} new messages: {len(report.new_inquiries)} new inquiries, "
              f"{len(report.answered)} answered, {len(report.skipped)} skipped.")
        for skipped in report.skipped:
            print(f"  skipped {skipped.file} ({skipped.source}): {skipped.reason}")
    for error in report.errors:
        print(f"heard: {error}", file=sys.stderr)
    return 1 if report.errors and not report.seen else 0


MAX_EXPLAIN = 1 << 20  # what intake reads of a message file


def cmd_stats(args: argparse.Namespace, engine: Engine) -> int:
    from heard.domain.statistics import goal_sentence

    zone = engine.settings.zone
    now = engine.clock.now()
    until = date_arg(args.until, zone) if args.until else now
    if args.since:
        since = date_arg(args.since, zone)
    else:  # this week so far, from Monday 00:00
        today = now.astimezone(zone).date()
        monday = today - timedelta(days=today.weekday())
        since = datetime(monday.year, monday.month, monday.day, tzinfo=zone)
    if since >= until:
        raise UsageError("--since must come before --until")
    prospects = True if args.prospects else (False if args.clients else None)
    groups = engine.statistics.stats(since, until, args.by, prospects)
    labels = ({str(c.id): c.name for c in engine.clients.all()} if args.by == "client" else {})
    rows = [stats_row(g, labels) for g in groups]
    if args.html:
        from heard.engine.stats_report import write_html

        write_html(Path(args.html), groups, since, until, zone, engine.settings.user.name,
                   labels)
        print(f"Wrote {args.html}.", file=sys.stderr)
    if args.json:
        dump({"since": iso(since, zone), "until": iso(until, zone), "group_by": args.by,
               "groups": rows,
               # Waiting on clients (follow-ups set in the period): never in `groups`.
               "follow_ups": dataclasses.asdict(engine.statistics.follow_ups(since, until)),
               # Automatic replies (not the user's acknowledgements, not in `groups`).
               "automatic": engine.statistics.automatic(since, until)})
    elif args.csv:
        import csv

        writer = csv.DictWriter(sys.stdout, fieldnames=list(STATS_FIELDS))
        writer.writeheader()
        writer.writerows(rows)
    elif not args.html:
        if not any(g.count or g.dismissed for g in groups):
            print(f"No contacts between {since:%Y-%m-%d} and {until:%Y-%m-%d}.")
            return 0
        for g in groups:
            label = "this period" if g.key == "all" else labels.get(g.key, g.key)
            print(f"{label}: {plural(g.count, 'contact')},"
                  f" {plural(g.breaches, 'breach', 'breaches')},"
                  f" promises kept {g.promises_kept}/{g.promises_made}")
            print(f"  acknowledged: {goal_sentence(g.ack_goal, label)}")
            print(f"  answered:     {goal_sentence(g.answer_goal, label)}")
        automatic = engine.statistics.automatic(since, until)
        if any(automatic.values()):
            print(f"Automatic replies (not yours): {automatic['autopilot']} in meetings,"
                  f" {automatic['absence']} while away, {automatic['after_hours']} after"
                  " hours")
        waited = engine.statistics.follow_ups(since, until)
        if waited.set:
            print(f"Follow-ups: {waited.set} set, {waited.answered_in_time} answered before"
                  f" due, {waited.came_due} came due ({waited.answered_late} answered after,"
                  f" {waited.nudged} nudged), {waited.open} open")
    return 0


def cmd_busy(args: argparse.Namespace, engine: Engine) -> int:
    zone = engine.settings.zone
    at = time_arg(args.at, zone, engine.clock.now()) if args.at else engine.clock.now()
    busy = engine.calendar.busy(at)
    problems = engine.status().problems if busy is not None else []
    title = busy.event if busy is not None and engine.settings.calendar.share_titles else None
    if args.json:
        dump({"at": iso(at, zone), **busy_json(busy, zone, bool(engine.calendar.stale())),
               "event": title if busy is not None and busy.now else None,
               "calendars": len(engine.settings.calendars), "problems": problems})
        return 0
    if busy is None:
        print("No calendar is configured: `heard account add calendar PATH`.")
        return 0
    now = engine.clock.now()
    when = "now" if args.at is None else short(at, zone, now)
    if busy.now:
        what = f" ({title})" if title else ""
        print(f"Busy {when}{what} until {short(busy.until, zone, now)}.")
    else:
        print(f"Free {when}.")
    slot = short(busy.next_free, zone, now) if busy.next_free else "none within a month"
    minutes = int(engine.settings.calendar.min_free.total_seconds() // 60)
    print(f"Next free slot of {minutes} min in working hours: {slot}.")
    for problem in problems:
        print(f"heard: {problem}", file=sys.stderr)
    return 0


def cmd_explain(args: argparse.Namespace, engine: Engine) -> int:
    results = []
    failed = 0
    for name in args.files:
        try:
            with Path(name).open("rb") as fh:
                raw = fh.read(MAX_EXPLAIN)
        except OSError as exc:
            failed += 1
            print(f"heard: {name}: {exc.strerror or exc}", file=sys.stderr)
            continue
        results.append(explain_json(name, engine.intake.explain(raw)))
    if args.json:
        dump({"messages": results})
    else:
        for r in results:
            who = r["client"]["name"] if r["client"] else r["from"] or "?"
            kind = f"{r['channel']} inquiry" if r["inquiry"] else "no inquiry"
            print(f"{r['file']}: {kind} from {who} ({r['reason']})")
            if r["caller"]:
                print(f"  caller: {r['caller']['name'] or '?'} {r['caller']['number'] or ''}")
    return 1 if failed else 0
