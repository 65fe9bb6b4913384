"""The settings file: defaults, errors that name the key and the fix, opening hours,
response standards, and edits that keep what the user wrote."""

from __future__ import annotations

from datetime import date, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from heard import config
from heard.config import (
    ConfigError,
    ConfigFile,
    Settings,
    format_duration,
    load,
    parse_duration,
    parse_spans,
)
from heard.domain.clients import Channel
from heard.domain.clock import Counting, Span
from heard.domain.standards import DEFAULT_STANDARD, Standard

NINE_TO_FIVE = (Span(time(9), time(17)),)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "heard.toml"
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(path)
    assert info.value.path == path
    return info.value.problems


# loading


def test_a_missing_file_means_all_defaults(tmp_path: Path) -> None:
    settings = load(tmp_path / "nothing-here.toml")
    assert settings == Settings()
    assert settings.opening.week == (NINE_TO_FIVE,) * 5 + ((), ())
    assert settings.standards.for_contact("vip", Channel.CALL) == DEFAULT_STANDARD
    assert settings.replies.margin == timedelta(minutes=30)
    assert settings.replies.template == "acknowledge"
    assert settings.accounts == ()
    assert settings.calendars == ()
    assert settings.user.phone_region == "US"


def test_a_file_with_only_some_keys_keeps_the_other_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, '[user]\nname = "Alex Morgan"\ntimezone = "Asia/Tokyo"\n'
                           'addresses = ["Alex@Morgan-Law.example"]\n')
    settings = load(path)
    assert settings.user.name == "Alex Morgan"
    assert settings.user.addresses == ("alex@morgan-law.example",)
    assert settings.zone == ZoneInfo("Asia/Tokyo")
    assert settings.opening.week == (NINE_TO_FIVE,) * 5 + ((), ())
    assert settings.standards.default == DEFAULT_STANDARD


def test_every_problem_is_reported_at_once_each_naming_its_key(tmp_path: Path) -> None:
    path = write(tmp_path, """
[user]
timezone = "Europe/Berln"

[replies]
margin = "soon"

[standards.default]
ack_withn = "10m"
""")
    problems = problems_of(path)
    assert len(problems) == 3, problems
    by_key = {p.split(":", 1)[0]: p for p in problems}
    assert set(by_key) == {"user.timezone", "replies.margin", "standards.default.ack_withn"}
    assert "Europe/Berln" in by_key["user.timezone"]
    assert "'soon' is not a duration" in by_key["replies.margin"]
    assert '"10m"' in by_key["replies.margin"]   # says how to write it
    assert "unknown setting" in by_key["standards.default.ack_withn"]


def test_the_error_message_lists_every_problem_under_the_file_name(tmp_path: Path) -> None:
    path = write(tmp_path, '[replies]\nmargin = "soon"\n[notifications]\npaused = "yes"\n')
    with pytest.raises(ConfigError) as info:
        load(path)
    message = str(info.value)
    assert message.startswith(f"{path}:")
    assert "  - replies.margin:" in message
    assert "  - notifications.paused: must be true or false" in message


@pytest.mark.parametrize(("text", "key", "suggestion"), [
    ('[standards.default]\nack_withn = "10m"\n', "standards.default.ack_withn", "ack_within"),
    ('[user]\ntimezon = "Europe/Berlin"\n', "user.timezon", "timezone"),
    ('[hours]\nmonady = "09:00-17:00"\n', "hours.monady", "monday"),
    ('[notification]\npaused = true\n', "notification", "notifications"),
    ('[standards.vip.cal]\nack_within = "5m"\n', "standards.vip.cal", "call"),
])
def test_an_unknown_key_with_a_typo_gets_a_did_you_mean(
        tmp_path: Path, text: str, key: str, suggestion: str) -> None:
    (problem,) = problems_of(write(tmp_path, text))
    assert problem == f'{key}: unknown setting (did you mean "{suggestion}"?)'


def test_an_unknown_key_without_a_close_match_gets_no_suggestion(tmp_path: Path) -> None:
    (problem,) = problems_of(write(tmp_path, "[user]\nfavourite_colour = 'blue'\n"))
    assert problem == "user.favourite_colour: unknown setting"


