"""`heard demo`: a fresh profile with clients, a Maildir, a calendar, and new mail arriving.

Everything is local (no account, no network), so a new user sees the whole loop: the
badge climbs as clients write, one click acknowledges, the count falls.
"""

from __future__ import annotations

import email.utils
import logging
import os
import random
import tempfile
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

from heard.config import ConfigFile
from heard.domain.clients import Channel, Client
from heard.domain.inquiries import InquiryState
from heard.mail.maildir import Maildir
from heard.store import Store
from heard.system.paths import Profile

log = logging.getLogger(__name__)

USER = ("Alex Morgan", "alex@morgan-law.example")
DEMO_DOMAIN = "morgan-law.example"
# The demo's assistant: mail to them goes, as every reply does, into the demo's own outbox
# Maildir (mail/Outbox), so Delegate works with no account and nothing leaves the machine.
ASSISTANT = ("Jordan Lee", f"jordan@{DEMO_DOMAIN}")
SEEDED_MARKER = "demo-profile"

CLIENTS = (
    Client("Margaret Hale", emails=("margaret.hale@halefamily.example",),
           preferred_name="Megge", tier="vip", phones=("+1 415 555 0134",),
           preferences={"detail": "brief", "status_reports": "weekly"}),
    Client("Rajesh Patel", domains=("patel-engineering.example",), preferred_name="Raj",
           preferences={"detail": "full"}),
    Client("Sofia Lindqvist", emails=("sofia@lindqvist.example",), channel=Channel.CALL,
           phones=("+46 8 555 012 34",)),
    Client("Tom Becker", emails=("tom.becker@brightline.example",)),
    Client("Acme Logistics", domains=("acme-logistics.example",), tier="vip",
           preferred_name="Dana"),
    Client("Nina Okafor", emails=("nina@okafor-design.example",)),
    Client("Greenfield Architects", domains=("greenfield-arch.example",),
           preferred_name="Paul"),
    Client("Henrik Sørensen", emails=("henrik@sorensen.example",), tier="vip"),
)

# New people who may become clients: when every client is waiting, one of them writes
# (each once), so the demo stays lively without a waiting client writing again.
NEWCOMERS = (
    ("Lena Hoffmann", "lena@hoffmann-studio.example"),
    ("Marco Bianchi", "marco.bianchi@bianchi-imports.example"),
    ("Aisha Karim", "aisha@karim-consulting.example"),
)
NEW_MATTER = ("Looking for advice", "A friend recommended you. We are about to sign a lease"
              " for our first shop; could you look at it this week?")
# Who writes, from which address, and about what: the generator draws from these.
WRITERS = (
    ("Margaret Hale", "margaret.hale@halefamily.example"),
    ("Rajesh Patel", "raj@patel-engineering.example"),
    ("Sofia Lindqvist", "sofia@lindqvist.example"),
    ("Tom Becker", "tom.becker@brightline.example"),
    ("Dana Whitfield", "dana.whitfield@acme-logistics.example"),
    ("Nina Okafor", "nina@okafor-design.example"),
    ("Paul Greenfield", "paul@greenfield-arch.example"),
    ("Henrik Sørensen", "henrik@sorensen.example"),
)
SUBJECTS = (
    ("Closing documents", "Can we go through the closing documents today? The bank wants "
     "them signed by Friday."),
    ("Question about the lease", "The landlord sent a new clause about subletting. Is that "
     "something we should push back on?"),
    ("Urgent: inspection report", "The inspector flagged the retaining wall. What does this "
     "mean for the schedule?"),
    ("Invoice 2026-114", "Quick question on the last invoice: is the site visit included?"),
    ("Call me when you can", "Something came up with the supplier contract. Please call."),
    ("Follow-up on yesterday", "Thanks for yesterday. One more thing I forgot to ask..."),
)


