"""The settings file (heard.toml in the profile): a schema, typed settings, clear errors.

Every option is declared once below with its type, default and a line of help. Loading
reports every problem at once, naming the key and the fix, and names unknown keys with a
suggestion. Writing goes through tomlkit so the user's comments and order survive.
"""

from __future__ import annotations

import difflib
import itertools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import tomlkit
import tomlkit.exceptions
from tomlkit.items import AoT, Table

from heard.domain.clients import Channel
from heard.domain.clock import Counting, Span, WorkingHours
from heard.domain.hosts import is_loopback
from heard.domain.standards import DEFAULT_STANDARD, Standard, Standards

CONFIG_NAME = "heard.toml"
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

T = TypeVar("T")


class ConfigError(ValueError):
    """One or more problems in the settings file; each names its key and the fix."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        super().__init__(f"{path}:\n" + "\n".join(f"  - {p}" for p in problems))
        self.path = path
        self.problems = problems


class _Bad(ValueError):
    pass


# value parsers: raise _Bad("what is wrong; how to write it")

_DURATION = re.compile(r"^\s*(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m(?:in)?)?\s*$")


def parse_duration(value: object) -> timedelta:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return timedelta(minutes=value)
    match = _DURATION.match(str(value)) if isinstance(value, str) else None
    if not match or not any(match.groups()):
        raise _Bad(f"{value!r} is not a duration; write it like \"10m\", \"4h\" or \"1d 2h\"")
    days, hours, minutes = (int(g or 0) for g in match.groups())
    result = timedelta(days=days, hours=hours, minutes=minutes)
    if result <= timedelta(0):
        raise _Bad("must be longer than zero")
    return result


def format_duration(value: timedelta) -> str:
    minutes = int(value.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [f"{n}{u}" for n, u in ((days, "d"), (hours, "h"), (mins, "m")) if n]
    return " ".join(parts) or "0m"


def parse_spans(value: object) -> tuple[Span, ...]:
    if not isinstance(value, str):
        raise _Bad('write opening hours as a string like "09:00-17:00" (or "" for closed)')
    spans = []
    for part in filter(None, (p.strip() for p in value.split(","))):
        match = re.fullmatch(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})", part)
        if not match:
            raise _Bad(f'{part!r} is not a time range; write it like "09:00-17:00"')
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        try:
            start = time(h1, m1)
            end = time(0) if (h2, m2) == (24, 0) else time(h2, m2)
        except ValueError as exc:
            raise _Bad(f"{part!r}: {exc}") from exc
        if end == time(0):
            end = time(23, 59, 59, 999999)
        if end <= start:
            raise _Bad(f"{part!r} ends before it starts")
        spans.append(Span(start, end))
    spans.sort(key=lambda s: s.start)
    for a, b in itertools.pairwise(spans):
        if b.start < a.end:
            raise _Bad(f"{value!r} has overlapping ranges")
    return tuple(spans)


def parse_zone(value: object) -> str:
    if not isinstance(value, str):
        raise _Bad('write a zone name like "Europe/Berlin", or "" for the system zone')
    if value:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise _Bad(f"unknown time zone {value!r}; use a name like \"America/New_York\"")\
                from exc
    return value


def parse_str(value: object) -> str:
    if not isinstance(value, str):
        raise _Bad("must be a string in quotes")
    return value


def parse_region(value: object) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z]{2}", value):
        raise _Bad('write a two-letter country code, like "US", "DE" or "GB"')
    region = value.upper()
    if region != "US":  # the default needs no check (and no phonenumbers at start-up)
        import phonenumbers

        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise _Bad(f"{value!r} is not a country code phone numbers know")
    return region


def parse_bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise _Bad("must be true or false")
    return value


def parse_str_list(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Bad('must be a list of strings, like ["a@example.com"]')
    return tuple(value)


def parse_share(value: object) -> float:
    text = str(value).strip() if isinstance(value, (str, int, float)) else ""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*%", text)
    if not match or not 0 < float(match.group(1)) <= 100:
        raise _Bad('write a share like "90%" (more than 0%, at most 100%)')
    return float(match.group(1)) / 100


def parse_port(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
        raise _Bad("must be a port number like 993 (0 = the usual port for the security)")
    return value


def parse_security(value: object) -> str:
    if value not in ("tls", "starttls", "plain"):
        raise _Bad('must be "tls" (IMAPS, port 993), "starttls" (port 143) or "plain"'
                   " (only to this machine)")
    return str(value)


def parse_instance(value: object) -> str:
    if value == "":
        return ""
    if not isinstance(value, str) or not re.fullmatch(r"[a-z0-9]{1,12}", value):
        raise _Bad('must be 1 to 12 lower-case letters or digits, e.g. "desk" or "lap"')
    return value


def default_instance() -> str:
    """This computer's name as an instance id ("Alex-Laptop.local" -> "alexlaptop")."""
    import socket

    name = re.sub(r"[^a-z0-9]", "", socket.gethostname().split(".")[0].lower())[:12]
    return name or "heard"


