"""Acknowledging over SMTP: click -> accepted by the server and filed in Sent, and the
longest stall of the GUI event loop while it happens.

    python benchmarks/send_latency.py [--trials 40] [--badge-trials 15] [--only-badge]
                                      [--rtt-ms 0]

Starts its own Dovecot and Postfix on loopback (tests/support; Postfix needs root), with
the submission port (STARTTLS, AUTH via Dovecot) delivering into Dovecot over LMTP.

1. Click -> done: `engine.replies.acknowledge()` of a waiting client (template, outbox row and
   promise written, SMTP with STARTTLS and AUTH, IMAP APPEND to Sent, each step
   committed), wall time until it returns with the message filed. p50/p95.
   Floor, same run, same servers: a bare smtplib session (STARTTLS, login, send of the
   same size of message) followed by a bare imapclient login + APPEND to Sent.
   Target: within 2x of the floor.
2. GUI stall: a Qt event loop (offscreen) with a 1 ms timer, while the acknowledgement
   runs the way the window runs it (Ops, a worker thread). The longest gap between two
   timer ticks is the longest stall. Floor: the same loop with no send. Target: under
   50 ms (the network is never waited on in the GUI thread).
3. Enter -> badge: the tray (HeardApp, offscreen, watching the account) with the quick-reply
   window open on a waiting client, the send held for Undo (undo_seconds, 5 s): from Enter
   to the tray's icon showing the new count (`badge_shown`, emitted once the icon is set):
   with nothing else going on, and with the previous acknowledgement going out (SMTP,
   APPEND) as Enter is pressed, as when going down the list faster than the Undo delay. A
   held send is let go (`send_held_now`) and finishes before the next trial. Beside it,
   Enter -> the first status read from the store that agrees (`status_applied` with the
   new count: the claim on the server, the outbox write, the read), and how many status
   reads the tray made from Enter to 1.2 s after it (the tick brought forward by the
   change comes 1 s after it). Floor, same run, same window: Enter answered by one
   committed SQLite write on the worker pool and the icon set from it. Target: <= 0.2 s.
   `--rtt-ms N`: the engine's IMAP connections go through a relay that holds each chunk N/2
   ms each way, as a real server N ms away would (the claim before anything is queued is a
   few round trips); the floor is the same.
"""

from __future__ import annotations

import argparse
import contextlib
import email.utils
import os
import smtplib
import socket
import ssl
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))        # tests.support

from tests.support.dovecot import Dovecot, MailUser  # noqa: E402
from tests.support.smtp import Postfix  # noqa: E402

import heard.engine.logins  # noqa: E402
from heard.config import ConfigFile  # noqa: E402
from heard.domain.clients import Client  # noqa: E402
from heard.engine import Engine, Status  # noqa: E402
from heard.system.paths import Profile  # noqa: E402

# No keyring here: every password is the mail user's.
heard.engine.logins.imap_password = lambda account: "secret"
heard.engine.logins.smtp_password = lambda account: "secret"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class SlowRelay:
    """A TCP relay on loopback that holds each chunk `delay` seconds before passing it on,
    each way: a server further away than loopback."""

    def __init__(self, target: int, delay: float) -> None:
        self.target, self.delay = target, delay
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _addr = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target))
            for src, dst in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data:
                break
            time.sleep(self.delay)
            try:
                dst.sendall(data)
            except OSError:
                break
        for sock in (src, dst):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._listener.close()


def profile_for(root: Path, me: MailUser, postfix: Postfix, imap_port: int = 0) -> Profile:
    profile = Profile(root)
    profile.create()
    file = ConfigFile(profile.config)
    file.set_many([("user", "name", "Alex Morgan"), ("user", "addresses", [me.address]),
                   ("standards.default", "ack_within", "30m")])
    file.append("accounts", {
        "name": "work", "kind": "imap", "host": "127.0.0.1",
        "port": imap_port or me.server.imap_port,
        "security": "plain", "username": me.name, "address": me.address,
        "smtp_host": "127.0.0.1", "smtp_port": postfix.starttls_port,
        "smtp_security": "starttls", "smtp_ca_file": str(postfix.cert)})
    return profile


