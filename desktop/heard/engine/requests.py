"""On the designated device: what the user's other devices asked it to do (on a server that
keeps no keywords, only one device may send; the others pass their clicks to it)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from heard.config import ImapAccount
from heard.devices.coordinator import Devices
from heard.domain.ids import InquiryId
from heard.domain.inquiries import Inquiry, InquiryState
from heard.engine.context import EngineContext
from heard.engine.ports import Closing, Replying
from heard.errors import EngineError
from heard.mail.imap import ImapError

log = logging.getLogger(__name__)


class RequestsService:
    def __init__(self, ctx: EngineContext, devices: Devices, replies: Replying,
                 closing: Closing) -> None:
        self._ctx = ctx
        self._devices = devices
        self._replies = replies
        self._closing = closing

    def take(self, accounts: list[ImapAccount]) -> None:
        """The designated device sends what the user's other devices asked it to, in these
        accounts (whose servers keep no keywords, and which the sync reached)."""
        for account in accounts:
            try:
                self._devices.imap.take_requests(account, self.carry_out)
            except (ImapError, EngineError) as exc:
                log.warning("%s: requests of your other devices: %s", account.name, exc)

    def carry_out(self, kind: str, message_id: str, options: dict[str, str],
                  by: str) -> None:
        """On the designated device: do what another device of the user's asked (ack,
        delegate, dismiss, answered, undismiss) to the inquiry of the client's message.
        What is unknown, or no longer possible here, is logged and dropped."""
        if kind not in ("ack", "delegate", "dismiss", "answered", "undismiss"):
            log.warning("a request of %r to %s is not known here; dropped", by, kind)
            return
        inquiry = self._requested_inquiry(kind, message_id, options)
        if inquiry is None or inquiry.id is None:
            log.warning("%r asked to %s %s, which is not %s here; dropped", by, kind,
                        message_id, "dismissed" if kind == "undismiss" else "open")
            return
        log.info("%s of inquiry %s as %r asked", kind, inquiry.id, by)
        try:
            if kind == "ack":
                reply_by = self._requested_time(options.get("reply_by"))
                self._replies.acknowledge(inquiry.id, str(options.get("template") or "") or None,
                                 reply_by if reply_by and reply_by > self._ctx.clock.now()
                                 else None, only=bool(options.get("only")))
            elif kind == "delegate":
                self._requested_delegate(inquiry, inquiry.id, options, by)
            elif kind == "dismiss":
                self._closing.dismiss(inquiry.id, only=True)   # one request per message
            elif kind == "answered":
                self._closing.mark_answered(inquiry.id, only=True)
            else:
                self._closing.undismiss(inquiry.id)
        except EngineError as exc:   # already done, or no longer possible
            log.warning("the %s %r asked for: %s", kind, by, exc)

    def _requested_inquiry(self, kind: str, message_id: str, options: dict[str, str]
                           ) -> Inquiry | None:
        """The inquiry of the client's message a request acts on, in a state it may."""
        if not message_id:
            return None
        if kind == "undismiss":
            # No store query finds a closed inquiry by its message: look around the time
            # the asking device says it arrived (both read it from the same server).
            try:
                received = datetime.fromisoformat(str(options.get("received") or ""))
            except ValueError:
                return None
            if received.tzinfo is None:
                return None
            return next((i for i in self._ctx.store.inquiries_between(
                received - timedelta(days=1), received + timedelta(days=1))
                if i.message_id == message_id and i.state is InquiryState.DISMISSED), None)
        states = {"ack": (InquiryState.WAITING,)}.get(
            kind, (InquiryState.WAITING, InquiryState.ACKNOWLEDGED))
        candidates = self._ctx.store.open_inquiries_in_thread([message_id])
        if kind == "answered":   # a delegated one is answered too
            candidates += [i for i in (self._ctx.store.inquiry(d.inquiry_id)
                                       for d in self._ctx.store.open_delegations()) if i]
            states = (*states, InquiryState.DELEGATED)
        return next((i for i in candidates if i.message_id == message_id
                     and i.state in states and i.id is not None), None)

    @staticmethod
    def _requested_time(text: object) -> datetime | None:
        """A time in a request (ISO 8601 with its offset); None when missing or bad."""
        try:
            at = datetime.fromisoformat(str(text)) if text else None
        except ValueError:
            return None
        return at if at is not None and at.tzinfo is not None else None

    def _requested_delegate(self, inquiry: Inquiry, inquiry_id: InquiryId,
                            options: dict[str, str], by: str) -> None:
        """Hand it to the assistant the asking device named (its name or address; "" for
        the first), with its note and due time (a bad or past one: the default)."""
        to = str(options.get("to") or "").strip() or None
        try:
            helper = self._replies.assistant(to)
        except EngineError as exc:
            log.warning("%r asked to delegate inquiry %s: %s; dropped", by, inquiry.id, exc)
            return
        due = self._requested_time(options.get("due"))
        if options.get("due") and (due is None or due <= self._ctx.clock.now()):
            log.warning("%r asked to delegate inquiry %s due %r: the default due time"
                        " instead", by, inquiry.id, options.get("due"))
            due = None
        tell = {"yes": True, "no": False}.get(str(options.get("tell_client") or ""))
        client = self._ctx.store.client(inquiry.client_id)
        if tell and client is not None and not client.assistant_allowed:
            tell = False   # the preference changed here since: delegate, tell nobody
        result = self._replies.delegate(inquiry_id, helper.address, str(options.get("note") or ""),
                               due, tell)
        if result.error:
            log.warning("the delegation %r asked for is not out yet: %s", by, result.error)
