"""The one entry point of `heard` (and of the frozen executables): with no command, with
`demo` or with `--selftest` it is the desktop app (heard.gui); with any other command it is
the command line (heard.cli), which never loads Qt."""

from __future__ import annotations

from collections.abc import Sequence

from heard.cli import parser as cli_parser

DESKTOP_COMMANDS = (None, "demo")


def main(argv: Sequence[str] | None = None) -> int:
    parser = cli_parser.build_parser()
    args = parser.parse_args(argv)
    if args.selftest is not None or args.command in DESKTOP_COMMANDS:
        from heard.gui.launch import main as desktop

        return desktop(args)
    from heard import cli

    checks = None
    if args.command == "doctor" and not args.no_desktop:
        from heard.gui.checks import desktop_checks

        checks = desktop_checks
    return cli.run(args, parser, checks)


if __name__ == "__main__":
    raise SystemExit(main())
