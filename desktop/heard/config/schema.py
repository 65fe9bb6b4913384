"""Every option of heard.toml, declared once: how it is read, its default as the file
writes it, and a line of help. The [sections] are dataclasses whose fields are the options
(so a setting is read as `settings.notifications.warn_before_ack`, never by a string); the
tables that repeat ([[accounts]], [[calendars]], [[assistants]], [standards.*]) have their
own schemas, checked the same way."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Generic, TypeVar

from heard.config.values import (
    WEEKDAYS,
    format_duration,
    parse_addresses,
    parse_auth,
    parse_bool,
    parse_clock,
    parse_count,
    parse_counting,
    parse_dates,
    parse_domains,
    parse_duration,
    parse_instance,
    parse_locale,
    parse_open_app,
    parse_optional_path,
    parse_path,
    parse_port,
    parse_region,
    parse_security,
    parse_sent_copy,
    parse_share,
    parse_smtp_security,
    parse_spans,
    parse_str,
    parse_str_list,
    parse_undo,
    parse_zone,
)
from heard.domain.clock import Span
from heard.domain.standards import DEFAULT_STANDARD
from heard.system.oauth import Provider

T = TypeVar("T")


@dataclass(frozen=True)
class Option(Generic[T]):
    parse: Callable[[object], T]
    default: object          # as the file writes it ("2m", not a timedelta)
    help: str


def option(parse: Callable[[object], T], default: object, help: str) -> T:
    """A field of a settings section: its typed default is the written one, parsed."""
    declared: T = field(default=parse(default), metadata={"option": Option(parse, default, help)})
    return declared


def options_of(section: type) -> dict[str, Option[Any]]:
    """A section's options by key, in the order they are declared."""
    return {f.name: f.metadata["option"] for f in fields(section)}


# -- the [sections] ---------------------------------------------------------------------------

@dataclass(frozen=True)
class UserSettings:
    name: str = option(parse_str, "", "your name, as it appears in replies")
    addresses: tuple[str, ...] = option(parse_addresses, [],
                                        "your own addresses (mail from them is yours)")
    timezone: str = option(parse_zone, "", 'your time zone, e.g. "Europe/Berlin"; "" = system')
    phone_region: str = option(parse_region, "US",
                               "country for phone numbers written without a +code")


@dataclass(frozen=True)
class AssistantSettings:
    name: str = option(parse_str, "", "your assistant's name, used in delegation replies")
    address: str = option(parse_str, "", "your assistant's address")


@dataclass(frozen=True)
class DelegationSettings:
    due: timedelta = option(parse_duration, "2h", "how long an assistant has to take a"
                            " delegated matter up before Heard reminds you")
    tell_client: bool = option(parse_bool, True, "tell the client who will help (never for"
                               " clients whose preference says no assistant)")


@dataclass(frozen=True)
class AutopilotSettings:
    tiers: tuple[str, ...] = option(parse_str_list, [], "tiers Heard acknowledges on its own"
                                    ' while you are in a meeting, e.g. ["vip"]; [] = never')
    before: timedelta = option(parse_duration, "3m", "how long before the acknowledgement"
                               " deadline the automatic acknowledgement goes out")
    authserv_ids: tuple[str, ...] = option(
        parse_str_list, [], "the names your own mail server signs its Authentication-Results"
        ' with (e.g. ["mx.example.com"]): the autopilot answers only mail they show'
        " passed DKIM or DMARC for the client's domain (or from clients marked as not"
        " signing)")
    per_client_per_day: int = option(parse_count, 2, "at most this many automatic replies"
                                     " to one client in a day")
    per_hour: int = option(parse_count, 10, "at most this many automatic replies in an hour,"
                           " all clients together")


def _day(name: str, default: str) -> tuple[Span, ...]:
    return option(parse_spans, default,
                  f'opening hours on {name.title()}, e.g. "09:00-12:00, 13:00-17:00"')


