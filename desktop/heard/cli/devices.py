"""`heard sharing`: this device among the user's others, and the settings they share."""

from __future__ import annotations

import argparse
import sys

from heard.cli.output import dump
from heard.engine import (
    Engine,
    EngineError,
)


def cmd_sharing(args: argparse.Namespace, engine: Engine) -> int:
    """This device among the user's others: its name, each account's mode, and the
    settings they share (standards, templates, the designated device)."""
    if args.action == "invite":
        return _invite(args, engine)
    if args.action == "join":
        return _join(args, engine)
    if args.code:
        print(f"heard: sharing {args.action} takes no code", file=sys.stderr)
        return 2
    settings = engine.settings
    if args.accept and args.action != "sync":
        print("heard: --accept goes with `heard sharing sync`", file=sys.stderr)
        return 2
    shared = engine.share_settings(push=args.action == "push", accept=args.accept) \
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
        if shared.pending:
            print("Nothing of it applies until you say yes: `heard sharing sync --accept`"
                  " takes it; `heard sharing push` puts this device's back instead.")
    if shared.error and args.json:
        print(f"heard: shared settings: {shared.error}", file=sys.stderr)
    return 1 if shared.error and args.action in ("sync", "push") else 0


def _invite(args: argparse.Namespace, engine: Engine) -> int:
    """On a device that has joined: a code for the device that joins (module
    heard.devices.keys). The code is the secret: it is shown, never stored or logged."""
    if args.code:
        print("heard: sharing invite takes no code (it makes one)", file=sys.stderr)
        return 2
    try:
        invitation = engine.devices.invite()
    except EngineError as exc:
        print(f"heard: {exc}", file=sys.stderr)
        return 1
    expires = invitation.expires.astimezone(engine.settings.zone)
    if args.json:
        dump({"code": invitation.code, "accounts": invitation.accounts,
              "expires": expires.isoformat()})
    else:
        print(f"On the device that joins, run:\n\n    heard sharing join {invitation.code}\n\n"
              f"(valid until {expires:%H:%M}, once; for {', '.join(invitation.accounts)})."
              " Type it there yourself: anyone with this code and your mailbox could take"
              " the key your devices sign with.")
    return 0


def _join(args: argparse.Namespace, engine: Engine) -> int:
    if not args.code:
        print("heard: sharing join needs the CODE `heard sharing invite` showed on a device"
              " that has joined", file=sys.stderr)
        return 2
    try:
        joined = engine.devices.join(args.code)
    except ValueError as exc:
        print(f"heard: {exc}", file=sys.stderr)
        return 2
    except EngineError as exc:
        print(f"heard: {exc}", file=sys.stderr)
        return 1
    if args.json:
        dump({"joined": {name: by is not None for name, by in joined.items()},
              "invited_by": {name: by for name, by in joined.items() if by is not None}})
    else:
        for name, by in joined.items():
            print(f"  {name}: " + (f"joined (invited by {by!r})" if by is not None else
                                   "no invitation opens with this code"))
    if not any(by is not None for by in joined.values()):
        print("heard: no invitation opens with this code: it may be mistyped, used or more"
              " than an hour old; run `heard sharing invite` again on a device that has"
              " joined", file=sys.stderr)
        return 1
    engine.share_settings()   # what it could not check before, now
    return 0
