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
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from heard import __version__
from heard import log as heard_log
from heard.config import (
    Account,
    CalendarSource,
    ConfigError,
    ConfigFile,
    ImapAccount,
    MaildirAccount,
)
from heard.domain.busy import BusyState
from heard.domain.clients import ASSISTANT_PREFERENCE, Channel, Client
from heard.domain.ids import ClientId, InquiryId
from heard.domain.outbox import OutboxItem
from heard.domain.templates import TemplateError
from heard.engine import (
    REPORT_EVERY,
    AccountHealth,
    Engine,
    EngineError,
    EngineEvent,
    Explanation,
    Status,
    SyncReport,
)
from heard.mail.maildir import Maildir
from heard.paths import Profile
from heard.store import StoreError

if TYPE_CHECKING:
    from heard.domain.classify import Person
    from heard.replies import AckResult

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


def busy_json(busy: BusyState | None, zone: Any, stale: bool = False) -> dict[str, Any]:
    if busy is None:
        return {"now": None, "until": None, "next_free": None, "stale": False}
    return {"now": busy.now, "until": _iso(busy.until, zone),
            "next_free": _iso(busy.next_free, zone), "stale": stale}


def status_json(status: Status, zone: Any) -> dict[str, Any]:
    return {
        "at": _iso(status.at, zone),
        "count": status.count,
        "urgency": status.urgency.value if status.urgency else None,
        "busy": busy_json(status.busy, zone, status.calendar_stale),
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
                "prospect": item.client.prospect,
                "owner": status.owners.get(item.inquiry.id) if item.inquiry.id else None,
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
        "accounts": [accounts_json(a, zone) for a in status.accounts],
        "reports_due": [{"client": client_json(c), "due": _iso(due, zone)}
                        for c, due in status.reports_due],
        "outbox": [outbox_json(i, zone) for i in status.outbox],
        "instance": status.instance,
        "delegations": [{"inquiry": d.inquiry_id, "assistant": d.assistant,
                         "address": d.address, "made_at": _iso(d.made_at, zone),
                         "due": _iso(d.due, zone), "overdue": d.overdue(status.at)}
                        for d in status.delegations],
        "assigned": [{"inquiry": v.assignment.inquiry_id,
                      "client": client_json(v.client) if v.client else None,
                      "subject": v.subject, "to_me": v.to_me, "by": v.assignment.by,
                      "assistant": v.assignment.assistant or None,
                      "address": v.assignment.address or None,
                      "made_at": _iso(v.assignment.made_at, zone),
                      "due": _iso(v.assignment.due, zone),
                      "overdue": v.assignment.overdue(status.at),
                      "note": v.assignment.note or None}
                     for v in status.assigned],
        "handled_elsewhere": [
            {"inquiry": inquiry.id, "client": client_json(client) if client else None,
             "subject": inquiry.subject, "state": inquiry.state.value, "by": by,
             "at": _iso(inquiry.closed_at or inquiry.acknowledged_at, zone)}
            for inquiry, client, by in status.handled_elsewhere],
        "sharing_notice": status.sharing_notice or None,
    }


def accounts_json(health: AccountHealth, zone: Any) -> dict[str, Any]:
    return {"name": health.name, "kind": health.kind, "online": health.online,
            "problem": health.problem or None, "since": _iso(health.since, zone),
            "push": health.push, "last_sync": _iso(health.last_sync, zone)}


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
    for to_me, title in ((True, "Delegated to you:"), (False, "With your assistant:")):
        handed = [v for v in status.assigned if v.to_me is to_me]
        if handed:
            print(title)
        for hand in handed:
            a = hand.assignment
            who = hand.client.display_name if hand.client else "?"
            late = " OVERDUE" if a.overdue(status.at) else ""
            print(f"  #{a.inquiry_id:<4} {who:<16} due {_short(a.due, zone)}{late}"
                  f"  from {a.by}" + ("" if to_me else f" to {a.assistant or a.address}")
                  + f"  {hand.subject[:40]}" + (f"\n        note: {a.note}" if a.note else ""))
    if status.handled_elsewhere:
        print("Taken care of on your other devices (last day):")
    for inquiry, client, by in status.handled_elsewhere:
        print(f"  #{inquiry.id:<4} {client.display_name if client else '?':<16}"
              f" {inquiry.state.value:<12} by {by}"
              f" {_short(inquiry.closed_at or inquiry.acknowledged_at, zone)}"
              f"  {inquiry.subject[:40]}")
    if status.sharing_notice:
        print(f"Note: {status.sharing_notice}.")
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
    def progress(event: EngineEvent) -> None:
        if event.kind == "progress":  # a first sync of a big mailbox takes a while
            print(f"  {event.message}", file=sys.stderr, flush=True)

    engine.subscribe(progress)
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