def parse_undo(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 60:
        raise _Bad("must be a number of seconds from 0 to 60, e.g. 5")
    return value


def parse_smtp_security(value: object) -> str:
    if value not in ("tls", "starttls", "plain"):
        raise _Bad('must be "starttls" (port 587), "tls" (port 465) or "plain" (only to'
                   " this machine)")
    return str(value)


def parse_sent_copy(value: object) -> str:
    if value not in ("append", "server"):
        raise _Bad('must be "append" (Heard files replies in Sent) or "server" (the server'
                   " files them itself, like Gmail)")
    return str(value)


def parse_optional_path(value: object) -> Path | None:
    if value == "":
        return None
    return parse_path(value)


def parse_dates(value: object) -> frozenset[date]:
    if not isinstance(value, list):
        raise _Bad('must be a list of dates, like ["2026-12-25"]')
    out = set()
    for item in value:
        if isinstance(item, date):
            out.add(item)
            continue
        try:
            out.add(date.fromisoformat(str(item)))
        except ValueError as exc:
            raise _Bad(f"{item!r} is not a date; write it like 2026-12-25") from exc
    return frozenset(out)


def parse_counting(value: object) -> Counting:
    try:
        return Counting(str(value))
    except ValueError as exc:
        raise _Bad('must be "working_hours" or "clock"') from exc


def parse_path(value: object) -> Path:
    if not isinstance(value, str) or not value:
        raise _Bad("must be a path in quotes")
    return Path(value).expanduser()


@dataclass(frozen=True)
class Option(Generic[T]):
    parse: Callable[[object], T]
    default: object
    help: str


SCHEMA: Mapping[str, Mapping[str, Option[Any]]] = {
    "user": {
        "name": Option(parse_str, "", "your name, as it appears in replies"),
        "addresses": Option(parse_str_list, [], "your own addresses (mail from them is yours)"),
        "timezone": Option(parse_zone, "", 'your time zone, e.g. "Europe/Berlin"; "" = system'),
        "phone_region": Option(parse_region, "US",
                               "country for phone numbers written without a +code"),
    },
    "assistant": {
        "name": Option(parse_str, "", "your assistant's name, used in delegation replies"),
        "address": Option(parse_str, "", "your assistant's address"),
    },
    "delegation": {
        "due": Option(parse_duration, "2h", "how long an assistant has to take a delegated"
                      " matter up before Heard reminds you"),
        "tell_client": Option(parse_bool, True, "tell the client who will help (never for"
                              " clients whose preference says no assistant)"),
    },
    "autopilot": {
        "tiers": Option(parse_str_list, [], "tiers Heard acknowledges on its own while you"
                        ' are in a meeting, e.g. ["vip"]; [] = never'),
        "before": Option(parse_duration, "3m", "how long before the acknowledgement deadline"
                         " the automatic acknowledgement goes out"),
    },
    "hours": {
        **{
            day: Option(parse_spans, "09:00-17:00" if i < 5 else "",
                        f'opening hours on {day.title()}, e.g. "09:00-12:00, 13:00-17:00"')
            for i, day in enumerate(WEEKDAYS)
        },
        "holidays": Option(parse_dates, [], "days you are closed, e.g. [2026-12-25]"),
        "holiday_calendar": Option(parse_optional_path, "",
                                   "an .ics file of holidays (its all-day events close the"
                                   " office), e.g. a public-holiday calendar"),
    },
    "notifications": {
        "paused": Option(parse_bool, False, "true: the tray counts but shows no toasts"),
        "warn_before_ack": Option(parse_duration, "2m",
                                  "warn this long before an acknowledgement is due"),
        "warn_before_answer": Option(parse_duration, "1h",
                                     "warn this long before an answer is due"),
        "warn_before_promise": Option(parse_duration, "15m",
                                      "warn this long before a promise is due"),
        "urgent_tiers": Option(parse_str_list, ["vip"],
                               "tiers whose deadlines warn outside working hours too"),
        "quiet_in_meetings": Option(parse_bool, True,
                                    "while your calendar says busy, only urgent tiers and"
                                    " deadlines about to pass pop up; the rest are"
                                    " summed up when the meeting ends"),
    },
    "sharing": {
        "instance": Option(parse_instance, "", "this installation's short name among your"
                           " devices and your assistant's (1-12 letters or digits, e.g."
                           ' "desk", "lap", "asst"); "" = from the computer\'s name'),
        "autopilot_instance": Option(parse_instance, "", "the one instance that may send"
                                     " automatic acknowledgements; \"\" = any instance"
                                     " with the autopilot on"),
        "designated_instance": Option(parse_instance, "", "where the mail server keeps no"
                                      " keywords (Outlook.com, Yahoo): the instance that sends"
                                      " for all the others; \"\" = this one"),
    },
    "desktop": {
        "start_at_login": Option(parse_bool, False,
                                 "start Heard when you log in (an XDG autostart entry)"),
    },
    "prospects": {
        "enabled": Option(parse_bool, True,
                          "notice new people who may be clients (first messages, website"
                          " forms, unknown callers)"),
        "internal_domains": Option(parse_str_list, [],
                                   "your organisation's domains: mail from them is never a"
                                   " prospect (your own address's domain counts already)"),
        "show_apart": Option(parse_bool, False,
                             "list prospects apart from clients in the tooltip and window"),
    },
    "calendar": {
        "share_titles": Option(parse_bool, False,
                               "true: meeting titles may appear in replies and `heard busy`"),
        "min_free": Option(parse_duration, "15m",
                           "the shortest free slot that counts as free, e.g. \"15m\""),
        "tentative_busy": Option(parse_bool, True,
                                 "true: tentative meetings count as busy"),
    },
    "mail": {
        "window": Option(parse_duration, "30d",
                         "how far back a first look at a mailbox goes, e.g. \"30d\""),
    },
    "replies": {
        "template": Option(parse_str, "acknowledge", "the default acknowledgement template"),
        "margin": Option(parse_duration, "30m",
                         "time promised after the next free slot, e.g. \"30m\""),
        "undo_seconds": Option(parse_undo, 5, "seconds a reply sent from the window can be"
                               " taken back (Undo) before it goes out; 0 = at once"),
    },
}
STANDARD_SCHEMA: Mapping[str, Option[Any]] = {
    "ack_within": Option(parse_duration, format_duration(DEFAULT_STANDARD.ack_within),
                         "time to acknowledge, e.g. \"10m\""),
    "answer_within": Option(parse_duration, format_duration(DEFAULT_STANDARD.answer_within),
                            "time to answer, e.g. \"4h\""),
    "counting": Option(parse_counting, DEFAULT_STANDARD.counting.value,
                       '"working_hours" or "clock" (around the clock)'),
    "ack_goal": Option(parse_share, "90%", "the share to acknowledge in time, e.g. \"90%\""),
    "answer_goal": Option(parse_share, "100%", "the share to answer in time, e.g. \"100%\""),
}
ACCOUNT_SCHEMA: Mapping[str, Option[Any]] = {
    "name": Option(parse_str, "", "a short name for the account"),
    "kind": Option(parse_str, "maildir", '"maildir" or "imap"'),
    "address": Option(parse_str, "", "the address replies are sent from"),
    # maildir
    "inbox": Option(parse_path, None, "the Maildir folder that receives client mail"),
    "sent": Option(parse_path, None, "the Maildir folder your sent mail is filed in"),
    "outbox": Option(parse_path, None, "the Maildir folder Heard delivers replies to"),
    # imap
    "host": Option(parse_str, "", "the IMAP server, e.g. \"imap.example.com\""),
    "port": Option(parse_port, 0, "the port (0 = 993 for tls, 143 for starttls)"),
    "security": Option(parse_security, "tls", '"tls", "starttls" or "plain" (loopback only)'),
    "username": Option(parse_str, "", "the login name (the password is in the keyring)"),
    "folders": Option(parse_str_list, ["INBOX"], "the folders clients write to"),
    "sent_folder": Option(parse_str, "", 'your Sent folder; "" = find it on the server'),
    "ca_file": Option(parse_optional_path, "", "a CA certificate file for a server with its"
                      " own certificate authority"),
    "poll_every": Option(parse_duration, "2m",
                         "how often to look for mail when the server cannot push (no IDLE)"),
    # sending (both kinds)
    "smtp_host": Option(parse_str, "", 'the SMTP server replies leave by, e.g.'
                        ' "smtp.example.com"; "" = no sending from this account'),
    "smtp_port": Option(parse_port, 0, "the SMTP port (0 = 465 for tls, 587 for starttls)"),
    "smtp_security": Option(parse_smtp_security, "starttls",
                            '"starttls" (587), "tls" (465) or "plain" (loopback only)'),
    "smtp_username": Option(parse_str, "", 'the SMTP login; "" = the IMAP username (an'
                            " account without one sends without logging in)"),
    "smtp_ca_file": Option(parse_optional_path, "", "a CA file for the SMTP server"),
    "sent_copy": Option(parse_sent_copy, "append", '"append": Heard files each reply in'
                        ' Sent; "server": the server does it itself (Gmail)'),
}
ASSISTANT_SCHEMA: Mapping[str, Option[Any]] = {
    "name": Option(parse_str, "", "the assistant's name (in replies and the menu)"),
    "address": Option(parse_str, "", "the assistant's address"),
}
MAILDIR_KEYS = frozenset({"inbox", "sent", "outbox"})
SMTP_DEFAULT_PORTS = {"tls": 465, "starttls": 587, "plain": 25}
IMAP_KEYS = frozenset({"host", "port", "security", "username", "folders", "sent_folder",
                       "ca_file", "poll_every"})
CALENDAR_SCHEMA: Mapping[str, Option[Any]] = {
    "name": Option(parse_str, "", "a short name for the calendar"),
    "kind": Option(parse_str, "ics", '"ics" (a file or a folder of .ics files), "caldav"'
                   ' (a CalDAV account) or "url" (an https .ics subscription)'),
    "path": Option(parse_path, None, "ics: the .ics file or folder of .ics files"),
    "url": Option(parse_str, "", "caldav: the server address; url: the .ics address"),
    "username": Option(parse_str, "", "caldav: the login name (the password is in the keyring)"),
    "calendars": Option(parse_str_list, [], "caldav: the addresses of the calendars that"
                        " count (`heard account add caldav` fills them in)"),
    "ca_file": Option(parse_optional_path, "", "a CA file for a server with its own authority"),
    "refresh_every": Option(parse_duration, "5m", "how often a remote calendar is asked for"
                            " changes (also at each meeting's start and end)"),
}


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

    @property
    def keyring_name(self) -> str:
        """The account's entry in the keyring (the password lives only there)."""
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

    @property
    def remote(self) -> bool:
        return self.kind in ("caldav", "url")

    @property
    def keyring_name(self) -> str:
        from urllib.parse import urlsplit

        return f"caldav:{self.username}@{urlsplit(self.url).hostname or self.url}"


@dataclass(frozen=True)
class UserSettings:
    name: str = ""
    addresses: tuple[str, ...] = ()
    timezone: str = ""
    phone_region: str = "US"


@dataclass(frozen=True)
class Settings:
    user: UserSettings = field(default_factory=UserSettings)
    assistant_name: str = ""
    assistant_address: str = ""
    more_assistants: tuple[Assistant, ...] = ()
    delegation_due: timedelta = timedelta(hours=2)
    tell_client: bool = True
    autopilot_tiers: tuple[str, ...] = ()
    autopilot_before: timedelta = timedelta(minutes=3)
    week: tuple[tuple[Span, ...], ...] = ()
    holidays: frozenset[date] = frozenset()
    holiday_calendar: Path | None = None
    standards: Standards = field(default_factory=Standards)
    notifications_paused: bool = False
    warn_before_ack: timedelta = timedelta(minutes=2)
    warn_before_answer: timedelta = timedelta(hours=1)
    warn_before_promise: timedelta = timedelta(minutes=15)
    urgent_tiers: tuple[str, ...] = ("vip",)
    quiet_in_meetings: bool = True
    start_at_login: bool = False
    instance_setting: str = ""
    autopilot_instance: str = ""
    designated_instance: str = ""
    reply_template: str = "acknowledge"
    reply_margin: timedelta = timedelta(minutes=30)
    undo_delay: timedelta = timedelta(seconds=5)
    mail_window: timedelta = timedelta(days=30)
    share_titles: bool = False
    min_free: timedelta = timedelta(minutes=15)
    tentative_busy: bool = True
    prospects_enabled: bool = True
    internal_domains: tuple[str, ...] = ()
    prospects_apart: bool = False
    accounts: tuple[Account, ...] = ()
    calendars: tuple[CalendarSource, ...] = ()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.user.timezone) if self.user.timezone else system_zone()

    @property
    def hours(self) -> WorkingHours:
        return WorkingHours(self.zone, self.week or _default_week(), self.holidays)

    @property
    def instance(self) -> str:
        """This installation's id among the instances sharing a mailbox."""
        return self.instance_setting or default_instance()

    @property
    def assistants(self) -> tuple[Assistant, ...]:
        """[assistant] (the usual single one) first, then each [[assistants]] entry."""
        first = ((Assistant(self.assistant_name, self.assistant_address),)
                 if self.assistant_address else ())
        return first + self.more_assistants


