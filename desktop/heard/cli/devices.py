"""`heard sharing`: this device among the user's others, and the settings they share."""

from __future__ import annotations

import argparse
import sys

from heard.cli.output import dump
from heard.engine import (
    Engine,
)


def cmd_sharing(args: argparse.Namespace, engine: Engine) -> int:
    """This device among the user's others: its name, each account's mode, and the
    settings they share (standards, templates, the designated device)."""

    settings = engine.settings
    shared = engine.share_settings(push=args.action == "push") \
        if args.action in ("sync", "push") else engine.shared_settings.status()
    accounts = [{"name": m.account, "mode": m.mode, "describe": m.describe}
                for m in engine.device_modes()]
    if args.json:
        dump({"instance": settings.instance,
               "autopilot_instance": settings.sharing.autopilot_instance or None,
               "designated_instance": settings.sharing.designated_instance or None,
               "accounts": accounts, "shared_settings": shared.to_json()})
    else:
        print(f"This device: {settings.instance!r}"
              + (f"; automatic acknowledgements from {settings.sharing.autopilot_instance!r}"
                 if settings.sharing.autopilot_instance else "")
              + (f"; the designated device is {settings.sharing.designated_instance!r}"
                 if settings.sharing.designated_instance else ""))
        for entry in accounts:
            print(f"  {entry['name']}: {entry['describe']}")
        print("Shared settings (standards, templates, designated device): "
              + shared.describe(settings.zone))
    if shared.error and args.json:
        print(f"heard: shared settings: {shared.error}", file=sys.stderr)
    return 1 if shared.error and args.action in ("sync", "push") else 0
