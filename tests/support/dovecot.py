"""A real Dovecot (IMAP, LMTP) on loopback, started by the tests themselves.

One server runs per test session; each test gets its own mail user, so tests never see
each other's mail. Tests that stop, restart or reconfigure the server start their own.
Runs as root (the CI machines) or as an ordinary user (no chroot, own uid).

Besides IMAP and LMTP it offers SASL authentication over TCP (`sasl_port`), which the test
Postfix (tests/support/smtp.py) uses, and one extra mailbox, `elsewhere`, where the test SMTP
servers deliver mail addressed outside the test domain.
"""

from __future__ import annotations

import contextlib
import grp
import itertools
import os
import pwd
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import imapclient

CONF = """\
base_dir = {d}/run
state_dir = {d}/state
instance_name = heard-test-{tag}
log_path = {d}/dovecot.log
protocols = imap lmtp
listen = 127.0.0.1
# Plus addressing as many providers offer it: mail to user+Folder lands in Folder.
recipient_delimiter = +
lmtp_save_to_detail_mailbox = yes
hostname = localhost
auth_username_format = %Ln
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal_user}
default_login_user = {login_user}
default_internal_group = {internal_group}
first_valid_uid = 1
mail_max_userip_connections = 50
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={d}/home/%u
}}
mail_location = maildir:~/Maildir
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    special_use = \\Sent
    auto = subscribe
  }}
  mailbox Drafts {{
    special_use = \\Drafts
    auto = subscribe
  }}
  mailbox Trash {{
    special_use = \\Trash
    auto = subscribe
  }}
}}
ssl = yes
ssl_cert = <{d}/cert.pem
ssl_key = <{d}/key.pem
ssl_dh = </usr/share/dovecot/dh.pem
service imap-login {{
  inet_listener imap {{
    port = {imap}
  }}
  inet_listener imaps {{
    port = {imaps}
    ssl = yes
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    port = {lmtp}
  }}
}}
service auth {{
  inet_listener sasl {{
    port = {sasl}
  }}
}}
"""

# Post-login capabilities without IDLE: what an old or minimal server offers.
NO_IDLE = ("imap_capability = IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE LITERAL+"
           " SPECIAL-USE UIDPLUS\n")


# Dovecot's documented way to turn off its growing delay after failed logins. Without it
# one wrong password (over IMAP or through a test Postfix's SASL) makes the next logins
# from 127.0.0.1, any test's, wait seconds: wrong passwords go to a server with this.
NO_AUTH_PENALTY = """\
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
auth_failure_delay = 0
"""

# Shared state between Heard instances (tests/devices): IMAP METADATA (server entries in
# ~/dovecot-attributes), ACLs (SETACL, MYRIGHTS; a `dovecot-acl` file in a mailbox's folder
# restricts its owner too) and a shared namespace, so user2 can open user1's INBOX as
# "shared/user1/INBOX" once user1 gave it rights. \\Seen stays private to each user there.
SHARED_STATE = """\
mail_plugins = $mail_plugins acl
mail_attribute_dict = file:%h/dovecot-attributes
protocol imap {
  mail_plugins = $mail_plugins imap_acl
  imap_metadata = yes
}
plugin {
  acl = vfile
  acl_shared_dict = file:%h/../shared-mailboxes.db
}
namespace shared {
  type = shared
  separator = /
  prefix = shared/%%u/
  location = maildir:%%h/Maildir:INDEXPVT=~/Maildir/shared/%%u
  subscriptions = no
  list = children
}
"""

# Post-login capabilities without CONDSTORE and QRESYNC (Outlook.com, Yahoo, older servers).
NO_CONDSTORE = ("imap_capability = IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE"
                " LITERAL+ SPECIAL-USE UIDPLUS UNSELECT NAMESPACE ESEARCH MOVE\n")

USERS = 500
# The mail domain of every test user (MailUser.address), and the user whose mailbox takes
# the test SMTP servers' mail for every other domain.
DOMAIN = "localhost"
ELSEWHERE = "elsewhere"


_given: set[int] = set()


