"""Sending over SMTP: TLS verified, the password from the keyring, every failure sorted
into "try again later", "refused for good" and "unsure" (the link broke mid-message).

Replies are sent with smtplib's separate MAIL, RCPT and DATA steps rather than
`send_message`, so the outbox learns the exact moment the message goes on the wire: a
failure before DATA never delivered anything and is safe to retry.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Callable
from email import policy
from email.parser import BytesHeaderParser
from email.utils import getaddresses, parseaddr
from pathlib import Path
from typing import Protocol

from heard.domain.hosts import is_loopback
from heard.mail import oauth
from heard.mail.imap import tls_context
from heard.mail.oauth import Bearer
from heard.mail.transport import Failure, SendError, crlf

TIMEOUT = 30.0


class SmtpServer(Protocol):
    """Where and how to send: plain values (heard.config's account settings have them)."""

    @property
    def host(self) -> str: ...

    @property
    def port(self) -> int: ...

    @property
    def security(self) -> str: ...    # "tls", "starttls" or "plain" (loopback only)

    @property
    def username(self) -> str: ...    # "" = no login

    @property
    def ca_file(self) -> Path | None: ...


def envelope(raw: bytes) -> tuple[str, list[str]]:
    """Sender and recipients from the message's own headers (To, Cc, Bcc)."""
    headers = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
    sender = parseaddr(str(headers.get("From", "")))[1]
    rcpts = [addr for _name, addr in getaddresses(
        [str(v) for key in ("To", "Cc", "Bcc") for v in headers.get_all(key, [])]) if addr]
    return sender, rcpts


def _without_bcc(raw: bytes) -> bytes:
    head, sep, body = raw.partition(b"\n\n")
    lines = head.split(b"\n")
    kept, skipping = [], False
    for line in lines:
        if line[:1] in (b" ", b"\t") and skipping:
            continue
        skipping = line.lower().startswith(b"bcc:")
        if not skipping:
            kept.append(line)
    return b"\n".join(kept) + sep + body


def _refused(code: int) -> Failure:
    return Failure.TEMPORARY if 400 <= code < 500 else Failure.PERMANENT


def _words(text: bytes | str) -> str:
    return (text.decode("utf-8", "replace") if isinstance(text, bytes) else text).strip()


class SmtpTransport:
    """One SMTP account. A new connection per message: replies are few, and a kept-open
    connection would need its own keep-alive and re-login logic for no measurable gain."""

    idempotent = False

    def __init__(self, name: str, server: SmtpServer,
                 password: Callable[[], str | Bearer | None],
                 timeout: float = TIMEOUT) -> None:
        self.name = name
        self.server = server
        self._password = password
        self._timeout = timeout

    def _fail(self, problem: str, failure: Failure = Failure.TEMPORARY) -> SendError:
        return SendError(self.name, problem, failure)

    def _connect(self) -> smtplib.SMTP:
        server = self.server
        if server.security == "plain" and not is_loopback(server.host):
            raise self._fail(f"refusing to send to {server.host} unencrypted; use tls or"
                             " starttls", Failure.PERMANENT)
        try:
            context = tls_context(server.ca_file)
        except Exception as exc:
            raise self._fail(str(exc), Failure.PERMANENT) from exc
        smtp: smtplib.SMTP | None = None
        try:
            if server.security == "tls":
                smtp = smtplib.SMTP_SSL(server.host, server.port, timeout=self._timeout,
                                        context=context)
            else:
                smtp = smtplib.SMTP(server.host, server.port, timeout=self._timeout)
            smtp.ehlo()
            if server.security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise self._fail(f"{server.host} does not offer STARTTLS, so nothing was"
                                     " sent; use security \"tls\" (port 465)",
                                     Failure.PERMANENT)
                smtp.starttls(context=context)
                smtp.ehlo()
        except BaseException as exc:
            if smtp is not None:
                smtp.close()
            problem = self._connect_problem(exc)
            if problem is None or problem is exc:
                raise
            raise problem from exc
        return self._login(smtp)

    def _connect_problem(self, exc: BaseException) -> SendError | None:
        """The connection attempt's failure in words, or None if it is not one of ours."""
        server = self.server
        where = f"{server.host}:{server.port}"
        if isinstance(exc, SendError):
            return exc
        if isinstance(exc, ssl.SSLCertVerificationError):
            return self._fail(f"the certificate of {server.host} is not trusted"
                              f" ({exc.verify_message}); give its CA file with --smtp-ca-file."
                              " Heard never turns verification off", Failure.PERMANENT)
        if isinstance(exc, ssl.SSLError):
            return self._fail(f"TLS with {where} failed ({exc.reason or exc}); check the"
                              " security setting (tls on 465, starttls on 587)",
                              Failure.PERMANENT)
        if isinstance(exc, socket.gaierror):
            return self._fail(f"cannot find the server {server.host!r}")
        if isinstance(exc, ConnectionRefusedError):
            return self._fail(f"{where} refused the connection")
        if isinstance(exc, TimeoutError):
            return self._fail(f"{where} did not answer in time")
        if isinstance(exc, OSError | smtplib.SMTPException):
            return self._fail(f"could not talk to {where} ({exc})")
        return None

    def _login(self, smtp: smtplib.SMTP) -> smtplib.SMTP:
        server = self.server
        if not server.username:
            return smtp
        where = f"{server.host}:{server.port}"
        try:
            password = self._password()
        except Exception as exc:  # the keyring is locked or gone: it may come back
            smtp.close()
            raise self._fail(f"cannot read the SMTP password: {exc}") from exc
        if password is None:
            smtp.close()
            raise self._fail(f"no password for {server.username}@{server.host} in the"
                             f" keyring; store it with `heard account password {self.name}"
                             " --smtp`", Failure.PERMANENT)
        try:
            if isinstance(password, Bearer):   # OAuth2 (heard.mail.oauth)
                oauth.smtp_login(smtp, password, server.host, server.port)
            else:
                smtp.login(server.username, password)
        except oauth.NoOAuthLogin as exc:
            smtp.close()
            raise self._fail(f"{server.host}: {exc}", Failure.PERMANENT) from exc
        except smtplib.SMTPAuthenticationError as exc:
            smtp.close()
            # A refused access token: the next attempt has a fresh one.
            temporary = 400 <= exc.smtp_code < 500 or isinstance(password, Bearer)
            raise self._fail(f"{server.host} refused the login" + (
                "" if temporary else ": wrong user name or password")
                + f" ({exc.smtp_code} {_words(exc.smtp_error)})",
                Failure.TEMPORARY if temporary else Failure.PERMANENT) from exc
        except smtplib.SMTPNotSupportedError as exc:
            smtp.close()
            raise self._fail(f"{server.host} offers no login here; with starttls it may"
                             " only offer it after encryption", Failure.PERMANENT) from exc
        except smtplib.SMTPException as exc:
            smtp.close()
            if "No suitable authentication method" in str(exc):
                raise self._fail(f"{server.host} offers no login method Heard can use"
                                 f" ({exc})", Failure.PERMANENT) from exc
            raise self._fail(f"logging in to {where} failed ({exc})") from exc
        except OSError as exc:
            smtp.close()
            raise self._fail(f"logging in to {where} failed ({exc})") from exc
        return smtp

    def send(self, raw: bytes, message_id: str,
             on_the_wire: Callable[[], None] | None = None) -> None:
        sender, rcpts = envelope(raw)
        if not sender or not rcpts:
            raise self._fail("the message has no sender or no recipient", Failure.PERMANENT)
        smtp = self._connect()
        data_started = False
        try:
            code, text = smtp.mail(sender)
            if code != 250:
                raise self._fail(f"the server refused the sender {sender}: {code}"
                                 f" {_words(text)}", _refused(code))
            for rcpt in rcpts:
                code, text = smtp.rcpt(rcpt)
                if code not in (250, 251):
                    raise self._fail(f"the server refused {rcpt}: {code} {_words(text)}",
                                     _refused(code))
            if on_the_wire is not None:
                on_the_wire()
            data_started = True
            code, text = smtp.data(crlf(_without_bcc(raw.replace(b"\r\n", b"\n"))))
        except smtplib.SMTPDataError as exc:
            raise self._fail(f"the server refused the message: {exc.smtp_code}"
                             f" {_words(exc.smtp_error)}",
                             _refused(exc.smtp_code)) from exc
        except (OSError, smtplib.SMTPException) as exc:
            if data_started:  # it may or may not have arrived: never guess
                raise self._fail(f"the connection broke while sending ({exc}); the message"
                                 " may have gone out", Failure.UNSURE) from exc
            raise self._fail(f"lost the connection to {self.server.host} ({exc})") from exc
        finally:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()
        if code != 250:
            raise self._fail(f"the server refused the message: {code} {_words(text)}",
                             _refused(code))

    def test(self) -> None:
        """Connect and log in, send nothing (for `heard account test` and settings)."""
        smtp = self._connect()
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
