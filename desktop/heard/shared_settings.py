"""Settings every device of one mailbox must agree on, kept on the mail server.

The response standards (`[standards]`), the reply templates (templates.toml) and which
device sends for the others (`[sharing] designated_instance`, `autopilot_instance`) live in
IMAP METADATA where the server has it, else in a settings message in the `Heard` folder
(heard.mail.shared_state_fallback). Each write is a new version; the last writer wins and
a conflict is reported, never silent: what was replaced is kept in
`shared-settings-replaced.json` in the profile, so nothing is lost.

Each device remembers the version it last agreed with and a digest of its own values at
that moment. A sync compares the three:
- the server moved and this device did not: take the server's values;
- this device changed (the settings window, or an edit of heard.toml) and the server did
  not: publish them;
- both changed: the later change wins (the server's write time against the time the
  local files were written), and the loser is reported and kept aside.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tomlkit
import tomlkit.exceptions

from heard import config
from heard.config import ConfigError, ConfigFile, ImapAccount, Settings
from heard.domain.clock import Clock
from heard.domain.templates import TemplateError
from heard.paths import Profile
from heard.store import Store
from heard.template_files import default_templates, load_templates

if TYPE_CHECKING:
    from heard.mail.imap import Connection
    from heard.mail.shared_state_fallback import SharedSettings
    from heard.sharing import Sharing

log = logging.getLogger(__name__)

STATE_KEY = "shared-settings"
REPLACED_FILE = "shared-settings-replaced.json"
SHARED_SHARING_KEYS = ("designated_instance", "autopilot_instance")
# A quiet mailbox still hears of another device's change within this long (the settings
# window's Save and `heard sharing sync` publish at once).
EVERY = timedelta(minutes=5)


@dataclass(frozen=True)
class SharedStatus:
    """What `heard sharing` and the settings window show."""

    account: str | None            # the account that holds them; None: nowhere to share
    version: int = 0
    written_by: str = ""
    written_at: datetime | None = None
    where: str = ""                # "metadata" | "message" | ""
    checked_at: datetime | None = None
    action: str = ""               # what the last sync did: none|published|applied|kept
    conflict: str = ""             # plain words, "" when none
    conflict_at: datetime | None = None
    error: str = ""                # why the last sync could not run, "" when it ran

    def describe(self, zone: tzinfo) -> str:
        """In words, for `heard sharing` and the settings window."""
        if self.account is None:
            return "not shared (no IMAP account)"
        if not self.version:
            return f"not agreed yet on {self.account}" + (
                "" if self.checked_at else " (run `heard sharing sync`)")
        when = f" at {self.written_at.astimezone(zone):%a %d %b %H:%M}" \
            if self.written_at else ""
        where = {"metadata": "IMAP METADATA", "message": "a message in the Heard folder"
                 }.get(self.where, self.where)
        text = (f"version {self.version}, written by {self.written_by!r}{when}, kept in"
                f" {where} of {self.account}")
        if self.conflict:
            text += f"\n  Conflict: {self.conflict}"
        if self.error:
            text += f"\n  Problem: {self.error}"
        return text

    def to_json(self) -> dict[str, Any]:
        def at(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {"account": self.account, "version": self.version,
                "written_by": self.written_by or None, "written_at": at(self.written_at),
                "where": self.where or None, "checked_at": at(self.checked_at),
                "action": self.action or None, "conflict": self.conflict or None,
                "conflict_at": at(self.conflict_at), "error": self.error or None}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SharedStatus:
        def at(value: object) -> datetime | None:
            return datetime.fromisoformat(value) if isinstance(value, str) else None

        return cls(data.get("account"), int(data.get("version") or 0),
                   str(data.get("written_by") or ""), at(data.get("written_at")),
                   str(data.get("where") or ""), at(data.get("checked_at")),
                   str(data.get("action") or ""), str(data.get("conflict") or ""),
                   at(data.get("conflict_at")), str(data.get("error") or ""))


# -- this device's values -----------------------------------------------------------------

def local_values(profile: Profile) -> dict[str, Any]:
    """The shared part of this device's settings, as plain JSON-able values."""
    data = _toml(profile.config)
    sharing = data.get("sharing")
    sharing = sharing if isinstance(sharing, dict) else {}
    standards = data.get("standards")
    standards = standards if isinstance(standards, dict) else {}
    return {"standards": standards,
            "sharing": {k: str(sharing.get(k, "")) for k in SHARED_SHARING_KEYS},
            "templates": _toml(profile.templates)}


