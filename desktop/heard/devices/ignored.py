"""What this device ignored in the `Heard` folder for the want of a sharing key, and whether
it still has to join, in words for the status and `heard doctor`.

These are records in the store that heard.devices.keys writes; reading them needs neither the
key, the keyring nor the wire, so the first status of a profile with an IMAP account (what
the tray's icon waits for) loads none of that code (issue 25: start-up).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta

from heard.config import ImapAccount
from heard.domain.wording import plural
from heard.store import Store

UNTRUSTED_KEY = "sharing-untrusted:"
JOIN_KEY = "sharing-join-needed:"
# How long an ignored message stays among the status problems.
SHOWN = timedelta(days=7)


def join_words(account: str) -> str:
    return (f"{account}: this device has not joined your other devices yet, so it signs"
            " nothing and ignores what they wrote in the Heard folder; run `heard sharing"
            " invite` on a device that has joined, then `heard sharing join CODE` here")


def ignored(store: Store, account: str) -> list[dict[str, object]]:
    """The messages of `account`'s Heard folder this device ignored, oldest first."""
    text = store.state(UNTRUSTED_KEY + account)
    try:
        known = json.loads(text) if text else []
    except ValueError:
        return []
    return [i for i in known if isinstance(i, dict)] if isinstance(known, list) else []


def problems(store: Store, accounts: Iterable[ImapAccount], now: datetime) -> list[str]:
    """In words, for the status and `heard doctor`."""
    found = []
    for account in accounts:
        if store.state(JOIN_KEY + account.name):
            found.append(join_words(account.name))
        recent = []
        for item in ignored(store, account.name):
            try:
                at = datetime.fromisoformat(str(item["at"]))
            except (KeyError, ValueError):
                continue
            if at >= now - SHOWN:
                recent.append(item)
        if not recent:
            continue
        last = recent[-1]
        # The wire's code (and the IMAP client under it) only when there is one to name.
        from heard.devices.wire.trust import Verdict

        try:
            why = Verdict(str(last["verdict"])).words()
        except ValueError:
            why = str(last["verdict"])
        found.append(
            f"{account.name}: {plural(len(recent), 'message')} in the Heard folder"
            f" {'was' if len(recent) == 1 else 'were'} not written by your devices and"
            f" {'was' if len(recent) == 1 else 'were'} ignored (the last, a {last['what']}:"
            f" {why}); if one of your devices wrote them, let it join: `heard sharing"
            f" invite` on a device that has joined, `heard sharing join CODE` there")
    return found
