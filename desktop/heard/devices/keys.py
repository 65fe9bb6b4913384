"""This device's sharing keys (one per IMAP mailbox login), and what was ignored for the
want of one.

The key signs every message Heard writes into the `Heard` folder (heard.devices.wire.trust).
It lives in the keyring only (heard.system.secrets), and in memory once read. The first
device of a mailbox makes it (when no key marker is in the folder); any other device gets it
by joining: `heard sharing invite` on a device that has it shows a code and leaves the key,
sealed under that code, in the folder for an hour; `heard sharing join CODE` on the new
device opens it. Until then a device signs nothing, acts on nothing it cannot check, and
says so (status problems, `heard doctor`, a warning in the log once per message).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from heard.config import ImapAccount, Settings
from heard.devices import ignored
from heard.devices.ignored import JOIN_KEY, UNTRUSTED_KEY, join_words
from heard.devices.wire import trust
from heard.devices.wire.folder import HEARD_FOLDER
from heard.devices.wire.trust import Untrusted
from heard.domain.clock import Clock
from heard.errors import EngineError
from heard.mail.imap import Connection
from heard.store import Store
from heard.system import secrets

log = logging.getLogger(__name__)

_KEPT = 50


class NotJoined(EngineError):
    """This device holds no sharing key for the account, and another device made one."""

    def __init__(self, account: str) -> None:
        super().__init__(join_words(account))
        self.account = account


@dataclass(frozen=True)
class Invitation:
    code: str
    accounts: list[str]
    expires: datetime


class SharingKeys:
    def __init__(self, store: Store, clock: Clock, settings: Callable[[], Settings]) -> None:
        self._store = store
        self._clock = clock
        self._settings = settings
        self._cache: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def _entry(self, account: ImapAccount) -> str:
        return secrets.key_entry(self._settings().instance,
                                 f"{account.username}@{account.host}")

    def get(self, account: ImapAccount) -> bytes | None:
        """This device's key for the account, if it has one (the keyring, once)."""
        entry = self._entry(account)
        with self._lock:
            if entry in self._cache:
                return self._cache[entry]
        try:
            key = secrets.get_key(entry)
        except secrets.SecretsUnavailable as exc:
            log.warning("%s: the sharing key cannot be read: %s", account.name, exc)
            return None
        if key is not None:
            with self._lock:
                self._cache[entry] = key
        return key

    def ensure(self, account: ImapAccount, conn: Connection) -> bytes | None:
        """The key, made here when no device of the user's has one yet; None when another
        device made it and this one has not joined (said in the status)."""
        key = self.get(account)
        if key is not None:
            return key
        if trust.markers(conn, HEARD_FOLDER):
            self._needs_join(account)
            return None
        key = trust.new_key()
        entry = self._entry(account)
        try:
            secrets.store_key(entry, key)    # first: a marker whose key is nowhere is worse
        except secrets.SecretsUnavailable as exc:
            log.warning("%s: the sharing key cannot be kept: %s", account.name, exc)
            return None
        now = self._clock.now()
        uid = trust.write_marker(conn, HEARD_FOLDER, key, self._settings().instance, now)
        found = trust.markers(conn, HEARD_FOLDER)
        if found and found[0][0] != uid:
            # Another device made one at the same moment, and was first: join it.
            trust.remove(conn, HEARD_FOLDER, [uid])
            secrets.delete_key(entry)
            self._needs_join(account)
            return None
        with self._lock:
            self._cache[entry] = key
        self._store.set_state(JOIN_KEY + account.name, "")
        log.info("%s: made the sharing key of your devices (this is the first)", account.name)
        return key

    def require(self, account: ImapAccount, conn: Connection) -> bytes:
        key = self.ensure(account, conn)
        if key is None:
            raise NotJoined(account.name)
        return key

    def _needs_join(self, account: ImapAccount) -> None:
        if not self._store.state(JOIN_KEY + account.name):
            log.warning("%s", join_words(account.name))
            self._store.set_state(JOIN_KEY + account.name, self._clock.now().isoformat())

    # joining

    def invite(self, account: ImapAccount, conn: Connection, code: str) -> bool:
        """Leave this device's key sealed under `code` for a joining device; False when
        this device has none (it must join first). Old invitations go."""
        key = self.ensure(account, conn)
        if key is None:
            return False
        now = self._clock.now()
        trust.remove(conn, HEARD_FOLDER, trust.expired_invites(conn, HEARD_FOLDER, now))
        trust.write_invite(conn, HEARD_FOLDER, key, code, self._settings().instance, now)
        log.info("%s: invited a device to join (valid until %s)", account.name,
                 (now + trust.INVITE_VALID).isoformat(timespec="minutes"))
        return True

    def join(self, account: ImapAccount, conn: Connection, code: str) -> str | None:
        """Take the key the invitation `code` opens (it is used up); the inviting device's
        name, or None when no invitation opens with it."""
        opened = trust.open_invite(conn, HEARD_FOLDER, code, self._clock.now())
        if opened is None:
            return None
        entry = self._entry(account)
        secrets.store_key(entry, opened.key)
        with self._lock:
            self._cache[entry] = opened.key
        trust.remove(conn, HEARD_FOLDER, [opened.uid])
        self._store.set_state(JOIN_KEY + account.name, "")
        # What was ignored for the want of the key is read again with it.
        self._store.set_state(UNTRUSTED_KEY + account.name, "")
        log.info("%s: joined your devices (invited by %r)", account.name, opened.by)
        return opened.by

    # what was ignored

    def report(self, account: str, found: list[Untrusted]) -> None:
        """Remember what was ignored (status, doctor); a warning in the log once each."""
        if not found:
            return
        known = ignored.ignored(self._store, account)
        seen = {(i["folder"], i["uid"], i["verdict"]) for i in known}
        now = self._clock.now().isoformat()
        for item in found:
            if (item.folder, item.uid, item.verdict.value) in seen:
                continue
            log.warning("%s: ignored a %s in %s (uid %d): %s", account, item.what,
                        item.folder, item.uid, item.verdict.words())
            known.append({"folder": item.folder, "uid": item.uid, "what": item.what,
                          "verdict": item.verdict.value, "at": now})
        self._store.set_state(UNTRUSTED_KEY + account, json.dumps(known[-_KEPT:]))

    def problems(self, now: datetime) -> list[str]:
        """In words, for the status and `heard doctor` (heard.devices.ignored)."""
        return ignored.problems(self._store, (a for a in self._settings().accounts
                                              if isinstance(a, ImapAccount)), now)

    def invitation(self, code: str, accounts: list[str]) -> Invitation:
        return Invitation(code, accounts, self._clock.now() + trust.INVITE_VALID)