@dataclass(frozen=True)
class OpeningHours:
    """[hours]: when the office is open (deadlines in working hours count only these)."""

    monday: tuple[Span, ...] = _day("monday", "09:00-17:00")
    tuesday: tuple[Span, ...] = _day("tuesday", "09:00-17:00")
    wednesday: tuple[Span, ...] = _day("wednesday", "09:00-17:00")
    thursday: tuple[Span, ...] = _day("thursday", "09:00-17:00")
    friday: tuple[Span, ...] = _day("friday", "09:00-17:00")
    saturday: tuple[Span, ...] = _day("saturday", "")
    sunday: tuple[Span, ...] = _day("sunday", "")
    holidays: frozenset[date] = option(parse_dates, [],
                                       "days you are closed, e.g. [2026-12-25]")
    holiday_calendar: Path | None = option(
        parse_optional_path, "", "an .ics file of holidays (its all-day events close the"
        " office), e.g. a public-holiday calendar")

    @property
    def week(self) -> tuple[tuple[Span, ...], ...]:
        """Monday to Sunday."""
        return tuple(getattr(self, day) for day in WEEKDAYS)


@dataclass(frozen=True)
class NotificationSettings:
    paused: bool = option(parse_bool, False, "true: the tray counts but shows no toasts")
    warn_before_ack: timedelta = option(parse_duration, "2m",
                                        "warn this long before an acknowledgement is due")
    warn_before_answer: timedelta = option(parse_duration, "1h",
                                           "warn this long before an answer is due")
    warn_before_promise: timedelta = option(parse_duration, "15m",
                                            "warn this long before a promise is due")
    urgent_tiers: tuple[str, ...] = option(parse_str_list, ["vip"], "tiers whose deadlines"
                                           " warn outside working hours too")
    quiet_in_meetings: bool = option(parse_bool, True, "while your calendar says busy, only"
                                     " urgent tiers and deadlines about to pass pop up; the"
                                     " rest are summed up when the meeting ends")


@dataclass(frozen=True)
class SharingSettings:
    instance: str = option(parse_instance, "", "this installation's short name among your"
                           " devices and your assistant's (1-12 letters or digits, e.g."
                           ' "desk", "lap", "asst"); "" = from the computer\'s name')
    autopilot_instance: str = option(parse_instance, "", "the one instance that may send"
                                     " automatic acknowledgements; \"\" = any instance with"
                                     " the autopilot on")
    designated_instance: str = option(parse_instance, "", "where the mail server keeps no"
                                      " keywords (Outlook.com, Yahoo): the instance that"
                                      " sends for all the others; \"\" = this one")


@dataclass(frozen=True)
class DesktopSettings:
    start_at_login: bool = option(parse_bool, False,
                                  "start Heard when you log in (an XDG autostart entry)")


@dataclass(frozen=True)
class ProspectSettings:
    enabled: bool = option(parse_bool, True, "notice new people who may be clients (first"
                           " messages, website forms, unknown callers)")
    internal_domains: tuple[str, ...] = option(
        parse_domains, [], "your organisation's domains: mail from them is never a prospect"
        " (your own address's domain counts already)")
    show_apart: bool = option(parse_bool, False,
                              "list prospects apart from clients in the tooltip and window")


@dataclass(frozen=True)
class CalendarSettings:
    share_titles: bool = option(parse_bool, False,
                                "true: meeting titles may appear in replies and `heard busy`")
    min_free: timedelta = option(parse_duration, "15m",
                                 "the shortest free slot that counts as free, e.g. \"15m\"")
    tentative_busy: bool = option(parse_bool, True, "true: tentative meetings count as busy")


@dataclass(frozen=True)
class MailSettings:
    window: timedelta = option(parse_duration, "30d", "how far back a first look at a"
                               " mailbox goes, e.g. \"30d\"")


@dataclass(frozen=True)
class ReplySettings:
    template: str = option(parse_str, "acknowledge", "the default acknowledgement template")
    margin: timedelta = option(parse_duration, "30m",
                               "time promised after the next free slot, e.g. \"30m\"")
    undo_seconds: int = option(parse_undo, 5, "seconds a reply sent from the window can be"
                               " taken back (Undo) before it goes out; 0 = at once")

    @property
    def undo_delay(self) -> timedelta:
        return timedelta(seconds=self.undo_seconds)


