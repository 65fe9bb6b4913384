"""`heard account ...` for IMAP, in-process, against a real Dovecot on loopback and a real
Secret Service keyring: the password goes to the keyring and never to heard.toml, a login
that fails says why and adds nothing."""

from __future__ import annotations

import io
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from heard.config import ConfigFile, ImapAccount
from heard.system import secrets
from heard.system.paths import Profile
from tests.cli.test_cli import _restore_logging, run, run_json  # noqa: F401  (autouse)
from tests.support.dovecot import Dovecot, MailUser
from tests.support.mail import MEGGE, message

pytestmark = pytest.mark.usefixtures("real_keyring")


@pytest.fixture
def root(tmp_path: Path) -> str:
    profile = Profile(tmp_path / "profile")
    profile.create()
    file = ConfigFile(profile.config)
    file.set("user", "name", "Alex Morgan")
    file.set("user", "timezone", "Europe/Berlin")
    return str(profile.root)


def config_text(root: str) -> str:
    return (Path(root) / "heard.toml").read_text()


def stdin(monkeypatch: pytest.MonkeyPatch, password: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))


def add_imap(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, root: str,
             user: MailUser, password: str, *extra: str) -> tuple[int, str, str]:
    stdin(monkeypatch, password)
    return run(capsys, "--profile", root, "account", "add", "imap", "--host", "127.0.0.1",
               "--port", str(user.server.imap_port), "--security", "plain",
               "--username", user.name, "--password-stdin", *extra)


def keyring_name(user: MailUser) -> str:
    return ImapAccount("x", "127.0.0.1", 0, "plain", user.name).keyring_name


def all_values(data: Any) -> Iterator[Any]:
    if isinstance(data, dict):
        for value in data.values():
            yield from all_values(value)
    elif isinstance(data, list):
        for value in data:
            yield from all_values(value)
    else:
        yield data


def test_a_wrong_password_says_so_and_adds_nothing(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, root: str,
        forgiving_dovecot: Dovecot) -> None:
    user = forgiving_dovecot.add_user()
    before = config_text(root)

    code, out, err = add_imap(capsys, monkeypatch, root, user, "not-the-password")

    assert code == 1
    assert "wrong user name or password" in err
    assert "The account was not added" in err
    assert "Traceback" not in err and "Added" not in out
    assert config_text(root) == before
    assert run_json(capsys, "--profile", root, "account", "list")["accounts"] == []


def test_adding_an_imap_account_keeps_the_password_in_the_keyring_only(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, root: str,
        mailuser: MailUser) -> None:
    code, out, err = add_imap(capsys, monkeypatch, root, mailuser, mailuser.password,
                              "--address", mailuser.address, "--name", "work")

    assert code == 0, err
    assert "Added imap account 'work'" in out
    assert secrets.get_password(keyring_name(mailuser)) == mailuser.password
    text = config_text(root)
    settings = tomllib.loads(text)
    assert mailuser.password not in list(all_values(settings))
    assert f'"{mailuser.password}"' not in text and "password =" not in text
    (entry,) = settings["accounts"]
    assert (entry["name"], entry["kind"], entry["host"], entry["username"]) == (
        "work", "imap", "127.0.0.1", mailuser.name)

    listed = run_json(capsys, "--profile", root, "account", "list")
    assert listed["accounts"] == [{
        "name": "work", "kind": "imap", "host": "127.0.0.1",
        "port": mailuser.server.imap_port, "security": "plain", "username": mailuser.name,
        "folders": ["INBOX"], "sent_folder": None, "address": mailuser.address}]
    assert listed["calendars"] == []

    code, out, err = run(capsys, "--profile", root, "account", "test")
    assert code == 0, err
    assert out.strip().startswith("ok")
    assert f"work: {mailuser.name} at 127.0.0.1:{mailuser.server.imap_port}" in out

    code, out, err = run(capsys, "--profile", root, "account", "remove", "work")
    assert code == 0, err
    assert secrets.get_password(keyring_name(mailuser)) is None
    assert "accounts" not in tomllib.loads(config_text(root))
    assert run_json(capsys, "--profile", root, "account", "list")["accounts"] == []


def test_a_second_account_by_the_same_name_is_refused(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, root: str,
        mailuser: MailUser) -> None:
    assert add_imap(capsys, monkeypatch, root, mailuser, mailuser.password)[0] == 0
    before = config_text(root)
    code, _out, err = add_imap(capsys, monkeypatch, root, mailuser, mailuser.password,
                               "--name", "imap")
    assert code == 1 and "already an account named 'imap'" in err
    assert config_text(root) == before


