"""`heard account` (heard.cli.accounts): what it says, and its exit status. Maildir accounts
and calendars; IMAP against a real Dovecot with the password in a real Secret Service and
never in heard.toml; a CalDAV account on a real Radicale, a subscription over http and an
SMTP login on the fault-injecting server. Nothing is added until what it names was
tried."""

from __future__ import annotations

import io
import json
import shutil
import tomllib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from heard.config import CalendarSource, ConfigFile, ImapAccount
from heard.system import secrets
from tests.support.cli import (
    add_imap,
    now_utc,
    run,
    run_json,
    stdin,
    write_calendar,
)
from tests.support.dav import DavServer
from tests.support.dovecot import Dovecot, MailUser
from tests.support.feed import Feed
from tests.support.mail import MailFolders
from tests.support.oauth import OAuthWorld


def config_text(bare_root: str) -> str:
    return (Path(bare_root) / "heard.toml").read_text()


def keyring_name(user: MailUser) -> str:
    return ImapAccount("x", "127.0.0.1", 0, "plain", user.name).keyring_name


def calendar_entry(username: str) -> str:
    return CalendarSource("x", kind="caldav", url="http://127.0.0.1/",
                          username=username).keyring_name


def all_values(data: Any) -> Iterator[Any]:
    if isinstance(data, dict):
        for value in data.values():
            yield from all_values(value)
    elif isinstance(data, list):
        for value in data:
            yield from all_values(value)
    else:
        yield data



@pytest.fixture
def fresh(tmp_path: Path) -> str:
    """A profile that does not exist yet: the first command makes it."""
    return str(tmp_path / "profile")


@pytest.mark.usefixtures("real_keyring")
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
    assert (code, out) == (1, "Did not store the password of 'office': 127.0.0.1 refused the"
                              " user name or password. The keyring keeps the one it had.\n")
    assert secrets.get_password(calendar_entry(user.name)) == user.password
    stdin(monkeypatch, user.password)
    code, out, _err = run(capsys, "--profile", fresh, "account", "password", "office",
                          "--password-stdin")
    assert (code, out) == (0, "Stored the password of 'office'; the calendar answers.\n")


@pytest.mark.usefixtures("real_keyring")
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


@pytest.mark.usefixtures("real_keyring")
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
    assert note == ("The account was not added, and no password was stored: the keyring"
                    " keeps what it had.")
    assert secrets.get_password(f"smtp:{sender.name}@127.0.0.1") is None
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
    assert out.startswith("Did not store the SMTP password of 'imap': 127.0.0.1 refused the"
                          " login: wrong user name or password")
    assert secrets.get_password(f"smtp:{sender.name}@127.0.0.1") == sender.password


@pytest.mark.usefixtures("real_keyring")
def test_a_wrong_password_says_so_and_adds_nothing(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, bare_root: str,
        forgiving_dovecot: Dovecot) -> None:
    user = forgiving_dovecot.add_user()
    before = config_text(bare_root)

    code, out, err = add_imap(capsys, monkeypatch, bare_root, user, "not-the-password")

    assert code == 1
    assert "wrong user name or password" in err
    assert "The account was not added" in err
    assert "Traceback" not in err and "Added" not in out
    assert config_text(bare_root) == before
    assert run_json(capsys, "--profile", bare_root, "account", "list")["accounts"] == []


