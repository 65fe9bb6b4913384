"""What was handed to the assistant, for the assistant's own Heard: one small record per
delegation in the mailbox's `Heard` folder (who, the due time, the note).

A keyword (`$HeardDelegated`) tells every device that a client was delegated; a keyword
cannot say to whom or by when. The professional's Heard writes a record once the forward
is out; the assistant's Heard (on the same mailbox, or on the professional's folders
shared with it through ACLs: `shared/<user>/Heard` beside `shared/<user>/INBOX`) reads the
records it has not seen and lists "delegated to you" with due times. A record it cannot
read leaves the delegation listed with the default due time: never lost, only less exact.

A record is signed with the user's sharing key (heard.devices.wire.trust); one in this
login's own `Heard` folder that is not is ignored and reported. The assistant's Heard,
another login, holds no key of the professional's: in the professional's folder shared with
it, only logins the professional gave rights can APPEND, so there a record counts unless it
came by mail delivery.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from heard.devices.wire import trust
from heard.devices.wire.folder import HEARD_FOLDER
from heard.devices.wire.trust import Untrusted, Verdict
from heard.domain.shared import InstanceId, instance_id
from heard.mail.imap import Connection
from heard.mail.imap import commands as wire

log = logging.getLogger(__name__)

DELEGATION_HEADER = "X-Heard-Delegation"
# Records older than this are removed by the next writer: a delegation is settled in days.
KEEP = timedelta(days=30)


@dataclass(frozen=True)
class DelegationRecord:
    message_id: str          # the client's message
    assistant: str           # the assistant's name
    address: str             # and address: their Heard knows itself by it
    made_at: datetime
    due: datetime
    by: InstanceId           # the device that delegated
    note: str = ""
    uid: int = 0             # where read_delegations() found it

    def to_json(self) -> dict[str, object]:
        return {"version": 1, "message_id": self.message_id, "assistant": self.assistant,
                "address": self.address, "made_at": self.made_at.isoformat(),
                "due": self.due.isoformat(), "by": self.by, "note": self.note}


def heard_folder_for(watched: str, delimiter: str = "/") -> str:
    """The `Heard` folder beside a watched INBOX: `shared/alex/INBOX` → `shared/alex/Heard`
    (the professional's, seen by an assistant through ACLs); anything else → `Heard`."""
    parent, sep, last = watched.rpartition(delimiter)
    if sep and last.upper() == "INBOX":
        return f"{parent}{delimiter}{HEARD_FOLDER}"
    return HEARD_FOLDER


def record_delegation(conn: Connection, record: DelegationRecord, key: bytes,
                      folder: str = HEARD_FOLDER) -> None:
    """APPEND the record, signed with `key` (the folder is made when missing); older
    records go."""
    for when in (record.made_at, record.due):
        if when.tzinfo is None:
            raise ValueError("delegation times must carry their time zone")
    instance_id(record.by)
    body = json.dumps(record.to_json(), ensure_ascii=True, sort_keys=True)
    raw = trust.signed_message(key, f"<{uuid.uuid4().hex}.{record.by}@heard.invalid>",
                               "Heard delegation", DELEGATION_HEADER, "1", body,
                               record.made_at)
    wire.ensure_folder(conn, folder)
    wire.append(conn, folder, raw, record.made_at)
    _prune(conn, folder, record.made_at - KEEP)


def _prune(conn: Connection, folder: str, before: datetime) -> None:
    wire.select(conn, folder)
    try:
        old = wire.search(conn, ["UNDELETED", "HEADER", DELEGATION_HEADER, "",
                                 "BEFORE", before.astimezone(UTC).date()])   # type: ignore[list-item]
        wire.delete(conn, old)
    finally:
        wire.leave(conn, folder)


@dataclass(frozen=True)
class Records:
    records: list[DelegationRecord]    # oldest first
    last: int                          # the highest UID seen: pass it next time
    untrusted: list[Untrusted]         # ignored: not written by the user's devices


def read_delegations(conn: Connection, key: bytes | None, folder: str = HEARD_FOLDER,
                     after_uid: int = 0, shared: bool = False) -> Records:
    """The records after `after_uid` signed with `key` (`shared`: in another login's
    folder shared with this one, any not delivered by mail; module doc). A missing folder
    gives nothing; an unreadable record is skipped."""
    records = []
    untrusted = []
    found = trust.read_checked(conn, folder, DELEGATION_HEADER, key,
                               ["UID", f"{after_uid + 1}:*"])
    for uid, _raw, checked in found:
        if uid <= after_uid:
            continue
        if not checked.trusted and (not shared or checked.verdict is Verdict.DELIVERED):
            untrusted.append(Untrusted(folder, uid, "delegation record", checked.verdict))
            continue
        try:
            records.append(_parse(checked.body, uid))
        except ValueError as exc:
            log.warning("delegation record %d in %s is unreadable (%s); skipped", uid,
                        folder, exc)
    return Records(records, max((u for u, _r, _c in found if u > after_uid),
                                default=after_uid), untrusted)


def _parse(body: bytes, uid: int) -> DelegationRecord:
    try:
        data = json.loads(body.decode("utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        made_at = datetime.fromisoformat(str(data["made_at"]))
        due = datetime.fromisoformat(str(data["due"]))
        if made_at.tzinfo is None or due.tzinfo is None:
            raise ValueError("times without a zone")
        return DelegationRecord(str(data["message_id"]), str(data.get("assistant", "")),
                                str(data.get("address", "")), made_at, due,
                                instance_id(str(data["by"])), str(data.get("note", "")),
                                uid)
    except (KeyError, TypeError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"missing or bad field ({exc})") from exc
