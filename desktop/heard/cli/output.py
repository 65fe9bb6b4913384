"""What the command line prints: stable JSON (one object, ISO-8601 times with offsets,
null for unknown) and the same facts for people."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO, cast

from heard.cli.parser import UsageError
from heard.domain.autopilot import Skipped
from heard.domain.busy import BusyState
from heard.domain.clients import Client
from heard.domain.outbox import OutboxItem
from heard.domain.wording import day_and_time
from heard.engine import (
    AccountHealth,
    Explanation,
    Status,
    SyncReport,
)

if TYPE_CHECKING:
    from heard.domain.absences import Absence
    from heard.domain.classify import Person
    from heard.domain.followups import Owed
    from heard.domain.snoozes import SnoozedClient
    from heard.engine.results import AckResult


def iso(at: datetime | None, zone: Any) -> str | None:
    return at.astimezone(zone).isoformat(timespec="seconds") if at else None


def client_json(client: Client | None) -> dict[str, Any] | None:
    if client is None:
        return None
    return {
        "id": client.id, "name": client.name, "preferred_name": client.preferred_name,
        "tier": client.tier, "channel": client.channel.value, "emails": list(client.emails),
        "domains": list(client.domains), "phones": list(client.phones),
        "preferences": dict(client.preferences),
        # The language replies are written in and the client's time zone; null: the user's.
        "language": client.language, "zone": client.zone,
    }


def busy_json(busy: BusyState | None, zone: Any, stale: bool = False) -> dict[str, Any]:
    if busy is None:
        return {"now": None, "until": None, "next_free": None, "stale": False, "away": None}
    return {"now": busy.now, "until": iso(busy.until, zone),
            "next_free": iso(busy.next_free, zone), "stale": stale, "away": busy.away}


def skipped_json(skipped: Skipped | None, zone: Any) -> dict[str, Any] | None:
    if skipped is None:
        return None
    return {"at": iso(skipped.at, zone), "reason": skipped.reason}


def status_json(status: Status, zone: Any) -> dict[str, Any]:
    return {
        "at": iso(status.at, zone),
        "count": status.count,
        "urgency": status.urgency.value if status.urgency else None,
        "busy": busy_json(status.busy, zone, status.calendar_stale),
        "waiting": [
            {
                "id": item.inquiry.id,
                "client": client_json(item.client),
                "channel": item.inquiry.channel.value,
                "received_at": iso(item.inquiry.received_at, zone),
                "ack_due": iso(item.ack_due, zone),
                "answer_due": iso(item.answer_due, zone),
                "urgency": item.urgency.value,
                "subject": item.inquiry.subject,
                "from": item.inquiry.sender,
                "prospect": item.client.prospect,
                "unsure": item.inquiry.unsure or None,
                "owner": status.owners.get(item.inquiry.id) if item.inquiry.id else None,
                "autopilot_skipped": skipped_json(status.autopilot_skipped.get(
                    item.inquiry.id) if item.inquiry.id else None, zone),
                # Delegated, and the assistant let the due time pass: back with the user.
                "escalated_from": item.escalated_from,
            }
            for item in status.waiting
        ],
        # The same waiting list per client, the unit of work (one row, one reply).
        "clients": [
            {
                "client": client_json(group.client),
                "inquiries": list(group.ids),
                "urgency": group.urgency.value,
                "ack_due": iso(group.ack_due, zone),
                "waiting_since": iso(group.first.inquiry.received_at, zone),
            }
            for group in status.clients
        ],
        "promises": [
            {
                "inquiry": view.promise.inquiry_id,
                "client": client_json(view.client),
                "made_at": iso(view.promise.made_at, zone),
                "due": iso(view.promise.due, zone),
                "text": view.promise.text,
                "subject": view.subject,
            }
            for view in status.promises
        ],
        "problems": status.problems,
        "accounts": [accounts_json(a, zone) for a in status.accounts],
        "reports_due": [{"client": client_json(c), "due": iso(due, zone)}
                        for c, due in status.reports_due],
        "outbox": [outbox_json(i, zone) for i in status.outbox],
        "instance": status.instance,
        "delegations": [{"inquiry": d.inquiry_id, "assistant": d.assistant,
                         "address": d.address, "made_at": iso(d.made_at, zone),
                         "due": iso(d.due, zone), "overdue": d.overdue(status.at)}
                        for d in status.delegations],
        "assigned": [{"inquiry": v.assignment.inquiry_id,
                      "client": client_json(v.client) if v.client else None,
                      "subject": v.subject, "to_me": v.to_me, "by": v.assignment.by,
                      "assistant": v.assignment.assistant or None,
                      "address": v.assignment.address or None,
                      "made_at": iso(v.assignment.made_at, zone),
                      "due": iso(v.assignment.due, zone),
                      "overdue": v.assignment.overdue(status.at),
                      "note": v.assignment.note or None}
                     for v in status.assigned],
        "handled_elsewhere": [
            {"inquiry": inquiry.id, "client": client_json(client) if client else None,
             "subject": inquiry.subject, "state": inquiry.state.value, "by": by,
             "at": iso(inquiry.closed_at or inquiry.acknowledged_at, zone)}
            for inquiry, client, by in status.handled_elsewhere],
        "sharing_notice": status.sharing_notice or None,
        # Waiting clients set aside until a time: not in `waiting`, `clients` nor `count`.
        "snoozed": [snoozed_json(s, zone) for s in status.snoozed],
        # Clients who owe the user a reply (a follow-up came due): never in `count`.
        "owed": [owed_json(o, zone) for o in status.owed],
        # The absence in force (the autopilot tells clients once), else null.
        "away": absence_json(status.away, zone) if status.away is not None else None,
    }


def absence_json(absence: Absence, zone: Any) -> dict[str, Any]:
    return {"id": absence.id or None, "from": iso(absence.starts, zone),
            "until": iso(absence.ends, zone), "template": absence.template,
            "deputy": absence.deputy or None, "tiers": list(absence.tiers),
            "source": absence.source}


def owed_json(owed: Owed, zone: Any) -> dict[str, Any]:
    from heard.cli.followups import follow_up_json

    return follow_up_json(owed.follow_up, owed.client, zone)


def snoozed_json(snoozed: SnoozedClient, zone: Any) -> dict[str, Any]:
    group = snoozed.waiting
    return {"client": client_json(group.client), "until": iso(snoozed.until, zone),
            "since": iso(snoozed.snooze.set_at, zone), "inquiries": list(group.ids),
            "urgency": group.urgency.value, "ack_due": iso(group.ack_due, zone),
            "waiting_since": iso(group.first.inquiry.received_at, zone)}


def accounts_json(health: AccountHealth, zone: Any) -> dict[str, Any]:
    return {"name": health.name, "kind": health.kind, "online": health.online,
            "problem": health.problem or None, "since": iso(health.since, zone),
            "push": health.push, "last_sync": iso(health.last_sync, zone)}


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
    elif status.busy.away:
        busy = f"Out of the office until {short(status.busy.next_free, zone, status.at)}"
    elif status.busy.now:
        busy = f"Busy until {short(status.busy.until, zone, status.at)}"
    else:
        busy = "Free now"
    if status.busy is not None and status.busy.next_free and status.busy.now \
            and not status.busy.away:
        busy += f", next free {short(status.busy.next_free, zone, status.at)}"
    people = "client" if status.count == 1 else "clients"
    print(f"{status.count} {people} waiting. {busy}.")
    for item in status.waiting:
        waited = _ago(status.at, item.inquiry.received_at)
        print(f"  #{item.inquiry.id:<4} {item.client.display_name:<16} "
              f"{item.inquiry.channel.value:<5} waited {waited:>12}"
              f"  ack by {short(item.ack_due, zone, status.at)} [{item.urgency.value}]  "
              f"{item.inquiry.subject[:40]}")
        if item.escalated_from:
            print(f"        {item.escalated_from} has not answered: back to you")
        skipped = status.autopilot_skipped.get(item.inquiry.id) if item.inquiry.id else None
        if skipped is not None:
            print(f"        left to you by the autopilot: {skipped.reason}")
    if status.snoozed:
        print("Snoozed (not counted; their deadlines keep running):")
    for snoozed in status.snoozed:
        group = snoozed.waiting
        print(f"  #{group.ids[0]:<4} {group.client.display_name:<16} until"
              f" {short(snoozed.until, zone, status.at)}  ack by"
              f" {short(group.ack_due, zone, status.at)} [{group.urgency.value}]"
              f"  {group.newest.inquiry.subject[:40]}")
    if status.away is not None:
        deputy = f", {status.away.deputy} stands in" if status.away.deputy else ""
        print(f"Away until {short(status.away.ends, zone, status.at)}{deputy}: clients"
              f" ({', '.join(status.away.tiers)}) are told once ({status.away.source})")
    if status.owed:
        print("Owe you a reply (not counted; `heard nudge ID`):")
    for owed in status.owed:
        f = owed.follow_up
        print(f"  {f.id:<4} {owed.client.display_name:<16} since"
              f" {short(f.due, zone, status.at)}  {f.about()[:50]}")
    if status.promises:
        print("Promises:")
        for view in status.promises:
            who = view.client.display_name if view.client else "?"
            due = short(view.promise.due, zone, status.at)
            print(f"  #{view.promise.inquiry_id:<4} {who:<16} due {due}"
                  f"  {view.subject[:40]}")
    for to_me, title in ((True, "Delegated to you:"), (False, "With your assistant:")):
        handed = [v for v in status.assigned if v.to_me is to_me]
        if handed:
            print(title)
        for hand in handed:
            a = hand.assignment
            who = hand.client.display_name if hand.client else "?"
            late = " OVERDUE" if a.overdue(status.at) else ""
            print(f"  #{a.inquiry_id:<4} {who:<16} due {short(a.due, zone, status.at)}{late}"
                  f"  from {a.by}" + ("" if to_me else f" to {a.assistant or a.address}")
                  + f"  {hand.subject[:40]}" + (f"\n        note: {a.note}" if a.note else ""))
    if status.handled_elsewhere:
        print("Taken care of on your other devices (last day):")
    for inquiry, client, by in status.handled_elsewhere:
        print(f"  #{inquiry.id:<4} {client.display_name if client else '?':<16}"
              f" {inquiry.state.value:<12} by {by}"
              f" {short(inquiry.closed_at or inquiry.acknowledged_at, zone, status.at)}"
              f"  {inquiry.subject[:40]}")
    if status.sharing_notice:
        print(f"Note: {status.sharing_notice}.")
    for problem in status.problems:
        print(f"warning: {problem}", file=sys.stderr)


def short(at: datetime | None, zone: Any, now: datetime) -> str:
    """A moment as a person says it near `now`: "today 12:19", "tomorrow 09:00"."""
    return day_and_time(at, now, zone) if at else "-"


def dump(data: Any) -> None:
    """JSON as the data is (JSON escapes control characters itself): past the terminal
    filter, so a script reads a subject exactly as the mail had it."""
    out = sys.stdout
    print(json.dumps(data, indent=2, ensure_ascii=False),
          file=out.unfiltered if isinstance(out, TerminalText) else out)


# What a terminal must not be given from mail: C0 and C1 control characters (an escape
# sequence can clear the screen, retitle the window or rewrite the line above; a bell
# rings), a carriage return that is not a line end (it overwrites what went before), and
# the characters that change the direction of text (a bidi override shows 'exe.gpj' as
# 'jpg.exe'). Line breaks and tabs stay.
_NOT_FOR_TERMINALS = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
    "|\r(?!\n)")


def for_terminal(text: str) -> str:
    """`text` with nothing a terminal would obey rather than show (_NOT_FOR_TERMINALS)."""
    return _NOT_FOR_TERMINALS.sub("", text)


class TerminalText:
    """stdout or stderr for people: every write goes through for_terminal, so a subject,
    a name or a server's words from mail reach the terminal as text, whichever command
    prints them. `unfiltered` is the stream itself (for JSON)."""

    def __init__(self, stream: TextIO) -> None:
        self.unfiltered = stream

    def write(self, text: str) -> int:
        self.unfiltered.write(for_terminal(text))
        return len(text)

    def flush(self) -> None:
        self.unfiltered.flush()

    def __getattr__(self, name: str) -> Any:   # isatty, fileno, encoding, ...
        return getattr(self.unfiltered, name)


@contextmanager
def terminal_text() -> Iterator[None]:
    """While a command runs, what it prints for people is filtered (TerminalText)."""
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = cast(TextIO, TerminalText(out)), cast(TextIO, TerminalText(err))
    try:
        yield
    finally:
        sys.stdout, sys.stderr = out, err


def time_arg(text: str, zone: Any, now: datetime) -> datetime:
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
        "unsure": verdict.unsure or None if verdict else None,
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


def date_arg(text: str, zone: Any) -> datetime:
    try:
        day = datetime.fromisoformat(text)
    except ValueError as exc:
        raise UsageError(f"{text!r} is not a date; write it like 2026-11-23") from exc
    return day if day.tzinfo else day.replace(tzinfo=zone)


def ack_json(result: AckResult, zone: Any) -> dict[str, Any]:
    return {"id": result.inquiry_id, "message_id": result.message_id or None,
            "to": result.to or None, "subject": result.subject, "body": result.body,
            "template": result.template, "reply_by": iso(result.reply_by, zone),
            "sent": result.sent, "state": result.state or None, "error": result.error or None,
            "call_back": result.call_back or None, "covers": list(result.covers)}


def outbox_json(item: OutboxItem, zone: Any) -> dict[str, Any]:
    return {"message_id": item.message_id, "inquiry": item.inquiry_id, "kind": item.kind.value,
            "account": item.account, "to": item.recipient, "state": item.state.value,
            "attempts": item.attempts, "created_at": iso(item.created_at, zone),
            "next_try": iso(item.next_try, zone) if item.state.value == "queued" else None,
            "sent_at": iso(item.sent_at, zone), "filed_at": iso(item.filed_at, zone),
            "error": item.error or None}