@pytest.mark.usefixtures("real_keyring")
def test_adding_an_imap_account_keeps_the_password_in_the_keyring_only(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, bare_root: str,
        mailuser: MailUser) -> None:
    code, out, err = add_imap(capsys, monkeypatch, bare_root, mailuser, mailuser.password,
                              "--address", mailuser.address, "--name", "work")

    assert code == 0, err
    assert "Added imap account 'work'" in out
    assert secrets.get_password(keyring_name(mailuser)) == mailuser.password
    text = config_text(bare_root)
    settings = tomllib.loads(text)
    assert mailuser.password not in list(all_values(settings))
    assert f'"{mailuser.password}"' not in text and "password =" not in text
    (entry,) = settings["accounts"]
    assert (entry["name"], entry["kind"], entry["host"], entry["username"]) == (
        "work", "imap", "127.0.0.1", mailuser.name)

    listed = run_json(capsys, "--profile", bare_root, "account", "list")
    assert listed["accounts"] == [{
        "name": "work", "kind": "imap", "host": "127.0.0.1",
        "port": mailuser.server.imap_port, "security": "plain", "username": mailuser.name,
        "folders": ["INBOX"], "sent_folder": None, "address": mailuser.address}]
    assert listed["calendars"] == []

    code, out, err = run(capsys, "--profile", bare_root, "account", "test")
    assert code == 0, err
    assert out.strip().startswith("ok")
    assert f"work: {mailuser.name} at 127.0.0.1:{mailuser.server.imap_port}" in out

    code, out, err = run(capsys, "--profile", bare_root, "account", "remove", "work")
    assert code == 0, err
    assert secrets.get_password(keyring_name(mailuser)) is None
    assert "accounts" not in tomllib.loads(config_text(bare_root))
    assert run_json(capsys, "--profile", bare_root, "account", "list")["accounts"] == []


@pytest.mark.usefixtures("real_keyring")
def test_a_second_account_by_the_same_name_is_refused(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, bare_root: str,
        mailuser: MailUser) -> None:
    assert add_imap(capsys, monkeypatch, bare_root, mailuser, mailuser.password)[0] == 0
    before = config_text(bare_root)
    code, _out, err = add_imap(capsys, monkeypatch, bare_root, mailuser, mailuser.password,
                               "--name", "imap")
    assert code == 1 and "already an account named 'imap'" in err
    assert config_text(bare_root) == before


@pytest.mark.usefixtures("real_keyring")
def test_account_password_stores_a_new_password_only_once_it_logs_in(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, bare_root: str,
        forgiving_dovecot: Dovecot) -> None:
    user = forgiving_dovecot.add_user()
    assert add_imap(capsys, monkeypatch, bare_root, user, user.password, "--name", "work")[0] == 0
    before = config_text(bare_root)

    stdin(monkeypatch, "a-typo")
    code, out, _err = run(capsys, "--profile", bare_root, "account", "password", "work",
                          "--password-stdin")
    assert code == 1
    assert "Did not store the password of 'work'" in out and "wrong user name or password" in out
    assert secrets.get_password(keyring_name(user)) == user.password   # the one that works
    code, out, _err = run(capsys, "--profile", bare_root, "account", "test", "work")
    assert code == 0, out

    secrets.store_password(keyring_name(user), "stale")    # changed on the server, say
    stdin(monkeypatch, user.password)
    code, out, err = run(capsys, "--profile", bare_root, "account", "password", "work",
                         "--password-stdin")
    assert code == 0, err
    assert "login works" in out
    assert secrets.get_password(keyring_name(user)) == user.password
    assert config_text(bare_root) == before    # the file never sees a password
    code, _out, err = run(capsys, "--profile", bare_root, "account", "password", "nope",
                          "--password-stdin")
    assert code == 1 and "no imap or caldav account named 'nope'" in err


def test_account_add_maildir_then_list_as_json(
        capsys: pytest.CaptureFixture[str], empty: str, tmp_path: Path) -> None:
    mail = MailFolders.create(tmp_path / "Mail")
    code, out, err = run(capsys, "--profile", empty, "account", "add", "maildir",
                         str(mail.inbox.path), "--sent", str(mail.sent.path),
                         "--outbox", str(mail.outbox.path), "--address", "alex@example.org")
    assert code == 0, err
    assert "Added maildir account 'maildir'." in out

    listed = run_json(capsys, "--profile", empty, "account", "list")
    assert listed == {
        "accounts": [{"name": "maildir", "kind": "maildir", "inbox": str(mail.inbox.path),
                      "sent": str(mail.sent.path), "outbox": str(mail.outbox.path),
                      "address": "alex@example.org"}],
        "calendars": [],
    }


def test_account_add_maildir_on_a_plain_folder_fails_clearly(
        capsys: pytest.CaptureFixture[str], empty: str, tmp_path: Path) -> None:
    plain = tmp_path / "Documents"
    plain.mkdir()
    code, _out, err = run(capsys, "--profile", empty, "account", "add", "maildir", str(plain))
    assert code == 1
    assert f"{plain}: is not a Maildir (it needs new/, cur/ and tmp/)" in err
    assert run_json(capsys, "--profile", empty, "account", "list")["accounts"] == []

    code, _out, err = run(capsys, "--profile", empty, "account", "add", "maildir",
                          str(tmp_path / "missing"))
    assert code == 1
    assert "does not exist" in err


