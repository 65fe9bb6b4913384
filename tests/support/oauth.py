"""A real OAuth2 authorization server on loopback, built on Authlib's server grants.

It stands in for Microsoft's and Google's sign-in in the tests: the authorization-code
grant with PKCE (S256 required, any loopback redirect port, RFC 8252), the device grant
(RFC 8628), refresh tokens (rotated, as Microsoft does), revocation (RFC 7009: revoking
either token of a grant ends the whole grant) and token introspection (RFC 7662), which
the test Dovecot's `oauth2` passdb and the CalDAV proxy ask to check every bearer token.

The "user" is a mail user name of the test Dovecot (user5): tokens introspect to
`{"active": true, "username": "user5", ...}`. Tokens live `lifetime` seconds (short in the
refresh tests). The test's stand-in for the user's clicks is `consent(url, user)` (the
browser flow) and `approve(user_code, user)` (the device flow).

Runs Flask's development server (werkzeug) on a thread; one server per test session.
"""

from __future__ import annotations

import http.server
import logging
import os
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin, grants
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oauth2.rfc8628 import (
    DeviceAuthorizationEndpoint,
    DeviceCodeGrant,
    DeviceCredentialDict,
)
from flask import Flask, request
from werkzeug.serving import make_server

from heard.config import ConfigFile
from heard.system.oauth import Grant, Provider
from heard.system.paths import Profile
from tests.support.dovecot import NO_AUTH_PENALTY, Dovecot, MailUser, free_port
from tests.support.smtp import Postfix

CLIENT_ID = "heard-test-client"
# Dovecot's and the CalDAV proxy's own client, allowed to introspect every token.
RESOURCE_ID, RESOURCE_SECRET = "resource-server", "resource-secret"
SCOPES = "imap smtp calendar offline_access"


