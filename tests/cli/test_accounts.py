"""What `heard account` says, and its exit status, where a CalDAV account, a subscription
or an SMTP login fails or works: real Radicale, an http feed, the fault-injecting SMTP
server and a real Secret Service. Nothing is added until what it names was tried."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tests.cli.test_cli import _restore_logging, run, run_json  # noqa: F401  (autouse)
from tests.imap.test_account_cli import stdin
from tests.support.dav import DavServer
from tests.support.dovecot import MailUser
from tests.support.feed import Feed

pytestmark = pytest.mark.usefixtures("real_keyring")


@pytest.fixture
def fresh(tmp_path: Path) -> str:
    """A profile that does not exist yet: the first command makes it."""
    return str(tmp_path / "profile")


def test_caldav_calendars_are_chosen_by_name_and_a_new_password_is_tried(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, fresh: str,
        radicale: DavServer) -> None:
    user = radicale.add_user()
    user.make_calendar("work")
    add = ("--profile", fresh, "account", "add", "caldav", radicale.url, "--username",
           user.name, "--password-stdin", "--name", "office")
    stdin(monkeypatch, user.password)
    code, _out, err = run(capsys, *add, "--calendar", "Work", "--calendar", "court")
    assert code == 1
    assert err.splitlines()[-1] == "heard: no calendar named court on the server; it has:" \
        " 'work'"
    assert run_json(capsys, "--profile", fresh, "account", "list")["calendars"] == []

    stdin(monkeypatch, user.password)
    code, out, err = run(capsys, *add, "--calendar", "WORK")
    assert code == 0, err
    assert out == "Added CalDAV account 'office': work; the password is in the keyring.\n"

    stdin(monkeypatch, "not-the-password")
    code, out, _err = run(capsys, "--profile", fresh, "account", "password", "office",
                          "--password-stdin")
    assert (code, out) == (1, "Stored the password of 'office'; but: 127.0.0.1 refused the"
                              " user name or password\n")
    stdin(monkeypatch, user.password)
    code, out, _err = run(capsys, "--profile", fresh, "account", "password", "office",
                          "--password-stdin")
    assert (code, out) == (0, "Stored the password of 'office'; the calendar answers.\n")


def test_a_subscription_is_read_before_it_is_added(
        capsys: pytest.CaptureFixture[str], fresh: str) -> None:
    feed = Feed()
    feed.serve()
    try:
        feed.status = 404
        add = ("--profile", fresh, "account", "add", "calendar", feed.url, "--name", "court")
        code, out, err = run(capsys, *add)
        assert (code, out) == (1, "")
        assert err.splitlines()[-2:] == [
            "heard: 127.0.0.1 has no calendar at this address (HTTP 404)",
            "The calendar was not added."]
        feed.status = 200
        code, out, err = run(capsys, *add)
        assert (code, out) == (0, f"Added calendar subscription 'court' ({feed.url}).\n"), err
        code, out, _err = run(capsys, "--profile", fresh, "account", "test", "court")
        assert (code, out) == (0, f"  ok    court: {feed.url}\n")
    finally:
        feed.close()


def test_an_smtp_login_of_its_own_is_tried_before_the_account_is_added(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, fresh: str,
        mailuser: MailUser, faulty_smtp: object) -> None:
    sender = mailuser.server.elsewhere
    port = faulty_smtp.port  # type: ignore[attr-defined]
    add = ("--profile", fresh, "account", "add", "imap", "--host", "127.0.0.1", "--port",
           str(mailuser.server.imap_port), "--security", "plain", "--username", mailuser.name,
           "--smtp-host", "127.0.0.1", "--smtp-port", str(port), "--smtp-security", "plain",
           "--smtp-username", sender.name, "--password-stdin")
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{mailuser.password}\nnot-the-password\n"))
    code, out, err = run(capsys, *add)
    assert (code, out) == (1, "")
    refused, note = err.splitlines()[-2:]
    assert refused.startswith("heard: 127.0.0.1 refused the login: wrong user name or"
                              " password (535")
    assert note == ("The account was not added; the passwords stay in the keyring for the"
                    " next try.")
    assert run_json(capsys, "--profile", fresh, "account", "list")["accounts"] == []

    monkeypatch.setattr("sys.stdin", io.StringIO(f"{mailuser.password}\n{sender.password}\n"))
    code, out, err = run(capsys, *add)
    assert code == 0, err
    code, out, _err = run(capsys, "--profile", fresh, "account", "test")
    assert code == 0
    assert out.splitlines() == [
        f"  ok    imap smtp: {sender.name} at 127.0.0.1:{port}",
        f"  ok    imap: {mailuser.name} at 127.0.0.1:{mailuser.server.imap_port}"]

    stdin(monkeypatch, "not-the-password")
    code, out, _err = run(capsys, "--profile", fresh, "account", "password", "imap", "--smtp",
                          "--password-stdin")
    assert code == 1
    assert out.startswith("Stored the SMTP password of 'imap'; but: 127.0.0.1 refused the"
                          " login: wrong user name or password")
