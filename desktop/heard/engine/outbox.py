"""The crash-safe outbox: every message Heard sends goes through here, at most once.

The intent is in the store (QUEUED) before anything goes on the wire; see
`heard.domain.outbox` for the states. Each step commits before the next begins, so a
process killed at any point leaves a row that says exactly what is left to do:

- QUEUED: nothing reached a server; send it (when its retry time has come).
- SENDING: DATA may have reached the server. If the process that was sending is still
  alive, leave it. If it died, an idempotent transport (the Maildir one: one file per
  Message-ID) simply sends again, without reading Sent; over SMTP a copy in Sent proves the
  message went out (SENT), and without one the row becomes UNSURE and the user decides —
  never a second copy by guesswork.
- UNSURE: only the user's word moves it: `resend` (QUEUED again) or `mark_sent` (SENT).
- SENT: the server has it (or the user says so); tell the other devices it is done and
  file the copy in Sent (unless one is there already): FILED. Every way out of SENDING
  passes here, so a reply leaves every device and the Sent folder the same.

Two processes (the tray and a `heard ack` in a terminal) may flush at once: the move from
QUEUED to SENDING is a conditional update, so only one of them puts a message on the wire.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import threading
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from heard.config import Account, ImapAccount, MaildirAccount
from heard.devices.coordinator import Devices, Where
from heard.domain.ids import InquiryId
from heard.domain.inquiries import InquiryState
from heard.domain.outbox import (
    COVERS_KEY,
    OutboxItem,
    OutboxKind,
    OutboxState,
    covers_of,
    held_until,
    retry_after,
)
from heard.domain.shared import Mark
from heard.engine import logins
from heard.engine.context import EngineContext, crash_point
from heard.engine.results import Outcome
from heard.errors import AccountError, EngineError
from heard.mail.imap import ImapError
from heard.mail.maildir import Maildir
from heard.mail.transport import Failure, MaildirTransport, SendError, Transport, crlf

if TYPE_CHECKING:
    from heard.mail.imap import Connection

log = logging.getLogger(__name__)

# A SENDING row whose process cannot be checked is presumed dead after this long (an SMTP
# session never takes this long: every step times out after 30 s).
LEASE = timedelta(minutes=10)

class NoTransport(AccountError):
    def __init__(self, account: str, maildir: bool = False) -> None:
        # Said for the kind of account it is: a Maildir account sends through an outbox
        # Maildir its mail system delivers from, or SMTP; an IMAP account only by SMTP.
        super().__init__(account, "no way to send", (
            f"account {account!r} cannot send: give it an outbox Maildir that your mail"
            " system sends from, or an SMTP server (`heard account add maildir PATH"
            " --outbox PATH`, or outbox or smtp_host in heard.toml)" if maildir else
            f"account {account!r} cannot send: give it an SMTP server (`heard account add"
            " imap ... --smtp-host`, or smtp_host in heard.toml)"))


class SentCopy(Protocol):
    """The Sent folder of an account, as far as the outbox needs it."""

    def has(self, message_id: str) -> bool: ...

    def file(self, raw: bytes, when: datetime, check_first: bool = True) -> None: ...


class ImapSentCopy:
    """The account's Sent folder on the server, reached through the account's worker."""

    def __init__(self, account: ImapAccount, ctx: EngineContext) -> None:
        self.account = account
        self._ctx = ctx

    def _folder(self, conn: Connection) -> str:
        from heard.mail.imap import Problem

        folder = conn.find_sent(self.account.sent_folder)
        if folder is None:
            raise ImapError(Problem.FOLDER, f"{self.account.name} has no Sent folder; name it"
                            " with sent_folder in heard.toml")
        return folder

    def has(self, message_id: str) -> bool:
        return self._ctx.workers.of(self.account).run(
            lambda conn: conn.has_message(self._folder(conn), message_id))

    def file(self, raw: bytes, when: datetime, check_first: bool = True) -> None:
        message_id = _message_id(raw)
        tries: list[None] = []

        def file(conn: Connection) -> None:
            folder = self._folder(conn)
            # A second try (the kept connection had died) looks first: the APPEND may have
            # reached the server before the connection broke.
            if (check_first or tries) and message_id and conn.has_message(folder, message_id):
                return  # an earlier attempt filed it before it was interrupted
            tries.append(None)
            conn.append(folder, crlf(raw), when)

        self._ctx.workers.of(self.account).run(file)


def _held(item: OutboxItem, now: datetime) -> bool:
    """Held back for Undo: never tried, and its delay not over (a retry has been tried:
    its wait is a back-off)."""
    return item.attempts == 0 and item.next_try is not None and item.next_try > now




def _message_id(raw: bytes) -> str:
    from email import policy
    from email.parser import BytesHeaderParser

    return str(BytesHeaderParser(policy=policy.compat32).parsebytes(raw).get("Message-ID", ""))


def _start_time(pid: int) -> str | None:
    """When a process started (clock ticks since boot, from /proc); None if unknown."""
    try:
        with open(f"/proc/{pid}/stat") as fh:  # noqa: PTH123
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _process_token() -> str:
    """This process, told apart from a later one that reuses its pid."""
    return f"{socket.gethostname()}:{os.getpid()}:{_start_time(os.getpid()) or ''}"


TOKEN = _process_token()


def _alive(token: str) -> bool:
    host, _, rest = token.partition(":")
    pid_text, _, start = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return True   # another machine's claim (or a renamed host): only the lease ends it
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    if start:
        return _start_time(pid) == start
    return True


class _ClaimLost(Exception):
    """Another process started sending this message first."""


class _TakenOver(Exception):
    """Another device of the user took the client's message over (after our lease)."""