def client_message(me: MailUser, client: MailUser, n: int) -> bytes:
    date = email.utils.format_datetime(datetime.now(UTC))
    return (f"From: Margaret Hale <{client.address}>\r\nTo: {me.address}\r\n"
            f"Subject: Closing documents {n}\r\nMessage-ID: <bench-{n}-{time.time_ns()}"
            f"@hale.example>\r\nDate: {date}\r\n\r\nCould you call me?\r\n").encode()


def waiting(engine: Engine, me: MailUser, client: MailUser, n: int) -> int:
    me.deliver(client_message(me, client, n))
    new = engine.sync().new_inquiries
    if new:
        return new[0]
    # The tray's watcher (IDLE) took it in first.
    end = time.perf_counter() + 30
    while time.perf_counter() < end:
        for inquiry in engine.store.open_inquiries():
            if inquiry.subject == f"Closing documents {n}" and inquiry.id is not None:
                return inquiry.id
        time.sleep(0.01)
    raise SystemExit(f"message {n} was not taken in")


def floor_once(me: MailUser, client: MailUser, postfix: Postfix, raw: bytes,
               context: ssl.SSLContext) -> float:
    import imapclient

    start = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", postfix.starttls_port, timeout=30) as smtp:
        smtp.starttls(context=context)
        smtp.login(me.name, "secret")
        smtp.sendmail(me.address, [client.address], raw)
    imap = imapclient.IMAPClient("127.0.0.1", port=me.server.imap_port, ssl=False)
    imap.login(me.name, "secret")
    imap.append("Sent", raw, flags=[b"\\Seen"])
    imap.logout()
    return time.perf_counter() - start


def stall_during(work: object | None, ops: object, app: object) -> float:
    """The longest gap between 1 ms timer ticks while `work` runs on the worker pool."""
    from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer

    from heard.gui.ops import Ops

    assert isinstance(ops, Ops)
    clock = QElapsedTimer()
    clock.start()
    last = [clock.nsecsElapsed()]
    worst = [0]

    def tick() -> None:
        now = clock.nsecsElapsed()
        worst[0] = max(worst[0], now - last[0])
        last[0] = now

    timer = QTimer()
    timer.setInterval(1)
    timer.timeout.connect(tick)
    loop = QEventLoop()
    timer.start()
    if work is None:
        QTimer.singleShot(300, loop.quit)
    else:
        ops.run(work, lambda _r: QTimer.singleShot(20, loop.quit),  # type: ignore[arg-type]
                lambda exc: (print("failed:", exc), loop.quit()))
    loop.exec()
    timer.stop()
    return worst[0] / 1e9


def wait_until(app: object, done: object, timeout: float = 10.0) -> None:
    from PySide6.QtWidgets import QApplication

    assert isinstance(app, QApplication) and callable(done)
    end = time.perf_counter() + timeout
    while not done():
        if time.perf_counter() > end:
            raise SystemExit("timed out waiting")
        app.processEvents()
        time.sleep(0.001)