def _offer_after(value: object) -> int:
    """"3 working days" -> 3; "" or "off" -> 0 (off)."""
    from heard.config.values import Bad
    from heard.domain.followups import parse_working_days

    text = str(value).strip().lower() if isinstance(value, str) else value
    if text in ("", "off", 0):
        return 0
    try:
        return parse_working_days(str(text))
    except ValueError as exc:
        raise Bad(f'{exc}, or "" (off)') from exc


@dataclass(frozen=True)
class AbsenceSettings:
    calendar_tiers: tuple[str, ...] = option(
        parse_str_list, [], "while your calendar says out of the office (an OOF event, an"
        " all-day event, a trip), these tiers get the absence reply, once per client;"
        ' [] = off, ["*"] = every tier (`heard away` sets absences of its own)')
    template: str = option(parse_str, "absence", "the template of the absence reply")
    deputy: str = option(parse_str, "", "who stands in for you while you are away (named in"
                         " the absence reply as {deputy})")


@dataclass(frozen=True)
class AfterHoursSettings:
    tiers: tuple[str, ...] = option(parse_str_list, [], "outside your [hours], these tiers"
                                    " get an acknowledgement once per client per closed"
                                    ' evening or weekend, e.g. ["vip"]; [] = off')
    template: str = option(parse_str, "after-hours", "the template of the after-hours reply")


@dataclass(frozen=True)
class FollowUpSettings:
    offer_after: int = option(_offer_after, "", "offer a follow-up on a question you sent"
                              " a client (a ? in your own words) when no reply came in this"
                              ' many working days, e.g. "3 working days"; "" = off')


@dataclass(frozen=True)
class LocaleSettings:
    """[locale]: how times, dates and weekdays are written, and the language of the
    shipped templates for clients who have none of their own."""

    language: str = option(parse_locale, "", 'your language, e.g. "de" or "en_GB"; "" = the'
                           " system's (LC_ALL, LC_TIME, LANG)")
    time_format: str = option(parse_clock, "auto", '"24h", "12h", or "auto" (the custom of'
                              " your language)")


@dataclass(frozen=True)
class OpenSettings:
    """[open]: where a client's message opens for the real answer (the quick-reply
    window's Open in mail, Ctrl+O, and the toasts)."""

    app: str = option(parse_open_app, "auto", '"auto" (Gmail or Outlook on the web for'
                      ' their accounts, else your mail program), "mail-client" (your mail'
                      ' program, by Message-ID), "thunderbird", "gmail-web", "outlook-web"'
                      ' or "folder" (the folder the message is in)')


# Each [section] of the file, and where Settings keeps it (the file's [hours] are
# settings.opening: settings.hours is the working-hours clock made from them).
SECTIONS: Mapping[str, tuple[str, type]] = {
    "user": ("user", UserSettings),
    "assistant": ("assistant", AssistantSettings),
    "delegation": ("delegation", DelegationSettings),
    "autopilot": ("autopilot", AutopilotSettings),
    "hours": ("opening", OpeningHours),
    "notifications": ("notifications", NotificationSettings),
    "sharing": ("sharing", SharingSettings),
    "desktop": ("desktop", DesktopSettings),
    "prospects": ("prospects", ProspectSettings),
    "calendar": ("calendar", CalendarSettings),
    "mail": ("mail", MailSettings),
    "replies": ("replies", ReplySettings),
    "open": ("open_in", OpenSettings),
    "followups": ("followups", FollowUpSettings),
    "absence": ("absence", AbsenceSettings),
    "afterhours": ("afterhours", AfterHoursSettings),
    "locale": ("locale", LocaleSettings),
}
SCHEMA: Mapping[str, Mapping[str, Option[Any]]] = {
    name: options_of(section) for name, (_attr, section) in SECTIONS.items()}


