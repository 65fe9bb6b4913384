"""Toasts on a real desktop: Heard (a real process) on Xvfb with a real tray host (XEmbed and
StatusNotifierItem) and dunst on a private session bus.

What Heard asks of the notification server is read off the bus with dbus-monitor; actions
are chosen through dunst itself (`dunstctl context` runs its menu program, a script here that
picks the wanted line), so the ActionInvoked signal is dunst's own. One desktop and one Heard
per tray kind serve all the tests of this module. Screenshots go to artifacts/ (or
$HEARD_ARTIFACTS).
"""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from heard.config import ConfigFile
from heard.domain.clients import Client
from heard.engine import Engine
from heard.system.paths import Profile
from tests.support.desktop import DesktopSession
from tests.support.mail import MailFolders, drop, message

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("HEARD_ARTIFACTS", ROOT / "artifacts"))
MEGGE = "Margaret Hale <margaret@hale.example>"
RAJ = "Rajesh Patel <raj@patel-eng.example>"
TEN = [Client(name, emails=(f"{name.split()[0].lower()}@{name.split()[1].lower()}.example",))
       for name in ("Ada Lovelace", "Grace Hopper", "Alan Turing", "Edsger Dijkstra",
                    "Barbara Liskov", "Donald Knuth", "Frances Allen", "John Backus",
                    "Margaret Hamilton", "Dennis Ritchie")]
# Real parts, never skipped: DesktopSession names any missing package.
pytestmark = pytest.mark.desktop


# what the bus carries


@dataclass
class BusMessage:
    kind: str                 # "method call", "method return", "signal", "error"
    header: dict[str, str]
    lines: list[str] = field(default_factory=list)

    @property
    def member(self) -> str:
        return self.header.get("member", "")

    def strings(self) -> list[str]:
        return re.findall(r'^\s*string "(.*)"$', "\n".join(self.lines), re.MULTILINE)

    def numbers(self) -> list[int]:
        return [int(n) for n in re.findall(r"^\s*u?int32 (\d+)$", "\n".join(self.lines),
                                           re.MULTILINE)]


HINT = re.compile(r'string "([^"]+)"\n\s*variant\s+(?:string "([^"]*)"|(\S+ \S+))')


@dataclass(frozen=True)
class NotifyCall:
    sender: str
    serial: str
    app_name: str
    replaces_id: int
    summary: str
    actions: list[str]
    hints: dict[str, str]


def notify_call(msg: BusMessage) -> NotifyCall:
    """The arguments of a Notify call as dbus-monitor prints them (the body text may span
    lines, so only what comes before it and the two arrays after it are read)."""
    lines = msg.lines
    app_name = re.fullmatch(r'\s*string "(.*)"', lines[0])
    replaces = re.fullmatch(r"\s*uint32 (\d+)", lines[1])
    summary = re.fullmatch(r'\s*string "(.*)"', lines[3])
    assert app_name and replaces and summary, lines[:5]
    arrays = [i for i, line in enumerate(lines) if line == "   array ["]
    ends = [i for i, line in enumerate(lines) if line == "   ]"]
    actions_at, hints_at = arrays[-2], arrays[-1]
    actions_end = min(e for e in ends if e > actions_at)
    actions = re.findall(r'^\s*string "(.*)"$', "\n".join(lines[actions_at:actions_end]),
                         re.MULTILINE)
    hints = {key: text or other for key, text, other in
             re.findall(HINT, "\n".join(lines[hints_at:]))}
    return NotifyCall(msg.header.get("sender", ""), msg.header.get("serial", ""),
                      app_name.group(1),
                      int(replaces.group(1)), summary.group(1), actions, hints)


