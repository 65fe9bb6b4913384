"""Mail intake: what is new in an account's Maildirs becomes inquiries, answers and
acknowledgements in the store.

An account's inbox and Sent folder are read as one timeline, oldest first, so a client's
follow-up that came after your reply is seen as the client having the last word.
Everything one sync learned lands in one transaction; a message that cannot be used is
skipped with a reason and never stops the rest.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import queue
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from heard.config import ImapAccount, MaildirAccount
from heard.devices.coordinator import Devices
from heard.domain.clients import Channel, Client, ClientDirectory, normalize_email
from heard.domain.clock import Clock, WorkingHours
from heard.domain.ids import InquiryId
from heard.domain.inquiries import Inquiry, InquiryState, Provenance
from heard.domain.messages import MessageFacts
from heard.domain.standards import PROSPECT_TIER
from heard.engine.context import EngineContext
from heard.engine.results import Skipped, SyncReport
from heard.mail.maildir import Maildir
from heard.mail.parse import MalformedMessage, auto_headers, parse_message
from heard.store import Store

if TYPE_CHECKING:
    from heard.domain.classify import Classification, Person, Rules
    from heard.domain.relayed import PatternSet
    from heard.domain.shared import SharedState
    from heard.mail.imap import Connection, Fetched, FolderDelta, Progress

log = logging.getLogger(__name__)

# A first look at an old mailbox must not turn years of mail into "waiting" clients.
INTAKE_WINDOW = timedelta(days=30)
# Mailing lists and bulk mail never need their text read (only their headers).
_BULK_PRECEDENCE = frozenset({"bulk", "list", "junk"})
# Headers and the start of the text are all intake needs; a 40 MB attachment is not read.
MAX_READ = 1 << 20


# Messages applied under one savepoint, their seen marks written in one statement.
APPLY_CHUNK = 250


@dataclass(frozen=True)
class _ReportMark:
    """How far a SyncReport had got, to undo what a failed chunk added to it."""

    seen: int
    lengths: tuple[int, ...]

    @staticmethod
    def of(report: SyncReport) -> _ReportMark:
        return _ReportMark(report.seen, tuple(len(x) for x in _report_lists(report)))

    def restore(self, report: SyncReport) -> None:
        report.seen = self.seen
        for entries, length in zip(_report_lists(report), self.lengths, strict=True):
            del entries[length:]


def _report_lists(report: SyncReport) -> tuple[list[object], ...]:
    return (report.new_inquiries, report.answered, report.acknowledged,  # type: ignore[return-value]
            report.skipped, report.errors)


def _parse(fetched: Fetched) -> tuple[MessageFacts | None, str]:
    """A fetched message's facts (with its text when that was fetched), or why not."""
    try:
        return parse_message(fetched.raw, with_preview=bool(fetched.text)), ""
    except MalformedMessage as exc:
        return None, f"malformed: {exc.reason}"


class _Parsing:
    """Parses the batches a sync fetches on a thread of its own, while the connection
    fetches the next (issue 25: fetch and parse overlapped).

    Nothing here waits forever: the fetching thread's put() gives up when the parser has
    failed (its error ends the fetch), the parser is woken by an end mark when the fetch
    is over and looks every WAIT seconds whether it is, and close() (always called) ends
    it even mid-way. The thread starts with the first batch: a sync that fetches nothing
    starts none."""

    WAIT = 0.5   # how often a waiting side looks whether the other is gone

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[str, list[Fetched]] | None] = queue.Queue(maxsize=8)
        self._parsed: dict[tuple[str, int], tuple[MessageFacts | None, str]] = {}
        self._error: BaseException | None = None
        self._fetched = threading.Event()   # no batch will come any more
        self._stop = threading.Event()      # leave what is left (the sync failed)
        self._thread: threading.Thread | None = None

    def put(self, source: str, batch: list[Fetched]) -> None:
        """From the fetching thread: parse this batch. Raises (ending the fetch) when the
        parser has failed."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="intake-parse",
                                            daemon=True)
            self._thread.start()
        while True:
            if self._error is not None or not self._thread.is_alive():
                raise RuntimeError(f"parsing fetched mail failed: {self._error!r}")
            try:
                self._queue.put((source, batch), timeout=self.WAIT)
                return
            except queue.Full:
                continue

    def results(self) -> dict[tuple[str, int], tuple[MessageFacts | None, str]]:
        """Every batch put, parsed: (source, UID) -> (facts, problem)."""
        self._end()
        if self._thread is not None:
            self._thread.join()   # it ends: nothing more comes, and it is told so
        if self._error is not None:
            raise RuntimeError(f"parsing fetched mail failed: {self._error!r}") \
                from self._error
        return self._parsed

    def close(self) -> None:
        self._stop.set()
        self._end()

    def _end(self) -> None:
        self._fetched.set()
        with contextlib.suppress(queue.Full):   # full: the parser finds the queue empty
            self._queue.put_nowait(None)         # and the end set after this many batches

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    work = self._queue.get(timeout=self.WAIT)
                except queue.Empty:
                    if self._fetched.is_set():
                        return
                    continue
                if work is None:
                    return
                source, batch = work
                for fetched in batch:
                    if self._stop.is_set():
                        return
                    self._parsed[(source, fetched.uid)] = _parse(fetched)
        except BaseException as exc:   # handed to the fetching thread
            self._error = exc


@dataclass(frozen=True)
class _Item:
    role: str                 # "inbox" or "sent"
    source: str               # what the store remembers the folder by
    label: str                # what the user is told: "work:inbox"
    key: str                  # the message within the source (file name, UIDVALIDITY:UID)
    name: str                 # the message as the user is told (file name, "UID 42")
    at: datetime              # when it arrived (inbox) or was sent (Sent)
    facts: MessageFacts | None
    problem: str = ""         # why it cannot be used, when facts is None
    answered_before: bool = False   # flagged \\Answered when Heard first saw it


def folder_source(folder: Path) -> str:
    """What intake remembers a folder by: its path, so renaming an account re-reads nothing."""
    return f"maildir:{folder}"


def needs_text(facts: MessageFacts) -> bool:
    """Whether a message's text is worth fetching: not for lists or bulk mail. (Mail "from
    you" may be a website form's notification: form plugins send as the site's owner.)"""
    return _needs_text(facts.auto_headers or {})


