"""OAuth2 tokens at run time: the refresh token in the keyring, access tokens in memory.

A sign-in (heard.setup.signin) ends with a :class:`Grant`; :func:`keep` stores its refresh
token in the keyring (heard.system.secrets) under the entry :func:`entry` names
(``oauth:<provider>:<login>``, shared by the account's IMAP, SMTP and CalDAV logins) and
its access token in this process's memory. Nothing else ever holds either: no file, no
log line (both are registered with the log's redaction), no exception message.

:func:`access_token` hands out an access token that is valid for a while yet: the one in
memory until ``margin`` before it expires (a quarter of its life, at most a minute), else
a new one from the provider's token endpoint (the refresh-token grant, through Authlib's
client), whose rotated refresh token replaces the kept one. Refreshes of one entry are
serialised: with rotation, two at once would spend the same refresh token twice and the
provider would take the second for a replay. A caller whose login was refused with a
token from here asks again with ``fresh=True`` (the token may have been revoked early).

A grant the provider no longer honours (``invalid_grant``: revoked, expired, password
changed, consent withdrawn), or no refresh token in the keyring, is :class:`SignInNeeded`:
only signing in again helps, and it says so. Anything else (the provider unreachable, a
client id it does not know) is :class:`OAuthError`, whose message says what to fix.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from heard.system.log import redact

log = logging.getLogger(__name__)

TIMEOUT = 30.0
MAX_MARGIN = 60.0
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@dataclass(frozen=True)
class Provider:
    """Where and as whom Heard signs in to one provider (the ``[oauth.NAME]`` settings)."""

    name: str                      # "microsoft", "google", or one the user declares
    client_id: str
    authorize_url: str
    token_url: str
    device_url: str = ""
    revoke_url: str = ""
    scopes: tuple[str, ...] = ()
    client_secret: str = ""        # Google's desktop clients have one that is not secret
    title: str = ""                # for people: "Microsoft", "Google"

    @property
    def label(self) -> str:
        return self.title or self.name.capitalize()

    def check(self) -> None:
        """OAuthError when the settings cannot work (no client id, no endpoint)."""
        if not self.client_id:
            raise OAuthError(
                f"no client id for {self.label}: set client_id in [oauth.{self.name}] of"
                " heard.toml (README: 'OAuth2 (Microsoft 365, Google)' says how your"
                " organisation registers Heard)")
        if not self.token_url:
            raise OAuthError(f"[oauth.{self.name}] has no token_url")


@dataclass(frozen=True)
class Grant:
    """What a sign-in returns. Its repr shows no token."""

    provider: str
    refresh_token: str = field(repr=False)
    access_token: str = field(repr=False)
    expires_at: float               # time.time() seconds
    scope: str = ""


@dataclass(frozen=True)
class Bearer:
    """An access token and the login it is for: what an IMAP, SMTP or CalDAV login takes.
    Its repr shows no token."""

    user: str
    token: str = field(repr=False)

    def __call__(self, request: Any) -> Any:
        """As an HTTP auth (requests' and niquests' AuthBase protocol, RFC 6750)."""
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


class OAuthError(RuntimeError):
    """The sign-in or a refresh failed for a reason other than the grant's end; the
    message says what is wrong and what to do. Never contains a token."""


class SignInNeeded(OAuthError):
    """The provider no longer honours the grant (or there is none): sign in again."""

    def __init__(self, entry: str, message: str) -> None:
        super().__init__(message)
        self.entry = entry


def entry(provider: str, login: str) -> str:
    """The keyring entry of `login`'s refresh token at `provider`."""
    return f"oauth:{provider}:{login}"


@dataclass
class _Cached:
    token: str
    expires_at: float
    margin: float


_cache: dict[str, _Cached] = {}
# Grants found ended, by entry: the refresh token the provider refused. Until another is
# kept (a new sign-in, here or in another process), every ask says "sign in again" at once.
_ended: dict[str, str] = {}
_locks: dict[str, threading.Lock] = {}
_guard = threading.Lock()


def _lock(name: str) -> threading.Lock:
    with _guard:
        return _locks.setdefault(name, threading.Lock())


def _remember(name: str, token: str, expires_in: float) -> None:
    redact(token)
    _cache[name] = _Cached(token, time.time() + expires_in,
                           min(MAX_MARGIN, max(expires_in, 0) / 4))


def keep(name: str, grant: Grant) -> None:
    """Store a new sign-in's grant: the refresh token in the keyring (SecretsUnavailable
    when it cannot be), the access token in memory. Blocks."""
    from heard.system import secrets  # keyring: ~40 ms, off the tray's start-up path

    redact(grant.refresh_token)
    secrets.store_password(name, grant.refresh_token)
    with _lock(name):
        _ended.pop(name, None)
        _remember(name, grant.access_token, grant.expires_at - time.time())


def forget(name: str) -> None:
    """Drop the access token in memory (the next access_token() refreshes)."""
    with _lock(name):
        _cache.pop(name, None)


