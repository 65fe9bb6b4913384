"""Start -> tray icon with the right count, with a store of 100,000 past contacts.

    python benchmarks/heard_startup.py [--contacts 100000] [--runs 5]

Builds a profile whose store holds N answered inquiries from 500 clients (plus five
waiting), then runs benchmarks/startup.py: the bare PySide6 tray floor and
`heard --profile P --exit-when-shown` in the same desktop session, each under
/usr/bin/time -v. Prints both and the ratios (DESIGN.md aims: time within 2x the floor,
memory within 1.5x).
"""

from __future__ import annotations

import argparse
import random
import shlex
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from heard.config import ConfigFile
from heard.domain.clients import Channel, Client
from heard.domain.ids import ClientId
from heard.domain.inquiries import Inquiry
from heard.mail.maildir import Maildir
from heard.store import Store
from heard.system.paths import Profile

ROOT = Path(__file__).resolve().parents[1]


def build(profile: Profile, contacts: int) -> None:
    profile.create()
    inbox = Maildir(profile.root / "INBOX")
    inbox.create()
    ConfigFile(profile.config).append("accounts", {"name": "bench", "kind": "maildir",
                                                   "inbox": str(inbox.path)})
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
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="heard-bench-") as tmp:
        profile = Profile(Path(tmp) / "profile")
        started = time.monotonic()
        build(profile, args.contacts)
        size = profile.database.stat().st_size / 2**20
        print(f"store: {args.contacts} past contacts, {size:.1f} MiB, built in "
              f"{time.monotonic() - started:.1f} s")
        app = f"{shlex.quote(sys.executable)} -m heard --profile {shlex.quote(str(profile.root))}"
        return subprocess.call([sys.executable, str(ROOT / "benchmarks" / "startup.py"),
                                "--runs", str(args.runs), "--app", app])


if __name__ == "__main__":
    raise SystemExit(main())
