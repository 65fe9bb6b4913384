"""Which messages in the `Heard` folder the user's own devices wrote: a MAC on each.

Anyone who can send the user mail may be able to put a message into the `Heard` folder
(plus-address delivery, `user+Heard@...`, a filter rule). A settings message, a request to
the designated device and a delegation record make Heard write in the user's name, so each
one Heard writes carries `X-Heard-Signature: v1 key=<key id> mac=<HMAC-SHA256>` over a
canonical form of what it says (`canonical()`: its kind header and value, its own
Message-ID and its body, which holds the version, the writing device and the time), with a
key only the user's devices hold (one per mailbox login, in each device's keyring, never
in a file). What is unsigned, signed with another key, or that came by mail delivery (a
`Received`, `Delivered-To` or `Return-Path` header: Heard APPENDs its own, so they never
have one) is `Checked` as untrusted, and the callers ignore and report it.

The key's first device writes a key marker (`X-Heard-Key`, signed): a device without the
key that finds one knows the key exists and must join (`heard sharing invite` on a device
that has it, `heard sharing join CODE` on the new one). The invite carries the key sealed
under the code (PBKDF2-HMAC-SHA256 of a random 80-bit code, an HMAC pad and an HMAC tag:
the standard library alone, and the code travels only through the user's eyes).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.parser import BytesHeaderParser
from email.policy import compat32
from enum import StrEnum

from heard.mail.imap import Connection
from heard.mail.imap import commands as wire

SIGNATURE_HEADER = "X-Heard-Signature"
KEY_HEADER = "X-Heard-Key"
INVITE_HEADER = "X-Heard-Invite"
# What a mail server adds on delivery (SMTP, LMTP, a local delivery agent); never on an
# APPEND of Heard's own.
DELIVERY_HEADERS = ("Received", "Delivered-To", "Return-Path")
KEY_BYTES = 32
INVITE_VALID = timedelta(hours=1)
# PBKDF2 on an 80-bit random code: far beyond guessing even without it; it costs the two
# devices a fraction of a second once.
_ROUNDS = 200_000
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"   # 32 symbols, none mistaken for another
_CODE_LENGTH = 16
_SIGNATURE = re.compile(r"v1 key=([0-9a-f]{16}) mac=([A-Za-z0-9+/=]{44})")


class Verdict(StrEnum):
    TRUSTED = "trusted"          # signed with this device's key
    UNSIGNED = "unsigned"        # no signature (a forgery, or written before signatures)
    OTHER_KEY = "other-key"      # signed, with a key this device does not hold
    FORGED = "forged"            # this device's key id, a MAC that does not match
    DELIVERED = "delivered"      # came by mail delivery: never one of Heard's own
    NO_KEY = "no-key"            # signed, and this device holds no key to check it with

    def words(self) -> str:
        return {
            Verdict.TRUSTED: "signed by one of your devices",
            Verdict.UNSIGNED: "not signed by any of your devices",
            Verdict.OTHER_KEY: "signed with a key your devices do not share",
            Verdict.FORGED: "its signature does not match what it says",
            Verdict.DELIVERED: "it arrived by mail delivery, not from one of your devices",
            Verdict.NO_KEY: "this device has not joined your other devices yet, so it"
                            " cannot check it",
        }[self]


@dataclass(frozen=True)
class Checked:
    """A message of the `Heard` folder with the verdict on who wrote it."""

    verdict: Verdict
    message_id: str
    body: bytes          # the body as written (trailing line breaks removed)
    kind_value: str      # the value of its kind header (request kind, settings version...)

    @property
    def trusted(self) -> bool:
        return self.verdict is Verdict.TRUSTED


@dataclass(frozen=True)
class Untrusted:
    """A message of the `Heard` folder that was ignored, for the report."""

    folder: str
    uid: int
    what: str            # "settings", "request", "delegation record", ...
    verdict: Verdict


def key_id(key: bytes) -> str:
    """A name for the key that gives nothing of it away (a hash of it)."""
    return hashlib.sha256(b"heard sharing key id\0" + key).hexdigest()[:16]


def new_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def canonical(kind_header: str, kind_value: str, message_id: str, body: bytes) -> bytes:
    """What a MAC covers: one unambiguous encoding (JSON of a fixed list), so no two
    messages that say different things share it."""
    return json.dumps(["heard device message 1", kind_header.lower(), kind_value.strip(),
                       message_id.strip(), body.decode("ascii", "replace")],
                      ensure_ascii=True, separators=(",", ":")).encode("ascii")


def mac(key: bytes, kind_header: str, kind_value: str, message_id: str, body: bytes) -> str:
    digest = hmac.new(key, canonical(kind_header, kind_value, message_id, body),
                      hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def signature(key: bytes, kind_header: str, kind_value: str, message_id: str,
              body: bytes) -> str:
    return f"v1 key={key_id(key)} mac={mac(key, kind_header, kind_value, message_id, body)}"


def signed_message(key: bytes, message_id: str, subject: str, kind_header: str,
                   kind_value: str, body: str, when: datetime) -> bytes:
    """Heard's own small message, signed."""
    sig = signature(key, kind_header, kind_value, message_id, body.encode("ascii"))
    return wire.small_message(message_id, subject,
                              {kind_header: kind_value, SIGNATURE_HEADER: sig}, body, when)


