"""Reading heard.toml: every problem reported at once, each naming its key and the fix,
unknown keys named ("did you mean ...?"); a file written by an older Heard is brought up to
date first (heard.config.migrations)."""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from heard.config import migrations
from heard.config.schema import (
    ACCOUNT_SCHEMA,
    ASSISTANT_SCHEMA,
    CALENDAR_SCHEMA,
    IMAP_KEYS,
    MAILDIR_KEYS,
    OAUTH_PROVIDERS,
    OAUTH_SCHEMA,
    SECTIONS,
    SMTP_DEFAULT_PORTS,
    STANDARD_SCHEMA,
    Option,
    options_of,
    provider_from,
)
from heard.config.settings import (
    Account,
    Assistant,
    CalendarSource,
    ImapAccount,
    MaildirAccount,
    Settings,
    SmtpServer,
)
from heard.config.values import Bad, format_duration
from heard.domain.clients import Channel
from heard.domain.hosts import is_loopback
from heard.domain.standards import DEFAULT_STANDARD, Standard, Standards
from heard.system.oauth import Provider

CONFIG_NAME = "heard.toml"
# What may stand at the top of the file besides the [sections].
TOP_LEVEL = frozenset({"standards", "accounts", "calendars", "assistants", "oauth",
                       migrations.VERSION_KEY})


class ConfigError(ValueError):
    """One or more problems in the settings file; each names its key and the fix."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        super().__init__(f"{path}:\n" + "\n".join(f"  - {p}" for p in problems))
        self.path = path
        self.problems = problems


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
            except Bad as exc:
                self.problems.append(f"{where}.{key}: {exc}")
                out[key] = option.parse(option.default) if option.default is not None else None
        return out

    def unknown(self, full: str, key: str, known: Mapping[str, object]) -> None:
        close = difflib.get_close_matches(key, list(known), n=1)
        hint = f' (did you mean "{close[0]}"?)' if close else ""
        self.problems.append(f"{full}: unknown setting{hint}")


def settings_from(data: Mapping[str, Any], path: Path) -> Settings:
    """Settings from a parsed file (or part of one); ConfigError names every problem."""
    reader = _Reader()
    try:
        data = migrations.migrate(data)
    except migrations.TooNew as exc:
        raise ConfigError(path, [str(exc)]) from exc
    known = {*SECTIONS, *TOP_LEVEL}
    for name in data:
        if name not in known:
            reader.unknown(name, name, dict.fromkeys(known))
    sections = {attr: cls(**reader.section(name, data.get(name, {}), options_of(cls)))
                for name, (attr, cls) in SECTIONS.items()}
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
    oauth = _oauth(reader, data.get("oauth", {}))
    signing_in: list[tuple[str, ImapAccount | CalendarSource]] = [
        *((f"accounts[{i}]", a) for i, a in enumerate(accounts) if isinstance(a, ImapAccount)),
        *((f"calendars[{i}]", c) for i, c in enumerate(calendars))]
    for where, source in signing_in:
        if source.auth == "oauth2" and source.provider not in oauth:
            names = ", ".join(f'"{n}"' for n in oauth)
            reader.problems.append(f"{where}.provider: {source.provider!r} is not an [oauth]"
                                   f" provider; use one of {names}")
    # Each account signing in carries its provider's settings (the adapters need no more).
    accounts = [replace(a, oauth=oauth[a.provider]) if isinstance(a, ImapAccount)
                and a.auth == "oauth2" and a.provider in oauth else a for a in accounts]
    calendars = [replace(c, oauth=oauth[c.provider]) if c.auth == "oauth2"
                 and c.provider in oauth else c for c in calendars]
    if not any(sections["opening"].week):
        reader.problems.append("hours: no day has opening hours; set e.g."
                               ' monday = "09:00-17:00"')
    if reader.problems:
        raise ConfigError(path, reader.problems)
    return Settings(**sections, standards=standards, more_assistants=tuple(assistants),
                    accounts=tuple(accounts), calendars=tuple(calendars), oauth=oauth)


def _oauth(reader: _Reader, data: object) -> dict[str, Provider]:
    """The known providers (OAUTH_PROVIDERS), each changed by its [oauth.NAME] table, and
    the providers the file declares besides."""
    if not isinstance(data, Mapping):
        reader.problems.append("[oauth] must be a table of providers, e.g. [oauth.microsoft]")
        data = {}
    providers = {}
    for name in [*OAUTH_PROVIDERS, *(n for n in data if n not in OAUTH_PROVIDERS)]:
        raw = data.get(name, {})
        merged = {**OAUTH_PROVIDERS.get(name, {}),
                  **(raw if isinstance(raw, Mapping) else {})}
        values = reader.section(f"oauth.{name}", merged if isinstance(raw, Mapping) else raw,
                                OAUTH_SCHEMA)
        providers[name] = provider_from(name, values)
    return providers


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
    if acc["auth"] == "oauth2" and not acc["provider"]:
        reader.problems.append(f'{where}.provider: an oauth2 account names its provider,'
                               ' e.g. "microsoft" or "google"')
        return None
    return ImapAccount(acc["name"] or f"imap{i + 1}", acc["host"], port, security,
                       acc["username"], acc["address"], acc["folders"], acc["sent_folder"],
                       acc["ca_file"], acc["poll_every"],
                       _smtp(reader, where, acc, acc["username"]), acc["auth"],
                       acc["provider"])


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


# Microsoft Graph's address; a [[calendars]] entry of kind "graph" may name another (tests).
GRAPH_URL = "https://graph.microsoft.com/v1.0"


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
    if kind not in ("caldav", "url", "graph"):
        reader.problems.append(f'{where}.kind: {kind!r} is not known; use "ics", "caldav",'
                               ' "url" or "graph"')
        return None
    url = cal["url"].strip()
    if kind == "graph":
        # Microsoft 365's calendar through Microsoft Graph, read with the sign-in of
        # `username` at `provider` (the one its mail account made: they share it).
        if not cal["username"]:
            reader.problems.append(f"{where}.username: a graph calendar needs the login it"
                                   " signs in as (your Microsoft 365 address)")
            return None
        url = url or GRAPH_URL
        cal = {**cal, "auth": "oauth2", "provider": cal["provider"] or "microsoft"}
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
    if cal["auth"] == "oauth2" and (kind not in ("caldav", "graph") or not cal["provider"]):
        reader.problems.append(f'{where}.provider: only a caldav or graph calendar signs in'
                               ' with oauth2, and it names its provider, e.g. "google"')
        return None
    return CalendarSource(name, None, kind, url, cal["username"], cal["calendars"],
                          cal["ca_file"], cal["refresh_every"], cal["auth"], cal["provider"])


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
    # Read with the standard library's parser: tomlkit, which keeps comments for writing,
    # parses ten times slower and is not needed to start (start-up time and RSS).
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, [f"not valid TOML: {exc}"]) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, [f"cannot read: {exc}"]) from exc
    return settings_from(data, path)
