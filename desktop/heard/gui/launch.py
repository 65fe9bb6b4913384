"""Starting the desktop app: the tray on a profile (the first-run wizard first when it has
no settings yet), the demo, or the installation self-test; a failure to start is said on
screen too, since a tray app started at login has no terminal to print to."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from heard.config import ConfigError
from heard.domain.templates import TemplateError
from heard.engine import Engine
from heard.errors import HeardError
from heard.system import log as heard_log
from heard.system.paths import Profile

log = logging.getLogger(__name__)


def main(args: argparse.Namespace) -> int:
    if args.selftest is not None:
        from heard.gui.selftest_gui import main as selftest

        return selftest(None if args.selftest == "-" else args.selftest)
    try:
        if args.command == "demo":
            return demo(args)
        return tray(args)
    except ConfigError as exc:
        return _fail(f"the settings file has problems:\n{exc}")
    except (HeardError, TemplateError, OSError, ValueError) as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130


def tray(args: argparse.Namespace) -> int:
    from heard.gui import app  # Qt is loaded only here

    profile = Profile.locate(args.profile)
    heard_log.setup(profile.log, args.verbose)
    engine = Engine.open(profile)
    try:
        # No settings file yet: the first-run wizard comes before the tray (never in the
        # demo, which has its own profile, nor when only measuring the start-up).
        first_run = not engine.profile.config.exists() and not args.exit_when_shown
        return app.run_tray(engine, exit_when_shown=args.exit_when_shown, first_run=first_run)
    finally:
        engine.close()


def demo(args: argparse.Namespace) -> int:
    from heard.setup.demo import DemoGenerator, create_demo_profile

    profile = create_demo_profile(Path(args.profile) if args.profile else None)
    heard_log.setup(profile.log, args.verbose)
    print(f"Demo profile: {profile.root}", file=sys.stderr)
    engine = Engine.open(profile)
    generator = None if args.no_generator else DemoGenerator(profile, engine.store)
    try:
        engine.sync()
        from heard.gui import app

        if generator:
            generator.start()
        return app.run_tray(engine, exit_when_shown=args.exit_when_shown)
    finally:
        if generator:
            generator.stop()
        engine.close()


def _fail(message: str) -> int:
    print(f"heard: {message}", file=sys.stderr)
    log.debug("the desktop app could not start", exc_info=True)
    from heard.gui.app import show_fatal

    show_fatal(message)
    return 1
