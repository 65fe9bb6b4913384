"""Real SMTP servers on loopback, started by the tests themselves: Postfix and FaultySmtp.

Both hand every accepted message to the test Dovecot over LMTP (the way an MTA delivers), so
what an SMTP client sent can be read back from the recipient's IMAP INBOX.

- `Postfix`: Postfix 3.7's smtpd as a submission server, with a STARTTLS port and an
  implicit-TLS port, SASL through Dovecot. It is what users' providers run. Root only.
- `FaultySmtp`: an in-process aiosmtpd server with knobs for the failures a mail client must
  survive: 4xx/5xx replies at RCPT or DATA, and being down (then up again on the same port).

The mail policy is the same on both:
- Only authenticated clients may send: AUTH PLAIN or LOGIN as a Dovecot test user (password
  "secret"). Without AUTH every recipient is refused (Postfix: "554 5.7.1 ... Relay access
  denied" for other domains, "554 5.7.1 ... Access denied" for test users; FaultySmtp: 530
  at MAIL FROM). No sender check: an authenticated user may send with any From.
- Mail for the test domain (dovecot.DOMAIN, as in MailUser.address) lands in that user's
  INBOX; an unknown user there is refused at RCPT with 550 5.1.1.
- Mail for any other domain is accepted and delivered into the one `elsewhere` mailbox
  (Dovecot.elsewhere) instead of leaving the machine; its To/Cc headers are unchanged, so a
  test can read what the world would have received (match by Message-ID: every test's
  outside mail shares that mailbox).

Adapted from the recipes in ../shared/recipes (servers.md section 2, postfix_instance.py,
smtp_aiosmtpd.py).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import re
import shutil
import signal
import smtplib
import ssl
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.support.dovecot import DOMAIN, Dovecot, free_port, wait_closed

HOST = "127.0.0.1"

MAIN_CF = """\
compatibility_level = 3.6
config_directory = {d}
queue_directory = {d}/queue
data_directory = {d}/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
maillog_file = {d}/postfix.log
maillog_file_prefixes = {d}
myhostname = localhost
mydomain = localhost
myorigin = localhost
mydestination =
mynetworks = 127.0.0.0/8
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
smtpd_banner = $myhostname ESMTP Heard test Postfix
alias_maps =
alias_database =
local_transport = error:local delivery disabled
smtp_dns_support_level = disabled
biff = no
# The test users' domain goes to Dovecot; unknown users there are refused at RCPT.
virtual_mailbox_domains = {domain}
virtual_mailbox_maps = texthash:{d}/mailboxes
virtual_transport = lmtp:inet:127.0.0.1:{lmtp}
# Every other domain (and postmaster) ends in the `elsewhere` mailbox.
virtual_alias_maps = regexp:{d}/elsewhere
# Not derived from that map (its regexp would make {domain} an alias domain too).
virtual_alias_domains =
# Submission: nothing is accepted without AUTH, which is offered only over TLS.
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = inet:127.0.0.1:{sasl}
smtpd_sasl_authenticated_header = yes
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
smtpd_recipient_restrictions = permit_sasl_authenticated, reject
smtpd_tls_security_level = may
smtpd_tls_auth_only = yes
smtpd_tls_cert_file = {cert}
smtpd_tls_key_file = {key}
smtpd_tls_received_header = yes
smtpd_tls_loglevel = 1
"""

# The stock services (chroot off) plus two smtpd listeners: STARTTLS and implicit TLS.
MASTER_CF = """\
127.0.0.1:{starttls} inet n - n - - smtpd
  -o syslog_name=postfix/submission
127.0.0.1:{tls} inet n - n - - smtpd
  -o syslog_name=postfix/submissions
  -o smtpd_tls_wrappermode=yes
  -o smtpd_tls_security_level=encrypt
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""

QUEUES = ("maildrop", "incoming", "active", "deferred", "hold")


def listening(*ports: int) -> bool:
    """Whether something listens on each of `ports` at 127.0.0.1 (without connecting)."""
    wanted = {f"0100007F:{port:04X}" for port in ports}
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "0A":   # TCP_LISTEN
            found.add(fields[1])
    return wanted <= found


