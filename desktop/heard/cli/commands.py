"""Each command of the command line, run with its errors in words (see heard.cli)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from heard.cli.accounts import cmd_account
from heard.cli.act import (
    cmd_ack,
    cmd_close,
    cmd_delegate,
    cmd_log_call,
    cmd_outbox,
    cmd_prospect,
    cmd_snooze,
)
from heard.cli.clients import cmd_clients
from heard.cli.devices import cmd_sharing
from heard.cli.doctor import cmd_doctor
from heard.cli.followups import cmd_away, cmd_follow_up, cmd_follow_ups, cmd_nudge
from heard.cli.look import cmd_busy, cmd_explain, cmd_stats, cmd_status, cmd_sync
from heard.cli.output import terminal_text
from heard.cli.parser import UsageError, build_parser
from heard.config import ConfigError
from heard.domain.locales import use_on_screens
from heard.domain.templates import TemplateError
from heard.engine import Engine
from heard.errors import HeardError
from heard.system import log as heard_log
from heard.system.paths import ENV_PROFILE, Profile

log = logging.getLogger(__name__)

Command = Callable[[argparse.Namespace, Engine], int]

COMMANDS: dict[str, Command] = {
    "status": cmd_status, "sync": cmd_sync, "ack": cmd_ack,
    "clients": cmd_clients, "account": cmd_account, "answered": cmd_close, "dismiss": cmd_close,
    "explain": cmd_explain, "busy": cmd_busy, "stats": cmd_stats, "log-call": cmd_log_call,
    "prospect": cmd_prospect, "delegate": cmd_delegate, "outbox": cmd_outbox,
    "sharing": cmd_sharing, "doctor": cmd_doctor, "snooze": cmd_snooze,
    "follow-up": cmd_follow_up, "follow-ups": cmd_follow_ups, "nudge": cmd_nudge,
    "away": cmd_away,
}

# Commands after which a running tray should read the store again.
CHANGING = frozenset({"sync", "ack", "delegate", "answered", "dismiss", "prospect",
                      "clients", "outbox", "log-call", "account", "snooze",
                      "follow-up", "nudge", "away"})

# `heard doctor`'s checks of the desktop (tray, notification server) need Qt, which the
# command line never imports: heard.launcher hands them in.
DesktopChecks = Callable[[], Iterator[Any]]


def main(argv: Sequence[str] | None = None, desktop_checks: DesktopChecks | None = None
         ) -> int:
    parser = build_parser()
    return run(parser.parse_args(argv), parser, desktop_checks)


def run(args: argparse.Namespace, parser: argparse.ArgumentParser,
        desktop_checks: DesktopChecks | None = None) -> int:
    """One command, its errors in words (no traceback for what is expected)."""
    if args.command not in COMMANDS:
        parser.print_usage(sys.stderr)
        print("heard: the desktop app starts with `heard` alone; here, name a command",
              file=sys.stderr)
        return 2
    args.desktop_checks = desktop_checks
    try:
        profile = Profile.locate(args.profile)
        _check_profile_exists(args, profile)
        # The profile's log, as the tray's: what a command did (an automatic reply a
        # `heard sync` sent) is found where the user looks for it.
        heard_log.setup(profile.log, args.verbose)
        engine = Engine.open(profile)
        use_on_screens(engine.settings.speech)   # times for people in the user's locale
        try:
            with terminal_text():   # text from mail reaches a terminal as text
                code = COMMANDS[args.command](args, engine)
        finally:
            engine.close()
        try:
            sys.stdout.flush()   # here, not at exit, where a broken pipe cannot be caught
        except BrokenPipeError:
            return _reader_left()
        if args.command in CHANGING and not getattr(args, "dry_run", False):
            from heard.system.instance import tell_running

            tell_running(profile)   # a running tray shows the change now, not at its tick
        return code
    except BrokenPipeError:
        return _reader_left()
    except UsageError as exc:
        parser.print_usage(sys.stderr)
        print(f"heard: {exc}", file=sys.stderr)
        return 2
    except ConfigError as exc:
        return _fail(f"the settings file has problems:\n{exc}")
    except (HeardError, TemplateError, OSError,
            ValueError) as exc:  # the adapters' CalendarError is a ValueError
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130


def _check_profile_exists(args: argparse.Namespace, profile: Profile) -> None:
    """A profile named with --profile or HEARD_PROFILE must be there: a mistyped folder
    would otherwise become a new empty profile, and `heard status` would calmly say no one
    is waiting. Only the first account added makes a profile from the command line (the
    tray's first run and `heard demo` make theirs); the default profile is always made."""
    named = args.profile or os.environ.get(ENV_PROFILE)
    if not named or profile.root.exists():
        return
    if args.command == "account" and getattr(args, "action", None) == "add":
        return
    raise HeardError(
        f"there is no profile at {profile.root} (mistyped?). To make one there, add its"
        f" first account (heard --profile {profile.root} account add ...) or start the"
        f" tray app with it (heard --profile {profile.root}).")


def _reader_left() -> int:
    """The reader of our output went away (`heard status | head`): what it wanted, it has.
    Quiet, like any Unix tool, and stdout goes nowhere so the exit does not complain."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 0


def _fail(message: str) -> int:
    print(f"heard: {message}", file=sys.stderr)
    log.debug("command failed", exc_info=True)
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
