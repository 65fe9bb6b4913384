"""The fallbacks' shared parts: one-click requests passed to the designated instance
through the `Heard` folder (servers without keywords), and the shared settings, in IMAP
METADATA where the server has it, else in a settings message in the `Heard` folder.

Each message Heard writes here is signed with the user's sharing key, and only what is
signed with it is read back (heard.devices.wire.trust): anyone may be able to deliver mail
into the folder. METADATA only the account's own logins can write: its value carries the
MAC too, checked when this device holds the key."""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from heard.devices.wire import trust
from heard.devices.wire.trust import Untrusted, Verdict
from heard.domain.shared import InstanceId, instance_id
from heard.mail.imap import Connection, ImapError, Problem
from heard.mail.imap import commands as wire

log = logging.getLogger(__name__)

HEARD_FOLDER = "Heard"
REQUEST_HEADER = "X-Heard-Request"
SETTINGS_HEADER = "X-Heard-Settings"
SETTINGS_ENTRY = "/private/vendor/heard/settings"


# -- designated-only: requests through the Heard folder -----------------------------------

@dataclass(frozen=True)
class Request:
    """A one-click action asked of the designated instance."""
    kind: str                  # "ack", "delegate", "dismiss", "answered", "undismiss"
    message_id: str                    # the client's Message-ID
    requested_by: InstanceId
    at: datetime
    options: Mapping[str, Any] = field(default_factory=dict)   # template, reply_by, note ...
    id: str = ""                       # the request's own Message-ID: the idempotency key
    uid: int = 0                       # where read_requests() found it

    def to_json(self) -> dict[str, Any]:
        return {"version": 1, "kind": self.kind, "message_id": self.message_id,
                "requested_by": self.requested_by, "at": self.at.isoformat(),
                "options": dict(self.options)}


_KIND = re.compile(r"[a-z][a-z-]{0,30}")


def queue_request(conn: Connection, request: Request, key: bytes,
                  folder: str = HEARD_FOLDER) -> Request:
    """APPEND the request, signed with `key`, to `folder` (created when missing) for the
    designated instance. Returns it with its id (its own Message-ID)."""
    if not _KIND.fullmatch(request.kind):
        raise ValueError(f"request kind {request.kind!r} must be a short lower-case word")
    instance_id(request.requested_by)
    if request.at.tzinfo is None:
        raise ValueError("the request time must carry its time zone")
    request_id = request.id or f"<{uuid.uuid4().hex}.{request.requested_by}@heard.invalid>"
    body = json.dumps(request.to_json(), ensure_ascii=True, sort_keys=True)
    raw = trust.signed_message(key, request_id, f"Heard request: {request.kind}",
                               REQUEST_HEADER, request.kind, body, request.at)
    wire.ensure_folder(conn, folder)
    wire.append(conn, folder, raw, request.at)
    return replace(request, id=request_id)


@dataclass(frozen=True)
class Pending:
    """The requests waiting in the folder, oldest first, and the unreadable ones."""

    requests: list[Request]
    rejected: list[tuple[int, str]]      # (uid, why): removed with the handled ones
    # Not written by the user's devices: never acted on, left where they are (one signed
    # by a device that joined after this one read it is acted on once this device can
    # check it), and reported.
    untrusted: list[Untrusted] = field(default_factory=list)


def read_requests(conn: Connection, key: bytes | None, folder: str = HEARD_FOLDER
                  ) -> Pending:
    """For the designated instance: every request waiting in `folder` that one of the
    user's devices signed with `key`, oldest first."""
    requests: list[Request] = []
    rejected: list[tuple[int, str]] = []
    untrusted: list[Untrusted] = []
    for uid, raw, checked in trust.read_checked(conn, folder, REQUEST_HEADER, key):
        if not checked.trusted:
            untrusted.append(Untrusted(folder, uid, "request", checked.verdict))
            continue
        try:
            requests.append(_parse_request(raw, uid))
        except ValueError as exc:
            log.warning("%s: request %d in %s is unreadable (%s); removed",
                        conn.server.host, uid, folder, exc)
            rejected.append((uid, f"request {uid}: {exc}"))
    return Pending(requests, rejected, untrusted)


