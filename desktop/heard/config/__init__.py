"""The settings file (heard.toml in the profile): the values it holds (values), every
option declared once (schema), the settings in force built from it (settings), reading it
with every problem named (load), writing it with the user's comments kept (file, editing),
and its layout versions (migrations). The profile's templates and voicemail/form patterns
have their own files (templates, patterns)."""

from heard.config.file import ConfigFile, default_text
from heard.config.load import CONFIG_NAME, ConfigError, load, settings_from
from heard.config.schema import SCHEMA, SECTIONS, STANDARD_SCHEMA, Option
from heard.config.settings import (
    Account,
    Assistant,
    CalendarSource,
    ImapAccount,
    MaildirAccount,
    Settings,
    SmtpServer,
)
from heard.config.values import (
    WEEKDAYS,
    default_instance,
    format_duration,
    parse_duration,
    parse_spans,
    system_zone,
)

__all__ = ["CONFIG_NAME", "SCHEMA", "SECTIONS", "STANDARD_SCHEMA", "WEEKDAYS", "Account",
           "Assistant", "CalendarSource", "ConfigError", "ConfigFile", "ImapAccount",
           "MaildirAccount", "Option", "Settings", "SmtpServer", "default_instance",
           "default_text", "format_duration", "load", "parse_duration", "parse_spans",
           "settings_from", "system_zone"]
