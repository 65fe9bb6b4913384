"""IMAP plumbing of the shared state (heard.devices.wire.claims): raw commands imapclient has
no method for (SELECT with QRESYNC, STORE with UNCHANGEDSINCE, FETCH with CHANGEDSINCE,
METADATA, MYRIGHTS), each failure turned into ImapError, and the untagged responses they
leave in imaplib consumed, so none piles up or confuses a later command.

A folder is opened per call and left again (UNSELECT), as heard.mail.imap does: a later
STATUS must not answer from a stale view, and nothing may be expunged by a CLOSE.
holding() keeps one open across several calls.
"""

from __future__ import annotations

import contextlib
import email.utils
import logging
import re
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from heard.mail.imap import Connection, ImapError, Problem

log = logging.getLogger(__name__)


qresync_on: weakref.WeakKeyDictionary[Connection, bool] = weakref.WeakKeyDictionary()


def enable_qresync(conn: Connection) -> bool:
    """Turn QRESYNC on for this connection where the server has it (once; best right after
    connecting). With it, SELECT reports what changed while away, and flag changes seen in
    IDLE carry their UID. Returns whether it is on."""
    if conn in qresync_on:
        return qresync_on[conn]
    enabled = False
    if "QRESYNC" in conn.capabilities:
        client = imap_client(conn)
        if client._imap.state == "SELECTED":   # ENABLE is valid before a SELECT only
            leave(conn, "")
        with conn._guard():
            typ, _data = client._raw_command(b"ENABLE", [b"QRESYNC"], uid=False)
            answer = pop_untagged(conn, "ENABLED")
        enabled = typ == "OK" and any(b"QRESYNC" in as_bytes(item).upper() for item in answer)
    qresync_on[conn] = enabled
    return enabled



held_folder: weakref.WeakKeyDictionary[Connection, str] = weakref.WeakKeyDictionary()


@contextlib.contextmanager
def holding(conn: Connection, folder: str) -> Iterator[None]:
    """Keep `folder` open (read-write) across several calls: claim(), mark_sending() and
    mark() on one message then cost 9 round trips instead of 13. Nothing else may use
    `conn` inside (imap.py's methods open folders of their own)."""
    if held_folder.get(conn) == folder:
        yield
        return
    select(conn, folder)
    held_folder[conn] = folder
    try:
        yield
    finally:
        held_folder.pop(conn, None)
        leave(conn, folder)


@contextlib.contextmanager
def opened(conn: Connection, folder: str) -> Iterator[bool]:
    """The folder open read-write for one call; True when holding() keeps it open."""
    imap = imap_client(conn)._imap
    if held_folder.get(conn) == folder and imap.state == "SELECTED" and not imap.is_readonly:
        yield True
        return
    held_folder.pop(conn, None)
    select(conn, folder)
    try:
        yield False
    finally:
        leave(conn, folder)


def noop(conn: Connection) -> None:
    with conn._guard():
        imap_client(conn)._raw_command(b"NOOP", [], uid=False)
        imap_client(conn)._imap.untagged_responses = {}