def check(raw: bytes, kind_header: str, key: bytes | None) -> Checked:
    """Who wrote `raw` (a message with `kind_header`), as far as `key` can tell."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        head, _, body = raw.partition(b"\n\n")
    headers = BytesHeaderParser(policy=compat32).parsebytes(head + b"\r\n\r\n")
    message_id = str(headers.get("Message-ID") or "").strip()
    value = str(headers.get(kind_header) or "").strip()
    body = body.rstrip(b"\r\n")

    def verdict(v: Verdict) -> Checked:
        return Checked(v, message_id, body, value)

    if any(name in headers for name in DELIVERY_HEADERS):
        return verdict(Verdict.DELIVERED)
    found = _SIGNATURE.fullmatch(str(headers.get(SIGNATURE_HEADER) or "").strip())
    if found is None:
        return verdict(Verdict.UNSIGNED)
    if key is None:
        return verdict(Verdict.NO_KEY)
    if found.group(1) != key_id(key):
        return verdict(Verdict.OTHER_KEY)
    if not hmac.compare_digest(found.group(2), mac(key, kind_header, value, message_id, body)):
        return verdict(Verdict.FORGED)
    return verdict(Verdict.TRUSTED)


def sign_json(key: bytes, data: dict[str, object]) -> dict[str, object]:
    """A JSON object with its MAC inside (IMAP METADATA has no headers)."""
    unsigned = {k: v for k, v in data.items() if k != "mac"}
    text = json.dumps(unsigned, sort_keys=True, ensure_ascii=True, default=str).encode()
    return {**unsigned, "mac": signature(key, "metadata", "", "", text)}


def check_json(data: dict[str, object], key: bytes | None) -> Verdict:
    """sign_json's counterpart (no delivery can reach METADATA)."""
    found = _SIGNATURE.fullmatch(str(data.get("mac") or ""))
    if found is None:
        return Verdict.UNSIGNED
    if key is None:
        return Verdict.NO_KEY
    if found.group(1) != key_id(key):
        return Verdict.OTHER_KEY
    unsigned = {k: v for k, v in data.items() if k != "mac"}
    text = json.dumps(unsigned, sort_keys=True, ensure_ascii=True, default=str).encode()
    if not hmac.compare_digest(found.group(2), mac(key, "metadata", "", "", text)):
        return Verdict.FORGED
    return Verdict.TRUSTED


def read_checked(conn: Connection, folder: str, kind_header: str, key: bytes | None,
                 criteria: list[str] | None = None) -> list[tuple[int, bytes, Checked]]:
    """Every message of `folder` with `kind_header` (and `criteria`), oldest first, each
    with its raw bytes and verdict. A missing folder gives nothing."""
    if not wire.folder_exists(conn, folder):
        return []
    wire.select(conn, folder, readonly=True)
    try:
        uids = sorted(wire.search(conn, ["UNDELETED", "HEADER", kind_header, "",
                                         *(criteria or [])]))
        bodies = wire.fetch_bodies(conn, uids)
    finally:
        wire.leave(conn, folder)
    return [(uid, bodies[uid], check(bodies[uid], kind_header, key))
            for uid in uids if uid in bodies]


# -- the key marker: "this mailbox's devices have a key" ----------------------------------

def markers(conn: Connection, folder: str) -> list[tuple[int, str]]:
    """The key markers in `folder` (uid, key id), oldest first; what came by mail delivery
    is nobody's marker."""
    found = []
    for uid, _raw, checked in read_checked(conn, folder, KEY_HEADER, None):
        if checked.verdict is not Verdict.DELIVERED and re.fullmatch(
                r"[0-9a-f]{16}", checked.kind_value):
            found.append((uid, checked.kind_value))
    return found


