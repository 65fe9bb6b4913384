"""One truth across devices: Heard's instances of one mailbox coordinate on the IMAP server.

Before an acknowledgement or a delegation goes out, the client's message is claimed with
keywords (heard.devices.wire.claims): at most one instance sends, whichever clicked first.
Just before SMTP the claimer marks it `$HeardSending`; once out, `$HeardAcked` or
`$HeardDelegated`. Other instances see those keywords on their next sync (IDLE wakes them)
and stop counting the client as waiting. Maildir accounts stay local and single-instance.

One device, several processes: the tray and `heard ack` in a terminal are one instance
with one claim token. The protocol cannot tell them apart, so the store they share does:
a claim is held by the reply of this device's that was written to the outbox with it
(`_held_here`). While such a reply is unfinished, a second click of this device is refused
in this device's words, and a process that lost the race for the inquiry lets go of
nothing (the token it took for its own is the winner's). Should the token go all the same
(a loser that failed before the winner had written its reply), the winner claims the
message again just before SMTP, which is as safe as its first claim: anyone else's claim
or done mark stands.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, TypeVar

from heard.config import ImapAccount, Settings
from heard.devices.coordinator import Claim, DeviceMode, Refused, Where
from heard.domain.clock import Clock
from heard.domain.ids import InquiryId
from heard.domain.inquiries import Inquiry
from heard.domain.outbox import OutboxItem, OutboxKind, OutboxState
from heard.domain.shared import DISMISSED, Done, Mark
from heard.errors import AccountError, EngineError
from heard.mail.imap import ImapError
from heard.store import Store

if TYPE_CHECKING:
    from heard.devices.keys import SharingKeys
    from heard.devices.wire.claims import Capabilities
    from heard.domain.delegations import Assignment
    from heard.domain.shared import InstanceId, Lease
    from heard.mail.imap import Connection
    from heard.mail.imap.worker import Workers

log = logging.getLogger(__name__)
T = TypeVar("T")

LEASE = timedelta(minutes=10)

# A reply in these states still holds its claim: it may yet go out (or may have gone).
UNFINISHED = (OutboxState.QUEUED, OutboxState.SENDING, OutboxState.SENT, OutboxState.UNSURE)


class ImapCoordinator:
    """The user's devices on one mailbox agree through the IMAP server (module doc). Every
    step runs on the account's worker (heard.mail.imap.worker), on its kept connection."""

    def __init__(self, store: Store, clock: Clock, settings: Callable[[], Settings],
                 workers: Callable[[], Workers[ImapAccount]], keys: SharingKeys) -> None:
        self.store = store
        self.clock = clock
        self._settings = settings
        self._workers = workers
        self.keys = keys
        self._caps: dict[str, Capabilities] = {}
        self._leases: dict[str, Lease] = {}
        self._lock = threading.Lock()

    def run(self, account: ImapAccount, work: Callable[[Connection], T]) -> T:
        """Run `work` on the account's worker (every step here is safe to repeat)."""
        return self._workers().of(account).run(work)

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

    def capabilities(self, account: ImapAccount, conn: Connection | None = None
                     ) -> Capabilities:
        from heard.devices.wire import claims as shared_state

        with self._lock:
            caps = self._caps.get(account.name)
        if caps is None:
            def detect(c: Connection) -> Capabilities:
                return shared_state.detect(c, account.folders[0], self.instance)

            caps = detect(conn) if conn is not None else self.run(account, detect)
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
        held = self._held_here(where)
        if held is not None:   # another process of this device is answering (module doc)
            raise Refused(_held_words(held))
        lease = self._lease(account)

        def run(conn: Connection) -> object:
            return ss.claim(conn, where.folder, where.uid, self.instance,
                            self._sent_check(account, conn, inquiry.message_id), lease,
                            self.clock.now, caps=self.capabilities(account, conn))

        try:
            result = self.run(account, run)
            for _ in range(2):   # nobody won a crowded round: a short random pause, again
                if not isinstance(result, ss.Contended):
                    break
                time.sleep(random.uniform(0.05, 0.3))
                result = self.run(account, run)
        except ImapError as exc:
            raise AccountError(
                account.name, exc.message,
                f"cannot reach {account.host} to make sure no other device of yours answers"
                f" this client at the same moment ({exc.message}); nothing was sent, try"
                " again") from exc
        return self._decide(result, where, inquiry)

    def _lease(self, account: ImapAccount) -> Lease:
        with self._lock:
            return self._leases.setdefault(account.name, _lease())

    @staticmethod
    def _sent_check(account: ImapAccount, conn: Connection, message_id: str
                    ) -> Callable[[], bool]:
        """Whether the account's Sent folder holds a reply of Heard's naming `message_id`
        (a claim takes a stale claim over only when it does not)."""
        from heard.devices.wire import claims as ss

        sent = conn.find_sent(account.sent_folder)

        def sent_has_header() -> bool:
            return bool(sent) and ss.sent_has_header(conn, sent or "", message_id)

        return sent_has_header

    def _held_here(self, where: Where) -> OutboxItem | None:
        """This device's unfinished reply that holds the claim on `where`, written to the
        outbox by any of its processes (module doc); None when there is none."""
        for item in self.store.outbox(UNFINISHED):
            if item.kind is not OutboxKind.TELL and Where.from_text(item.shared) == where:
                return item
        return None

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
            # The tokens stay on a done message: they say whether it was this device.
            here = self.instance in result.by
            raise Refused(f"this client was already {_done_words(result.kind)} from"
                          f" {'this device' if here else 'another of your devices'}",
                          done=result.kind)
        if isinstance(result, ss.Unsure):
            where_to = ("with `heard outbox` here" if result.owner == self.instance else
                        f"in `heard outbox` on {result.owner or 'the other device'}")
            raise Refused(f"{result.reason}; settle it {where_to}", owner=result.owner or "")
        if isinstance(result, ss.Contended):
            raise EngineError("several of your devices tried to answer this client at once;"
                              " nothing was sent, try again")
        if isinstance(result, ss.NotShared):
            designated = self._settings().sharing.designated_instance
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
            self.run(account, lambda conn: ss.queue_request(
                conn, request, self.keys.require(account, conn)))
        except ImapError as exc:
            raise AccountError(account.name, exc.message,
                               f"could not pass the reply to your other device: {exc.message}"
                               "; nothing was sent, try again") from exc

    def take_requests(self, account: ImapAccount,
                      handle: Callable[[str, str, dict[str, str], str], None]) -> int:
        """On the designated device: carry out what the others asked (kind, client
        Message-ID, options, requesting device), oldest first, then remove them. Each is
        taken at least once: a request is removed only after it was handled, so a crash, or
        a `handle` that raises (which stops the run), leaves it for the next sync; removing
        it first would lose a user's click silently on a crash. Each is acted on at most
        once all the same: its id is remembered before it is removed. The folder is read
        first and handled after, on no connection held, so each request's acknowledgement
        claims and marks on the worker meanwhile. Returns how many were waiting."""
        from heard.devices.wire import folder

        pending = self.run(account, lambda conn: folder.read_requests(
            conn, self.keys.ensure(account, conn)))
        self.keys.report(account.name, pending.untrusted)   # never acted on
        finished = [uid for uid, _why in pending.rejected]
        try:
            for request in pending.requests:
                key = f"request:{request.id}"
                if self.store.state(key) is None:
                    handle(request.kind, request.message_id, dict(request.options),
                           request.requested_by)
                    self.store.set_state(key, self.clock.now().isoformat())
                finished.append(request.uid)
        finally:
            self.run(account, lambda conn: folder.remove_requests(conn, finished))
        return len(pending.requests)

    # around the send

    def sending(self, where: Where) -> bool:
        """Just before SMTP: True when this device still holds the claim (and now says it is
        sending: a device that finds it dead later will not send again).

        A token gone while this device's reply still holds the claim was let go by another
        process of this device (module doc): the message is claimed again, by the protocol
        itself, so another device's claim or done mark (a takeover) still wins."""
        from heard.devices.wire import claims as ss

        account = self._account(where.account)
        if account is None:
            return True
        lease = self._lease(account)

        def run(conn: Connection) -> bool:
            caps = self.capabilities(account, conn)
            if ss.mark_sending(conn, where.folder, where.uid, self.instance, caps=caps):
                return True
            held = self._held_here(where)
            if held is None or held.state is not OutboxState.QUEUED:
                return False
            inquiry = self.store.inquiry(held.inquiry_id) if held.inquiry_id else None
            again = ss.claim(conn, where.folder, where.uid, self.instance,
                             self._sent_check(account, conn,
                                              inquiry.message_id if inquiry else ""),
                             lease, self.clock.now, caps=caps)
            if not isinstance(again, ss.Claimed):
                log.info("%s: the claim for %s is gone and cannot be had again: %s",
                         account.name, held.message_id, again)
                return False
            log.info("%s: claimed %s again for %s (another process of this device had let"
                     " it go)", account.name, where, held.message_id)
            return ss.mark_sending(conn, where.folder, where.uid, self.instance, caps=caps)

        return self.run(account, run)

    def not_sent(self, where: Where) -> None:
        """The sending mark was set, but nothing went out: the reply was cancelled before
        SMTP (Undo in another process meanwhile), or the user cancelled an unsure one (their
        word). Take the mark and the claim back, or the other devices would call the client
        unsure for good. Best effort."""
        from heard.devices.wire import claims as ss

        account = self._account(where.account)
        if account is None:
            return
        try:
            self.run(account, lambda conn: ss.not_sent(conn, where.folder, where.uid,
                                                         self.instance))
        except ImapError as exc:
            log.warning("could not take back the sending mark on %s: %s", where, exc)

    def finished(self, where: Where, how: Mark) -> None:
        """Once out (or set aside): acknowledged, delegated, dismissed or answered, for
        every device."""
        from heard.devices.wire import claims as ss

        account = self._account(where.account)
        if account is None:
            return
        self.run(account, lambda conn: ss.mark(conn, where.folder, where.uid, how))

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
            self.run(account, lambda conn: record_delegation(
                conn, record, self.keys.require(account, conn)))
            self.store.set_state(done, self.clock.now().isoformat())
        except (ImapError, EngineError) as exc:   # EngineError: this device has not joined
            log.warning("could not record the delegation of %s for the assistant: %s",
                        inquiry.message_id, exc)

    def learn_assignments(self, account: ImapAccount, wanted: dict[str, InquiryId]
                          ) -> list[Assignment]:
        """Delegations made on another device (the client's Message-ID → the inquiry
        here): read the new records in the `Heard` folder beside each watched folder, keep
        those of `wanted` in the store, and return them."""
        from heard.devices.wire.delegations import heard_folder_for, read_delegations
        from heard.devices.wire.folder import HEARD_FOLDER
        from heard.devices.wire.trust import Verdict
        from heard.domain.delegations import Assignment
        from heard.mail.imap import commands

        def run(conn: Connection) -> list[Assignment]:
            delimiter = commands.delimiter(conn)
            learnt = []
            for folder in dict.fromkeys(heard_folder_for(f, delimiter)
                                        for f in account.folders):
                key = f"delegation-records:{account.name}:{folder}"
                # This login's own folder: signed records only; another login's shared
                # with it: any not delivered by mail (heard.devices.wire.delegations).
                shared = folder != HEARD_FOLDER
                found = read_delegations(conn, None if shared else
                                         self.keys.ensure(account, conn), folder,
                                         int(self.store.state(key) or 0), shared=shared)
                records, last = found.records, found.last
                self.keys.report(account.name, found.untrusted)
                # Signed by a device this one cannot check yet: read again after joining.
                unmatched = [u.uid for u in found.untrusted if u.verdict is Verdict.NO_KEY]
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

        return self.run(account, run)

    def _may_come(self, message_id: str) -> bool:
        """Whether a delegation record may still matter here: its message is unknown, or
        its inquiry is open (the keyword saying "delegated" may arrive later). Only for a
        day: a message this device never sees must not hold every later record back."""
        if not self.store.seen_locations(message_id):
            return True
        return any(i.message_id == message_id
                   for i in self.store.open_inquiries_in_thread([message_id]))

    def _unmark(self, where: Where, keyword: str) -> None:
        """Take a "done" keyword back (Undo of a dismissal)."""
        account = self._account(where.account)
        if account is None:
            return

        from heard.mail.imap import commands

        self.run(account, lambda conn: commands.remove_keywords(
            conn, where.folder, where.uid, [keyword]))

    def release(self, where: Where) -> None:
        """Undo before it went out, or a click that lost: let the other devices act again.
        Not while a reply of this device still holds the claim (a second process of this
        device that lost the race to the first: the token is the first one's too)."""
        from heard.devices.wire import claims as ss

        account = self._account(where.account)
        if account is None:
            return
        held = self._held_here(where)
        if held is not None:
            log.info("the claim on %s stays: this device's reply %s holds it", where,
                     held.message_id)
            return
        try:
            self.run(account, lambda conn: ss.release(conn, where.folder, where.uid,
                                                         self.instance))
        except ImapError as exc:   # the claim stays; others take over after the lease
            log.warning("could not release the claim on %s: %s", where, exc)

    def describe(self, account: ImapAccount) -> str:
        """How this account coordinates devices, in words (doctor, settings)."""
        caps = self.capabilities(account)
        return f"instance {self.instance!r}: {caps.describe()}"

    def mode(self, account: ImapAccount) -> DeviceMode:
        from heard.devices.wire.claims import Mode

        caps = self.capabilities(account)
        return DeviceMode(account.name, caps.mode.value, caps.describe(),
                          caps.mode in (Mode.FULL, Mode.NO_CONDSTORE))

    # the designated device and the others

    def designated(self, inquiry: Inquiry) -> str:
        """The device that alone acts for the inquiry's account: on a server that keeps no
        keywords, `[sharing] designated_instance` (maybe this one); "" where every device
        may act (claims permitting). Asks the server once per account (EngineError when it
        cannot be reached: nothing may be done as if this device were the designated one)."""
        from heard.devices.wire.claims import Mode

        designated = self._settings().sharing.designated_instance
        account = self._account(inquiry.account)
        if not designated or account is None:
            return ""
        try:
            mode = self.capabilities(account).mode
        except ImapError as exc:
            raise AccountError(account.name, exc.message,
                               f"cannot reach {account.host} to learn which of your devices"
                               f" acts for this account ({exc}); try again") from exc
        return designated if mode is Mode.DESIGNATED else ""

    def closed(self, inquiry: Inquiry, how: Mark) -> None:
        """Set aside or answered here: the other devices stop counting the client (on a
        server that keeps no keywords, the designated device is told instead). The local
        change stands whatever happens here; other devices learn later. Acknowledged or
        delegated: a message one reply or forward covered beside the one it is about."""
        if how in (Mark.ACKED, Mark.DELEGATED):
            try:   # on a server without keywords the sending device is the designated one
                if self.designated(inquiry):
                    return
            except Exception as exc:
                log.warning("could not tell the other devices (acknowledged inquiry %s): %s",
                            inquiry.id, exc)
                return
        elif how not in (Mark.DISMISSED, Mark.ANSWERED) or self._passed_on(inquiry, how):
            return
        # An answer noted here (a call; the assistant's reply from their own mail) is the
        # standard \Answered for the other devices; their intake follows it.
        where = self.where_latest(inquiry) if how is Mark.ANSWERED else self.where(inquiry)
        if where is None:
            return
        try:
            self.finished(where, how)
        except Exception as exc:
            log.warning("could not tell the other devices (%s %s): %s", how, where, exc)

    def reopened(self, inquiry: Inquiry) -> None:
        """A dismissal undone: the other devices count the client again."""
        if self._passed_on(inquiry, None):
            return
        where = self.where(inquiry)
        if where is None:
            return
        try:
            self._unmark(where, DISMISSED)
        except Exception as exc:
            log.warning("could not tell the other devices (undismissed %s): %s", where, exc)

    def _passed_on(self, inquiry: Inquiry, how: Mark | None) -> bool:
        """On a server that keeps no keywords (designated-only) the designated device alone
        sends, so it must hear of a dismissal, an answer or an undone dismissal (`how`
        None) made on another device: a request through the `Heard` folder. True in that
        mode (no keyword to set)."""
        kind = "undismiss" if how is None else str(how)
        try:
            designated = self.designated(inquiry)
        except Exception as exc:   # the server is out of reach: no mark could be set either
            log.warning("could not tell the other devices (%s of inquiry %s): %s", kind,
                        inquiry.id, exc)
            return True
        if not designated:
            return False
        if designated == self.instance or not inquiry.message_id:
            return True
        request = {"dismissed": "dismiss"}.get(kind, kind)
        options = {"received": inquiry.received_at.isoformat()} if how is None else {}
        try:
            self.request(inquiry, request, options)
        except Exception as exc:   # the local change stands; the designated device may act
            log.warning("could not tell %r (%s of inquiry %s): %s", designated, request,
                        inquiry.id, exc)
        return True

    # what a sync learns

    def learn_capabilities(self, accounts: list[ImapAccount]) -> None:
        """Once per account and process: how its server lets the devices coordinate."""
        for account in accounts:
            if self.known_capabilities(account.name) is not None:
                continue
            try:
                self.capabilities(account)
            except (ImapError, EngineError) as exc:   # the next sync asks again
                log.info("%s: how your devices coordinate is not known yet: %s",
                         account.name, exc)

    def learn_assignments_of(self, accounts: list[ImapAccount],
                             wanted: dict[str, InquiryId]) -> list[Assignment]:
        """Delegated on another device: to whom and by when (the records in the Heard
        folder), so the assistant's Heard lists them with their due times."""
        learnt = []
        for account in accounts:
            try:
                learnt += self.learn_assignments(account, wanted)
            except (ImapError, EngineError) as exc:
                log.warning("%s: delegations of your other devices: %s", account.name, exc)
        return learnt

    def notice(self) -> str:
        """When an account's server cannot coordinate the user's devices, what that means
        here (from what was learnt; never a login of its own)."""
        from heard.devices.wire.claims import Mode

        settings = self._settings()
        for account in settings.accounts:
            if not isinstance(account, ImapAccount):
                continue
            caps = self.known_capabilities(account.name)
            if caps is None:
                continue
            if caps.mode is Mode.DESIGNATED:
                designated = settings.sharing.designated_instance
                if not designated:
                    return (f"{account.name}: the mail server cannot coordinate your devices;"
                            " if you run Heard on more than one, name the one that sends in"
                            " Settings → General → Designated device")
                if designated != settings.instance:
                    return (f"{account.name}: the mail server cannot coordinate your devices:"
                            f" replies go out from {designated!r}; what you click here is"
                            " passed to it")
            elif caps.mode is Mode.LOCAL:
                return (f"{account.name}: Heard cannot change this mailbox, so nothing is"
                        " shared with your other devices; use Heard on one device only")
        return ""


def ss_instance(name: str) -> InstanceId:
    from heard.domain.shared import instance_id

    return instance_id(name)


def _lease() -> Lease:
    from heard.domain.shared import Lease

    return Lease(LEASE)


def _held_words(item: OutboxItem) -> str:
    """Why a second click of this device is refused while its first reply is unfinished."""
    what = "the hand-over to your assistant" if item.kind is OutboxKind.FORWARD \
        else "an acknowledgement"
    if item.state is OutboxState.UNSURE:
        return (f"{what} to this client from this device may or may not have gone out:"
                f" settle it with `heard outbox resend` or `heard outbox mark-sent`"
                f" {item.message_id}")
    if item.state is OutboxState.SENDING:
        return (f"{what} to this client is being sent from this device (or was, when Heard"
                " stopped: `heard outbox flush` settles it)")
    return f"{what} to this client is already on its way from this device (`heard outbox`)"


def _done_words(kind: Done) -> str:
    return {Done.ACKED: "acknowledged", Done.DELEGATED: "handed to your assistant",
            Done.DISMISSED: "set aside", Done.ANSWERED: "answered",
            Done.SENT: "acknowledged"}[kind]

