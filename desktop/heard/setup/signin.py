"""Signing in with Microsoft or Google (OAuth2, Heard as a public client): the two ways a
person does it, for both faces and for the setup from an e-mail address. Qt-free.

- :func:`sign_in_browser`: the authorization-code flow with PKCE (S256) and a loopback
  redirect (RFC 8252): a one-shot HTTP server on 127.0.0.1 on a port the system picks
  receives the browser's redirect; `open_url` opens the provider's page (the system
  browser: ``webbrowser.open``; a test: an HTTP client that consents).
- :func:`sign_in_device`: the device flow (RFC 8628), for a terminal or a machine without
  a browser: `show_code` tells the person where to go and which code to type, and Heard
  polls the token endpoint until they have.

Both return a :class:`~heard.system.oauth.Grant` and store nothing; :func:`keep` puts its
refresh token in the keyring for an account (heard.system.oauth). Both block (run them off
the GUI thread) and stop early when `cancel` is set. Every failure is an OAuthError in
words (a client id the provider does not know, the person refusing, the time running out).
Authlib's OAuth2 client does the protocol.
"""

from __future__ import annotations

import html
import http.server
import logging
import threading
import time
import webbrowser
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from heard.config import CalendarSource, ImapAccount
from heard.system import oauth
from heard.system.oauth import DEVICE_GRANT, Grant, OAuthError, Provider

__all__ = ["DeviceCode", "Grant", "OAuthError", "Provider", "keep", "provider_of",
           "sign_in_browser", "sign_in_device", "sign_in_entry"]

log = logging.getLogger(__name__)

TIMEOUT = 30.0           # one HTTP request to the provider
WAIT = 600.0             # how long the person has to sign in


@dataclass(frozen=True)
class DeviceCode:
    """What the person is told in the device flow."""

    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_in: int

    def instructions(self) -> str:
        return (f"To sign in, open {self.verification_uri} in a browser (on any device) and"
                f" enter the code {self.user_code}")


def _check(provider: Provider) -> None:
    provider.check()
    from heard.domain.hosts import is_loopback

    for url in (provider.authorize_url, provider.token_url, provider.device_url):
        parts = urlsplit(url)
        if url and parts.scheme != "https" and not is_loopback(parts.hostname or ""):
            raise OAuthError(f"[oauth.{provider.name}]: {url} is not https; Heard signs in"
                             " only over TLS (http:// only to this machine)")


def _grant(provider: Provider, token: dict[str, Any]) -> Grant:
    refresh = token.get("refresh_token")
    if not refresh:
        raise OAuthError(f"{provider.label} gave no refresh token, so Heard could not stay"
                         " signed in: the scopes must include offline access (Microsoft:"
                         " offline_access)")
    expires_in = float(token.get("expires_in") or 3600)
    return Grant(provider.name, str(refresh), str(token["access_token"]),
                 time.time() + expires_in, str(token.get("scope", "")))


def _session(provider: Provider, **kwargs: Any) -> Any:
    from authlib.integrations.requests_client import OAuth2Session

    method = "client_secret_post" if provider.client_secret else "none"
    return OAuth2Session(provider.client_id, provider.client_secret or None,
                         scope=" ".join(provider.scopes), token_endpoint_auth_method=method,
                         **kwargs)


# -- the browser ---------------------------------------------------------------------------

_PAGE = """<!doctype html><meta charset=utf-8><title>Heard</title>
<body style="font-family:sans-serif;margin:3em"><h1>{title}</h1><p>{text}</p></body>"""


class _Redirect(http.server.BaseHTTPRequestHandler):
    """The loopback page the provider sends the browser back to (once)."""

    server: _Loopback

    def do_GET(self) -> None:
        query = parse_qs(urlsplit(self.path).query)
        if "code" not in query and "error" not in query:
            self.send_error(404)
            return
        ok = "code" in query
        title = "Signed in" if ok else "Not signed in"
        text = ("Heard is signed in. You may close this window." if ok else
                html.escape(query.get("error_description", query["error"])[0]))
        body = _PAGE.format(title=title, text=text).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.server.answer = f"http://127.0.0.1:{self.server.server_port}{self.path}"
        self.server.arrived.set()

    def log_message(self, format: str, *args: Any) -> None:  # the URL holds the code
        pass


class _Loopback(http.server.HTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Redirect)
        self.answer = ""
        self.arrived = threading.Event()


