"""Closing what a client is waiting on without a reply from Heard: answered another way (a
call, a meeting), set aside (no reply needed) and taken back, calls logged by hand, and a
waiting client snoozed until a time (not closed: only out of the badge meanwhile)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from heard.devices.coordinator import Devices
from heard.domain.clients import Channel, Client, normalize_phone
from heard.domain.ids import InquiryId
from heard.domain.inquiries import Inquiry, InquiryState, Provenance
from heard.domain.shared import Mark
from heard.domain.snoozes import SNOOZE_KEY, ClientSnooze, read_snoozes
from heard.domain.standards import PROSPECT_TIER
from heard.domain.waiting import WaitingClient, by_client, waiting_items
from heard.engine.context import EngineContext
from heard.errors import EngineError, NoSuchInquiry, NotWaiting

log = logging.getLogger(__name__)


class InquiriesService:
    def __init__(self, ctx: EngineContext, devices: Devices) -> None:
        self._ctx = ctx
        self._devices = devices

    def _close(self, inquiry_id: InquiryId, state: InquiryState) -> Inquiry:
        ctx = self._ctx
        store = ctx.store
        now = ctx.clock.now()
        with ctx.lock:
            inquiry = store.inquiry(inquiry_id)
            if inquiry is None:
                raise NoSuchInquiry(inquiry_id)
            delegated = inquiry.state is InquiryState.DELEGATED
            if not (inquiry.state.is_open or (delegated and state is InquiryState.ANSWERED)):
                raise NotWaiting(inquiry)
            moved = inquiry.move_to(state, now)
            with store.transaction():
                if not store.move_inquiry(moved, inquiry.state):
                    raise NotWaiting(store.inquiry(inquiry_id) or inquiry)
                # This device acted last: not "handled elsewhere" here.
                store.set_owner(inquiry_id, ctx.settings.instance)
                if state is InquiryState.ANSWERED:
                    store.close_promises(inquiry_id, now)
                    store.confirm_delegation(inquiry_id, now)
        ctx.events.changed()
        return moved

    def mark_answered(self, inquiry_id: InquiryId, only: bool = False) -> list[Inquiry]:
        """The client got their answer another way (a call, a meeting): this contact and,
        unless `only`, everything else of theirs that waits; the user's other devices
        learn it too. The one asked for comes first."""
        return self._close_client(inquiry_id, InquiryState.ANSWERED, Mark.ANSWERED, only)

    def dismiss(self, inquiry_id: InquiryId, only: bool = False) -> list[Inquiry]:
        """No reply is needed ("Thanks!"): this contact and, unless `only`, everything
        else of the client's that waits; the user's other devices are told too. The one
        asked for comes first."""
        return self._close_client(inquiry_id, InquiryState.DISMISSED, Mark.DISMISSED, only)

    def _close_client(self, inquiry_id: InquiryId, state: InquiryState, mark: Mark,
                      only: bool) -> list[Inquiry]:
        closed = [self._close(inquiry_id, state)]
        if not only:
            for other in self._others_waiting(closed[0]):
                assert other.id is not None
                try:
                    closed.append(self._close(other.id, state))
                except NotWaiting:
                    continue   # handled otherwise meanwhile
        for inquiry in closed:
            self._devices.closed(inquiry, mark)
        return closed

    def _others_waiting(self, inquiry: Inquiry) -> list[Inquiry]:
        return [i for i in self._ctx.store.open_inquiries()
                if i.client_id == inquiry.client_id and i.state is InquiryState.WAITING
                and i.id != inquiry.id]

    def undismiss(self, inquiry_id: InquiryId) -> Inquiry:
        """Undo a dismissal: the client is waiting again (with their original deadline)."""
        ctx = self._ctx
        with ctx.lock:
            inquiry = ctx.store.inquiry(inquiry_id)
            if inquiry is None:
                raise NoSuchInquiry(inquiry_id)
            if inquiry.state is not InquiryState.DISMISSED:
                raise EngineError(f"inquiry {inquiry_id} is {inquiry.state}, not dismissed")
            moved = inquiry.move_to(InquiryState.WAITING, ctx.clock.now())
            if not ctx.store.move_inquiry(moved, InquiryState.DISMISSED):
                raise NotWaiting(ctx.store.inquiry(inquiry_id) or inquiry)
        self._devices.reopened(moved)
        ctx.events.changed()
        return moved

    def _waiting_client(self, who: str) -> WaitingClient:
        """The waiting client `who` names: an inquiry id of theirs, or the client's id or
        name (as `heard log-call` takes it)."""
        ctx = self._ctx
        now = ctx.clock.now()
        items = waiting_items(ctx.store.open_inquiries(), ctx.clients_by_id(),
                              ctx.settings.standards, ctx.settings.hours, now)
        groups = by_client(items)
        if who.strip().isdigit():
            inquiry = ctx.store.inquiry(InquiryId(int(who)))
            if inquiry is not None:
                found = next((g for g in groups if g.client.id == inquiry.client_id), None)
                if found is None:
                    raise NotWaiting(inquiry)
                return found
            raise NoSuchInquiry(InquiryId(int(who)))
        client = ctx.client_named(who)
        if client is None:
            raise EngineError(f"no client matches {who!r}; give an inquiry id from"
                              " `heard status`, or a client's name")
        found = next((g for g in groups if g.client.id == client.id), None)
        if found is None:
            raise EngineError(f"{client.display_name} is not waiting: there is nothing to"
                              " snooze")
        return found

    def snooze(self, who: str, until: datetime) -> tuple[WaitingClient, ClientSnooze]:
        """Set a waiting client aside until `until` without acknowledging them: out of the
        badge meanwhile, their deadlines running (warnings still come); anything new from
        them wakes it at once. Another snooze of theirs is replaced."""
        ctx = self._ctx
        now = ctx.clock.now()
        if until <= now:
            raise EngineError("a snooze must end later than now")
        with ctx.lock:
            group = self._waiting_client(who)
            snooze = ClientSnooze.of(group, until, now)
            ctx.store.set_state(snooze.key, snooze.to_text())
        log.info("client %s snoozed until %s", group.client.id, until.isoformat())
        ctx.events.changed()
        return group, snooze

    def unsnooze(self, who: str) -> tuple[WaitingClient, ClientSnooze | None]:
        """Wake a snoozed client now; the snooze it ended (None: they were not snoozed)."""
        ctx = self._ctx
        with ctx.lock:
            group = self._waiting_client(who)
            assert group.client.id is not None
            key = f"{SNOOZE_KEY}{group.client.id}"
            before = read_snoozes({key: ctx.store.state(key) or ""}).get(group.client.id)
            ctx.store.set_state(key, None)
        ctx.events.changed()
        live = before if before is not None and before.holds(group.items, ctx.clock.now()) \
            else None
        return group, live

    def restore_snooze(self, snooze: ClientSnooze | None, client_id: int) -> None:
        """Undo: the client's snooze as it was before (None: not snoozed)."""
        key = f"{SNOOZE_KEY}{client_id}"
        self._ctx.store.set_state(key, snooze.to_text() if snooze is not None else None)
        self._ctx.events.changed()

    def log_call(self, who: str, at: datetime | None = None, note: str = "") -> Inquiry:
        """A call the user missed or took a message for, logged by hand: `who` is a phone
        number or a client's id or name. It waits like any other contact; a number no client
        has is a new person, a prospect, as an unknown caller's voicemail is."""
        from heard.mail.compose import make_message_id

        ctx = self._ctx
        now = ctx.clock.now()
        at = at or now
        if at > now + timedelta(minutes=1):
            raise EngineError("a call cannot be logged in the future")
        region = ctx.settings.user.phone_region
        directory = ctx.directory()
        number = normalize_phone(who, region) if any(ch.isdigit() for ch in who) else None
        if number is None and any(ch.isdigit() for ch in who) \
                and not any(ch.isalpha() for ch in who) and not who.strip().isdigit():
            # Looks like a number but is none: a client name it is not either.
            raise EngineError(f"{who.strip()!r} is not a phone number; write it with its"
                              " country code, as +49 30 1234567")
        client = directory.match_phone(who, region) if number else ctx.client_named(who)
        if client is None and not number:
            raise EngineError(f"no client matches {who!r} and it is not a phone number;"
                              " give the caller's number, or a client's name")
        # The note is the user's own: it is shown as the call's text, never put in a subject
        # that a reply could quote to the client.
        with ctx.lock:
            if client is None:
                assert number is not None
                client = self._prospect_caller(number, at)
            assert client.id is not None
            number = number or next(iter(client.phones), "")
            inquiry = ctx.store.add_inquiry(Inquiry(
                client_id=client.id, channel=Channel.CALL, received_at=at,
                subject=f"Call from {' '.join(client.name.split())}"[:200], sender=number,
                reply_to=next(iter(client.emails), ""),
                message_id=make_message_id("call.heard.invalid"), preview=note[:400],
                provenance=Provenance(auth="own")))   # the user's own word
        ctx.events.changed((inquiry.id,) if inquiry.id else ())
        return inquiry

    def _prospect_caller(self, number: str, at: datetime) -> Client:
        """The provisional client record of a caller no client is known by (README: an
        unknown caller is a prospect), named by the number until the user says more."""
        store = self._ctx.store
        known = store.client_by_address("phone", number)
        if known is not None:
            return known
        client = store.add_client(Client(
            name=number, phones=(number,), tier=PROSPECT_TIER, channel=Channel.CALL,
            preferences={"via": "phone call"}, prospect=True), at)
        log.info("new prospect %s (call logged by hand)", client.id)
        return client
