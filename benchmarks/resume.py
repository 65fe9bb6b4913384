"""Resume from sleep -> the mail that came meanwhile is in the store.

    python benchmarks/resume.py [--trials 10]

Starts its own Dovecot and a private D-Bus (tests/support), and puts a relay between Heard
and Dovecot that can "sleep" (tests/support/relay.py): asleep, every open connection goes
dead without either end knowing, as after a real suspend; after the wake new connections
work. Each trial: the engine watches the account over IDLE (the tray's way: its watchers,
its kept connections, heard.system.sleep.SleepWatcher on the bus calling Engine.resumed on
a thread of its own, as the tray's worker pool does); the relay sleeps, a client's message
is APPENDed to Dovecot directly, the relay wakes, and the clock starts as logind's
PrepareForSleep(false) is sent. It stops at the engine's "changed" event with the new
inquiry (the sync that caught up has committed it).

Floor, in the same run through the same relay: what any client must do after a resume to
see the message: a new connection (connect, LOGIN, SELECT INBOX) and a UID SEARCH + FETCH
of the new message's envelope. Without the signal, Heard would notice only when its IDLE is
renewed (up to 9 minutes) and that renewal's DONE times out (30 s), then reconnect: minutes.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import imapclient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))        # tests.support

from tests.support.dovecot import Dovecot, MailUser  # noqa: E402
from tests.support.keyring import KeyringService  # noqa: E402
from tests.support.logind import Logind  # noqa: E402
from tests.support.relay import Relay  # noqa: E402

import heard.engine.logins  # noqa: E402
from heard.config import ConfigFile  # noqa: E402
from heard.domain.clients import Client  # noqa: E402
from heard.engine import Engine, EngineEvent  # noqa: E402
from heard.system.paths import Profile  # noqa: E402
from heard.system.sleep import SleepWatcher  # noqa: E402

# The benchmark has no keyring: the account's password is the mail user's.
heard.engine.logins.imap_password = lambda account: "secret"

MESSAGE = (b"From: Margaret Hale <margaret@hale.example>\r\nTo: %s\r\n"
           b"Subject: While you slept %d\r\nMessage-ID: <resume-%d@hale.example>\r\n"
           b"Date: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n"
           b"Are you back? Please call me.\r\n")


def client_mail(user: MailUser, n: int) -> bytes:
    date = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000").encode()
    return MESSAGE % (user.address.encode(), n, n, date)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while not check():
        if time.monotonic() > end:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.02)


def make_profile(root: Path, user: MailUser, port: int) -> Profile:
    profile = Profile(root)
    profile.create()
    file = ConfigFile(profile.config)
    file.set("user", "name", "Alex Morgan")
    file.set("user", "addresses", [user.address])
    file.set("user", "timezone", "Europe/Berlin")
    file.append("accounts", {"name": "work", "kind": "imap", "host": "127.0.0.1",
                             "port": port, "security": "plain", "username": user.name,
                             "address": user.address})
    return profile


def append(user: MailUser, n: int) -> None:
    client = user.client()
    client.append("INBOX", client_mail(user, n))
    client.logout()


def floor(user: MailUser, relay: Relay, trials: int) -> list[float]:
    times = []
    last_uid = 0
    for n in range(trials):
        relay.sleep()
        append(user, 500 + n)
        relay.wake()
        started = time.perf_counter()
        client = imapclient.IMAPClient("127.0.0.1", port=relay.port, ssl=False, timeout=30)
        client.login(user.name, user.password)
        client.select_folder("INBOX", readonly=True)
        uids = client.search(["UID", f"{last_uid + 1}:*"])
        fetched = client.fetch(uids, ["ENVELOPE"])
        took = time.perf_counter() - started
        if not any(b"While you slept" in (f[b"ENVELOPE"].subject or b"")
                   for f in fetched.values()):
            raise SystemExit("floor: the new message was not found")
        last_uid = max(uids)
        client.logout()
        times.append(took)
    return times


def heard_resume(root: Path, user: MailUser, relay: Relay, bus: str,
                 trials: int) -> list[float]:
    engine = Engine.open(make_profile(root, user, relay.port))
    engine.clients.add(Client("Margaret Hale", emails=("margaret@hale.example",)))
    arrived = threading.Event()

    def listener(event: EngineEvent) -> None:
        if event.kind == "changed" and event.new:
            arrived.set()

    def resumed() -> None:   # as the tray does: Engine.resumed off the signal's thread
        threading.Thread(target=engine.resumed, name="resumed", daemon=True).start()

    engine.subscribe(listener)
    engine.start_watching()
    logind = Logind(bus)
    logind.become()
    sleep = SleepWatcher(resumed, bus=bus)
    if not sleep.start():
        raise SystemExit("the sleep watcher could not listen on the private bus")
    times = []
    try:
        for n in range(trials):
            wait_for(lambda: any(h.online and h.push and h.last_sync for h in engine.accounts()),
                     30, "the engine's watchers to connect")
            time.sleep(1.0)   # both watchers in IDLE, their catch-up syncs done
            arrived.clear()
            logind.say(True)
            relay.sleep()
            append(user, n)
            relay.wake()
            started = time.perf_counter()
            logind.say(False)
            if not arrived.wait(30):
                raise SystemExit("heard: no new-inquiry event within 30 s of the resume")
            times.append(time.perf_counter() - started)
    finally:
        sleep.stop()
        logind.close()
        engine.close()
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="heard-resume-") as tmp, \
            KeyringService() as bus:
        server = Dovecot().start()
        relay = Relay(server.imap_port)
        try:
            print(f"Dovecot on 127.0.0.1:{server.imap_port}, through a relay on"
                  f" :{relay.port}; a private D-Bus at {bus.bus_address}")
            floor_times = floor(server.add_user(), relay, args.trials)
            ours = heard_resume(Path(tmp) / "profile", server.add_user(), relay,
                                bus.bus_address, args.trials)
        finally:
            relay.close()
            server.close()
    print(f"\nresume -> the new mail in the store, {args.trials} trials")
    rows = [("floor: new connection, LOGIN, SELECT, SEARCH, FETCH", floor_times),
            ("heard: PrepareForSleep(false) -> new-inquiry event", ours)]
    print(f"  {'':52}  {'p50':>11}  {'max':>11}  {'min':>11}")
    for name, times in rows:
        print(f"  {name:52}  {ms(statistics.median(times))}  {ms(max(times))}"
              f"  {ms(min(times))}")
    ratio = statistics.median(ours) / statistics.median(floor_times)
    print(f"  heard p50 / floor p50: {ratio:.1f}x;  heard p50 - floor p50:"
          f" {(statistics.median(ours) - statistics.median(floor_times)) * 1000:.0f} ms")
    print("  without the signal: up to the IDLE renewal (9 min) plus its DONE timing out"
          " (30 s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
