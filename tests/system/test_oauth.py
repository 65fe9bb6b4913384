"""OAuth2 tokens at run time (heard.system.oauth) against the real OAuth2 server on
loopback (tests/support/oauth.py) and the real Secret Service keyring: an access token is
reused until near its end, refreshed once however many threads ask at the same moment
(refresh tokens rotate: a second refresh with the spent one would end the grant), and an
ended grant is told at once afterwards, until a new sign-in is kept."""

from __future__ import annotations

import threading

import pytest

from heard.system import oauth, secrets
from tests.support.oauth import OAuthServer, OAuthWorld

pytestmark = pytest.mark.usefixtures("real_keyring")


def test_a_token_is_reused_until_near_its_end_then_refreshed_once_for_all_threads(
        oauth_world: OAuthWorld, oauth_server: OAuthServer) -> None:
    user = oauth_world.dovecot.add_user()
    entry = oauth.entry("testid", user.name)
    provider = oauth_world.provider()
    oauth.keep(entry, oauth_world.grant(user))
    before = oauth_server.refreshes
    first = oauth.access_token(entry, provider)
    assert oauth.access_token(entry, provider) == first    # an hour's token: reused
    assert oauth_server.refreshes == before
    oauth.forget(entry)                                     # as when its end is near
    got: list[str] = []
    threads = [threading.Thread(target=lambda: got.append(oauth.access_token(entry, provider)))
               for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(got) == 8 and len(set(got)) == 1 and got[0] != first
    assert oauth_server.refreshes == before + 1
    assert oauth_server.active(got[0])
    # the rotated refresh token replaced the kept one
    kept = secrets.get_password(entry)
    assert any(t.refresh_token == kept for t in oauth_server.tokens_of(user.name))


def test_a_short_lived_token_is_renewed_a_quarter_of_its_life_before_its_end(
        oauth_world: OAuthWorld, oauth_server: OAuthServer) -> None:
    oauth_server.lifetime = 4    # renewed from 3 s on; the server ends it at 4 s
    user = oauth_world.dovecot.add_user()
    entry = oauth.entry("testid", user.name)
    provider = oauth_world.provider()
    grant = oauth_world.grant(user)
    oauth.keep(entry, grant)
    seen = {oauth.access_token(entry, provider)}
    # Every token handed out is one the server still takes; within a few seconds it is
    # a new one (waited on, not slept).
    done = threading.Event()

    def ask() -> None:
        while not done.is_set():
            token = oauth.access_token(entry, provider)
            assert oauth_server.active(token)
            seen.add(token)
            if len(seen) >= 3:
                done.set()

    worker = threading.Thread(target=ask)
    worker.start()
    worker.join(30)
    assert done.is_set() and len(seen) >= 3


def test_an_ended_grant_says_sign_in_again_until_a_new_one_is_kept(
        oauth_world: OAuthWorld, oauth_server: OAuthServer) -> None:
    user = oauth_world.dovecot.add_user()
    entry = oauth.entry("testid", user.name)
    provider = oauth_world.provider()
    oauth.keep(entry, oauth_world.grant(user))
    oauth_server.revoke_user(user.name)
    with pytest.raises(oauth.SignInNeeded, match="no longer accepts this sign-in"):
        oauth.access_token(entry, provider, fresh=True)
    refreshes = oauth_server.refreshes
    with pytest.raises(oauth.SignInNeeded):   # told at once: the provider is not asked
        oauth.access_token(entry, provider)
    assert oauth_server.refreshes == refreshes
    oauth.keep(entry, oauth_world.grant(user))
    assert oauth_server.active(oauth.access_token(entry, provider))
    # signing out revokes the grant at the provider and forgets it here
    token = oauth.access_token(entry, provider)
    oauth.remove(entry, provider)
    assert secrets.get_password(entry) is None and not oauth_server.active(token)
    with pytest.raises(oauth.SignInNeeded, match="not signed in"):
        oauth.access_token(entry, provider)


def test_no_client_id_and_an_unknown_one_are_said_plainly(oauth_world: OAuthWorld) -> None:
    user = oauth_world.dovecot.add_user()
    entry = oauth.entry("testid", user.name)
    oauth.keep(entry, oauth_world.grant(user))
    oauth.forget(entry)
    with pytest.raises(oauth.OAuthError, match=r"no client id for Test ID"):
        oauth.access_token(entry, oauth_world.provider(""))
    with pytest.raises(oauth.OAuthError, match=r"does not accept the client id 'nobody'"):
        oauth.access_token(entry, oauth_world.provider("nobody"))