def remove_requests(conn: Connection, uids: list[int], folder: str = HEARD_FOLDER) -> None:
    """Delete handled (or unreadable) requests."""
    if not uids:
        return
    wire.select(conn, folder)
    try:
        wire.delete(conn, uids)
    finally:
        wire.leave(conn, folder)


def _parse_request(raw: bytes, uid: int) -> Request:
    header, _, body = raw.partition(b"\r\n\r\n")
    if not body:
        header, _, body = raw.partition(b"\n\n")
    ids = re.search(rb"(?im)^Message-ID:\s*(<[^>\r\n]{1,250}>)", header)
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    try:
        at = datetime.fromisoformat(str(data["at"]))
        request = Request(kind=str(data["kind"]), message_id=str(data["message_id"]),
                          requested_by=instance_id(str(data["requested_by"])),
                          at=at if at.tzinfo else at.replace(tzinfo=UTC),
                          options=dict(data.get("options") or {}),
                          id=ids.group(1).decode() if ids else "", uid=uid)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"missing or bad field ({exc})") from exc
    if not _KIND.fullmatch(request.kind):
        raise ValueError(f"bad kind {request.kind!r}")
    return request


# -- shared settings ----------------------------------------------------------------------

@dataclass(frozen=True)
class SharedSettings:
    values: Mapping[str, Any]
    version: int = 0                   # 0: never written
    written_by: str = ""
    written_at: datetime | None = None
    where: str = ""                    # "metadata" | "message" | "" (nothing yet)
    # What was passed over as not written by the user's devices (newest first).
    untrusted: tuple[Untrusted, ...] = ()


@dataclass(frozen=True)
class SettingsWrite:
    version: int
    where: str
    conflict: str | None = None        # plain words when the version moved under the writer
    replaced: SharedSettings | None = None   # what this write replaced, or what replaced it


def read_settings(conn: Connection, key: bytes | None, folder: str = HEARD_FOLDER
                  ) -> SharedSettings:
    """The shared settings: METADATA where the server has it, else the newest settings
    message in `folder` signed with `key`; an empty version 0 when none were written (or
    none by the user's devices: `untrusted` says what was passed over)."""
    return _read_settings(conn, folder, key)[0]


def write_settings(conn: Connection, values: Mapping[str, Any], based_on: int,
                   instance: str, now: datetime, key: bytes | None,
                   folder: str = HEARD_FOLDER) -> SettingsWrite:
    """Write `values` as the next version. Last writer wins; `based_on` is the version
    the user edited: if the stored one is newer, this write still wins but says whose
    change it replaced; if another instance wrote at the same moment and won, it says so
    (the write is read back: neither METADATA nor APPEND can be conditional)."""
    me = instance_id(instance)
    if now.tzinfo is None:
        raise ValueError("the time must carry its time zone")
    current, _ = _read_settings(conn, folder, key)
    version = max(current.version, based_on) + 1
    nonce = uuid.uuid4().hex
    data: dict[str, object] = {"version": version, "written_by": me,
                               "written_at": now.isoformat(), "nonce": nonce,
                               "settings": dict(values)}
    if has_metadata(conn):
        where = "metadata"
        _write_metadata(conn, json.dumps(trust.sign_json(key, data) if key else data,
                                         ensure_ascii=True, sort_keys=True))
    else:
        if key is None:   # (the caller makes sure: an unsigned message would be ignored)
            raise ValueError("a settings message must be signed")
        where = "message"
        _write_settings_message(conn, folder, json.dumps(data, ensure_ascii=True,
                                                         sort_keys=True),
                                version, now, key)
    conflict = None
    replaced = None
    if current.version > based_on:
        conflict = (f"the shared settings were changed by '{current.written_by or '?'}'"
                    f" (version {current.version}) after you opened version {based_on};"
                    " your change replaced theirs")
        replaced = current
    after, after_nonce = _read_settings(conn, folder, key)
    if after_nonce != nonce:
        conflict = (f"'{after.written_by or '?'}' wrote the shared settings at the same"
                    f" time (version {after.version}); theirs replaced yours")
        replaced = after
    return SettingsWrite(after.version, where, conflict, replaced)