def sign_in_browser(provider: Provider, login_hint: str = "",
                    open_url: Callable[[str], object] = webbrowser.open,
                    cancel: threading.Event | None = None, wait: float = WAIT) -> Grant:
    """Sign in in the browser (authorization code with PKCE, loopback redirect). Blocks
    until the browser comes back, `cancel` is set, or `wait` seconds pass."""
    from authlib.common.security import generate_token

    _check(provider)
    loopback = _Loopback()
    serving = threading.Thread(target=loopback.serve_forever, args=(0.2,),
                               name="oauth-loopback", daemon=True)
    serving.start()
    try:
        redirect = f"http://127.0.0.1:{loopback.server_port}/"
        verifier = generate_token(64)
        with _session(provider, redirect_uri=redirect,
                      code_challenge_method="S256") as session:
            extra = {"login_hint": login_hint} if login_hint else {}
            url, _state = session.create_authorization_url(
                provider.authorize_url, code_verifier=verifier, **extra)
            log.info("signing in to %s in the browser (redirect to port %d)",
                     provider.label, loopback.server_port)
            open_url(url)
            end = time.monotonic() + wait
            while not loopback.arrived.wait(0.2):
                if cancel is not None and cancel.is_set():
                    raise OAuthError("the sign-in was cancelled")
                if time.monotonic() > end:
                    raise OAuthError(f"no answer from {provider.label}'s sign-in page in"
                                     f" {int(wait // 60)} minutes; try again")
            query = parse_qs(urlsplit(loopback.answer).query)
            if "error" in query:
                error = query["error"][0]
                if error == "access_denied":
                    raise OAuthError(f"the sign-in to {provider.label} was refused")
                raise OAuthError(f"{provider.label} did not sign you in: {error}"
                                 + "".join(f" ({d})" for d in query.get("error_description",
                                                                        [])))
            try:
                token = session.fetch_token(provider.token_url, timeout=TIMEOUT,
                                            authorization_response=loopback.answer,
                                            code_verifier=verifier)
            except Exception as exc:
                raise oauth.failure(provider, exc) from None
        return _grant(provider, dict(token))
    finally:
        loopback.shutdown()
        loopback.server_close()


# -- the device flow -----------------------------------------------------------------------

def sign_in_device(provider: Provider, show_code: Callable[[DeviceCode], object],
                   cancel: threading.Event | None = None) -> Grant:
    """Sign in with a code typed on another device (RFC 8628). Blocks until the person
    has signed in, refused, `cancel` is set, or the code expires."""
    import requests

    _check(provider)
    if not provider.device_url:
        raise OAuthError(f"{provider.label} has no device sign-in here (device_url in"
                         f" [oauth.{provider.name}]); sign in from the settings window")
    data = {"client_id": provider.client_id, "scope": " ".join(provider.scopes)}
    if provider.client_secret:
        data["client_secret"] = provider.client_secret
    try:
        answer = requests.post(provider.device_url, data=data, timeout=TIMEOUT)
        body = answer.json()
    except (requests.RequestException, ValueError) as exc:
        raise oauth.failure(provider, exc) from None
    if "error" in body or "device_code" not in body:
        raise oauth.failure(provider, _AuthlibError(body.get("error", "invalid_request"),
                                                    body.get("error_description", "")))
    code = DeviceCode(str(body["user_code"]),
                      str(body.get("verification_uri") or body.get("verification_url")),
                      str(body.get("verification_uri_complete", "")),
                      int(body.get("expires_in") or 900))
    show_code(code)
    interval = float(body.get("interval") or 5)
    end = time.monotonic() + code.expires_in
    with _session(provider) as session:
        while True:
            if cancel is not None:
                if cancel.wait(interval):
                    raise OAuthError("the sign-in was cancelled")
            else:
                time.sleep(interval)
            if time.monotonic() > end:
                raise OAuthError("the code expired before the sign-in was done; try again")
            try:
                token = session.fetch_token(provider.token_url, timeout=TIMEOUT,
                                            grant_type=DEVICE_GRANT,
                                            device_code=body["device_code"])
            except Exception as exc:
                error = getattr(exc, "error", "")
                if error == "authorization_pending":
                    continue
                if error == "slow_down":
                    interval += 5
                    continue
                if error == "access_denied":
                    raise OAuthError(f"the sign-in to {provider.label} was refused") from None
                if error == "expired_token":
                    raise OAuthError("the code expired before the sign-in was done; try"
                                     " again") from None
                raise oauth.failure(provider, exc) from None
            return _grant(provider, dict(token))


def _AuthlibError(error: str, description: str) -> Exception:  # noqa: N802
    from authlib.integrations.base_client import OAuthError as AuthlibError

    error_object: Exception = AuthlibError(error=error, description=description)
    return error_object


# -- keeping it -----------------------------------------------------------------------------

def keep(source: ImapAccount | CalendarSource, grant: Grant) -> None:
    """`grant` becomes `source`'s sign-in: its refresh token in the keyring (under the
    entry the account's IMAP, SMTP and CalDAV logins share); OAuthError when the keyring
    cannot keep it. Blocks."""
    from heard.system.secrets import SecretsUnavailable

    try:
        oauth.keep(source.keyring_name, grant)
    except SecretsUnavailable as exc:
        raise OAuthError(f"the sign-in could not be kept: {exc}") from exc


def sign_in_entry(entry: Mapping[str, Any], config: Path,
                  open_url: Callable[[str], object] = webbrowser.open,
                  cancel: threading.Event | None = None) -> str:
    """The settings window's and the wizard's "Sign in with ...": the account a form's
    [[accounts]] table describes (its provider's settings as heard.toml at `config` has
    them) signs in in the browser, and the sign-in is kept. Words to show. Blocks."""
    from heard.setup.accounts import parse_account

    account = parse_account(entry, config)
    if not isinstance(account, ImapAccount):
        raise OAuthError("only an IMAP account signs in with a provider")
    provider = provider_of(account)
    keep(account, sign_in_browser(provider, account.username, open_url, cancel))
    return f"Signed in to {provider.label} as {account.username}."


def provider_of(source: ImapAccount | CalendarSource) -> Provider:
    if source.auth != "oauth2" or source.oauth is None:
        raise OAuthError(f"{source.name} does not sign in with a provider (auth = \"oauth2\""
                         " in heard.toml)")
    return source.oauth