@dataclass
class Client(ClientMixin):
    client_id: str
    secret: str = ""            # "" = a public client (Heard's kind)

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return "http://127.0.0.1/"

    def get_allowed_scope(self, scope: str) -> str:
        return scope

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        # RFC 8252 7.3: a loopback redirect on any port
        parts = urlsplit(redirect_uri)
        return parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost")

    def check_client_secret(self, client_secret: str) -> bool:
        return bool(self.secret) and secrets.compare_digest(self.secret, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == ("none" if not self.secret else "client_secret_basic")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and not self.secret

    def check_grant_type(self, grant_type: str) -> bool:
        return not self.secret


@dataclass
class Token(TokenMixin):
    access_token: str
    refresh_token: str | None
    client_id: str
    user: str
    scope: str
    grant: str                    # what a sign-in made, shared by its refreshed tokens
    issued_at: float
    expires_in: int
    revoked: bool = False

    def check_client(self, client: ClientMixin) -> bool:
        return bool(client.get_client_id() in (self.client_id, RESOURCE_ID))

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return self.expires_in

    def is_expired(self) -> bool:
        return time.time() >= self.issued_at + self.expires_in

    def is_revoked(self) -> bool:
        return self.revoked

    def get_user(self) -> str:
        return self.user

    def get_client(self) -> ClientMixin:
        return Client(self.client_id)


@dataclass
class _Code:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: str
    code_challenge: str | None
    code_challenge_method: str | None

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


@dataclass
class _State:
    clients: dict[str, Client] = field(default_factory=dict)
    codes: dict[str, _Code] = field(default_factory=dict)
    tokens: list[Token] = field(default_factory=list)
    devices: dict[str, DeviceCredentialDict] = field(default_factory=dict)
    approved: dict[str, str] = field(default_factory=dict)    # user code -> user
    lock: threading.Lock = field(default_factory=threading.Lock)


class OAuthServer:
    """The server; `url` is its issuer (endpoints below it), `lifetime` the seconds an
    access token lives (change it between tests; the refresh token lives until revoked)."""

    def __init__(self, lifetime: int = 3600) -> None:
        self.lifetime = lifetime
        self.state = _State()
        self.state.clients[CLIENT_ID] = Client(CLIENT_ID)
        self.state.clients[RESOURCE_ID] = Client(RESOURCE_ID, RESOURCE_SECRET)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.refreshes = 0
        self.app = self._app()
        self._server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="oauth-server", daemon=True)

    # -- what Heard's settings name ------------------------------------------------------

    @property
    def endpoints(self) -> dict[str, str]:
        return {"authorize_url": f"{self.url}/authorize", "token_url": f"{self.url}/token",
                "device_url": f"{self.url}/device_authorization",
                "revoke_url": f"{self.url}/revoke"}

    @property
    def introspection_url(self) -> str:
        return f"http://{RESOURCE_ID}:{RESOURCE_SECRET}@127.0.0.1:{self.port}/introspect"

    # -- the user's side ------------------------------------------------------------------

    def consent(self, url: str, user: str) -> requests.Response:
        """What a user does in the browser: open the sign-in page, sign in as `user` and
        agree; the redirect is followed to Heard's loopback page, whose answer is
        returned."""
        page = requests.get(url, timeout=10)
        if page.status_code != 200:
            return page
        return requests.post(url, data={"user": user, "consent": "yes"}, timeout=10)

    def approve(self, user_code: str, user: str) -> None:
        """The user types the device flow's code on the verification page and agrees."""
        done = requests.post(f"{self.url}/device", timeout=10,
                             data={"user_code": user_code, "user": user})
        done.raise_for_status()

    def approve_next(self, user: str, timeout: float = 30.0) -> threading.Thread:
        """In the background: once a device code is issued that nobody approved yet,
        approve it as `user` (the person reading it off the terminal and typing it)."""
        with self.state.lock:
            before = {c.get_user_code() for c in self.state.devices.values()}

        def run() -> None:
            end = time.monotonic() + timeout
            while time.monotonic() < end:
                with self.state.lock:
                    new = [c.get_user_code() for c in self.state.devices.values()
                           if c.get_user_code() not in before]
                if new:
                    self.approve(new[0], user)
                    return
                time.sleep(0.05)

        thread = threading.Thread(target=run, name="oauth-approve", daemon=True)
        thread.start()
        return thread

    def revoke_user(self, user: str) -> int:
        """The administrator ends every grant of `user` (as Entra ID's 'revoke sessions');
        the number of tokens revoked."""
        with self.state.lock:
            hit = [t for t in self.state.tokens if t.user == user and not t.revoked]
            for token in hit:
                token.revoked = True
        return len(hit)

    def tokens_of(self, user: str) -> list[Token]:
        with self.state.lock:
            return [t for t in self.state.tokens if t.user == user]

    def active(self, access_token: str) -> bool:
        with self.state.lock:
            return any(t.access_token == access_token and not t.revoked
                       and not t.is_expired() for t in self.state.tokens)

    # -- running --------------------------------------------------------------------------

    def start(self) -> OAuthServer:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._thread.join(5)

    def _app(self) -> Flask:
        state = self.state
        owner = self
        app = Flask("heard-test-oauth")

        def query_client(client_id: str) -> Client | None:
            return state.clients.get(client_id)

        def save_token(token: dict[str, Any], req: Any) -> None:
            grant_id = getattr(req, "heard_grant", None) or secrets.token_hex(8)
            with state.lock:
                state.tokens.append(Token(
                    token["access_token"], token.get("refresh_token"),
                    req.client.get_client_id(), str(req.user), token.get("scope", ""),
                    grant_id, time.time(), int(token["expires_in"])))

        server = AuthorizationServer(app, query_client=query_client, save_token=save_token)
        server.register_token_generator("default", BearerTokenGenerator(
            lambda *_a, **_k: generate_token(42), lambda *_a, **_k: generate_token(48),
            lambda client, grant_type: owner.lifetime))

        class CodeGrant(grants.AuthorizationCodeGrant):
            TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = ["none"]

            def save_authorization_code(self, code: str, req: Any) -> None:
                with state.lock:
                    state.codes[code] = _Code(
                        code, req.client.get_client_id(), req.payload.redirect_uri,
                        req.payload.scope, str(req.user),
                        req.payload.data.get("code_challenge"),
                        req.payload.data.get("code_challenge_method"))

            def query_authorization_code(self, code: str, client: Client) -> _Code | None:
                with state.lock:
                    found = state.codes.get(code)
                return found if found and found.client_id == client.client_id else None

            def delete_authorization_code(self, code: _Code) -> None:
                with state.lock:
                    state.codes.pop(code.code, None)

            def authenticate_user(self, code: _Code) -> str:
                return code.user

        class RefreshGrant(grants.RefreshTokenGrant):
            TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = ["none"]
            INCLUDE_NEW_REFRESH_TOKEN = True

            def authenticate_refresh_token(self, refresh_token: str) -> Token | None:
                with state.lock:
                    for token in state.tokens:
                        if token.refresh_token == refresh_token and not token.revoked:
                            self.request.heard_grant = token.grant
                            return token
                return None

            def authenticate_user(self, credential: Token) -> str:
                return credential.user

            def revoke_old_credential(self, credential: Token) -> None:
                owner.refreshes += 1
                with state.lock:   # the old refresh token is spent; its access token lives
                    credential.refresh_token = None

        class DeviceGrant(DeviceCodeGrant):
            def query_device_credential(self, device_code: str) -> DeviceCredentialDict | None:
                with state.lock:
                    return state.devices.get(device_code)

            def query_user_grant(self, user_code: str) -> tuple[str, bool] | None:
                with state.lock:
                    user = state.approved.get(user_code)
                return (user, True) if user else None

            def should_slow_down(self, credential: DeviceCredentialDict) -> bool:
                return False

        class DeviceEndpoint(DeviceAuthorizationEndpoint):
            CLIENT_AUTH_METHODS: ClassVar[list[str]] = ["none"]
            INTERVAL = 1
            EXPIRES_IN = 300

            def get_verification_uri(self) -> str:
                return f"{owner.url}/device"

            def save_device_credential(self, client_id: str, scope: str,
                                       data: dict[str, Any]) -> None:
                with state.lock:
                    state.devices[data["device_code"]] = DeviceCredentialDict(
                        client_id=client_id, scope=scope, user_code=data["user_code"],
                        expires_at=time.time() + data["expires_in"])

        def find(token_string: str, hint: str | None) -> Token | None:
            with state.lock:
                for token in state.tokens:
                    if token_string in (token.access_token, token.refresh_token):
                        return token
            return None

        class Revocation(RevocationEndpoint):
            CLIENT_AUTH_METHODS: ClassVar[list[str]] = ["none", "client_secret_basic"]

            def query_token(self, token_string: str, hint: str | None) -> Token | None:
                return find(token_string, hint)

            def revoke_token(self, token: Token, req: Any) -> None:
                with state.lock:    # the whole grant ends
                    for other in state.tokens:
                        if other.grant == token.grant:
                            other.revoked = True

        class Introspection(IntrospectionEndpoint):
            CLIENT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic"]

            def query_token(self, token_string: str, hint: str | None) -> Token | None:
                return find(token_string, hint)

            def check_permission(self, token: Token, client: Client, req: Any) -> bool:
                return client.client_id == RESOURCE_ID

            def introspect_token(self, token: Token) -> dict[str, Any]:
                return {"active": True, "username": token.user, "client_id": token.client_id,
                        "scope": token.scope, "token_type": "Bearer",
                        "iat": int(token.issued_at),
                        "exp": int(token.issued_at + token.expires_in)}

        server.register_grant(CodeGrant, [CodeChallenge(required=True)])
        server.register_grant(RefreshGrant)
        server.register_grant(DeviceGrant)
        server.register_endpoint(DeviceEndpoint)
        server.register_endpoint(Revocation)
        server.register_endpoint(Introspection)

        @app.route("/authorize", methods=["GET", "POST"])
        def authorize() -> Any:
            if request.method == "GET":
                try:
                    server.get_consent_grant(end_user=None)
                except Exception as exc:  # an unknown client: an error page, no redirect
                    return f"<h1>Sign-in error</h1><p>{exc}</p>", 400
                return "<form method=post><input name=user><button>Accept</button></form>"
            user = request.form.get("user") if request.form.get("consent") == "yes" else None
            grant = server.get_consent_grant(end_user=user)
            return server.create_authorization_response(grant=grant, grant_user=user)

        @app.route("/token", methods=["POST"])
        def token() -> Any:
            return server.create_token_response()

        @app.route("/device_authorization", methods=["POST"])
        def device_authorization() -> Any:
            return server.create_endpoint_response(DeviceEndpoint.ENDPOINT_NAME)

        @app.route("/device", methods=["GET", "POST"])
        def device() -> Any:
            if request.method == "GET":
                return "<form method=post><input name=user_code><input name=user></form>"
            code = request.form["user_code"].strip().upper()
            with state.lock:
                if not any(c.get_user_code() == code for c in state.devices.values()):
                    return "unknown code", 400
                state.approved[code] = request.form["user"]
            return "You may close this window."

        @app.route("/revoke", methods=["POST"])
        def revoke() -> Any:
            return server.create_endpoint_response(Revocation.ENDPOINT_NAME)

        @app.route("/introspect", methods=["POST"])
        def introspect() -> Any:
            return server.create_endpoint_response(Introspection.ENDPOINT_NAME)

        return app


