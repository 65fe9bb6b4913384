"""heard.setup.accounts, as `heard account` and the settings window use it: entries checked
by the file's own rules, passwords in a real Secret Service, logins tried against a real
Dovecot and SMTP server, calendars read from a real Radicale, an .ics file and an http
feed, and heard.toml edited in place. Every failure is typed and names what failed."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from heard import config
from heard.config import CalendarSource, ConfigError, ConfigFile, ImapAccount
from heard.setup import accounts as setup
from heard.setup.accounts import (
    AccountProblem,
    CalendarsNotFound,
    InvalidEntry,
    KeyringUnavailable,
    MailReport,
    Part,
    PasswordNeeded,
    UnknownAccount,
)
from heard.system import secrets
from tests.conftest import NOW
from tests.support.calendar import BERLIN, vcalendar, vevent
from tests.support.dav import DavServer, DavUser
from tests.support.dovecot import NO_AUTH_PENALTY, NO_IDLE, Dovecot, MailUser, free_port
from tests.support.feed import Feed
from tests.support.mail import MailFolders

# An event with a start and no end: it takes no time, and reading it says so.
ENDLESS = vevent("endless", "Call back", "DTSTART;TZID=Europe/Berlin:20261126T090000")
MEETING = vevent("meeting", "Deposition", "DTSTART;TZID=Europe/Berlin:20261126T090000",
                 "DTEND;TZID=Europe/Berlin:20261126T110000")


@pytest.fixture(scope="module")
def plain_dovecot() -> Iterator[Dovecot]:
    """A server without IDLE that forgives wrong passwords (no growing login delay)."""
    server = Dovecot(extra_conf=NO_IDLE + NO_AUTH_PENALTY).start()
    yield server
    server.close()


@pytest.fixture
def toml(tmp_path: Path) -> Path:
    return tmp_path / "heard.toml"


def imap_entry(user: MailUser, name: str = "work", **more: Any) -> dict[str, Any]:
    return {"name": name, "kind": "imap", "host": "127.0.0.1",
            "port": user.server.imap_port, "security": "plain", "username": user.name,
            **more}


def caldav(user: DavUser, toml: Path, *calendars: str) -> CalendarSource:
    return setup.parse_calendar({"name": "office", "kind": "caldav", "url": user.server.url,
                                 "username": user.name, "calendars": list(calendars)}, toml)


def failure(attempt: Any, *args: Any) -> AccountProblem:
    with pytest.raises(AccountProblem) as info:
        attempt(*args)
    return info.value


# -- the entry ----------------------------------------------------------------------------


def test_a_bad_entry_names_each_field_and_the_rule_it_breaks(toml: Path) -> None:
    entry = {"name": "work", "kind": "imap", "host": "imap.example.com", "security": "plain",
             "username": "alex", "smtp_host": "smtp.example.com", "smtp_port": "soon"}
    with pytest.raises(InvalidEntry) as info:
        setup.parse_account(entry, toml)
    problems = {p.field: p for p in info.value.problems}
    assert info.value.account == "work"
    assert set(problems) == {"security", "smtp_port"}
    assert "only allowed to this machine" in problems["security"].text
    assert problems["security"].raw.startswith("accounts[0].security: ")

    with pytest.raises(InvalidEntry) as info:
        setup.parse_calendar({"name": "office", "kind": "caldav", "url": "ftp://x"}, toml)
    assert info.value.account == "office"
    assert all(p.raw.startswith("calendars[0].") for p in info.value.problems)


# -- passwords ----------------------------------------------------------------------------


def test_without_a_keyring_nothing_is_stored_and_the_reason_is_kept() -> None:
    assert "No keyring is available" in (setup.keyring_problem() or "")
    with pytest.raises(KeyringUnavailable) as info:
        setup.store_password("work", "imap:nobody@127.0.0.1", "s3cret")
    assert info.value.account == "work"
    assert "No keyring is available" in info.value.problem
    with pytest.raises(PasswordNeeded):
        setup.store_password("work", "imap:nobody@127.0.0.1", "")


# -- mail ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("real_keyring")
def test_an_imap_account_logs_in_with_the_password_it_stored(
        mailuser: MailUser, toml: Path) -> None:
    assert setup.keyring_problem() is None
    account = setup.parse_account(imap_entry(mailuser), toml)
    assert isinstance(account, ImapAccount)
    setup.store_mail_passwords(account, mailuser.password, "")
    assert secrets.get_password(account.keyring_name) == mailuser.password
    assert setup.try_mail(account) == MailReport(notes=(), push=True)

    checked = setup.check_mail(imap_entry(mailuser, address=mailuser.address), toml, "", "")
    assert checked.entry["address"] == mailuser.address and checked.notes == ""


@pytest.mark.usefixtures("real_keyring")
def test_imap_failures_name_the_account_and_say_why(
        plain_dovecot: Dovecot, toml: Path) -> None:
    user = plain_dovecot.add_user()
    account = setup.parse_account(imap_entry(user), toml)
    assert isinstance(account, ImapAccount)
    setup.forget_passwords([account.keyring_name])
    problem = failure(setup.try_mail, account)
    assert (problem.account, problem.part) == ("work", Part.IMAP)
    assert problem.problem == (f"no password for {user.name}@127.0.0.1 in the keyring;"
                               " store it with `heard account password work`")

    setup.store_password("work", account.keyring_name, "not-the-password")
    assert "wrong user name or password" in failure(setup.try_mail, account).problem

    elsewhere = setup.parse_account(imap_entry(user, port=free_port()), toml)
    assert "refused the connection" in failure(setup.try_mail, elsewhere).problem


@pytest.mark.usefixtures("real_keyring")
def test_a_missing_folder_fails_and_a_server_without_idle_is_a_note(
        plain_dovecot: Dovecot, toml: Path) -> None:
    user = plain_dovecot.add_user()
    account = setup.parse_account(imap_entry(user, poll_every="5m"), toml)
    setup.store_mail_passwords(account, user.password, "")
    (note,) = setup.try_mail(account).notes
    assert note == ("the server has no IDLE, so Heard checks for mail every 5 min instead of"
                    " at once")
    assert setup.try_mail(account).push is False

    missing = setup.parse_account(imap_entry(user, poll_every="5m", sent_folder="Outgoing",
                                             folders=["INBOX", "Clients"]), toml)
    problem = failure(setup.try_mail, missing)
    assert problem.part is Part.IMAP
    assert problem.problem.split("; ") == [
        "no folder 'Clients' on the server", "no Sent folder found (set sent_folder)", note]


@pytest.mark.usefixtures("real_keyring")
def test_smtp_logs_in_and_sends_nothing_with_its_own_password_before_the_imap_one(
        mailuser: MailUser, faulty_smtp: Any, toml: Path) -> None:
    entry = imap_entry(mailuser, smtp_host="127.0.0.1", smtp_port=faulty_smtp.port,
                       smtp_security="plain", smtp_username=mailuser.name)
    account = setup.parse_account(entry, toml)
    assert isinstance(account, ImapAccount) and account.smtp is not None
    setup.forget_passwords([account.smtp.keyring_name])
    setup.store_mail_passwords(account, mailuser.password, "")
    setup.try_smtp(account)                        # the IMAP password, same user
    assert faulty_smtp.received == []

    setup.store_mail_passwords(account, "", "not-the-password")
    assert secrets.get_password(account.smtp.keyring_name) == "not-the-password"
    problem = failure(setup.try_smtp, account)
    assert (problem.account, problem.part) == ("work", Part.SMTP)
    assert "wrong user name or password" in problem.problem
    with pytest.raises(AccountProblem) as info:   # what a form's Test runs: SMTP last
        setup.check_mail(entry, toml, "", "")
    assert info.value.part is Part.SMTP
    assert faulty_smtp.received == []


def test_maildir_folders_are_checked_and_an_outbox_can_be_made(
        tmp_path: Path, toml: Path) -> None:
    mail = MailFolders.create(tmp_path / "Mail")
    plain = tmp_path / "Documents"
    plain.mkdir()
    entry = {"name": "local", "kind": "maildir", "inbox": str(mail.inbox.path),
             "sent": str(plain)}
    problem = failure(setup.try_mail, setup.parse_account(entry, toml))
    assert problem.part is Part.MAILDIR
    assert problem.problem == f"not a Maildir (it needs new/, cur/ and tmp/): {plain}"
    assert setup.check_mail({**entry, "sent": str(mail.sent.path),
                             "outbox": str(mail.outbox.path)}, toml, "", "").notes == ""
    # Without an outbox (or SMTP) nothing the user acknowledges could go out: refused.
    with pytest.raises(setup.AccountProblem, match="replies cannot go out"):
        setup.check_mail({**entry, "sent": str(mail.sent.path)}, toml, "", "")

    with pytest.raises(OSError, match="is not a Maildir"):
        setup.check_folder(plain)
    setup.check_folder(tmp_path / "Outbox", create=True)
    assert (tmp_path / "Outbox" / "new").is_dir()


# -- calendars ----------------------------------------------------------------------------


@pytest.mark.usefixtures("real_keyring")
def test_a_caldav_account_shows_its_calendars_and_some_are_chosen_by_name(
        radicale: DavServer, toml: Path) -> None:
    user = radicale.add_user()
    work = user.make_calendar("work")
    private = user.make_calendar("private")
    entry = {"name": "office", "kind": "caldav", "url": radicale.url, "username": user.name}
    checked = setup.check_calendar(entry, toml, user.password, BERLIN, NOW)
    assert sorted(checked.calendars) == [("private", private), ("work", work)]
    calendar = caldav(user, toml)
    assert secrets.get_password(calendar.keyring_name) == user.password

    found = setup.discover_calendars(calendar, user.password)
    assert [c.url for c in setup.choose_calendars(calendar, found, ["WORK"])] == [work]
    assert len(setup.choose_calendars(calendar, found, [])) == 2
    with pytest.raises(CalendarsNotFound) as info:
        setup.choose_calendars(calendar, found, ["Work", "Holidays", "court"])
    assert info.value.missing == ("court", "holidays")
    assert sorted(info.value.found) == ["private", "work"]

    wrong = failure(setup.discover_calendars, calendar, "not-the-password")
    assert (wrong.account, wrong.part) == ("office", Part.CALENDAR)
    assert "refused the user name or password" in wrong.problem


@pytest.mark.usefixtures("real_keyring")
def test_a_caldav_account_without_calendars_or_a_password_is_refused(
        radicale: DavServer, toml: Path) -> None:
    user = radicale.add_user()
    entry = {"name": "office", "kind": "caldav", "url": radicale.url, "username": user.name}
    setup.forget_passwords([caldav(user, toml).keyring_name])
    with pytest.raises(PasswordNeeded):
        setup.check_calendar(entry, toml, "", BERLIN, NOW)
    with pytest.raises(CalendarsNotFound) as info:
        setup.check_calendar(entry, toml, user.password, BERLIN, NOW)
    assert info.value.missing == () and info.value.found == ()


@pytest.mark.usefixtures("real_keyring")
def test_a_saved_caldav_calendar_is_read_into_a_copy_that_is_thrown_away(
        radicale: DavServer, toml: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    user = radicale.add_user()
    work = user.make_calendar("work")
    user.put(work, "meeting.ics", vcalendar(MEETING))
    calendar = caldav(user, toml, work)
    setup.store_password("office", calendar.keyring_name, user.password)
    copies = tmp_path / "temp"
    copies.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(copies))
    setup.try_calendar(calendar, BERLIN, NOW)
    assert list(copies.iterdir()) == []

    user.put(work, "endless.ics", vcalendar(ENDLESS))
    problem = failure(setup.try_calendar, calendar, BERLIN, NOW)
    assert (problem.account, problem.part) == ("office", Part.CALENDAR)
    assert "has no end" in problem.problem and "Call back" in problem.problem
    assert list(copies.iterdir()) == []

    setup.forget_passwords([calendar.keyring_name])
    assert failure(setup.try_calendar, calendar, BERLIN, NOW).problem == (
        f"no password for {user.name} in the keyring; store it with"
        " `heard account password office`")


def test_an_ics_file_is_read_and_its_unreadable_events_are_named(
        tmp_path: Path, toml: Path) -> None:
    ics = tmp_path / "work.ics"
    ics.write_text(vcalendar(MEETING))
    entry = {"name": "file", "kind": "ics", "path": str(ics)}
    assert setup.check_calendar(entry, toml, "", BERLIN, NOW).entry == entry
    ics.write_text(vcalendar(MEETING, ENDLESS))
    assert "has no end" in failure(setup.try_calendar, setup.parse_calendar(entry, toml),
                                   BERLIN, NOW).problem
    gone = setup.parse_calendar({**entry, "path": str(tmp_path / "gone.ics")}, toml)
    assert failure(setup.try_calendar, gone, BERLIN, NOW).problem == (
        f"{tmp_path / 'gone.ics'}: no such file or folder")


def test_a_subscription_is_fetched_once_and_a_missing_feed_says_so(toml: Path) -> None:
    feed = Feed()
    feed.serve()
    try:
        calendar = setup.parse_calendar({"name": "court", "kind": "url", "url": feed.url},
                                        toml)
        setup.try_calendar(calendar, BERLIN, NOW)
        assert len(feed.requests) == 1
        feed.status = 404
        problem = failure(setup.try_calendar, calendar, BERLIN, NOW)
        assert problem.problem == "127.0.0.1 has no calendar at this address (HTTP 404)"
    finally:
        feed.close()


# -- heard.toml ---------------------------------------------------------------------------


def test_an_entry_replaces_its_old_self_in_place_and_a_bad_one_changes_nothing(
        toml: Path, tmp_path: Path) -> None:
    mail = MailFolders.create(tmp_path / "Mail")
    first = {"name": "first", "kind": "maildir", "inbox": str(mail.inbox.path)}
    second = {"name": "second", "kind": "maildir", "inbox": str(mail.sent.path)}
    setup.save_entry(toml, "accounts", first)
    setup.save_entry(toml, "accounts", second)
    toml.write_text(toml.read_text().replace("[[accounts]]", "# mine\n[[accounts]]", 1))
    setup.save_entry(toml, "accounts", {**first, "name": "renamed", "address": "a@b.example"},
                     replacing="first")
    assert [a.name for a in config.load(toml).accounts] == ["renamed", "second"]
    assert "# mine" in toml.read_text()
    assert setup.raw_entries(toml, "accounts")[0] == {**first, "name": "renamed",
                                                      "address": "a@b.example"}

    before = toml.read_bytes()
    with pytest.raises(ConfigError) as info:
        setup.save_entry(toml, "accounts", {**second, "smtp_port": "soon"}, replacing="second")
    assert setup.field_problems(info.value.problems, "accounts")[0].field == "smtp_port"
    assert toml.read_bytes() == before


@pytest.mark.usefixtures("real_keyring")
def test_removing_an_account_forgets_only_the_passwords_no_other_one_uses(
        toml: Path, tmp_path: Path) -> None:
    imap = {"kind": "imap", "host": "127.0.0.1", "security": "plain", "username": "remover",
            "smtp_host": "127.0.0.1", "smtp_security": "plain"}
    file = ConfigFile(toml)
    file.append("accounts", {"name": "work", **imap, "smtp_username": "remover-smtp"})
    file.append("accounts", {"name": "again", **imap, "folders": ["Clients"]})
    file.append("calendars", {"name": "office", "kind": "caldav", "url": "http://127.0.0.1/",
                              "username": "remover"})
    settings = config.load(toml)
    names = ["imap:remover@127.0.0.1", "smtp:remover-smtp@127.0.0.1",
             "smtp:remover@127.0.0.1", "caldav:remover@127.0.0.1"]
    for name in names:
        setup.store_password("remover", name, "s3cret")

    unused = setup.remove_entry(toml, settings, "work")
    assert unused == ["smtp:remover-smtp@127.0.0.1"]        # "again" logs in as remover
    assert setup.forget_passwords(unused) == {}
    assert secrets.get_password("smtp:remover-smtp@127.0.0.1") is None
    assert secrets.get_password("imap:remover@127.0.0.1") == "s3cret"

    settings = config.load(toml)
    assert setup.remove_entry(toml, settings, "again") == [
        "imap:remover@127.0.0.1", "smtp:remover@127.0.0.1"]
    assert setup.remove_entry(toml, config.load(toml), "office") == ["caldav:remover@127.0.0.1"]
    assert config.load(toml).accounts == () and config.load(toml).calendars == ()
    with pytest.raises(UnknownAccount) as info:
        setup.remove_entry(toml, config.load(toml), "office")
    assert info.value.account == "office"
    setup.forget_passwords(names)


@pytest.mark.usefixtures("real_keyring")
def test_a_form_tried_with_a_wrong_password_keeps_the_keyrings(
        plain_dovecot: Dovecot, toml: Path) -> None:
    """The settings window's Test connection (check_mail): a password typed wrong is never
    stored, so an account of the same login that works keeps working; one typed right is
    kept, and a second account of the same login is told it shares it."""
    user = plain_dovecot.add_user()
    ConfigFile(toml).append("accounts", imap_entry(user, poll_every="5m"))
    (work,) = config.load(toml).accounts
    assert isinstance(work, ImapAccount)
    secrets.store_password(work.keyring_name, user.password)

    with pytest.raises(AccountProblem, match="wrong user name or password"):
        setup.check_mail(imap_entry(user, "other", poll_every="5m"), toml, "typo", "")
    assert secrets.get_password(work.keyring_name) == user.password
    setup.try_mail(work)                                  # still logs in

    checked = setup.check_mail(imap_entry(user, "other", poll_every="5m"), toml,
                               user.password, "")
    assert checked.notes.endswith(f"other logs in as {user.name}@127.0.0.1 like 'work': they"
                                  " share its password in the keyring")


@pytest.mark.usefixtures("real_keyring")
def test_keep_password_never_replaces_a_password_that_works_for_another_account() -> None:
    entry = "imap:pro@mail.example"
    secrets.store_password(entry, "works")
    note = setup.keep_password("second", entry, "also-works", ["work"], lambda p: True)
    assert secrets.get_password(entry) == "works"
    assert note.startswith("second logs in as pro@mail.example like 'work': they share the"
                           " password already in the keyring")
    note = setup.keep_password("second", entry, "new", ["work"], lambda p: p == "new")
    assert secrets.get_password(entry) == "new"
    assert "no longer logged in" in note
    assert setup.keep_password("second", entry, "untried", [], lambda p: False,
                               tried=False).startswith("the keyring already holds")
    assert secrets.get_password(entry) == "new"
    setup.forget_passwords([entry])
