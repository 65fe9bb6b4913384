"""How Heard logs in to the user's servers (heard.engine.logins), against a real Dovecot;
and with an OAuth2 sign-in, against the real OAuth2 server and the Dovecot that introspects
its tokens (tests/support/oauth.py): access tokens refreshed when they end, also for an
account watching in IDLE; a revoked grant turning into one "sign in again" while another
account keeps working; and no token ever in the profile, the log or a process's output."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from heard import config
from heard.config import ConfigFile, ImapAccount
from heard.engine import Engine
from heard.engine.logins import open_imap
from heard.mail.imap import ImapError
from heard.setup.signin import keep
from heard.system import secrets
from heard.system.paths import Profile
from tests.conftest import CLIENTS
from tests.support.cli import heard
from tests.support.dovecot import MailUser
from tests.support.events import wait_until
from tests.support.imap import tls_profile
from tests.support.mail import MEGGE, RAJ, message
from tests.support.oauth import OAuthServer, OAuthWorld


@pytest.mark.usefixtures("real_keyring")
def test_starttls_without_the_ca_file_is_refused_too(
        tmp_path: Path, mailuser: MailUser) -> None:
    server = mailuser.server
    profile = tls_profile(tmp_path / "p", mailuser, "starttls", server.imap_port, None)
    account = config.load(profile.config).accounts[0]
    assert isinstance(account, ImapAccount)
    with pytest.raises(ImapError) as caught:
        open_imap(account)
    assert "not trusted" in caught.value.message and "--ca-file" in caught.value.message


# -- OAuth2 --------------------------------------------------------------------------------

@pytest.fixture
def engines() -> Iterator[list[Engine]]:
    opened: list[Engine] = []
    yield opened
    for engine in opened:
        engine.close()


def signed_in(world: OAuthWorld, root: Path, user: MailUser, made: bool = False) -> Engine:
    """An engine on a profile whose account `work` signed in as `user` (the profile made
    here unless `made`)."""
    profile = Profile(root) if made else world.profile(root, user)
    engine = Engine.open(profile)
    for client in CLIENTS:
        engine.clients.add(client)
    account = engine.settings.accounts[0]
    assert isinstance(account, ImapAccount)
    keep(account, world.grant(user))
    return engine


@pytest.mark.usefixtures("real_keyring")
def test_an_account_watching_in_idle_gets_a_fresh_token_when_its_own_ends(
        oauth_world: OAuthWorld, oauth_server: OAuthServer, tmp_path: Path,
        engines: list[Engine]) -> None:
    oauth_server.lifetime = 20
    user = oauth_world.dovecot.add_user()
    engine = signed_in(oauth_world, tmp_path / "p", user)
    engines.append(engine)
    (first,) = oauth_server.tokens_of(user.name)
    engine.start_watching()
    wait_until(lambda: any(a.push for a in engine.status().accounts), timeout=30)
    refreshes = oauth_server.refreshes
    # The token the watcher logged in with ends while it idles; then the server cuts the
    # connection (as Exchange Online and Gmail do), and the watcher logs in again.
    wait_until(lambda: not oauth_server.active(first.access_token), timeout=40)
    oauth_world.dovecot.kick(user)
    user.deliver(message(MEGGE, "After the token's end"))
    wait_until(lambda: engine.status().count == 1, timeout=40)
    assert oauth_server.refreshes > refreshes
    assert not engine.status().offline
    # The rotated refresh token replaced the first one in the keyring.
    account = engine.settings.accounts[0]
    kept = secrets.get_password(account.keyring_name)
    assert kept and kept != first.refresh_token
    assert any(t.refresh_token == kept for t in oauth_server.tokens_of(user.name))


@pytest.mark.usefixtures("real_keyring")
def test_a_grant_revoked_during_idle_says_sign_in_again_and_the_other_account_syncs(
        oauth_world: OAuthWorld, oauth_server: OAuthServer, tmp_path: Path,
        engines: list[Engine]) -> None:
    user, other = oauth_world.dovecot.add_user(), oauth_world.dovecot.add_user()
    profile_root = tmp_path / "p"
    oauth_world.profile(profile_root, user)
    ConfigFile(profile_root / "heard.toml").append("accounts", {
        "name": "home", "kind": "imap", "host": "127.0.0.1",
        "port": oauth_world.dovecot.imap_port, "security": "plain", "username": other.name,
        "address": other.address})
    secrets.store_password(ImapAccount("home", "127.0.0.1", 0, "plain", other.name
                                       ).keyring_name, other.password)
    engine = signed_in(oauth_world, profile_root, user, made=True)
    engines.append(engine)
    engine.start_watching()
    wait_until(lambda: all(a.push for a in engine.status().accounts), timeout=30)

    assert oauth_server.revoke_user(user.name) >= 1   # the administrator ends the sessions
    oauth_world.dovecot.kick(user)
    # Cut, the watcher logs in again, and its token is refused: the grant has ended.
    wait_until(lambda: any("Sign in again" in a.problem for a in engine.status().offline),
               timeout=60)
    assert [a.name for a in engine.status().offline] == ["work"]
    work = next(a for a in engine.status().accounts if a.name == "work")
    assert "no longer accepts this sign-in" in work.problem
    assert "Sign in again to Test ID as" in work.problem
    assert "`heard account signin work`" in work.problem
    (problem,) = [p for p in engine.status().problems if p.startswith("work is offline")]
    assert "Sign in again" in problem
    # The other account keeps working.
    other.deliver(message(RAJ, "To the other account"))
    wait_until(lambda: engine.status().count == 1, timeout=30)
    assert [i.inquiry.subject for i in engine.status().waiting] == ["To the other account"]
    # heard doctor's check of the account says the same.
    assert "Sign in again" in engine.test_account(engine.settings.accounts[0]).problem


@pytest.mark.usefixtures("real_keyring")
def test_no_token_reaches_the_profile_the_log_or_the_output(
        oauth_world: OAuthWorld, oauth_server: OAuthServer, tmp_path: Path,
        engines: list[Engine]) -> None:
    oauth_server.lifetime = 20
    user = oauth_world.dovecot.add_user()
    root = tmp_path / "p"
    engine = signed_in(oauth_world, root, user)
    engine.close()
    user.deliver(message(MEGGE, "Hello"))
    runs = [heard("--profile", str(root), "sync", "--json"),
            heard("--profile", str(root), "account", "test", "work")]
    # Each process refreshes (the access token lives in memory only), logging verbosely.
    runs.append(heard("--profile", str(root), "--verbose", "sync", "--json"))
    assert [r.returncode for r in runs] == [0, 0, 0], [(r.stdout, r.stderr) for r in runs]
    assert '"new_inquiries"' in runs[0].stdout or "new" in runs[0].stdout
    tokens = [s for t in oauth_server.tokens_of(user.name)
              for s in (t.access_token, t.refresh_token) if s]
    assert len(tokens) >= 3   # the sign-in's two, and at least one refreshed access token
    texts = [r.stdout + r.stderr for r in runs]
    for path in root.rglob("*"):
        if path.is_file():
            texts.append(path.read_bytes().decode("latin-1"))
    assert (root / "heard.log").exists()
    for token in tokens:
        assert not any(token in text for text in texts)


@pytest.mark.usefixtures("real_keyring")
def test_sending_logs_in_to_smtp_with_the_sign_in_and_says_when_it_ended(
        oauth_world: OAuthWorld, oauth_postfix: Any, tmp_path: Path,
        engines: list[Engine]) -> None:
    user = oauth_world.dovecot.add_user()
    oauth_world.profile(tmp_path / "p", user, extra={
        "smtp_host": "127.0.0.1", "smtp_port": oauth_postfix.starttls_port,
        "smtp_security": "starttls", "smtp_ca_file": str(oauth_postfix.cert)})
    engine = signed_in(oauth_world, tmp_path / "p", user, made=True)
    engines.append(engine)
    account = engine.settings.accounts[0]
    logged_in = oauth_postfix.log_text().count(" auth=1 quit=1 ")
    assert engine.test_smtp(account) is None          # AUTH with the access token
    wait_until(lambda: oauth_postfix.log_text().count(" auth=1 quit=1 ") == logged_in + 1)
    oauth_world.server.revoke_user(user.name)
    from heard.system import oauth

    oauth.forget(account.keyring_name)                 # as when the token's end is near
    problem = engine.test_smtp(account)
    assert problem is not None and "Sign in again to Test ID" in problem
