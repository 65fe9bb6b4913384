"""The settings in force, as the engine reads them: the [sections] of heard.toml (see
heard.config.schema), the response standards, the accounts and the calendars, and the few
values derived from them (the zone, the working-hours clock, this device's name)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from heard.config.schema import (
    AbsenceSettings,
    AfterHoursSettings,
    AssistantSettings,
    AutopilotSettings,
    CalendarSettings,
    DelegationSettings,
    DesktopSettings,
    FollowUpSettings,
    LocaleSettings,
    MailSettings,
    NotificationSettings,
    OpeningHours,
    OpenSettings,
    ProspectSettings,
    ReplySettings,
    SharingSettings,
    UserSettings,
    known_providers,
)
from heard.config.values import default_instance, system_zone
from heard.domain.clock import WorkingHours
from heard.domain.locales import Speech
from heard.domain.standards import Standards
from heard.system.oauth import Provider
from heard.system.oauth import entry as oauth_entry


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    security: str          # "tls" (implicit, 465), "starttls" (587) or "plain" (loopback only)
    username: str          # "" = send without logging in (a local relay)
    ca_file: Path | None = None
    sent_copy: str = "append"   # "append": Heard files in Sent; "server": the server does

    @property
    def keyring_name(self) -> str:
        return f"smtp:{self.username}@{self.host}"


@dataclass(frozen=True)
class Assistant:
    name: str
    address: str


@dataclass(frozen=True)
class MaildirAccount:
    name: str
    inbox: Path
    sent: Path | None = None
    outbox: Path | None = None
    address: str = ""
    smtp: SmtpServer | None = None


@dataclass(frozen=True)
class ImapAccount:
    name: str
    host: str
    port: int
    security: str
    username: str
    address: str = ""
    folders: tuple[str, ...] = ("INBOX",)
    sent_folder: str = ""
    ca_file: Path | None = None
    poll_every: timedelta = timedelta(minutes=2)
    smtp: SmtpServer | None = None
    auth: str = "password"           # "password" | "oauth2"
    provider: str = ""               # oauth2: the [oauth.NAME] signed in with
    oauth: Provider | None = None    # oauth2: that provider's settings

    @property
    def keyring_name(self) -> str:
        """The account's entry in the keyring (the password, or with oauth2 the sign-in's
        refresh token, lives only there)."""
        if self.auth == "oauth2":
            return oauth_entry(self.provider, self.username)
        return f"imap:{self.username}@{self.host}"

    def source(self, folder: str) -> str:
        """What the store remembers one of the account's folders by (not its name: renaming
        the account re-reads nothing)."""
        return f"imap:{self.username}@{self.host}/{folder}"


Account = MaildirAccount | ImapAccount


@dataclass(frozen=True)
class CalendarSource:
    name: str
    path: Path | None = None           # ics: a file or a vdir folder
    kind: str = "ics"                  # "ics" | "caldav" | "url"
    url: str = ""
    username: str = ""
    calendars: tuple[str, ...] = ()    # caldav: the calendar addresses that count
    ca_file: Path | None = None
    refresh_every: timedelta = timedelta(minutes=5)
    auth: str = "password"             # caldav: "password" | "oauth2"
    provider: str = ""
    oauth: Provider | None = None

    @property
    def remote(self) -> bool:
        return self.kind in ("caldav", "url", "graph")

    @property
    def keyring_name(self) -> str:
        from urllib.parse import urlsplit

        if self.auth == "oauth2":
            return oauth_entry(self.provider, self.username)
        return f"caldav:{self.username}@{urlsplit(self.url).hostname or self.url}"


@dataclass(frozen=True)
class Settings:
    user: UserSettings = field(default_factory=UserSettings)
    assistant: AssistantSettings = field(default_factory=AssistantSettings)
    delegation: DelegationSettings = field(default_factory=DelegationSettings)
    autopilot: AutopilotSettings = field(default_factory=AutopilotSettings)
    opening: OpeningHours = field(default_factory=OpeningHours)
    notifications: NotificationSettings = field(default_factory=NotificationSettings)
    sharing: SharingSettings = field(default_factory=SharingSettings)
    desktop: DesktopSettings = field(default_factory=DesktopSettings)
    prospects: ProspectSettings = field(default_factory=ProspectSettings)
    calendar: CalendarSettings = field(default_factory=CalendarSettings)
    mail: MailSettings = field(default_factory=MailSettings)
    replies: ReplySettings = field(default_factory=ReplySettings)
    open_in: OpenSettings = field(default_factory=OpenSettings)
    followups: FollowUpSettings = field(default_factory=FollowUpSettings)
    absence: AbsenceSettings = field(default_factory=AbsenceSettings)
    afterhours: AfterHoursSettings = field(default_factory=AfterHoursSettings)
    locale: LocaleSettings = field(default_factory=LocaleSettings)
    standards: Standards = field(default_factory=Standards)
    more_assistants: tuple[Assistant, ...] = ()     # [[assistants]]
    accounts: tuple[Account, ...] = ()
    calendars: tuple[CalendarSource, ...] = ()
    oauth: Mapping[str, Provider] = field(default_factory=lambda: known_providers())

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.user.timezone) if self.user.timezone else system_zone()

    @property
    def speech(self) -> Speech:
        """How the user's times are written: [locale] language, else the system's locale
        (LC_ALL, LC_TIME, LANG; C/POSIX: Heard's English as before), and the clock."""
        import os

        from heard.domain.locales import locale_from_environment, speech_for

        locale = self.locale.language or locale_from_environment(dict(os.environ))
        return speech_for(locale, self.locale.time_format)

    @property
    def hours(self) -> WorkingHours:
        """The working-hours clock of the [hours] the user set."""
        return WorkingHours(self.zone, self.opening.week, self.opening.holidays)

    @property
    def instance(self) -> str:
        """This installation's id among the instances sharing a mailbox."""
        return self.sharing.instance or default_instance()

    @property
    def assistants(self) -> tuple[Assistant, ...]:
        """[assistant] (the usual single one) first, then each [[assistants]] entry."""
        first = ((Assistant(self.assistant.name, self.assistant.address),)
                 if self.assistant.address else ())
        return first + self.more_assistants