def test_account_add_calendar_test_and_remove(
        capsys: pytest.CaptureFixture[str], empty: str, tmp_path: Path) -> None:
    mail = MailFolders.create(tmp_path / "Mail")
    now = now_utc()
    ics = write_calendar(tmp_path / "work.ics", now - timedelta(hours=1),
                         now + timedelta(hours=1))
    assert run(capsys, "--profile", empty, "account", "add", "maildir", str(mail.inbox.path),
               "--sent", str(mail.sent.path), "--outbox", str(mail.outbox.path))[0] == 0
    code, out, err = run(capsys, "--profile", empty, "account", "add", "calendar", str(ics),
                         "--name", "office")
    assert code == 0, err
    assert "Added calendar account 'office'." in out
    assert run_json(capsys, "--profile", empty, "account", "list")["calendars"] == [
        {"name": "office", "kind": "ics", "path": str(ics), "url": None, "username": None,
         "calendars": []}]

    code, out, _err = run(capsys, "--profile", empty, "account", "test")
    assert code == 0, out
    assert f"ok    maildir inbox: {mail.inbox.path}" in out
    assert f"ok    maildir sent: {mail.sent.path}" in out
    assert f"ok    office: {ics}" in out

    shutil.rmtree(mail.sent.path)
    code, out, _err = run(capsys, "--profile", empty, "account", "test")
    assert code == 1
    assert "FAIL  maildir sent:" in out
    assert run(capsys, "--profile", empty, "account", "test", "office")[0] == 0

    code, out, _err = run(capsys, "--profile", empty, "account", "remove", "office")
    assert code == 0
    assert "Removed account 'office'." in out
    listed = run_json(capsys, "--profile", empty, "account", "list")
    assert listed["calendars"] == []
    assert [a["name"] for a in listed["accounts"]] == ["maildir"]

    code, _out, err = run(capsys, "--profile", empty, "account", "remove", "office")
    assert code == 1
    assert "there is no account named 'office'" in err


def test_account_add_calendar_needs_an_existing_file(
        capsys: pytest.CaptureFixture[str], empty: str, tmp_path: Path) -> None:
    code, _out, err = run(capsys, "--profile", empty, "account", "add", "calendar",
                          str(tmp_path / "nope.ics"))
    assert code == 1
    assert "no such file or folder" in err


def test_account_add_refuses_a_second_account_with_the_same_name(
        capsys: pytest.CaptureFixture[str], root: str, mail: MailFolders) -> None:
    code, _out, err = run(capsys, "--profile", root, "account", "add", "maildir",
                          str(mail.inbox.path), "--name", "work")
    assert code == 1
    assert "already an account named 'work'" in err


@pytest.mark.usefixtures("real_keyring")
def test_a_refused_add_never_replaces_the_working_password_of_the_same_login(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, bare_root: str,
        forgiving_dovecot: Dovecot) -> None:
    """`echo typo | heard account add imap ... --password-stdin` on a profile that already
    logs in as that user: refused, and the account that works keeps working."""
    user = forgiving_dovecot.add_user()
    assert add_imap(capsys, monkeypatch, bare_root, user, user.password, "--name", "work")[0] == 0
    before = config_text(bare_root)

    code, out, err = add_imap(capsys, monkeypatch, bare_root, user, "typo", "--name", "other")
    assert (code, out) == (1, "")
    assert "wrong user name or password" in err
    assert secrets.get_password(keyring_name(user)) == user.password
    assert config_text(bare_root) == before
    code, out, _err = run(capsys, "--profile", bare_root, "account", "test", "work")
    assert code == 0 and out.startswith("  ok    work:"), out
    assert err.splitlines()[-1] == ("The account was not added, and no password was stored:"
                                    " the keyring keeps what it had.")


