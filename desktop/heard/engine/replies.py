"""Acknowledging, delegating and the autopilot: every message Heard writes for the user.

Each one is composed from a template, written to the store together with what it changes
(the inquiry's state, the promise, the delegation) in one transaction, and only then
handed to the outbox, which puts it on the wire at most once.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from heard.config import Account, Assistant, ImapAccount, MaildirAccount, Settings
from heard.config.templates import translations
from heard.devices.coordinator import Claim, Devices, Refused, Where
from heard.domain.busy import BusyState
from heard.domain.clients import Channel, Client, is_zone
from heard.domain.delegations import Delegation
from heard.domain.ids import ClientId, InquiryId
from heard.domain.inquiries import Inquiry, InquiryState
from heard.domain.locales import Speech, language_of, reader_speech
from heard.domain.outbox import COVERS_KEY, OutboxItem, OutboxKind, OutboxState, covers_text
from heard.domain.promises import Promise
from heard.domain.shared import Done
from heard.domain.templates import Template, format_time, header_safe, in_language
from heard.engine.context import EngineContext, crash_point
from heard.engine.ports import BusyReader, Sender
from heard.engine.results import AckResult, DelegateResult, Delivery, Outcome
from heard.errors import EngineError
from heard.mail.compose import build_forward, build_reply, make_message_id
from heard.mail.parse import valid_address

if TYPE_CHECKING:
    from heard.domain.absences import Absence
    from heard.mail.imap import Connection

log = logging.getLogger(__name__)


class ReplyError(EngineError):
    """An expected failure, told to the user as is."""


def _round_up(at: datetime, minutes: int = 15) -> datetime:
    """Promises fall on the quarter hour: "by 4:30", not "by 4:27"."""
    import math

    stamp = at.timestamp()
    step = minutes * 60
    return datetime.fromtimestamp(math.ceil(stamp / step) * step, at.tzinfo)


class Replies:
    def __init__(self, ctx: EngineContext, calendar: BusyReader, outbox: Sender,
                 devices: Devices) -> None:
        self._ctx = ctx
        self._calendar = calendar
        self._outbox = outbox
        self._devices = devices
        self._autopilot_lock = threading.Lock()

    @property
    def _settings(self) -> Settings:
        return self._ctx.settings

    # what the replies say

    def reply_by(self, now: datetime, busy: BusyState | None,
                 promise: str = "next_free") -> datetime:
        """When a reply is promised: per the template's `promise`, in working hours."""
        hours, margin = self._settings.hours, self._settings.replies.margin
        if promise == "end_of_day":
            day = hours.next_opening(now).astimezone(hours.zone).date()
            return hours.openings(day)[-1][1]
        if promise == "tomorrow_morning":
            today = now.astimezone(hours.zone).date()
            start = hours.next_opening(now)
            while start.astimezone(hours.zone).date() <= today:
                start = hours.next_opening(hours.openings(
                    start.astimezone(hours.zone).date())[-1][1])
            return self._clear_of_meetings(_round_up(start + margin), busy)
        start = busy.next_free if busy and busy.next_free else now
        start = max(start, hours.next_opening(start))
        return self._clear_of_meetings(_round_up(start + margin), busy)

    def _clear_of_meetings(self, promised: datetime, busy: BusyState | None) -> datetime:
        """A promised time falls where the user can keep it: not in a meeting (after it,
        on the quarter hour) and in working hours."""
        if busy is None:
            return promised
        hours = self._settings.hours
        for _ in range(50):   # (each step moves past one meeting; a month of them is 50)
            moved = _round_up(max(busy.free_from(promised),
                                  hours.next_opening(busy.free_from(promised))))
            if moved == promised:
                break
            promised = moved
        return promised

    def templates_for(self, client: Client | None) -> tuple[dict[str, Template], str]:
        """The templates a client reads, and their locale: the client's language, else the
        user's. Each template has its translation into that language where Heard ships one
        (resources/templates/LANG.toml) or the user wrote one (templates.LANG.toml); in the
        user's own language their own templates.toml stays as they wrote it."""
        user = self._settings.speech
        locale = client.language if client is not None and client.language else user.locale
        language = language_of(locale)
        translated = {} if language == "en" else \
            translations(self._ctx.profile.templates).get(language, {})
        return in_language(self._ctx.templates, translated,
                           own=language == user.language), locale

    def speech_for(self, template: Template, client: Client | None) -> Speech:
        """How a reply's times are written: in its template's language, with the reader's
        clock and, where they read that language, their locale's names and order."""
        user = self._settings.speech
        reader = client.language if client is not None and client.language else user.locale
        return reader_speech(template.language or user.language, reader, user)

    def template_for(self, name: str | None, busy: BusyState | None,
                     client: Client | None = None, inquiry: Inquiry | None = None) -> Template:
        templates, _locale = self.templates_for(client)
        chosen = name or self._settings.replies.template
        if name is None and client is not None and client.prospect \
                and "first-contact" in templates:
            chosen = "first-contact"   # someone new: thanked for reaching out
        elif name is None and inquiry is not None and inquiry.channel is Channel.CALL \
                and "call-back" in templates:
            chosen = "call-back"
        if name is None and chosen == "call-back" and inquiry is not None \
                and client is not None and not _number_of(inquiry, client):
            # No number: Heard does not promise a call (the user, who may know one, can)
            chosen = self._settings.replies.template
        # The variant for how the user is now: out of the office, in a meeting, or free (a
        # variant named for a state that is over is never used: no "in a meeting until now").
        base = chosen.removesuffix("-busy").removesuffix("-away")
        if base in templates and (name is None or base != chosen):
            away, meeting = busy is not None and busy.away, busy is not None and busy.now
            chosen = (f"{base}-away" if away and f"{base}-away" in templates else
                      f"{base}-busy" if meeting and not away and f"{base}-busy" in templates
                      else base)
        try:
            return templates[chosen]
        except KeyError:
            raise ReplyError(f"there is no template {chosen!r}; known: "
                             f"{', '.join(sorted(templates))}") from None

    def values(self, client: Client, inquiry: Inquiry, busy: BusyState | None,
               promised: datetime, now: datetime,
               assistant: Assistant | None = None, several: int = 1,
               template: Template | None = None) -> dict[str, str]:
        """What a template's placeholders say to this client: in the template's language
        (speech_for), and a time in the client's zone with the user's beside it when the
        client's differs ("by 3:30 pm your time (9:30 pm mine)")."""
        zone = self._settings.zone
        speech = self.speech_for(template, client) if template is not None else \
            self._settings.speech
        words = speech.words
        theirs = ZoneInfo(client.zone) if client.zone and is_zone(client.zone) else zone
        helper = assistant or next(iter(self._settings.assistants), None)
        return {
            "client.name": client.display_name,
            "client.full_name": client.name,
            "user.name": self._settings.user.name,
            "assistant.name": helper.name if helper else self._settings.assistant.name,
            "busy_until": speech.both(busy.until, now, theirs, zone) if busy and busy.until
            else words.now,
            # When the user is back is about the user's day: said in their zone.
            "back": speech.back(busy.next_free, zone, now) if busy and busy.next_free
            else words.soon,
            "next_free": speech.both(busy.next_free, now, theirs, zone)
            if busy and busy.next_free else words.now,
            "reply_by": speech.both(promised, now, theirs, zone),
            "subject": self.subject_for(inquiry, speech),
            # One reply answers everything the client wrote: worded for one or several.
            "your_message": words.messages if several > 1 else words.message,
            "it": words.them if several > 1 else words.it,
        }

    def subject_for(self, inquiry: Inquiry, speech: Speech | None = None) -> str:
        """What a reply calls the client's contact. A call's subject is Heard's own (the
        user's note of a logged call, or a phone system's notification) and never reaches
        the client: they hear of "your call"."""
        if inquiry.channel is not Channel.CALL:
            return inquiry.subject
        return (speech or self._settings.speech).call_day(inquiry.received_at,
                                                          self._settings.zone)

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

        inquiry = self._ctx.store.inquiry(inquiry_id)
        if inquiry is None:
            raise NoSuchInquiry(inquiry_id)
        if inquiry.state not in states:
            raise NotWaiting(inquiry)
        client = self._ctx.store.client(inquiry.client_id)
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
                    delay: timedelta = timedelta(0), automatic: bool = False,
                    only: bool = False) -> AckResult:
        """Tell the client they are heard, and record the promise it makes.

        The client is the unit: everything of theirs that waits is acknowledged together,
        in one mail in reply to their newest message (`AckResult.covers`), unless `only`
        (this one message). `subject`/`body` replace the template's text (edited before
        sending); with a `delay` the message waits in the outbox that long (the window's
        Undo) before `send_queued` or the next flush sends it.
        """
        now = self._ctx.clock.now()
        if reply_by is not None and reply_by <= now:
            raise ReplyError(f"{reply_by:%H:%M} has passed: promise a time still to come")
        where = None
        inquiry, client = self._open(inquiry_id, (InquiryState.WAITING,))
        if not only:
            # The reply goes in answer to their newest message: the one every device claims.
            inquiry = self.together(inquiry, client)[0]
            assert inquiry.id is not None
            inquiry_id = inquiry.id
        if not dry_run and self.reply_address(inquiry, client) is not None:
            # Before anything is queued: no other device of the user's may answer too.
            claim = self._claim_or_request(inquiry)
            if claim.requested:
                options = {k: v for k, v in (("template", template or ""), (
                    "reply_by", reply_by.isoformat() if reply_by else ""),
                    ("only", "1" if only else "")) if v}
                self._devices.request(inquiry, "ack", options)
                return AckResult(inquiry_id, "", self.reply_address(inquiry, client) or "",
                                 "", "", reply_by or now, template or "", sent=False,
                                 state=Delivery.REQUESTED, error="the mail server cannot"
                                 " coordinate your devices: it goes out from"
                                 f" {claim.requested!r}")
            where = claim.where
        try:
            return self._acknowledge(inquiry_id, template, reply_by, dry_run, subject, body,
                                     delay, automatic, now, where, only)
        except BaseException:
            if where is not None:
                self._devices.release(where)
            raise

    def together(self, inquiry: Inquiry, client: Client) -> list[Inquiry]:
        """What one acknowledgement of this client answers: their waiting contacts that
        can be written to, the newest first (an e-mail before a call, so the reply can
        thread on it). `inquiry` is among them even if it cannot be written to."""
        if self.reply_address(inquiry, client) is None:
            return [inquiry]   # a call to return by phone: only itself
        return [i for i in self._waiting_of(inquiry)
                if i.id == inquiry.id or self.reply_address(i, client) is not None]

    def _waiting_of(self, inquiry: Inquiry) -> list[Inquiry]:
        """The client's waiting contacts, the newest first (an e-mail before a call)."""
        mine = [i for i in self._ctx.store.open_inquiries()
                if i.client_id == inquiry.client_id and i.state is InquiryState.WAITING]
        if not any(i.id == inquiry.id for i in mine):
            mine.append(inquiry)
        mine.sort(key=lambda i: (i.channel is Channel.EMAIL, i.received_at), reverse=True)
        return mine

    def _claim_or_request(self, inquiry: Inquiry) -> Claim:
        try:
            return self._devices.claim(inquiry)
        except Refused as exc:
            self._follow(inquiry, exc)
            raise

    def _follow(self, inquiry: Inquiry, refused: Refused) -> None:
        """Another device already took care of it: show that here too."""
        store, now = self._ctx.store, self._ctx.clock.now()
        assert inquiry.id is not None
        if refused.owner:
            store.set_owner(inquiry.id, refused.owner)
        moved = {Done.ACKED: inquiry.acknowledge, Done.SENT: inquiry.acknowledge,
                 Done.DELEGATED: inquiry.delegate, Done.DISMISSED: inquiry.dismiss,
                 Done.ANSWERED: inquiry.answer}.get(refused.done) if refused.done else None
        if moved is not None and inquiry.state is InquiryState.WAITING:
            store.move_inquiry(moved(max(now, inquiry.last_activity)), InquiryState.WAITING)
            self._ctx.events.changed()

    def _acknowledge(self, inquiry_id: InquiryId, template: str | None,
                     reply_by: datetime | None, dry_run: bool, subject: str | None,
                     body: str | None, delay: timedelta, automatic: bool, now: datetime,
                     where: Where | None, only: bool = False) -> AckResult:
        with self._ctx.lock:
            inquiry, client = self._open(inquiry_id, (InquiryState.WAITING,))
            group = [inquiry] if only else [inquiry] + [
                i for i in self.together(inquiry, client)[1:] if i.id != inquiry.id]
            busy = self._calendar.busy(now)
            chosen = self.template_for(template, busy, client, inquiry)
            promised = reply_by or self.reply_by(now, busy, chosen.promise)
            values = self.values(client, inquiry, busy, promised, now, several=len(group),
                                 template=chosen)
            # What the user reads of their own promise: their words, their zone.
            mine = self._settings.speech.when(promised, self._settings.zone, now)
            rendered_subject, text = chosen.render(values)
            if body is not None:
                text = body
            if subject is not None:
                rendered_subject = header_safe(subject)
            to = self.reply_address(inquiry, client)
            if to is None:
                return self._call_back(inquiry, client, promised, mine, chosen, dry_run)
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
                references=_references(group) if threaded else (),
                date=now, message_id=message_id, acknowledges=inquiry.message_id,
                promise=promised, automatic=automatic,
            )
            covers = tuple(i.id for i in group if i.id is not None)
            result = AckResult(inquiry_id, message_id, to, str(msg["Subject"]), text,
                               promised, chosen.name, sent=False, automatic=automatic,
                               covers=covers)
            if dry_run:
                return result
            self._outbox.transport(inquiry.account)  # no way to send: say so before changing
            with self._ctx.store.transaction():
                if not self._ctx.store.move_inquiry(inquiry.acknowledge(now), InquiryState.WAITING):
                    from heard.errors import NotWaiting

                    raise NotWaiting(self._ctx.store.inquiry(inquiry_id) or inquiry)
                # The others it answers (each keeps its own promise, for the statistics);
                # one handled otherwise meanwhile is left as it is.
                others = tuple(i.id for i in group[1:] if i.id is not None and
                               self._ctx.store.move_inquiry(i.acknowledge(now),
                                                            InquiryState.WAITING))
                covers = (inquiry_id, *others)
                result = dataclasses.replace(result, covers=covers)
                if others:
                    self._ctx.store.set_state(f"{COVERS_KEY}{message_id}",
                                              covers_text(others))
                self._ctx.store.add_outbox(OutboxItem(
                    message_id, inquiry_id, OutboxKind.AUTO if automatic else OutboxKind.ACK,
                    inquiry.account, bytes(msg), OutboxState.QUEUED, now,
                    next_try=now + delay if delay else None, thread=_thread(inquiry),
                    recipient=to, shared=where.to_text() if where else ""))
                for acked in covers:
                    if where is not None:
                        self._ctx.store.set_owner(acked, self._devices.instance)
                    self._ctx.store.add_promise(Promise(acked, client.id or ClientId(0), now,
                                                        promised, f"reply by {mine}"))
        crash_point("queued")
        self._ctx.events.changed()
        if delay:
            return dataclasses.replace(result, state=Delivery.QUEUED)
        return self._deliver(result)

    def _deliver(self, result: AckResult) -> AckResult:
        outcome = self._outbox.deliver(result.message_id)
        self._ctx.events.changed()
        if outcome.state is OutboxState.QUEUED and outcome.error:
            # Said once, here; the retries stay quiet while `heard status` keeps saying it.
            self._ctx.events.error(f"not sent yet: {outcome.error}; Heard keeps trying")
        return dataclasses.replace(result, sent=outcome.out, state=Delivery.of(outcome.state),
                                   error=outcome.error)

    def send_queued(self, message_id: str) -> Outcome:
        """Send a message held back for Undo; one no longer held (cancelled, or sent by a
        flush meanwhile) is left as it is. Either way: where it stands now."""
        item = self._ctx.store.outbox_item(message_id)
        if item is None:
            return Outcome(message_id, OutboxState.CANCELLED)
        if item.state is not OutboxState.QUEUED:
            return Outcome(message_id, item.state, item.error)
        outcome = self._outbox.deliver(message_id)
        self._ctx.events.changed()
        return outcome

    def _call_back(self, inquiry: Inquiry, client: Client, promised: datetime,
                   mine: str, chosen: Template, dry_run: bool) -> AckResult:
        """A caller with no address: nothing can be sent, so the acknowledgement becomes the
        user's promise to call back (reminded like any promise; the client still waits)."""
        assert inquiry.id is not None
        number = _number_of(inquiry, client)
        if not number:
            raise ReplyError(f"{client.name} left no number and no address: there is no one"
                             " to reply to; mark it answered or dismiss it")
        result = AckResult(inquiry.id, "", "", "", f"Call {client.name} back by"
                           f" {mine}", promised, chosen.name, sent=False,
                           call_back=f"tel:{number}")
        if dry_run:
            return result
        if any(p.inquiry_id == inquiry.id for p in self._ctx.store.open_promises()):
            raise ReplyError(f"you already promised {client.name} a call back; when you have"
                             f" called, `heard answered {inquiry.id}`")
        self._ctx.store.add_promise(Promise(
            inquiry.id, client.id or ClientId(0), self._ctx.clock.now(), promised,
            f"call back by {mine} (tel:{number})"))
        self._ctx.events.changed()
        return result

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
                 dry_run: bool = False, only: bool = False) -> DelegateResult:
        """Hand the matter to an assistant: forward the client's message with a note and a
        due time, and (unless the client's preference says no assistant) tell the client
        who will help. The user is reminded if the assistant has not taken it up by then.

        The client is the unit: their newest waiting message is forwarded, and the note
        lists everything else of theirs that waits, handed over with it (`covers`), unless
        `only` (this one message)."""
        now = self._ctx.clock.now()
        helper = self.assistant(to)
        if not valid_address(helper.address):
            raise ReplyError(f"{helper.address!r} is not a valid address for {helper.name}")
        due = due or now + self._settings.delegation.due
        if due <= now:
            raise ReplyError("the due time has passed: give a time still to come")
        inquiry, client = self._open(inquiry_id, (InquiryState.WAITING,
                                                  InquiryState.ACKNOWLEDGED))
        if not only and inquiry.state is InquiryState.WAITING:
            inquiry = self._waiting_of(inquiry)[0]   # their newest: the one every device claims
            assert inquiry.id is not None
            inquiry_id = inquiry.id
        if tell_client and not client.assistant_allowed:
            raise ReplyError(f"{client.name}'s preference says no assistant: Heard will not"
                             " tell them one is helping")
        tell = (self._settings.delegation.tell_client if tell_client is None else tell_client) \
            and client.assistant_allowed and inquiry.state is InquiryState.WAITING
        where, requested = None, ""
        if not dry_run and inquiry.state is InquiryState.ACKNOWLEDGED:
            # Acknowledged already (here or on another device): the hand-over needs no
            # claim, only the mark once it is out; but on a server that keeps no keywords
            # only the designated device sends.
            designated = self._devices.designated(inquiry)
            if designated and designated != self._devices.instance:
                requested = designated
            else:
                where = self._devices.where(inquiry)
        elif not dry_run:
            claim = self._claim_or_request(inquiry)
            where, requested = claim.where, claim.requested
        if requested:
            return self._request_delegate(inquiry, to, helper, note, due, tell_client,
                                          requested)
        try:
            original = None if dry_run else self._original(inquiry)
            return self._delegate(inquiry_id, helper, note, due, tell, dry_run, original,
                                  where, now, only)
        except BaseException:
            if where is not None and inquiry.state is InquiryState.WAITING:
                self._devices.release(where)
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
        self._devices.request(inquiry, "delegate", options)
        log.info("delegation of inquiry %s to %s passed to %r", inquiry.id, helper.name,
                 designated)
        return DelegateResult(inquiry.id, helper, "", "", due, told_client=False,
                              tell_body="", sent=False, state=Delivery.REQUESTED,
                              error="the mail server cannot coordinate your devices: it goes"
                              f" out from {designated!r}")

    def _delegate(self, inquiry_id: InquiryId, helper: Assistant, note: str, due: datetime,
                  tell: bool, dry_run: bool, original: bytes | None, where: Where | None,
                  now: datetime, only: bool = False) -> DelegateResult:
        inquiry, client = self._open(inquiry_id, (InquiryState.WAITING,
                                                  InquiryState.ACKNOWLEDGED))
        with self._ctx.lock:
            others = [] if only or inquiry.state is not InquiryState.WAITING else \
                self._waiting_of(inquiry)[1:]
            zone = self._settings.zone
            sender = self._sender(self._account(inquiry.account))
            domain = sender.rpartition("@")[2]
            forward_id = make_message_id(domain)
            when = format_time(due, zone, now, self._settings.speech)
            contact = ", ".join(x for x in (inquiry.reply_address, *client.phones) if x)
            text = (f"{note.strip()}\n\n" if note.strip() else "") + (
                f"Please take this up with {client.name} ({contact}) by {when}, and copy me"
                " on your reply (or answer this mail) so Heard knows it is in hand.\n\n"
                f"Received {inquiry.received_at.astimezone(zone):%a %d %b %H:%M}:"
                f" {inquiry.subject}\n\n{inquiry.preview}\n") + "".join(
                f"\nAlso waiting from {client.name}, received"
                f" {other.received_at.astimezone(zone):%a %d %b %H:%M}: {other.subject}"
                f"\n\n{other.preview}\n" for other in others)
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
                busy = self._calendar.busy(now)
                chosen = self.template_for("delegated", busy, client)
                values = self.values(client, inquiry, busy, due, now, helper,
                                     several=1 + len(others), template=chosen)
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
                                    tell_body, sent=False,
                                    covers=(inquiry_id, *(o.id for o in others if o.id)))
            if dry_run:
                return result
            self._outbox.transport(inquiry.account)
            with self._ctx.store.transaction():
                if not self._ctx.store.move_inquiry(inquiry.delegate(now), inquiry.state):
                    from heard.errors import NotWaiting

                    raise NotWaiting(self._ctx.store.inquiry(inquiry_id) or inquiry)
                self._ctx.store.add_delegation(Delegation(inquiry_id, helper.name, helper.address,
                                                     forward_id, now, due, note.strip(),
                                                     prior_ack=inquiry.acknowledged_at))
                # The client's other waiting messages go with it, in the same forward.
                handed = []
                for other in others:
                    if other.id is not None and self._ctx.store.move_inquiry(
                            other.delegate(now), InquiryState.WAITING):
                        handed.append(other.id)
                        self._ctx.store.add_delegation(Delegation(
                            other.id, helper.name, helper.address, forward_id, now, due,
                            note.strip()))
                if handed:
                    self._ctx.store.set_state(f"{COVERS_KEY}{forward_id}", covers_text(handed))
                result = dataclasses.replace(result, covers=(inquiry_id, *handed))
                self._ctx.store.add_outbox(OutboxItem(
                    forward_id, inquiry_id, OutboxKind.FORWARD, inquiry.account,
                    bytes(forward), OutboxState.QUEUED, now, thread=_thread(inquiry),
                    recipient=helper.address, shared=where.to_text() if where else ""))
                if tell_msg is not None:
                    self._ctx.store.add_outbox(OutboxItem(
                        tell_id, inquiry_id, OutboxKind.TELL, inquiry.account, bytes(tell_msg),
                        OutboxState.QUEUED, now, thread=_thread(inquiry), recipient=tell_to))
        crash_point("queued")
        self._ctx.events.changed()
        outcomes = [self._outbox.deliver(forward_id)]
        if tell_id and outcomes[0].out:   # the client hears of the assistant once they have it
            outcomes.append(self._outbox.deliver(tell_id))
        self._ctx.events.changed()
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
                def fetch(conn: Connection) -> bytes | None:
                    for folder in account.folders:
                        raw = conn.fetch_message(folder, inquiry.message_id)
                        if raw:
                            return raw
                    return None

                return self._ctx.workers.of(account).run(fetch)
            elif isinstance(account, MaildirAccount):
                from heard.mail.maildir import Maildir

                for source, key in self._ctx.store.seen_locations(inquiry.message_id):
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
        settings = self._settings
        if not settings.autopilot.tiers:
            return []
        sender = settings.sharing.autopilot_instance
        if sender and sender != settings.instance:
            return []   # another of the user's devices sends the automatic ones
        with self._autopilot_lock:   # the tick and a sync must not both pick one thread
            return self._autopilot(settings)

    def _autopilot(self, settings: Settings) -> list[AckResult]:
        from heard.domain.autopilot import autopilot_picks
        from heard.domain.waiting import waiting_items

        now = self._ctx.clock.now()
        busy = self._calendar.busy(now)
        if busy is None or not busy.now:
            return []
        clients = {c.id: c for c in self._ctx.store.clients() if c.id is not None}
        items = waiting_items(self._ctx.store.open_inquiries(), clients, settings.standards,
                              settings.hours, now)
        self._forget_skips({i.inquiry.id for i in items if i.inquiry.id is not None})
        # "Once per thread per day": the user's calendar day, not the last 24 hours (a client
        # who writes again the next morning, in a meeting again, hears back again).
        today = datetime.combine(now.astimezone(settings.zone).date(), time(0),
                                 tzinfo=settings.zone)
        sent: list[AckResult] = []
        answered: set[InquiryId] = set()
        for item in autopilot_picks(items, busy, now, settings.autopilot.tiers,
                                    settings.autopilot.before):
            inquiry = item.inquiry
            assert inquiry.id is not None
            if inquiry.id in answered:
                continue   # one reply to the client answered it with their other messages
            reason = self._not_automatic(inquiry, item.client, settings, now, today)
            if reason:
                self._skipped(inquiry.id, item.client, reason)
                continue
            # One reply for the client, covering only what the autopilot may answer: a
            # message of theirs it must leave to the user stays waiting, and unanswered.
            others = [i for i in self.together(inquiry, item.client) if i.id != inquiry.id]
            alone = any(self._not_automatic(i, item.client, settings, now, today)
                        for i in others)
            try:
                result = self.acknowledge(inquiry.id, automatic=True, only=alone)
            except Exception as exc:
                log.error("autopilot could not acknowledge inquiry %s: %s", inquiry.id, exc)
                self._skipped(inquiry.id, item.client, f"could not acknowledge: {exc}")
                continue
            log.info("autopilot acknowledged inquiry %s (%s) to %s: %s", inquiry.id,
                     item.client.name, result.to, result.state)
            speech = settings.speech
            until = format_time(busy.until, settings.zone, now, speech) if busy.until \
                else "later"
            if result.sent:
                self._ctx.events.toast("Acknowledged for you",
                                 f"{item.client.display_name} heard back while you are busy"
                                 f" (until {until}); you promised a reply by"
                                 f" {format_time(result.reply_by, settings.zone, now, speech)}")
            elif result.state is Delivery.QUEUED:
                self._ctx.events.toast("Acknowledging for you",
                                 f"the acknowledgement to {item.client.display_name} is not"
                                 f" out yet ({result.error}); Heard keeps trying")
            sent.append(result)
            answered.update(result.covers)
        return sent

    def _not_automatic(self, inquiry: Inquiry, client: Client, settings: Settings,
                       now: datetime, today: datetime) -> str:
        """Why the autopilot must leave this one to the user, or "". It writes only where
        the user would: to the client's own address from the directory, about mail sent to
        the user, that the user's own server vouched for (anyone can write a client's name
        in a From), never to another Heard's mail, and only a few times a day."""
        made = inquiry.provenance
        if inquiry.unsure:
            return f"Heard is not sure a person wrote it ({inquiry.unsure})"
        to = self.reply_address(inquiry, client)
        if to is None:
            return "a call with no address to write to: call them back"
        if not _in_directory(to, client):
            return (f"the reply would go to {to}, which is not {client.name}'s address in"
                    " your clients")
        if made.heard:
            return "it is another Heard's message (X-Heard headers)"
        if not made.direct:
            return ("you were not in its To or Cc (a list, a Bcc, or an address of yours"
                    " Heard does not know: add it to [user] addresses)")
        if made.auth == "fail":
            return "it failed DKIM/DMARC at your mail server: it may not be from them"
        if made.auth not in ("pass", "own") and client.preferences.get("signs") != "no":
            return ("your mail server did not vouch for its sender (no DKIM/DMARC pass from"
                    " [autopilot] authserv_ids" + ("" if settings.autopilot.authserv_ids
                                                   else ", which is not set") + ")")
        if self._ctx.store.auto_sent_in_thread(_thread(inquiry), today):
            return "an automatic reply already went to this conversation today"
        # The last hour reaches back past midnight at 00:30: the two limits need both spans.
        hour_ago = now - timedelta(hours=1)
        sent = [i for i in self._ctx.store.outbox(since=min(today, hour_ago))
                if i.kind in _AUTOMATIC and i.state is not OutboxState.CANCELLED]
        if sum(1 for i in sent if i.created_at >= today and self._client_of(i) == client.id) \
                >= settings.autopilot.per_client_per_day:
            return (f"{settings.autopilot.per_client_per_day} automatic replies already went"
                    f" to {client.name} today ([autopilot] per_client_per_day)")
        if sum(1 for i in sent if i.created_at >= hour_ago) \
                >= settings.autopilot.per_hour:
            return (f"{settings.autopilot.per_hour} automatic replies went out in the last"
                    " hour ([autopilot] per_hour)")
        return ""

    def _client_of(self, item: OutboxItem) -> ClientId | None:
        inquiry = self._ctx.store.inquiry(item.inquiry_id) if item.inquiry_id else None
        return inquiry.client_id if inquiry else None

    def _skipped(self, inquiry_id: InquiryId, client: Client, reason: str) -> None:
        """The autopilot left this one to the user: why, for the window, `heard status` and
        `heard outbox` (and the log, once per reason)."""
        from heard.domain.autopilot import SKIP_KEY, Skipped

        key = f"{SKIP_KEY}{inquiry_id}"
        known = self._ctx.store.state(key)
        if known is not None and (old := Skipped.from_text(known)) and old.reason == reason:
            return
        self._ctx.store.set_state(key, Skipped(self._ctx.clock.now(), reason).to_text())
        log.info("autopilot left inquiry %s (%s) to you: %s", inquiry_id, client.name, reason)
        self._ctx.events.changed()

    def _forget_skips(self, waiting: set[InquiryId]) -> None:
        from heard.domain.autopilot import SKIP_KEY

        for key in self._ctx.store.states(SKIP_KEY):
            if InquiryId(int(key.removeprefix(SKIP_KEY))) not in waiting:
                self._ctx.store.set_state(key, None)

    # absences and after hours

    def away(self, now: datetime) -> Absence | None:
        """The absence in force: one the user set (`heard away`), else, with [absence]
        calendar_tiers, an out-of-office event in the calendar now (until it ends)."""
        from heard.domain.absences import ABSENCE_KEY, Absence, current, read_absences

        settings = self._settings
        absence = current(read_absences(self._ctx.store.states(ABSENCE_KEY)), now)
        if absence is None and settings.absence.calendar_tiers:
            busy = self._calendar.busy(now)
            if busy is not None and busy.away and busy.until is not None and busy.until > now:
                absence = Absence(0, now, busy.until, settings.absence.template,
                                  settings.absence.deputy, settings.absence.calendar_tiers,
                                  "calendar")
        return absence

    def notices(self) -> list[AckResult]:
        """While the user is away (heard.domain.absences), tell each client of the
        absence's tiers who waits, once per absence, from its template naming the deputy;
        outside working hours, with [afterhours] tiers, each client of those tiers who
        wrote since the office closed, once per closed period. Automatic replies
        (Auto-Submitted: auto-replied, X-Heard-Notice) under the autopilot's guards, each
        left to the user with its reason when a guard says no; they acknowledge nothing
        (the client still waits for the user) and are counted apart (outbox kinds absence
        and after_hours)."""
        settings = self._settings
        sender = settings.sharing.autopilot_instance
        if sender and sender != settings.instance:
            return []   # another of the user's devices sends the automatic ones
        with self._autopilot_lock:
            return self._notices(settings)

    def _notices(self, settings: Settings) -> list[AckResult]:
        from heard.domain.absences import closed_since
        from heard.domain.waiting import by_client, waiting_items

        ctx = self._ctx
        now = ctx.clock.now()
        absence = self.away(now)
        if absence is not None:
            kind, template, key, since = (OutboxKind.ABSENCE, absence.template, absence.key,
                                          absence.starts if absence.source == "user" else None)
            wanted = absence.for_tier
            back = absence.ends
        elif settings.afterhours.tiers and (
                closed := closed_since(now, settings.hours)) is not None:
            kind, template, key, since = (OutboxKind.AFTER_HOURS, settings.afterhours.template,
                                          f"after-hours:{closed.isoformat()}", closed)
            tiers = settings.afterhours.tiers

            def wanted(tier: str) -> bool:
                return "*" in tiers or tier in tiers

            back = settings.hours.next_opening(now)
        else:
            return []
        clients = {c.id: c for c in ctx.store.clients() if c.id is not None}
        items = waiting_items(ctx.store.open_inquiries(), clients, settings.standards,
                              settings.hours, now)
        today = datetime.combine(now.astimezone(settings.zone).date(), time(0),
                                 tzinfo=settings.zone)
        sent: list[AckResult] = []
        for group in by_client(items):
            client = group.client
            if client.id is None or not wanted(client.tier):
                continue
            told = f"notice:{key}:{client.id}"
            if ctx.store.state(told) is not None:
                continue   # once per client per absence (per closed period)
            fresh = [i.inquiry for i in group.items
                     if since is None or i.inquiry.received_at >= since]
            if not fresh:
                continue   # they wrote before it began: the user knew before leaving
            inquiry = max(fresh, key=lambda i: i.received_at)
            assert inquiry.id is not None
            reason = self._not_automatic(inquiry, client, settings, now, today)
            if reason:
                self._skipped(inquiry.id, client, reason)
                continue
            try:
                result = self._notice(inquiry, client, kind, template, back, now,
                                      absence.deputy if absence is not None else "")
            except Exception as exc:
                log.error("%s reply to inquiry %s not sent: %s", kind.value, inquiry.id, exc)
                self._skipped(inquiry.id, client, f"could not send the {kind.value} reply:"
                              f" {exc}")
                continue
            ctx.store.set_state(told, result.message_id)
            log.info("%s reply to client %s (inquiry %s): %s", kind.value, client.id,
                     inquiry.id, result.state)
            sent.append(result)
        if sent:
            what = "away" if kind is OutboxKind.ABSENCE else "out of hours"
            ctx.events.toast("Replied for you" if any(r.sent for r in sent) else
                             "Replying for you",
                             f"{', '.join(r.to for r in sent)} heard that you are {what}")
        return sent

    def _notice(self, inquiry: Inquiry, client: Client, kind: OutboxKind, name: str,
                back: datetime, now: datetime, deputy: str) -> AckResult:
        """One absence or after-hours reply, queued and sent (it changes no inquiry)."""
        ctx = self._ctx
        template = self.templates_for(client)[0].get(name)   # in the client's language
        if template is None:
            raise ReplyError(f"there is no template {name!r}")
        to = self.reply_address(inquiry, client)
        if to is None or not valid_address(to):
            raise ReplyError("no address to write to")
        values = self.values(client, inquiry, None, back, now, template=template)
        values["back"] = self.speech_for(template, client).back(back, self._settings.zone,
                                                                 now)
        values["deputy"] = deputy or self._settings.user.name
        subject, text = template.render(values)
        sender = self._sender(self._account(inquiry.account))
        message_id = make_message_id(sender.rpartition("@")[2])
        msg = build_reply(
            sender_name=self._settings.user.name, sender_addr=sender, to_name=client.name,
            to_addr=to, subject=subject, body=text,
            in_reply_to=inquiry.message_id if inquiry.channel is not Channel.CALL else "",
            references=tuple(inquiry.thread_ids), date=now, message_id=message_id,
            automatic=True, notice=kind.value)
        self._outbox.transport(inquiry.account)
        assert inquiry.id is not None
        ctx.store.add_outbox(OutboxItem(
            message_id, inquiry.id, kind, inquiry.account, bytes(msg), OutboxState.QUEUED,
            now, thread=_thread(inquiry), recipient=to))
        outcome = self._outbox.deliver(message_id)
        ctx.events.changed()
        return AckResult(inquiry.id, message_id, to, str(msg["Subject"]), text, back, name,
                         sent=outcome.out, state=Delivery.of(outcome.state),
                         error=outcome.error, automatic=True)