class BusWatch:
    """dbus-monitor on the session bus: Notifications calls, signals, and every method
    return (to learn the id each Notify got). Read with os.read + select, never readline."""

    START = re.compile(r"^(method call|method return|signal|error) (.*)$")

    def __init__(self, desk: DesktopSession) -> None:
        self.proc = desk.popen(
            ["dbus-monitor", "--session",
             "type='method_call',interface='org.freedesktop.Notifications'",
             "type='signal',interface='org.freedesktop.Notifications'",
             "type='method_return'"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert self.proc.stdout is not None
        self._fd = self.proc.stdout.fileno()
        self._buf = b""
        self.messages: list[BusMessage] = []

    def _read(self, timeout: float) -> bool:
        """Read what is there (waiting up to `timeout` for the first byte); True if any."""
        ready, _, _ = select.select([self._fd], [], [], timeout)
        got = bool(ready)
        while ready:
            chunk = os.read(self._fd, 65536)
            if not chunk:
                break
            self._buf += chunk
            ready, _, _ = select.select([self._fd], [], [], 0)
        *complete, self._buf = self._buf.split(b"\n")
        for raw in complete:
            line = raw.decode(errors="replace")
            start = self.START.match(line)
            if start:
                header = dict(re.findall(r"(\w+)=([^ ;]+)", start.group(2)))
                self.messages.append(BusMessage(start.group(1), header))
            elif self.messages:
                self.messages[-1].lines.append(line)
        return got

    def _drain(self, quiet: float = 0.2) -> None:
        """Read until dbus-monitor has been silent for `quiet` seconds (it writes a message
        line by line, so one read can end inside a message)."""
        while self._read(quiet):
            pass

    def mark(self) -> int:
        self._drain(0.05)
        return len(self.messages)

    def wait_for(self, what: str, found: Callable[[list[BusMessage]], object],
                 since: int = 0, timeout: float = 20.0) -> object:
        deadline = time.monotonic() + timeout
        while True:
            self._read(0.1)
            result = found(self.messages[since:])
            if result:
                self._drain()   # the rest of the message may still be on its way
                return found(self.messages[since:])
            if time.monotonic() > deadline:
                seen = [(m.kind, m.member, m.strings()[:4]) for m in self.messages[since:]
                        if m.kind != "method return"]
                raise AssertionError(f"no {what} on the bus within {timeout} s; saw {seen}")

    def notifies(self, since: int = 0) -> list[NotifyCall]:
        return [notify_call(m) for m in self.messages[since:]
                if m.kind == "method call" and m.member == "Notify"]

    def id_of(self, call: NotifyCall) -> int | None:
        """The id the server gave the notification of this Notify call."""
        for m in self.messages:
            if (m.kind == "method return" and m.header.get("reply_serial") == call.serial
                    and m.header.get("destination") == call.sender):
                numbers = m.numbers()
                if numbers:
                    return numbers[0]
        return None

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# one desktop and one Heard per tray kind


@dataclass
class Desk:
    tray: str
    session: DesktopSession
    bus: BusWatch
    mail: MailFolders
    profile: Profile
    menu_dir: Path
    heard: subprocess.Popen[bytes]

    def choose(self, *parts: str) -> str:
        """Invoke, through dunst's context menu, the action whose menu line has all `parts`
        (dunst 1.9 lists them as "#Acknowledge (Rajesh wrote) [3,ack]")."""
        (self.menu_dir / "want").write_text("\n".join(parts) + "\n")
        (self.menu_dir / "menu.txt").unlink(missing_ok=True)
        r = self.session.run(["dunstctl", "context"], timeout=10)
        assert r.returncode == 0, r.stderr
        menu = self.menu_dir / "menu.txt"
        deadline = time.monotonic() + 10
        while not menu.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        return menu.read_text() if menu.exists() else ""

    def clear(self) -> None:
        """Close every notification (and let Heard hear of it)."""
        since = self.bus.mark()
        shown = self.session.notification_counts().get("displayed", 0)
        self.session.run(["dunstctl", "close-all"], timeout=10)
        if shown:
            self.bus.wait_for("NotificationClosed", lambda ms: [
                m for m in ms if m.member == "NotificationClosed"], since)
        time.sleep(0.3)

    def shot(self, name: str, settle: float = 0.4) -> Path:
        time.sleep(settle)   # let dunst draw
        return self.session.screenshot(ARTIFACTS / f"notifications-{self.tray}-{name}.png")


MENU_SCRIPT = """#!/bin/sh
# dunst's menu: it pipes the actions in, one a line; print the one the test wants.
dir=$(dirname "$0")
cat > "$dir/menu.tmp"
mv "$dir/menu.tmp" "$dir/menu.txt"
while IFS= read -r line; do
  [ -n "$line" ] || continue
  grep -F -- "$line" "$dir/menu.txt" > "$dir/match.tmp" || exit 0
  cp "$dir/match.tmp" "$dir/menu.match"
done < "$dir/want"
head -n 1 "$dir/menu.match"
"""


def make_profile(root: Path, mail: MailFolders) -> Profile:
    profile = Profile(root / "profile")
    profile.create()
    file = ConfigFile(profile.config)
    file.set("user", "name", "Alex Morgan")
    file.set("user", "addresses", ["alex@morgan-law.example"])
    file.set("standards.vip", "ack_within", "10m")
    file.set("replies", "undo_seconds", 2)
    file.append("accounts", {"name": "work", "kind": "maildir", "inbox": str(mail.inbox.path),
                             "sent": str(mail.sent.path), "outbox": str(mail.outbox.path),
                             "address": "alex@morgan-law.example"})
    engine = Engine.open(profile)
    try:
        for client in (Client("Margaret Hale", emails=("margaret@hale.example",),
                              preferred_name="Megge", tier="vip"),
                       Client("Rajesh Patel", domains=("patel-eng.example",)), *TEN):
            engine.clients.add(client)
    finally:
        engine.close()
    return profile


def wait_log(path: Path, pattern: str, proc: subprocess.Popen[bytes],
             timeout: float = 30.0) -> re.Match[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and (found := re.search(pattern, path.read_text(errors="replace"))):
            return found
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise AssertionError(f"no {pattern!r} in {path}; exit {proc.poll()}; log:\n"
                         + (path.read_text(errors="replace") if path.exists() else "(none)"))


@pytest.fixture(scope="module", params=["xembed", "sni"])
def desk(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[Desk]:
    tray = str(request.param)
    root = tmp_path_factory.mktemp(f"notify-{tray}")
    menu_dir = root / "menu"
    menu_dir.mkdir()
    script = menu_dir / "dmenu.sh"
    script.write_text(MENU_SCRIPT)
    script.chmod(0o755)
    mail = MailFolders.create(root / "mail")
    profile = make_profile(root, mail)
    home = root / "home"
    with DesktopSession(tray=tray, dmenu=str(script),
                        log_dir=os.environ.get("HEARD_DESKTOP_LOGS") or None) as session:
        bus = BusWatch(session)
        # Only what Heard needs: the desktop's variables, a private home, this profile.
        env = {**session.env, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
               "XDG_DATA_HOME": str(home / ".local/share"),
               "XDG_CACHE_HOME": str(home / ".cache"),
               "XDG_STATE_HOME": str(home / ".local/state"), "HEARD_PROFILE": str(profile.root),
               "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
        heard = subprocess.Popen([sys.executable, "-m", "heard", "--profile",
                                  str(profile.root)], env=env, cwd=root,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            wait_log(profile.log, r"tray: shown with count", heard)
            wait_log(profile.log, r"toasts: freedesktop notifications over D-Bus", heard)
            yield Desk(tray, session, bus, mail, profile, menu_dir, heard)
        finally:
            heard.send_signal(signal.SIGTERM)
            try:
                heard.wait(timeout=10)
            except subprocess.TimeoutExpired:
                heard.kill()
                heard.wait()
            bus.close()
    output = heard.stdout.read().decode(errors="replace") if heard.stdout else ""
    assert heard.returncode == 0, output


def parse(raw: bytes) -> EmailMessage:
    msg = message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def now() -> datetime:
    return datetime.now().astimezone()


def arrive(desk: Desk, sender: str, subject: str) -> None:
    drop(desk.mail.inbox, message(sender, subject), now() - timedelta(seconds=20))


def summaries(calls: list[NotifyCall]) -> list[str]:
    return [c.summary for c in calls]


# the tests


def test_a_client_message_makes_a_notification_with_actions(desk: Desk) -> None:
    desk.clear()
    since = desk.bus.mark()
    arrive(desk, MEGGE, "Closing documents")
    desk.bus.wait_for("Notify for Megge", lambda ms: [
        m for m in ms if m.member == "Notify" and "Megge wrote" in m.strings()], since)
    (call,) = [c for c in desk.bus.notifies(since) if c.summary == "Megge wrote"]
    assert call.app_name == "Heard" and call.replaces_id == 0
    # One "Open" (the click); dunst listed a second "open" action twice.
    assert call.actions == ["ack", "Acknowledge", "mail", "Open in mail", "snooze",
                            "Snooze 1 hour", "default", "Open"]
    assert call.hints["category"] == "email.arrived"
    assert call.hints["desktop-entry"] == "heard"
    # A VIP writing is not a breach: normal urgency, and it expires.
    assert call.hints["urgency"] == "byte 1"
    shot = desk.shot("new-message")
    assert shot.stat().st_size > 0
    assert desk.session.notification_counts()["displayed"] >= 1


def test_acknowledge_on_the_notification_sends_the_acknowledgement(desk: Desk) -> None:
    desk.clear()
    since = desk.bus.mark()
    arrive(desk, RAJ, "Drawings for the extension")
    desk.bus.wait_for("Notify for Rajesh", lambda ms: [
        m for m in ms if m.member == "Notify" and "Rajesh wrote" in m.strings()], since)
    desk.shot("before-acknowledge")
    menu = desk.choose("(Rajesh wrote)", ",ack]")
    assert "#Acknowledge (Rajesh wrote)" in menu and "#Open (Rajesh wrote)" in menu, menu
    assert menu.count("#Open (Rajesh wrote)") == 1, menu
    # dunst itself tells Heard which action was chosen.
    invoked = desk.bus.wait_for("ActionInvoked", lambda ms: [
        m for m in ms if m.member == "ActionInvoked" and m.strings() == ["ack"]], since)
    assert invoked
    desk.bus.wait_for("the Undo notification", lambda ms: [
        m for m in ms if m.member == "Notify"
        and "Acknowledgement to Rajesh goes out in 2 s" in m.strings()], since)
    held = next(c for c in desk.bus.notifies(since)
                if c.summary == "Acknowledgement to Rajesh goes out in 2 s")
    desk.shot("acknowledge-undo", settle=0.1)
    assert held.actions[:2] == ["undo", "Undo"]
    # The toast acted on is taken off the screen; the one saying what happens stays.
    assert [m for m in desk.bus.messages[since:] if m.member == "CloseNotification"]

    deadline = time.monotonic() + 20
    replies: list[EmailMessage] = []
    while time.monotonic() < deadline and not replies:
        replies = [m for m in (parse(raw) for raw in desk.mail.outbox_messages())
                   if "raj@patel-eng.example" in str(m["To"])]
        time.sleep(0.1)
    assert len(replies) == 1, "the acknowledgement did not reach the outbox"
    assert replies[0]["Subject"] == "Re: Drawings for the extension"
    desk.bus.wait_for("the Sent notification", lambda ms: [
        m for m in ms if m.member == "Notify"
        and any(s == "Sent: acknowledgement to Rajesh"
                for s in m.strings())], since)
    sent = next(c for c in desk.bus.notifies(since) if c.summary.startswith("Sent:"))
    held_id = desk.bus.id_of(held)
    assert held_id is not None and sent.replaces_id == held_id   # updated in place


def test_ten_arrivals_at_once_make_one_summary_notification(desk: Desk) -> None:
    desk.clear()
    since = desk.bus.mark()
    for n, client in enumerate(TEN):
        drop(desk.mail.inbox, message(f"{client.name} <{client.emails[0]}>",
                                      f"Question {n}"), now() - timedelta(seconds=30 - n))
    desk.bus.wait_for("the summary of ten", lambda ms: [
        m for m in ms if m.member == "Notify"
        and any(re.fullmatch(r"1\d clients waiting", s) for s in m.strings())], since)
    time.sleep(1.0)   # anything later would be a flood
    calls = [c for c in desk.bus.notifies(since) if "waiting" in c.summary
             or c.summary.endswith(" wrote")]
    # Everyone waiting counted (the ten, and Megge if an earlier test left her waiting),
    # three named and the rest counted: it adds up.
    count = int(calls[-1].summary.split()[0])
    assert count >= 10, summaries(calls)
    body = "\n".join([m for m in desk.bus.messages[since:] if m.member == "Notify"
                      and calls[-1].summary in m.strings()][-1].lines)
    assert re.search(rf"string \"(\w+, ){{2}}\w+ and {count - 3} more\"", body), body
    # One notification: the first Notify made it, any later one only replaced it.
    first_id = desk.bus.id_of(calls[0])
    assert calls[0].replaces_id == 0
    assert all(c.replaces_id == first_id for c in calls[1:]), (
        first_id, [(c.summary, c.replaces_id) for c in calls])
    assert calls[-1].actions == ["default", "Open"]
    assert desk.session.notification_counts()["displayed"] == 1
    desk.shot("ten-arrivals")


def test_hostile_mail_reaches_dunst_as_text(desk: Desk) -> None:
    """Issue 24, 3: the corpus through Heard's real intake into dunst (which reads markup
    in bodies, as shipped): what dunst was given to draw holds the tags as text."""
    import json

    from tests.support.hostile import SAMPLES

    by_name = {s.name: s for s in SAMPLES}
    for name, title in (("markup", "Megge wrote"), ("long", "New: Dana Scully")):
        desk.clear()
        since = desk.bus.mark()
        sample = by_name[name]
        drop(desk.mail.inbox, message(sample.sender, sample.subject, body=sample.body),
             now() - timedelta(seconds=20))
        desk.bus.wait_for(f"Notify for {title}", lambda ms, t=title: [
            m for m in ms if m.member == "Notify" and t in m.strings()], since)
        desk.shot(f"hostile-{name}")
        desk.clear()
        r = desk.session.run(["dunstctl", "history"], timeout=10)
        entry = next(e for e in json.loads(r.stdout)["data"][0]
                     if e["summary"]["data"] == title)
        drawn = entry["message"]["data"].split("\n", 1)[1]
        if name == "markup":
            assert drawn.startswith('&lt;span foreground="yellow" size="xx-large"&gt;Wire 50k')
            assert "<span" not in drawn
        else:   # 10,000 characters cut to what a toast holds
            assert drawn.startswith("Long xxx") and drawn.endswith("…") and len(drawn) < 200