@pytest.mark.usefixtures("real_keyring")
def test_two_accounts_on_one_login_share_its_password_knowingly(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, bare_root: str,
        forgiving_dovecot: Dovecot) -> None:
    user = forgiving_dovecot.add_user()
    assert add_imap(capsys, monkeypatch, bare_root, user, user.password, "--name", "work")[0] == 0

    # A second account of the same login (another folder, say): told it shares the password.
    code, _out, err = add_imap(capsys, monkeypatch, bare_root, user, user.password,
                               "--name", "clients", "--folder", "INBOX")
    assert code == 0, err
    assert (f"Note: clients logs in as {user.name}@127.0.0.1 like 'work': they share its"
            " password in the keyring.") in err.splitlines()

    # The keyring's went stale (changed on the server, say); a third account that logs in
    # with the right one repairs it for all, and says so.
    secrets.store_password(keyring_name(user), "stale")
    code, _out, err = add_imap(capsys, monkeypatch, bare_root, user, user.password,
                               "--name", "third")
    assert code == 0, err
    assert (f"Note: the password in the keyring for {user.name}@127.0.0.1 no longer logged in;"
            " the one typed replaces it, for 'work', 'clients' too.") in err.splitlines()
    code, out, _err = run(capsys, "--profile", bare_root, "account", "test")
    assert code == 0 and out.count("  ok  ") == 3, out

    # Added without a login (--no-test): what the keyring holds is kept.
    code, _out, err = add_imap(capsys, monkeypatch, bare_root, user, "untried", "--name",
                               "fourth", "--no-test")
    assert code == 0, err
    assert "it was kept, as the one typed was not tried" in err
    assert secrets.get_password(keyring_name(user)) == user.password


# -- account add mail: the servers found from the address ------------------------------------

AUTOCONFIG = """<?xml version="1.0"?>
<clientConfig version="1.1"><emailProvider id="example.test">
  <domain>example.test</domain>
  <incomingServer type="imap"><hostname>127.0.0.1</hostname><port>{imap}</port>
    <socketType>SSL</socketType><authentication>password-cleartext</authentication>
    <username>%EMAILADDRESS%</username></incomingServer>
  <outgoingServer type="smtp"><hostname>127.0.0.1</hostname><port>{smtp}</port>
    <socketType>SSL</socketType><authentication>password-cleartext</authentication>
    <username>%EMAILADDRESS%</username></outgoingServer>
</emailProvider></clientConfig>
"""
MAIL_KEYS = {"discovered", "added", "account", "needs", "entry"}


