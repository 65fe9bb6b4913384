"""`heard doctor`: everything Heard needs, checked, with a fix for each problem."""

from __future__ import annotations

import argparse
from typing import Any

from heard.cli.output import dump
from heard.domain.wording import plural
from heard.engine import (
    Engine,
)


def cmd_doctor(args: argparse.Namespace, engine: Engine) -> int:
    from heard.engine.doctor import Verdict, checks, python_check

    def everything() -> Any:
        yield python_check()
        yield from checks(engine, network=not args.offline)
        if not args.no_desktop and args.desktop_checks is not None:
            yield from args.desktop_checks()

    results = []
    for check in everything():
        results.append(check)
        if not args.json:
            mark = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}[check.verdict.value]
            print(f"  {mark}  {check.name}: {check.detail}"
                  + (f"\n        -> {check.fix}" if check.fix else ""), flush=True)
    if args.json:
        dump({"checks": [c.to_json() for c in results]})
    failed = [c for c in results if c.verdict is Verdict.FAIL]
    if not args.json:
        print("Everything Heard needs works." if not failed else
              f"{plural(len(failed), 'problem')} to fix.")
    return 1 if failed else 0
