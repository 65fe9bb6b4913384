"""Signing in against a real OAuth2 server on loopback (tests/support/oauth.py): the
browser flow with an HTTP client in the browser's place, the device flow with the test
approving the code, and the failures a person meets."""

from __future__ import annotations

import threading

import pytest
import requests

from heard.mail.imap import ImapError, connect
from heard.mail.imap.connection import Security, ServerSettings
from heard.mail.oauth import Bearer
from heard.setup.signin import DeviceCode, sign_in_browser, sign_in_device
from heard.system.oauth import OAuthError
from tests.support.oauth import OAuthWorld


def _server(world: OAuthWorld, user: str) -> ServerSettings:
    return ServerSettings("127.0.0.1", world.dovecot.imap_port, Security.PLAIN, user)


def test_the_browser_flow_signs_in_and_dovecot_takes_the_token(oauth_world: OAuthWorld
                                                               ) -> None:
    user = oauth_world.dovecot.add_user()
    pages: list[requests.Response] = []

    def browser(url: str) -> None:   # the person clicks "Accept" on the provider's page
        assert "code_challenge_method=S256" in url and "login_hint=" in url
        pages.append(oauth_world.server.consent(url, user.name))

    grant = sign_in_browser(oauth_world.provider(), user.address, browser)
    assert pages[0].status_code == 200 and "Signed in" in pages[0].text
    assert grant.refresh_token and grant.access_token
    assert grant.access_token not in repr(grant)
    conn = connect(_server(oauth_world, user.name), Bearer(user.name, grant.access_token))
    try:
        assert conn.folder_exists("INBOX")
    finally:
        conn.close()


def test_the_device_flow_signs_in_once_the_code_is_approved(oauth_world: OAuthWorld) -> None:
    user = oauth_world.dovecot.add_user()
    shown: list[DeviceCode] = []

    def show(code: DeviceCode) -> None:
        shown.append(code)
        # the person types the code a moment later, on their phone
        threading.Timer(1.5, oauth_world.server.approve, (code.user_code, user.name)).start()

    grant = sign_in_device(oauth_world.provider(), show)
    assert shown[0].user_code in shown[0].instructions()
    assert shown[0].verification_uri.endswith("/device")
    assert oauth_world.server.active(grant.access_token)
    connect(_server(oauth_world, user.name), Bearer(user.name, grant.access_token)).close()


def test_a_refusal_in_the_browser_is_said(oauth_world: OAuthWorld) -> None:
    def refuse(url: str) -> None:
        requests.post(url, data={"consent": "no"}, timeout=10)

    with pytest.raises(OAuthError, match=r"refused|did not sign you in"):
        sign_in_browser(oauth_world.provider(), "", refuse)


def test_a_wrong_client_id_is_a_clear_error(oauth_world: OAuthWorld) -> None:
    with pytest.raises(OAuthError, match=r"does not accept the client id 'not-registered'"
                       r".*client_id in \[oauth.testid\]"):
        sign_in_device(oauth_world.provider("not-registered"), lambda code: None)
    # the browser flow meets the provider's error page; cancelling ends the wait
    cancel = threading.Event()
    pages: list[int] = []

    def browser(url: str) -> None:
        pages.append(requests.get(url, timeout=10).status_code)
        cancel.set()

    with pytest.raises(OAuthError, match="cancelled"):
        sign_in_browser(oauth_world.provider("not-registered"), "", browser, cancel)
    assert pages == [400]


def test_dovecot_refuses_a_token_it_did_not_issue(oauth_world: OAuthWorld) -> None:
    user = oauth_world.dovecot.add_user()
    with pytest.raises(ImapError, match="refused the sign-in's access token"):
        connect(_server(oauth_world, user.name), Bearer(user.name, "not-a-token"))


def test_no_client_id_says_where_to_set_it(oauth_world: OAuthWorld) -> None:
    with pytest.raises(OAuthError, match=r"no client id for Test ID: set client_id in"
                       r" \[oauth.testid\]"):
        sign_in_device(oauth_world.provider(""), lambda code: None)
