"""The test SMTP servers themselves (tests/support/smtp.py), driven with plain smtplib: what
they accept lands in Dovecot, read back over IMAP; what they must refuse, they refuse."""

from __future__ import annotations

import smtplib
import socket
import ssl
import subprocess
import time
from email.message import EmailMessage
from email.utils import make_msgid

import pytest

from tests.support.dovecot import Dovecot, MailUser
from tests.support.smtp import FaultySmtp, Postfix

OUTSIDE = "margaret@hale.example"


def message(sender: MailUser, *to: str) -> tuple[str, bytes]:
    msg = EmailMessage()
    msg["From"] = sender.address
    msg["To"] = ", ".join(to)
    msg["Subject"] = "Your contract"
    msg["Message-ID"] = mid = make_msgid(domain="heard.test")
    msg.set_content("We have received it and will reply by tomorrow.\n")
    return mid, msg.as_bytes()


def in_inbox(user: MailUser, message_id: str, timeout: float = 5.0) -> list[bytes]:
    """The INBOX messages of `user` with that Message-ID, waiting for at least one."""
    client = user.client()
    try:
        client.select_folder("INBOX", readonly=True)
        end = time.monotonic() + timeout
        while True:
            uids = client.search(["HEADER", "Message-ID", message_id])
            if uids or time.monotonic() > end:
                fetched = client.fetch(uids, ["BODY.PEEK[]"]) if uids else {}
                return [data[b"BODY[]"] for data in fetched.values()]
            time.sleep(0.05)
            client.noop()
    finally:
        client.logout()


def verifying(cert: object) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cert))


# --- Postfix ------------------------------------------------------------------------------


def test_postfix_starttls_login_delivers_into_the_inbox(postfix: Postfix, dovecot: Dovecot,
                                                        mailuser: MailUser) -> None:
    recipient = dovecot.add_user()
    mid, raw = message(mailuser, recipient.address)
    with smtplib.SMTP(postfix.host, postfix.starttls_port, timeout=10) as smtp:
        smtp.ehlo()
        assert smtp.has_extn("starttls")
        assert not smtp.has_extn("auth")   # a submission port: AUTH only once encrypted
        smtp.starttls(context=verifying(postfix.cert))   # 127.0.0.1 is in the certificate
        smtp.ehlo()
        assert {"PLAIN", "LOGIN"} <= set(smtp.esmtp_features["auth"].split())
        smtp.login(mailuser.name, mailuser.password)
        assert smtp.sendmail(mailuser.address, [recipient.address], raw) == {}

    [delivery] = postfix.wait_delivered(mid)
    assert (delivery.recipient, delivery.status) == (recipient.address, "sent")
    [stored] = in_inbox(recipient, mid)
    assert b"Subject: Your contract" in stored
    assert f"(Authenticated sender: {mailuser.name})".encode() in stored
    assert b"(using TLSv1.3" in stored
    assert postfix.queue_empty()


def test_postfix_implicit_tls_and_mail_for_the_world(postfix: Postfix, dovecot: Dovecot,
                                                     mailuser: MailUser) -> None:
    mid, raw = message(mailuser, OUTSIDE, mailuser.address)
    with smtplib.SMTP_SSL(postfix.host, postfix.tls_port, timeout=10,
                          context=verifying(postfix.cert)) as smtp:
        smtp.login(mailuser.name, mailuser.password)
        smtp.sendmail(mailuser.address, [OUTSIDE, mailuser.address], raw)

    deliveries = postfix.wait_delivered(mid)
    assert {(d.original, d.recipient, d.status) for d in deliveries} == {
        (OUTSIDE, dovecot.elsewhere.address, "sent"),
        (mailuser.address, mailuser.address, "sent")}
    assert len(in_inbox(mailuser, mid)) == 1
    [outside] = in_inbox(dovecot.elsewhere, mid)   # what the world would have received
    assert f"To: {OUTSIDE}, {mailuser.address}".encode() in outside


@pytest.mark.parametrize("encrypted", [False, True])
def test_postfix_refuses_mail_without_login(postfix: Postfix, mailuser: MailUser,
                                            encrypted: bool) -> None:
    with smtplib.SMTP(postfix.host, postfix.starttls_port, timeout=10) as smtp:
        smtp.ehlo()
        if encrypted:
            smtp.starttls(context=verifying(postfix.cert))
            smtp.ehlo()
        assert smtp.mail(mailuser.address)[0] == 250
        code, text = smtp.rcpt(OUTSIDE)
        assert (code, b"Relay access denied" in text) == (554, True)
        code, text = smtp.rcpt(mailuser.address)   # not even to a local user
        assert (code, b"Access denied" in text) == (554, True)
        assert smtp.docmd("DATA")[0] == 554
    assert postfix.queue_empty()