def test_a_file_that_is_not_toml_is_reported_as_such(tmp_path: Path) -> None:
    path = write(tmp_path, '[user\nname = "Alex"\n')
    (problem,) = problems_of(path)
    assert problem.startswith("not valid TOML")


def test_an_account_needs_a_known_kind_and_an_inbox(tmp_path: Path) -> None:
    path = write(tmp_path, '[[accounts]]\nname = "a"\nkind = "pop3"\n\n'
                           '[[accounts]]\nname = "b"\n')
    problems = problems_of(path)
    assert any(p.startswith("accounts[0].kind:") and '"imap"' in p for p in problems)
    assert any(p.startswith("accounts[1].inbox:") for p in problems)


def test_an_imap_account_is_read_with_safe_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, '[[accounts]]\nname = "work"\nkind = "imap"\n'
                           'host = "imap.example.com"\nusername = "alex"\n')
    account = config.load(path).accounts[0]
    assert isinstance(account, config.ImapAccount)
    assert (account.port, account.security, account.folders) == (993, "tls", ("INBOX",))
    assert account.sent_folder == "" and account.ca_file is None
    assert account.keyring_name == "imap:alex@imap.example.com"


def test_imap_problems_name_their_keys(tmp_path: Path) -> None:
    path = write(tmp_path, '[[accounts]]\nkind = "imap"\nhost = "mail.example.com"\n'
                           'security = "plain"\ninbox = "/x"\n\n'
                           '[[accounts]]\nkind = "imap"\nport = 99999\n\n'
                           '[[accounts]]\nname = "m"\ninbox = "/x"\nhost = "h"\n\n'
                           '[[accounts]]\nname = "m"\ninbox = "/y"\n')
    problems = problems_of(path)
    assert any(p.startswith("accounts[0].security:") and "localhost" in p for p in problems)
    assert any(p.startswith("accounts[0].inbox:") and "not a setting" in p for p in problems)
    assert any(p.startswith("accounts[1].port:") for p in problems)
    assert any(p.startswith("accounts[1].host:") for p in problems)
    assert any(p.startswith("accounts[1].username:") for p in problems)
    assert any(p.startswith("accounts[2].host:") and "not a setting" in p for p in problems)
    assert any(p.startswith("accounts[3].name:") and "twice" in p for p in problems)


def test_plain_imap_is_allowed_to_this_machine(tmp_path: Path) -> None:
    path = write(tmp_path, '[[accounts]]\nkind = "imap"\nhost = "127.0.0.1"\nport = 1143\n'
                           'username = "u"\nsecurity = "plain"\n')
    account = config.load(path).accounts[0]
    assert isinstance(account, config.ImapAccount) and account.port == 1143


def test_accounts_and_calendars_are_read_with_expanded_paths(tmp_path: Path) -> None:
    path = write(tmp_path, f"""
[[accounts]]
inbox = "~/Mail/INBOX"
sent = "{tmp_path}/Sent"

[[calendars]]
name = "work"
path = "{tmp_path}/cal.ics"
""")
    settings = load(path)
    (account,) = settings.accounts
    assert account.name == "maildir1"
    assert account.inbox == Path("~/Mail/INBOX").expanduser()
    assert account.sent == tmp_path / "Sent"
    assert account.outbox is None
    (calendar,) = settings.calendars
    assert (calendar.name, calendar.path) == ("work", tmp_path / "cal.ics")


# opening hours


def test_a_day_can_have_several_opening_spans() -> None:
    assert parse_spans("09:00-12:00, 13:00-17:00") == (
        Span(time(9), time(12)), Span(time(13), time(17)))
    assert parse_spans("13:00-17:00,9:00-12:00") == (
        Span(time(9), time(12)), Span(time(13), time(17)))


def test_an_empty_day_is_closed() -> None:
    assert parse_spans("") == ()


def test_a_day_can_run_until_midnight_written_as_24_00() -> None:
    (span,) = parse_spans("18:00-24:00")
    assert span.start == time(18)
    assert span.end > time(23, 59, 59)