def digest(values: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True, ensure_ascii=True,
                                     default=str).encode()).hexdigest()[:32]


def _toml(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        return dict(tomlkit.parse(path.read_text(encoding="utf-8")).unwrap())
    except (tomlkit.exceptions.ParseError, OSError, UnicodeDecodeError):
        return {}


def _written_at(profile: Profile) -> datetime | None:
    times = [p.stat().st_mtime for p in (profile.config, profile.templates) if p.exists()]
    return datetime.fromtimestamp(max(times), UTC) if times else None


def apply(profile: Profile, values: Mapping[str, Any]) -> None:
    """Make this device's files say `values`: heard.toml's [standards] and the two
    [sharing] keys, and templates.toml. Checked first: a value this version of Heard
    cannot read raises ConfigError / TemplateError and changes nothing."""
    standards = values.get("standards")
    sharing = values.get("sharing")
    templates = values.get("templates")
    if not isinstance(standards, dict) or not isinstance(sharing, dict) \
            or not isinstance(templates, dict):
        raise ConfigError(profile.config, ["the shared settings miss standards, sharing or"
                                           " templates"])
    full = _templates_over_defaults(templates, profile)
    changes: list[tuple[str, str, Any]] = [("sharing", k, str(sharing.get(k, "")))
                                           for k in SHARED_SHARING_KEYS]
    for section, key, value in _flatten("standards", standards):
        changes.append((section, key, value))
    # Both files are checked before either is written (ConfigFile validates the whole
    # heard.toml; the templates were parsed above).
    file = ConfigFile(profile.config)
    file.set_many(changes, drop=["standards"])
    from heard.template_files import write_templates

    write_templates(profile.templates, full)


def _templates_over_defaults(templates: Mapping[str, Any], profile: Profile
                             ) -> dict[str, tuple[str, str, str]]:
    text = tomlkit.dumps(templates)
    from heard.template_files import parse_templates

    parsed = parse_templates(text, "the shared templates")
    full = {n: (t.subject, t.body, t.promise) for n, t in default_templates().items()}
    full.update({n: (t.subject, t.body, t.promise) for n, t in parsed.items()})
    del profile   # the profile's own templates are replaced, not merged
    return full


def _flatten(prefix: str, table: Mapping[str, Any]) -> list[tuple[str, str, Any]]:
    out: list[tuple[str, str, Any]] = []
    for key, value in table.items():
        if isinstance(value, dict):
            if not value:
                out.append((prefix, key, tomlkit.table()))
            out += _flatten(f"{prefix}.{key}", value)
        else:
            out.append((prefix, key, value))
    return out


# -- the sync -----------------------------------------------------------------------------

class SharedSettingsSync:
    def __init__(self, profile: Profile, store: Store, clock: Clock,
                 settings: Callable[[], Settings], sharing: Callable[[], Sharing]) -> None:
        self.profile = profile
        self.store = store
        self.clock = clock
        self._settings = settings
        self._sharing = sharing
        self._acted = False

    def status(self) -> SharedStatus:
        text = self.store.state(STATE_KEY)
        if text:
            try:
                return SharedStatus.from_json(json.loads(text))
            except (ValueError, TypeError):
                log.warning("the remembered shared-settings state is unreadable; starting over")
        account = self.account()
        return SharedStatus(account.name if account else None)

    def account(self) -> ImapAccount | None:
        """The account that holds the shared settings: the first IMAP account."""
        return next((a for a in self._settings().accounts if isinstance(a, ImapAccount)),
                    None)

    def due(self) -> bool:
        checked = self.status().checked_at
        return checked is None or self.clock.now() - checked >= EVERY

    def sync(self, publish: bool = False, push: bool = False) -> SharedStatus:
        """Agree with the server (see the module's doc). `publish`: the user just saved
        here, so a change of this device's shared values is the newest whatever the
        times say (a device that never agreed before takes the shared ones all the same);
        `push`: this device's values replace the shared ones, changed or not. Returns the
        new status (also remembered); a server that cannot be reached leaves everything as
        it is and says why in `error`."""
        from heard.mail.imap import ImapError

        account = self.account()
        before = self.status()
        self._acted = publish or push   # the user acted: an old conflict has been seen
        if account is None:
            # Nothing to share with: not a problem, a Maildir setup is single-device.
            return self._remember(SharedStatus(None, checked_at=self.clock.now(),
                                               action="none"))
        try:
            return self._sharing().using(
                account, lambda conn: self._sync(conn, account, before, publish, push))
        except ImapError as exc:
            return self._remember(_replace(before, account=account.name,
                                           checked_at=self.clock.now(),
                                           error=f"{account.name}: {exc.message}"))
        except (ConfigError, TemplateError) as exc:   # this device's own files are broken
            problem = "; ".join(exc.problems) if isinstance(exc, ConfigError) else str(exc)
            return self._remember(_replace(
                before, account=account.name, checked_at=self.clock.now(),
                error=f"this device's settings cannot be shared until fixed: {problem}"))

    def _sync(self, conn: Connection, account: ImapAccount, before: SharedStatus,
              publish: bool, push: bool) -> SharedStatus:
        from heard.mail import shared_state_fallback as fb

        now = self.clock.now()
        remote = fb.read_settings(conn)
        mine = local_values(self.profile)
        known = self._known_digest()
        fresh_device = before.version == 0 or known is None or before.account != account.name
        changed_here = known is not None and digest(mine) != known
        moved_there = remote.version > before.version or remote.version < before.version

        if remote.version == 0 or push:
            return self._publish(conn, account, mine, remote.version, now)
        if fresh_device:
            # A device joining takes the agreed settings; its own go aside, not lost.
            if digest(mine) != digest(dict(remote.values)):
                return self._take(account, remote, mine, now, conflict=(
                    f"this device took the shared settings of '{remote.written_by or '?'}'"
                    f" (version {remote.version}); its own were kept in {REPLACED_FILE}"))
            return self._agree(account, remote, mine, now, "none")
        if not moved_there:
            if changed_here or (publish and digest(mine) != digest(dict(remote.values))):
                return self._publish(conn, account, mine, remote.version, now)
            return self._agree(account, remote, mine, now, "none")
        if not changed_here:   # (a Save that changed nothing shared publishes nothing)
            return self._take(account, remote, mine, now)
        # Both changed since the last agreement: the later change wins.
        local_at = _written_at(self.profile)
        if publish or remote.written_at is None or (local_at and local_at > remote.written_at):
            return self._publish(conn, account, mine, before.version, now)
        return self._take(account, remote, mine, now, conflict=(
            f"'{remote.written_by or '?'}' changed the shared settings (version"
            f" {remote.version}) after this device's own change, which was replaced; it is"
            f" kept in {REPLACED_FILE}"))

    def _publish(self, conn: Connection, account: ImapAccount, mine: dict[str, Any],
                 based_on: int, now: datetime) -> SharedStatus:
        from heard.mail import shared_state_fallback as fb

        self._check(mine)
        wrote = fb.write_settings(conn, mine, based_on, self._settings().instance, now)
        if wrote.replaced is not None:
            self._keep_aside(dict(wrote.replaced.values), wrote.replaced.written_by,
                             wrote.replaced.version)
        after = fb.read_settings(conn)
        if wrote.conflict and after.version == wrote.version and \
                digest(dict(after.values)) != digest(mine):
            # Another device wrote at the same moment and won: take theirs.
            return self._take(account, after, mine, now, conflict=wrote.conflict)
        status = SharedStatus(account.name, after.version, after.written_by, after.written_at,
                              after.where, now, "published")
        if wrote.conflict:
            status = _replace(status, conflict=wrote.conflict + f"; theirs is kept in"
                              f" {REPLACED_FILE}", conflict_at=now)
        self._remember_digest(mine)
        log.info("published the shared settings as version %s (%s)", after.version,
                 after.where)
        return self._remember(status)

    def _take(self, account: ImapAccount, remote: SharedSettings, mine: dict[str, Any],
              now: datetime, conflict: str = "") -> SharedStatus:
        values = dict(remote.values)
        if digest(values) == digest(mine):
            return self._agree(account, remote, mine, now, "none", conflict)
        try:
            apply(self.profile, values)
        except (ConfigError, TemplateError) as exc:
            problem = "; ".join(exc.problems) if isinstance(exc, ConfigError) else str(exc)
            log.warning("shared settings version %s not applied: %s", remote.version, problem)
            # The version this device agreed with stays, so the next sync tries (and
            # says) it again rather than settling on settings it does not use.
            return self._remember(SharedStatus(
                account.name, self.status().version, remote.written_by, remote.written_at,
                remote.where, now, "kept", error=(
                    f"the shared settings of '{remote.written_by or '?'}' (version"
                    f" {remote.version}) cannot be used here: {problem}; this device keeps"
                    " its own")))
        if conflict:
            self._keep_aside(mine, self._settings().instance, 0)
        log.info("took the shared settings version %s of %r", remote.version,
                 remote.written_by)
        return self._agree(account, remote, local_values(self.profile), now, "applied",
                           conflict)

    def _agree(self, account: ImapAccount, remote: SharedSettings, mine: dict[str, Any],
               now: datetime, action: str, conflict: str = "") -> SharedStatus:
        self._remember_digest(mine)
        before = self.status()
        keep = not conflict and before.conflict and before.version == remote.version \
            and not self._acted
        return self._remember(SharedStatus(
            account.name, remote.version, remote.written_by, remote.written_at,
            remote.where, now, action,
            conflict or (before.conflict if keep else ""),
            now if conflict else (before.conflict_at if keep else None)))

    def _check(self, values: Mapping[str, Any]) -> None:
        """Never publish what another device could not read."""
        if not isinstance(values.get("standards"), dict):
            raise ConfigError(self.profile.config, ["standards: not a table"])
        config.settings_from({"standards": values["standards"]}, self.profile.config)
        load_templates(self.profile.templates)

    def _keep_aside(self, values: Mapping[str, Any], by: str, version: int) -> None:
        path = self.profile.root / REPLACED_FILE
        try:
            kept = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
            if not isinstance(kept, list):
                kept = []
        except (ValueError, OSError):
            kept = []
        kept.append({"replaced_at": self.clock.now().isoformat(), "written_by": by or None,
                     "version": version or None, "settings": values})
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(kept[-20:], indent=2, default=str), encoding="utf-8")
        tmp.replace(path)

    def _known_digest(self) -> str | None:
        return self.store.state(STATE_KEY + ":digest")

    def _remember_digest(self, values: Mapping[str, Any]) -> None:
        self.store.set_state(STATE_KEY + ":digest", digest(values))

    def _remember(self, status: SharedStatus) -> SharedStatus:
        self.store.set_state(STATE_KEY, json.dumps(status.to_json()))
        return status


def _replace(status: SharedStatus, **changes: Any) -> SharedStatus:
    from dataclasses import replace

    return replace(status, **changes)
