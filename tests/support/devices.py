"""Helpers for the tests of Heard on several devices of one mailbox.

The wire: IMAP connections a test closes at the end (the `conns` fixture of
tests/devices/conftest.py), client mail put into a user's INBOX, rights withheld. The
engines: a device of the user's (`device_engine`, a laptop and a designated desk on a server
that keeps no keywords), and the professional's and the assistant's Heard on a shared
INBOX (`office_engine`).
"""

from __future__ import annotations

import email.utils
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING

from heard.config import ConfigFile
from heard.domain.clients import Client
from heard.domain.ids import InquiryId
from heard.domain.inquiries import InquiryState
from heard.engine import Engine
from heard.mail.imap import Connection
from heard.system.paths import Profile
from tests.support.dovecot import Dovecot, MailUser
from tests.support.imap import imap_profile, sending_profile
from tests.support.instances import open_conn
from tests.support.mail import AUTHSERV, SAM

if TYPE_CHECKING:
    from tests.support.smtp import FaultySmtp

CLIENT = "margaret@hale.example"
OTHER = "raj@patel-eng.example"
AT = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)   # when a request or a settings write was made
KEY = bytes(range(32))   # a sharing key for the wire tests (heard.devices.wire.trust)


def connection(user: MailUser, conns: list[Connection]) -> Connection:
    conn = open_conn(user.server.imap_port, user.name, user.password)
    conns.append(conn)
    return conn


def client_message(n: int, sender: str = "margaret@hale.example") -> bytes:
    return (f"From: Margaret Hale <{sender}>\r\nTo: alex@morgan-law.example\r\n"
            f"Subject: Closing documents {n}\r\nMessage-ID: <q{n}@hale.example>\r\n"
            f"Date: Wed, 25 Nov 2026 10:00:00 +0100\r\n\r\nCould you call me? ({n})\r\n"
            ).encode()


def client_writes(user: MailUser, message_id: str = "", refs: str = "",
                  sender: str = "margaret@hale.example", subject: str = "Lease") -> str:
    """A client's message (now, threaded on `refs` if given) put into `user`'s INBOX;
    returns its Message-ID."""
    message_id = message_id or email.utils.make_msgid(domain="hale.example")
    domain = sender.rpartition("@")[2]
    user.append((f"Authentication-Results: {AUTHSERV}; dmarc=pass header.from={domain}\r\n"
                 f"From: Margaret Hale <{sender}>\r\nTo: {user.address}\r\n"
                 f"Subject: {subject}\r\nMessage-ID: {message_id}\r\n"
                 + (f"In-Reply-To: {refs}\r\nReferences: {refs}\r\n" if refs else "")
                 + f"Date: {email.utils.format_datetime(datetime.now(UTC))}\r\n\r\nHi\r\n"
                 ).encode())
    return message_id


def restrict(user: MailUser, rights: str) -> None:
    """Give the owner of INBOX only `rights` (a Dovecot ACL file in the mailbox's folder),
    as a provider or an admin who withholds keywords (no `w`) or all writes would."""
    user.client().logout()   # Dovecot makes the Maildir, owned by the mail user
    path = user.maildir / "dovecot-acl"
    path.write_text(f"owner {rights}\n")
    os.chown(path, user.server.uid, user.server.gid)


# the engines

def device_engine(root: Path, me: MailUser, smtp: FaultySmtp, instance: str,
                  designated: str = "") -> Engine:
    profile: Profile = sending_profile(root / instance, me, smtp.port, smtp.cert)
    ConfigFile(profile.config).set_many([("sharing", "instance", instance),
                                         ("sharing", "designated_instance", designated),
                                         ("assistant", "name", "Sam Reed"),
                                         ("assistant", "address", SAM)])
    engine = Engine.open(profile)
    engine.clients.add(Client("Margaret Hale", emails=(CLIENT,), preferred_name="Megge"))
    engine.clients.add(Client("Raj Patel", emails=(OTHER,)))
    return engine


