"""The one interface the engine's use cases speak to the user's other devices through.

A Coordinator claims a client's message before a reply goes out (so two devices never
answer one client), says it is being sent and marks it done, passes a click to the device
that alone may send (where the server keeps no keywords), and tells the others when a
client was set aside or answered another way. What it does on the wire is its own: the
use cases never see a keyword or a folder of Heard's.

- LocalCoordinator: a Maildir account stays on this device; nothing to agree on.
- ImapCoordinator (heard.devices.imap): keywords, requests and records on the IMAP server.
- Devices: the engine's coordinator, handing each inquiry to its account's one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Protocol

from heard.config import ImapAccount, Settings
from heard.devices import ignored
from heard.domain.clock import Clock
from heard.domain.ids import InquiryId
from heard.domain.inquiries import Inquiry
from heard.domain.shared import Done, Mark
from heard.errors import EngineError
from heard.store import Store
from heard.system.paths import Profile

if TYPE_CHECKING:
    from heard.config import Account
    from heard.devices.imap import ImapCoordinator
    from heard.devices.keys import Invitation, SharingKeys
    from heard.devices.settings import SharedSettingsSync
    from heard.domain.delegations import Assignment
    from heard.domain.shared import SharedState
    from heard.mail.imap import Connection
    from heard.mail.imap.worker import Workers

log = logging.getLogger(__name__)


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
    """The claim says another device has it (or had it): nothing is sent from here."""

    def __init__(self, message: str, done: Done | None = None, owner: str = "") -> None:
        super().__init__(message)
        self.done = done
        self.owner = owner


@dataclass(frozen=True)
class Claim:
    """May this device send? `where` is set when the server holds the claim."""

    where: Where | None
    note: str = ""        # said to the user when the account cannot coordinate
    requested: str = ""   # the designated device that was asked to send it instead


@dataclass(frozen=True)
class DeviceMode:
    """How one account lets the user's devices coordinate, for the faces to show."""

    account: str
    mode: str | None      # heard.devices.wire.claims.Mode's value; "local"; None: unknown
    describe: str         # in words
    full: bool = False    # the claim protocol itself (not a fallback)


class Coordinator(Protocol):
    """One account's way of agreeing with the user's other devices."""

    def claim(self, inquiry: Inquiry) -> Claim: ...

    def release(self, where: Where) -> None: ...

    def sending(self, where: Where) -> bool: ...

    def not_sent(self, where: Where) -> None: ...

    def finished(self, where: Where, how: Mark) -> None: ...

    def record_delegation(self, where: Where, inquiry_id: InquiryId) -> None: ...

    def request(self, inquiry: Inquiry, kind: str, options: dict[str, str]) -> None: ...

    def designated(self, inquiry: Inquiry) -> str: ...

    def where(self, inquiry: Inquiry) -> Where | None: ...

    def closed(self, inquiry: Inquiry, how: Mark) -> None: ...

    def reopened(self, inquiry: Inquiry) -> None: ...


class LocalCoordinator:
    """A Maildir account: this device is the only one, so every step is a no-op."""

    def claim(self, inquiry: Inquiry) -> Claim:
        return Claim(None)

    def release(self, where: Where) -> None:
        pass

    def sending(self, where: Where) -> bool:
        return True

    def not_sent(self, where: Where) -> None:
        pass

    def finished(self, where: Where, how: Mark) -> None:
        pass

    def record_delegation(self, where: Where, inquiry_id: InquiryId) -> None:
        pass

    def request(self, inquiry: Inquiry, kind: str, options: dict[str, str]) -> None:
        raise EngineError("only an IMAP account can pass a reply to another device")

    def designated(self, inquiry: Inquiry) -> str:
        return ""

    def where(self, inquiry: Inquiry) -> Where | None:
        return None

    def closed(self, inquiry: Inquiry, how: Mark) -> None:
        pass

    def reopened(self, inquiry: Inquiry) -> None:
        pass