class Outbox:
    def __init__(self, ctx: EngineContext, devices: Devices) -> None:
        self._ctx = ctx
        self.store = ctx.store
        self.clock = ctx.clock
        self._devices = devices
        self._lock = threading.Lock()   # one flush at a time in this process
        self._active: set[str] = set()  # what this process has on the wire right now

    # where messages go

    def account(self, name: str) -> Account:
        accounts = self._ctx.settings.accounts
        for account in accounts:
            if account.name == name:
                return account
        if not name and accounts:
            return accounts[0]
        raise NoTransport(name)

    def transport(self, name: str) -> Transport:
        account = self.account(name)
        if account.smtp is not None:
            from heard.mail.smtp import SmtpTransport

            smtp = account.smtp
            return SmtpTransport(account.name, smtp, lambda: logins.smtp_password(account))
        if isinstance(account, MaildirAccount) and account.outbox is not None:
            return MaildirTransport(account.name, Maildir(account.outbox))
        raise NoTransport(account.name, isinstance(account, MaildirAccount))

    def sent_copy(self, name: str) -> SentCopy | None:
        """Where Heard files (and looks for) its copies; None when the server files them
        itself or nobody does."""
        account = self.account(name)
        if account.smtp is not None and account.smtp.sent_copy == "server":
            return None
        return self.sent_folder(name)

    def sent_folder(self, name: str) -> SentCopy | None:
        """Where a copy would prove a message went out: Sent on the IMAP server (whoever
        files it there), or the Sent Maildir."""
        account = self.account(name)
        if isinstance(account, ImapAccount):
            return ImapSentCopy(account, self._ctx)
        if isinstance(account, MaildirAccount) and account.sent is not None:
            return _MaildirSentCopy(Maildir(account.sent))
        return None

    def item(self, message_id: str) -> OutboxItem | None:
        """Where one message stands."""
        return self.store.outbox_item(message_id)

    # the state machine

    def deliver(self, message_id: str) -> Outcome:
        """Take one message as far as it can go now."""
        with self._lock:
            item = self.store.outbox_item(message_id)
            if item is None:
                raise KeyError(message_id)
            fresh = item.state is OutboxState.QUEUED
            if fresh:
                item = self._send(item)
            if item.state is OutboxState.SENT:
                # Straight after sending no copy can be there yet: skip the search.
                item = self._file(item, check_first=not fresh)
            return Outcome(item.message_id, item.state, item.error)

    def _send(self, item: OutboxItem) -> OutboxItem:
        now = self.clock.now()
        try:
            transport = self.transport(item.account)
        except NoTransport as exc:
            return self._fail(item, str(exc))

        where = Where.from_text(item.shared) if item.kind is not OutboxKind.TELL else None

        def on_the_wire() -> None:
            if where is not None:
                # The last word before SMTP: this device still holds the claim, and now
                # says it is sending (a device that finds it dead later will not resend).
                try:
                    holds = self._devices.sending(where)
                except ImapError as exc:
                    raise SendError(item.account, f"cannot reach the mail server to mark"
                                    f" the reply as being sent: {exc.message}") from exc
                if not holds:
                    raise _TakenOver
            lease = self.clock.now() + LEASE
            if not self.store.update_outbox(item.message_id, OutboxState.SENDING, now,
                                            expect=OutboxState.QUEUED, next_try=lease,
                                            claim=TOKEN, attempted=True):
                raise _ClaimLost
            crash_point("sending")

        self._active.add(item.message_id)
        try:
            transport.send(item.raw, item.message_id, on_the_wire)
        except _ClaimLost:
            self._active.discard(item.message_id)
            current = self.store.outbox_item(item.message_id) or item
            if current.state is OutboxState.CANCELLED and where is not None:
                # Undone in another process after our sending mark: nothing went out, and
                # only this process knows it, so it takes the mark back.
                self._devices.not_sent(where)
                log.info("%s was cancelled before it was sent", item.message_id)
            else:
                log.info("%s is being sent by another process", item.message_id)
            return current
        except _TakenOver:
            self._active.discard(item.message_id)
            return self._taken_over(item)
        except SendError as exc:
            try:
                return self._failed_send(item, exc)
            finally:
                self._active.discard(item.message_id)
        try:
            marks = where is not None   # the claim still needs its "done" keyword
            done = OutboxState.FILED if not marks and self.sent_copy(item.account) is None \
                else OutboxState.SENT
            self.store.update_outbox(item.message_id, done, self.clock.now(), error="")
        finally:
            self._active.discard(item.message_id)
        log.info("sent %s (%s) to %s", item.message_id, item.kind, item.recipient)
        crash_point(done.value)
        return self.store.outbox_item(item.message_id) or item

    def _taken_over(self, item: OutboxItem) -> OutboxItem:
        """Another device holds the client's message now (it took a stale claim over, or
        answered): this reply is not sent, and what it changed here is undone in the same
        transaction, so the client is waiting again until the sync learns what the other
        device did (never acknowledged here by a reply that did not go out)."""
        with self._ctx.lock, self.store.transaction():
            if not self.store.update_outbox(item.message_id, OutboxState.CANCELLED,
                                            self.clock.now(), expect=OutboxState.QUEUED,
                                            error="another of your devices took this client"
                                                  " over"):
                return self.store.outbox_item(item.message_id) or item
            self._unsend(item)
        log.info("%s: another device took the claim over; not sent", item.message_id)
        self._ctx.events.changed()
        return self.store.outbox_item(item.message_id) or item

    def _failed_send(self, item: OutboxItem, exc: SendError) -> OutboxItem:
        now = self.clock.now()
        current = self.store.outbox_item(item.message_id) or item
        if current.state not in (OutboxState.QUEUED, OutboxState.SENDING):
            return current   # cancelled (Undo) while the server was being reached
        if exc.failure is Failure.PERMANENT:
            return self._fail(current, exc.problem)
        if exc.failure is Failure.UNSURE:
            self.store.update_outbox(item.message_id, OutboxState.UNSURE, now,
                                     error=exc.problem, expect=current.state)
            log.error("unsure whether %s went out: %s", item.message_id, exc)
            return self.store.outbox_item(item.message_id) or item
        attempts = current.attempts + (current.state is OutboxState.QUEUED)
        next_try = now + retry_after(attempts)
        self.store.update_outbox(item.message_id, OutboxState.QUEUED, now, error=exc.problem,
                                 next_try=next_try, expect=current.state,
                                 attempted=current.state is OutboxState.QUEUED)
        log.warning("sending %s failed, will retry at %s: %s", item.message_id,
                    next_try.isoformat(timespec="seconds"), exc)
        return self.store.outbox_item(item.message_id) or item

    def _fail(self, item: OutboxItem, reason: str) -> OutboxItem:
        """A message refused for good: what it changed is undone in the transaction that
        says so; the claim is let go, and the user told, after it (never a mail server
        reached while the store is held)."""
        now = self.clock.now()
        with self._ctx.lock, self.store.transaction():
            if not self.store.update_outbox(item.message_id, OutboxState.FAILED, now,
                                            error=reason, expect=item.state):
                return self.store.outbox_item(item.message_id) or item  # cancelled meanwhile
            self._unsend(item)
        log.error("%s was refused: %s", item.message_id, reason)
        self._release(item)
        what = {OutboxKind.ACK: "the acknowledgement", OutboxKind.AUTO:
                "the automatic acknowledgement", OutboxKind.FORWARD: "the forward",
                OutboxKind.TELL: "the note", OutboxKind.NUDGE: "the nudge",
                OutboxKind.ABSENCE: "the absence reply",
                OutboxKind.AFTER_HOURS: "the after-hours reply"}[item.kind]
        again = " The client is waiting again." if item.kind in (
            OutboxKind.ACK, OutboxKind.AUTO, OutboxKind.FORWARD) else ""
        self._ctx.events.toast("Not sent", f"{what} to {item.recipient}: {reason}.{again}")
        return self.store.outbox_item(item.message_id) or item

    def _file(self, item: OutboxItem, check_first: bool = True) -> OutboxItem:
        try:
            where = Where.from_text(item.shared)
            if where is not None and item.kind is not OutboxKind.TELL:
                kind = Mark.DELEGATED if item.kind is OutboxKind.FORWARD else Mark.ACKED
                self._devices.finished(where, kind)
                if item.kind is OutboxKind.FORWARD and item.inquiry_id is not None:
                    self._devices.record_delegation(where, item.inquiry_id)
                # The other messages it answered or handed over: done for every device.
                for covered in filter(None, map(self.store.inquiry, self.covers(item))):
                    self._devices.closed(covered, kind)
            copy = self.sent_copy(item.account)
            if copy is not None:
                copy.file(item.raw, item.sent_at or self.clock.now(), check_first)
        except (ImapError, OSError, NoTransport) as exc:
            # The client has it; only our copy is missing. Try again with the next flush.
            self.store.update_outbox(item.message_id, OutboxState.SENT, self.clock.now(),
                                     error=f"sent, but not yet filed in Sent: {exc}")
            log.warning("filing %s in Sent failed: %s", item.message_id, exc)
            return self.store.outbox_item(item.message_id) or item
        self.store.update_outbox(item.message_id, OutboxState.FILED, self.clock.now(), error="")
        crash_point("filed")
        return self.store.outbox_item(item.message_id) or item

    def flush(self, now: bool = False) -> list[Outcome]:
        """Everything that can move: due retries, copies to file, crashed sends. With
        `now` (the user asked: `heard outbox flush`) every retry is tried at once, whatever
        its back-off; a reply held back for Undo still waits for its delay (the user may
        yet take it back in the window that holds it)."""
        at = self.clock.now()
        outcomes = [self.reconcile(item) for item in
                    self.store.outbox([OutboxState.SENDING])]
        for item in self.store.outbox([OutboxState.QUEUED, OutboxState.SENT]):
            if item.state is OutboxState.QUEUED and self.waits_for_forward(item):
                continue
            if (held := held_until(item)) is not None and at < held:
                continue   # the window holding it sends it (see HOLD_GRACE)
            if item.state is OutboxState.SENT or item.due(at) or (now and not _held(item, at)):
                outcomes.append(self.deliver(item.message_id))
        return outcomes

    def waits_for_forward(self, item: OutboxItem) -> bool:
        """A client is told who will help only once the assistant has the matter."""
        if item.kind is not OutboxKind.TELL or item.inquiry_id is None:
            return False
        return any(f.kind is OutboxKind.FORWARD and f.inquiry_id == item.inquiry_id
                   and f.state not in (OutboxState.SENT, OutboxState.FILED)
                   for f in self.store.outbox([OutboxState.QUEUED, OutboxState.SENDING,
                                               OutboxState.UNSURE]))

    def reconcile(self, item: OutboxItem) -> Outcome:
        """A SENDING row: leave it to a live sender, else settle what happened."""
        now = self.clock.now()
        lease_over = item.next_try is not None and item.next_try <= now
        ours = item.claim == TOKEN
        alive = item.message_id in self._active if ours else _alive(item.claim)
        if item.claim and alive and not lease_over:
            return Outcome(item.message_id, item.state, "being sent by another process")
        try:
            idempotent = self.transport(item.account).idempotent
            # Sending again is safe where the transport keeps one copy per Message-ID:
            # then Sent need not be read (nor be readable) to settle it.
            copy = None if idempotent else self.sent_folder(item.account)
            found = copy.has(item.message_id) if copy is not None else False
        except (ImapError, OSError, NoTransport) as exc:
            log.warning("cannot check Sent for %s yet: %s", item.message_id, exc)
            return Outcome(item.message_id, item.state, str(exc))
        if found:
            # Sent: the steps after a send are still to take (the other devices told it is
            # done; the copy is there already, so filing finds it and adds none).
            log.info("%s was found in Sent: it went out before the interruption",
                     item.message_id)
            if self.store.update_outbox(item.message_id, OutboxState.SENT, now, error="",
                                        expect=OutboxState.SENDING):
                return self.deliver(item.message_id)
        elif idempotent:
            self.store.update_outbox(item.message_id, OutboxState.QUEUED, now, error="",
                                     expect=OutboxState.SENDING)
            return self.deliver(item.message_id)
        else:
            self.store.update_outbox(
                item.message_id, OutboxState.UNSURE, now, expect=OutboxState.SENDING,
                error="Heard was stopped while this message was being sent, and it is not in"
                      " Sent: it may or may not have reached the client. Send it again, or"
                      " mark it sent")
        fresh = self.store.outbox_item(item.message_id) or item
        return Outcome(fresh.message_id, fresh.state, fresh.error)

    # the user's decisions

    def resend(self, message_id: str) -> Outcome:
        """An UNSURE (or retrying) message: send it now."""
        item = self._require(message_id, (OutboxState.UNSURE, OutboxState.QUEUED))
        self.store.update_outbox(item.message_id, OutboxState.QUEUED, self.clock.now(),
                                 expect=item.state)
        outcome = self.deliver(message_id)
        self._ctx.events.changed()
        return outcome

    def mark_sent(self, message_id: str) -> Outcome:
        """An UNSURE message the user knows went out: from here on it is as if the server
        had said so. It becomes SENT and takes the steps after a send: the other devices
        are told it is done, and the copy is filed in Sent (unless one is there). What
        cannot be done now (the mail server out of reach) stays SENT, for the next flush."""
        with self._lock:
            item = self._require(message_id, (OutboxState.UNSURE,))
            if not self.store.update_outbox(item.message_id, OutboxState.SENT,
                                            self.clock.now(), error="", expect=item.state):
                raise OutboxError(f"{message_id} changed meanwhile; look again")
            item = self._file(self.store.outbox_item(message_id) or item)
        self._ctx.events.changed()
        return Outcome(message_id, item.state, item.error)

    def cancel(self, message_id: str) -> OutboxItem:
        """Not sent after all (Undo within the delay, or giving up on a retry): what it had
        changed is undone (the client waits again). Only a message that has not reached
        the wire can be cancelled."""
        with self._ctx.lock, self.store.transaction():
            item = self._require(message_id, (OutboxState.QUEUED, OutboxState.UNSURE))
            if not self.store.update_outbox(item.message_id, OutboxState.CANCELLED,
                                            self.clock.now(), expect=item.state):
                raise OutboxError(f"{message_id} is already on its way")
            self._unsend(item)
        self._release(item, unsure=item.state is OutboxState.UNSURE)
        self._ctx.events.changed()
        return item

    # a message that never went out

    def _release(self, item: OutboxItem, unsure: bool = False) -> None:
        """Give the claim back to the other devices. An unsure message cancelled is the
        user's word that it did not go out: its sending mark goes too (else every device
        would call the client unsure for good)."""
        where = Where.from_text(item.shared)
        if where is not None and item.kind is not OutboxKind.TELL:
            if unsure:
                self._devices.not_sent(where)
            else:
                self._devices.release(where)

    def _unsend(self, item: OutboxItem) -> None:
        """What a message that never went out had changed, undone (inside a transaction)."""
        store = self.store
        if item.kind is OutboxKind.NUDGE:
            # The client owes the reply again, as before the nudge (heard.engine.followups).
            from heard.domain.followups import (
                NUDGE_KEY,
                before_nudge_id,
                restore_before_nudge,
            )

            kept = store.state(f"{NUDGE_KEY}{item.message_id}")
            current = store.follow_up(before_nudge_id(kept)) if kept else None
            if kept and current is not None and current.is_open:
                store.save_follow_up(restore_before_nudge(kept, current))
            return
        if item.inquiry_id is None:
            return
        inquiry = store.inquiry(item.inquiry_id)
        if inquiry is None:
            return
        if item.kind in (OutboxKind.ACK, OutboxKind.AUTO):
            # The client's other messages it answered wait again with it.
            for covered in (inquiry, *filter(None, map(store.inquiry, self.covers(item)))):
                if covered.state is InquiryState.ACKNOWLEDGED and covered.id is not None:
                    store.move_inquiry(covered.unsent(), InquiryState.ACKNOWLEDGED)
                    store.drop_open_promises(covered.id)
        elif item.kind is OutboxKind.FORWARD and inquiry.state is InquiryState.DELEGATED:
            delegation = store.delegation(item.inquiry_id)
            before = inquiry.unsent()
            if delegation is not None and delegation.prior_ack is not None:
                # It had been acknowledged before it was handed over: it still is.
                before = dataclasses.replace(before, state=InquiryState.ACKNOWLEDGED,
                                             acknowledged_at=delegation.prior_ack)
            store.move_inquiry(before, InquiryState.DELEGATED)
            store.remove_delegation(item.inquiry_id)
            # The client's other messages handed over with it wait again too.
            for covered in filter(None, map(store.inquiry, self.covers(item))):
                if covered.state is InquiryState.DELEGATED and covered.id is not None:
                    store.move_inquiry(covered.unsent(), InquiryState.DELEGATED)
                    store.remove_delegation(covered.id)
            # Nobody has the matter: the client must not be told someone will help.
            for tell in store.outbox([OutboxState.QUEUED]):
                if tell.kind is OutboxKind.TELL and tell.inquiry_id == item.inquiry_id:
                    store.update_outbox(tell.message_id, OutboxState.CANCELLED,
                                        self.clock.now(), expect=OutboxState.QUEUED,
                                        error="the forward to the assistant was not sent")

    def covers(self, item: OutboxItem) -> tuple[InquiryId, ...]:
        """The client's other inquiries an acknowledgement answers (beside its own)."""
        return covers_of(self.store.state(f"{COVERS_KEY}{item.message_id}"))

    def _require(self, message_id: str, states: tuple[OutboxState, ...]) -> OutboxItem:
        item = self.store.outbox_item(message_id)
        if item is None:
            raise OutboxError(f"there is no message {message_id} in the outbox")
        if item.state not in states:
            raise OutboxError(f"{message_id} is {item.state.value}; this only works for"
                              f" {' or '.join(s.value for s in states)} messages")
        return item


class OutboxError(EngineError):
    pass


class _MaildirSentCopy:
    def __init__(self, sent: Maildir) -> None:
        self._sent = sent

    def has(self, message_id: str) -> bool:
        from heard.mail.transport import message_key

        return self._sent.find(message_key(message_id)) is not None

    def file(self, raw: bytes, when: datetime, check_first: bool = True) -> None:
        from heard.mail.transport import message_key

        self._sent.deliver(raw.replace(b"\r\n", b"\n"), message_key(_message_id(raw)))
