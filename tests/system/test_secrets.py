"""heard.system.secrets against a real Secret Service (gnome-keyring on a private bus, see
tests/support/keyring.py) and against the keyring library's failing and disabling backends.

Every test that does not ask for ``real_keyring`` runs with the ``fail`` backend that the
autouse fixture in tests/conftest.py selects.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import keyring.core
import pytest
import secretstorage
from keyring.backend import KeyringBackend
from keyring.compat import properties
from keyring.errors import PasswordSetError

from heard.system import secrets
from heard.system.secrets import Problem, SecretsUnavailable
from tests.support.keyring import KeyringService

PASSWORD = "correct horse battery staple"


def _child(request: pytest.FixtureRequest, code: str, stdin: str = "") -> str:
    """Run ``code`` in a fresh interpreter that knows the keyring only through ``.env``: its
    environment is PATH, an empty HOME and the service's variables, nothing inherited."""
    service: KeyringService = request.getfixturevalue("keyring_service")
    home = request.getfixturevalue("tmp_path")
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "LANG": "C.UTF-8", **service.env}
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], input=stdin, capture_output=True,
        text=True, env=env, timeout=30, check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _items(account: str) -> list[tuple[str, dict[str, str], str]]:
    """(label, attributes, secret) of every Secret Service item for ``account`` (raw API)."""
    with secretstorage.dbus_init() as conn:
        collection = secretstorage.get_default_collection(conn)
        return [(item.get_label(), item.get_attributes(), item.get_secret().decode())
                for item in collection.search_items({"service": "heard", "username": account})]


# -- the real Secret Service ------------------------------------------------------------------


@pytest.mark.usefixtures("real_keyring")
def test_round_trip() -> None:
    assert secrets.get_password("round-trip") is None
    secrets.store_password("round-trip", PASSWORD)
    assert secrets.get_password("round-trip") == PASSWORD
    assert secrets.delete_password("round-trip") is True
    assert secrets.get_password("round-trip") is None
    assert _items("round-trip") == []


@pytest.mark.usefixtures("real_keyring")
def test_the_entry_is_service_heard_username_account() -> None:
    secrets.store_password("imap:alex@imap.example.com", PASSWORD)
    ((label, attributes, secret),) = _items("imap:alex@imap.example.com")
    assert attributes["service"] == secrets.SERVICE == "heard"
    assert attributes["username"] == "imap:alex@imap.example.com"
    assert secret == PASSWORD
    assert label == "Password for 'imap:alex@imap.example.com' on 'heard'"
    secrets.delete_password("imap:alex@imap.example.com")


@pytest.mark.usefixtures("real_keyring")
def test_another_process_finds_the_password_in_the_secret_service(
        request: pytest.FixtureRequest) -> None:
    secrets.store_password("child-reads", PASSWORD)
    # The child asks the Secret Service itself (no keyring library, no heard code).
    found = _child(request, """
        import secretstorage
        with secretstorage.dbus_init() as conn:
            items = secretstorage.get_default_collection(conn).search_items(
                {"service": "heard", "username": "child-reads"})
            print("|".join(item.get_secret().decode() for item in items), end="")
        """)
    assert found == PASSWORD
    secrets.delete_password("child-reads")


@pytest.mark.usefixtures("real_keyring")
def test_a_password_stored_by_another_process_is_found_here(
        request: pytest.FixtureRequest) -> None:
    _child(request, """
        import sys
        from heard.system import secrets
        secrets.store_password("child-writes", sys.stdin.read())
        """, stdin="from the child ✓")
    assert secrets.get_password("child-writes") == "from the child ✓"
    assert secrets.delete_password("child-writes") is True


@pytest.mark.parametrize("password", [
    "pässwörd ✓ 密码 🔑 Ωμέγα",
    "x" * 10_000,
    "spaces  and\nnewlines\tand tabs ",
    "'\"; $HOME `rm -rf` %s {0} \\",
], ids=["unicode", "long", "whitespace", "shell-and-format"])
@pytest.mark.usefixtures("real_keyring")
def test_any_password_comes_back_unchanged(password: str) -> None:
    secrets.store_password("odd-passwords", password)
    assert secrets.get_password("odd-passwords") == password
    assert secrets.delete_password("odd-passwords") is True


