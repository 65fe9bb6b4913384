"""One truth across devices: Heard's instances of one mailbox coordinate on the IMAP server.

Before an acknowledgement or a delegation goes out, the client's message is claimed with
keywords (heard.devices.wire.claims): at most one instance sends, whichever clicked first.
Just before SMTP the claimer marks it `$HeardSending`; once out, `$HeardAcked` or
`$HeardDelegated`. Other instances see those keywords on their next sync (IDLE wakes them)
and stop counting the client as waiting. Maildir accounts stay local and single-instance.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, TypeVar

from heard.config import ImapAccount, Settings
from heard.domain.clock import Clock
from heard.domain.ids import InquiryId
from heard.domain.inquiries import Inquiry
from heard.errors import EngineError
from heard.mail.imap import ImapError
from heard.store import Store

if TYPE_CHECKING:
    from heard.devices.wire.claims import Capabilities
    from heard.domain.delegations import Assignment
    from heard.domain.shared import InstanceId, Lease, Mark
    from heard.mail.imap import Connection

log = logging.getLogger(__name__)
T = TypeVar("T")

LEASE = timedelta(minutes=10)


@dataclass(frozen=True)
class Where:
    """The client's message on the server: what a claim and the marks act on."""

    account: str
    folder: str
    uid: int

    def to_text(self) -> str:
        return json.dumps({"account": self.account, "folder": self.folder, "uid": self.uid})

    @classmethod
    def from_text(cls, text: str) -> Where | None:
        if not text:
            return None
        data = json.loads(text)
        return cls(str(data["account"]), str(data["folder"]), int(data["uid"]))


class Refused(EngineError):
    """The claim says another instance has it (or had it): nothing is sent from here."""

    def __init__(self, message: str, done: str = "", owner: str = "") -> None:
        super().__init__(message)
        self.done = done      # "acked", "delegated", "dismissed", "answered", "sent" or ""
        self.owner = owner


@dataclass(frozen=True)
class Claim:
    """May this instance send? `where` is set when the server holds the claim."""

    where: Where | None
    note: str = ""        # said to the user when the account cannot coordinate
    requested: str = ""   # the designated device that was asked to send it instead