# -- the tables that repeat -------------------------------------------------------------------

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
    "auth": Option(parse_auth, "password", '"password" (kept in the keyring) or "oauth2"'
                   " (sign in with the provider; the sign-in is kept in the keyring)"),
    "provider": Option(parse_str, "", 'oauth2: the [oauth.NAME] to sign in with, e.g.'
                       ' "microsoft" or "google"'),
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
                       "ca_file", "poll_every", "auth", "provider"})
CALENDAR_SCHEMA: Mapping[str, Option[Any]] = {
    "name": Option(parse_str, "", "a short name for the calendar"),
    "kind": Option(parse_str, "ics", '"ics" (a file or a folder of .ics files), "caldav"'
                   ' (a CalDAV account), "url" (an https .ics subscription) or "graph"'
                   ' (Microsoft 365 through Microsoft Graph, with the sign-in of username)'),
    "path": Option(parse_path, None, "ics: the .ics file or folder of .ics files"),
    "url": Option(parse_str, "", "caldav: the server address; url: the .ics address"),
    "username": Option(parse_str, "", "caldav: the login name (the password is in the keyring)"),
    "calendars": Option(parse_str_list, [], "caldav: the addresses of the calendars that"
                        " count (`heard account add caldav` fills them in)"),
    "ca_file": Option(parse_optional_path, "", "a CA file for a server with its own authority"),
    "refresh_every": Option(parse_duration, "5m", "how often a remote calendar is asked for"
                            " changes (also at each meeting's start and end)"),
    "auth": Option(parse_auth, "password", 'caldav: "password" or "oauth2" (the sign-in of'
                   " the mail account with the same username and provider)"),
    "provider": Option(parse_str, "", 'caldav with oauth2: the [oauth.NAME], e.g. "google"'),
}
# [oauth.NAME]: where and as whom Heard signs in to a provider (OAuth2, a public client).
# Microsoft and Google are known; the file may change their values or declare others.
OAUTH_SCHEMA: Mapping[str, Option[Any]] = {
    "client_id": Option(parse_str, "", "the application (client) id your organisation"
                        " registered for Heard"),
    "client_secret": Option(parse_str, "", "only for providers whose desktop clients have"
                            " one that is not secret (Google)"),
    "authorize_url": Option(parse_str, "", "the authorization endpoint"),
    "token_url": Option(parse_str, "", "the token endpoint"),
    "device_url": Option(parse_str, "", "the device authorization endpoint (sign-in on a"
                         " terminal)"),
    "revoke_url": Option(parse_str, "", "the revocation endpoint (signing out); may be empty"),
    "scopes": Option(parse_str_list, [], "the scopes asked for at sign-in"),
    "title": Option(parse_str, "", "the provider's name for people"),
}
_MS = "https://login.microsoftonline.com/common/oauth2/v2.0"
OAUTH_PROVIDERS: Mapping[str, Mapping[str, object]] = {
    "microsoft": {
        "title": "Microsoft", "authorize_url": f"{_MS}/authorize",
        "token_url": f"{_MS}/token", "device_url": f"{_MS}/devicecode",
        "scopes": ["https://outlook.office.com/IMAP.AccessAsUser.All",
                   "https://outlook.office.com/SMTP.Send", "offline_access"]},
    "google": {
        "title": "Google", "authorize_url": "https://accounts.google.com/o/oauth2/v2/auth",
        "token_url": "https://oauth2.googleapis.com/token",
        "device_url": "https://oauth2.googleapis.com/device/code",
        "revoke_url": "https://oauth2.googleapis.com/revoke",
        "scopes": ["https://mail.google.com/",
                   "https://www.googleapis.com/auth/calendar.readonly"]},
}


def provider_from(name: str, values: Mapping[str, Any]) -> Provider:
    """A provider from its parsed [oauth.NAME] values (those missing take their default)."""
    given = {key: values[key] if key in values else option.parse(option.default)
             for key, option in OAUTH_SCHEMA.items()}
    return Provider(name, **given)


def known_providers() -> dict[str, Provider]:
    """Microsoft and Google as Heard knows them, before the file changes anything."""
    return {name: provider_from(name, {k: OAUTH_SCHEMA[k].parse(v) for k, v in raw.items()})
            for name, raw in OAUTH_PROVIDERS.items()}