MAX_EXPLAIN = 1 << 20  # what intake reads of a message file


def explain_json(name: str, found: Explanation) -> dict[str, Any]:
    from heard.domain.classify import Verdict
    facts, verdict = found.facts, found.verdict
    channel = verdict.channel.value if verdict and verdict.channel else None
    return {
        "file": name,
        "from": facts.from_addr if facts else None,
        "subject": facts.subject if facts else None,
        "client": client_json(verdict.client) if verdict else None,
        "inquiry": bool(verdict and verdict.is_inquiry),
        "channel": channel if verdict and verdict.is_inquiry else None,
        "auto_generated": bool(verdict and verdict.verdict is Verdict.AUTO_GENERATED),
        "prospect": bool(verdict and verdict.prospect),
        "person": person_json(verdict.person) if verdict and verdict.person else None,
        "reason": verdict.reason if verdict else found.problem,
        "caller": caller_json(verdict.person) if verdict and verdict.person
        and (verdict.person.via or "").startswith("voicemail") else None,
        "message_id": facts.message_id or None if facts else None,
        "thread": list(facts.thread_ids) if facts else [],
    }


def person_json(person: Person) -> dict[str, Any]:
    return {"name": person.name, "email": person.email, "phone": person.phone,
            "via": person.via, "message": person.message or None}


def caller_json(person: Person) -> dict[str, Any]:
    return {"name": person.name, "number": person.phone, "withheld": person.withheld}


def cmd_prospect(args: argparse.Namespace, engine: Engine) -> int:
    if args.decision == "undo":
        decision = engine.undo()
        print(f"Undone: {decision.kind} for {decision.person.name}.")
        return 0
    if args.decision == "unlist":
        if not args.target:
            raise UsageError("prospect unlist needs the address, domain or number")
        if not engine.remove_not_client(args.target):
            raise EngineError(f"{args.target!r} is not on the not-a-client list")
        print(f"{args.target} is no longer on the not-a-client list.")
        return 0
    if not args.target or not args.target.isdigit():
        raise UsageError(f"prospect {args.decision} needs an inquiry id (from `heard status`)")
    decision = engine.decide(InquiryId(int(args.target)), args.decision,
                             whole_domain=args.domain, tier=args.tier)
    if args.json:
        _dump(decision.to_json())
        return 0
    name = decision.person.name
    if decision.kind == "client":
        print(f"{name} is now a client. (`heard prospect undo` takes it back.)")
    elif decision.kind == "prospect":
        print(f"{name} stays a prospect.")
    else:
        assert decision.listed is not None
        print(f"Not a client: {decision.listed[0]} ({decision.listed[1]}); "
              f"{len(decision.dismissed)} inquiry(ies) set aside. (`heard prospect undo`"
              " takes it back.)")
    return 0


STATS_FIELDS = (
    "key", "label", "count", "acknowledged", "answered", "open", "delegated", "dismissed",
    "ack_in_time", "ack_late", "ack_in_time_share", "answer_in_time", "answer_late",
    "answer_in_time_share", "median_time_to_ack_seconds", "p90_time_to_ack_seconds",
    "median_time_to_answer_seconds", "p90_time_to_answer_seconds", "breaches",
    "promises_made", "promises_kept", "promises_broken",
    "ack_goal", "ack_goal_achieved", "ack_goal_needed_more",
    "answer_goal", "answer_goal_achieved", "answer_goal_needed_more",
)


def _seconds(value: Any) -> float | None:
    return None if value is None else round(value.total_seconds(), 1)


def stats_row(summary: Any, labels: dict[str, str] | None = None) -> dict[str, Any]:
    """One group as flat, stable fields (the same for JSON and CSV)."""
    row: dict[str, Any] = {"label": (labels or {}).get(summary.key, summary.key)}
    row |= {
        name: getattr(summary, name) for name in STATS_FIELDS
        if hasattr(summary, name) and not name.endswith(("_seconds", "_goal"))}
    for name in ("median_time_to_ack", "p90_time_to_ack", "median_time_to_answer",
                 "p90_time_to_answer"):
        row[f"{name}_seconds"] = _seconds(getattr(summary, name))
    for which in ("ack", "answer"):
        goal = getattr(summary, f"{which}_goal")
        row[f"{which}_goal"] = goal.goal if goal else None
        row[f"{which}_goal_achieved"] = goal.achieved if goal else None
        row[f"{which}_goal_needed_more"] = goal.needed_more if goal else None
    return {name: row.get(name) for name in STATS_FIELDS}