class Sharing:
    def __init__(self, store: Store, clock: Clock, settings: Callable[[], Settings],
                 connect: Callable[[ImapAccount], Connection]) -> None:
        self.store = store
        self._open = connect
        self.clock = clock
        self._settings = settings
        self._caps: dict[str, Capabilities] = {}
        self._leases: dict[str, Lease] = {}
        self._lock = threading.Lock()
        # One connection per account, kept between claims and marks (a login costs more
        # than the claim itself); one operation at a time on it.
        self._conns: dict[str, Connection] = {}
        self._conn_locks: dict[str, threading.Lock] = {}

    def using(self, account: ImapAccount, work: Callable[[Connection], T]) -> T:
        """Run `work` on the account's kept connection (shared settings use it too)."""
        return self._using(account, work)

    def _using(self, account: ImapAccount, work: Callable[[Connection], T]) -> T:
        """Run `work` on the account's kept connection; a dead one is replaced and the work
        tried once more (every operation here is safe to repeat)."""
        with self._lock:
            lock = self._conn_locks.setdefault(account.name, threading.Lock())
        with lock:
            for attempt in (1, 2):
                conn = self._conns.get(account.name)
                fresh = conn is None
                if conn is None:
                    conn = self._conns[account.name] = self._connect(account)
                try:
                    return work(conn)
                except ImapError:
                    self._conns.pop(account.name, None)
                    with contextlib.suppress(Exception):
                        conn.abort()
                    if fresh or attempt == 2:
                        raise
            raise AssertionError("unreachable")

    def close(self) -> None:
        with self._lock:
            conns, self._conns = list(self._conns.values()), {}
        for conn in conns:
            with contextlib.suppress(Exception):
                conn.close()

    @property
    def instance(self) -> str:
        return self._settings().instance

    def _account(self, name: str) -> ImapAccount | None:
        return next((a for a in self._settings().accounts
                     if a.name == name and isinstance(a, ImapAccount)), None)

    def where(self, inquiry: Inquiry) -> Where | None:
        """The client's message in one of the account's watched folders, if known."""
        if not inquiry.message_id:
            return None
        places = self._places(inquiry, self.store.seen_locations(inquiry.message_id))
        return places[0] if places else None

    def where_latest(self, inquiry: Inquiry) -> Where | None:
        """The inquiry's newest client message on the server: an answer is to that one
        (other devices close the inquiry only when no later client message came)."""
        places = self._places(inquiry, self.store.inquiry_locations(
            (inquiry.message_id, *inquiry.thread_ids)))
        return max(places, key=lambda w: w.uid, default=None)

    def _places(self, inquiry: Inquiry, locations: list[tuple[str, str]]) -> list[Where]:
        """Of the (source, key) `locations`, those in the account's watched folders."""
        account = self._account(inquiry.account)
        if account is None:
            return []
        sources = {account.source(f): f for f in account.folders}
        return [Where(account.name, sources[source], int(key.rpartition(":")[2]))
                for source, key in locations
                if source in sources and key.rpartition(":")[2].isdigit()]

    def _connect(self, account: ImapAccount) -> Connection:
        return self._open(account)

    def capabilities(self, account: ImapAccount, conn: Connection | None = None
                     ) -> Capabilities:
        from heard.devices.wire import claims as shared_state

        with self._lock:
            caps = self._caps.get(account.name)
        if caps is None:
            def detect(c: Connection) -> Capabilities:
                return shared_state.detect(c, account.folders[0], self.instance)

            caps = detect(conn) if conn is not None else self._using(account, detect)
            with self._lock:
                self._caps[account.name] = caps
        return caps

    def known_capabilities(self, account: str) -> Capabilities | None:
        """What was learnt of the account's server so far (no login)."""
        with self._lock:
            return self._caps.get(account)

    def claim(self, inquiry: Inquiry) -> Claim:
        """Claim the client's message for this instance, or say why not (Refused)."""
        from heard.devices.wire import claims as ss

        where = self.where(inquiry)
        account = self._account(inquiry.account)
        if where is None or account is None:
            return Claim(None)   # a Maildir account, or a message no longer on the server
        with self._lock:
            lease = self._leases.setdefault(account.name, _lease())

        def run(conn: Connection) -> object:
            caps = self.capabilities(account, conn)
            sent = conn.find_sent(account.sent_folder)

            def sent_has_header() -> bool:
                return bool(sent) and ss.sent_has_header(conn, sent or "", inquiry.message_id)

            return ss.claim(conn, where.folder, where.uid, self.instance, sent_has_header,
                            lease, self.clock.now, caps=caps)

        try:
            result = self._using(account, run)
            for _ in range(2):   # nobody won a crowded round: a short random pause, again
                if not isinstance(result, ss.Contended):
                    break
                time.sleep(random.uniform(0.05, 0.3))
                result = self._using(account, run)
        except ImapError as exc:
            raise EngineError(
                f"cannot reach {account.host} to make sure no other device of yours answers"
                f" this client at the same moment ({exc.message}); nothing was sent, try"
                " again") from exc
        return self._decide(result, where, inquiry)

    def _decide(self, result: object, where: Where, inquiry: Inquiry) -> Claim:
        from heard.devices.wire import claims as ss

        if isinstance(result, ss.Claimed):
            return Claim(where)
        if isinstance(result, ss.Gone):
            return Claim(None)
        if isinstance(result, ss.LostTo):
            raise Refused(f"your instance {result.owner!r} is already answering this client",
                          owner=result.owner)
        if isinstance(result, ss.AlreadyDone):
            raise Refused(f"this client was already {_done_words(result.kind.value)} from"
                          " another of your devices", done=result.kind.value)
        if isinstance(result, ss.Unsure):
            raise Refused(f"{result.reason}; settle it in `heard outbox` on"
                          f" {result.owner or 'the other device'}", owner=result.owner or "")
        if isinstance(result, ss.Contended):
            raise EngineError("several of your devices tried to answer this client at once;"
                              " nothing was sent, try again")
        if isinstance(result, ss.NotShared):
            designated = self._settings().designated_instance
            if result.mode is ss.Mode.DESIGNATED and designated \
                    and designated != self.instance:
                return Claim(None, note=result.reason, requested=designated)
            return Claim(None, note=result.reason)
        raise AssertionError(f"unexpected claim result {result!r}")

    # the designated device (servers without keywords)

    def request(self, inquiry: Inquiry, kind: str, options: dict[str, str]) -> None:
        """Ask the designated device to send this (a small message in the `Heard` folder)."""
        from heard.devices.wire import claims as ss

        account = self._account(inquiry.account)
        if account is None:
            raise EngineError("only an IMAP account can pass a reply to another device")
        request = ss.Request(kind, inquiry.message_id, ss_instance(self.instance),
                             self.clock.now(), options)
        try:
            self._using(account, lambda conn: ss.queue_request(conn, request))
        except ImapError as exc:
            raise EngineError(f"could not pass the reply to your other device: {exc.message}"
                              "; nothing was sent, try again") from exc

    def take_requests(self, account: ImapAccount,
                      handle: Callable[[str, str, dict[str, str], str], None]) -> int:
        """On the designated device: carry out what the others asked (kind, client
        Message-ID, options, request id), each at most once (the id is remembered)."""
        from heard.devices.wire import claims as ss

        def run(request: ss.Request) -> None:
            key = f"request:{request.id}"
            if self.store.state(key) is not None:
                return
            handle(request.kind, request.message_id, dict(request.options),
                   request.requested_by)
            self.store.set_state(key, self.clock.now().isoformat())

        # A connection of its own: each request's acknowledgement claims and marks on the
        # kept one meanwhile, while this one holds the `Heard` folder open.
        conn = self._connect(account)
        try:
            taken = ss.take_requests(conn, run)
        finally:
            conn.close()
        return len(taken.handled)

    # around the send

    def mark_sending(self, where: Where) -> bool:
        """Just before SMTP: True when this instance still holds the claim."""
        from heard.devices.wire import claims as ss

        account = self._account(where.account)
        if account is None:
            return True
        return self._using(account, lambda conn: ss.mark_sending(
            conn, where.folder, where.uid, self.instance,
            caps=self.capabilities(account, conn)))

    def mark(self, where: Where, kind: Mark | str) -> None:
        """Once out: `$HeardAcked` / `$HeardDelegated` / `$HeardDismissed` for every device."""
        from heard.devices.wire import claims as ss

        account = self._account(where.account)
        if account is None:
            return
        self._using(account, lambda conn: ss.mark(conn, where.folder, where.uid, kind))

    def record_delegation(self, where: Where, inquiry_id: InquiryId) -> None:
        """For the assistant's own Heard: to whom and by when (a record in `Heard`; the
        keyword says only "delegated"). Best effort: without it the assistant's Heard
        lists the delegation with its default due time."""
        from heard.devices.wire.delegations import DelegationRecord, record_delegation

        account = self._account(where.account)
        delegation = self.store.delegation(inquiry_id)
        inquiry = self.store.inquiry(inquiry_id)
        if account is None or delegation is None or inquiry is None:
            return
        done = f"delegation-recorded:{inquiry_id}:{delegation.forward_id}"
        if self.store.state(done) is not None:
            return   # filing in Sent is retried; the record is written once
        record = DelegationRecord(inquiry.message_id, delegation.assistant,
                                  delegation.address, delegation.made_at, delegation.due,
                                  ss_instance(self.instance), delegation.note)
        try:
            self._using(account, lambda conn: record_delegation(conn, record))
            self.store.set_state(done, self.clock.now().isoformat())
        except ImapError as exc:
            log.warning("could not record the delegation of %s for the assistant: %s",
                        inquiry.message_id, exc)

    def learn_assignments(self, account: ImapAccount, wanted: dict[str, InquiryId]
                          ) -> list[Assignment]:
        """Delegations made on another device (the client's Message-ID → the inquiry
        here): read the new records in the `Heard` folder beside each watched folder, keep
        those of `wanted` in the store, and return them."""
        from heard.devices.wire.delegations import heard_folder_for, read_delegations
        from heard.domain.delegations import Assignment
        from heard.mail.imap import commands

        def run(conn: Connection) -> list[Assignment]:
            delimiter = commands.delimiter(conn)
            learnt = []
            for folder in dict.fromkeys(heard_folder_for(f, delimiter)
                                        for f in account.folders):
                key = f"delegation-records:{account.name}:{folder}"
                records, last = read_delegations(conn, folder,
                                                 int(self.store.state(key) or 0))
                unmatched = []
                for record in records:   # oldest first: a newer record for one client wins
                    inquiry_id = wanted.get(record.message_id)
                    if inquiry_id is None:
                        if self._may_come(record.message_id) and \
                                record.made_at > self.clock.now() - timedelta(days=1):
                            # The client's message (or its "delegated" keyword) has not
                            # reached this device yet: read the record again next time.
                            unmatched.append(record.uid)
                        continue
                    assignment = Assignment(inquiry_id, record.by, record.assistant,
                                            record.address, record.made_at, record.due,
                                            record.note)
                    self.store.set_assignment(assignment)
                    self.store.set_owner(inquiry_id, record.by)
                    learnt.append(assignment)
                self.store.set_state(key, str(min(unmatched) - 1 if unmatched else last))
            return learnt

        return self._using(account, run)

    def _may_come(self, message_id: str) -> bool:
        """Whether a delegation record may still matter here: its message is unknown, or
        its inquiry is open (the keyword saying "delegated" may arrive later). Only for a
        day: a message this device never sees must not hold every later record back."""
        if not self.store.seen_locations(message_id):
            return True
        return any(i.message_id == message_id
                   for i in self.store.open_inquiries_in_thread([message_id]))

    def unmark(self, where: Where, keyword: str) -> None:
        """Take a "done" keyword back (Undo of a dismissal)."""
        account = self._account(where.account)
        if account is None:
            return

        from heard.mail.imap import commands

        self._using(account, lambda conn: commands.remove_keywords(
            conn, where.folder, where.uid, [keyword]))

    def release(self, where: Where) -> None:
        """Undo before it went out: let the other devices act again."""
        from heard.devices.wire import claims as ss

        account = self._account(where.account)
        if account is None:
            return
        try:
            self._using(account, lambda conn: ss.release(conn, where.folder, where.uid,
                                                         self.instance))
        except ImapError as exc:   # the claim stays; others take over after the lease
            log.warning("could not release the claim on %s: %s", where, exc)

    def describe(self, account: ImapAccount) -> str:
        """How this account coordinates devices, in words (doctor, settings)."""
        caps = self.capabilities(account)
        return f"instance {self.instance!r}: {caps.describe()}"


def ss_instance(name: str) -> InstanceId:
    from heard.domain.shared import instance_id

    return instance_id(name)


def _lease() -> Lease:
    from heard.domain.shared import Lease

    return Lease(LEASE)


def _done_words(kind: str) -> str:
    return {"acked": "acknowledged", "delegated": "handed to your assistant",
            "dismissed": "set aside", "answered": "answered",
            "sent": "acknowledged"}.get(kind, kind)

