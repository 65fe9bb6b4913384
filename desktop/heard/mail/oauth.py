"""Logging in to IMAP and SMTP with an OAuth2 access token (heard.system.oauth gives it).

OAUTHBEARER (RFC 7628) where the server offers it, else XOAUTH2 (Google's and Microsoft's
mechanism, which both offer). The token travels only inside the SASL exchange, which
imaplib and smtplib never log at Heard's log levels.
"""

from __future__ import annotations

import base64
import smtplib
from typing import Any

from heard.domain.accounts import SIGN_IN_AGAIN
from heard.system.oauth import Bearer, Provider

__all__ = ["MECHANISMS", "REFUSED", "SIGN_IN_AGAIN", "Bearer", "NoOAuthLogin", "bearer",
           "imap_login", "imap_mechanism", "oauthbearer", "sign_in_again", "smtp_login",
           "xoauth2"]


# What an IMAP or SMTP server's refusal of a token means (the caller asks for a fresh one).
REFUSED = "the server refused the sign-in's access token"


class NoOAuthLogin(Exception):
    """The server offers neither OAUTHBEARER nor XOAUTH2."""


def xoauth2(bearer: Bearer) -> str:
    return f"user={bearer.user}\x01auth=Bearer {bearer.token}\x01\x01"


def oauthbearer(bearer: Bearer, host: str, port: int) -> str:
    user = bearer.user.replace("=", "=3D").replace(",", "=2C")
    return f"n,a={user},\x01host={host}\x01port={port}\x01auth=Bearer {bearer.token}\x01\x01"


MECHANISMS = ("OAUTHBEARER", "XOAUTH2")   # in order of preference


def imap_mechanism(capabilities: set[str], mechanisms: tuple[str, ...] = MECHANISMS) -> str:
    for mechanism in mechanisms:
        if f"AUTH={mechanism}" in capabilities:
            return mechanism
    raise NoOAuthLogin("the server offers no OAuth2 login (AUTH=OAUTHBEARER or"
                       " AUTH=XOAUTH2)")


def imap_login(client: Any, bearer: Bearer, mechanisms: tuple[str, ...] = MECHANISMS
               ) -> None:
    """Log an imapclient.IMAPClient in with the first of `mechanisms` the server offers;
    imapclient's LoginError when refused."""
    capabilities = {c.decode().upper() if isinstance(c, bytes) else str(c).upper()
                    for c in client.capabilities()}
    if imap_mechanism(capabilities, mechanisms) == "OAUTHBEARER":
        client.oauthbearer_login(bearer.user, bearer.token)
    else:
        client.oauth2_login(bearer.user, bearer.token)


def smtp_login(smtp: smtplib.SMTP, bearer: Bearer, host: str, port: int,
               mechanisms: tuple[str, ...] | None = None) -> None:
    """AUTH OAUTHBEARER or XOAUTH2 on an EHLO'd connection; SMTPAuthenticationError when
    refused (the server's JSON error challenge is answered with the empty response RFC
    7628 asks for)."""
    offered = set((smtp.esmtp_features.get("auth") or "").upper().split())
    mechanism = next((m for m in mechanisms or MECHANISMS if m in offered), "")
    if mechanism == "OAUTHBEARER":
        text = oauthbearer(bearer, host, port)
    elif mechanism == "XOAUTH2":
        text = xoauth2(bearer)
    else:
        raise NoOAuthLogin("the SMTP server offers no OAuth2 login (AUTH OAUTHBEARER or"
                           " XOAUTH2)")
    initial = base64.b64encode(text.encode()).decode("ascii")
    code, reply = smtp.docmd("AUTH", f"{mechanism} {initial}")
    if code == 334:   # an error challenge (JSON): end the exchange, then it fails
        code, reply = smtp.docmd("")
    if code not in (235, 503):
        raise smtplib.SMTPAuthenticationError(code, reply)




def bearer(entry: str, provider: Provider, user: str, account: str,
           fresh: bool = False) -> Bearer:
    """A valid access token for the sign-in kept in `entry` (heard.system.oauth), as the
    login of `user`; ImapError(AUTH) when there is none, in the words of
    :func:`sign_in_again` when only a new sign-in helps. Blocks."""
    from heard.mail.imap import ImapError, Problem
    from heard.system import oauth

    try:
        token = oauth.access_token(entry, provider, fresh=fresh)
    except oauth.SignInNeeded as exc:
        raise ImapError(Problem.AUTH, sign_in_again(provider, user, account, str(exc))
                        ) from None
    except oauth.OAuthError as exc:
        raise ImapError(Problem.AUTH, str(exc)) from None
    return Bearer(user, token)


def sign_in_again(provider: Provider, user: str, account: str, reason: str) -> str:
    """The one way a grant's end is told (doctor, status, the toast, the settings)."""
    return (f"{reason.removesuffix(': sign in again')}. {SIGN_IN_AGAIN} to"
            f" {provider.label} as {user}: `heard account signin {account}` or"
            " Settings > Accounts > Sign in again")