def _date_arg(text: str, zone: Any) -> datetime:
    try:
        day = datetime.fromisoformat(text)
    except ValueError as exc:
        raise UsageError(f"{text!r} is not a date; write it like 2026-11-23") from exc
    return day if day.tzinfo else day.replace(tzinfo=zone)


def cmd_stats(args: argparse.Namespace, engine: Engine) -> int:
    from heard.domain.statistics import goal_sentence

    zone = engine.settings.zone
    now = engine.clock.now()
    until = _date_arg(args.until, zone) if args.until else now
    if args.since:
        since = _date_arg(args.since, zone)
    else:  # this week so far, from Monday 00:00
        today = now.astimezone(zone).date()
        monday = today - timedelta(days=today.weekday())
        since = datetime(monday.year, monday.month, monday.day, tzinfo=zone)
    if since >= until:
        raise UsageError("--since must come before --until")
    prospects = True if args.prospects else (False if args.clients else None)
    groups = engine.stats(since, until, args.by, prospects)
    labels = ({str(c.id): c.name for c in engine.clients()} if args.by == "client" else {})
    rows = [stats_row(g, labels) for g in groups]
    if args.html:
        from heard.stats_report import write_html

        write_html(Path(args.html), groups, since, until, zone, engine.settings.user.name,
                   labels)
        print(f"Wrote {args.html}.", file=sys.stderr)
    if args.json:
        _dump({"since": _iso(since, zone), "until": _iso(until, zone), "group_by": args.by,
               "groups": rows})
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
            print(f"{label}: {g.count} contacts, {g.breaches} breaches,"
                  f" promises kept {g.promises_kept}/{g.promises_made}")
            print(f"  acknowledged: {goal_sentence(g.ack_goal, label)}")
            print(f"  answered:     {goal_sentence(g.answer_goal, label)}")
    return 0


