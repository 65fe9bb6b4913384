"""Start -> tray icon with the right count, with a store of 100,000 past contacts.

    python benchmarks/heard_startup.py [--contacts 100000] [--runs 5] [--imap] [--idle 20]

Builds a profile whose store holds N answered inquiries from 500 clients (plus five
waiting), then runs benchmarks/startup.py: the bare PySide6 tray floor and
`heard --profile P --exit-when-shown` in the same desktop session, each under
/usr/bin/time -v, and each started again and left running for the CPU of its first 10 s
and its RSS at idle. Prints both and the ratios (issue 25's aims: icon and start-up CPU
within 2x the floor, RSS at idle within 1.5x).

The profile's account is a Maildir; with --imap it is an IMAP account instead, on a
Dovecot of its own (tests/support) with its password in a gnome-keyring on a private bus,
as the memory goal is stated ("at idle with one IMAP account").
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shlex
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from heard.config import ConfigFile, ImapAccount
from heard.domain.clients import Channel, Client
from heard.domain.ids import ClientId
from heard.domain.inquiries import Inquiry
from heard.mail.maildir import Maildir
from heard.store import Store
from heard.system.paths import Profile

ROOT = Path(__file__).resolve().parents[1]


def build(profile: Profile, contacts: int, account: dict[str, object] | None = None) -> None:
    """The profile, its one account a Maildir or the given one."""
    profile.create()
    if account is None:
        inbox = Maildir(profile.root / "INBOX")
        inbox.create()
        account = {"name": "bench", "kind": "maildir", "inbox": str(inbox.path)}
    ConfigFile(profile.config).append("accounts", account)
    now = datetime.now(UTC)
    rng = random.Random(1)
    with Store(profile.database) as store:
        ids = [store.add_client(Client(f"Client {i}", emails=(f"c{i}@client{i}.example",)),
                                now).id for i in range(500)]
        with store.transaction() as conn:
            rows = []
            for n in range(contacts):
                at = now - timedelta(minutes=rng.randint(60, 3 * 365 * 24 * 60))
                rows.append((ids[n % len(ids)], Channel.EMAIL.value, at.isoformat(),
                             f"Matter {n}", f"c{n % 500}@x.example", f"<{n}@bench>", "",
                             "answered", None, (at + timedelta(hours=2)).isoformat(), "bench"))
            conn.executemany(
                "INSERT INTO inquiries (client_id, channel, received_at, subject, sender,"
                " message_id, preview, state, acknowledged_at, closed_at, account)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            conn.executemany("INSERT INTO inquiry_threads VALUES (?, ?)",
                             [(n + 1, f"<{n}@bench>") for n in range(contacts)])
        for i in range(5):
            store.add_inquiry(Inquiry(client_id=ClientId(ids[i] or 0), channel=Channel.EMAIL,
                                      received_at=now - timedelta(minutes=i), subject="Now",
                                      sender=f"c{i}@client{i}.example",
                                      message_id=f"<w{i}@bench>"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--idle", type=float, default=20.0,
                        help="seconds after launch to read the idle RSS (0: skip)")
    parser.add_argument("--imap", action="store_true",
                        help="one IMAP account (own Dovecot and keyring) instead of a Maildir")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="heard-bench-") as tmp, \
            contextlib.ExitStack() as servers:
        profile = Profile(Path(tmp) / "profile")
        started = time.monotonic()
        account, env = imap_account(servers) if args.imap else (None, {})
        build(profile, args.contacts, account)
        size = profile.database.stat().st_size / 2**20
        print(f"store: {args.contacts} past contacts, {size:.1f} MiB, built in "
              f"{time.monotonic() - started:.1f} s; account: {'IMAP' if args.imap else 'Maildir'}")
        app = f"{shlex.quote(sys.executable)} -m heard --profile {shlex.quote(str(profile.root))}"
        return subprocess.call([sys.executable, str(ROOT / "benchmarks" / "startup.py"),
                                "--runs", str(args.runs), "--idle", str(args.idle),
                                "--app", app, *(f"--env={k}={v}" for k, v in env.items())])


def imap_account(servers: contextlib.ExitStack) -> tuple[dict[str, object], dict[str, str]]:
    """An IMAP account on a Dovecot of its own, its password in a keyring on a private bus;
    and the environment that finds that keyring."""
    from tests.support.dovecot import Dovecot
    from tests.support.keyring import KeyringService

    dovecot = Dovecot().start()
    servers.callback(dovecot.close)
    user = dovecot.add_user()
    keyring = servers.enter_context(KeyringService())
    account = ImapAccount("bench", "127.0.0.1", 0, "plain", user.name)
    subprocess.run([sys.executable, "-c", "import sys; from heard.system import secrets;"
                    " secrets.store_password(sys.argv[1], sys.argv[2])",
                    account.keyring_name, user.password], env={**os.environ, **keyring.env},
                   check=True)
    return ({"name": "bench", "kind": "imap", "host": "127.0.0.1",
             "port": user.server.imap_port, "security": "plain", "username": user.name,
             "address": user.address}, keyring.env)


if __name__ == "__main__":
    raise SystemExit(main())
