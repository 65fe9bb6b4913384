"""Sending over SMTP (heard.mail.smtp), against the fault-injecting server: TLS verified,
and a login that fails told in plain words."""

from __future__ import annotations

import dataclasses

import pytest

from tests.support.scenes import Scene
from tests.support.smtp import FaultySmtp


# The test server's own log: it saw the handshake refused (the second test, which succeeds,
# is served after it has said so).
@pytest.mark.expect_log_errors(r"mail\.log: .*SMTP session exception \[TLSSetupException")
def test_an_untrusted_certificate_is_refused_in_plain_words(
        faulty_scene: Scene, faulty_smtp: FaultySmtp) -> None:
    scene = faulty_scene
    (account,) = scene.engine.settings.accounts
    assert account.smtp is not None
    bare = dataclasses.replace(account, smtp=dataclasses.replace(account.smtp, ca_file=None))
    problem = scene.engine.test_smtp(bare)
    assert problem is not None and "is not trusted" in problem and "--smtp-ca-file" in problem
    assert scene.engine.test_smtp(account) is None


def test_a_wrong_smtp_password_is_told_as_such(
        faulty_scene: Scene, faulty_smtp: FaultySmtp) -> None:
    from heard.system import secrets

    scene = faulty_scene
    (account,) = scene.engine.settings.accounts
    assert account.smtp is not None
    secrets.store_password(account.smtp.keyring_name, "not the password")
    assert "wrong user name or password" in (scene.engine.test_smtp(account) or "")
