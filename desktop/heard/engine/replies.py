"""Acknowledging, delegating and the autopilot: every message Heard writes for the user.

Each one is composed from a template, written to the store together with what it changes
(the inquiry's state, the promise, the delegation) in one transaction, and only then
handed to the outbox, which puts it on the wire at most once.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from heard.config import Account, Assistant, ImapAccount, MaildirAccount, Settings
from heard.devices.imap import Claim, Refused, Sharing, Where
from heard.domain.busy import BusyState
from heard.domain.clients import Channel, Client
from heard.domain.clock import Clock
from heard.domain.delegations import Delegation
from heard.domain.ids import ClientId, InquiryId
from heard.domain.inquiries import Inquiry, InquiryState
from heard.domain.outbox import OutboxItem, OutboxKind, OutboxState
from heard.domain.promises import Promise
from heard.domain.templates import Template, format_time, header_safe
from heard.engine.outbox import Outbox, crash_point
from heard.errors import EngineError
from heard.mail.compose import build_forward, build_reply, make_message_id
from heard.mail.parse import valid_address
from heard.store import Store

log = logging.getLogger(__name__)


class ReplyError(EngineError):
    """An expected failure, told to the user as is."""


@dataclass(frozen=True)
class AckResult:
    inquiry_id: InquiryId
    message_id: str
    to: str
    subject: str
    body: str
    reply_by: datetime
    template: str
    sent: bool
    state: str = ""           # the outbox state: queued, sent, filed, failed, unsure
    error: str = ""
    call_back: str = ""       # a call with no address to write to: "tel:+1..." to call
    automatic: bool = False


@dataclass(frozen=True)
class DelegateResult:
    inquiry_id: InquiryId
    assistant: Assistant
    forward_id: str
    forward_body: str
    due: datetime
    told_client: bool
    tell_body: str
    sent: bool
    error: str = ""
    state: str = ""           # "requested": passed to the designated device, sent from there


class Host(Protocol):
    """What replies need from the engine (which owns the lock, the calendar and events)."""

    store: Store
    clock: Clock
    settings: Settings
    templates: dict[str, Template]
    _lock: threading.RLock

    @property
    def outbox(self) -> Outbox: ...

    @property
    def sharing(self) -> Sharing: ...

    def busy(self, at: datetime | None = None) -> BusyState | None: ...

    def _emit_changed(self) -> None: ...

    def _emit_toast(self, title: str, text: str) -> None: ...

    def _emit_error(self, message: str) -> None: ...


def _round_up(at: datetime, minutes: int = 15) -> datetime:
    """Promises fall on the quarter hour: "by 4:30", not "by 4:27"."""
    import math

    stamp = at.timestamp()
    step = minutes * 60
    return datetime.fromtimestamp(math.ceil(stamp / step) * step, at.tzinfo)


class Replies:
    def __init__(self, host: Host) -> None:
        self.host = host
        self._autopilot_lock = threading.Lock()

    @property
    def _settings(self) -> Settings:
        return self.host.settings

    # what the replies say

    def reply_by(self, now: datetime, busy: BusyState | None,
                 promise: str = "next_free") -> datetime:
        """When a reply is promised: per the template's `promise`, in working hours."""
        hours, margin = self._settings.hours, self._settings.reply_margin
        if promise == "end_of_day":
            day = hours.next_opening(now).astimezone(hours.zone).date()
            return hours.openings(day)[-1][1]
        if promise == "tomorrow_morning":
            today = now.astimezone(hours.zone).date()
            start = hours.next_opening(now)
            while start.astimezone(hours.zone).date() <= today:
                start = hours.next_opening(hours.openings(
                    start.astimezone(hours.zone).date())[-1][1])
            return _round_up(start + margin)
        start = busy.next_free if busy and busy.next_free else now
        start = max(start, hours.next_opening(start))
        return _round_up(start + margin)

    def template_for(self, name: str | None, busy: BusyState | None,
                     client: Client | None = None, inquiry: Inquiry | None = None) -> Template:
        templates = self.host.templates
        chosen = name or self._settings.reply_template
        if name is None and client is not None and client.prospect \
                and "first-contact" in templates:
            chosen = "first-contact"   # someone new: thanked for reaching out
        elif name is None and inquiry is not None and inquiry.channel is Channel.CALL \
                and "call-back" in templates:
            chosen = "call-back"
        if name is None and busy is not None and busy.now and f"{chosen}-busy" in templates:
            chosen = f"{chosen}-busy"
        try:
            return templates[chosen]
        except KeyError:
            raise ReplyError(f"there is no template {chosen!r}; known: "
                             f"{', '.join(sorted(templates))}") from None

    def values(self, client: Client, inquiry: Inquiry, busy: BusyState | None,
               promised: datetime, now: datetime,
               assistant: Assistant | None = None) -> dict[str, str]:
        zone = self._settings.zone
        helper = assistant or next(iter(self._settings.assistants), None)
        return {
            "client.name": client.display_name,
            "client.full_name": client.name,
            "user.name": self._settings.user.name,
            "assistant.name": helper.name if helper else self._settings.assistant_name,
            "busy_until": format_time(busy.until, zone, now) if busy and busy.until
            else "now",
            "next_free": format_time(busy.next_free, zone, now)
            if busy and busy.next_free else "now",
            "reply_by": format_time(promised, zone, now),
            "subject": inquiry.subject,
        }

    def _account(self, name: str) -> Account | None:
        accounts = self._settings.accounts
        return next((a for a in accounts if a.name == name), accounts[0] if accounts else None)

    def _sender(self, account: Account | None) -> str:
        sender = (account.address if account and account.address else
                  next(iter(self._settings.user.addresses), ""))
        if not valid_address(sender):
            raise ReplyError(
                "Heard does not know your address: set it with `heard account add ..."
                " --address you@example.com` or in heard.toml, [user] addresses")
        return sender

    def _open(self, inquiry_id: InquiryId, states: tuple[InquiryState, ...]
              ) -> tuple[Inquiry, Client]:
        from heard.errors import NoSuchInquiry, NotWaiting

        inquiry = self.host.store.inquiry(inquiry_id)
        if inquiry is None:
            raise NoSuchInquiry(inquiry_id)
        if inquiry.state not in states:
            raise NotWaiting(inquiry)
        client = self.host.store.client(inquiry.client_id)
        if client is None:
            raise ReplyError(f"the client of inquiry {inquiry_id} was removed")
        return inquiry, client

    @staticmethod
    def reply_address(inquiry: Inquiry, client: Client) -> str | None:
        """Where an acknowledgement goes; None for a call from someone with no address."""
        if inquiry.channel is Channel.CALL:
            if valid_address(inquiry.reply_to):
                return inquiry.reply_to
            return next((e for e in client.emails if valid_address(e)), None)
        return inquiry.reply_address

    # acknowledging

    def acknowledge(self, inquiry_id: InquiryId, template: str | None = None,
                    reply_by: datetime | None = None, dry_run: bool = False, *,
                    subject: str | None = None, body: str | None = None,
                    delay: timedelta = timedelta(0), automatic: bool = False) -> AckResult:
        """Tell the client they are heard, and record the promise it makes.

        `subject`/`body` replace the template's text (edited before sending); with a
        `delay` the message waits in the outbox that long (the window's Undo) before
        `send_queued` or the next flush sends it.
        """
        host = self.host
        now = host.clock.now()
        if reply_by is not None and reply_by <= now:
            raise ReplyError(f"{reply_by:%H:%M} has passed: promise a time still to come")
        where = None
        if not dry_run:
            inquiry, client = self._open(inquiry_id, (InquiryState.WAITING,))
            if self.reply_address(inquiry, client) is not None:
                # Before anything is queued: no other device of the user's may answer too.
                claim = self._claim_or_request(inquiry)
                if claim.requested:
                    options = {k: v for k, v in (("template", template or ""), (
                        "reply_by", reply_by.isoformat() if reply_by else "")) if v}
                    host.sharing.request(inquiry, "ack", options)
                    return AckResult(inquiry_id, "", self.reply_address(inquiry, client) or "",
                                     "", "", reply_by or now, template or "", sent=False,
                                     state="requested", error="the mail server cannot"
                                     " coordinate your devices: it goes out from"
                                     f" {claim.requested!r}")
                where = claim.where
        try:
            return self._acknowledge(inquiry_id, template, reply_by, dry_run, subject, body,
                                     delay, automatic, now, where)
        except BaseException:
            if where is not None:
                host.sharing.release(where)
            raise

    def designated(self, inquiry: Inquiry) -> str:
        """The device that alone acts for the inquiry's account: on a server that keeps no
        keywords, `[sharing] designated_instance` (maybe this one); "" where every device
        may act (claims permitting). Asks the server once per account (EngineError when it
        cannot be reached: nothing may be done as if this device were the designated one)."""
        from heard.devices.wire.claims import Mode
        from heard.mail.imap import ImapError

        designated = self._settings.designated_instance
        account = next((a for a in self._settings.accounts if a.name == inquiry.account),
                       None)
        if not designated or not isinstance(account, ImapAccount):
            return ""
        try:
            mode = self.host.sharing.capabilities(account).mode
        except ImapError as exc:
            raise EngineError(f"cannot reach {account.host} to learn which of your devices"
                              f" acts for this account ({exc}); try again") from exc
        return designated if mode is Mode.DESIGNATED else ""

    def _claim_or_request(self, inquiry: Inquiry) -> Claim:
        try:
            return self.host.sharing.claim(inquiry)
        except Refused as exc:
            self._follow(inquiry, exc)
            raise

    def _follow(self, inquiry: Inquiry, refused: Refused) -> None:
        """Another device already took care of it: show that here too."""
        store, now = self.host.store, self.host.clock.now()
        assert inquiry.id is not None
        if refused.owner:
            store.set_owner(inquiry.id, refused.owner)
        moved = {"acked": inquiry.acknowledge, "sent": inquiry.acknowledge,
                 "delegated": inquiry.delegate, "dismissed": inquiry.dismiss,
                 "answered": inquiry.answer}.get(refused.done)
        if moved is not None and inquiry.state is InquiryState.WAITING:
            store.move_inquiry(moved(max(now, inquiry.last_activity)), InquiryState.WAITING)
            self.host._emit_changed()

    def _acknowledge(self, inquiry_id: InquiryId, template: str | None,
                     reply_by: datetime | None, dry_run: bool, subject: str | None,
                     body: str | None, delay: timedelta, automatic: bool, now: datetime,
                     where: Where | None) -> AckResult:
        host = self.host
        with host._lock:
            inquiry, client = self._open(inquiry_id, (InquiryState.WAITING,))
            busy = host.busy(now)
            chosen = self.template_for(template, busy, client, inquiry)
            promised = reply_by or self.reply_by(now, busy, chosen.promise)
            values = self.values(client, inquiry, busy, promised, now)
            rendered_subject, text = chosen.render(values)
            if body is not None:
                text = body
            if subject is not None:
                rendered_subject = header_safe(subject)
            to = self.reply_address(inquiry, client)
            if to is None:
                return self._call_back(inquiry, client, promised, values, chosen, dry_run)
            if not valid_address(to):
                raise ReplyError(f"{to!r} is not an address Heard can reply to")
            sender = self._sender(self._account(inquiry.account))
            message_id = make_message_id(sender.rpartition("@")[2])
            # A call came in as a voicemail notification the client never saw: the reply
            # names it (X-Heard-Acknowledges) but does not thread on it.
            threaded = inquiry.channel is not Channel.CALL
            msg = build_reply(
                sender_name=self._settings.user.name, sender_addr=sender,
                to_name=client.name, to_addr=to, subject=rendered_subject, body=text,
                in_reply_to=inquiry.message_id if threaded else "",
                references=tuple(t for t in inquiry.thread_ids if t != inquiry.message_id)
                if threaded else (),
                date=now, message_id=message_id, acknowledges=inquiry.message_id,
                promise=promised,
            )
            result = AckResult(inquiry_id, message_id, to, str(msg["Subject"]), text,
                               promised, chosen.name, sent=False, automatic=automatic)
            if dry_run:
                return result
            host.outbox.transport(inquiry.account)  # no way to send: say so before changing
            with host.store.transaction():
                if not host.store.move_inquiry(inquiry.acknowledge(now), InquiryState.WAITING):
                    from heard.errors import NotWaiting

                    raise NotWaiting(host.store.inquiry(inquiry_id) or inquiry)
                host.store.add_outbox(OutboxItem(
                    message_id, inquiry_id, OutboxKind.AUTO if automatic else OutboxKind.ACK,
                    inquiry.account, bytes(msg), OutboxState.QUEUED, now,
                    next_try=now + delay if delay else None, thread=_thread(inquiry),
                    recipient=to, shared=where.to_text() if where else ""))
                if where is not None:
                    host.store.set_owner(inquiry_id, host.sharing.instance)
                host.store.add_promise(Promise(inquiry_id, client.id or ClientId(0), now,
                                               promised, f"reply by {values['reply_by']}"))
        crash_point("queued")
        host._emit_changed()
        if delay:
            return dataclasses.replace(result, state=OutboxState.QUEUED.value)
        return self._deliver(result)

    def _deliver(self, result: AckResult) -> AckResult:
        outcome = self.host.outbox.deliver(result.message_id)
        self.host._emit_changed()
        if outcome.state is OutboxState.QUEUED and outcome.error:
            # Said once, here; the retries stay quiet while `heard status` keeps saying it.
            self.host._emit_error(f"not sent yet: {outcome.error}; Heard keeps trying")
        return dataclasses.replace(result, sent=outcome.out, state=outcome.state.value,
                                   error=outcome.error)

    def send_queued(self, message_id: str) -> AckResult | None:
        """Send a message held back for Undo (no-op if it was cancelled or already sent)."""
        item = self.host.store.outbox_item(message_id)
        if item is None or item.state is not OutboxState.QUEUED:
            return None
        outcome = self.host.outbox.deliver(message_id)
        self.host._emit_changed()
        return AckResult(item.inquiry_id or InquiryId(0), message_id, item.recipient, "", "",
                         item.created_at, "", outcome.out, outcome.state.value, outcome.error)

    def _call_back(self, inquiry: Inquiry, client: Client, promised: datetime,
                   values: dict[str, str], chosen: Template, dry_run: bool) -> AckResult:
        """A caller with no address: nothing can be sent, so the acknowledgement becomes the
        user's promise to call back (reminded like any promise; the client still waits)."""
        assert inquiry.id is not None
        number = inquiry.sender if inquiry.sender.startswith("+") else next(
            iter(client.phones), inquiry.sender)
        if not number:
            raise ReplyError(f"{client.name} left no number and no address: there is no one"
                             " to reply to; mark it answered or dismiss it")
        result = AckResult(inquiry.id, "", "", "", f"Call {client.name} back by"
                           f" {values['reply_by']}", promised, chosen.name, sent=False,
                           call_back=f"tel:{number}")
        if dry_run:
            return result
        host = self.host
        if any(p.inquiry_id == inquiry.id for p in host.store.open_promises()):
            raise ReplyError(f"you already promised {client.name} a call back; when you have"
                             f" called, `heard answered {inquiry.id}`")
        host.store.add_promise(Promise(inquiry.id, client.id or ClientId(0), host.clock.now(),
                                       promised, f"call back by {values['reply_by']}"
                                       f" (tel:{number})"))
        host._emit_changed()
        return result

    def cancel(self, message_id: str) -> OutboxItem:
        """Undo a send that has not gone out: the inquiry waits again."""
        host = self.host
        with host._lock, host.store.transaction():
            item = host.outbox.cancel(message_id)
            self.unsend(item)
        self._release(item)
        host._emit_changed()
        return item

    def _release(self, item: OutboxItem) -> None:
        where = Where.from_text(item.shared)
        if where is not None and item.kind is not OutboxKind.TELL:
            self.host.sharing.release(where)

    def unsend(self, item: OutboxItem) -> None:
        """What a message that never went out had changed, undone (inside a transaction)."""
        store = self.host.store
        if item.inquiry_id is None:
            return
        inquiry = store.inquiry(item.inquiry_id)
        if inquiry is None:
            return
        if item.kind in (OutboxKind.ACK, OutboxKind.AUTO) \
                and inquiry.state is InquiryState.ACKNOWLEDGED:
            store.move_inquiry(inquiry.unsent(), InquiryState.ACKNOWLEDGED)
            store.drop_open_promises(item.inquiry_id)
        elif item.kind is OutboxKind.FORWARD and inquiry.state is InquiryState.DELEGATED:
            delegation = store.delegation(item.inquiry_id)
            before = inquiry.unsent()
            if delegation is not None and delegation.prior_ack is not None:
                # It had been acknowledged before it was handed over: it still is.
                before = dataclasses.replace(before, state=InquiryState.ACKNOWLEDGED,
                                             acknowledged_at=delegation.prior_ack)
            store.move_inquiry(before, InquiryState.DELEGATED)
            store.remove_delegation(item.inquiry_id)
            # Nobody has the matter: the client must not be told someone will help.
            for tell in store.outbox([OutboxState.QUEUED]):
                if tell.kind is OutboxKind.TELL and tell.inquiry_id == item.inquiry_id:
                    store.update_outbox(tell.message_id, OutboxState.CANCELLED,
                                        self.host.clock.now(), expect=OutboxState.QUEUED,
                                        error="the forward to the assistant was not sent")

    def failed(self, item: OutboxItem, reason: str) -> None:
        """The outbox's report of a message refused for good (inside its transaction)."""
        self.unsend(item)
        self._release(item)
        what = {OutboxKind.ACK: "the acknowledgement", OutboxKind.AUTO:
                "the automatic acknowledgement", OutboxKind.FORWARD: "the forward",
                OutboxKind.TELL: "the note"}[item.kind]
        again = " The client is waiting again." if item.kind is not OutboxKind.TELL else ""
        self.host._emit_toast("Not sent", f"{what} to {item.recipient}: {reason}.{again}")

    # delegating

    def assistant(self, name: str | None) -> Assistant:
        assistants = self._settings.assistants
        if not assistants:
            raise ReplyError("no assistant is set up: add one in the settings, or in"
                             " heard.toml: [assistant] name = \"...\", address = \"...\"")
        if name is None:
            return assistants[0]
        wanted = name.strip().lower()
        for assistant in assistants:
            if wanted in (assistant.name.lower(), assistant.address.lower()):
                return assistant
        raise ReplyError(f"no assistant is called {name!r}; known: "
                         f"{', '.join(a.name for a in assistants)}")

    def delegate(self, inquiry_id: InquiryId, to: str | None = None, note: str = "",
                 due: datetime | None = None, tell_client: bool | None = None,
                 dry_run: bool = False) -> DelegateResult:
        """Hand the matter to an assistant: forward the client's message with a note and a
        due time, and (unless the client's preference says no assistant) tell the client
        who will help. The user is reminded if the assistant has not taken it up by then."""
        host = self.host
        now = host.clock.now()
        helper = self.assistant(to)
        if not valid_address(helper.address):
            raise ReplyError(f"{helper.address!r} is not a valid address for {helper.name}")
        due = due or now + self._settings.delegation_due
        if due <= now:
            raise ReplyError("the due time has passed: give a time still to come")
        inquiry, client = self._open(inquiry_id, (InquiryState.WAITING,
                                                  InquiryState.ACKNOWLEDGED))
        if tell_client and not client.assistant_allowed:
            raise ReplyError(f"{client.name}'s preference says no assistant: Heard will not"
                             " tell them one is helping")
        tell = (self._settings.tell_client if tell_client is None else tell_client) \
            and client.assistant_allowed and inquiry.state is InquiryState.WAITING
        where, requested = None, ""
        if not dry_run and inquiry.state is InquiryState.ACKNOWLEDGED:
            # Acknowledged already (here or on another device): the hand-over needs no
            # claim, only the mark once it is out; but on a server that keeps no keywords
            # only the designated device sends.
            designated = self.designated(inquiry)
            if designated and designated != host.sharing.instance:
                requested = designated
            else:
                where = host.sharing.where(inquiry)
        elif not dry_run:
            claim = self._claim_or_request(inquiry)
            where, requested = claim.where, claim.requested
        if requested:
            return self._request_delegate(inquiry, to, helper, note, due, tell_client,
                                          requested)
        try:
            original = None if dry_run else self._original(inquiry)
            return self._delegate(inquiry_id, helper, note, due, tell, dry_run, original,
                                  where, now)
        except BaseException:
            if where is not None and inquiry.state is InquiryState.WAITING:
                host.sharing.release(where)
            raise

    def _request_delegate(self, inquiry: Inquiry, to: str | None, helper: Assistant,
                          note: str, due: datetime, tell_client: bool | None,
                          designated: str) -> DelegateResult:
        """Pass the hand-over to the designated device (the server keeps no keywords):
        it forwards, and tells the client, on its next sync. Nothing changes here, as with
        a passed-on acknowledgement (the note to the client, if any, shows in Sent)."""
        assert inquiry.id is not None
        options = {"to": to or "", "note": note.strip(), "due": due.isoformat(),
                   "tell_client": {True: "yes", False: "no", None: ""}[tell_client]}
        self.host.sharing.request(inquiry, "delegate", options)
        log.info("delegation of inquiry %s to %s passed to %r", inquiry.id, helper.name,
                 designated)
        return DelegateResult(inquiry.id, helper, "", "", due, told_client=False,
                              tell_body="", sent=False, state="requested",
                              error="the mail server cannot coordinate your devices: it goes"
                              f" out from {designated!r}")

    def _delegate(self, inquiry_id: InquiryId, helper: Assistant, note: str, due: datetime,
                  tell: bool, dry_run: bool, original: bytes | None, where: Where | None,
                  now: datetime) -> DelegateResult:
        host = self.host
        inquiry, client = self._open(inquiry_id, (InquiryState.WAITING,
                                                  InquiryState.ACKNOWLEDGED))
        with host._lock:
            zone = self._settings.zone
            sender = self._sender(self._account(inquiry.account))
            domain = sender.rpartition("@")[2]
            forward_id = make_message_id(domain)
            when = format_time(due, zone, now)
            contact = ", ".join(x for x in (inquiry.reply_address, *client.phones) if x)
            text = (f"{note.strip()}\n\n" if note.strip() else "") + (
                f"Please take this up with {client.name} ({contact}) by {when}, and copy me"
                " on your reply (or answer this mail) so Heard knows it is in hand.\n\n"
                f"Received {inquiry.received_at.astimezone(zone):%a %d %b %H:%M}:"
                f" {inquiry.subject}\n\n{inquiry.preview}\n")
            forward = build_forward(
                sender_name=self._settings.user.name, sender_addr=sender,
                to_name=helper.name, to_addr=helper.address, subject=inquiry.subject,
                note=text, original=original, date=now, message_id=forward_id,
                delegates=inquiry.message_id)
            tell_msg, tell_body, tell_id, tell_to = None, "", "", ""
            if tell:
                tell_to = self.reply_address(inquiry, client) or ""
                tell = valid_address(tell_to)
            if tell:
                busy = host.busy(now)
                values = self.values(client, inquiry, busy, due, now, helper)
                chosen = self.template_for("delegated", busy)
                tell_subject, tell_body = chosen.render(values)
                tell_id = make_message_id(domain)
                threaded = inquiry.channel is not Channel.CALL
                tell_msg = build_reply(
                    sender_name=self._settings.user.name, sender_addr=sender,
                    to_name=client.name, to_addr=tell_to, subject=tell_subject, body=tell_body,
                    in_reply_to=inquiry.message_id if threaded else "",
                    references=tuple(t for t in inquiry.thread_ids
                                     if t != inquiry.message_id) if threaded else (),
                    date=now, message_id=tell_id, acknowledges=inquiry.message_id)
            result = DelegateResult(inquiry_id, helper, forward_id, text, due, bool(tell),
                                    tell_body, sent=False)
            if dry_run:
                return result
            host.outbox.transport(inquiry.account)
            with host.store.transaction():
                if not host.store.move_inquiry(inquiry.delegate(now), inquiry.state):
                    from heard.errors import NotWaiting

                    raise NotWaiting(host.store.inquiry(inquiry_id) or inquiry)
                host.store.add_delegation(Delegation(inquiry_id, helper.name, helper.address,
                                                     forward_id, now, due, note.strip(),
                                                     prior_ack=inquiry.acknowledged_at))
                host.store.add_outbox(OutboxItem(
                    forward_id, inquiry_id, OutboxKind.FORWARD, inquiry.account,
                    bytes(forward), OutboxState.QUEUED, now, thread=_thread(inquiry),
                    recipient=helper.address, shared=where.to_text() if where else ""))
                if tell_msg is not None:
                    host.store.add_outbox(OutboxItem(
                        tell_id, inquiry_id, OutboxKind.TELL, inquiry.account, bytes(tell_msg),
                        OutboxState.QUEUED, now, thread=_thread(inquiry), recipient=tell_to))
        crash_point("queued")
        host._emit_changed()
        outcomes = [host.outbox.deliver(forward_id)]
        if tell_id and outcomes[0].out:   # the client hears of the assistant once they have it
            outcomes.append(host.outbox.deliver(tell_id))
        host._emit_changed()
        errors = "; ".join(o.error for o in outcomes if o.error)
        return dataclasses.replace(result, sent=all(o.out for o in outcomes), error=errors)

    def _original(self, inquiry: Inquiry) -> bytes | None:
        """The client's message as it arrived, to attach to a forward (best effort: the
        forward carries the preview when the original cannot be read)."""
        account = self._account(inquiry.account)
        if not inquiry.message_id or account is None:
            return None
        try:
            if isinstance(account, ImapAccount):
                from heard.engine.accounts import open_connection

                conn = open_connection(account)
                try:
                    for folder in account.folders:
                        raw = conn.fetch_message(folder, inquiry.message_id)
                        if raw:
                            return raw
                finally:
                    conn.close()
            elif isinstance(account, MaildirAccount):
                from heard.mail.maildir import Maildir

                for source, key in self.host.store.seen_locations(inquiry.message_id):
                    if source == f"maildir:{account.inbox}":
                        entry = Maildir(account.inbox).find(key)
                        if entry is not None:
                            return entry.path.read_bytes()
        except Exception as exc:  # forwarding the preview beats not forwarding at all
            log.warning("could not read the original of inquiry %s: %s", inquiry.id, exc)
        return None

    # the autopilot

    def autopilot(self) -> list[AckResult]:
        """Acknowledge, on the user's behalf, the clients of the chosen tiers whose
        deadline would pass while the user is in a meeting; once per thread per day."""
        host = self.host
        settings = self._settings
        if not settings.autopilot_tiers:
            return []
        if settings.autopilot_instance and settings.autopilot_instance != settings.instance:
            return []   # another of the user's devices sends the automatic ones
        with self._autopilot_lock:   # the tick and a sync must not both pick one thread
            return self._autopilot(host, settings)

    def _autopilot(self, host: Host, settings: Settings) -> list[AckResult]:
        from heard.domain.autopilot import autopilot_picks
        from heard.domain.waiting import waiting_items

        now = host.clock.now()
        busy = host.busy(now)
        if busy is None or not busy.now:
            return []
        clients = {c.id: c for c in host.store.clients() if c.id is not None}
        items = waiting_items(host.store.open_inquiries(), clients, settings.standards,
                              settings.hours, now)
        sent = []
        for item in autopilot_picks(items, busy, now, settings.autopilot_tiers,
                                    settings.autopilot_before):
            inquiry = item.inquiry
            assert inquiry.id is not None
            if self.reply_address(inquiry, item.client) is None:
                continue  # a call with no address: the user has to call
            if host.store.auto_sent_in_thread(_thread(inquiry), now - timedelta(days=1)):
                continue
            try:
                result = self.acknowledge(inquiry.id, automatic=True)
            except Exception as exc:
                log.error("autopilot could not acknowledge inquiry %s: %s", inquiry.id, exc)
                continue
            log.info("autopilot acknowledged inquiry %s (%s) to %s: %s", inquiry.id,
                     item.client.name, result.to, result.state)
            until = format_time(busy.until, settings.zone, now) if busy.until else "later"
            if result.sent:
                host._emit_toast("Acknowledged for you",
                                 f"{item.client.display_name} heard back while you are busy"
                                 f" (until {until}); you promised a reply by"
                                 f" {format_time(result.reply_by, settings.zone, now)}")
            elif result.state == OutboxState.QUEUED.value:
                host._emit_toast("Acknowledging for you",
                                 f"the acknowledgement to {item.client.display_name} is not"
                                 f" out yet ({result.error}); Heard keeps trying")
            sent.append(result)
        return sent


def _thread(inquiry: Inquiry) -> str:
    """The thread's first Message-ID (References start at the root)."""
    return next(iter(inquiry.thread_ids), inquiry.message_id)