# Header lines that make a message list or bulk mail (header names are ASCII: a
# case-blind bytes search finds what header_items would).
_END_OF_HEADERS = re.compile(rb"\r?\n\r?\n")
_LIST_HEADER = re.compile(rb"^(?:list-id|list-unsubscribe):", re.IGNORECASE | re.MULTILINE)
_PRECEDENCE_HEADER = re.compile(rb"^precedence:", re.IGNORECASE | re.MULTILINE)


def head_needs_text(head: bytes) -> bool:
    """needs_text of a message's raw header block, without parsing it: a List-Id or
    List-Unsubscribe line says no; with neither and no Precedence line, yes; else the
    machine-made marks are read (parse.auto_headers). On the fetching thread of a first
    sync, for every message."""
    end = _END_OF_HEADERS.search(head)
    block = head[:end.start()] if end else head
    if _LIST_HEADER.search(block):
        return False
    if _PRECEDENCE_HEADER.search(block) is None:
        return True
    return _needs_text(auto_headers(head))


def _needs_text(auto: Mapping[str, str]) -> bool:
    if "list-id" in auto or "list-unsubscribe" in auto:
        return False
    return auto.get("precedence", "").strip().lower() not in _BULK_PRECEDENCE


def _when(facts: MessageFacts | None, mtime: datetime) -> datetime:
    """The Date header, unless it claims a time after the file reached the disk.

    A Maildir file's mtime is when it was delivered, but a mirror tool (mbsync,
    offlineimap) sets it to the time of the fetch, so the Date header is better, and
    never trusted past the delivery.
    """
    if facts is None or facts.date is None:
        return mtime
    try:
        return min(facts.date.astimezone(mtime.tzinfo), mtime)
    except (OverflowError, ValueError):  # "31 Dec 9999 -1200" and other hostile dates
        return mtime


# A sender's Date header earlier than this before the server received the message is a
# wrong clock, not a slow network.
DATE_TOLERANCE = timedelta(hours=1)


def _server_when(facts: MessageFacts | None, arrived: datetime) -> datetime:
    """For IMAP, INTERNALDATE is the server's own receipt time: the Date header is used
    only when it is a little earlier (the sender's own timestamp), never far off."""
    if facts is None or facts.date is None:
        return arrived
    try:
        sent = facts.date.astimezone(arrived.tzinfo)
    except (OverflowError, ValueError):
        return arrived
    return sent if arrived - DATE_TOLERANCE <= sent <= arrived else arrived