@pytest.mark.usefixtures("real_keyring")
def test_unicode_account_names() -> None:
    secrets.store_password("imap:jürgen@büro.example", PASSWORD)
    assert secrets.get_password("imap:jürgen@büro.example") == PASSWORD
    assert secrets.get_password("imap:jurgen@buro.example") is None
    assert secrets.delete_password("imap:jürgen@büro.example") is True


@pytest.mark.usefixtures("real_keyring")
def test_two_accounts_do_not_clash() -> None:
    secrets.store_password("work-imap", "imap password")
    secrets.store_password("work-smtp", "smtp password")
    assert secrets.get_password("work-imap") == "imap password"
    assert secrets.get_password("work-smtp") == "smtp password"
    assert secrets.delete_password("work-imap") is True
    assert secrets.get_password("work-imap") is None
    assert secrets.get_password("work-smtp") == "smtp password"
    assert secrets.delete_password("work-smtp") is True


@pytest.mark.usefixtures("real_keyring")
def test_storing_again_replaces_the_one_entry() -> None:
    secrets.store_password("changed", "old password")
    secrets.store_password("changed", "new password")
    assert [secret for _, _, secret in _items("changed")] == ["new password"]
    assert secrets.delete_password("changed") is True


@pytest.mark.usefixtures("real_keyring")
def test_delete_of_a_missing_entry_returns_false() -> None:
    assert secrets.delete_password("never-stored") is False
    secrets.store_password("deleted-twice", PASSWORD)
    assert secrets.delete_password("deleted-twice") is True
    assert secrets.delete_password("deleted-twice") is False


@pytest.mark.usefixtures("real_keyring")
def test_check_and_backend_name_with_the_real_keyring() -> None:
    assert secrets.check() is None
    assert secrets.backend_name() == "Secret Service (gnome-keyring)"


