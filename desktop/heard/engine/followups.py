"""Waiting on the client (heard.domain.followups): setting a follow-up (the window, the
tray, `heard follow-up`), taking it back, the clients who owe the user a reply, and the nudge
to one of them, written from the `nudge` template and sent through the same outbox as the
acknowledgements (what leaves is what was shown; held back for Undo like them). A follow-up
is closed by intake when the client writes (heard.engine.intake)."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from heard.domain.clients import Client
from heard.domain.followups import (
    NUDGE_KEY,
    NUDGE_TEMPLATE,
    Closed,
    FollowUp,
    Origin,
    Owed,
    before_nudge,
    owed,
)
from heard.domain.ids import InquiryId
from heard.domain.outbox import OutboxItem, OutboxKind, OutboxState
from heard.domain.templates import header_safe
from heard.engine.context import EngineContext
from heard.engine.ports import Sender
from heard.engine.results import Delivery
from heard.errors import EngineError

log = logging.getLogger(__name__)

class FollowUpError(EngineError):
    """An expected refusal, told to the user as is."""


@dataclass(frozen=True)
class NudgeDraft:
    """A nudge as the user will see it before sending it."""

    follow_up: FollowUp
    client: Client
    to: str
    subject: str
    body: str


@dataclass(frozen=True)
class NudgeResult:
    follow_up: FollowUp       # as it is now: owed again after as long as they had
    message_id: str
    to: str
    subject: str
    body: str
    sent: bool
    state: Delivery
    error: str = ""


class FollowUps:
    def __init__(self, ctx: EngineContext, outbox: Sender) -> None:
        self._ctx = ctx
        self._outbox = outbox

    # setting and taking back

    def set(self, who: str, due: datetime, note: str = "") -> FollowUp:
        """Wait on a client's reply until `due`: `who` is an inquiry id (their message, and
        its subject and thread) or a client's id or name. A follow-up of theirs the user set
        before is moved to the new time (one per client)."""
        ctx = self._ctx
        now = ctx.clock.now()
        if due <= now:
            raise FollowUpError("a follow-up comes due later than now")
        client, subject, message_id = self._who(who)
        assert client.id is not None
        with ctx.lock:
            mine = [f for f in ctx.store.open_follow_ups() if f.client_id == client.id]
            if mine:
                kept = dataclasses.replace(mine[0], due=due, note=note or mine[0].note,
                                           origin=Origin.USER,
                                           subject=subject or mine[0].subject,
                                           message_id=message_id or mine[0].message_id)
                ctx.store.save_follow_up(kept)
                for other in mine[1:]:
                    ctx.store.save_follow_up(dataclasses.replace(
                        other, closed_at=now, closed_reason=Closed.OFF.value))
                follow_up = kept
            else:
                follow_up = ctx.store.add_follow_up(FollowUp(
                    client.id, now, due, note.strip(), subject, message_id))
        log.info("follow-up %s on client %s due %s", follow_up.id, client.id, due.isoformat())
        ctx.events.changed()
        return follow_up

    def _who(self, who: str) -> tuple[Client, str, str]:
        ctx = self._ctx
        if who.strip().isdigit():
            inquiry = ctx.store.inquiry(InquiryId(int(who)))
            if inquiry is None:
                raise FollowUpError(f"there is no inquiry {who.strip()}; give an inquiry id"
                                    " from `heard status`, or a client's name")
            client = ctx.store.client(inquiry.client_id)
            if client is None:
                raise FollowUpError(f"the client of inquiry {who.strip()} was removed")
            return client, inquiry.subject, inquiry.message_id
        client = ctx.client_named(who)
        if client is None:
            raise FollowUpError(f"no client matches {who!r}; give an inquiry id from"
                                " `heard status`, or a client's name")
        return client, "", ""

    def off(self, who: str) -> list[FollowUp]:
        """Stop waiting: `who` is a follow-up id (from `heard follow-ups`) or a client's name
        (all of theirs). The ones taken back are returned."""
        ctx = self._ctx
        now = ctx.clock.now()
        with ctx.lock:
            open_ = ctx.store.open_follow_ups()
            if who.strip().isdigit():
                found = [f for f in open_ if f.id == int(who)]
                if not found:
                    raise FollowUpError(f"there is no open follow-up {who.strip()}; see"
                                        " `heard follow-ups`")
            else:
                client = ctx.client_named(who)
                if client is None:
                    raise FollowUpError(f"no client matches {who!r}")
                found = [f for f in open_ if f.client_id == client.id]
                if not found:
                    raise FollowUpError(f"you are not waiting on {client.display_name}")
            closed = [dataclasses.replace(f, closed_at=now, closed_reason=Closed.OFF.value)
                      for f in found]
            for f in closed:
                ctx.store.save_follow_up(f)
        ctx.events.changed()
        return closed

    def restore(self, follow_ups: list[FollowUp]) -> None:
        """Undo of `off` or `set`: the follow-ups as they were."""
        for f in follow_ups:
            self._ctx.store.save_follow_up(f)
        self._ctx.events.changed()

    # reading

    def listing(self, everything: bool = False) -> list[tuple[FollowUp, Client]]:
        """Open follow-ups, soonest due first; with `everything`, also those closed in the
        last two weeks (how they ended)."""
        ctx = self._ctx
        clients = ctx.clients_by_id()
        found = ctx.store.recent_follow_ups(ctx.clock.now() - timedelta(days=14)) \
            if everything else ctx.store.open_follow_ups()
        return [(f, clients[f.client_id]) for f in found if f.client_id in clients]

    def owed(self) -> list[Owed]:
        ctx = self._ctx
        return owed(ctx.store.open_follow_ups(), ctx.clients_by_id(), ctx.clock.now())

    # the nudge

    def _open(self, follow_up_id: int) -> tuple[FollowUp, Client]:
        follow_up = self._ctx.store.follow_up(follow_up_id)
        if follow_up is None or not follow_up.is_open:
            raise FollowUpError(f"there is no open follow-up {follow_up_id}")
        client = self._ctx.store.client(follow_up.client_id)
        if client is None:
            raise FollowUpError(f"the client of follow-up {follow_up_id} was removed")
        return follow_up, client

    def draft(self, follow_up_id: int) -> NudgeDraft:
        """The nudge the user would send now, from the `nudge` template."""
        from heard.mail.parse import valid_address

        ctx = self._ctx
        follow_up, client = self._open(follow_up_id)
        to = next((e for e in client.emails if valid_address(e)), None)
        if to is None:
            raise FollowUpError(f"{client.name} has no e-mail address in your clients:"
                                " call them")
        template = ctx.templates.get(NUDGE_TEMPLATE)
        if template is None:
            raise FollowUpError(f"there is no template {NUDGE_TEMPLATE!r}")
        now = ctx.clock.now()
        values = {
            "client.name": client.display_name, "client.full_name": client.name,
            "user.name": ctx.settings.user.name,
            "assistant.name": next(iter(ctx.settings.assistants), ctx.settings.assistant).name,
            "busy_until": "now", "back": "soon", "next_free": "now", "reply_by": "soon",
            "subject": follow_up.subject or follow_up.note or "my last message",
            "your_message": "my message", "it": "it"}
        subject, body = template.render(values)
        if not follow_up.message_id:
            # Not in a thread: a conversation of its own, named for what it is about.
            about = follow_up.note or follow_up.subject
            subject = header_safe(f"Following up: {about}") if about else "Following up"
        elif not subject.lower().startswith("re:"):
            subject = f"Re: {subject}"   # as the reply's header will say it
        log.debug("nudge drafted for follow-up %s at %s", follow_up_id, now.isoformat())
        return NudgeDraft(follow_up, client, to, subject, body)

    def nudge(self, follow_up_id: int, subject: str | None = None, body: str | None = None,
              delay: timedelta = timedelta(0)) -> NudgeResult:
        """Send the nudge: `subject`/`body` as the user saw them (else the template's). The
        follow-up stays open, owed again after as long as the client had; with a `delay`
        the message waits in the outbox that long (Undo) before `send_queued` or a flush."""
        from heard.mail.compose import build_reply, make_message_id
        from heard.mail.parse import valid_address

        ctx = self._ctx
        now = ctx.clock.now()
        with ctx.lock:
            draft = self.draft(follow_up_id)
            follow_up = draft.follow_up
            account = next(iter(ctx.settings.accounts), None)
            if account is None:
                raise FollowUpError("no account to send from: `heard account add ...`")
            sender = account.address or next(iter(ctx.settings.user.addresses), "")
            if not valid_address(sender):
                raise FollowUpError("Heard does not know your address: set [user] addresses")
            self._outbox.transport(account.name)   # no way to send: said before anything
            message_id = make_message_id(sender.rpartition("@")[2])
            text = body if body is not None else draft.body
            msg = build_reply(
                sender_name=ctx.settings.user.name, sender_addr=sender,
                to_name=draft.client.name, to_addr=draft.to,
                subject=subject if subject is not None else draft.subject, body=text,
                in_reply_to=follow_up.message_id, references=(), date=now,
                message_id=message_id, nudges=str(follow_up.id))
            nudged = follow_up.nudged(now)
            with ctx.store.transaction():
                ctx.store.set_state(f"{NUDGE_KEY}{message_id}", before_nudge(follow_up))
                ctx.store.save_follow_up(nudged)
                ctx.store.add_outbox(OutboxItem(
                    message_id, None, OutboxKind.NUDGE, account.name, bytes(msg),
                    OutboxState.QUEUED, now, next_try=now + delay if delay else None,
                    thread=follow_up.message_id, recipient=draft.to))
        log.info("nudge %s queued for follow-up %s", message_id, follow_up_id)
        ctx.events.changed()
        result = NudgeResult(nudged, message_id, draft.to, str(msg["Subject"]), text,
                             sent=False, state=Delivery.QUEUED)
        if delay:
            return result
        outcome = self._outbox.deliver(message_id)
        ctx.events.changed()
        return dataclasses.replace(result, sent=outcome.out, state=Delivery.of(outcome.state),
                                   error=outcome.error)