class Intake:
    def __init__(self, store: Store, clock: Clock, zone: tzinfo,
                 window: timedelta = INTAKE_WINDOW, rules: Rules | None = None,
                 assistants: frozenset[str] = frozenset(),
                 marks: Callable[[frozenset[str]], SharedState | None] = lambda _f: None,
                 authserv_ids: tuple[str, ...] = (), offer_after: int = 0,
                 hours: WorkingHours | None = None) -> None:
        self.store = store
        # Follow-ups offered from Sent: a question to a client, after this many working
        # days with no reply (0: off); counted in these working hours.
        self.offer_after = offer_after
        self.hours = hours
        self.authserv_ids = authserv_ids   # whose Authentication-Results the user trusts
        self.clock = clock
        self.zone = zone
        self.window = window
        self.assistants = assistants  # their mail can confirm a delegation
        # What the user's other devices did with a message, from its flags (the devices'
        # coordinator reads them; None when no device of the user's touched it).
        self.marks = marks
        self._chunk_inquiries: set[str] = set()   # see _was_inquiry
        if rules is None:
            from heard.domain.classify import Rules

            rules = Rules()
        self.rules = rules

    def sync_account(self, account: MaildirAccount, directory: ClientDirectory,
                     own: frozenset[str], report: SyncReport) -> None:
        now = self.clock.now()
        items: list[_Item] = []
        for role, folder in (("inbox", account.inbox), ("sent", account.sent)):
            if folder is not None:
                items.extend(self._read(role, f"{account.name}:{role}", Maildir(folder), now,
                                        report))
        items.sort(key=lambda i: i.at)
        with self.store.transaction():
            self._apply_all(items, account.name, directory, own, now, report)

    def sync_imap(self, account: ImapAccount, conn: Connection, directory: ClientDirectory,
                  own: frozenset[str], report: SyncReport,
                  progress: Progress | None = None,
                  apply_lock: AbstractContextManager[object] | None = None) -> None:
        """Fetch what is new in the account's folders and Sent, then apply it as one
        timeline in one transaction; the folders' positions are saved with it, so a crash
        refetches rather than loses."""
        from heard.mail.imap import FolderState

        now = self.clock.now()
        since = (now - self.window).astimezone(self.zone).date()
        sent = conn.find_sent(account.sent_folder)
        if sent is None:
            report.errors.append(
                f"{account.name}: no Sent folder found" + (
                    f" named {account.sent_folder!r}" if account.sent_folder else
                    " (set sent_folder in heard.toml)") +
                "; replies you send from other devices will not close inquiries")
        folders = [("inbox", f) for f in account.folders]
        if sent is not None and sent not in account.folders:
            folders.append(("sent", sent))
        deltas: list[tuple[str, FolderDelta]] = []
        fetched_in: list[tuple[str, str, str, FolderDelta]] = []   # role, source, label
        items: list[_Item] = []
        flagged: dict[str, set[str]] = {}      # source -> keys flagged \Answered
        keyworded: dict[str, dict[str, frozenset[str]]] = {}   # source -> key -> flags
        # Each batch is parsed on a thread of its own while the next is fetched; which
        # texts to fetch is decided from the machine-made marks alone.
        parsing = _Parsing()
        try:
            for role, folder in folders:
                source = account.source(folder)
                texts = role == "inbox" or bool(self.offer_after)

                def wants_text(_uid: int, head: bytes, texts: bool = texts) -> bool:
                    # Sent's text only when a question there may be offered as a follow-up.
                    try:
                        return texts and head_needs_text(head)
                    except Exception:   # unreadable headers: the parse will say why
                        return False

                known = self.store.imap_state(account.name, folder)
                previous = FolderState(*known) if known else None
                watch = {}
                if role == "inbox" and previous is not None:
                    prefix = f"{previous.uidvalidity}:"
                    watch = {int(k.removeprefix(prefix)): k for k in
                             self.store.open_inquiry_keys(source) if k.startswith(prefix)}
                delta = conn.sync_folder(folder, previous, since, wants_text, watch, progress,
                                         on_batch=functools.partial(parsing.put, source))
                deltas.append((source, delta))
                if delta.unchanged:
                    continue
                fetched_in.append((role, source, f"{account.name}:{folder}", delta))
                keys = flagged.setdefault(source, set())
                keys.update(watch[uid] for uid in delta.answered if uid in watch)
                heard_flags = keyworded.setdefault(source, {})
                # Every change, Heard's keywords or not: a claim released elsewhere (an
                # Undo) takes them all away, and the client is nobody's any more.
                heard_flags.update({watch[uid]: f for uid, f in delta.flags.items()
                                    if uid in watch})
            parsed = parsing.results()
        finally:
            parsing.close()
        for role, source, label, delta in fetched_in:
            for fetched in delta.new:
                key = f"{delta.state.uidvalidity}:{fetched.uid}"
                answered = role == "inbox" and "\\answered" in {f.lower()
                                                               for f in fetched.flags}
                arrived = fetched.arrived.astimezone(self.zone)
                facts, problem = parsed.get((source, fetched.uid)) or _parse(fetched)
                items.append(_Item(role, source, label, key, f"UID {fetched.uid}",
                                   _server_when(facts, arrived), facts, problem, answered))
                if role == "inbox" and self.marks(fetched.flags) is not None:
                    keyworded.setdefault(source, {})[key] = fetched.flags
        items.sort(key=lambda i: i.at)
        with apply_lock or nullcontext(), self.store.transaction():
            for source, delta in deltas:
                if delta.reset:
                    log.warning("%s: UIDVALIDITY changed; reading the folder again", source)
                    self.store.forget_source(source)
            self._apply_all(items, account.name, directory, own, now, report)
            for source, keys in flagged.items():
                self._answered_elsewhere(source, keys, now, report)
            for source, states in keyworded.items():
                self._done_on_another_device(source, states, now, report)
            for _source, delta in deltas:
                if not delta.unchanged:
                    self.store.save_imap_state(account.name, delta.folder,
                                               delta.state.uidvalidity, delta.state.uidnext,
                                               delta.state.highestmodseq, now)

    def _answered_elsewhere(self, source: str, keys: set[str], now: datetime,
                            report: SyncReport) -> None:
        """\\Answered set by another mail client (a phone, webmail) answers the inquiry."""
        if not keys:
            return
        inquiry_ids = self.store.inquiry_keys(source, keys)
        for key in keys:
            message_id = inquiry_ids.get(key)
            flagged = _uid(key)
            if not message_id or flagged is None:
                continue
            for inquiry in self.store.open_inquiries_in_thread([message_id], delegated=True):
                # A delegated one too: the assistant marked it answered on their Heard.
                if inquiry.id is None or not (inquiry.state.is_open or
                                              inquiry.state is InquiryState.DELEGATED):
                    continue
                # The answer was to that message: a client message of the inquiry that
                # came later (a follow-up, a new question in the thread) still waits.
                if any(place == source and (_uid(k) or 0) > flagged for place, k
                       in self.store.inquiry_locations(inquiry.thread_ids)):
                    continue
                self.store.save_inquiry(inquiry.answer(max(now, inquiry.last_activity)))
                self.store.close_promises(inquiry.id, now)
                self.store.confirm_delegation(inquiry.id, now)   # no reminder about it
                report.answered.append(inquiry.id)

    def _done_on_another_device(self, source: str, states: dict[str, frozenset[str]],
                                now: datetime, report: SyncReport) -> None:
        """Keywords another of the user's Heard devices set (heard.devices.imap): the client
        was acknowledged, delegated or set aside there, or is being answered from there."""
        from heard.domain.shared import SharedState, Status

        if not states:
            return
        message_ids = self.store.inquiry_keys(source, states)
        for key, flags in states.items():
            state = self.marks(flags) or SharedState(Status.WAITING)
            message_id = message_ids.get(key)
            if not message_id:
                continue
            for inquiry in self.store.open_inquiries_in_thread([message_id]):
                if inquiry.id is None or inquiry.message_id != message_id:
                    continue
                if state.owner:
                    self.store.set_owner(inquiry.id, state.owner)
                elif inquiry.state is InquiryState.WAITING and not state.owners:
                    self.store.set_owner(inquiry.id, "")   # released: nobody is on it
                at = max(now, inquiry.last_activity)
                if state.status is Status.ACKED and inquiry.state is InquiryState.WAITING:
                    self.store.save_inquiry(inquiry.acknowledge(at))
                    report.acknowledged.append(inquiry.id)
                elif state.status is Status.DELEGATED and inquiry.state.is_open:
                    self.store.save_inquiry(inquiry.delegate(at))
                    report.acknowledged.append(inquiry.id)
                elif state.status is Status.DISMISSED and inquiry.state.is_open:
                    self.store.save_inquiry(inquiry.dismiss(at))
                    report.acknowledged.append(inquiry.id)

    def _read(self, role: str, label: str, maildir: Maildir, now: datetime,
              report: SyncReport) -> Iterator[_Item]:
        source = folder_source(maildir.path)
        if not maildir.exists():
            report.errors.append(f"{label}: {maildir.path} is not a Maildir (it needs new/,"
                                 " cur/ and tmp/); check it with `heard account test`")
            log.warning("%s", report.errors[-1])
            return
        known = self.store.seen_keys(source)
        cutoff = now - self.window
        for entry in maildir.entries():
            if entry.key in known:
                continue
            try:
                mtime = datetime.fromtimestamp(entry.path.stat().st_mtime, self.zone)
                if mtime < cutoff:  # older than the window whatever its Date says
                    yield _Item(role, source, label, entry.key, entry.path.name, mtime, None,
                                "old")
                    continue
                with entry.path.open("rb") as fh:
                    raw = fh.read(MAX_READ)
            except OSError as exc:  # moved away between listing and reading: next sync
                log.info("%s vanished while reading (%s)", entry.path, exc)
                continue
            try:
                facts = parse_message(raw)
            except MalformedMessage as exc:
                yield _Item(role, source, label, entry.key, entry.path.name, mtime, None,
                            f"malformed: {exc.reason}")
                continue
            yield _Item(role, source, label, entry.key, entry.path.name, _when(facts, mtime),
                        facts)

    def classify(self, facts: MessageFacts, directory: ClientDirectory,
                 own: frozenset[str]) -> Classification:
        """What an incoming message is: the one decision intake and `heard explain` share."""
        # The rules' regexes cost ~20 ms to compile: loaded with the first message, not
        # on the tray's start-up path.
        from heard.domain.classify import classify

        return classify(facts, directory, dataclasses.replace(self.rules, own=own))

    def _apply_all(self, items: list[_Item], account: str, directory: ClientDirectory,
                   own: frozenset[str], now: datetime, report: SyncReport) -> None:
        """Apply `items` in order, APPLY_CHUNK at a time: each chunk under one savepoint,
        what it saw marked in one statement (a savepoint and a mark per message were half
        a first sync's statements). A chunk in which a message fails is undone, its
        report entries with it, and applied again one message at a time (_apply_safely),
        so one bad message still never costs the others."""
        for start in range(0, len(items), APPLY_CHUNK):
            chunk = items[start:start + APPLY_CHUNK]
            before = _ReportMark.of(report)
            self._chunk_inquiries = set()
            try:
                with self.store.savepoint():
                    rows = []
                    for item in chunk:
                        report.seen += 1
                        verdict, reason = self._apply(item, account, directory, own, report)
                        message_id = item.facts.message_id if item.facts else ""
                        rows.append((item.source, item.key, message_id, verdict, reason))
                        if verdict == "inquiry" and message_id:
                            self._chunk_inquiries.add(message_id)
                    self.store.mark_seen_many(rows, now)
            except sqlite3.Error:
                raise  # the store itself failed (disk full...): retry the whole sync later
            except Exception as exc:  # one message failed: the chunk again, one by one
                log.debug("a message of a chunk failed (%s): applying it one by one", exc)
                before.restore(report)
                self._chunk_inquiries = set()
                for item in chunk:
                    report.seen += 1
                    self._apply_safely(item, account, directory, own, now, report)
            finally:
                self._chunk_inquiries = set()

    def _was_inquiry(self, message_id: str) -> bool:
        """Another copy of this message already made an inquiry (in the store, or earlier
        in the chunk being applied, whose seen marks are written at its end)."""
        return message_id in self._chunk_inquiries or self.store.message_was_inquiry(message_id)

    def _apply_safely(self, item: _Item, account: str, directory: ClientDirectory,
                      own: frozenset[str], now: datetime, report: SyncReport) -> None:
        message_id = item.facts.message_id if item.facts else ""
        try:
            with self.store.savepoint():
                verdict, reason = self._apply(item, account, directory, own, report)
                self.store.mark_seen(item.source, item.key, message_id, verdict, reason, now)
        except sqlite3.Error:
            raise  # the store itself failed (disk full...): retry the whole sync later
        except Exception as exc:  # a bug on one message must not stop intake for good
            log.exception("could not take in %s %s", item.label, item.name)
            reason = f"failed: {type(exc).__name__}: {exc}"
            report.skipped.append(Skipped(item.label, item.name, reason))
            # Kept with where it is and who sent it: the status and the doctor show it
            # until the user has seen it, so the message is never lost in a log file.
            where = f"{item.label} {item.name}"
            if item.facts is not None:
                where += f", from {item.facts.from_addr}: {item.facts.subject[:80]!r}"
            self.store.mark_seen(item.source, item.key, message_id, "failed",
                                 f"{reason} ({where})", now)

    def _apply(self, item: _Item, account: str, directory: ClientDirectory,
               own: frozenset[str], report: SyncReport) -> tuple[str, str]:
        if item.facts is None:
            if item.problem == "old":
                return "old", "older than the intake window"
            log.warning("skipped %s %s: %s", item.label, item.name, item.problem)
            report.skipped.append(Skipped(item.label, item.name, item.problem))
            return "malformed", item.problem
        if item.role == "sent":
            return "sent", self._apply_sent(item.facts, item.at, directory, report)
        if item.answered_before:
            # Answered before Heard saw it (from another account or device): not waiting,
            # and no made-up response time for the statistics.
            return "answered", "already answered (\\Answered) when first seen"
        if self.assistants and normalize_email(item.facts.from_addr) in self.assistants:
            taken_up = self._from_assistant(item.facts, item.at, report)
            if taken_up:
                return "delegation", taken_up
        verdict = self.classify(item.facts, directory, own)
        reason = verdict.reason
        if verdict.is_inquiry and verdict.client is not None and verdict.client.id is not None:
            self._client_wrote(verdict.client, item.facts, item.at)
        if not verdict.is_inquiry or (verdict.client is None and verdict.person is None):
            report.skipped.append(Skipped(item.label, item.name, reason))
        elif item.at < self.clock.now() - self.window:
            reason = "dated before the intake window"
            report.skipped.append(Skipped(item.label, item.name, reason))
        elif self._was_inquiry(item.facts.message_id):
            reason = "already counted (another copy of the same message)"
        else:
            client = verdict.client or self._prospect(verdict.person, item.at)
            new_id = self._record(account, item.facts, verdict, client, item.at)
            if new_id is not None:
                report.new_inquiries.append(new_id)
        return verdict.verdict.value, reason

    def _from_assistant(self, facts: MessageFacts, at: datetime, report: SyncReport) -> str:
        """The assistant's mail in a delegated thread (a reply to the forward, or a reply to
        the client with the user in copy) shows the matter is in hand; one addressed to the
        client answers it."""
        from heard.domain.authentication import Verdict, verdict
        from heard.domain.senders import robot_reason

        if robot_reason(facts):
            return ""   # an out-of-office reply proves nobody has it in hand
        domain = facts.from_addr.rpartition("@")[2]
        if verdict(facts.auth_results, self.authserv_ids, domain) is not Verdict.PASS:
            # Anyone can write the assistant's address in a From: only the user's own
            # server's word (or the reply in Sent, or \Answered) closes a delegation.
            log.warning("mail from the assistant's address %s is not vouched for by your"
                        " mail server ([autopilot] authserv_ids): no delegation taken as"
                        " done", facts.from_addr)
            return ""
        thread = set(facts.thread_ids) - {facts.message_id}
        found = []
        for delegation in self.store.open_delegations():
            inquiry = self.store.inquiry(delegation.inquiry_id)
            if inquiry is None or at < delegation.made_at \
                    or not thread & {delegation.forward_id, *inquiry.thread_ids}:
                continue
            self.store.confirm_delegation(delegation.inquiry_id, at)
            found.append(f"{delegation.assistant} took up inquiry {delegation.inquiry_id}")
            to_client = {normalize_email(a) for a in facts.to} & {
                normalize_email(inquiry.reply_address), *self._client_emails(inquiry)}
            if to_client and inquiry.state is InquiryState.DELEGATED and inquiry.id:
                self.store.save_inquiry(inquiry.answer(at))
                self.store.close_promises(inquiry.id, at)
                report.answered.append(inquiry.id)
        return "; ".join(found)

    def _client_emails(self, inquiry: Inquiry) -> tuple[str, ...]:
        client = self.store.client(inquiry.client_id)
        return client.emails if client else ()

    def _prospect(self, person: Person | None, at: datetime) -> Client:
        """The provisional client record of a new person (found again by address or
        number when they write twice in one sync)."""
        assert person is not None
        for kind, value in (("email", person.email), ("phone", person.phone)):
            if value and (known := self.store.client_by_address(kind, value)) is not None:
                return known
        name = person.name or person.email or person.phone or "Unknown caller"
        client = Client(
            name=name, emails=(person.email,) if person.email else (),
            phones=(person.phone,) if person.phone else (), tier=PROSPECT_TIER,
            channel=Channel.CALL if person.phone and not person.email else Channel.EMAIL,
            preferences={"via": person.via} if person.via else {}, prospect=True)
        # Not read back: what _record needs of it is its id, addresses and numbers.
        client = dataclasses.replace(client, id=self.store.insert_client(client, at))
        log.info("new prospect %s (%s)", client.name, person.via or "mail")
        return client

    def _record(self, account: str, facts: MessageFacts, verdict: Classification,
                client: Client, arrived: datetime) -> InquiryId | None:
        assert client.id is not None
        person = verdict.person
        channel = verdict.channel or Channel.EMAIL
        if person is None:  # the sender wrote themselves
            sender, reply_to, subject, preview = (facts.from_addr, facts.reply_to,
                                                  facts.subject, facts.preview)
            # A follow-up in a thread whose inquiry is still waiting is the same contact.
            for existing in self.store.open_inquiries_in_thread(facts.thread_ids):
                if existing.client_id == client.id and existing.state is InquiryState.WAITING:
                    assert existing.id is not None
                    self.store.note_follow_up(existing.id, arrived, facts.thread_ids)
                    return None
        elif person.via is None:  # a new person writing themselves
            sender, reply_to, subject, preview = (facts.from_addr, facts.reply_to,
                                                  facts.subject, facts.preview)
        else:
            # A robot spoke for them: never reply to the robot. Calls keep the number as
            # the sender; replies go to the person's address (or the client's) if known.
            email = person.email or next(iter(client.emails), "")
            number = person.phone or next(iter(client.phones), "")
            sender = number if channel is Channel.CALL else email
            reply_to = email if channel is Channel.CALL else ""
            what = "Voicemail" if person.via.startswith("voicemail") else "Website form"
            subject = person.subject or f"{what} from {person.label}"
            preview = " ".join(person.message.split())[:400] or facts.preview
        inquiry_id = self.store.insert_inquiry(Inquiry(
            client_id=client.id, channel=channel, received_at=arrived,
            subject=subject, sender=sender, reply_to=reply_to,
            message_id=facts.message_id, thread_ids=facts.thread_ids, preview=preview,
            account=account, unsure=verdict.unsure, provenance=self._provenance(facts),
        ))
        # By id: the log names no subject (it may travel in a bug report).
        log.info("new inquiry %s from client %s", inquiry_id, client.id)
        return inquiry_id

    def _provenance(self, facts: MessageFacts) -> Provenance:
        """Where the message came from, for the autopilot's guards (see Provenance)."""
        from heard.domain.authentication import verdict

        domain = facts.from_addr.rpartition("@")[2]
        return Provenance(
            direct=bool(self.rules.own & set(facts.to)),
            auth=verdict(facts.auth_results, self.authserv_ids, domain).value,
            heard=any(name.startswith("x-heard-") for name in (facts.headers or {})))

    def _promised_elsewhere(self, message_id: str, due: datetime, sent_at: datetime) -> None:
        """An acknowledgement sent from another device promised an answer by `due`: this
        device keeps the promise too (and warns before it is due), unless it has one."""
        from heard.domain.promises import Promise
        from heard.domain.templates import format_time

        promised = {p.inquiry_id for p in self.store.open_promises()}
        for inquiry in self.store.open_inquiries_in_thread([message_id]):
            if inquiry.message_id != message_id or inquiry.id is None \
                    or inquiry.state is not InquiryState.ACKNOWLEDGED \
                    or inquiry.id in promised:
                continue
            self.store.add_promise(Promise(inquiry.id, inquiry.client_id, sent_at, due,
                                           f"reply by {format_time(due, self.zone, sent_at)}"))

    def _client_wrote(self, client: Client, facts: MessageFacts, at: datetime) -> None:
        """A message from a client closes what the user was waiting on them for (set
        before it came), saying what they wrote."""
        assert client.id is not None
        closed = self.store.close_follow_ups(client.id, at,
                                             f"answered: {facts.subject[:120]}".strip())
        if closed:
            log.info("client %s wrote: follow-up %s closed", client.id,
                     ", ".join(str(f.id) for f in closed))

    def _offer_follow_up(self, facts: MessageFacts, sent_at: datetime,
                         directory: ClientDirectory) -> None:
        """[followups] offer_after: a question the user asked a client, with no reply in
        that many working days, comes due as a follow-up Heard offered (origin "sent")."""
        from heard.domain.followups import FollowUp, Origin, asks_question, working_days_later

        if not self.offer_after or self.hours is None or not asks_question(facts.body_text):
            return
        client = next((c for c in (directory.match_email(a) for a in facts.to) if c), None)
        if client is None or client.id is None or client.prospect:
            return
        if any(f.client_id == client.id for f in self.store.open_follow_ups()):
            return   # already waited on (one per client)
        due = working_days_later(sent_at, self.offer_after, self.hours)
        self.store.add_follow_up(FollowUp(client.id, sent_at, due, "", facts.subject[:200],
                                          facts.message_id, Origin.SENT))
        log.info("follow-up offered on client %s (a question in Sent)", client.id)

    def _apply_sent(self, facts: MessageFacts, sent_at: datetime, directory: ClientDirectory,
                    report: SyncReport) -> str:
        recipients = {normalize_email(a) for a in facts.to}
        clients = {c.id for c in (directory.match_email(a) for a in recipients) if c}
        if "x-heard-nudge" in (facts.headers or {}):
            return "a nudge (follow-up)"   # Heard's own: answers nothing, asks nothing new
        if "x-heard-notice" in (facts.headers or {}):
            return "an automatic notice (absence, after hours): answers nothing"

        def to_the_client(inquiry: Inquiry) -> bool:
            # A forward to a colleague carries the client's thread but answers nobody.
            return inquiry.client_id in clients or inquiry.reply_address in recipients

        if facts.heard_acknowledges:
            # Heard's own acknowledgement (from this or another device) names the one
            # message it acknowledges; others in the thread (a cc'd client, a later
            # follow-up) have not heard back.
            for inquiry in self.store.open_inquiries_in_thread([facts.heard_acknowledges]):
                if (inquiry.message_id == facts.heard_acknowledges
                        and inquiry.state is InquiryState.WAITING and to_the_client(inquiry)
                        and inquiry.last_activity <= sent_at and inquiry.id is not None):
                    self.store.save_inquiry(inquiry.acknowledge(sent_at))
                    report.acknowledged.append(inquiry.id)
            if facts.heard_promise is not None:
                self._promised_elsewhere(facts.heard_acknowledges, facts.heard_promise,
                                         sent_at)
            return "acknowledgement"

        # Only what the client said before this reply is answered by it.
        answerable = [i for i in self.store.open_inquiries()
                      if to_the_client(i) and i.last_activity <= sent_at]
        thread = set(facts.thread_ids) - {facts.message_id}
        targets = [i for i in answerable if thread & set(i.thread_ids)] or (
            answerable if not thread or not self.store.open_inquiries_in_thread(thread) else [])
        for inquiry in targets:
            assert inquiry.id is not None
            self.store.save_inquiry(inquiry.answer(sent_at))
            self.store.close_promises(inquiry.id, sent_at)
            report.answered.append(inquiry.id)
        self._offer_follow_up(facts, sent_at, directory)
        return "reply" if targets else "sent mail, no open inquiry"


