"""Settings every device of one mailbox must agree on, kept on the mail server.

The response standards (`[standards]`), the reply templates (templates.toml) and which
device sends for the others (`[sharing] designated_instance`, `autopilot_instance`) live in
IMAP METADATA where the server has it, else in a settings message in the `Heard` folder
(heard.devices.wire.folder). Each write is a new version; the last writer wins and
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
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from heard import config
from heard.config import ConfigError, ImapAccount, Settings
from heard.config.templates import default_templates, load_templates, write_templates
from heard.domain.clock import Clock
from heard.domain.templates import Template, TemplateError
from heard.store import Store
from heard.system.paths import Profile

if TYPE_CHECKING:
    from heard.devices.imap import ImapCoordinator
    from heard.devices.wire.folder import SharedSettings
    from heard.mail.imap import Connection

log = logging.getLogger(__name__)

STATE_KEY = "shared-settings"
REPLACED_FILE = "shared-settings-replaced.json"
SHARED_SHARING_KEYS = ("designated_instance", "autopilot_instance")
# A quiet mailbox still hears of another device's change within this long (the settings
# window's Save and `heard sharing sync` publish at once).
EVERY = timedelta(minutes=5)


class SharedAction(StrEnum):
    """What a sync of the shared settings did."""

    NONE = "none"              # this device and the server agree
    PUBLISHED = "published"    # this device's values went to the server
    APPLIED = "applied"        # the server's values were taken up here
    KEPT = "kept"              # the server's values cannot be used here; this device's stay
    # Another device changed the templates or which device acts: shown, and taken only
    # when the user accepts (`heard sharing sync --accept`, the settings window).
    PENDING = "pending"


@dataclass(frozen=True)
class SharedStatus:
    """What `heard sharing` and the settings window show."""

    account: str | None            # the account that holds them; None: nowhere to share
    version: int = 0
    written_by: str = ""
    written_at: datetime | None = None
    where: str = ""                # "metadata" | "message" | ""
    checked_at: datetime | None = None
    action: SharedAction | None = None   # what the last sync did
    conflict: str = ""             # plain words, "" when none
    conflict_at: datetime | None = None
    error: str = ""                # why the last sync could not run, "" when it ran
    pending: str = ""              # the change waiting for the user's yes, as a diff

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
        if self.pending:
            text += (f"\n  Waiting for your yes: another device changed your templates or"
                     f" which device acts:\n{self.pending}")
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
                "action": self.action.value if self.action else None,
                "conflict": self.conflict or None,
                "conflict_at": at(self.conflict_at), "error": self.error or None,
                "pending": self.pending or None}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SharedStatus:
        def at(value: object) -> datetime | None:
            return datetime.fromisoformat(value) if isinstance(value, str) else None

        return cls(data.get("account"), int(data.get("version") or 0),
                   str(data.get("written_by") or ""), at(data.get("written_at")),
                   str(data.get("where") or ""), at(data.get("checked_at")),
                   SharedAction(data["action"]) if data.get("action") else None,
                   str(data.get("conflict") or ""),
                   at(data.get("conflict_at")), str(data.get("error") or ""),
                   str(data.get("pending") or ""))


# -- this device's values -----------------------------------------------------------------

class Unshareable(ValueError):
    """This device's own settings cannot be read, so they must not be shared."""


def local_values(profile: Profile) -> dict[str, Any]:
    """The shared part of this device's settings, normalised (what two devices compare):
    the [standards] table as written, the two [sharing] keys, and the templates that differ
    from the shipped ones as {name: {subject, body, promise}}. A file that exists but
    cannot be read raises Unshareable: an unreadable heard.toml must never be shared as
    "no standards"."""
    try:
        data = _toml(profile.config)
        config.settings_from(data, profile.config)  # the whole file, as the engine reads it
        templates = load_templates(profile.templates)
    except ConfigError as exc:
        raise Unshareable("; ".join(exc.problems)) from exc
    except TemplateError as exc:
        raise Unshareable(str(exc)) from exc
    except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError) as exc:
        raise Unshareable(str(exc)) from exc
    sharing = data.get("sharing")
    sharing = sharing if isinstance(sharing, dict) else {}
    standards = data.get("standards")
    standards = standards if isinstance(standards, dict) else {}
    shipped = default_templates()
    own = {name: {"subject": t.subject, "body": _lf(t.body), "promise": t.promise}
           for name, t in sorted(templates.items())
           if name not in shipped or (shipped[name].subject, _lf(shipped[name].body),
                                      shipped[name].promise)
           != (t.subject, _lf(t.body), t.promise)}
    values = {"standards": standards,
              "sharing": {k: str(sharing.get(k, "")) for k in SHARED_SHARING_KEYS},
              "templates": own}
    try:
        _plain(values, "this device's settings")
    except ConfigError as exc:
        raise Unshareable("; ".join(exc.problems)) from exc
    return values