class Devices:
    """The engine's coordinator: each inquiry (or Where) goes to its account's one. The
    IMAP side is made on first use, so a Maildir setup never loads it."""

    def __init__(self, store: Store, clock: Clock, settings: Callable[[], Settings],
                 workers: Callable[[], Workers[ImapAccount]], profile: Profile) -> None:
        self._store = store
        self._clock = clock
        self._settings = settings
        self._workers = workers
        self._profile = profile
        self._local = LocalCoordinator()
        self._imap: ImapCoordinator | None = None
        self._shared: SharedSettingsSync | None = None
        self._keys: SharingKeys | None = None

    @property
    def instance(self) -> str:
        return self._settings().instance

    @property
    def imap(self) -> ImapCoordinator:
        if self._imap is None:
            from heard.devices.imap import ImapCoordinator

            self._imap = ImapCoordinator(self._store, self._clock, self._settings,
                                         self._workers, self.keys)
        return self._imap

    @property
    def keys(self) -> SharingKeys:
        """This device's sharing keys (heard.devices.keys)."""
        if self._keys is None:
            from heard.devices.keys import SharingKeys

            self._keys = SharingKeys(self._store, self._clock, self._settings)
        return self._keys

    def _imap_accounts(self) -> list[ImapAccount]:
        return [a for a in self._settings().accounts if isinstance(a, ImapAccount)]

    def trust_problems(self) -> list[str]:
        """What this device ignored in the Heard folder, or cannot check yet, in words
        (status problems, `heard doctor`); never a login of its own."""
        if not self._imap_accounts():
            return []   # (a Maildir setup never loads the devices' IMAP code)
        # Read from the store without the keys' code: the first status waits for this.
        problems = ignored.problems(self._store, self._imap_accounts(), self._clock.now())
        shared = self.settings.status()
        if shared.pending:
            problems.append(f"another of your devices ({shared.written_by or '?'}) changed"
                            " your templates or which device acts: it applies when you say"
                            " yes (heard sharing sync shows the change; --accept takes it)")
        return problems

    def invite(self) -> Invitation:
        """Leave this device's sharing key, sealed under a new code, for a device that
        joins within the hour (in every IMAP account this device holds a key of: one code
        for them all). EngineError when it holds none."""
        from heard.devices.wire.trust import new_code

        code = new_code()
        invited = []
        for account in self._imap_accounts():
            if self.imap.run(account, partial(self._invite, account, code)):
                invited.append(account.name)
        if not invited:
            accounts = self._imap_accounts()
            raise EngineError(ignored.join_words(accounts[0].name) if accounts else
                              "no IMAP account: nothing is shared with other devices")
        return self.keys.invitation(code, invited)

    def join(self, code: str) -> dict[str, str | None]:
        """Take the sharing key an invitation opens with `code`, in every IMAP account:
        {account: the inviting device, or None when none opened}. ValueError for a code
        that cannot be one."""
        from heard.devices.wire.trust import normal_code

        normal_code(code)
        return {account.name: self.imap.run(account, partial(self._join, account, code))
                for account in self._imap_accounts()}

    def _invite(self, account: ImapAccount, code: str, conn: Connection) -> bool:
        return self.keys.invite(account, conn, code)

    def _join(self, account: ImapAccount, code: str, conn: Connection) -> str | None:
        return self.keys.join(account, conn, code)

    def _account(self, name: str) -> Account | None:
        return next((a for a in self._settings().accounts if a.name == name), None)

    def of(self, account: str) -> Coordinator:
        return self.imap if isinstance(self._account(account), ImapAccount) else self._local

    # the Coordinator, per inquiry or Where

    def claim(self, inquiry: Inquiry) -> Claim:
        return self.of(inquiry.account).claim(inquiry)

    def release(self, where: Where) -> None:
        self.of(where.account).release(where)

    def sending(self, where: Where) -> bool:
        return self.of(where.account).sending(where)

    def not_sent(self, where: Where) -> None:
        self.of(where.account).not_sent(where)

    def finished(self, where: Where, how: Mark) -> None:
        self.of(where.account).finished(where, how)

    def record_delegation(self, where: Where, inquiry_id: InquiryId) -> None:
        self.of(where.account).record_delegation(where, inquiry_id)

    def request(self, inquiry: Inquiry, kind: str, options: dict[str, str]) -> None:
        self.of(inquiry.account).request(inquiry, kind, options)

    def designated(self, inquiry: Inquiry) -> str:
        return self.of(inquiry.account).designated(inquiry)

    def where(self, inquiry: Inquiry) -> Where | None:
        return self.of(inquiry.account).where(inquiry)

    def closed(self, inquiry: Inquiry, how: Mark) -> None:
        self.of(inquiry.account).closed(inquiry, how)

    def reopened(self, inquiry: Inquiry) -> None:
        self.of(inquiry.account).reopened(inquiry)

    # what the engine's sync and status need of the IMAP side

    def marks(self, flags: frozenset[str]) -> SharedState | None:
        """What a message's flags say the user's devices did with it; None when no device
        of the user's has touched it."""
        from heard.domain.shared import shared_state

        if not any(f.startswith("$Heard") for f in flags):
            return None
        return shared_state(flags)

    def learn(self, accounts: list[ImapAccount]) -> None:
        """Once per account and process: how its server lets the devices coordinate."""
        self.imap.learn_capabilities(accounts)

    def designated_accounts(self, accounts: list[ImapAccount]) -> list[ImapAccount]:
        """The accounts whose server keeps no keywords, so that one device sends for the
        others (an account whose server cannot be asked is left for the next sync)."""
        from heard.devices.wire.claims import Mode
        from heard.mail.imap import ImapError

        found = []
        for account in accounts:
            try:
                if self.imap.capabilities(account).mode is Mode.DESIGNATED:
                    found.append(account)
            except (ImapError, EngineError) as exc:
                log.warning("%s: requests of your other devices: %s", account.name, exc)
        return found

    def assignments(self, accounts: list[ImapAccount]) -> list[Assignment]:
        """Delegations made on another device: to whom and by when."""
        wanted = self._store.unexplained_delegations()
        if not wanted:
            return []
        return self.imap.learn_assignments_of(accounts, wanted)

    def modes(self) -> list[DeviceMode]:
        """Each account's way of coordinating (asking each IMAP server once)."""
        from heard.mail.imap import ImapError

        found = []
        for account in self._settings().accounts:
            if not isinstance(account, ImapAccount):
                found.append(DeviceMode(account.name, "local",
                                        "a Maildir folder stays local to this device"))
                continue
            try:
                found.append(self.imap.mode(account))
            except (ImapError, EngineError) as exc:
                found.append(DeviceMode(account.name, None, f"could not tell: {exc}"))
        return found

    def notice(self) -> str:
        """When an account's server cannot coordinate the user's devices, what that means
        here (from what was learnt; never a login of its own)."""
        return self._imap.notice() if self._imap is not None else ""

    @property
    def settings(self) -> SharedSettingsSync:
        """Standards, templates and the designated device, agreed on the mail server."""
        if self._shared is None:
            from heard.devices.settings import SharedSettingsSync

            self._shared = SharedSettingsSync(self._profile, self._store, self._clock,
                                              self._settings, lambda: self.imap)
        return self._shared