@pytest.mark.usefixtures("real_keyring")
def test_the_environment_picks_the_backend_at_every_call(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    secrets.store_password("switch", PASSWORD)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    with pytest.raises(SecretsUnavailable):
        secrets.get_password("switch")
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.SecretService.Keyring")
    assert secrets.get_password("switch") == PASSWORD
    assert secrets.delete_password("switch") is True


@pytest.mark.parametrize("display", [":0", None], ids=["desktop", "no-display"])
def test_a_locked_keyring_says_so(display: str | None) -> None:
    # A keyring of its own: locking the shared one would break the other tests.
    with KeyringService() as service, pytest.MonkeyPatch.context() as monkeypatch:
        for name, value in service.env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
        if display is None:
            monkeypatch.delenv("DISPLAY", raising=False)
        else:
            monkeypatch.setenv("DISPLAY", display)
        secrets.store_password("locked-away", PASSWORD)
        with secretstorage.dbus_init() as conn:
            secretstorage.get_default_collection(conn).lock()
        # Unlocking needs a prompt; this bus has no prompter, as if the user dismissed it.
        with pytest.raises(SecretsUnavailable) as caught:
            secrets.get_password("locked-away")
        assert caught.value.problem is Problem.LOCKED
        assert caught.value.account == "locked-away"
        assert "locked" in str(caught.value)
        if display is None:
            # No window could ever have opened: the words say so, not "dismissed".
            assert "no display" in str(caught.value)
            assert "dismissed" not in str(caught.value)
        else:
            assert "dismissed" in str(caught.value)
        assert secrets.check() == str(caught.value)


# -- no keyring, or a keyring that fails ------------------------------------------------------


def test_no_keyring_is_a_plain_words_error_without_the_password() -> None:
    with pytest.raises(SecretsUnavailable) as caught:
        secrets.store_password("work-imap", PASSWORD)
    message = str(caught.value)
    assert message.startswith("No keyring is available: Heard keeps passwords only in the"
                              " system keyring")
    assert "gnome-keyring" in message
    assert PASSWORD not in message
    assert PASSWORD not in repr(caught.value.__cause__)
    assert caught.value.problem is Problem.NO_KEYRING
    assert caught.value.account == "work-imap"
    assert isinstance(caught.value, RuntimeError)


@pytest.mark.parametrize("call", [
    lambda: secrets.get_password("work-imap"),
    lambda: secrets.delete_password("work-imap"),
], ids=["get", "delete"])
def test_no_keyring_fails_every_call(call: Any) -> None:
    with pytest.raises(SecretsUnavailable, match=r"^No keyring is available"):
        call()


def test_check_and_backend_name_without_a_keyring() -> None:
    problem = secrets.check()
    assert problem is not None
    assert problem.startswith("No keyring is available")
    assert secrets.backend_name() == "none (no keyring found)"


def test_the_null_backend_is_refused_not_silently_obeyed(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    with pytest.raises(SecretsUnavailable) as caught:
        secrets.store_password("work-imap", PASSWORD)
    assert caught.value.problem is Problem.DISABLED
    assert "switched off" in str(caught.value)
    with pytest.raises(SecretsUnavailable):
        secrets.get_password("work-imap")  # the null backend would answer "no entry"
    assert secrets.check() == str(caught.value)
    assert secrets.backend_name() == "none (password storage is switched off)"


def test_a_backend_name_that_does_not_load_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.nowhere.Keyring")
    problem = secrets.check()
    assert problem is not None
    assert "PYTHON_KEYRING_BACKEND" in problem
    assert "'keyring.backends.nowhere.Keyring'" in problem


@pytest.mark.parametrize(("configured", "problem", "words"), [
    ("keyring.backends.null.Keyring", Problem.DISABLED, "switched off"),
    ("keyring.backends.nowhere.Keyring", Problem.NO_KEYRING, "keyringrc.cfg"),
], ids=["null", "missing"])
def test_the_keyring_config_file_is_honoured_without_the_variable(
        monkeypatch: pytest.MonkeyPatch, configured: str, problem: Problem, words: str) -> None:
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND")
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)  # forget any earlier choice
    config = Path(os.environ["XDG_CONFIG_HOME"], "python_keyring", "keyringrc.cfg")
    config.parent.mkdir(parents=True)
    config.write_text(f"[backend]\ndefault-keyring = {configured}\n")
    with pytest.raises(SecretsUnavailable) as caught:
        secrets.store_password("work-imap", PASSWORD)
    assert caught.value.problem is problem
    assert words in str(caught.value)


def test_the_secret_service_without_a_daemon(monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.SecretService.Keyring")
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path / 'no-bus'}")
    with pytest.raises(SecretsUnavailable) as caught:
        secrets.get_password("work-imap")
    assert caught.value.problem is Problem.NO_KEYRING
    assert str(caught.value).startswith("No keyring is available: Secret Service cannot be used")


class LeakyKeyring(KeyringBackend):
    """A backend whose errors repeat the password (as a careless one might)."""

    @properties.classproperty
    def priority(cls) -> float:  # noqa: N805  (a class property)
        return 1

    def get_password(self, service: str, username: str) -> str | None:
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        raise PasswordSetError(f"could not store {password!r} for {username}")

    def delete_password(self, service: str, username: str) -> None:
        raise NotImplementedError


def test_a_backend_error_never_carries_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", f"{__name__}.LeakyKeyring")
    with pytest.raises(SecretsUnavailable) as caught:
        secrets.store_password("work-imap", PASSWORD)
    assert caught.value.problem is Problem.FAILED
    assert str(caught.value).startswith("The system keyring")
    assert "could not store the password of 'work-imap'" in str(caught.value)
    assert "***" in str(caught.value)
    assert PASSWORD not in str(caught.value)
    assert caught.value.__cause__ is None  # the original would print the password
    assert caught.value.__suppress_context__


@pytest.mark.parametrize(("account", "password"), [("", PASSWORD), ("  ", PASSWORD),
                                                   ("work-imap", "")])
def test_empty_names_and_passwords_are_refused(account: str, password: str) -> None:
    with pytest.raises(ValueError, match="empty"):
        secrets.store_password(account, password)