def cmd_busy(args: argparse.Namespace, engine: Engine) -> int:
    zone = engine.settings.zone
    at = _time_arg(args.at, zone, engine.clock.now()) if args.at else engine.clock.now()
    busy = engine.busy(at)
    problems = engine.status().problems if busy is not None else []
    title = busy.event if busy is not None and engine.settings.share_titles else None
    if args.json:
        _dump({"at": _iso(at, zone), **busy_json(busy, zone, bool(engine.calendars.stale())),
               "event": title if busy is not None and busy.now else None,
               "calendars": len(engine.settings.calendars), "problems": problems})
        return 0
    if busy is None:
        print("No calendar is configured: `heard account add calendar PATH`.")
        return 0
    when = "now" if args.at is None else _short(at, zone)
    if busy.now:
        what = f" ({title})" if title else ""
        print(f"Busy {when}{what} until {_short(busy.until, zone)}.")
    else:
        print(f"Free {when}.")
    slot = _short(busy.next_free, zone) if busy.next_free else "none within a month"
    minutes = int(engine.settings.min_free.total_seconds() // 60)
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
        results.append(explain_json(name, engine.explain(raw)))
    if args.json:
        _dump({"messages": results})
    else:
        for r in results:
            who = r["client"]["name"] if r["client"] else r["from"] or "?"
            kind = f"{r['channel']} inquiry" if r["inquiry"] else "no inquiry"
            print(f"{r['file']}: {kind} from {who} ({r['reason']})")
            if r["caller"]:
                print(f"  caller: {r['caller']['name'] or '?'} {r['caller']['number'] or ''}")
    return 1 if failed else 0


def cmd_log_call(args: argparse.Namespace, engine: Engine) -> int:
    zone = engine.settings.zone
    at = _time_arg(args.at, zone, engine.clock.now()) if args.at else None
    inquiry = engine.log_call(args.who, at, args.note or "")
    if args.json:
        _dump({"id": inquiry.id, "client_id": inquiry.client_id, "number": inquiry.sender
               or None, "received_at": _iso(inquiry.received_at, zone),
               "subject": inquiry.subject})
    else:
        print(f"Logged #{inquiry.id}: {inquiry.subject}. It waits like any other contact.")
    return 0


def ack_json(result: AckResult, zone: Any) -> dict[str, Any]:
    return {"id": result.inquiry_id, "message_id": result.message_id or None,
            "to": result.to or None, "subject": result.subject, "body": result.body,
            "template": result.template, "reply_by": _iso(result.reply_by, zone),
            "sent": result.sent, "state": result.state or None, "error": result.error or None,
            "call_back": result.call_back or None}


def cmd_ack(args: argparse.Namespace, engine: Engine) -> int:
    zone = engine.settings.zone
    reply_by = _time_arg(args.reply_by, zone, engine.clock.now()) if args.reply_by else None
    result = engine.acknowledge(InquiryId(args.id), args.template, reply_by, args.dry_run)
    code = 0 if result.sent or args.dry_run or result.call_back \
        or result.state in ("queued", "requested") else 1
    if args.json:
        _dump(ack_json(result, zone))
        return code
    if result.state == "requested":   # designated-only: another device sends it
        print(f"Passed on: {result.error}.")
        return 0
    if result.call_back:
        print(f"{result.body} ({result.call_back}). No address to write to: Heard reminds"
              " you before then." if not args.dry_run else
              f"No address to write to: you would promise to call back ({result.call_back}).")
        return 0
    verb = "Would send" if args.dry_run else ("Sent" if result.sent else "Not sent yet")
    print(f"{verb} to {result.to}: {result.subject}\n\n{result.body}")
    if result.state == "queued" and result.error:
        print(f"heard: {result.error}; Heard keeps trying (`heard outbox`)", file=sys.stderr)
    elif result.error:
        print(f"heard: {result.error}", file=sys.stderr)
    return code


def cmd_delegate(args: argparse.Namespace, engine: Engine) -> int:
    zone = engine.settings.zone
    due = _time_arg(args.due, zone, engine.clock.now()) if args.due else None
    result = engine.delegate(InquiryId(args.id), args.to, args.note or "", due,
                             args.tell_client, args.dry_run)
    forward = engine.store.outbox_item(result.forward_id)
    retrying = forward is not None and forward.state.value == "queued"
    requested = result.state == "requested"   # designated-only: another device sends it
    code = 0 if result.sent or args.dry_run or retrying or requested else 1
    if args.json:
        _dump({"id": result.inquiry_id, "assistant": {"name": result.assistant.name,
                                                      "address": result.assistant.address},
               "forward_id": result.forward_id or None, "due": _iso(result.due, zone),
               "told_client": result.told_client, "sent": result.sent,
               "state": result.state or ("sent" if result.sent else None),
               "error": result.error or None})
        return code
    if requested:
        print(f"Passed on: {result.error}.")
        return 0
    who = f"{result.assistant.name} <{result.assistant.address}>"
    verb = "Would forward" if args.dry_run else ("Forwarded" if result.sent else
                                                 "Not sent yet: forward")
    print(f"{verb} to {who}, due {_iso(result.due, zone)}:\n\n{result.forward_body}")
    if result.told_client:
        print(f"\nThe client {'would be' if args.dry_run else 'will be'} told:\n\n"
              f"{result.tell_body}")
    if result.error:
        print(f"heard: {result.error}", file=sys.stderr)
    return code


def outbox_json(item: OutboxItem, zone: Any) -> dict[str, Any]:
    return {"message_id": item.message_id, "inquiry": item.inquiry_id, "kind": item.kind.value,
            "account": item.account, "to": item.recipient, "state": item.state.value,
            "attempts": item.attempts, "created_at": _iso(item.created_at, zone),
            "next_try": _iso(item.next_try, zone) if item.state.value == "queued" else None,
            "sent_at": _iso(item.sent_at, zone), "filed_at": _iso(item.filed_at, zone),
            "error": item.error or None}


def cmd_outbox(args: argparse.Namespace, engine: Engine) -> int:
    zone = engine.settings.zone
    if args.action in ("resend", "mark-sent", "cancel") and not args.message_id:
        raise UsageError(f"outbox {args.action} needs the MESSAGE-ID (from `heard outbox`)")
    if args.action in ("resend", "mark-sent", "cancel"):
        if args.action == "cancel":
            item = engine.cancel_send(args.message_id)
            waits = item.kind.value in ("ack", "auto", "forward")
            print(f"Cancelled {args.message_id}" + ("; the client is waiting again." if waits
                                                    else "."))
            return 0
        outcome = (engine.resend if args.action == "resend" else engine.mark_sent)(
            args.message_id)
        print(f"{args.message_id}: {outcome.state.value}"
              + (f" ({outcome.error})" if outcome.error else ""))
        return 0 if outcome.out else 1
    if args.action == "flush":
        report = engine.retry_outbox()
        for error in report.errors:
            print(f"heard: {error}", file=sys.stderr)
    items = engine.outbox_items(everything=args.all)
    if args.json:
        _dump({"messages": [outbox_json(i, zone) for i in items]})
        return 0
    if not items:
        print("The outbox is empty: everything went out.")
    for item in items:
        when = item.created_at.astimezone(zone)
        line = f"  {item.state.value:<9} {item.kind.value:<7} {when:%a %H:%M}  {item.recipient}"
        print(line + f"\n            {item.message_id}"
              + (f"\n            {item.error}" if item.error else ""))
    return 0


def cmd_sharing(args: argparse.Namespace, engine: Engine) -> int:
    """This device among the user's others: its name, each account's mode, and the
    settings they share (standards, templates, the designated device)."""
    from heard.config import ImapAccount
    from heard.mail.imap import ImapError

    settings = engine.settings
    shared = engine.share_settings(push=args.action == "push") \
        if args.action in ("sync", "push") else engine.shared_settings.status()
    accounts: list[dict[str, str | None]] = []
    for account in settings.accounts:
        if not isinstance(account, ImapAccount):
            accounts.append({"name": account.name, "mode": "local",
                             "describe": "a Maildir folder stays local to this device"})
            continue
        try:
            caps = engine.sharing.capabilities(account)
            accounts.append({"name": account.name, "mode": caps.mode.value,
                             "describe": caps.describe()})
        except (ImapError, EngineError) as exc:
            accounts.append({"name": account.name, "mode": None,
                             "describe": f"cannot tell: {exc}"})
    if args.json:
        _dump({"instance": settings.instance,
               "autopilot_instance": settings.autopilot_instance or None,
               "designated_instance": settings.designated_instance or None,
               "accounts": accounts, "shared_settings": shared.to_json()})
    else:
        print(f"This device: {settings.instance!r}"
              + (f"; automatic acknowledgements from {settings.autopilot_instance!r}"
                 if settings.autopilot_instance else "")
              + (f"; the designated device is {settings.designated_instance!r}"
                 if settings.designated_instance else ""))
        for entry in accounts:
            print(f"  {entry['name']}: {entry['describe']}")
        print("Shared settings (standards, templates, designated device): "
              + shared.describe(settings.zone))
    if shared.error and args.json:
        print(f"heard: shared settings: {shared.error}", file=sys.stderr)
    return 1 if shared.error and args.action in ("sync", "push") else 0


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
    return result


def cmd_clients(args: argparse.Namespace, engine: Engine) -> int:
    if args.action == "report-sent":
        client = _find_client(engine, args.client)
        assert client.id is not None
        engine.status_report_sent(ClientId(client.id))
        print(f"Noted: {client.name} had their status report; the next reminder follows"
              f" their preference ({client.preferences.get('status_reports', 'none')}).")
        return 0
    if args.action == "list":
        everyone = engine.clients()
        clients = [c for c in everyone if not c.prospect]
        prospects = [c for c in everyone if c.prospect]
        not_clients = engine.not_clients()
        if args.json:
            _dump({"clients": [client_json(c) for c in clients],
                   "prospects": [client_json(c) for c in prospects],
                   "not_clients": [{"value": v, "kind": k} for v, k in not_clients]})
            return 0
        for c in clients:
            addresses = ", ".join([*c.emails, *("@" + d for d in c.domains), *c.phones])
            nick = f" ({c.preferred_name})" if c.preferred_name else ""
            print(f"  #{c.id:<4} {c.name}{nick}  [{c.tier}, {c.channel.value}]  {addresses}")
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
    if args.action == "add":
        client = engine.add_client(Client(
            name=args.name, emails=tuple(args.email), domains=tuple(args.domain),
            phones=tuple(args.phone), preferred_name=args.preferred_name, tier=args.tier,
            channel=Channel(args.channel),
            preferences=_preferences({}, args)))
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
            preferences=_preferences(old.preferences, args))
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
        from heard.clients_import import import_clients, read_clients

        report = import_clients(read_clients(Path(args.file)), engine.add_client,
                                refused=(StoreError,))
        if args.json:
            _dump({"imported": len(report.added),
                   "skipped": [{"entry": e, "reason": r}
                               for e, r in [*report.skipped, *report.clashing]],
                   "notes": [{"entry": e, "note": n} for e, n in report.notes]})
        else:
            print("\n".join(report.lines()))
        return 0
    raise UsageError("clients: say list, add, edit, remove or import")


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
    from heard import secrets

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
    from heard import secrets
    from heard.calendar.caldav_source import CalendarUnavailable, discover

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
            _dump({"accounts": accounts, "calendars": calendars})
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
            from heard import secrets

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
            from heard import secrets

            try:
                secrets.delete_password(removed.keyring_name)
            except secrets.SecretsUnavailable as exc:
                print(f"heard: the password could not be removed from the keyring: {exc}",
                      file=sys.stderr)
        if removed_calendar is not None and removed is None and not any(
                c.keyring_name == removed_calendar.keyring_name and c.name != args.name
                for c in settings.calendars if c.kind == "caldav"):
            from heard import secrets

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