def free_port() -> int:
    """A port nothing listens on, never the same twice in this process (the kernel may
    hand a just-closed port out again, and a server asking for several would collide)."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in _given:
            _given.add(port)
            return port


def wait_port(port: int, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            if time.monotonic() > end:
                raise TimeoutError(f"nothing listens on {port}") from None
            time.sleep(0.01)


def wait_closed(port: int, timeout: float = 5.0) -> None:
    """Until nothing listens on `port` any more (a stopped server's port is free)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.1).close()
            time.sleep(0.02)
        except OSError:
            return


@dataclass(frozen=True)
class MailUser:
    name: str
    password: str
    server: Dovecot

    @property
    def address(self) -> str:
        return f"{self.name}@{DOMAIN}"

    def client(self) -> imapclient.IMAPClient:
        client = imapclient.IMAPClient("127.0.0.1", port=self.server.imap_port, ssl=False,
                                       timeout=10)
        client.login(self.name, self.password)
        return client

    def append(self, raw: bytes, folder: str = "INBOX", flags: Iterable[str] = (),
               at: datetime | None = None) -> int:
        """APPEND as another mail client (a phone, webmail) would; returns the new UID."""
        client = self.client()
        try:
            result = client.append(folder, raw, flags=tuple(flags), msg_time=at)
            match = re.search(rb"APPENDUID \d+ (\d+)", result or b"")
            assert match, result
            return int(match.group(1))
        finally:
            client.logout()

    def set_flags(self, uid: int, flags: Iterable[str], folder: str = "INBOX") -> None:
        client = self.client()
        try:
            client.select_folder(folder)
            client.add_flags([uid], list(flags))
        finally:
            client.logout()

    def deliver(self, raw: bytes, detail: str = "") -> None:
        """Delivery over LMTP: the way an MTA hands mail to Dovecot (to `user+detail`,
        which lands in the folder `detail` when there is one)."""
        to = f"{self.name}+{detail}@{DOMAIN}" if detail else self.address
        with smtplib.LMTP("127.0.0.1", self.server.lmtp_port) as lmtp:
            lmtp.sendmail("sender@example.net", [to], raw)

    @property
    def maildir(self) -> Path:
        return self.server.dir / "home" / self.name / "Maildir"

    def write_into_store(self, raw: bytes, name: str) -> Path:
        """Put a message straight into the Maildir, as a delivery while IMAP is down."""
        path = self.maildir / "new" / f"{int(time.time())}.{name}.localhost"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(raw)
        os.chown(path, self.server.uid, self.server.gid)
        return path

    def bump_uidvalidity(self) -> int:
        """Give INBOX a new UIDVALIDITY (as a server rebuild does); call while stopped."""
        uidlist = self.maildir / "dovecot-uidlist"
        text = uidlist.read_text()
        old = int(re.search(r"V(\d+)", text.splitlines()[0]).group(1))  # type: ignore[union-attr]
        first = re.sub(r"V\d+", f"V{old + 1000}", text.splitlines()[0], count=1)
        uidlist.write_text("\n".join([first, *text.splitlines()[1:]]) + "\n")
        for index in self.maildir.glob("dovecot.index*"):
            index.unlink()
        return old + 1000


class Dovecot:
    _users = itertools.count(1)

    def __init__(self, extra_conf: str = "") -> None:
        self.extra = extra_conf
        self.dir = Path(tempfile.mkdtemp(prefix="heard-dovecot-"))
        self.dir.chmod(0o755)
        if os.geteuid() == 0:
            pw = pwd.getpwnam("dovecot")
            self.uid, self.gid = pw.pw_uid, pw.pw_gid
            self._identity = {"internal_user": "dovecot", "login_user": "dovenull",
                              "internal_group": "dovecot"}
        else:
            self.uid, self.gid = os.getuid(), os.getgid()
            me = pwd.getpwuid(self.uid).pw_name
            self._identity = {"internal_user": me, "login_user": me,
                              "internal_group": grp.getgrgid(self.gid).gr_name}
        self.imap_port, self.imaps_port, self.lmtp_port = free_port(), free_port(), free_port()
        self.sasl_port = free_port()
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
             str(self.dir / "key.pem"), "-out", str(self.cert), "-days", "2", "-subj",
             "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
            check=True, capture_output=True)
        (self.dir / "users").write_text("".join(
            f"{name}:{{PLAIN}}secret::::::\n"
            for name in [*(f"user{n}" for n in range(1, USERS + 1)), ELSEWHERE]))
        self._make_home(ELSEWHERE)
        self._write_conf()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def cert(self) -> Path:
        """Self-signed, for CN=localhost with SAN DNS:localhost and IP:127.0.0.1."""
        return self.dir / "cert.pem"

    @property
    def key(self) -> Path:
        return self.dir / "key.pem"

    @property
    def ports(self) -> tuple[int, ...]:
        return (self.imap_port, self.imaps_port, self.lmtp_port, self.sasl_port)

    @property
    def elsewhere(self) -> MailUser:
        """The mailbox where the test SMTP servers put mail for addresses outside DOMAIN."""
        return MailUser(ELSEWHERE, "secret", self)

    def passwords(self) -> dict[str, str]:
        """Every user's password, as the passdb has it."""
        users = {}
        for line in (self.dir / "users").read_text().splitlines():
            name, password = line.split(":")[:2]
            users[name] = password.removeprefix("{PLAIN}")
        return users

    def _make_home(self, name: str) -> None:
        home = self.dir / "home" / name
        home.mkdir(parents=True)
        os.chown(home, self.uid, self.gid)

    def _write_conf(self) -> None:
        text = CONF.format(d=self.dir, tag=self.dir.name, uid=self.uid, gid=self.gid,
                           imap=self.imap_port, imaps=self.imaps_port, lmtp=self.lmtp_port,
                           sasl=self.sasl_port,
                           **self._identity) + self.extra
        if os.geteuid() != 0:  # an ordinary user can neither chroot nor chown
            text += "".join(f"service {s} {{\n  chroot =\n}}\n"
                            for s in ("anvil", "imap-login", "imap-urlauth-login"))
        (self.dir / "dovecot.conf").write_text(text)

    def start(self) -> Dovecot:
        self.proc = subprocess.Popen(["dovecot", "-F", "-c", str(self.dir / "dovecot.conf")],
                                     start_new_session=True)
        for port in self.ports:
            wait_port(port)
        return self

    def stop(self) -> None:
        if self.proc is None:
            return
        # The whole group: imap children with open clients linger otherwise.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None
        # Until the ports are free a restart would fail to bind.
        for port in self.ports:
            wait_closed(port)

    def kick(self, user: MailUser) -> None:
        """Cut every IMAP connection of `user`, as a NAT timeout or server restart does."""
        subprocess.run(["doveadm", "-c", str(self.dir / "dovecot.conf"), "kick", user.name],
                       check=True, capture_output=True)

    def logins(self, user: MailUser) -> int:
        """How many times `user` has logged in over IMAP (imap-login's lines in the log)."""
        log = self.dir / "dovecot.log"
        text = log.read_text(errors="replace") if log.exists() else ""
        return text.count(f" Login: user=<{user.name}>,")

    def connections(self, user: MailUser) -> int:
        """The IMAP sessions `user` has open now (doveadm who)."""
        done = subprocess.run(["doveadm", "-c", str(self.dir / "dovecot.conf"), "who", "-1",
                               user.name], check=True, capture_output=True, text=True)
        return sum(1 for line in done.stdout.splitlines()[1:]
                   if line.split() and line.split()[0] == user.name)

    def add_user(self, password: str = "secret") -> MailUser:
        """The next unused mail user. They are all written before Dovecot starts: a
        passwd-file changed while running is not always re-read at once."""
        name = f"user{next(self._users)}"
        if int(name.removeprefix("user")) > USERS:
            raise RuntimeError(f"more than {USERS} mail users in one test session")
        self._make_home(name)
        if password != "secret":
            raise ValueError("the users are made at start-up with the password 'secret'")
        return MailUser(name, password, self)

    def close(self) -> None:
        self.stop()
        if not os.environ.get("KEEP_DOVECOT"):
            shutil.rmtree(self.dir, ignore_errors=True)