# What the autopilot's limits count: every reply nobody chose to send.
_AUTOMATIC = (OutboxKind.AUTO, OutboxKind.ABSENCE, OutboxKind.AFTER_HOURS)


def _in_directory(address: str, client: Client) -> bool:
    """Whether the directory gives this address to the client (one of theirs, or at a
    domain registered as theirs)."""
    address = address.strip().lower()
    domain = address.rpartition("@")[2]
    return address in {e.lower() for e in client.emails} or domain in {
        d.lower() for d in client.domains}


def _references(group: list[Inquiry]) -> tuple[str, ...]:
    """The reply's References: the newest message's thread, then every other message it
    answers (and theirs), each once, never the message it replies to."""
    lead, seen, found = group[0], {group[0].message_id, ""}, []
    for inquiry in group:
        ids = [*inquiry.thread_ids, inquiry.message_id] if inquiry is not lead \
            else list(inquiry.thread_ids)
        for message_id in ids:
            if message_id not in seen:
                seen.add(message_id)
                found.append(message_id)
    return tuple(found)


def _number_of(inquiry: Inquiry, client: Client) -> str:
    """The number a call back would dial ("" when there is none)."""
    if inquiry.sender.startswith("+"):
        return inquiry.sender
    return next(iter(client.phones), inquiry.sender if inquiry.channel is Channel.CALL
                else "")


def _thread(inquiry: Inquiry) -> str:
    """The thread's first Message-ID (References start at the root)."""
    return next(iter(inquiry.thread_ids), inquiry.message_id)