def _default_week() -> tuple[tuple[Span, ...], ...]:
    return tuple(parse_spans(SCHEMA["hours"][d].default) for d in WEEKDAYS)


def system_zone() -> ZoneInfo:
    """The system's zone from /etc/localtime or TZ; UTC when it cannot be told."""
    import os

    name = os.environ.get("TZ", "").lstrip(":")
    if not name:
        try:
            target = Path("/etc/localtime").resolve()
            name = str(target).split("zoneinfo/", 1)[1] if "zoneinfo/" in str(target) else ""
        except OSError:
            name = ""
    try:
        return ZoneInfo(name) if name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


class _Reader:
    """Walks the parsed file, collecting every problem instead of stopping at the first."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def section(self, where: str, data: object, schema: Mapping[str, Option[Any]]
                ) -> dict[str, Any]:
        if not isinstance(data, Mapping):
            self.problems.append(f"[{where}] must be a table")
            data = {}
        out: dict[str, Any] = {}
        for key in data:
            if key not in schema:
                self.unknown(f"{where}.{key}", key, schema)
        for key, option in schema.items():
            raw = data.get(key, option.default)
            if raw is None:
                if key in data:
                    self.problems.append(f"{where}.{key}: must not be empty")
                out[key] = None
                continue
            try:
                out[key] = option.parse(raw)
            except _Bad as exc:
                self.problems.append(f"{where}.{key}: {exc}")
                out[key] = option.parse(option.default) if option.default is not None else None
        return out

    def unknown(self, full: str, key: str, known: Mapping[str, object]) -> None:
        close = difflib.get_close_matches(key, list(known), n=1)
        hint = f' (did you mean "{close[0]}"?)' if close else ""
        self.problems.append(f"{full}: unknown setting{hint}")


def settings_from(data: Mapping[str, Any], path: Path) -> Settings:
    reader = _Reader()
    known_sections = {*SCHEMA, "standards", "accounts", "calendars", "assistants"}
    for name in data:
        if name not in known_sections:
            reader.unknown(name, name, dict.fromkeys(known_sections))
    parsed = {name: reader.section(name, data.get(name, {}), schema)
              for name, schema in SCHEMA.items()}
    standards = _standards(reader, data.get("standards", {}))
    accounts: list[Account] = []
    for i, raw in enumerate(_list(reader, data, "accounts")):
        account = _account(reader, i, raw)
        if account is not None:
            if any(a.name == account.name for a in accounts):
                reader.problems.append(f"accounts[{i}].name: {account.name!r} is used twice;"
                                       " give each account its own name")
            accounts.append(account)
    calendars = []
    for i, raw in enumerate(_list(reader, data, "calendars")):
        found = _calendar(reader, i, raw)
        if found is not None:
            calendars.append(found)
    assistants = []
    for i, raw in enumerate(_list(reader, data, "assistants")):
        entry = reader.section(f"assistants[{i}]", raw, ASSISTANT_SCHEMA)
        if not entry["address"]:
            reader.problems.append(f"assistants[{i}].address: an assistant needs an address")
            continue
        assistants.append(Assistant(entry["name"] or entry["address"], entry["address"]))
    hours = parsed["hours"]
    week = tuple(hours[d] or () for d in WEEKDAYS)
    if not any(week):
        reader.problems.append("hours: no day has opening hours; set e.g."
                               ' monday = "09:00-17:00"')
    if reader.problems:
        raise ConfigError(path, reader.problems)
    user = parsed["user"]
    return Settings(
        user=UserSettings(user["name"], tuple(a.lower() for a in user["addresses"]),
                          user["timezone"], user["phone_region"]),
        assistant_name=parsed["assistant"]["name"],
        assistant_address=parsed["assistant"]["address"],
        more_assistants=tuple(assistants),
        delegation_due=parsed["delegation"]["due"],
        tell_client=parsed["delegation"]["tell_client"],
        autopilot_tiers=tuple(parsed["autopilot"]["tiers"]),
        autopilot_before=parsed["autopilot"]["before"],
        week=week,
        holidays=hours["holidays"],
        holiday_calendar=hours["holiday_calendar"],
        standards=standards,
        notifications_paused=parsed["notifications"]["paused"],
        warn_before_ack=parsed["notifications"]["warn_before_ack"],
        warn_before_answer=parsed["notifications"]["warn_before_answer"],
        warn_before_promise=parsed["notifications"]["warn_before_promise"],
        urgent_tiers=parsed["notifications"]["urgent_tiers"],
        quiet_in_meetings=parsed["notifications"]["quiet_in_meetings"],
        start_at_login=parsed["desktop"]["start_at_login"],
        instance_setting=parsed["sharing"]["instance"],
        autopilot_instance=parsed["sharing"]["autopilot_instance"],
        designated_instance=parsed["sharing"]["designated_instance"],
        reply_template=parsed["replies"]["template"],
        reply_margin=parsed["replies"]["margin"],
        undo_delay=timedelta(seconds=parsed["replies"]["undo_seconds"]),
        mail_window=parsed["mail"]["window"],
        share_titles=parsed["calendar"]["share_titles"],
        min_free=parsed["calendar"]["min_free"],
        tentative_busy=parsed["calendar"]["tentative_busy"],
        prospects_enabled=parsed["prospects"]["enabled"],
        internal_domains=tuple(d.strip().lstrip("@").lower()
                               for d in parsed["prospects"]["internal_domains"]),
        prospects_apart=parsed["prospects"]["show_apart"],
        accounts=tuple(accounts),
        calendars=tuple(calendars),
    )


def _account(reader: _Reader, i: int, raw: object) -> Account | None:
    where = f"accounts[{i}]"
    acc = reader.section(where, raw, ACCOUNT_SCHEMA)
    given = set(raw) if isinstance(raw, Mapping) else set()
    kind = acc.get("kind")
    if kind not in ("maildir", "imap"):
        reader.problems.append(f'{where}.kind: {kind!r} is not known; use "maildir" or "imap"')
        return None
    foreign = sorted(given & (IMAP_KEYS if kind == "maildir" else MAILDIR_KEYS - {"outbox"}))
    for key in foreign:
        reader.problems.append(f"{where}.{key}: not a setting of a {kind} account")
    if kind == "maildir":
        if acc.get("inbox") is None:
            reader.problems.append(f"{where}.inbox: a Maildir account needs an inbox path")
            return None
        return MaildirAccount(acc["name"] or f"maildir{i + 1}", acc["inbox"], acc["sent"],
                              acc["outbox"], acc["address"], _smtp(reader, where, acc, ""))
    missing = [k for k in ("host", "username") if not acc.get(k)]
    for key in missing:
        reader.problems.append(f"{where}.{key}: an IMAP account needs its {key}")
    security = acc["security"]
    if security == "plain" and acc["host"] and not is_loopback(acc["host"]):
        reader.problems.append(
            f'{where}.security: "plain" sends the password unencrypted and is only allowed'
            ' to this machine (localhost); use "tls" or "starttls"')
        return None
    if missing:
        return None
    if not acc["folders"]:
        reader.problems.append(f'{where}.folders: name at least one folder, e.g. ["INBOX"]')
        return None
    port = acc["port"] or (993 if security == "tls" else 143)
    return ImapAccount(acc["name"] or f"imap{i + 1}", acc["host"], port, security,
                       acc["username"], acc["address"], acc["folders"], acc["sent_folder"],
                       acc["ca_file"], acc["poll_every"],
                       _smtp(reader, where, acc, acc["username"]))


def _smtp(reader: _Reader, where: str, acc: Mapping[str, Any],
          username: str) -> SmtpServer | None:
    host = acc["smtp_host"].strip()
    if not host:
        return None
    security = acc["smtp_security"]
    if security == "plain" and not is_loopback(host):
        reader.problems.append(
            f'{where}.smtp_security: "plain" is only allowed to this machine (localhost);'
            ' use "starttls" or "tls"')
        return None
    port = acc["smtp_port"] or SMTP_DEFAULT_PORTS[security]
    return SmtpServer(host, port, security, acc["smtp_username"] or username,
                      acc["smtp_ca_file"], acc["sent_copy"])


def _calendar(reader: _Reader, i: int, raw: object) -> CalendarSource | None:
    where = f"calendars[{i}]"
    cal = reader.section(where, raw, CALENDAR_SCHEMA)
    kind = cal["kind"]
    name = cal["name"] or f"calendar{i + 1}"
    if kind == "ics":
        if cal.get("path") is None:
            reader.problems.append(f"{where}.path: a calendar needs a path")
            return None
        return CalendarSource(name, cal["path"])
    if kind not in ("caldav", "url"):
        reader.problems.append(f'{where}.kind: {kind!r} is not known; use "ics", "caldav"'
                               ' or "url"')
        return None
    url = cal["url"].strip()
    from urllib.parse import urlsplit

    parts = urlsplit(url.replace("webcal://", "https://", 1))
    if parts.scheme not in ("https", "http") or not parts.hostname:
        reader.problems.append(f'{where}.url: write the address like "https://cal.example.com/"')
        return None
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        reader.problems.append(f"{where}.url: http:// is only allowed to this machine; use"
                               " https://")
        return None
    if kind == "caldav" and not cal["username"]:
        reader.problems.append(f"{where}.username: a CalDAV account needs its username")
        return None
    return CalendarSource(name, None, kind, url, cal["username"], cal["calendars"],
                          cal["ca_file"], cal["refresh_every"])


def _list(reader: _Reader, data: Mapping[str, Any], name: str) -> list[Any]:
    value = data.get(name, [])
    if not isinstance(value, list):
        reader.problems.append(f"{name}: write each entry as a [[{name}]] table")
        return []
    return value


def _standards(reader: _Reader, data: object) -> Standards:
    """[standards.default], [standards.TIER] and [standards.TIER.email|call]."""
    if not isinstance(data, Mapping):
        reader.problems.append("[standards] must be a table")
        return Standards()

    def one(where: str, raw: Mapping[str, Any], base: Standard) -> Standard | None:
        fields = {k: v for k, v in raw.items() if not isinstance(v, Mapping)}
        merged = {
            "ack_within": format_duration(base.ack_within),
            "answer_within": format_duration(base.answer_within),
            "counting": base.counting.value,
            "ack_goal": f"{base.ack_goal * 100:g}%",
            "answer_goal": f"{base.answer_goal * 100:g}%",
            **fields,
        }
        values = reader.section(where, merged, STANDARD_SCHEMA)
        try:
            return Standard(values["ack_within"], values["answer_within"], values["counting"],
                            values["ack_goal"], values["answer_goal"])
        except ValueError as exc:
            reader.problems.append(f"{where}: {exc}")
            return None

    default = DEFAULT_STANDARD
    raw_default = data.get("default", {})
    if isinstance(raw_default, Mapping):
        default = one("standards.default", raw_default, DEFAULT_STANDARD) or default
    by_tier: dict[str, Standard] = {}
    by_channel: dict[tuple[str, Channel], Standard] = {}
    for tier, raw in data.items():
        if not isinstance(raw, Mapping):
            reader.problems.append(f"standards.{tier}: must be a table like [standards.{tier}]")
            continue
        base = default
        if tier != "default":
            tier_standard = one(f"standards.{tier}", raw, default)
            if tier_standard:
                by_tier[tier] = base = tier_standard
        for key, sub in raw.items():
            if not isinstance(sub, Mapping):
                continue
            if key not in {c.value for c in Channel}:
                reader.unknown(f"standards.{tier}.{key}", key, {c.value: 1 for c in Channel})
                continue
            found = one(f"standards.{tier}.{key}", sub, base)
            if found:
                by_channel[(tier, Channel(key))] = found
    return Standards(default, by_tier, by_channel)


def load(path: Path) -> Settings:
    """Settings from the file; a missing file means all defaults."""
    if not path.exists():
        return settings_from({}, path)
    try:
        document = tomlkit.parse(path.read_text(encoding="utf-8"))
    except tomlkit.exceptions.ParseError as exc:
        raise ConfigError(path, [f"not valid TOML: {exc}"]) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, [f"cannot read: {exc}"]) from exc
    return settings_from(document.unwrap(), path)


def default_text() -> str:
    """A commented settings file listing every option with its default."""
    lines = ["# Heard settings. Every key is optional; the values shown are the defaults.", ""]
    for section, options in SCHEMA.items():
        lines.append(f"[{section}]")
        for key, option in options.items():
            lines.append(f"# {option.help}")
            lines.append(f"{key} = {tomlkit.item(option.default).as_string()}")
        lines.append("")
    lines.append("# Response standards: [standards.default], per tier [standards.vip],")
    lines.append("# per tier and channel [standards.vip.call].")
    lines.append("[standards.default]")
    for key, option in STANDARD_SCHEMA.items():
        lines.append(f"# {option.help}")
        lines.append(f"{key} = {tomlkit.item(option.default).as_string()}")
    lines.append("")
    return "\n".join(lines)


class ConfigFile:
    """Edits heard.toml in place, keeping the user's comments and order."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self) -> tomlkit.TOMLDocument:
        if not self.path.exists():
            return tomlkit.parse(default_text())
        return tomlkit.parse(self.path.read_text(encoding="utf-8"))

    def _write(self, document: tomlkit.TOMLDocument) -> None:
        # Validate before writing, so a bad edit never replaces a good file.
        settings_from(document.unwrap(), self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".toml.tmp")
        tmp.write_text(tomlkit.dumps(document), encoding="utf-8")
        tmp.replace(self.path)

    def ensure(self) -> None:
        if not self.path.exists():
            self._write(self._read())

    def set(self, section: str, key: str, value: Any) -> None:
        """Set section.key; a dotted section ("standards.vip") is nested tables."""
        self.set_many([(section, key, value)])

    def set_many(self, changes: list[tuple[str, str, Any]],
                 drop: list[str] | None = None, dry_run: bool = False) -> None:
        """Several edits (and dotted tables to drop) at once: all are written, or none
        (ConfigError names every problem) — what a settings window's Save needs.
        `dry_run`: only check that they would be accepted."""
        document = self._read()
        for section in drop or ():
            *parents, last = section.split(".")
            table: Any = document
            for part in parents:
                table = table.get(part) if isinstance(table.get(part), Table) else None
                if table is None:
                    break
            if table is not None and last in table:
                del table[last]
        for section, key, value in changes:
            table = document
            for part in section.split("."):
                child = table.get(part)
                if not isinstance(child, Table):
                    child = tomlkit.table(is_super_table=False)
                    table[part] = child
                table = child
            table[key] = value
        if dry_run:
            settings_from(document.unwrap(), self.path)
            return
        self._write(document)

    def append(self, array: str, entry: Mapping[str, Any]) -> None:
        document = self._read()
        aot = document.get(array)
        if not isinstance(aot, AoT):
            aot = tomlkit.aot()
            document[array] = aot
        table = tomlkit.table()
        for k, v in entry.items():
            table[k] = v
        aot.append(table)
        self._write(document)

    def remove(self, array: str, name: str) -> bool:
        document = self._read()
        aot = document.get(array)
        if not isinstance(aot, AoT):
            return False
        kept = [t for t in aot if t.get("name") != name]
        if len(kept) == len(aot):
            return False
        if kept:
            new = tomlkit.aot()
            for t in kept:
                new.append(t)
            document[array] = new
        else:
            del document[array]
        self._write(document)
        return True