def _lf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _plain(value: object, what: str) -> None:
    """Only what JSON and TOML both carry the same: tables, lists, text, numbers, truth."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or "." in key:
                raise ConfigError(Path(what), [f"{what}: the name {key!r} cannot be shared"])
            _plain(item, what)
    elif isinstance(value, list):
        for item in value:
            _plain(item, what)
    elif value is None or not isinstance(value, str | int | float | bool):
        raise ConfigError(Path(what), [f"{what}: {value!r} cannot be shared (a date or an"
                                       " empty value; write it as text)"])


def digest(values: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True, ensure_ascii=True,
                                     default=str).encode()).hexdigest()[:32]


def _toml(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    return tomllib.loads(path.read_text(encoding="utf-8"))


def _written_at(profile: Profile) -> datetime | None:
    times = [p.stat().st_mtime for p in (profile.config, profile.templates) if p.exists()]
    return datetime.fromtimestamp(max(times), UTC) if times else None


def apply(profile: Profile, values: Mapping[str, Any], dry_run: bool = False) -> None:
    """Make this device's files say `values`: heard.toml's [standards] and the two
    [sharing] keys, and templates.toml. Both are checked before either is written: a
    value this version of Heard cannot read raises ConfigError / TemplateError and
    changes nothing."""
    standards = values.get("standards")
    sharing = values.get("sharing")
    templates = values.get("templates")
    if not isinstance(standards, dict) or not isinstance(sharing, dict) \
            or not isinstance(templates, dict):
        raise ConfigError(profile.config, ["the shared settings miss standards, sharing or"
                                           " templates"])
    _plain(dict(values), "the shared settings")
    full = _templates_over_defaults(templates)
    changes: list[tuple[str, str, Any]] = [("sharing", k, str(sharing.get(k, "")))
                                           for k in SHARED_SHARING_KEYS]
    for section, key, value in _flatten("standards", standards):
        changes.append((section, key, value))
    file = config.ConfigFile(profile.config)
    file.set_many(changes, drop=["standards"], dry_run=True)
    # This device's own default template ([replies] template, not shared) must survive.
    mine = config.load(profile.config).replies.template
    if mine not in full:
        raise TemplateError(mine, "the shared templates no longer have it, and this"
                            " device's [replies] template names it; choose another one"
                            " here first")
    if dry_run:
        return
    write_templates(profile.templates, full)
    file.set_many(changes, drop=["standards"])


def _templates_over_defaults(templates: Mapping[str, Any]) -> dict[str, tuple[str, str, str]]:
    full = {n: (t.subject, t.body, t.promise) for n, t in default_templates().items()}
    for name, entry in templates.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("body"), str):
            raise TemplateError(str(name), "a shared template needs a body")
        template = Template(str(name), str(entry.get("subject", "Re: {subject}")),
                            entry["body"], str(entry.get("promise", "next_free")))
        full[template.name] = (template.subject, template.body, template.promise)
    return full


def _flatten(prefix: str, table: Mapping[str, Any]) -> list[tuple[str, str, Any]]:
    # tomlkit (the writer that keeps comments) only when settings are taken up: comparing
    # them, every sync, reads with tomllib (RSS of the idle tray).
    import tomlkit

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

def sensitive_change(mine: Mapping[str, Any], theirs: Mapping[str, Any]) -> str:
    """What another device's shared settings would change in the templates (what clients
    read) or in which device acts, as a unified diff; "" when neither changes."""
    import difflib

    def lines(values: Mapping[str, Any]) -> list[str]:
        out = [f"[sharing] {key} = {(values.get('sharing') or {}).get(key, '')!r}"
               for key in SHARED_SHARING_KEYS]
        # The templates in effect (the shipped ones under the shared ones): a template
        # written out as shipped is no change.
        for name, (subject, body, promise) in sorted(
                _templates_over_defaults(values.get("templates") or {}).items()):
            out += [f"[{name}]", f"  subject = {subject}", f"  promise = {promise}"]
            out += [f"  | {line}" for line in _lf(body).splitlines()]
        return out

    before, after = lines(mine), lines(theirs)
    if before == after:
        return ""
    return "\n".join(difflib.unified_diff(before, after, "this device", "shared", lineterm="",
                                          n=1))


class SharedSettingsSync:
    def __init__(self, profile: Profile, store: Store, clock: Clock,
                 settings: Callable[[], Settings],
                 coordinator: Callable[[], ImapCoordinator]) -> None:
        self.profile = profile
        self.store = store
        self.clock = clock
        self._settings = settings
        self._coordinator = coordinator

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

    def sync(self, publish: bool = False, push: bool = False,
             opened: int | None = None, accept: bool = False) -> SharedStatus:
        """Agree with the server (see the module's doc). `publish`: the user just saved
        here, so a change of this device's shared values is the newest whatever the
        times say (a device that never agreed before takes the shared ones all the same);
        `opened`: the version the user's window showed, so a newer one it replaces is
        reported and kept aside; `push`: this device's values replace the shared ones,
        changed or not. Returns the new status (also remembered). Whatever goes wrong
        (the server, this device's files, what another device wrote) leaves the files as
        they were and says why in `error`: a sync never stops on it."""
        from heard.mail.imap import ImapError

        account = self.account()
        if account is None:
            # Nothing to share with: not a problem, a Maildir setup is single-device.
            return self._remember(SharedStatus(None, checked_at=self.clock.now(),
                                               action=SharedAction.NONE))
        from heard.devices.keys import NotJoined

        problem = ""
        try:
            return self._coordinator().run(
                account, lambda conn: self._sync(conn, account, publish, push, opened,
                                                 accept))
        except NotJoined as exc:   # nothing it could read is trusted, nothing it writes
            problem = str(exc)
        except ImapError as exc:
            problem = f"{account.name}: {exc.message}"
        except Unshareable as exc:
            problem = f"this device's settings cannot be shared until fixed: {exc}"
        except (ConfigError, TemplateError) as exc:
            problem = "; ".join(exc.problems) if isinstance(exc, ConfigError) else str(exc)
            problem = f"the shared settings cannot be used here: {problem}"
        except Exception as exc:   # e.g. a disk error while writing: said, never fatal
            log.exception("shared settings")
            problem = f"the shared settings could not be synced: {exc}"
        before = self.status()
        if before.account != account.name:   # another account now: it agreed on nothing
            before = SharedStatus(account.name)
        return self._remember(replace(before, account=account.name,
                                       checked_at=self.clock.now(), error=problem))

    def _sync(self, conn: Connection, account: ImapAccount, publish: bool, push: bool,
              opened: int | None, accept: bool = False) -> SharedStatus:
        from heard.devices.wire import folder as fb

        # Read under the account's lock: a Save on one worker and the periodic sync on
        # another see each other's result, never a stale one.
        before = self.status()
        acted = publish or push   # the user acted: an old conflict has been seen
        now = self.clock.now()
        keys = self._coordinator().keys
        # METADATA only the account's own logins write (signed when this device can);
        # a settings message anyone may deliver: signed, or nothing.
        key = keys.get(account) if fb.has_metadata(conn) else keys.require(account, conn)
        remote = fb.read_settings(conn, key)
        keys.report(account.name, list(remote.untrusted))
        mine = local_values(self.profile)
        theirs = dict(remote.values)
        known = self._known_digest()
        fresh_device = before.version == 0 or known is None or before.account != account.name
        changed_here = known is not None and digest(mine) != known
        moved_there = remote.version != before.version

        if remote.version == 0 or push:
            # Never written, unreadable, or pushed: this device's, numbered on from what
            # it knew (what it replaces is kept aside).
            return self._publish(conn, account, mine, remote, before.version, now, acted,
                                 key)
        if digest(mine) == digest(theirs):
            return self._agree(account, remote, mine, now, SharedAction.NONE, acted=acted)
        if fresh_device:
            # A device joining takes the agreed settings; its own go aside, not lost.
            return self._take(account, remote, mine, now, acted, conflict=(
                f"this device took the shared settings of '{remote.written_by or '?'}'"
                f" (version {remote.version}); its own were kept in {REPLACED_FILE}"))
        if not moved_there:
            # (A Save that changed nothing shared publishes nothing: only a change does.)
            if changed_here:
                return self._publish(conn, account, mine, remote,
                                     remote.version if opened is None
                                     else min(remote.version, opened), now, acted, key)
            return self._agree(account, remote, mine, now, SharedAction.NONE, acted=acted)
        if not changed_here:
            return self._take(account, remote, mine, now, acted, ask=not accept)
        # Both changed since the last agreement: the later change wins.
        local_at = _written_at(self.profile)
        theirs_at = remote.written_at if remote.written_at and remote.written_at.tzinfo \
            else None
        if publish or theirs_at is None or (local_at and local_at > theirs_at):
            return self._publish(conn, account, mine, remote, before.version, now, acted,
                                 key)
        return self._take(account, remote, mine, now, acted, conflict=(
            f"'{remote.written_by or '?'}' changed the shared settings (version"
            f" {remote.version}) after this device's own change, which was replaced; it is"
            f" kept in {REPLACED_FILE}"), ask=not accept)

    def _publish(self, conn: Connection, account: ImapAccount, mine: dict[str, Any],
                 remote: SharedSettings, based_on: int, now: datetime, acted: bool,
                 key: bytes | None) -> SharedStatus:
        from heard.devices.wire import folder as fb

        self._check(mine)
        kept = 0
        if remote.version and digest(dict(remote.values)) != digest(mine):
            # Whatever this write replaces on the server is kept aside here: never lost.
            self._keep_aside(dict(remote.values), remote.written_by, remote.version)
            kept = remote.version
        wrote = fb.write_settings(conn, mine, based_on, self._settings().instance, now, key)
        if wrote.replaced is not None and wrote.replaced.version != kept \
                and digest(dict(wrote.replaced.values)) != digest(mine):
            self._keep_aside(dict(wrote.replaced.values), wrote.replaced.written_by,
                             wrote.replaced.version)
        after = fb.read_settings(conn, key)
        if wrote.conflict and after.version == wrote.version and \
                digest(dict(after.values)) != digest(mine):
            # Another device wrote at the same moment and won: take theirs.
            return self._take(account, after, mine, now, acted, conflict=wrote.conflict)
        status = SharedStatus(account.name, after.version, after.written_by, after.written_at,
                              after.where, now, SharedAction.PUBLISHED)
        if wrote.conflict:
            status = replace(status, conflict=wrote.conflict + f"; theirs is kept in"
                              f" {REPLACED_FILE}", conflict_at=now)
        self._remember_digest(mine)
        log.info("published the shared settings as version %s (%s)", after.version,
                 after.where)
        return self._remember(status)

    def _take(self, account: ImapAccount, remote: SharedSettings, mine: dict[str, Any],
              now: datetime, acted: bool, conflict: str = "", ask: bool = False
              ) -> SharedStatus:
        values = dict(remote.values)   # (never equal to `mine`: the callers checked)
        change = ""
        if ask:
            try:   # what cannot be used here is said as such, never asked about
                apply(self.profile, values, dry_run=True)
                change = sensitive_change(mine, values)
            except (ConfigError, TemplateError):
                change = ""
        if change:
            # What clients read, and which device writes to them, change only on the
            # user's yes: the version agreed stays, so every sync asks again until then.
            before = self.status()
            if before.pending != change:
                log.info("shared settings version %s of %r change templates or devices:"
                         " waiting for your yes", remote.version, remote.written_by)
            return self._remember(replace(
                before, account=account.name, checked_at=now, action=SharedAction.PENDING,
                pending=change, error=""))
        try:
            apply(self.profile, values)
        except (ConfigError, TemplateError) as exc:
            problem = "; ".join(exc.problems) if isinstance(exc, ConfigError) else str(exc)
            log.warning("shared settings version %s not applied: %s", remote.version, problem)
            # The version this device agreed with stays, so the next sync tries (and
            # says) it again rather than settling on settings it does not use.
            return self._remember(SharedStatus(
                account.name, self.status().version, remote.written_by, remote.written_at,
                remote.where, now, SharedAction.KEPT, error=(
                    f"the shared settings of '{remote.written_by or '?'}' (version"
                    f" {remote.version}) cannot be used here: {problem}; this device keeps"
                    " its own")))
        if conflict:
            self._keep_aside(mine, self._settings().instance, 0)
        log.info("took the shared settings version %s of %r", remote.version,
                 remote.written_by)
        return self._agree(account, remote, local_values(self.profile), now,
                           SharedAction.APPLIED,
                           conflict, acted)

    def _agree(self, account: ImapAccount, remote: SharedSettings, mine: dict[str, Any],
               now: datetime, action: SharedAction, conflict: str = "", acted: bool = False
               ) -> SharedStatus:
        self._remember_digest(mine)
        before = self.status()
        keep = not conflict and before.conflict and before.version == remote.version \
            and not acted
        return self._remember(SharedStatus(
            account.name, remote.version, remote.written_by, remote.written_at,
            remote.where, now, action,
            conflict or (before.conflict if keep else ""),
            now if conflict else (before.conflict_at if keep else None)))

    def _check(self, values: Mapping[str, Any]) -> None:
        """Never publish what another device could not read (local_values read the whole
        files already; this checks the shared part on its own)."""
        if not isinstance(values.get("standards"), dict):
            raise Unshareable("standards: not a table")
        try:
            config.settings_from({"standards": values["standards"]}, self.profile.config)
            _templates_over_defaults(values.get("templates") or {})
        except ConfigError as exc:
            raise Unshareable("; ".join(exc.problems)) from exc
        except TemplateError as exc:
            raise Unshareable(str(exc)) from exc

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