def has_metadata(conn: Connection) -> bool:
    return bool({"METADATA", "METADATA-SERVER"} & conn.capabilities)


def _read_settings(conn: Connection, folder: str, key: bytes | None
                   ) -> tuple[SharedSettings, str]:
    if has_metadata(conn):
        return _read_metadata(conn, key)
    return _read_settings_message(conn, folder, key)


def _settings_from(text: bytes, where: str, key: bytes | None = None
                   ) -> tuple[SharedSettings, str]:
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or not isinstance(data.get("settings"), dict):
            raise ValueError("no settings object")
        if where == "metadata":
            # Only the account's own logins write METADATA: unsigned (an older Heard, or
            # a device that has not joined) is theirs; a MAC that does not check is not.
            verdict = trust.check_json(data, key)
            if verdict in (Verdict.OTHER_KEY, Verdict.FORGED):
                return SharedSettings({}, 0, "", None, where, (
                    Untrusted(SETTINGS_ENTRY, 0, "settings", verdict),)), ""
        at = data.get("written_at")
        return (SharedSettings(dict(data["settings"]), int(data.get("version", 0)),
                               str(data.get("written_by", "")),
                               datetime.fromisoformat(at) if isinstance(at, str) else None,
                               where), str(data.get("nonce", "")))
    except (ValueError, TypeError) as exc:
        log.warning("the shared settings (%s) are unreadable: %s", where, exc)
        return SharedSettings({}, 0, "", None, where), ""


def _read_metadata(conn: Connection, key: bytes | None) -> tuple[SharedSettings, str]:
    value = wire.get_metadata(conn, SETTINGS_ENTRY, "read the shared settings (METADATA)")
    if value is None:
        return SharedSettings({}), ""
    return _settings_from(value, "metadata", key)


def _write_metadata(conn: Connection, text: str) -> None:
    if len(text) > 60_000:
        raise ImapError(Problem.PROTOCOL, "the shared settings are too large to store")
    wire.set_metadata(conn, SETTINGS_ENTRY, text, "store the shared settings (METADATA)")


def _read_settings_message(conn: Connection, folder: str, key: bytes | None
                           ) -> tuple[SharedSettings, str]:
    """The newest settings message one of the user's devices signed (a newer one that
    none did is passed over and said)."""
    untrusted: list[Untrusted] = []
    for uid, _raw, checked in reversed(trust.read_checked(conn, folder, SETTINGS_HEADER,
                                                          key)):
        if not checked.trusted:
            untrusted.append(Untrusted(folder, uid, "settings", checked.verdict))
            continue
        found, nonce = _settings_from(checked.body, "message")
        return replace(found, untrusted=tuple(untrusted)), nonce
    return SharedSettings({}, untrusted=tuple(untrusted)), ""


def _write_settings_message(conn: Connection, folder: str, text: str, version: int,
                            now: datetime, key: bytes) -> None:
    raw = trust.signed_message(key, f"<{uuid.uuid4().hex}@heard.invalid>", "Heard settings",
                               SETTINGS_HEADER, str(version), text, now)
    wire.ensure_folder(conn, folder)
    new_uid = wire.append(conn, folder, raw, now)
    # The newest message (the highest UID) is the settings; older ones go.
    wire.select(conn, folder)
    try:
        uids = [int(u) for u in wire.search(conn, ["UNDELETED", "HEADER", SETTINGS_HEADER, ""])]
        newest = max(uids) if uids else new_uid
        wire.delete(conn, [u for u in uids if u < (new_uid or newest)])
    finally:
        wire.leave(conn, folder)
