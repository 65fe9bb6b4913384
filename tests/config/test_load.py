"""Reading heard.toml (heard.config.load): defaults, errors that name the key and the fix,
accounts and calendars, opening hours and response standards."""

from __future__ import annotations

from datetime import date, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from heard import config
from heard.config import (
    ConfigError,
    ConfigFile,
    ImapAccount,
    Settings,
    load,
)
from heard.domain.clients import Channel
from heard.domain.clock import Counting, Span
from heard.domain.standards import DEFAULT_STANDARD, Standard
from heard.engine import Engine
from heard.system.paths import Profile
from tests.support.config import NINE_TO_FIVE, write

PLAIN_ACCOUNT = """\
[[accounts]]
name = "work"
kind = "imap"
host = "{host}"
security = "plain"
username = "alex"
"""


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


def test_a_bare_number_for_a_duration_names_the_key_and_the_unit(tmp_path: Path) -> None:
    (problem,) = problems_of(write(tmp_path, "[notifications]\nwarn_before_ack = 5\n"))
    assert problem.startswith("notifications.warn_before_ack: 5 has no unit")
    assert 'did you mean "5m"?' in problem


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


def test_an_unknown_region_is_refused_naming_the_key(engine: Engine) -> None:
    path = engine.profile.config
    text = path.read_text().replace('phone_region = "US"', 'phone_region = "Germany"')
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"user\.phone_region: write a two-letter"):
        load(path)
    path.write_text(text.replace('"Germany"', '"XX"'), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"user\.phone_region: 'XX' is not a country code"):
        load(path)


@pytest.mark.usefixtures("real_keyring")
def test_plain_imap_to_another_machine_is_refused_by_the_settings(tmp_path: Path) -> None:
    profile = Profile(tmp_path / "p")
    profile.create()
    profile.config.write_text(PLAIN_ACCOUNT.format(host="imap.morgan-law.example"))
    with pytest.raises(ConfigError) as caught:
        config.load(profile.config)
    (problem,) = caught.value.problems
    assert problem.startswith("accounts[0].security:")
    assert "only allowed to this machine" in problem
    with pytest.raises(ConfigError):
        Engine.open(profile)
    # An editing command refuses to write such an account, and leaves the file alone.
    other = Profile(tmp_path / "other")
    other.create()
    before = other.config.read_bytes() if other.config.exists() else None
    with pytest.raises(ConfigError) as caught:
        ConfigFile(other.config).append("accounts", {
            "name": "work", "kind": "imap", "host": "imap.morgan-law.example",
            "security": "plain", "username": "alex"})
    assert caught.value.problems[0].startswith("accounts[0].security:")
    assert (other.config.read_bytes() if other.config.exists() else None) == before
    # Loopback is allowed: that is how a local bridge is reached.
    profile.config.write_text(PLAIN_ACCOUNT.format(host="127.0.0.1"))
    (bridge,) = config.load(profile.config).accounts
    assert isinstance(bridge, ImapAccount) and bridge.security == "plain"


# the user's language and clock (issue 22, 4)


def test_the_locale_comes_from_the_file_else_from_the_system(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from heard.domain.locales import Speech

    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_TIME", raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    assert load(tmp_path / "none.toml").speech == Speech()   # C: English as before
    monkeypatch.setenv("LANG", "de_DE.UTF-8")
    assert load(tmp_path / "none.toml").speech == Speech("de_DE")
    monkeypatch.setenv("LC_TIME", "en_GB.UTF-8")
    assert load(tmp_path / "none.toml").speech == Speech("en_GB")
    path = write(tmp_path, '[locale]\nlanguage = "de-AT"\ntime_format = "12h"\n')
    assert load(path).speech == Speech("de_AT", hour24=False)


def test_a_wrong_locale_setting_names_its_key_and_the_fix(tmp_path: Path) -> None:
    path = write(tmp_path, '[locale]\nlanguage = "xx_YY"\ntime_format = "24"\n')
    problems = problems_of(path)
    assert any("locale.language" in p and "en_GB" in p for p in problems), problems
    assert any("locale.time_format" in p and '"24h", "12h" or "auto"' in p
               for p in problems), problems


def test_reading_the_settings_and_templates_leaves_tomlkit_unloaded(tmp_path: Path) -> None:
    """Start-up reads heard.toml and the templates with the standard library's parser; the
    comment-keeping writer (tomlkit) loads only to write (issue 25: time and RSS to the
    icon)."""
    import subprocess
    import sys

    ConfigFile(tmp_path / "heard.toml").set("user", "name", "Alex")
    (tmp_path / "templates.toml").write_text('mine = { body = "Hi {client.name}" }\n')
    script = ("import sys; from pathlib import Path; import heard.config as c;"
              " from heard.config.templates import load_templates;"
              " s = c.load(Path(sys.argv[1])); t = load_templates(Path(sys.argv[2]));"
              " print(s.user.name, 'mine' in t, 'tomlkit' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "heard.toml"),
                           str(tmp_path / "templates.toml")],
                          capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["Alex", "True", "False"]