@pytest.mark.parametrize(("value", "complaint"), [
    ("09:00-12:00, 11:00-13:00", "overlapping"),
    ("17:00-09:00", "ends before it starts"),
    ("9 to 5", "is not a time range"),
    ("09:00-25:00", "09:00-25:00"),
])
def test_bad_opening_hours_are_refused(value: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        parse_spans(value)


def test_opening_hours_in_the_file_are_read_per_day_and_errors_name_the_day(
        tmp_path: Path) -> None:
    settings = load(write(tmp_path, '[hours]\nmonday = "09:00-12:00, 13:00-17:00"\n'
                                    'friday = ""\nsaturday = "10:00-24:00"\n'
                                    'holidays = ["2026-12-25", 2026-12-26]\n'))
    assert settings.opening.week[0] == (Span(time(9), time(12)), Span(time(13), time(17)))
    assert settings.opening.week[4] == ()
    assert settings.opening.week[5][0].start == time(10)
    assert settings.opening.holidays == {date(2026, 12, 25), date(2026, 12, 26)}

    (problem,) = problems_of(write(tmp_path, '[hours]\ntuesday = "09:00-12:00, 11:00-13:00"\n'))
    assert problem.startswith("hours.tuesday:")
    assert "overlapping" in problem


def test_a_week_without_any_opening_hours_is_an_error(tmp_path: Path) -> None:
    days = ("monday", "tuesday", "wednesday", "thursday", "friday")
    (problem,) = problems_of(write(tmp_path, "[hours]\n" + "".join(f'{d} = ""\n' for d in days)))
    assert problem.startswith("hours: no day has opening hours")


# response standards


STANDARDS = """
[standards.default]
ack_within = "30m"
answer_within = "8h"

[standards.vip]
ack_within = "10m"
answer_within = "2h"

[standards.vip.call]
ack_within = "5m"

[standards.bulk]
answer_within = "2d"
counting = "clock"
"""


def test_standards_are_looked_up_by_tier_and_channel(tmp_path: Path) -> None:
    standards = load(write(tmp_path, STANDARDS)).standards
    m = timedelta(minutes=1)
    h = timedelta(hours=1)

    # tier + channel wins, and inherits what it does not set from its tier
    assert standards.for_contact("vip", Channel.CALL) == Standard(5 * m, 2 * h)
    # tier-wide for the other channel
    assert standards.for_contact("vip", Channel.EMAIL) == Standard(10 * m, 2 * h)
    # a tier inherits unset keys from the default
    assert standards.for_contact("bulk", Channel.EMAIL) == Standard(30 * m, 48 * h,
                                                                    Counting.CLOCK)
    # an unknown tier gets the default
    assert standards.for_contact("standard", Channel.CALL) == Standard(30 * m, 8 * h)


def test_standards_default_channel_override_is_not_silently_ignored(tmp_path: Path) -> None:
    """[standards.default.call] is accepted by the schema; it must either apply to calls
    of clients whose tier has no standard of its own, or be refused with the key named."""
    path = write(tmp_path, '[standards.default.call]\nack_within = "5m"\n')
    try:
        standards = load(path).standards
    except ConfigError as exc:
        assert any(p.startswith("standards.default.call") for p in exc.problems)
        return
    assert standards.for_contact("standard", Channel.CALL).ack_within == timedelta(minutes=5)


def test_a_standard_that_answers_before_it_acknowledges_is_an_error(tmp_path: Path) -> None:
    (problem,) = problems_of(write(tmp_path, '[standards.vip]\nack_within = "4h"\n'
                                             'answer_within = "1h"\n'))
    assert problem.startswith("standards.vip:")
    assert "before the acknowledgement" in problem


# durations


@pytest.mark.parametrize(("text", "expected"), [
    ("10m", timedelta(minutes=10)),
    ("10min", timedelta(minutes=10)),
    ("4h", timedelta(hours=4)),
    ("1d 2h", timedelta(days=1, hours=2)),
    ("1d2h30m", timedelta(days=1, hours=2, minutes=30)),
    (90, timedelta(minutes=90)),
])
def test_durations_are_parsed(text: str | int, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("bad", ["", "soon", "10", "0m", "-5m", "1.5h", 0, -3, True, 2.5])
def test_bad_durations_are_refused(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(bad)


def test_durations_are_formatted_the_way_they_are_written() -> None:
    assert format_duration(timedelta(days=1, hours=2)) == "1d 2h"
    assert format_duration(timedelta(minutes=90)) == "1h 30m"
    assert format_duration(timedelta(minutes=10)) == "10m"


@given(st.integers(min_value=1, max_value=60 * 24 * 400))
def test_a_formatted_duration_parses_back_to_itself(minutes: int) -> None:
    duration = timedelta(minutes=minutes)
    assert parse_duration(format_duration(duration)) == duration


# editing the file


USER_FILE = """\
# Alex's settings: do not lose this comment
[user]
name = "Alex Morgan"  # as clients know me

[replies]
margin = "45m"
"""


def test_set_keeps_the_users_comments_and_adds_the_value(tmp_path: Path) -> None:
    path = write(tmp_path, USER_FILE)
    ConfigFile(path).set("user", "timezone", "Europe/Berlin")
    ConfigFile(path).set("standards.vip", "ack_within", "10m")
    text = path.read_text(encoding="utf-8")
    assert "# Alex's settings: do not lose this comment" in text
    assert 'name = "Alex Morgan"  # as clients know me' in text
    settings = load(path)
    assert settings.user.timezone == "Europe/Berlin"
    assert settings.replies.margin == timedelta(minutes=45)
    assert settings.standards.for_contact("vip", Channel.EMAIL).ack_within == timedelta(
        minutes=10)


def test_append_and_remove_keep_the_users_comments(tmp_path: Path) -> None:
    path = write(tmp_path, USER_FILE)
    file = ConfigFile(path)
    file.append("accounts", {"name": "work", "kind": "maildir", "inbox": str(tmp_path / "in")})
    file.append("accounts", {"name": "home", "kind": "maildir", "inbox": str(tmp_path / "h")})
    assert [a.name for a in load(path).accounts] == ["work", "home"]

    assert file.remove("accounts", "work") is True
    assert file.remove("accounts", "work") is False
    assert file.remove("calendars", "work") is False
    assert [a.name for a in load(path).accounts] == ["home"]
    text = path.read_text(encoding="utf-8")
    assert "# Alex's settings: do not lose this comment" in text
    assert 'name = "Alex Morgan"  # as clients know me' in text


def test_set_on_a_missing_file_writes_a_commented_file_with_every_default(
        tmp_path: Path) -> None:
    path = tmp_path / "profile" / "heard.toml"
    ConfigFile(path).set("user", "name", "Alex Morgan")
    text = path.read_text(encoding="utf-8")
    assert "# your time zone" in text
    assert "[standards.default]" in text
    settings = load(path)
    assert settings.user.name == "Alex Morgan"
    assert settings.opening.week == (NINE_TO_FIVE,) * 5 + ((), ())


def test_an_invalid_value_is_refused_and_the_file_stays_unchanged(tmp_path: Path) -> None:
    path = write(tmp_path, USER_FILE)
    before = path.read_bytes()
    file = ConfigFile(path)
    with pytest.raises(ConfigError) as info:
        file.set("standards.default", "ack_within", "soon")
    assert any(p.startswith("standards.default.ack_within") for p in info.value.problems)
    with pytest.raises(ConfigError):
        file.set("user", "timezone", "Nowhere/Special")
    with pytest.raises(ConfigError):
        file.append("accounts", {"name": "broken", "kind": "imap"})
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["heard.toml"]


def test_an_invalid_value_on_a_missing_file_creates_no_file(tmp_path: Path) -> None:
    path = tmp_path / "heard.toml"
    with pytest.raises(ConfigError):
        ConfigFile(path).set("replies", "margin", "whenever")
    assert not path.exists()


def test_percentile_goals_are_read_as_shares_and_inherited(tmp_path: Path) -> None:
    path = write(tmp_path, '[standards.default]\nack_goal = "90%"\n\n'
                           '[standards.vip]\nack_within = "10m"\nack_goal = "95%"\n\n'
                           '[standards.vip.call]\nanswer_goal = "99.5%"\n')
    standards = config.load(path).standards
    assert standards.default.ack_goal == 0.9 and standards.default.answer_goal == 1.0
    vip_call = standards.for_contact("vip", Channel.CALL)
    assert (vip_call.ack_goal, vip_call.answer_goal) == (0.95, 0.995)
    bad = write(tmp_path, '[standards.default]\nack_goal = "150%"\n')
    assert any(p.startswith("standards.default.ack_goal:") for p in problems_of(bad))