def test_account_password_stores_a_new_password_and_tests_it(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, root: str,
        forgiving_dovecot: Dovecot) -> None:
    user = forgiving_dovecot.add_user()
    assert add_imap(capsys, monkeypatch, root, user, user.password, "--name", "work")[0] == 0
    before = config_text(root)

    stdin(monkeypatch, "changed-on-the-server")
    code, out, _err = run(capsys, "--profile", root, "account", "password", "work",
                          "--password-stdin")
    assert code == 1
    assert "Stored the password of 'work'" in out and "wrong user name or password" in out
    assert secrets.get_password(keyring_name(user)) == "changed-on-the-server"
    code, out, _err = run(capsys, "--profile", root, "account", "test", "work")
    assert code == 1 and "FAIL" in out and "wrong user name or password" in out

    stdin(monkeypatch, user.password)
    code, out, err = run(capsys, "--profile", root, "account", "password", "work",
                         "--password-stdin")
    assert code == 0, err
    assert "login works" in out
    assert secrets.get_password(keyring_name(user)) == user.password
    assert config_text(root) == before    # the file never sees a password
    code, _out, err = run(capsys, "--profile", root, "account", "password", "nope",
                          "--password-stdin")
    assert code == 1 and "no imap or caldav account named 'nope'" in err


def test_sync_and_status_over_imap_from_the_command_line(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, root: str,
        mailuser: MailUser) -> None:
    assert add_imap(capsys, monkeypatch, root, mailuser, mailuser.password,
                    "--address", mailuser.address, "--name", "work")[0] == 0
    client = run_json(capsys, "--profile", root, "clients", "add", "Margaret Hale",
                      "--email", "margaret@hale.example", "--preferred-name", "Megge")
    mailuser.append(message(MEGGE, "Lease renewal"))

    report = run_json(capsys, "--profile", root, "sync")
    assert report["errors"] == [] and report["seen"] == 1
    (inquiry_id,) = report["new_inquiries"]

    status = run_json(capsys, "--profile", root, "status")
    assert status["count"] == 1
    (item,) = status["waiting"]
    assert item["id"] == inquiry_id and item["client"]["id"] == client["id"]
    assert item["subject"] == "Lease renewal" and item["from"] == "margaret@hale.example"
    (account,) = status["accounts"]
    assert (account["name"], account["kind"]) == ("work", "imap")
    assert status["problems"] == []


# `heard status` runs in a new process after `heard sync`, and account health lives only
# in the engine's memory (ImapAccounts.health): the account the sync just read is shown
# as never tried (online null, last_sync null), although README says `null until first
# tried` and shows last_sync.
def test_status_after_sync_shows_the_account_online(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, root: str,
        mailuser: MailUser) -> None:
    assert add_imap(capsys, monkeypatch, root, mailuser, mailuser.password,
                    "--name", "work")[0] == 0
    assert run_json(capsys, "--profile", root, "sync")["errors"] == []
    (account,) = run_json(capsys, "--profile", root, "status")["accounts"]
    assert account["online"] is True
    assert account["last_sync"] is not None


def test_log_call_for_a_clients_number_waits_like_any_contact(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, root: str,
        mailuser: MailUser) -> None:
    assert add_imap(capsys, monkeypatch, root, mailuser, mailuser.password,
                    "--address", mailuser.address)[0] == 0
    sofia = run_json(capsys, "--profile", root, "clients", "add", "Sofia Lindqvist",
                     "--phone", "+1 555 0100", "--email", "sofia@lindqvist.example")
    assert sofia["phones"] == ["+15550100"]

    logged = run_json(capsys, "--profile", root, "log-call", "--from", "+1 555 0100",
                      "--note", "about the lease")
    assert logged["client_id"] == sofia["id"]
    assert logged["number"] == "+15550100"
    assert logged["subject"] == "Call from Sofia Lindqvist: about the lease"

    status = run_json(capsys, "--profile", root, "status")
    (item,) = status["waiting"]
    assert item["id"] == logged["id"]
    assert item["channel"] == "call" and item["client"]["name"] == "Sofia Lindqvist"
    assert item["prospect"] is False

    code, out, err = run(capsys, "--profile", root, "log-call", "--from", "+1 555 0199")
    assert code == 1 and out == ""
    assert "no client has the number +15550199" in err
    assert "heard clients" in err
    assert run_json(capsys, "--profile", root, "status")["count"] == 1