@dataclass(frozen=True)
class Delivery:
    """One recipient's outcome in the Postfix log."""
    recipient: str   # as delivered, e.g. "elsewhere@localhost"
    original: str    # as the client gave it, e.g. "margaret@hale.example"
    status: str      # "sent", "bounced", "deferred"
    dsn: str         # "2.0.0"
    reply: str       # the server's answer, e.g. "250 2.0.0 <user7@localhost> ... Saved"


class Postfix:
    """A throwaway Postfix: submission with STARTTLS on `starttls_port`, implicit TLS on
    `tls_port`, both on `host` with the Dovecot certificate (`cert`, valid for 127.0.0.1 and
    localhost). Runs as root only. Its log is `log` (`log_text()`); KEEP_POSTFIX=1 keeps the
    folder after close()."""

    host = HOST

    def __init__(self, dovecot: Dovecot) -> None:
        if os.geteuid() != 0:
            raise RuntimeError("the test Postfix runs as root only")
        self.dovecot = dovecot
        self.dir = Path(tempfile.mkdtemp(prefix="heard-postfix-"))
        self.dir.chmod(0o755)
        self.starttls_port, self.tls_port = free_port(), free_port()
        self.cert: Path = dovecot.cert
        self.log = self.dir / "postfix.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_in: float | None = None   # seconds the last start() took
        self._write_conf()
        (self.dir / "queue").mkdir()
        (self.dir / "data").mkdir()
        shutil.chown(self.dir / "data", "postfix", "postfix")
        # The queue folders, made here (50 ms) rather than by the slow integrity check.
        subprocess.run(["postfix", "-c", str(self.dir), "post-install", "create-missing"],
                       check=True, capture_output=True)

    def _write_conf(self) -> None:
        d = self.dir
        (d / "main.cf").write_text(MAIN_CF.format(
            d=d, domain=DOMAIN, lmtp=self.dovecot.lmtp_port, sasl=self.dovecot.sasl_port,
            cert=self.dovecot.cert, key=self.dovecot.key))
        (d / "master.cf").write_text(MASTER_CF.format(starttls=self.starttls_port,
                                                      tls=self.tls_port))
        (d / "mailboxes").write_text("".join(
            f"{name}@{DOMAIN} ok\n" for name in self.dovecot.passwords()))
        domain = re.escape(DOMAIN)
        (d / "elsewhere").write_text(
            f"/^postmaster@{domain}$/ {self.dovecot.elsewhere.address}\n"
            f"!/@{domain}$/ {self.dovecot.elsewhere.address}\n")
        # Postfix re-reads a main.cf or lookup table changed "just now" every 300 ms for
        # ~2 s (a "hot" file; smtpd's first client waits that long): backdated, once.
        old = time.time() - 60
        for name in ("main.cf", "master.cf", "mailboxes", "elsewhere"):
            os.utime(d / name, (old, old))

    def start(self) -> Self:
        if self.proc is not None:
            return self
        began = time.perf_counter()
        # Skips postfix-script's integrity check (~2.3 s); removed at each start.
        (self.dir / "queue" / "quick-start").touch()
        with (self.dir / "master.out").open("ab") as out:
            self.proc = subprocess.Popen(["postfix", "-c", str(self.dir), "start-fg"],
                                         stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        # Fatal errors go to the log only (no tty, no syslog): report them from there.
        # Probing with a connection would log "lost connection" (and an SSL_accept error):
        # watch the kernel's table of listening sockets instead.
        end = time.monotonic() + 20
        while not listening(self.starttls_port, self.tls_port):
            if self.proc.poll() is not None or time.monotonic() > end:
                self.stop()
                raise RuntimeError(f"Postfix did not start; its log:\n{self.log_text()}")
            time.sleep(0.01)
        self.started_in = time.perf_counter() - began
        return self

    def _master_pid(self) -> int | None:
        try:
            return int((self.dir / "queue" / "pid" / "master.pid").read_text())
        except (OSError, ValueError):
            return None

    def stop(self) -> None:
        if self.proc is None:
            return
        # What `postfix stop` does, minus its polling in 1 s sleeps: SIGTERM to master,
        # which stops its children (smtpd, qmgr, lmtp...), then start-fg returns.
        master = self._master_pid()
        if master is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(master, signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            # master runs in a session and process group of its own, with its children.
            for group in (master, self.proc.pid):
                if group is not None:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(group, signal.SIGKILL)
            self.proc.wait()
        self.proc = None
        for port in (self.starttls_port, self.tls_port):
            wait_closed(port)

    def close(self) -> None:
        self.stop()
        if not os.environ.get("KEEP_POSTFIX"):
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def queue_empty(self) -> bool:
        """No message waits in any queue (all delivered or bounced)."""
        return not any(path.is_file() for queue in QUEUES
                       for path in (self.dir / "queue" / queue).rglob("*"))

    def wait_queue_empty(self, timeout: float = 10.0) -> None:
        end = time.monotonic() + timeout
        while not self.queue_empty():
            if time.monotonic() > end:
                raise TimeoutError(f"Postfix queue not empty after {timeout} s")
            time.sleep(0.02)

    def deliveries(self, message_id: str) -> tuple[list[Delivery], bool]:
        """The recipients' outcomes for the message with `message_id` so far, and whether
        Postfix is done with it (every queue file of that Message-ID removed)."""
        mid = message_id.strip()
        if not mid.startswith("<"):
            mid = f"<{mid}>"
        text = self.log_text()
        ids = re.findall(r"postfix/cleanup\[\d+\]: ([0-9A-Za-z]+): message-id="
                         + re.escape(mid) + r"$", text, re.MULTILINE)
        found: list[Delivery] = []
        done = bool(ids)
        for queue_id in dict.fromkeys(ids):
            line = re.compile(
                rf"^.*: {queue_id}: to=<([^>]*)>, (?:orig_to=<([^>]*)>, )?.*"
                r"dsn=([0-9.]+), status=(\w+) \((.*)\)$", re.MULTILINE)
            found += [Delivery(to, orig or to, status, dsn, reply)
                      for to, orig, dsn, status, reply in line.findall(text)]
            done = done and re.search(rf": {queue_id}: removed$", text, re.MULTILINE) is not None
        return found, done

    def wait_delivered(self, message_id: str, timeout: float = 10.0) -> list[Delivery]:
        """Until Postfix is done with the message (delivered or bounced to each recipient);
        returns each recipient's Delivery. Mail still deferred at `timeout` raises."""
        end = time.monotonic() + timeout
        while True:
            found, done = self.deliveries(message_id)
            if done:
                return found
            if time.monotonic() > end:
                raise TimeoutError(f"Postfix not done with {message_id} in {timeout} s: "
                                   f"{found}\n{self.log_text()[-3000:]}")
            time.sleep(0.02)


# --- FaultySmtp ---------------------------------------------------------------------------


class _QuietDeprecation(logging.Filter):
    """aiosmtpd 1.4 itself sets its deprecated Session.login_data on every AUTH and warns
    about it on logger "mail.log" each time; everything else it logs stays."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "login_data is deprecated" not in record.getMessage()


_mail_log = logging.getLogger("mail.log")
if not any(isinstance(f, _QuietDeprecation) for f in _mail_log.filters):
    _mail_log.addFilter(_QuietDeprecation())


class Received(Envelope):
    """An aiosmtpd Envelope (mail_from, rcpt_tos, content, original_content...) plus how it
    came: over TLS or not, and the AUTH login."""

    def __init__(self) -> None:
        super().__init__()
        self.tls = False
        self.login: str | None = None


class _Smtp(SMTP):
    def _create_envelope(self) -> Envelope:
        return Received()


class _Controller(Controller):
    def factory(self) -> SMTP:
        return _Smtp(self.handler, **self.SMTP_kwargs)


Stage = Literal["MAIL", "RCPT", "DATA"]
DISCONNECT = None   # a fault that closes the connection instead of answering


class FaultySmtp:
    """An SMTP server in this process (aiosmtpd) that delivers into Dovecot over LMTP, with
    knobs for faults: reply_next(), disconnect_next(), stop() and start() again.

    STARTTLS with the Dovecot certificate is offered when `starttls`; AUTH (PLAIN, LOGIN;
    any Dovecot test user, password "secret") is accepted without TLS too unless
    `require_tls`, so one server serves clients set to "plain" and to "starttls".
    `received` and `refused` hold `Received` envelopes (with .tls and .login)."""

    host = HOST

    def __init__(self, dovecot: Dovecot, *, port: int | None = None, starttls: bool = True,
                 require_tls: bool = False) -> None:
        if require_tls and not starttls:
            raise ValueError("require_tls needs starttls")
        self.dovecot = dovecot
        self.port = port or free_port()
        self.cert: Path = dovecot.cert
        self.starttls, self.require_tls = starttls, require_tls
        self.received: list[Received] = []   # accepted and delivered, in order
        self.refused: list[Received] = []    # whole messages a DATA fault kept out
        self.started_in: float | None = None
        self._passwords = dovecot.passwords()
        self._faults: dict[str, collections.deque[str | None]] = {
            stage: collections.deque() for stage in ("MAIL", "RCPT", "DATA")}
        self._cond = threading.Condition()
        self._controller: _Controller | None = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> Self:
        """Listen (again) on the same port."""
        if self._controller is not None:
            return self
        began = time.perf_counter()
        context = None
        if self.starttls:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(self.dovecot.cert, self.dovecot.key)
        controller = _Controller(
            _Handler(self), hostname=self.host, port=self.port, server_hostname="localhost",
            ident="Heard test FaultySmtp", authenticator=self._authenticate,
            tls_context=context, require_starttls=self.starttls and self.require_tls,
            auth_require_tls=self.starttls and self.require_tls, ready_timeout=10)
        controller.start()
        self._controller = controller
        self.started_in = time.perf_counter() - began
        return self

    def stop(self) -> None:
        """Close the port and every open connection: the server is down."""
        if self._controller is None:
            return
        self._controller.stop()
        self._controller = None
        wait_closed(self.port)

    def close(self) -> None:
        self.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def reply_next(self, code: int, text: str, times: int = 1, *, stage: Stage = "DATA"
                   ) -> None:
        """Answer the next `times` commands of `stage` with `code` `text` instead of
        accepting, e.g. reply_next(451, "4.3.0 Try again later"). DATA and MAIL count once
        per message, RCPT once per recipient. At DATA the answer comes after the whole
        message was sent; it is not delivered and goes to `refused`."""
        with self._cond:
            self._faults[stage].extend([f"{code} {text}"] * times)

    def disconnect_next(self, times: int = 1, *, stage: Stage = "DATA") -> None:
        """Close the connection instead of answering the next `times` commands of `stage`.
        At DATA that is after the whole message was sent, before any reply: the client
        cannot know whether it arrived (it did not; it goes to `refused`)."""
        with self._cond:
            self._faults[stage].extend([DISCONNECT] * times)

    def reset(self) -> None:
        """Running, no faults pending, nothing received."""
        with self._cond:
            for faults in self._faults.values():
                faults.clear()
            self.received.clear()
            self.refused.clear()
        self.start()

    def wait_received(self, count: int = 1, timeout: float = 10.0) -> list[Received]:
        """Until at least `count` messages were accepted; returns them all."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.received) >= count, timeout):
                raise TimeoutError(f"{len(self.received)} of {count} messages in {timeout} s")
            return list(self.received)

    def _take_fault(self, stage: Stage) -> tuple[bool, str | None]:
        """Whether a fault is due at `stage`, and its reply (None: disconnect)."""
        with self._cond:
            faults = self._faults[stage]
            return (True, faults.popleft()) if faults else (False, None)

    def _record(self, into: list[Received], envelope: Received) -> None:
        with self._cond:
            into.append(envelope)
            self._cond.notify_all()

    def _authenticate(self, server: SMTP, session: Session, envelope: Envelope,
                      mechanism: str, auth_data: Any) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            login = auth_data.login.decode("utf-8", "replace")
            password = auth_data.password.decode("utf-8", "replace")
            if login in self._passwords and self._passwords[login] == password:
                return AuthResult(success=True, auth_data=login)
        return AuthResult(success=False, handled=False)

    def is_local(self, address: str) -> bool:
        return address.rpartition("@")[2].lower() == DOMAIN

    def _forward(self, envelope: Received, received_header: bytes) -> None:
        rcpts = list(dict.fromkeys(
            r if self.is_local(r) else self.dovecot.elsewhere.address
            for r in envelope.rcpt_tos))
        # By hand: LMTP answers DATA once per recipient, smtplib's sendmail() reads one.
        refused: dict[str, tuple[int, bytes]] = {}
        with smtplib.LMTP(HOST, self.dovecot.lmtp_port, timeout=10) as lmtp:
            lmtp.ehlo_or_helo_if_needed()
            code, reply = lmtp.mail(envelope.mail_from or "")
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, reply, envelope.mail_from or "")
            accepted = []
            for rcpt in rcpts:
                code, reply = lmtp.rcpt(rcpt)
                if code in (250, 251):
                    accepted.append(rcpt)
                else:
                    refused[rcpt] = (code, reply)
            if accepted:
                replies = [lmtp.data(received_header + (envelope.original_content or b""))]
                replies += [lmtp.getreply() for _ in accepted[1:]]
                refused |= {rcpt: (code, reply) for rcpt, (code, reply)
                            in zip(accepted, replies, strict=True) if code != 250}
        if refused:
            raise smtplib.SMTPRecipientsRefused(refused)


class _Handler:
    """aiosmtpd hooks for FaultySmtp (run in the server's thread)."""

    def __init__(self, server: FaultySmtp) -> None:
        self.server = server

    async def _fault(self, smtp: SMTP, stage: Stage, message: Received | None = None
                     ) -> str | None:
        """The reply of a fault due at `stage` (`message` then goes to `refused`), or None
        to carry on. A disconnect closes the connection and never answers."""
        due, reply = self.server._take_fault(stage)
        if not due:
            return None
        if message is not None:
            self.server._record(self.server.refused, message)
        if reply is DISCONNECT:
            assert smtp.transport is not None
            smtp.transport.close()
            # connection_lost() cancels this session's task: nothing more is written.
            await asyncio.sleep(10)
            return "421 4.4.2 Connection dropped"
        return reply

    async def handle_MAIL(self, smtp: SMTP, session: Session, envelope: Envelope,
                          address: str, mail_options: list[str]) -> str:
        if not session.authenticated:
            return "530 5.7.0 Authentication required"
        fault = await self._fault(smtp, "MAIL")
        if fault:
            return fault
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(self, smtp: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        fault = await self._fault(smtp, "RCPT")
        if fault:
            return fault
        local = address.rpartition("@")[0]
        if self.server.is_local(address) and local not in self.server._passwords:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, smtp: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope, Received)
        envelope.tls = session.ssl is not None
        envelope.login = session.auth_data if isinstance(session.auth_data, str) else None
        fault = await self._fault(smtp, "DATA", envelope)
        if fault:
            return fault
        protocol = "ESMTP" + ("S" if envelope.tls else "") + ("A" if envelope.login else "")
        header = (f"Received: from {session.host_name} ([{HOST}])\r\n"
                  f"\tby localhost (Heard test FaultySmtp) with {protocol}"
                  + (f"\r\n\t(Authenticated sender: {envelope.login})" if envelope.login
                     else "")
                  + f";\r\n\t{formatdate(localtime=True)}\r\n")
        try:
            await asyncio.to_thread(self.server._forward, envelope, header.encode())
        except (OSError, smtplib.SMTPException) as error:
            return f"451 4.3.0 Delivery into Dovecot failed: {' '.join(str(error).split())}"[:500]
        self.server._record(self.server.received, envelope)
        return "250 2.0.0 OK: delivered"