# Dovecot 2.3's oauth2 passdb asking the server above about every XOAUTH2 and OAUTHBEARER
# login (token introspection, RFC 7662), beside the password logins of the usual passdb.
DOVECOT_CONF = """\
auth_mechanisms = plain login xoauth2 oauthbearer
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {conf}
}}
"""

OAUTH2_EXT = """\
introspection_mode = post
introspection_url = {url}
username_attribute = username
username_format = %Ln
active_attribute = active
active_value = true
force_introspection = yes
"""


class OAuthWorld:
    """The session's OAuth2 server and the Dovecot that checks its tokens."""

    def __init__(self) -> None:
        self.server = OAuthServer().start()
        self.dir = Path(tempfile.mkdtemp(prefix="heard-oauth-"))
        ext = self.dir / "dovecot-oauth2.conf.ext"
        ext.write_text(OAUTH2_EXT.format(url=self.server.introspection_url))
        self.dovecot = Dovecot(DOVECOT_CONF.format(conf=ext) + NO_AUTH_PENALTY).start()

    def close(self) -> None:
        self.dovecot.close()
        self.server.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def provider_settings(self, client_id: str = CLIENT_ID) -> dict[str, object]:
        """The [oauth.NAME] table of heard.toml for this server."""
        return {"client_id": client_id, "title": "Test ID", "scopes": SCOPES.split(),
                **self.server.endpoints}

    def provider(self, client_id: str = CLIENT_ID) -> Provider:
        e = self.server.endpoints
        return Provider("testid", client_id, e["authorize_url"], e["token_url"],
                        e["device_url"], e["revoke_url"], tuple(SCOPES.split()),
                        title="Test ID")

    def profile(self, root: Path, user: MailUser, extra: dict[str, object] | None = None,
                client_id: str = CLIENT_ID) -> Profile:
        """A profile with one IMAP account `work` signing in to this server as `user`
        (not yet signed in: setup.signin.keep stores a grant)."""
        profile = Profile(root)
        profile.create()
        file = ConfigFile(profile.config)
        file.set("user", "name", "Alex Morgan")
        file.set("user", "addresses", [user.address])
        file.set("user", "timezone", "Europe/Berlin")
        for key, value in self.provider_settings(client_id).items():
            file.set("oauth.testid", key, value)
        file.append("accounts", {
            "name": "work", "kind": "imap", "host": "127.0.0.1",
            "port": self.dovecot.imap_port, "security": "plain", "username": user.name,
            "address": user.address, "auth": "oauth2", "provider": "testid",
            **(extra or {})})
        return profile

    def grant(self, user: MailUser) -> Grant:
        """A sign-in as `user` by the device flow, the server's page approved at once."""
        from heard.setup.signin import sign_in_device

        return sign_in_device(self.provider(),
                              lambda code: self.server.approve(code.user_code, user.name))


