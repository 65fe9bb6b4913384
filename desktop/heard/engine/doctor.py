"""`heard doctor`: everything Heard depends on, checked once, each with a fix in words.

The desktop checks (Qt, the tray, the notification server) live in heard.gui.checks;
these are the Qt-free ones: the profile, the store, the keyring, every account and
calendar, the outbox, start at login.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass

from heard.config import ImapAccount
from heard.domain.checks import Verdict as Verdict
from heard.domain.outbox import OutboxState
from heard.domain.wording import plural
from heard.engine import DeviceMode, Engine
from heard.system import autostart


@dataclass(frozen=True)
class Check:
    name: str
    verdict: Verdict
    detail: str
    fix: str = ""

    def to_json(self) -> dict[str, str | None]:
        return {"name": self.name, "status": self.verdict.value, "detail": self.detail,
                "fix": self.fix or None}


def ok(name: str, detail: str) -> Check:
    return Check(name, Verdict.OK, detail)


def checks(engine: Engine, network: bool = True) -> Iterator[Check]:
    """Each check as it completes (the slow network ones last)."""
    yield from _profile(engine)
    yield _keyring(engine)
    yield from _outbox(engine)
    yield _intake(engine)
    yield _device_messages(engine)
    yield _autostart(engine)
    if network:
        yield from _accounts(engine)
        yield from _calendars(engine)


def _profile(engine: Engine) -> Iterator[Check]:
    profile = engine.profile
    mode = stat.S_IMODE(profile.root.stat().st_mode)
    if os.name == "posix" and mode & 0o077:
        yield Check("profile", Verdict.WARN, f"{profile.root} can be read by others"
                    f" (mode {mode:o}); it holds client names and mail",
                    f"chmod 700 {profile.root}")
    else:
        yield ok("profile", str(profile.root))
    problem = engine.config_problem
    if problem:
        yield Check("settings", Verdict.FAIL, problem, f"fix {profile.config}")
    else:
        yield ok("settings", f"{profile.config} is valid" if profile.config.exists()
                 else "no settings file: all defaults")
    integrity = engine.store.integrity()
    if integrity == "ok":
        yield ok("store", f"{profile.database} (schema {engine.store.schema_version}),"
                 " integrity ok")
    else:
        yield Check("store", Verdict.FAIL, f"{profile.database}: {integrity}",
                    "restore the store from a backup, or move it away to start afresh"
                    " (clients and history would be lost)")
    yield ok("log", str(profile.log))


def _keyring(engine: Engine) -> Check:
    from heard.config import passwords
    from heard.system import secrets

    problem = secrets.check()
    if not problem:
        return ok("keyring", secrets.backend_name())
    settings = engine.settings
    needing = [s.name for s in (*settings.accounts, *settings.calendars)
               if passwords.entries(s)]
    if needing:
        return Check("keyring", Verdict.FAIL, f"{problem} (needed by {', '.join(needing)})")
    # Nothing here logs in (Maildir, calendar files): a machine without a keyring is only
    # a limit for later, as `heard --selftest` says of it too.
    return Check("keyring", Verdict.WARN, f"no account of this profile needs a password"
                 f" yet, but IMAP, SMTP and CalDAV accounts will: {problem}")


def _outbox(engine: Engine) -> Iterator[Check]:
    items = engine.outbox_items()
    unsure = [i for i in items if i.state is OutboxState.UNSURE]
    retrying = [i for i in items if i.state is OutboxState.QUEUED and i.error]
    if unsure:
        yield Check("outbox", Verdict.FAIL, f"{plural(len(unsure), 'message')} may or may not have"
                    f" gone out (to {', '.join(i.recipient for i in unsure)})",
                    "`heard outbox` lists them; `heard outbox resend|mark-sent ID`")
    elif retrying:
        yield Check("outbox", Verdict.WARN, f"{plural(len(retrying), 'message')} not sent yet:"
                    f" {retrying[-1].error}", "Heard keeps trying; `heard outbox flush`")
    else:
        yield ok("outbox", "nothing waiting to go out")


def _intake(engine: Engine) -> Check:
    """Messages that could not be taken in: nobody counted them."""
    now = engine.clock.now()
    failed = engine.store.failed_messages(now - engine.settings.mail.window)
    if not failed:
        return ok("intake", "every message read was taken in")
    notes = "; ".join(f"{at.astimezone(engine.settings.zone):%Y-%m-%d %H:%M} {note}"
                      for note, at in failed)
    return Check("intake", Verdict.WARN, f"{plural(len(failed), 'message')} could not be taken in"
                 f" and {'is' if len(failed) == 1 else 'are'} not counted: {notes}",
                 f"read them in your mail program; {engine.profile.log} has each error"
                 " (please report it)")


def _device_messages(engine: Engine) -> Check:
    """Device messages this device ignored, or cannot check yet (heard.devices.keys)."""
    problems = engine.devices.trust_problems()
    if not problems:
        return ok("device messages", "every one read was signed by your devices")
    return Check("device messages", Verdict.WARN, "; ".join(problems),
                 "`heard sharing invite` on a device that has joined, then `heard sharing"
                 " join CODE` on the one to join; anything else in the Heard folder came"
                 " from outside: delete it")


def _autostart(engine: Engine) -> Check:
    wanted = engine.settings.desktop.start_at_login
    present = autostart.is_enabled()
    if wanted == present:
        return ok("start at login", "on" if wanted else "off")
    return Check("start at login", Verdict.WARN,
                 f"the setting says {'on' if wanted else 'off'}, but the autostart entry is"
                 f" {'there' if present else 'missing'}", "start Heard once: it puts it right")


def _accounts(engine: Engine) -> Iterator[Check]:
    if not engine.settings.accounts:
        yield Check("mail", Verdict.WARN, "no mail account",
                    "`heard account add imap --host ... --username ...`")
    modes: dict[str, DeviceMode] | None = None
    for account in engine.settings.accounts:
        name = f"mail {account.name}"
        health = engine.test_account(account)
        if not health.online:
            yield Check(name, Verdict.FAIL, health.problem,
                        f"`heard account test {account.name}` after fixing it")
        else:
            where = (f"{account.username} at {account.host}:{account.port}"
                     if isinstance(account, ImapAccount) else str(account.inbox))
            push = " (push: IDLE)" if health.push else ""
            verdict = Verdict.WARN if health.problem else Verdict.OK
            yield Check(name, verdict, f"{where}{push}" + (f"; {health.problem}"
                                                         if health.problem else ""))
            if isinstance(account, ImapAccount):
                if modes is None:
                    modes = {m.account: m for m in engine.device_modes()}
                yield _sharing(modes[account.name], engine.settings.instance)
                if account == engine.shared_settings.account():
                    yield _shared_settings(engine)
        if account.smtp is None:
            sends = isinstance(account, ImapAccount) or account.outbox is None
            if sends:
                yield Check(f"sending {account.name}", Verdict.WARN,
                            "no SMTP server: acknowledgements cannot be sent from it",
                            f"add one: smtp_host in heard.toml ([[accounts]] {account.name})")
            continue
        problem = engine.test_smtp(account)
        if problem:
            yield Check(f"sending {account.name}", Verdict.FAIL, problem)
        else:
            smtp = account.smtp
            yield ok(f"sending {account.name}", f"{smtp.username or '(no login)'} at"
                     f" {smtp.host}:{smtp.port} ({smtp.security})")


def _sharing(mode: DeviceMode, instance: str) -> Check:
    """How the user's devices (and assistant) coordinate on this account's server."""
    name = f"devices {mode.account}"
    if mode.mode is None:
        return Check(name, Verdict.WARN, mode.describe)
    detail = f"instance {instance!r}: {mode.describe}"
    if mode.full:
        return ok(name, detail)
    return Check(name, Verdict.WARN, detail, "with one device this does not matter; with"
                 " several, name the one that sends: [sharing] designated_instance")


def _shared_settings(engine: Engine) -> Check:
    """The standards, templates and designated device every device agrees on, as the last
    sync left them (the doctor only reads: a sync may write to the server)."""
    status = engine.shared_settings.status()
    detail = status.describe(engine.settings.zone).replace("\n  ", "; ")
    if status.error:
        return Check("shared settings", Verdict.WARN, detail,
                     "fix what it names, then `heard sharing sync`")
    if status.conflict:
        return Check("shared settings", Verdict.WARN, detail,
                     "check the settings window; what was replaced is in"
                     " shared-settings-replaced.json in the profile (`heard sharing push`"
                     " makes this device's the shared ones)")
    return ok("shared settings", detail)


def _calendars(engine: Engine) -> Iterator[Check]:
    if not engine.settings.calendars:
        yield Check("calendar", Verdict.WARN, "no calendar: Heard cannot tell when you are"
                    " busy", "`heard account add caldav URL --username U` or"
                    " `heard account add calendar FILE`")
    for calendar in engine.settings.calendars:
        good, detail = engine.calendar.test(calendar)
        where = str(calendar.path) if calendar.kind == "ics" else calendar.url
        yield (ok(f"calendar {calendar.name}", detail or where) if good else
               Check(f"calendar {calendar.name}", Verdict.FAIL, detail or where))


def python_check() -> Check:
    return ok("python", f"{sys.version.split()[0]} at {sys.executable}")