def new_inquiry_on(engine: Engine, me: MailUser, sender: str = CLIENT) -> int:
    client_writes(me, sender=sender)
    (inquiry_id,) = engine.sync().new_inquiries
    return int(inquiry_id)


@contextmanager
def designated_devices(root: Path, dovecot: Dovecot, smtp: FaultySmtp
                       ) -> Iterator[tuple[MailUser, Engine, Engine]]:
    """A mailbox whose server keeps no keywords; the laptop and the desk (designated)."""
    me = dovecot.add_user()
    me.append(b"From: a@b.example\r\nAuto-Submitted: auto-generated\r\nSubject: hello\r\n"
              b"\r\nhello\r\n")   # so the Maildir exists
    restrict(me, "lrsitekx")               # everything but keywords ("w")
    lap = device_engine(root, me, smtp, "lap", designated="desk")
    desk = device_engine(root, me, smtp, "desk", designated="desk")
    join(desk, lap)
    try:
        yield me, lap, desk
    finally:
        lap.close()
        desk.close()


def join(new: Engine, old: Engine) -> None:
    """The step the user takes once per device: `heard sharing invite` on `old` (which
    makes the sharing key when it is the first), `heard sharing join CODE` on `new`."""
    code = old.devices.invite().code
    joined = new.devices.join(code)
    assert all(by == old.settings.instance for by in joined.values()), joined


def smtp_received(smtp: FaultySmtp) -> list[EmailMessage]:
    """What the SMTP server accepted, parsed."""
    return [message_from_bytes(m.content, policy=policy.default)  # type: ignore[misc]
            for m in smtp.received if isinstance(m.content, bytes)]


def inquiry_state(engine: Engine, inquiry_id: int) -> InquiryState:
    inquiry = engine.store.inquiry(InquiryId(inquiry_id))
    assert inquiry is not None
    return inquiry.state


def busy_for_weeks(engine: Engine, root: Path) -> None:
    """In a meeting from an hour ago for a month; the autopilot on, whatever the deadline."""
    start, end = datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC) + timedelta(days=30)
    ics = root / f"{engine.settings.instance}.ics"
    ics.write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
        "BEGIN:VEVENT\r\nUID:a\r\nDTSTAMP:20261101T000000Z\r\n"
        f"DTSTART:{start:%Y%m%dT%H%M%SZ}\r\nDTEND:{end:%Y%m%dT%H%M%SZ}\r\n"
        "SUMMARY:Trial\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", encoding="utf-8")
    file = ConfigFile(engine.profile.config)
    file.append("calendars", {"name": "work", "kind": "ics", "path": str(ics)})
    file.set_many([("autopilot", "tiers", ["standard"]), ("autopilot", "before", "30d"),
                   ("autopilot", "authserv_ids", [AUTHSERV])])
    engine.reload_settings()


def inbox_flags(me: MailUser) -> set[str]:
    conn = me.client()
    try:
        conn.select_folder("INBOX", readonly=True)
        return {f.decode() for uid, f in conn.get_flags(conn.search(["ALL"])).items()
                for f in f}
    finally:
        conn.logout()


def office_engine(root: Path, user: MailUser, smtp: FaultySmtp, instance: str,
                  folder: str = "INBOX") -> Engine:
    profile = imap_profile(root / instance, user, extra={
        "smtp_host": "127.0.0.1", "smtp_port": smtp.port, "smtp_security": "starttls",
        "smtp_ca_file": str(smtp.cert), "folders": [folder]})
    ConfigFile(profile.config).set("sharing", "instance", instance)
    engine = Engine.open(profile)
    engine.clients.add(Client("Margaret Hale", emails=(CLIENT,), preferred_name="Megge"))
    return engine


def inquiry_of(engine: Engine, message_id: str) -> int:
    (inquiry,) = [i for i in engine.store.open_inquiries_in_thread([message_id])
                  if i.message_id == message_id]
    assert inquiry.id is not None
    return int(inquiry.id)