def write_marker(conn: Connection, folder: str, key: bytes, instance: str,
                 now: datetime) -> int:
    body = json.dumps({"version": 1, "key_id": key_id(key), "created_by": instance,
                       "at": now.isoformat()}, sort_keys=True, ensure_ascii=True)
    raw = signed_message(key, f"<{uuid.uuid4().hex}.{instance}@heard.invalid>",
                         "Heard sharing key", KEY_HEADER, key_id(key), body, now)
    wire.ensure_folder(conn, folder)
    return wire.append(conn, folder, raw, now)


def remove(conn: Connection, folder: str, uids: list[int]) -> None:
    if not uids:
        return
    wire.select(conn, folder)
    try:
        wire.delete(conn, uids)
    finally:
        wire.leave(conn, folder)


# -- joining: the key sealed under a code the user carries ---------------------------------

def new_code() -> str:
    symbols = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(_CODE_LENGTH))
    return "-".join(symbols[i:i + 4] for i in range(0, _CODE_LENGTH, 4))


def normal_code(code: str) -> str:
    """The code as typed: case, spaces and dashes do not matter."""
    text = re.sub(r"[\s-]", "", code).upper()
    if len(text) != _CODE_LENGTH or any(c not in _CODE_ALPHABET for c in text):
        raise ValueError("a sharing code is 16 letters and digits, like ABCD-EFGH-JKLM-NPQR")
    return text


def _keys(code: str, salt: bytes) -> tuple[bytes, bytes]:
    derived = hashlib.pbkdf2_hmac("sha256", normal_code(code).encode("ascii"), salt,
                                  _ROUNDS, dklen=64)
    return derived[:32], derived[32:]


def _pad(enc: bytes) -> bytes:
    return hmac.new(enc, b"heard sharing key pad", hashlib.sha256).digest()


def write_invite(conn: Connection, folder: str, key: bytes, code: str, instance: str,
                 now: datetime) -> int:
    """The key, sealed under `code`, for one joining device (valid INVITE_VALID)."""
    salt = secrets.token_bytes(16)
    enc, tag_key = _keys(code, salt)
    sealed = bytes(a ^ b for a, b in zip(key, _pad(enc), strict=True))
    kid = key_id(key)
    tag = hmac.new(tag_key, salt + sealed + kid.encode(), hashlib.sha256).digest()
    b64 = base64.b64encode
    body = json.dumps({"version": 1, "by": instance, "at": now.isoformat(),
                       "expires": (now + INVITE_VALID).isoformat(),
                       "salt": b64(salt).decode(), "sealed": b64(sealed).decode(),
                       "key_id": kid, "tag": b64(tag).decode()},
                      sort_keys=True, ensure_ascii=True)
    raw = signed_message(key, f"<{uuid.uuid4().hex}.{instance}@heard.invalid>",
                         "Heard sharing invitation", INVITE_HEADER, "1", body, now)
    wire.ensure_folder(conn, folder)
    return wire.append(conn, folder, raw, now)


@dataclass(frozen=True)
class Opened:
    key: bytes
    by: str
    uid: int


def open_invite(conn: Connection, folder: str, code: str, now: datetime) -> Opened | None:
    """The key of the invitation `code` opens (checked three ways: the code's tag, the
    key's id, and the invitation's own signature with that key); None when none does."""
    normal_code(code)
    for uid, raw, _checked in read_checked(conn, folder, INVITE_HEADER, None):
        try:
            data = json.loads(_checked.body)
            if datetime.fromisoformat(str(data["expires"])) < now:
                continue
            salt, sealed, tag = (base64.b64decode(str(data[k]), validate=True)
                                 for k in ("salt", "sealed", "tag"))
            kid = str(data["key_id"])
        except (ValueError, KeyError, TypeError):
            continue
        enc, tag_key = _keys(code, salt)
        expected = hmac.new(tag_key, salt + sealed + kid.encode(), hashlib.sha256).digest()
        if len(sealed) != KEY_BYTES or not hmac.compare_digest(tag, expected):
            continue
        key = bytes(a ^ b for a, b in zip(sealed, _pad(enc), strict=True))
        if key_id(key) != kid or not check(raw, INVITE_HEADER, key).trusted:
            continue
        return Opened(key, str(data.get("by") or ""), uid)
    return None


def expired_invites(conn: Connection, folder: str, now: datetime) -> list[int]:
    """Invitations past their time (and unreadable ones): the next invite removes them."""
    old = []
    for uid, _raw, checked in read_checked(conn, folder, INVITE_HEADER, None):
        try:
            expires = datetime.fromisoformat(str(json.loads(checked.body)["expires"]))
        except (ValueError, KeyError, TypeError):
            old.append(uid)
            continue
        if expires.astimezone(UTC) < now:
            old.append(uid)
    return old