def remove(name: str, provider: Provider | None = None) -> None:
    """Sign out: revoke the grant at the provider when it has a revocation endpoint (best
    effort), and delete the refresh token from the keyring."""
    from heard.system import secrets

    refresh = secrets.get_password(name)
    forget(name)
    if refresh and provider is not None and provider.revoke_url:
        try:
            _session(provider).revoke_token(provider.revoke_url, refresh,
                                            token_type_hint="refresh_token")
        except Exception as exc:  # the user's keyring entry goes anyway
            log.info("could not revoke the grant of %s: %s", name, type(exc).__name__)
    secrets.delete_password(name)


def signed_in(name: str) -> bool:
    """Whether the keyring holds a refresh token for `name` (SecretsUnavailable when it
    cannot be read)."""
    from heard.system import secrets

    return bool(secrets.get_password(name))


def access_token(name: str, provider: Provider, fresh: bool = False,
                 scopes: Sequence[str] = ()) -> str:
    """A valid access token for the grant kept in `name`; refreshed when it is near its
    end, or at once with `fresh`. `scopes` asks the refresh for other scopes than the
    sign-in's (Microsoft issues one resource's token per request). Blocks."""
    from heard.system import secrets

    key = name if not scopes else f"{name} {' '.join(scopes)}"
    with _lock(key):
        cached = _cache.get(key)
        if cached is not None and not fresh \
                and time.time() < cached.expires_at - cached.margin:
            return cached.token
        try:
            refresh = secrets.get_password(name)
        except secrets.SecretsUnavailable as exc:
            raise OAuthError(str(exc)) from exc
        if not refresh:
            raise SignInNeeded(name, f"not signed in to {provider.label}: sign in again")
        if _ended.get(name) == refresh:
            raise SignInNeeded(name, _ended_words(provider))
        try:
            token = _refresh(name, provider, refresh, scopes)
        except SignInNeeded:
            _ended[name] = secrets.get_password(name) or refresh
            for other in [k for k in _cache if k == name or k.startswith(name + " ")]:
                del _cache[other]
            raise
        expires_in = float(token.get("expires_in") or 3600)
        _remember(key, str(token["access_token"]), expires_in)
        log.info("%s: a new access token from %s, for %d s", name, provider.label,
                 int(expires_in))
        return str(token["access_token"])


def _session(provider: Provider, **kwargs: Any) -> Any:
    from authlib.integrations.requests_client import OAuth2Session

    method = "client_secret_post" if provider.client_secret else "none"
    return OAuth2Session(provider.client_id, provider.client_secret or None,
                         token_endpoint_auth_method=method,
                         revocation_endpoint_auth_method=method, **kwargs)


def _refresh(name: str, provider: Provider, refresh: str,
             scopes: Sequence[str]) -> dict[str, Any]:
    from heard.system import secrets

    provider.check()
    extra = {"scope": " ".join(scopes)} if scopes else {}
    try:
        with _session(provider) as session:
            token = session.refresh_token(provider.token_url, refresh_token=refresh,
                                          timeout=TIMEOUT, **extra)
    except Exception as exc:
        problem = failure(provider, exc)
        if isinstance(problem, SignInNeeded):
            # Another process (the tray, `heard sync`) may have rotated it meanwhile.
            latest = secrets.get_password(name)
            if latest and latest != refresh:
                return _refresh(name, provider, latest, scopes)
            raise SignInNeeded(name, str(problem)) from None
        raise problem from None
    new_refresh = token.get("refresh_token")
    if new_refresh and new_refresh != refresh:
        redact(str(new_refresh))
        secrets.store_password(name, str(new_refresh))
    return dict(token)


def failure(provider: Provider, exc: BaseException) -> OAuthError:
    """An Authlib or requests failure in words; SignInNeeded for an ended grant."""
    import requests
    from authlib.integrations.base_client import OAuthError as AuthlibError

    error = getattr(exc, "error", "") if isinstance(exc, AuthlibError) else ""
    if error == "invalid_grant":
        return SignInNeeded("", _ended_words(provider))
    if error in ("invalid_client", "unauthorized_client"):
        return OAuthError(
            f"{provider.label} does not accept the client id {provider.client_id!r}"
            f" ({error}): check client_id in [oauth.{provider.name}] of heard.toml, and that"
            " your organisation registered it as a public client")
    if error:
        description = getattr(exc, "description", "") or ""
        return OAuthError(f"{provider.label} refused: {error}"
                          + (f" ({description})" if description else ""))
    if isinstance(exc, requests.RequestException):
        return OAuthError(f"cannot reach {provider.label}'s sign-in service"
                          f" ({type(exc).__name__}); Heard tries again")
    return OAuthError(f"{provider.label}'s sign-in service answered unexpectedly"
                      f" ({type(exc).__name__})")


def _ended_words(provider: Provider) -> str:
    return (f"{provider.label} no longer accepts this sign-in (it was revoked or has"
            " expired): sign in again")