def cmd_doctor(args: argparse.Namespace, engine: Engine) -> int:
    from heard.doctor import Verdict, checks, python_check

    def everything() -> Any:
        yield python_check()
        yield from checks(engine, network=not args.offline)
        if not args.no_desktop:
            from heard.gui.checks import desktop_checks

            yield from desktop_checks()

    results = []
    for check in everything():
        results.append(check)
        if not args.json:
            mark = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}[check.verdict.value]
            print(f"  {mark}  {check.name}: {check.detail}"
                  + (f"\n        -> {check.fix}" if check.fix else ""), flush=True)
    if args.json:
        _dump({"checks": [c.to_json() for c in results]})
    failed = [c for c in results if c.verdict is Verdict.FAIL]
    if not args.json:
        print("Everything Heard needs works." if not failed else
              f"{len(failed)} problem(s) to fix.")
    return 1 if failed else 0


def cmd_tray(args: argparse.Namespace, engine: Engine) -> int:
    from heard.gui.app import run_tray  # Qt is loaded only for the faces that need it

    # No settings file yet: the first-run wizard comes before the tray (never in the
    # demo, which has its own profile, nor when only measuring the start-up).
    first_run = not engine.profile.config.exists() and not args.exit_when_shown
    return run_tray(engine, exit_when_shown=args.exit_when_shown, first_run=first_run)


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
    parser.add_argument(
        "--selftest", nargs="?", const="-", metavar="FILE",
        help="check that this installation is complete (Qt, tray icon, package data, store,"
             " keyring, mail and calendar libraries), one line per check; exit 1 on a"
             " failure; with FILE, also write the lines there")
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

    delegate = sub.add_parser("delegate", parents=[common, jsonp],
                              help="hand an inquiry to your assistant")
    delegate.add_argument("id", type=int, help="inquiry id (from `heard status`)")
    delegate.add_argument("--to", metavar="NAME", help="the assistant (default: the first)")
    delegate.add_argument("--note", metavar="TEXT", help="a note for the assistant")
    delegate.add_argument("--due", metavar="TIME",
                          help="when they should have taken it up (default: from settings)")
    tell = delegate.add_mutually_exclusive_group()
    tell.add_argument("--tell-client", dest="tell_client", action="store_true", default=None,
                      help="tell the client who will help (default: from settings)")
    tell.add_argument("--no-tell-client", dest="tell_client", action="store_false",
                      help="do not tell the client")
    delegate.add_argument("--dry-run", action="store_true", help="show it, send nothing")

    doctor = sub.add_parser("doctor", parents=[common, jsonp],
                            help="check everything Heard needs, with a fix for each problem")
    doctor.add_argument("--offline", action="store_true",
                        help="skip the servers (accounts, calendars)")
    doctor.add_argument("--no-desktop", action="store_true",
                        help="skip the tray and notification checks")

    outbox = sub.add_parser("outbox", parents=[common, jsonp],
                            help="messages not sent yet, and deciding on unsure ones")
    outbox.add_argument("action", nargs="?", default="list",
                        choices=["list", "flush", "resend", "mark-sent", "cancel"],
                        help="list (default); flush: try now; resend / mark-sent: settle an"
                             " unsure message; cancel: do not send a queued one")
    outbox.add_argument("message_id", nargs="?", metavar="MESSAGE-ID")
    outbox.add_argument("--all", action="store_true", help="also the last two weeks' sent")

    sharing = sub.add_parser("sharing", parents=[common, jsonp],
                             help="this device among your others, and the settings they share")
    sharing.add_argument("action", nargs="?", default="status",
                         choices=["status", "sync", "push"],
                         help="status (default); sync: agree on the shared settings now;"
                              " push: this device's standards, templates and designated"
                              " device replace the shared ones")
    prospect = sub.add_parser("prospect", parents=[common, jsonp],
                              help="decide on a prospect: client, prospect, not-a-client")
    prospect.add_argument("decision",
                          choices=["client", "prospect", "not-a-client", "undo", "unlist"],
                          help="client: into the directory; prospect: keep; not-a-client:"
                               " never count this sender; undo: take back the last"
                               " decision; unlist: take a value off the not-a-client list")
    prospect.add_argument("target", nargs="?", metavar="ID|VALUE",
                          help="the inquiry id (from `heard status`), or for unlist the"
                               " address, domain or number")
    prospect.add_argument("--domain", action="store_true",
                          help="not-a-client: the sender's whole domain")
    prospect.add_argument("--tier", help="client: the tier (default standard)")
    stats = sub.add_parser("stats", parents=[common, jsonp],
                           help="how well your response standards are kept")
    stats.add_argument("--since", metavar="DATE", help="from (default: this Monday)")
    stats.add_argument("--until", metavar="DATE", help="until (default: now)")
    stats.add_argument("--by", default="all",
                       choices=["all", "week", "day", "client", "channel", "tier", "prospect"],
                       help="one line per week, day, client, channel, tier, or clients vs"
                            " prospects")
    kind = stats.add_mutually_exclusive_group()
    kind.add_argument("--prospects", action="store_true", help="new people only")
    kind.add_argument("--clients", action="store_true", help="clients only")
    stats.add_argument("--csv", action="store_true", help="CSV with the JSON's fields")
    stats.add_argument("--html", metavar="FILE", help="write a summary page to FILE")
    busy = sub.add_parser("busy", parents=[common, jsonp],
                          help="busy or free at an instant (default now), and until when")
    busy.add_argument("--at", metavar="TIME", help="HH:MM today or ISO-8601")
    explain = sub.add_parser("explain", parents=[common, jsonp],
                             help="what Heard makes of message files, and why")
    explain.add_argument("files", nargs="+", metavar="FILE", help=".eml or Maildir files")
    call = sub.add_parser("log-call", parents=[common, jsonp],
                          help="log a call by hand; it waits like any other contact")
    call.add_argument("--from", dest="who", required=True, metavar="NUMBER|CLIENT",
                      help="the caller's number, or a client's id or name")
    call.add_argument("--at", metavar="TIME", help="when they called (HH:MM or ISO-8601)")
    call.add_argument("--note", metavar="TEXT", help="what it was about")

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
        p.add_argument("--status-reports", choices=[*REPORT_EVERY, "none"],
                       help="how often this client wants a status report (a reminder"
                            " comes when one is due)")
        p.add_argument("--assistant", choices=["yes", "no"],
                       help="may your assistant deal with this client (no: Heard never"
                            " tells them an assistant is helping)")
    sent = csub.add_parser("report-sent", parents=[common],
                           help="note that a client had the status report they asked for")
    sent.add_argument("client", help="client id or name")
    rm = csub.add_parser("remove", parents=[common], help="remove a client")
    rm.add_argument("client", help="client id or name")
    imp = csub.add_parser("import", parents=[common, jsonp], help="import a .vcf or .csv file")
    imp.add_argument("file")

    account = sub.add_parser("account", parents=[common], help="mail accounts and calendars")
    asub = account.add_subparsers(dest="action", metavar="ACTION", required=True)
    asub.add_parser("list", parents=[common, jsonp], help="list accounts")
    add = asub.add_parser("add", parents=[common],
                          help="add an IMAP or CalDAV account, a Maildir or a calendar")
    add.add_argument("kind", choices=["imap", "maildir", "calendar", "caldav"])
    add.add_argument("path", nargs="?",
                     help="maildir: the folder; calendar: an .ics file, a folder of .ics"
                          " files or an https:// subscription; caldav: the server address")
    add.add_argument("--name")
    add.add_argument("--address", help="the address replies are sent from")
    add.add_argument("--sent", metavar="PATH", help="maildir: the Maildir of your sent mail")
    add.add_argument("--outbox", metavar="PATH",
                     help="maildir: the Maildir that replies are delivered to")
    add.add_argument("--host", help="imap: the server, e.g. imap.example.com")
    add.add_argument("--port", type=int, help="imap: the port (default 993 for tls, 143 else)")
    add.add_argument("--security", choices=["tls", "starttls", "plain"], default="tls",
                     help="imap: tls (default), starttls, or plain (this machine only)")
    add.add_argument("--username", help="imap: the login name (default: --address)")
    add.add_argument("--folder", action="append", default=[], metavar="NAME",
                     help="imap: a folder clients write to (default INBOX; repeatable)")
    add.add_argument("--sent-folder", metavar="NAME",
                     help="imap: your Sent folder (default: found on the server)")
    add.add_argument("--ca-file", metavar="PATH",
                     help="CA certificate of a server with its own authority")
    add.add_argument("--calendar", action="append", default=[], metavar="NAME",
                     help="caldav: a calendar that counts (default: all; repeatable)")
    add.add_argument("--smtp-host", metavar="HOST",
                     help="imap, maildir: the SMTP server replies leave by")
    add.add_argument("--smtp-port", type=int, metavar="PORT",
                     help="the SMTP port (default 587 for starttls, 465 for tls)")
    add.add_argument("--smtp-security", choices=["starttls", "tls", "plain"],
                     default="starttls", help="starttls (default), tls, or plain (this"
                     " machine only)")
    add.add_argument("--smtp-username", metavar="NAME",
                     help="the SMTP login (default: the IMAP username; its password is"
                          " asked for separately when it differs)")
    add.add_argument("--smtp-ca-file", metavar="PATH", help="CA file of the SMTP server")
    add.add_argument("--sent-copy", choices=["append", "server"], default="append",
                     help="append (default): Heard files each reply in Sent; server: the"
                          " server does it itself (Gmail)")
    add.add_argument("--password-stdin", action="store_true",
                     help="imap: read the password from stdin (for scripts; a second line"
                          " is the SMTP password when its username differs)")
    add.add_argument("--no-test", action="store_true",
                     help="imap: add the account without logging in first")
    pw = asub.add_parser("password", parents=[common],
                         help="store a new password for an account in the keyring")
    pw.add_argument("name")
    pw.add_argument("--smtp", action="store_true",
                    help="the account's SMTP password (when its login differs from IMAP)")
    pw.add_argument("--password-stdin", action="store_true", help="read it from stdin")
    test = asub.add_parser("test", parents=[common], help="check that accounts can be read")
    test.add_argument("name", nargs="?")
    rma = asub.add_parser("remove", parents=[common], help="remove an account")
    rma.add_argument("name")
    return parser


