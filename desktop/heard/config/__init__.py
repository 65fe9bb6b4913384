"""The settings file (heard.toml in the profile): the values it holds (values), every
option declared once (schema), the settings in force built from it (settings), reading it
with every problem named (load), writing it with the user's comments kept (file, editing),
and its layout versions (migrations). The profile's templates and voicemail/form patterns
have their own files (templates, patterns)."""

from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from heard.config.file import ConfigFile, default_text


def __getattr__(name: str) -> object:
    # The writing half (tomlkit, which keeps the user's comments) loads on first use:
    # reading the settings to start needs none of it (start-up time and RSS).
    if name in ("ConfigFile", "default_text"):
        from heard.config import file

        return getattr(file, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
