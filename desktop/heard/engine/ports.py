"""What one service of the engine needs of another, as small protocols: the services never
import each other (heard.engine.facade wires them), so each can be read, tested and changed
on its own."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from heard.domain.busy import BusyInterval, BusyState
from heard.domain.clients import Client
from heard.domain.ids import InquiryId
from heard.domain.inquiries import Inquiry

if TYPE_CHECKING:
    from heard.config import Assistant, ImapAccount
    from heard.domain.accounts import AccountHealth
    from heard.engine.results import AckResult, DelegateResult, Outcome, SyncReport
    from heard.mail.imap import Connection
    from heard.mail.transport import Transport


class BusyReader(Protocol):
    """The calendars, as far as a reply or a reminder needs them."""

    def busy(self, at: datetime | None = None) -> BusyState | None: ...


class CalendarReader(BusyReader, Protocol):
    """The calendars, as the status shows them."""

    def intervals(self, at: datetime) -> tuple[list[BusyInterval], list[str]]: ...

    def problems(self, now: datetime) -> list[str]: ...

    def stale(self) -> Mapping[str, object]: ...


class CalendarTimes(Protocol):
    """The calendars, as the tick's schedule needs them: the busy blocks and when each
    remote calendar was last refreshed (heard.engine.calendars.CalendarService)."""

    def intervals(self, at: datetime) -> tuple[list[BusyInterval], list[str]]: ...

    def refresh_states(self) -> Mapping[str, Any]: ...


class ReportsDue(Protocol):
    """Status reports clients asked for, as the status shows them."""

    def reports_due(self, now: datetime, clients: Iterable[Client], start: bool = False
                    ) -> list[tuple[Client, datetime]]: ...


class Sender(Protocol):
    """The outbox, as the use cases that write to clients need it."""

    def deliver(self, message_id: str) -> Outcome: ...

    def transport(self, name: str) -> Transport: ...


class MailSync(Protocol):
    """Intake, as an IMAP account's sync needs it."""

    def sync_imap(self, account: ImapAccount, conn: Connection, report: SyncReport) -> None: ...


class Health(Protocol):
    """The accounts' health, as the status shows it."""

    def accounts(self) -> list[AccountHealth]: ...


class HealthRecord(Protocol):
    """Where an IMAP account's parts report how they fare."""

    def record(self, account: str, problem: str | None, push: bool | None = None,
               synced: bool = False, part: str = "sync") -> None: ...


class Replying(Protocol):
    """Acknowledging and delegating, as a request of another device asks for them."""

    def acknowledge(self, inquiry_id: InquiryId, template: str | None = None,
                    reply_by: datetime | None = None, *, only: bool = False) -> AckResult: ...

    def delegate(self, inquiry_id: InquiryId, to: str | None = None, note: str = "",
                 due: datetime | None = None, tell_client: bool | None = None
                 ) -> DelegateResult: ...

    def assistant(self, name: str | None) -> Assistant: ...


class Closing(Protocol):
    """Setting an inquiry aside or answered, as a request of another device asks for it."""

    def dismiss(self, inquiry_id: InquiryId, only: bool = False) -> list[Inquiry]: ...

    def mark_answered(self, inquiry_id: InquiryId, only: bool = False) -> list[Inquiry]: ...

    def undismiss(self, inquiry_id: InquiryId) -> Inquiry: ...