def _uid(key: str) -> int | None:
    """The UID in an IMAP message key ("uidvalidity:uid")."""
    uid = key.rpartition(":")[2]
    return int(uid) if uid.isdigit() else None


@dataclass(frozen=True)
class Explanation:
    """What Heard makes of one message, and why (`heard explain`)."""

    facts: MessageFacts | None
    verdict: Classification | None
    problem: str = ""            # why the message cannot be used at all


class IntakeService:
    """Reading mail into the store: what classification needs besides the directory (the
    rules, the voicemail and contact-form patterns), the syncs, and `heard explain`."""

    def __init__(self, ctx: EngineContext, devices: Devices) -> None:
        self._ctx = ctx
        self._devices = devices
        self._pattern_sets: list[PatternSet] | None = None
        self.pattern_problem = ""

    @property
    def pattern_sets(self) -> list[PatternSet]:
        """Voicemail and contact-form patterns, read (and their regexes compiled) on first
        use rather than on the tray's start-up path."""
        if self._pattern_sets is None:
            from heard.config.patterns import (
                PatternError,
                default_pattern_sets,
                load_pattern_sets,
            )

            try:
                self._pattern_sets = load_pattern_sets(self._ctx.profile.patterns)
            except PatternError as exc:  # a broken file of one's own must not stop intake
                self.pattern_problem = f"voicemail/form patterns not applied: {exc}"
                log.warning("%s", self.pattern_problem)
                self._pattern_sets = default_pattern_sets()
        return self._pattern_sets

    def rules(self) -> Rules:
        """What classification needs besides the directory, from settings and store."""
        from heard.domain.classify import Rules, own_organisation
        from heard.domain.senders import ProspectRules

        ctx, settings = self._ctx, self._ctx.settings
        own = ctx.own_addresses()
        learned = ctx.store.not_clients()
        prospects = None
        if settings.prospects.enabled:
            prospects = ProspectRules(
                internal_domains=frozenset(settings.prospects.internal_domains)
                | own_organisation(own),
                not_clients=frozenset(v for v, kind in learned if kind == "address"),
                not_client_domains=frozenset(v for v, kind in learned if kind == "domain"))
        return Rules(own=own, relayed=self.pattern_sets,
                     region=settings.user.phone_region, prospects=prospects,
                     not_client_phones=frozenset(v for v, kind in learned if kind == "phone"))

    def intake(self) -> Intake:
        settings = self._ctx.settings
        return Intake(self._ctx.store, self._ctx.clock, settings.zone, settings.mail.window,
                      self.rules(), frozenset(normalize_email(a.address)
                                              for a in settings.assistants),
                      self._devices.marks, settings.autopilot.authserv_ids,
                      settings.followups.offer_after, settings.hours)

    def sync_maildir(self, account: MaildirAccount, report: SyncReport) -> None:
        ctx = self._ctx
        with ctx.lock:
            self.intake().sync_account(account, ctx.directory(), ctx.own_addresses(), report)

    def sync_imap(self, account: ImapAccount, conn: Connection, report: SyncReport) -> None:
        ctx = self._ctx
        self.intake().sync_imap(
            account, conn, ctx.directory(), ctx.own_addresses(), report,
            progress=lambda folder, done, total: ctx.events.progress(
                f"{account.name}: {folder} {done}/{total}"),
            apply_lock=ctx.lock)

    def explain(self, raw: bytes) -> Explanation:
        """The intake's verdict on one message, without storing anything."""
        try:
            facts = parse_message(raw)
        except MalformedMessage as exc:
            return Explanation(None, None, f"malformed: {exc.reason}")
        ctx = self._ctx
        return Explanation(facts, self.intake().classify(facts, ctx.directory(),
                                                         ctx.own_addresses()))
