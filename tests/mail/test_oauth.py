"""IMAP and SMTP logins with an OAuth2 access token (heard.mail.oauth), against the real
Dovecot whose oauth2 passdb introspects every token at the test OAuth2 server, and a
Postfix whose SASL is that Dovecot's (tests/support/oauth.py)."""

from __future__ import annotations

import base64
import email.message
import time
from pathlib import Path

import imapclient
import pytest
from imapclient.exceptions import LoginError

from heard.config import SmtpServer
from heard.mail import oauth
from heard.mail.oauth import Bearer
from heard.mail.smtp import SmtpTransport
from heard.mail.transport import Failure, SendError
from tests.support.events import wait_until
from tests.support.oauth import OAuthWorld
from tests.support.smtp import Postfix


def test_the_sasl_strings_are_as_the_rfcs_and_google_write_them() -> None:
    bearer = Bearer("a=b,c@example.com", "TOKEN")
    assert oauth.xoauth2(bearer) == "user=a=b,c@example.com\x01auth=Bearer TOKEN\x01\x01"
    # RFC 7628 3.1: the gs2 header escapes "=" and ","; host and port go along
    assert oauth.oauthbearer(bearer, "imap.example.com", 993) == (
        "n,a=a=3Db=2Cc@example.com,\x01host=imap.example.com\x01port=993\x01"
        "auth=Bearer TOKEN\x01\x01")
    assert "TOKEN" not in repr(bearer)
    assert oauth.imap_mechanism({"AUTH=XOAUTH2", "AUTH=OAUTHBEARER"}) == "OAUTHBEARER"
    assert oauth.imap_mechanism({"AUTH=XOAUTH2", "AUTH=PLAIN"}) == "XOAUTH2"
    with pytest.raises(oauth.NoOAuthLogin):
        oauth.imap_mechanism({"AUTH=PLAIN"})


@pytest.mark.parametrize("mechanism", ["OAUTHBEARER", "XOAUTH2"])
def test_imap_logs_in_with_each_mechanism_and_a_revoked_token_is_refused(
        oauth_world: OAuthWorld, mechanism: str) -> None:
    user = oauth_world.dovecot.add_user()
    grant = oauth_world.grant(user)
    bearer = Bearer(user.name, grant.access_token)
    client = imapclient.IMAPClient("127.0.0.1", port=oauth_world.dovecot.imap_port,
                                   ssl=False, timeout=10)
    oauth.imap_login(client, bearer, (mechanism,))
    assert client.folder_exists("INBOX")
    client.logout()
    log = oauth_world.dovecot.dir / "dovecot.log"
    wait_until(lambda: f"user=<{user.name}>, method={mechanism}" in log.read_text())

    oauth_world.server.revoke_user(user.name)
    client = imapclient.IMAPClient("127.0.0.1", port=oauth_world.dovecot.imap_port,
                                   ssl=False, timeout=10)
    with pytest.raises(LoginError):
        oauth.imap_login(client, bearer, (mechanism,))
    client.shutdown()


def _message(user_address: str, to: str) -> bytes:
    msg = email.message.EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = user_address, to, "Sent with a token"
    msg["Message-ID"] = f"<oauth-{time.time_ns()}@localhost>"
    msg.set_content("Hello")
    return bytes(msg)


@pytest.mark.parametrize("mechanism", ["OAUTHBEARER", "XOAUTH2"])
def test_smtp_sends_with_each_mechanism(oauth_world: OAuthWorld, oauth_postfix: Postfix,
                                        mechanism: str, monkeypatch: pytest.MonkeyPatch
                                        ) -> None:
    user, to = oauth_world.dovecot.add_user(), oauth_world.dovecot.add_user()
    grant = oauth_world.grant(user)
    monkeypatch.setattr(oauth, "MECHANISMS", (mechanism,))
    server = SmtpServer("127.0.0.1", oauth_postfix.starttls_port, "starttls", user.name,
                        Path(oauth_postfix.cert))
    transport = SmtpTransport("work", server, lambda: Bearer(user.name, grant.access_token))
    raw = _message(user.address, to.address)
    transport.send(raw, "<x>")
    inbox = to.maildir / "new"
    wait_until(lambda: inbox.exists() and any(inbox.iterdir()), timeout=30)
    assert any(b"Sent with a token" in f.read_bytes() for f in inbox.iterdir())
    assert f"sasl_method={mechanism}" in oauth_postfix.log_text()


def test_smtp_with_a_refused_token_fails_for_now_and_says_why(
        oauth_world: OAuthWorld, oauth_postfix: Postfix) -> None:
    user = oauth_world.dovecot.add_user()
    server = SmtpServer("127.0.0.1", oauth_postfix.starttls_port, "starttls", user.name,
                        Path(oauth_postfix.cert))
    transport = SmtpTransport("work", server, lambda: Bearer(user.name, "not-a-token"))
    with pytest.raises(SendError) as caught:
        transport.send(_message(user.address, user.address), "<y>")
    # temporary: the next attempt asks for a fresh token (or says to sign in again)
    assert caught.value.failure is Failure.TEMPORARY
    assert "refused the login" in caught.value.problem
    assert base64.b64encode(b"not-a-token").decode() not in caught.value.problem
