"""Act: the one-click actions, scriptable (`heard ack`, `delegate`, `answered`, `dismiss`,
`log-call`, `prospect`, `snooze`) and the outbox."""

from __future__ import annotations

import argparse
import sys

from heard.cli.output import (
    ack_json,
    client_json,
    dump,
    iso,
    outbox_json,
    skipped_json,
    time_arg,
)
from heard.cli.parser import UsageError
from heard.domain.ids import InquiryId
from heard.domain.wording import day_and_time
from heard.engine import Delivery, Engine, EngineError


def cmd_prospect(args: argparse.Namespace, engine: Engine) -> int:
    if args.decision == "undo":
        decision = engine.prospects.undo()
        print(f"Undone: {decision.kind} for {decision.person.name}.")
        return 0
    if args.decision == "unlist":
        if not args.target:
            raise UsageError("prospect unlist needs the address, domain or number")
        if not engine.clients.remove_not_client(args.target):
            raise EngineError(f"{args.target!r} is not on the not-a-client list")
        print(f"{args.target} is no longer on the not-a-client list.")
        return 0
    if not args.target or not args.target.isdigit():
        raise UsageError(f"prospect {args.decision} needs an inquiry id (from `heard status`)")
    decision = engine.prospects.decide(InquiryId(int(args.target)), args.decision,
                             whole_domain=args.domain, tier=args.tier)
    if args.json:
        dump(decision.to_json())
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


def cmd_log_call(args: argparse.Namespace, engine: Engine) -> int:
    zone = engine.settings.zone
    at = time_arg(args.at, zone, engine.clock.now()) if args.at else None
    inquiry = engine.inquiries.log_call(args.who, at, args.note or "")
    client = next((c for c in engine.clients.all() if c.id == inquiry.client_id), None)
    if args.json:
        dump({"id": inquiry.id, "client_id": inquiry.client_id, "number": inquiry.sender
               or None, "received_at": iso(inquiry.received_at, zone),
               "subject": inquiry.subject, "note": inquiry.preview or None,
               "prospect": client is not None and client.prospect})
    elif client is not None and client.prospect:
        print(f"Logged #{inquiry.id}: {inquiry.subject}, a new caller (a prospect: `heard"
              f" prospect client {inquiry.id}` makes them a client). It waits like any"
              " other contact.")
    else:
        print(f"Logged #{inquiry.id}: {inquiry.subject}. It waits like any other contact.")
    return 0


def cmd_ack(args: argparse.Namespace, engine: Engine) -> int:
    zone = engine.settings.zone
    reply_by = time_arg(args.reply_by, zone, engine.clock.now()) if args.reply_by else None
    result = engine.replies.acknowledge(InquiryId(args.id), args.template, reply_by,
                                        args.dry_run, only=args.only)
    code = 0 if result.sent or args.dry_run or result.call_back \
        or result.state in (Delivery.QUEUED, Delivery.REQUESTED) else 1
    if args.json:
        dump(ack_json(result, zone))
        return code
    if result.state is Delivery.REQUESTED:   # designated-only: another device sends it
        print(f"Passed on: {result.error}.")
        return 0
    if result.call_back:
        print(f"{result.body} ({result.call_back}). No address to write to: Heard reminds"
              " you before then." if not args.dry_run else
              f"No address to write to: you would promise to call back ({result.call_back}).")
        return 0
    verb = "Would send" if args.dry_run else ("Sent" if result.sent else "Not sent yet")
    several = (f" (one reply to {len(result.covers)} messages: "
               f"{', '.join(f'#{i}' for i in result.covers)})" if len(result.covers) > 1 else "")
    print(f"{verb} to {result.to}: {result.subject}{several}\n\n{result.body}")
    if result.state is Delivery.QUEUED and result.error:
        print(f"heard: {result.error}; Heard keeps trying (`heard outbox`)", file=sys.stderr)
    elif result.error:
        print(f"heard: {result.error}", file=sys.stderr)
    return code


def cmd_delegate(args: argparse.Namespace, engine: Engine) -> int:
    zone = engine.settings.zone
    due = time_arg(args.due, zone, engine.clock.now()) if args.due else None
    result = engine.replies.delegate(InquiryId(args.id), args.to, args.note or "", due,
                                     args.tell_client, args.dry_run, only=args.only)
    forward = engine.outbox.item(result.forward_id) if result.forward_id else None
    retrying = forward is not None and forward.state.value == "queued"
    requested = result.state is Delivery.REQUESTED   # designated-only: another device sends it
    code = 0 if result.sent or args.dry_run or retrying or requested else 1
    if args.json:
        dump({"id": result.inquiry_id, "assistant": {"name": result.assistant.name,
                                                      "address": result.assistant.address},
               "forward_id": result.forward_id or None, "due": iso(result.due, zone),
               "told_client": result.told_client, "sent": result.sent,
               "covers": list(result.covers),
               "state": result.state or ("sent" if result.sent else None),
               "error": result.error or None})
        return code
    if requested:
        print(f"Passed on: {result.error}.")
        return 0
    who = f"{result.assistant.name} <{result.assistant.address}>"
    verb = "Would forward" if args.dry_run else ("Forwarded" if result.sent else
                                                 "Not sent yet: forward")
    print(f"{verb} to {who}, due {iso(result.due, zone)}:\n\n{result.forward_body}")
    if result.told_client:
        print(f"\nThe client {'would be' if args.dry_run else 'will be'} told:\n\n"
              f"{result.tell_body}")
    if result.error:
        print(f"heard: {result.error}", file=sys.stderr)
    return code