@pytest.mark.usefixtures("real_keyring")
def test_an_address_alone_reaches_a_working_account_and_heard_sync_works(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, fresh: str,
        discovery: Any, mailuser: MailUser, postfix: Any) -> None:
    """someone@example.test: autoconfig.example.test (found through the test DNS server,
    over verified HTTPS) names the suite's Dovecot and Postfix; both logins really work."""
    discovery.https.files["autoconfig.example.test"] = AUTOCONFIG.format(
        imap=mailuser.server.imaps_port, smtp=postfix.tls_port).encode()
    address = f"{mailuser.name}@example.test"   # Dovecot logs in by the local part
    stdin(monkeypatch, mailuser.password)
    code, out, err = run(capsys, "--profile", fresh, "account", "add", "mail", address,
                         "--ca-file", str(mailuser.server.cert), "--password-stdin", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert set(result) == MAIL_KEYS
    assert (result["added"], result["account"], result["needs"]) == (True, "mail", None)
    found = result["discovered"]
    assert (found["source"], found["where"], found["sign_in"], found["username"]) == (
        "autoconfig", "https://autoconfig.example.test/mail/config-v1.1.xml", "password",
        address)
    assert "Found in https://autoconfig.example.test/mail/config-v1.1.xml:" in err
    (account,) = run_json(capsys, "--profile", fresh, "account", "list")["accounts"]
    assert (account["host"], account["port"], account["username"]) == (
        "127.0.0.1", mailuser.server.imaps_port, address)
    assert mailuser.password not in config_text(fresh)
    code, out, _err = run(capsys, "--profile", fresh, "account", "test")
    assert code == 0 and "FAIL" not in out, out
    mailuser.append(b"From: Jane <jane@client.example>\r\nTo: " + address.encode()
                    + b"\r\nSubject: Hello\r\nMessage-ID: <one@client.example>\r\n\r\nHi\r\n")
    report = run_json(capsys, "--profile", fresh, "sync")
    assert report["seen"] == 1 and report["errors"] == []


@pytest.mark.usefixtures("real_keyring")
def test_a_microsoft_address_needs_its_sign_in_and_adds_nothing(
        capsys: pytest.CaptureFixture[str], fresh: str, discovery: Any) -> None:
    code, out, err = run(capsys, "--profile", fresh, "account", "add", "mail",
                         "alex@m365.test", "--json")
    assert code == 1
    result = json.loads(out)
    assert (result["added"], result["needs"]) == (False, "oauth2")
    assert result["discovered"]["oauth2"] == "microsoft"
    assert result["discovered"]["source"] == "mx"
    assert "Sign-in with Microsoft 365 / Outlook.com is needed" in err
    # Heard ships no client id of its own: the sign-in says where to set the organisation's
    assert "heard: not added: no client id for Microsoft: set client_id in [oauth.microsoft]" \
        in err
    assert run_json(capsys, "--profile", fresh, "account", "list")["accounts"] == []


@pytest.mark.usefixtures("real_keyring")
def test_an_icloud_address_asks_for_an_app_password_and_says_where_to_make_one(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, fresh: str,
        discovery: Any) -> None:
    # --no-test: iCloud itself is not reachable from the tests; the entry is what counts
    stdin(monkeypatch, "abcd-efgh-ijkl-mnop")
    code, _out, err = run(capsys, "--profile", fresh, "account", "add", "mail",
                          "alex@icloud.com", "--password-stdin", "--no-test")
    assert code == 0, err
    assert "Make an app password for Heard at https://account.apple.com/account/manage" in err
    assert "Your calendar: `heard account add caldav https://caldav.icloud.com/ --username" \
           " alex@icloud.com` (the same app password)." in err
    (account,) = run_json(capsys, "--profile", fresh, "account", "list")["accounts"]
    assert (account["host"], account["port"], account["security"], account["username"]) == (
        "imap.mail.me.com", 993, "tls", "alex@icloud.com")
    assert secrets.get_password("imap:alex@icloud.com@imap.mail.me.com") == \
        "abcd-efgh-ijkl-mnop"


def test_when_nothing_is_found_it_asks_for_the_servers(
        capsys: pytest.CaptureFixture[str], fresh: str, discovery: Any) -> None:
    code, out, err = run(capsys, "--profile", fresh, "account", "add", "mail",
                         "lee@nothing.test", "--json")
    assert code == 1
    result = json.loads(out)
    assert (result["added"], result["needs"], result["discovered"]["source"]) == (
        False, "servers", "none")
    assert "heard: no mail servers found for lee@nothing.test; give them with `heard account" \
           " add imap --host HOST --address lee@nothing.test`" in err


# -- OAuth2 sign-in (the device flow, against tests/support/oauth.py) ------------------------

def _microsoft_here(bare_root: str, world: OAuthWorld) -> None:
    """[oauth.microsoft] pointed at the test's OAuth2 server, as an organisation's own
    settings would change it."""
    file = ConfigFile(Path(bare_root) / "heard.toml")
    for key, value in world.provider_settings().items():
        file.set("oauth.microsoft", key, value)


@pytest.mark.usefixtures("real_keyring")
def test_account_add_with_oauth_signs_in_with_a_code_and_reads_the_mail(
        capsys: pytest.CaptureFixture[str], bare_root: str, oauth_world: OAuthWorld) -> None:
    user = oauth_world.dovecot.add_user()
    _microsoft_here(bare_root, oauth_world)
    oauth_world.server.approve_next(user.name)
    code, out, err = run(capsys, "--profile", bare_root, "account", "add", "imap",
                         "--name", "work", "--host", "127.0.0.1", "--port",
                         str(oauth_world.dovecot.imap_port), "--security", "plain",
                         "--username", user.name, "--oauth", "microsoft")
    assert code == 0, err
    assert "To sign in, open http://127.0.0.1:" in err and "/device in a browser" in err
    assert "enter the code" in err
    assert "Added account 'work', signed in to Test ID as" in out
    saved = tomllib.loads((Path(bare_root) / "heard.toml").read_text())
    (account,) = saved["accounts"]
    assert (account["auth"], account["provider"]) == ("oauth2", "microsoft")
    # Only the keyring holds the sign-in: the refresh token under oauth:microsoft:USER.
    (token,) = [t for t in oauth_world.server.tokens_of(user.name) if t.refresh_token]
    assert secrets.get_password(f"oauth:microsoft:{user.name}") == token.refresh_token
    assert token.refresh_token not in (Path(bare_root) / "heard.toml").read_text()
    code, out, err = run(capsys, "--profile", bare_root, "account", "test", "work")
    assert code == 0, err
    # Revoked: the account says to sign in again; `account signin` does, and it works.
    oauth_world.server.revoke_user(user.name)
    code, out, err = run(capsys, "--profile", bare_root, "account", "test", "work")
    assert code == 1 and "Sign in again to Test ID" in out
    assert "`heard account signin work`" in out
    oauth_world.server.approve_next(user.name)
    code, out, err = run(capsys, "--profile", bare_root, "account", "signin", "work")
    assert code == 0, err
    assert "Signed in to Test ID as" in out and "work works again" in out
    code, out, err = run(capsys, "--profile", bare_root, "account", "test", "work")
    assert code == 0, out + err
    # A password typed for it would replace the sign-in in the keyring: refused.
    kept = secrets.get_password(f"oauth:microsoft:{user.name}")
    code, out, err = run(capsys, "--profile", bare_root, "account", "password", "work")
    assert code == 2 and "signs in with microsoft, not a password" in err
    assert secrets.get_password(f"oauth:microsoft:{user.name}") == kept


@pytest.mark.usefixtures("real_keyring")
def test_account_add_with_a_wrong_client_id_says_so_and_adds_nothing(
        capsys: pytest.CaptureFixture[str], bare_root: str, oauth_world: OAuthWorld) -> None:
    _microsoft_here(bare_root, oauth_world)
    ConfigFile(Path(bare_root) / "heard.toml").set("oauth.microsoft", "client_id", "nobody")
    code, _out, err = run(capsys, "--profile", bare_root, "account", "add", "imap",
                         "--host", "127.0.0.1", "--username", "someone",
                         "--oauth", "microsoft")
    assert code == 1
    assert "does not accept the client id 'nobody'" in err
    assert "accounts" not in tomllib.loads((Path(bare_root) / "heard.toml").read_text())


AUTOCONFIG_OAUTH = AUTOCONFIG.replace("password-cleartext", "OAuth2")


@pytest.mark.usefixtures("real_keyring")
def test_an_address_whose_server_takes_oauth2_signs_in_and_syncs(
        capsys: pytest.CaptureFixture[str], bare_root: str, discovery: Any,
        oauth_world: OAuthWorld) -> None:
    """autoconfig.example.test says OAuth2 for the Dovecot that checks the test OAuth2
    server's tokens; --oauth names the provider ([oauth.microsoft] pointed at that server),
    the code is approved as the person would, IMAP is tried with the token, heard sync
    reads the inbox."""
    user = oauth_world.dovecot.add_user()
    _microsoft_here(bare_root, oauth_world)
    discovery.https.files["autoconfig.example.test"] = AUTOCONFIG_OAUTH.replace(
        "<outgoingServer", "<!--").replace("</outgoingServer>", "-->").format(
        imap=oauth_world.dovecot.imaps_port, smtp=0).encode()
    address = f"{user.name}@example.test"
    oauth_world.server.approve_next(user.name)
    code, out, err = run(capsys, "--profile", bare_root, "account", "add", "mail", address,
                         "--oauth", "microsoft", "--ca-file", str(oauth_world.dovecot.cert),
                         "--json")
    assert code == 0, err
    result = json.loads(out)
    assert (result["added"], result["needs"]) == (True, None)
    assert result["discovered"]["sign_in"] == "oauth2"
    assert (result["entry"]["auth"], result["entry"]["provider"]) == ("oauth2", "microsoft")
    assert "enter the code" in err
    assert secrets.get_password(f"oauth:microsoft:{address}")
    user.append(b"From: Jane <jane@client.example>\r\nTo: " + address.encode()
                + b"\r\nSubject: Hello\r\nMessage-ID: <two@client.example>\r\n\r\nHi\r\n")
    report = run_json(capsys, "--profile", bare_root, "sync")
    assert report["seen"] == 1 and report["errors"] == []