COMMANDS: dict[str | None, Callable[[argparse.Namespace, Engine], int]] = {
    None: cmd_tray, "status": cmd_status, "sync": cmd_sync, "ack": cmd_ack,
    "clients": cmd_clients, "account": cmd_account, "answered": cmd_close, "dismiss": cmd_close,
    "explain": cmd_explain, "busy": cmd_busy, "stats": cmd_stats, "log-call": cmd_log_call,
    "prospect": cmd_prospect, "delegate": cmd_delegate, "outbox": cmd_outbox,
    "sharing": cmd_sharing,
    "doctor": cmd_doctor,
}


# Commands after which a running tray should read the store again.
CHANGING = frozenset({"sync", "ack", "delegate", "answered", "dismiss", "prospect",
                      "clients", "outbox", "log-call", "account"})


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
    if args.selftest is not None:
        from heard.gui.selftest_gui import main as selftest

        return selftest(None if args.selftest == "-" else args.selftest)
    try:
        if args.command == "demo":
            return cmd_demo(args)
        profile = Profile.locate(args.profile)
        heard_log.setup(profile.log if args.command is None else None, args.verbose)
        engine = Engine.open(profile)
        try:
            code = COMMANDS[args.command](args, engine)
        finally:
            engine.close()
        if args.command in CHANGING and not getattr(args, "dry_run", False):
            from heard.instance import tell_running

            tell_running(profile)   # a running tray shows the change now, not at its tick
        return code
    except UsageError as exc:
        parser.print_usage(sys.stderr)
        print(f"heard: {exc}", file=sys.stderr)
        return 2
    except ConfigError as exc:
        return _fail(args, f"the settings file has problems:\n{exc}")
    except (EngineError, StoreError, TemplateError, OSError,
            ValueError) as exc:  # CalendarError and ImportFormatError are ValueErrors
        return _fail(args, str(exc))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())