@pytest.fixture(scope="session")
def oauth_world() -> Iterator[OAuthWorld]:
    world = OAuthWorld()
    yield world
    world.close()


@pytest.fixture(scope="session")
def oauth_postfix(oauth_world: OAuthWorld) -> Iterator[Postfix]:
    """Postfix submission whose SASL is the OAuth2 Dovecot's (XOAUTH2 and OAUTHBEARER
    offered after STARTTLS). Runs as root only, like every test Postfix."""
    if os.geteuid() != 0:
        pytest.skip("the test Postfix runs as root only")
    with Postfix(oauth_world.dovecot) as postfix:
        yield postfix


@pytest.fixture
def oauth_server(oauth_world: OAuthWorld) -> Iterator[OAuthServer]:
    """The session's server, its token lifetime back to an hour after the test."""
    yield oauth_world.server
    oauth_world.server.lifetime = 3600


class BearerProxy:
    """A small authenticating proxy in front of a CalDAV server (Radicale): it takes the
    requests of a client signed in with the OAuth2 server (Authorization: Bearer), asks
    the server's introspection endpoint about each token, as a resource server does, and
    passes an accepted request on to the CalDAV server as the token's user (Basic, the
    password `password`). A token that is not active gets 401 with the RFC 6750
    challenge. `url` is where clients point; paths are the CalDAV server's."""

    def __init__(self, oauth: OAuthServer, target: str, password: str = "secret") -> None:
        self.oauth, self.target, self.password = oauth, target.rstrip("/"), password
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.refused = 0
        self.passed = 0
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                auth = self.headers.get("Authorization", "")
                user = proxy.introspect(auth.removeprefix("Bearer ").strip()) \
                    if auth.startswith("Bearer ") else None
                if user is None:
                    proxy.refused += 1
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Bearer error="invalid_token"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                proxy.passed += 1
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("host", "authorization", "content-length",
                                                "connection", "accept-encoding")}
                answer = requests.request(self.command, proxy.target + self.path,
                                          data=body, headers=headers, timeout=10,
                                          auth=(user, proxy.password),
                                          allow_redirects=False)
                self.send_response(answer.status_code)
                for key, value in answer.headers.items():
                    if key.lower() not in ("transfer-encoding", "connection",
                                           "content-encoding", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_PUT = do_POST = do_DELETE = do_OPTIONS = do_PROPFIND = _any  # noqa: N815
            do_REPORT = do_MKCALENDAR = do_PROPPATCH = do_HEAD = _any  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="bearer-proxy", daemon=True)

    def introspect(self, token: str) -> str | None:
        answer = requests.post(f"{self.oauth.url}/introspect", data={"token": token},
                               auth=(RESOURCE_ID, RESOURCE_SECRET), timeout=10).json()
        return str(answer["username"]) if answer.get("active") else None

    def start(self) -> BearerProxy:
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


@pytest.fixture(scope="session")
def bearer_dav(oauth_world: OAuthWorld, radicale: Any) -> Iterator[BearerProxy]:
    """The session's Radicale behind the bearer-checking proxy."""
    proxy = BearerProxy(oauth_world.server, radicale.url).start()
    yield proxy
    proxy.close()
