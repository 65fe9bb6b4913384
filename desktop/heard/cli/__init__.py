"""The command line: every action of the GUI, scriptable, with stable --json output.

Exit status: 0 done, 1 the command failed (the message says why and what to do),
2 bad usage. `heard` with no command (or `heard demo`, `heard --selftest`) is the desktop
app: heard.launcher sends those to heard.gui, everything else here.

The package itself stays light: heard.launcher reads its grammar (heard.cli.parser) for
every start, the desktop app's too, which needs none of the commands (heard.cli.commands).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from heard.cli.commands import DesktopChecks


def main(argv: Sequence[str] | None = None, desktop_checks: DesktopChecks | None = None
         ) -> int:
    from heard.cli import commands

    return commands.main(argv, desktop_checks)


def run(args: argparse.Namespace, parser: argparse.ArgumentParser,
        desktop_checks: DesktopChecks | None = None) -> int:
    """One command (parsed by heard.cli.parser), its errors in words."""
    from heard.cli import commands

    return commands.run(args, parser, desktop_checks)