def cmd_outbox(args: argparse.Namespace, engine: Engine) -> int:
    zone = engine.settings.zone
    if args.action in ("resend", "mark-sent", "cancel") and not args.message_id:
        raise UsageError(f"outbox {args.action} needs the MESSAGE-ID (from `heard outbox`)")
    if args.action in ("resend", "mark-sent", "cancel"):
        if args.action == "cancel":
            item = engine.outbox.cancel(args.message_id)
            waits = item.kind.value in ("ack", "auto", "forward")
            print(f"Cancelled {args.message_id}" + ("; the client is waiting again." if waits
                                                    else "."))
            return 0
        settle = engine.outbox.resend if args.action == "resend" else engine.outbox.mark_sent
        outcome = settle(args.message_id)
        print(f"{args.message_id}: {outcome.state.value}"
              + (f" ({outcome.error})" if outcome.error else ""))
        return 0 if outcome.out else 1
    if args.action == "flush":   # the user asks: now, whatever the back-off
        report = engine.retry_outbox(now=True)
        for error in report.errors:
            print(f"heard: {error}", file=sys.stderr)
    items = engine.outbox_items(everything=args.all)
    # What the autopilot did not write, and why: the other half of what it did.
    status = engine.status()
    left = [(w, status.autopilot_skipped[w.inquiry.id]) for w in status.waiting
            if w.inquiry.id in status.autopilot_skipped]
    if args.json:
        dump({"messages": [outbox_json(i, zone) for i in items],
              "autopilot_skipped": [{"inquiry": w.inquiry.id, "client": w.client.name,
                                     **(skipped_json(skipped, zone) or {})}
                                    for w, skipped in left]})
        return 0
    if not items:
        print("The outbox is empty: everything went out.")
    now = engine.clock.now()
    for item in items:
        when = day_and_time(item.created_at, now, zone)
        line = f"  {item.state.value:<9} {item.kind.value:<7} {when}  {item.recipient}"
        print(line + f"\n            {item.message_id}"
              + (f"\n            {item.error}" if item.error else ""))
    if left:
        print("Left to you by the autopilot:")
    for waiting, skipped in left:
        print(f"  #{waiting.inquiry.id} {waiting.client.name}"
              f" ({day_and_time(skipped.at, now, zone)}): {skipped.reason}")
    return 0


def cmd_close(args: argparse.Namespace, engine: Engine) -> int:
    close = engine.inquiries.mark_answered if args.command == "answered" \
        else engine.inquiries.dismiss
    closed = close(InquiryId(args.id), only=args.only)
    inquiry = closed[0]
    if args.json:
        dump({"id": inquiry.id, "state": inquiry.state.value,
               "closed_at": iso(inquiry.closed_at, engine.settings.zone),
               "covers": [i.id for i in closed]})
    else:
        others = (f" (with the client's other waiting"
                  f" {'message' if len(closed) == 2 else 'messages'}: "
                  f"{', '.join(f'#{i.id}' for i in closed[1:])})" if len(closed) > 1 else "")
        print(f"Inquiry {inquiry.id} is now {inquiry.state.value}{others}.")
    return 0


def cmd_snooze(args: argparse.Namespace, engine: Engine) -> int:
    from heard.domain.snoozes import NotInMeeting, snooze_time

    zone = engine.settings.zone
    now = engine.clock.now()
    if args.off:
        group, ended = engine.inquiries.unsnooze(args.who)
        until = None
    else:
        busy = engine.status().busy if args.until.strip().lower().startswith("meeting") \
            else None
        try:
            until = snooze_time(args.until, now, engine.settings.hours, busy)
        except NotInMeeting as exc:
            raise EngineError(str(exc)) from exc
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
        group, _snooze = engine.inquiries.snooze(args.who, until)
    name = group.client.display_name
    if args.json:
        dump({"client": client_json(group.client), "inquiries": list(group.ids),
               "snoozed": until is not None, "until": iso(until, zone),
               "ack_due": iso(group.ack_due, zone)})
    elif until is None:
        print(f"{name} is counted again." if ended is not None else
              f"{name} was not snoozed; they are counted as waiting.")
    else:
        print(f"{name} is set aside until {day_and_time(until, now, zone)}: not counted"
              f" meanwhile, and back at once if they write again. Their acknowledgement is"
              f" still due {day_and_time(group.ack_due, now, zone)} (you will be warned).")
    return 0