def test_postfix_refuses_a_wrong_password_and_an_unknown_user(
        forgiving_postfix: Postfix) -> None:
    postfix, mailuser = forgiving_postfix, forgiving_postfix.dovecot.add_user()
    with smtplib.SMTP_SSL(postfix.host, postfix.tls_port, timeout=10,
                          context=verifying(postfix.cert)) as smtp:
        with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
            smtp.login(mailuser.name, "not the password")
        assert refused.value.smtp_code == 535
        smtp.login(mailuser.name, mailuser.password)
        # Dovecot holds no penalty against 127.0.0.1 that would slow every later login (the
        # successful login looked the penalty up after the failures were counted).
        assert penalties(postfix.dovecot) == []
        smtp.mail(mailuser.address)
        code, text = smtp.rcpt("nobody@localhost")   # refused at once, not bounced later
        assert (code, b"5.1.1" in text) == (550, True)


def penalties(dovecot: Dovecot) -> list[str]:
    """The addresses Dovecot's auth penalty slows down (`doveadm penalty`)."""
    out = subprocess.run(["doveadm", "-c", str(dovecot.dir / "dovecot.conf"), "penalty"],
                         check=True, capture_output=True, text=True).stdout
    return [line.split()[0] for line in out.splitlines()[1:] if line.strip()]


# --- FaultySmtp ---------------------------------------------------------------------------


def test_faulty_smtp_answers_451_then_accepts(faulty_smtp: FaultySmtp,
                                              mailuser: MailUser) -> None:
    faulty_smtp.reply_next(451, "4.3.0 Try again later")
    mid, raw = message(mailuser, mailuser.address)
    with smtplib.SMTP(faulty_smtp.host, faulty_smtp.port, timeout=10) as smtp:
        smtp.login(mailuser.name, mailuser.password)   # plain AUTH: a loopback server
        with pytest.raises(smtplib.SMTPDataError) as refused:
            smtp.sendmail(mailuser.address, [mailuser.address], raw)
        assert (refused.value.smtp_code, refused.value.smtp_error) == (
            451, b"4.3.0 Try again later")
        assert in_inbox(mailuser, mid, timeout=0) == []
        assert smtp.sendmail(mailuser.address, [mailuser.address], raw) == {}

    assert len(in_inbox(mailuser, mid)) == 1
    [accepted] = faulty_smtp.received
    [kept_out] = faulty_smtp.refused
    assert accepted.rcpt_tos == kept_out.rcpt_tos == [mailuser.address]
    assert (accepted.login, accepted.tls) == (mailuser.name, False)


def test_faulty_smtp_down_then_up_on_the_same_port(faulty_smtp: FaultySmtp,
                                                   mailuser: MailUser) -> None:
    port = faulty_smtp.port
    idle = smtplib.SMTP(faulty_smtp.host, port, timeout=10)
    faulty_smtp.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((faulty_smtp.host, port), 1)
    with pytest.raises((smtplib.SMTPServerDisconnected, OSError)):
        idle.ehlo()   # an open connection went down with it
    idle.close()

    faulty_smtp.start()
    assert faulty_smtp.port == port
    mid, raw = message(mailuser, OUTSIDE)
    with smtplib.SMTP(faulty_smtp.host, port, timeout=10) as smtp:
        smtp.starttls(context=verifying(faulty_smtp.cert))
        smtp.login(mailuser.name, mailuser.password)
        smtp.sendmail(mailuser.address, [OUTSIDE], raw)
    assert faulty_smtp.wait_received()[0].tls
    assert len(in_inbox(mailuser.server.elsewhere, mid)) == 1


def test_faulty_smtp_refuses_recipients_and_drops_mid_message(faulty_smtp: FaultySmtp,
                                                              mailuser: MailUser) -> None:
    faulty_smtp.reply_next(550, "5.1.1 No such user here", stage="RCPT")
    faulty_smtp.disconnect_next()
    mid, raw = message(mailuser, mailuser.address)
    with smtplib.SMTP(faulty_smtp.host, faulty_smtp.port, timeout=10) as smtp:
        smtp.ehlo()
        assert smtp.mail(mailuser.address)[0] == 530   # no AUTH, no mail
        smtp.login(mailuser.name, mailuser.password)
        assert smtp.mail(mailuser.address)[0] == 250
        assert smtp.rcpt(mailuser.address) == (550, b"5.1.1 No such user here")
        assert smtp.rcpt(mailuser.address)[0] == 250
        with pytest.raises(smtplib.SMTPServerDisconnected):
            smtp.data(raw)   # sent in full, then no answer: did it arrive?
    assert len(faulty_smtp.refused) == 1
    assert faulty_smtp.received == []
    assert in_inbox(mailuser, mid, timeout=0.5) == []