class Badge:
    """Section 3's figures: Enter -> icon (quiet, and with the last send going out), Enter ->
    the status read that agrees, status reads per Enter, and the floor."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.busy: list[float] = []
        self.read: list[float] = []
        self.reads: list[int] = []
        self.floors: list[float] = []


def enter_to_badge(engine: Engine, me: MailUser, them: MailUser, app: object,
                   trials: int) -> Badge:
    """Enter in the quick-reply window -> the tray's icon with the new count, and the floor
    (Enter -> one committed write on the worker pool -> the icon)."""
    import sqlite3

    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from heard.gui import badge
    from heard.gui.tray import HeardApp

    heard = HeardApp(engine, tray_available=True, send_delay_ms=5000, sleep_bus=None)
    reading = engine.status
    calls = [0]

    def counted() -> Status:
        calls[0] += 1
        return reading()

    engine.status = counted  # type: ignore[method-assign]
    shown: list[tuple[int, float]] = []
    # (status_applied: before the badge had a signal of its own, it changed only with it)
    getattr(heard, "badge_shown", heard.status_applied).connect(
        lambda status: shown.append((status.count, time.perf_counter())))
    read: list[tuple[int, float]] = []
    heard.status_applied.connect(lambda status: read.append((status.count,
                                                             time.perf_counter())))
    heard.start()
    wait_until(app, lambda: heard.status is not None and heard._caught_up)
    heard.ops.wait(30000)
    window = heard.window
    heard.open_window()
    window.activateWindow()
    wait_until(app, window.isActiveWindow)

    def settle() -> None:
        """Nothing left running: no sync, no send, no status read."""
        for _ in range(3):
            heard.ops.wait(30000)
            end = time.perf_counter() + 0.3
            while time.perf_counter() < end:
                app.processEvents()  # type: ignore[attr-defined]
                time.sleep(0.005)

    figures = Badge()
    for n in range(2 * trials):
        # Even trials: nothing else going on. Odd ones: the one before is still held and
        # goes out (SMTP, APPEND to Sent) as Enter is pressed, as when going down the
        # list faster than the Undo delay.
        held = n % 2 == 1
        inquiry_id = waiting(engine, me, them, 2000 + n)
        heard.refresh()
        wait_until(app, lambda: heard.status is not None and heard.status.count == 1)
        window.select(inquiry_id)
        wait_until(app, lambda i=inquiry_id: window.current_id() == i
                   and window.ack_button.isEnabled() and window.reply_ready())
        settle()
        shown.clear()
        read.clear()
        reads = calls[0]
        start = time.perf_counter()
        if held:
            heard.undo_stack.send_held_now()
        QTest.keyClick(window.list, Qt.Key.Key_Return)
        wait_until(app, lambda: any(count == 0 for count, _at in shown))
        (figures.busy if held else figures.times).append(
            next(at for count, at in shown if count == 0) - start)
        wait_until(app, lambda: any(count == 0 for count, _at in read))
        end = start + 1.2
        while time.perf_counter() < end:   # the tick brought forward comes 1 s after
            app.processEvents()  # type: ignore[attr-defined]
            time.sleep(0.005)
        figures.read.append(next(at for count, at in read if count == 0) - start)
        figures.reads.append(calls[0] - reads)
        if held:
            heard.undo_stack.send_held_now()
            settle()

    # The floor: the same Enter on the same window, one committed write, the icon.
    scratch = Path(engine.store.path).with_name("floor.sqlite")
    db = sqlite3.connect(scratch, check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE IF NOT EXISTS t (n INTEGER)")
    window.acknowledge_requested.disconnect()
    floors = figures.floors
    marks: list[float] = []

    def write() -> int:
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO t VALUES (1)")
        db.execute("COMMIT")
        return 0

    def show(count: int) -> None:
        heard.tray.setIcon(badge.icon(count, None))
        window.set_busy(False)
        marks.append(time.perf_counter())

    window.acknowledge_requested.connect(lambda _request: heard.ops.run(write, show))
    inquiry_id = waiting(engine, me, them, 3000)
    heard.refresh()
    wait_until(app, lambda: heard.status is not None and heard.status.count == 1)
    window.select(inquiry_id)
    for _ in range(trials):
        wait_until(app, lambda: window.current_id() == inquiry_id
                   and window.ack_button.isEnabled() and window.reply_ready())
        settle()
        marks.clear()
        start = time.perf_counter()
        QTest.keyClick(window.list, Qt.Key.Key_Return)
        wait_until(app, lambda: bool(marks))
        floors.append(marks[0] - start)
    db.close()
    heard._bridge.engine_event.disconnect()   # the engine lives on into sections 1 and 2
    heard.dispose()
    engine.status = reading  # type: ignore[method-assign]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--badge-trials", type=int, default=15)
    parser.add_argument("--only-badge", action="store_true",
                        help="only Enter -> badge (3): for profiling it")
    parser.add_argument("--rtt-ms", type=float, default=0.0,
                        help="the engine's IMAP server this far away (a relay holds each"
                             " chunk half of it each way); 0: loopback")
    args = parser.parse_args()

    dovecot = Dovecot().start()
    try:
        run(args, dovecot)
    finally:
        dovecot.close()


def run(args: argparse.Namespace, dovecot: Dovecot) -> None:
    with Postfix(dovecot) as postfix:
        me, them = dovecot.add_user(), dovecot.add_user()
        with tempfile.TemporaryDirectory() as tmp:
            relay = SlowRelay(me.server.imap_port, args.rtt_ms / 2000) if args.rtt_ms \
                else None
            engine = Engine.open(profile_for(Path(tmp) / "profile", me, postfix,
                                             relay.port if relay else 0))
            engine.clients.add(Client("Margaret Hale", emails=(them.address,),
                                     preferred_name="Megge", tier="vip"))
            # warm up: first connections, lazy imports, the Sent folder lookup
            engine.replies.acknowledge(waiting(engine, me, them, 0))
            context = ssl.create_default_context(cafile=str(postfix.cert))
            floor_once(me, them, postfix, client_message(me, them, 0), context)

            from PySide6.QtWidgets import QApplication

            app = QApplication.instance() or QApplication([])
            figures = enter_to_badge(engine, me, them, app, args.badge_trials)
            if args.only_badge:
                print_badge(args, figures)
                engine.close()
                return

            times, floors = [], []
            for n in range(1, args.trials + 1):
                inquiry_id = waiting(engine, me, them, n)
                start = time.perf_counter()
                result = engine.replies.acknowledge(inquiry_id)
                times.append(time.perf_counter() - start)
                assert result.state == "filed", result
                raw = engine.store.outbox_item(result.message_id).raw  # type: ignore[union-attr]
                floors.append(floor_once(me, them, postfix, raw, context))

            from heard.gui.ops import Ops

            ops = Ops()
            idle = [stall_during(None, ops, app) for _ in range(5)]
            stalls = []
            for n in range(10):
                inquiry_id = waiting(engine, me, them, 1000 + n)
                stalls.append(stall_during(lambda i=inquiry_id: engine.replies.acknowledge(i),
                                           ops, app))
            ops.close()
            engine.close()

    print(f"Acknowledge over SMTP on loopback ({args.trials} trials; Postfix STARTTLS +"
          " AUTH, APPEND to Sent)")
    print(f"  click -> accepted and filed   p50 {ms(statistics.median(times))}"
          f"   p95 {ms(pct(times, 95))}")
    print(f"  floor: bare smtplib + APPEND  p50 {ms(statistics.median(floors))}"
          f"   p95 {ms(pct(floors, 95))}")
    print(f"  ratio p50 {statistics.median(times) / statistics.median(floors):.2f}x"
          "  (target <= 2x)")
    print("GUI event loop, 1 ms timer (offscreen)")
    print(f"  longest stall during a send   max {ms(max(stalls))}"
          f"   median {ms(statistics.median(stalls))}   (target < 50 ms)")
    print(f"  floor: no send                max {ms(max(idle))}")
    print_badge(args, figures)


def print_badge(args: argparse.Namespace, figures: Badge) -> None:
    times, busy, floors = figures.times, figures.busy, figures.floors
    away = f"IMAP {args.rtt_ms:g} ms away" if args.rtt_ms else "loopback"
    print(f"Enter -> badge in the quick-reply window ({args.badge_trials} trials each; send"
          f" held 5 s for Undo, offscreen, {away})")
    print(f"  Enter -> new count on the icon p50 {ms(statistics.median(times))}"
          f"   min {ms(min(times))}   max {ms(max(times))}   (target <= 200 ms)")
    print(f"  the same, the last one going out p50 {ms(statistics.median(busy))}"
          f"   min {ms(min(busy))}   max {ms(max(busy))}")
    print(f"  Enter -> the status read agrees p50 {ms(statistics.median(figures.read))}"
          f"   min {ms(min(figures.read))}   max {ms(max(figures.read))}")
    print(f"  status reads per Enter (to 1.2 s) median {statistics.median(figures.reads):.0f}"
          f"   min {min(figures.reads)}   max {max(figures.reads)}")
    print(f"  floor: Enter -> one write -> icon p50 {ms(statistics.median(floors))}"
          f"   min {ms(min(floors))}   max {ms(max(floors))}")


if __name__ == "__main__":
    main()
