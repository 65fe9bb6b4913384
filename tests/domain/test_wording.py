"""heard.domain.wording: counts with their noun, moments said near now, the command line's
messages as a window says them."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import heard
from heard.domain.wording import day_and_time, in_words, plural

BERLIN = ZoneInfo("Europe/Berlin")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=BERLIN)   # a Wednesday


@pytest.mark.parametrize(("n", "expected"), [(0, "0 contacts"), (1, "1 contact"),
                                             (2, "2 contacts")])
def test_a_count_has_its_noun_in_its_number(n: int, expected: str) -> None:
    assert plural(n, "contact") == expected


def test_an_irregular_plural_is_given() -> None:
    assert plural(1, "breach", "breaches") == "1 breach"
    assert plural(3, "breach", "breaches") == "3 breaches"


@pytest.mark.parametrize(("at", "expected"), [
    (NOW.replace(hour=12, minute=19), "today 12:19"),
    (NOW.replace(hour=0, minute=5), "today 00:05"),
    (NOW + timedelta(days=1), "tomorrow 10:00"),
    (NOW - timedelta(days=1), "yesterday 10:00"),
    (NOW + timedelta(days=5), "Mon 10:00"),
    (NOW - timedelta(days=6), "Thu 10:00"),
    (NOW + timedelta(days=7), "Wed 2 Dec 10:00"),
])
def test_a_moment_is_said_relative_to_now(at: datetime, expected: str) -> None:
    assert day_and_time(at, NOW, BERLIN) == expected


def test_today_is_the_day_in_the_zone_shown_not_in_the_moments_own() -> None:
    """23:30 in Berlin is already tomorrow on Lord Howe Island."""
    late = NOW.replace(hour=23, minute=30)
    assert day_and_time(late, NOW, BERLIN) == "today 23:30"
    assert day_and_time(late, NOW, LORD_HOWE) == "tomorrow 09:30"


def test_a_window_says_the_fix_in_words_where_the_command_line_names_a_command() -> None:
    told = in_words("account 'work' cannot send: give it an SMTP server (`heard account add"
                    " imap ... --smtp-host`, or smtp_host in heard.toml)")
    assert told == ("account 'work' cannot send: give it an SMTP server (the account's"
                    " settings in Settings > Accounts, or smtp_host in heard.toml)")
    assert in_words("check it with `heard account test`") == \
        "check it with Test connection in Settings > Accounts"
    assert in_words("no `[replies]` table") == "no [replies] table"
    assert in_words("nothing quoted") == "nothing quoted"


def test_no_command_the_engine_names_reaches_a_window_as_shell_syntax() -> None:
    # Every command in backticks in the sources of what a window may show, said in words.
    package = Path(heard.__file__).parent
    sources = [*package.glob("engine/*.py"), *package.glob("setup/*.py"),
               package / "errors.py", *package.glob("devices/*.py")]
    commands = {match for path in sources
                for match in re.findall(r"`heard[^`]*`", path.read_text(encoding="utf-8"))}
    assert len(commands) > 20
    for command in commands:
        said = in_words(command)
        assert "`" not in said and "--" not in said and not said.startswith("heard"), command


def test_the_screens_write_times_in_the_locale_their_face_chose() -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from heard.domain.locales import ENGLISH, Speech, use_on_screens
    from heard.domain.templates import format_time
    from heard.domain.wording import clock, day_and_time, stamp

    berlin = ZoneInfo("Europe/Berlin")
    now = datetime(2026, 11, 25, 9, 0, tzinfo=berlin)
    monday = datetime(2026, 11, 30, 12, 19, tzinfo=berlin)
    assert (day_and_time(monday, now, berlin), clock(monday, berlin), stamp(monday, berlin),
            format_time(monday, berlin, now)) == (
        "Mon 12:19", "12:19", "Mon 30 Nov 12:19", "Monday 12:19 pm")
    try:
        use_on_screens(Speech("de_DE"))
        assert (day_and_time(monday, now, berlin), clock(monday, berlin),
                stamp(monday, berlin), format_time(monday, berlin, now)) == (
            "Mo. 12:19", "12:19", "Mo., 30. Nov. 12:19", "Montag 12:19 Uhr")
        use_on_screens(Speech("en_US"))
        assert (day_and_time(monday, now, berlin), clock(monday, berlin)) == (
            "Mon 12:19 pm", "12:19 pm")
        # An explicit Speech (a text for a client) is never the screens'.
        assert day_and_time(monday, now, berlin, ENGLISH) == "Mon 12:19"
    finally:
        use_on_screens(ENGLISH)