@dataclass(frozen=True)
class Selected:
    folder: str
    uidvalidity: int
    uidnext: int
    exists: int
    highestmodseq: int | None
    permanentflags: tuple[str, ...] | None
    readonly: bool
    vanished: frozenset[int] = frozenset()
    fetched: Mapping[int, frozenset[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class StoreReply:
    modified: bool
    flags: frozenset[str] | None      # from the untagged FETCH for the UID, if one came


def imap_client(conn: Connection) -> Any:
    return conn._c


def as_bytes(item: object) -> bytes:
    if isinstance(item, bytes):
        return item
    if isinstance(item, tuple):
        return b" ".join(as_bytes(part) for part in item)
    return str(item).encode()


def pop_untagged(conn: Connection, name: str) -> list[Any]:
    return list(imap_client(conn)._imap.untagged_responses.pop(name, []))


def tagged_text(data: object) -> str:
    if isinstance(data, list) and data:
        return as_bytes(data[0]).decode(errors="replace")
    return ""


def check(conn: Connection, typ: str, data: object, what: str) -> None:
    if typ != "OK":
        raise ImapError(Problem.PROTOCOL,
                        f"{conn.server.host} refused to {what}: {tagged_text(data) or typ}")


def select(conn: Connection, folder: str, readonly: bool = False,
            qresync: tuple[int, int] | None = None) -> Selected:
    client = imap_client(conn)
    imap = client._imap
    args = [client._normalise_folder(folder)]
    if qresync is not None:
        args.append(b"(QRESYNC (%d %d))" % qresync)
    elif ("CONDSTORE" in conn.capabilities and not conn.condstore
          and not qresync_on.get(conn)):
        args.append(b"(CONDSTORE)")   # not ENABLEd at login: ask for MODSEQs here
    with conn._guard():
        imap.untagged_responses = {}
        imap.is_readonly = readonly
        typ, data = client._raw_command(b"EXAMINE" if readonly else b"SELECT", args,
                                        uid=False)
        untagged = imap.untagged_responses
        imap.untagged_responses = {}
    if typ != "OK":
        imap.state = "AUTH"
        raise ImapError(Problem.FOLDER, (f"{conn.server.host} cannot open the folder"
                                         f" {folder!r}: {tagged_text(data)}"))
    imap.state = "SELECTED"
    tagged = tagged_text(data).upper()
    readonly_now = readonly or "READ-ONLY" in untagged or "[READ-ONLY]" in tagged
    imap.is_readonly = readonly_now
    perm = None
    if "PERMANENTFLAGS" in untagged:
        perm = tuple(as_bytes(untagged["PERMANENTFLAGS"][-1]).decode(errors="replace")
                     .strip("()").split())

    def number(name: str) -> int | None:
        values = untagged.get(name)
        if not values:
            return None
        match = re.match(rb"\s*(\d+)", as_bytes(values[-1]))
        return int(match.group(1)) if match else None

    vanished: set[int] = set()
    for item in untagged.get("VANISHED", []):
        vanished |= uid_set(as_bytes(item).replace(b"(EARLIER)", b"").strip())
    fetched = {uid: flags for uid, (flags, _m) in
               parse_fetches(untagged.get("FETCH", [])).items()}
    return Selected(folder, number("UIDVALIDITY") or 0, number("UIDNEXT") or 0,
                     number("EXISTS") or 0,
                     None if "NOMODSEQ" in untagged else number("HIGHESTMODSEQ"),
                     perm, readonly_now, frozenset(vanished), fetched)


def leave(conn: Connection, folder: str) -> None:
    """Back to the authenticated state: a later STATUS is not answered from this view,
    and nothing is expunged (no CLOSE on a folder opened read-write)."""
    client = imap_client(conn)
    imap = client._imap
    if imap.state != "SELECTED":
        return
    with conn._guard():
        if "UNSELECT" in conn.capabilities:
            client._raw_command(b"UNSELECT", [], uid=False)
        else:
            client._raw_command(b"EXAMINE", [client._normalise_folder(folder or "INBOX")],
                                uid=False)
            client._raw_command(b"CLOSE", [], uid=False)
        imap.untagged_responses = {}
        imap.state = "AUTH"
        imap.is_readonly = False


_FETCH_LINE = re.compile(rb"\d+ \((.*)\)\s*", re.DOTALL)   # imaplib drops the word FETCH
_UID = re.compile(rb"(?:^|[ (])UID (\d+)")
_FLAGS = re.compile(rb"(?:^|[ (])FLAGS \(([^()]*)\)")
_MODSEQ = re.compile(rb"(?:^|[ (])MODSEQ \((\d+)\)")


def parse_fetches(raw: list[Any]) -> dict[int, tuple[frozenset[str], int | None]]:
    """Untagged FETCH lines that name their UID, by UID (lines without one, from other
    sessions' changes, are left out: their number is a sequence number).

    FLAGS/UID/MODSEQ lines are read with three regular expressions (flags cannot hold
    parentheses or literals); anything else goes to imapclient's parser. For 10,000
    messages that is ~25 ms instead of ~500 ms."""
    out: dict[int, tuple[frozenset[str], int | None]] = {}
    slow: list[Any] = []
    for item in raw:
        line = _FETCH_LINE.fullmatch(item) if isinstance(item, bytes) else None
        if line is None:
            slow.append(item)
            continue
        body = line.group(1)
        uid = _UID.search(body)
        if uid is None:
            continue
        flags = _FLAGS.search(body)
        modseq = _MODSEQ.search(body)
        _merge(out, int(uid.group(1)),
               flagset(flags.group(1).split()) if flags else None,
               int(modseq.group(1)) if modseq else None)
    if slow:
        _parse_slowly(slow, out)
    return out


def _merge(out: dict[int, tuple[frozenset[str], int | None]], uid: int,
           flags: frozenset[str] | None, modseq: int | None) -> None:
    previous = out.get(uid)
    out[uid] = (flags if flags is not None else (previous[0] if previous else frozenset()),
                modseq if modseq is not None else (previous[1] if previous else None))


def _parse_slowly(raw: list[Any], out: dict[int, tuple[frozenset[str], int | None]]) -> None:
    from imapclient.response_parser import parse_fetch_response

    try:
        chunks = [parse_fetch_response(raw, False, False)]
    except Exception:   # imapclient's ProtocolError: skip the line it cannot read
        chunks = []
        for item in raw:
            try:
                chunks.append(parse_fetch_response([item], False, False))
            except Exception:
                log.debug("unreadable FETCH line skipped: %r", item)
    for parsed in chunks:
        for data in parsed.values():
            uid = data.get(b"UID")
            if not isinstance(uid, int):
                continue
            flags = data.get(b"FLAGS")
            modseq = data.get(b"MODSEQ")
            _merge(out, uid, flagset(flags) if flags is not None else None,
                   int(modseq[0]) if isinstance(modseq, tuple) and modseq else None)


def flagset(raw: Iterable[object]) -> frozenset[str]:
    """Flags as text, without \\Recent (it belongs to one session, not to the message)."""
    flags = (f.decode(errors="replace") if isinstance(f, bytes) else str(f) for f in raw)
    return frozenset(f for f in flags if f.casefold() != "\\recent")


def read_flags(conn: Connection, uid: int, modseq: bool
                ) -> tuple[frozenset[str], int | None] | None:
    client = imap_client(conn)
    with conn._guard():
        pop_untagged(conn, "FETCH")
        typ, data = client._raw_command(
            b"FETCH", [b"%d" % uid, b"(FLAGS MODSEQ)" if modseq else b"(FLAGS)"])
        fetched = parse_fetches(pop_untagged(conn, "FETCH"))
        client._imap.untagged_responses = {}   # EXISTS & co. would pile up in a held folder
    check(conn, typ, data, "read a message's flags")
    return fetched.get(uid)


def store(conn: Connection, uid: int, op: bytes, keywords: Sequence[str],
           unchangedsince: int | None) -> StoreReply:
    client = imap_client(conn)
    args = [b"%d" % uid]
    if unchangedsince is not None:
        args.append(b"(UNCHANGEDSINCE %d)" % unchangedsince)
    args += [op, b"(" + " ".join(keywords).encode() + b")"]
    with conn._guard():
        pop_untagged(conn, "FETCH")
        pop_untagged(conn, "MODIFIED")
        typ, data = client._raw_command(b"STORE", args)
        fetched = parse_fetches(pop_untagged(conn, "FETCH"))
        client._imap.untagged_responses = {}
    check(conn, typ, data, "change a message's flags")
    modified = "[MODIFIED" in tagged_text(data).upper()
    found = fetched.get(uid)
    return StoreReply(modified, found[0] if found else None)


def uid_set(text: bytes) -> set[int]:
    out: set[int] = set()
    for part in text.replace(b" ", b"").split(b","):
        if not part:
            continue
        first, _, last = part.partition(b":")
        try:
            a = int(first)
            b = int(last) if last and last != b"*" else a
        except ValueError:
            continue
        if b - a > 10_000_000:
            continue                                  # a nonsense range: ignore it
        out.update(range(min(a, b), max(a, b) + 1))
    return out


def search(conn: Connection, criteria: list[str]) -> list[int]:
    with conn._guard():
        return [int(u) for u in imap_client(conn).search(criteria)]


def fetch_bodies(conn: Connection, uids: list[int]) -> dict[int, bytes]:
    if not uids:
        return {}
    with conn._guard():
        data = imap_client(conn).fetch(uids, ["BODY.PEEK[]"])
    return {int(uid): bytes(item.get(b"BODY[]") or b"") for uid, item in data.items()}


def delete(conn: Connection, uids: list[int]) -> None:
    if not uids:
        return
    client = imap_client(conn)
    spec = b",".join(b"%d" % u for u in uids)
    with conn._guard():
        typ, data = client._raw_command(b"STORE", [spec, b"+FLAGS.SILENT", b"(\\Deleted)"])
        check(conn, typ, data, "delete handled messages")
        if "UIDPLUS" in conn.capabilities:
            typ, data = client._raw_command(b"EXPUNGE", [spec])
        else:   # only Heard deletes in its own folder
            typ, data = client._raw_command(b"EXPUNGE", [], uid=False)
        pop_untagged(conn, "EXPUNGE")
        pop_untagged(conn, "VANISHED")
    check(conn, typ, data, "remove handled messages")


def folder_exists(conn: Connection, folder: str) -> bool:
    with conn._guard():
        return bool(imap_client(conn).folder_exists(folder))


def ensure_folder(conn: Connection, folder: str) -> None:
    if folder_exists(conn, folder):
        return
    client = imap_client(conn)
    with conn._guard():
        typ, data = client._raw_command(b"CREATE", [client._normalise_folder(folder)],
                                        uid=False)
    if typ != "OK" and not folder_exists(conn, folder):   # another instance made it
        raise ImapError(Problem.FOLDER, (
            f"{conn.server.host} refused to create the folder {folder!r} that Heard uses"
            f" to pass requests between devices: {tagged_text(data)}"))


def append(conn: Connection, folder: str, raw: bytes, when: datetime) -> int:
    client = imap_client(conn)
    with conn._guard():
        answer = client.append(folder, raw, flags=(b"\\Seen",), msg_time=when)
    match = re.search(rb"APPENDUID \d+ (\d+)", as_bytes(answer or b""))
    return int(match.group(1)) if match else 0


def small_message(message_id: str, subject: str, headers: Mapping[str, str], body: str,
                   when: datetime) -> bytes:
    lines = [
        "From: Heard <heard@heard.invalid>",
        "To: Heard <heard@heard.invalid>",
        f"Subject: {subject}",
        f"Date: {email.utils.format_datetime(when.astimezone(UTC))}",
        f"Message-ID: {message_id}",
        *(f"{name}: {value}" for name, value in headers.items()),
        "Auto-Submitted: auto-generated",
        "MIME-Version: 1.0",
        "Content-Type: application/json; charset=us-ascii",
        "Content-Transfer-Encoding: 7bit",
    ]
    for line in lines:
        if "\r" in line or "\n" in line:
            raise ValueError("a header of Heard's own message has a line break")
    return ("\r\n".join(lines) + "\r\n\r\n" + body + "\r\n").encode("ascii")



def fetch_all(conn: Connection, exists: int, changedsince: int | None
              ) -> dict[int, frozenset[str]]:
    """Every message's flags in the open folder (`exists` messages), or those changed
    since a MODSEQ: `UID FETCH 1:* (FLAGS) (CHANGEDSINCE m)`."""
    if exists == 0:
        return {}
    args = [b"1:*", b"(FLAGS)"]
    if changedsince is not None:
        args.append(b"(CHANGEDSINCE %d)" % changedsince)
    client = imap_client(conn)
    with conn._guard():
        pop_untagged(conn, "FETCH")
        typ, data = client._raw_command(b"FETCH", args)
        fetched = parse_fetches(pop_untagged(conn, "FETCH"))
    check(conn, typ, data, "read the flags")
    return {uid: flags for uid, (flags, _m) in fetched.items()}


def all_uids(conn: Connection, exists: int) -> list[int]:
    """Every UID in the open folder (ESEARCH's compact answer where the server has it)."""
    if exists == 0:
        return []
    client = imap_client(conn)
    with conn._guard():
        if "ESEARCH" in conn.capabilities:
            typ, data = client._raw_command(b"SEARCH", [b"RETURN", b"(ALL)", b"ALL"])
            answer = pop_untagged(conn, "ESEARCH")
            check(conn, typ, data, "list the messages")
            for item in answer:
                match = re.search(rb"\bALL ([0-9:,]+)", as_bytes(item))
                if match:
                    return sorted(uid_set(match.group(1)))
            return []
        found = client.search(["ALL"])
    return sorted(int(u) for u in found)


def is_selected(conn: Connection) -> bool:
    """Whether a folder is open on `conn` now."""
    return bool(imap_client(conn)._imap.state == "SELECTED")


def remove_keywords(conn: Connection, folder: str, uid: int, keywords: Sequence[str]) -> None:
    """Take keywords off one message (the folder opened read-write for it)."""
    with opened(conn, folder):
        store(conn, uid, b"-FLAGS.SILENT", keywords, None)


def delimiter(conn: Connection) -> str:
    """The server's hierarchy delimiter (`/` or `.`)."""
    with conn._guard():
        found = imap_client(conn).list_folders("", "")
    for _flags, sep, _name in found:
        if sep:
            return sep.decode() if isinstance(sep, bytes) else str(sep)
    return "/"


def myrights(conn: Connection, folder: str) -> str | None:
    """This login's ACL rights on `folder` (RFC 4314 MYRIGHTS); None when not told."""
    client = imap_client(conn)
    with conn._guard():
        typ, _data = client._raw_command(b"MYRIGHTS", [client._normalise_folder(folder)],
                                         uid=False)
        answer = pop_untagged(conn, "MYRIGHTS")
    if typ != "OK" or not answer:
        return None
    words = as_bytes(answer[-1]).split()
    return words[-1].decode(errors="replace") if words else None


def search_folder(conn: Connection, folder: str, criteria: list[str]) -> list[int]:
    """UIDs in `folder` (opened read-only for it) that match `criteria`."""
    client = imap_client(conn)
    with conn._guard():
        client.select_folder(folder, readonly=True)
        try:
            return [int(u) for u in client.search(criteria)]
        finally:
            leave(conn, folder)


def get_metadata(conn: Connection, entry: str, what: str) -> bytes | None:
    """The server annotation `entry` (RFC 5464 GETMETADATA on ""); None when unset."""
    client = imap_client(conn)
    with conn._guard():
        pop_untagged(conn, "METADATA")
        typ, data = client._raw_command(b"GETMETADATA", [b'""', entry.encode()], uid=False)
        answer = pop_untagged(conn, "METADATA")
    check(conn, typ, data, what)
    value: bytes | None = None
    for item in answer:
        if isinstance(item, tuple) and len(item) == 2:
            value = bytes(item[1])
        else:
            match = re.search(rb'\s"((?:[^"\\]|\\.)*)"\)\s*$', as_bytes(item))
            if match:
                value = re.sub(rb"\\(.)", rb"\1", match.group(1))
    return value


def set_metadata(conn: Connection, entry: str, text: str, what: str) -> None:
    """Set the server annotation `entry` (RFC 5464 SETMETADATA on "")."""
    quoted = b'"' + text.encode().replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'
    client = imap_client(conn)
    with conn._guard():
        typ, data = client._raw_command(
            b"SETMETADATA", [b'""', b"(" + entry.encode(), quoted + b")"], uid=False)
    check(conn, typ, data, what)