def _message(name: str, addr: str, subject: str, body: str, at: datetime,
             extra: dict[str, str] | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = email.utils.formataddr((name, addr))
    msg["To"] = email.utils.formataddr(USER)
    msg["Subject"] = subject
    msg["Date"] = email.utils.format_datetime(at)
    msg["Message-ID"] = email.utils.make_msgid(domain=addr.rpartition("@")[2])
    for key, value in (extra or {}).items():
        msg[key] = value
    msg.set_content(body)
    return bytes(msg)


def _drop(maildir: Maildir, raw: bytes, at: datetime) -> None:
    entry = maildir.deliver(raw)
    stamp = at.timestamp()
    os.utime(entry.path, (stamp, stamp))


def _calendar(now: datetime) -> str:
    def stamp(at: datetime) -> str:
        return at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")

    start = now.replace(second=0, microsecond=0) - timedelta(minutes=25)
    events = [
        ("demo-deposition", "Deposition: Harlow v. Finch", start, start + timedelta(minutes=75),
         ""),
        ("demo-client-call", "Call with Acme Logistics", start + timedelta(minutes=90),
         start + timedelta(minutes=120), ""),
        ("demo-focus", "Focus time (shown as free)", start + timedelta(hours=3),
         start + timedelta(hours=4), "TRANSP:TRANSPARENT\r\n"),
    ]
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Heard//demo//EN"]
    for uid, summary, s, e, extra in events:
        lines += ["BEGIN:VEVENT", f"UID:{uid}", f"DTSTAMP:{stamp(now)}",
                  f"DTSTART:{stamp(s)}", f"DTEND:{stamp(e)}", f"SUMMARY:{summary}"]
        if extra:
            lines.append(extra.strip())
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


@dataclass(frozen=True)
class DemoPaths:
    inbox: Path
    sent: Path
    outbox: Path
    calendar: Path

    @classmethod
    def of(cls, profile: Profile) -> DemoPaths:
        mail = profile.root / "mail"
        return cls(mail / "INBOX", mail / "Sent", mail / "Outbox",
                   profile.root / "calendar" / "demo.ics")


def create_demo_profile(root: Path | None = None, now: datetime | None = None) -> Profile:
    """A seeded demo profile; an existing demo profile is reused as it is."""
    profile = Profile(root if root else Path(tempfile.mkdtemp(prefix="heard-demo-")))
    marker = profile.root / SEEDED_MARKER
    if marker.exists():
        return profile
    if profile.root.exists() and any(profile.root.iterdir()):
        raise FileExistsError(f"{profile.root} is not empty and holds no demo: give "
                              "--profile a new folder")
    profile.create()
    now = now or datetime.now(UTC)
    paths = DemoPaths.of(profile)
    for folder in (paths.inbox, paths.sent, paths.outbox):
        Maildir(folder).create()
    paths.calendar.parent.mkdir(parents=True, exist_ok=True)
    paths.calendar.write_text(_calendar(now), encoding="utf-8")

    file = ConfigFile(profile.config)
    file.ensure()
    file.set("user", "name", USER[0])
    file.set("user", "addresses", [USER[1]])
    file.set("assistant", "name", ASSISTANT[0])
    file.set("assistant", "address", ASSISTANT[1])
    # Around the clock, every day: the demo must show urgency whenever it is run.
    for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                "sunday"):
        file.set("hours", day, "00:00-24:00")
    file.set("standards.default", "counting", "clock")
    file.set("standards.default", "ack_within", "30m")
    file.set("standards.default", "answer_within", "4h")
    file.set("replies", "margin", "15m")
    file.append("accounts", {"name": "demo", "kind": "maildir", "inbox": str(paths.inbox),
                             "sent": str(paths.sent), "outbox": str(paths.outbox),
                             "address": USER[1]})
    file.append("calendars", {"name": "demo", "kind": "ics", "path": str(paths.calendar)})
    _vip_standard(profile.config)

    with Store(profile.database) as store:
        for client in CLIENTS:
            store.add_client(client, now)
    _seed_mail(paths, now)
    marker.write_text("This profile was made by `heard demo`.\n", encoding="utf-8")
    return profile


def _vip_standard(path: Path) -> None:
    with path.open("a", encoding="utf-8") as fh:
        fh.write('\n# VIP clients hear back within ten minutes.\n[standards.vip]\n'
                 'ack_within = "10m"\nanswer_within = "2h"\ncounting = "clock"\n')


def _seed_mail(paths: DemoPaths, now: datetime) -> None:
    inbox, sent = Maildir(paths.inbox), Maildir(paths.sent)
    seeds = [
        (WRITERS[0], SUBJECTS[0], 8),
        (WRITERS[1], SUBJECTS[2], 27),
        (WRITERS[4], SUBJECTS[4], 3),
    ]
    for (name, addr), (subject, body), minutes in seeds:
        at = now - timedelta(minutes=minutes)
        _drop(inbox, _message(name, addr, subject, body, at), at)
    # Mail that is not a client waiting: a newsletter, a receipt, a colleague.
    at = now - timedelta(minutes=15)
    _drop(inbox, _message("Legal Tech Weekly", "news@legaltech-weekly.example",
                          "This week in legal tech", "Ten tools you should know.", at,
                          {"List-Unsubscribe": "<mailto:unsubscribe@legaltech-weekly.example>",
                           "List-Id": "<weekly.legaltech-weekly.example>"}), at)
    _drop(inbox, _message("Court e-Filing", "no-reply@efiling.example",
                          "Filing receipt #88213", "Your filing was received.", at,
                          {"Auto-Submitted": "auto-generated"}), at)
    _drop(inbox, _message("Chris Ortiz", f"chris@{DEMO_DOMAIN}", "Lunch?",
                          "Sandwiches at 1?", at), at)
    # A new person, through the firm's website form: a possible prospect.
    at = now - timedelta(minutes=6)
    form = _message("Morgan Law", f"wordpress@{DEMO_DOMAIN}",
                    'Morgan Law "Contract review for our bakery"',
                    "From: Jonas Weber <jonas.weber@weber-bakery.example>\n"
                    "Subject: Contract review for our bakery\n\n"
                    "Message Body:\nWe sign a supplier contract next week; could you review"
                    " it before Friday?\n\n-- \nThis e-mail was sent from a contact form on"
                    f" Morgan Law (https://{DEMO_DOMAIN})", at)
    _drop(inbox, form, at)
    # A client who wrote this morning and was already answered from the phone.
    asked = now - timedelta(hours=2)
    question = _message(*WRITERS[3], *SUBJECTS[3], asked)
    _drop(inbox, question, asked)
    from email import message_from_bytes

    original = message_from_bytes(question)
    reply = EmailMessage()
    reply["From"] = email.utils.formataddr(USER)
    reply["To"] = email.utils.formataddr(WRITERS[3])
    reply["Subject"] = f"Re: {SUBJECTS[3][0]}"
    reply["Date"] = email.utils.format_datetime(asked + timedelta(minutes=20))
    reply["Message-ID"] = email.utils.make_msgid(domain=DEMO_DOMAIN)
    reply["In-Reply-To"] = str(original["Message-ID"])
    reply["References"] = str(original["Message-ID"])
    reply.set_content("Yes, the site visit is included. Best, Alex")
    _drop(sent, bytes(reply), asked + timedelta(minutes=20))


class DemoGenerator:
    """Drops a new client message into the demo inbox every 45-90 seconds (the first one
    sooner), from a client who is not already waiting (README), so the badge climbs; when
    every client waits, a new person writes instead (a prospect, each once), and when they
    have too, nobody writes until someone is acknowledged. Without acknowledging anything, a
    ten-minute look sees about eight more, not a badge stuck at eight of eight.
    """

    def __init__(self, profile: Profile, store: Store | None = None,
                 interval: tuple[float, float] = (45.0, 90.0), seed: int | None = None,
                 first: tuple[float, float] = (10.0, 20.0)) -> None:
        self._inbox = Maildir(DemoPaths.of(profile).inbox)
        self._store = store
        self._interval = interval
        self._first = first
        self._random = random.Random(seed)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-generator", daemon=True)
        self.dropped = 0

    def _writer(self) -> tuple[str, str] | None:
        """Someone who is not waiting: a client, else a newcomer who never wrote, else no
        one."""
        waiting: set[str] = set()
        known: set[str] = set()
        if self._store is not None:
            waiting = {i.sender for i in self._store.open_inquiries()
                       if i.state is InquiryState.WAITING}
            known = {address for c in self._store.clients() for address in c.emails}
        quiet = [w for w in WRITERS if w[1] not in waiting]
        if quiet:
            return self._random.choice(quiet)
        new = [w for w in NEWCOMERS if w[1] not in known and w[1] not in waiting]
        return new[0] if new else None

    def drop_one(self) -> bool:
        """One message from someone who is not waiting; False when everyone is."""
        writer = self._writer()
        if writer is None:
            log.info("demo: everyone is waiting; nobody writes until someone is answered")
            return False
        name, addr = writer
        subject, body = self._random.choice(SUBJECTS) if writer in WRITERS else NEW_MATTER
        now = datetime.now(UTC)
        self._inbox.deliver(_message(name, addr, subject, body, now))
        self.dropped += 1
        log.info("demo: %s wrote about %r", name, subject)
        return True

    def _run(self) -> None:
        wait = self._random.uniform(*self._first)
        while not self._stop.wait(wait):
            wait = self._random.uniform(*self._interval)
            try:
                self.drop_one()
            except OSError:
                log.exception("demo generator could not write")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
