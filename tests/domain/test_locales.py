"""Times as their reader says them, with fixed instants: several locales, zones across
their DST changes, a client abroad."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from heard.domain.locales import (
    C,
    LanguageError,
    Speech,
    language_of,
    locale_from_environment,
    parse_language,
    speech_for,
)

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
PARIS = ZoneInfo("Europe/Paris")
US, GB, DE = Speech("en_US"), Speech("en_GB"), Speech("de_DE")


@pytest.mark.parametrize(("written", "kept"), [
    ("de", "de"), ("de-DE", "de_DE"), ("de_DE.UTF-8", "de_DE"), ("de_DE@euro", "de_DE"),
    ("C", C), ("C.UTF-8", C), ("POSIX", C), ("", C), ("en_GB", "en_GB"),
])
def test_a_locale_is_kept_in_one_form(written: str, kept: str) -> None:
    assert parse_language(written) == kept


def test_an_unknown_language_is_refused_with_an_example() -> None:
    with pytest.raises(LanguageError, match=r"not a language Heard knows.*en_GB"):
        parse_language("klingon_XX")


def test_the_environment_is_read_as_the_c_library_reads_lc_time() -> None:
    assert locale_from_environment({"LANG": "de_DE.UTF-8"}) == "de_DE"
    assert locale_from_environment({"LANG": "de_DE.UTF-8", "LC_TIME": "en_GB.UTF-8"}) == \
        "en_GB"
    assert locale_from_environment({"LC_ALL": "C", "LC_TIME": "de_DE"}) == C
    assert locale_from_environment({}) == C
    assert locale_from_environment({"LANG": "xx_YY"}) == C
    assert language_of("de_AT") == "de" and language_of(C) == "en"


def test_the_clock_follows_the_locale_or_the_setting() -> None:
    at = datetime(2026, 11, 25, 15, 30, tzinfo=BERLIN)
    assert Speech().clock(at, BERLIN) == "3:30 pm"     # C: Heard's English as always
    assert US.clock(at, BERLIN) == "3:30 pm"
    assert GB.clock(at, BERLIN) == "15:30"
    assert DE.clock(at, BERLIN) == "15:30 Uhr"
    assert speech_for("en_US", "24h").clock(at, BERLIN) == "15:30"
    assert speech_for("en_GB", "12h").clock(at, BERLIN) == "3:30 pm"
    assert speech_for("de_DE", "12h").clock(at, BERLIN).startswith("3:30")
    assert speech_for("de_DE", "auto") == DE


def test_a_day_is_named_near_now_and_dated_beyond_the_week() -> None:
    now = datetime(2026, 11, 25, 9, 0, tzinfo=BERLIN)   # a Wednesday
    tomorrow = datetime(2026, 11, 26, 9, 0, tzinfo=BERLIN)
    saturday = datetime(2026, 11, 28, 9, 0, tzinfo=BERLIN)
    later = datetime(2026, 12, 14, 9, 0, tzinfo=BERLIN)
    assert [US.when(t, BERLIN, now) for t in (tomorrow, saturday, later)] == \
        ["tomorrow 9:00 am", "Saturday 9:00 am", "Dec 14 9:00 am"]
    assert [Speech().when(t, BERLIN, now) for t in (tomorrow, saturday, later)] == \
        ["tomorrow 9:00 am", "Saturday 9:00 am", "Dec 14 9:00 am"]
    assert [GB.when(t, BERLIN, now) for t in (tomorrow, saturday, later)] == \
        ["tomorrow 09:00", "Saturday 09:00", "14 Dec 09:00"]
    assert [DE.when(t, BERLIN, now) for t in (tomorrow, saturday, later)] == \
        ["morgen 09:00 Uhr", "Samstag 09:00 Uhr", "14. Dez. 09:00 Uhr"]


@pytest.mark.parametrize(("speech", "said"), [
    (US, ["at 2:00 pm", "tomorrow morning", "on Monday afternoon", "on Dec 14"]),
    (GB, ["at 14:00", "tomorrow morning", "on Monday afternoon", "on 14 Dec"]),
    (DE, ["um 14:00 Uhr", "morgen Vormittag", "am Montagnachmittag", "am 14. Dez."]),
])
def test_back_is_said_in_words_a_client_cannot_misread(speech: Speech, said: list[str]
                                                       ) -> None:
    now = datetime(2026, 11, 25, 9, 0, tzinfo=BERLIN)
    backs = [datetime(2026, 11, 25, 14, 0), datetime(2026, 11, 26, 0, 0),
             datetime(2026, 11, 30, 13, 0), datetime(2026, 12, 14, 9, 0)]
    assert [speech.back(b.replace(tzinfo=BERLIN), BERLIN, now) for b in backs] == said


def test_a_promise_abroad_is_written_in_the_clients_zone_with_mine_beside_it() -> None:
    now = datetime(2026, 11, 25, 10, 0, tzinfo=NEW_YORK)        # 16:00 in Berlin
    promised = datetime(2026, 11, 25, 15, 30, tzinfo=NEW_YORK)  # 21:30 in Berlin
    assert US.both(promised, now, BERLIN, NEW_YORK) == "9:30 pm your time (3:30 pm mine)"
    assert DE.both(promised, now, BERLIN, NEW_YORK) == \
        "21:30 Uhr Ihrer Zeit (15:30 Uhr bei mir)"
    assert GB.both(promised, now, BERLIN, NEW_YORK) == "21:30 your time (15:30 mine)"


def test_the_same_zone_or_the_same_offset_is_written_once() -> None:
    now = datetime(2026, 11, 25, 10, 0, tzinfo=BERLIN)
    promised = datetime(2026, 11, 25, 15, 30, tzinfo=BERLIN)
    assert US.both(promised, now, BERLIN, BERLIN) == "3:30 pm"
    assert US.both(promised, now, PARIS, BERLIN) == "3:30 pm"   # another name, same time
    assert DE.both(promised, now, PARIS, BERLIN) == "15:30 Uhr"


def test_when_the_zones_disagree_on_the_day_both_name_it_by_its_weekday() -> None:
    # 20:30 on Wednesday in New York is 02:30 on Thursday in Berlin: "today" for the
    # user, "tomorrow" for the client; each says its weekday instead.
    now = datetime(2026, 11, 25, 10, 0, tzinfo=NEW_YORK)
    promised = datetime(2026, 11, 25, 20, 30, tzinfo=NEW_YORK)
    assert US.both(promised, now, BERLIN, NEW_YORK) == \
        "Thursday 2:30 am your time (Wednesday 8:30 pm mine)"
    assert DE.both(promised, now, BERLIN, NEW_YORK) == \
        "Donnerstag 02:30 Uhr Ihrer Zeit (Mittwoch 20:30 Uhr bei mir)"
    # Tomorrow in both zones stays "tomorrow".
    promised = datetime(2026, 11, 26, 11, 0, tzinfo=NEW_YORK)    # 17:00 in Berlin
    assert US.both(promised, now, BERLIN, NEW_YORK) == \
        "tomorrow 5:00 pm your time (tomorrow 11:00 am mine)"


def test_late_march_the_gap_between_new_york_and_berlin_is_five_hours_then_six() -> None:
    # The US moved its clocks on 8 March 2026, Europe moves on 29 March.
    now = datetime(2026, 3, 27, 9, 0, tzinfo=NEW_YORK)           # a Friday
    friday = datetime(2026, 3, 27, 15, 0, tzinfo=NEW_YORK)
    monday = datetime(2026, 3, 30, 15, 0, tzinfo=NEW_YORK)
    assert US.both(friday, now, BERLIN, NEW_YORK) == "8:00 pm your time (3:00 pm mine)"
    assert US.both(monday, now, BERLIN, NEW_YORK) == \
        "Monday 9:00 pm your time (Monday 3:00 pm mine)"


def test_late_october_europe_moves_its_clocks_a_week_before_new_york() -> None:
    # Europe leaves summer time on 25 October 2026, the US on 1 November.
    now = datetime(2026, 10, 23, 9, 0, tzinfo=BERLIN)             # a Friday, 03:00 in NY
    before = datetime(2026, 10, 23, 16, 0, tzinfo=BERLIN)
    after = datetime(2026, 10, 26, 16, 0, tzinfo=BERLIN)
    assert DE.both(before, now, NEW_YORK, BERLIN) == \
        "10:00 Uhr Ihrer Zeit (16:00 Uhr bei mir)"
    assert DE.both(after, now, NEW_YORK, BERLIN) == \
        "Montag 11:00 Uhr Ihrer Zeit (Montag 16:00 Uhr bei mir)"
    # On the night itself 02:30 happens twice in Berlin; the instant decides which.
    night = datetime(2026, 10, 25, 0, 30, tzinfo=ZoneInfo("UTC"))   # 02:30 CEST
    assert GB.clock(night, BERLIN) == "02:30"
    assert GB.clock(night.replace(hour=1), BERLIN) == "02:30"       # 02:30 CET


def test_screens_keep_their_english_words_and_take_the_locales_names_and_clock() -> None:
    now = datetime(2026, 11, 25, 9, 0, tzinfo=BERLIN)
    today = datetime(2026, 11, 25, 12, 19, tzinfo=BERLIN)
    monday = datetime(2026, 11, 30, 12, 19, tzinfo=BERLIN)
    far = datetime(2026, 12, 14, 9, 0, tzinfo=BERLIN)
    assert [Speech().moment(t, now, BERLIN) for t in (today, monday, far)] == \
        ["today 12:19", "Mon 12:19", "Mon 14 Dec 09:00"]       # C: as it always was
    assert [US.moment(t, now, BERLIN) for t in (today, monday, far)] == \
        ["today 12:19 pm", "Mon 12:19 pm", "Mon, Dec 14 9:00 am"]
    assert [DE.moment(t, now, BERLIN) for t in (today, monday, far)] == \
        ["today 12:19", "Mo. 12:19", "Mo., 14. Dez. 09:00"]
    assert Speech().time_of_day(today, BERLIN) == "12:19"
    assert US.time_of_day(today, BERLIN) == "12:19 pm"
    assert DE.time_of_day(today, BERLIN) == "12:19"


def test_a_call_is_named_by_its_day_in_the_replys_language() -> None:
    at = datetime(2026, 11, 25, 9, 0, tzinfo=BERLIN)
    assert Speech().call_day(at, BERLIN) == "Your call on Wed 25 Nov"
    assert US.call_day(at, BERLIN) == "Your call on Wed 25 Nov"
    assert DE.call_day(at, BERLIN) == "Ihr Anruf vom Mi., 25. Nov."


def test_a_texts_times_are_in_its_language_with_the_readers_clock() -> None:
    from heard.domain.locales import reader_speech

    user = Speech()                                          # C: English as always
    assert reader_speech("en", C, user) is user
    assert reader_speech("de", "de_DE", user) == Speech("de_DE", True)
    assert reader_speech("en", "en_GB", user) == Speech("en_GB", True)
    # An English text to a German reader: English words, the German 24-hour clock.
    assert reader_speech("en", "de", user) == Speech("en", True)
    assert reader_speech("en", "de", user).when(
        datetime(2026, 11, 26, 9, 0, tzinfo=BERLIN), BERLIN,
        datetime(2026, 11, 25, 9, 0, tzinfo=BERLIN)) == "tomorrow 09:00"
    # The user's own setting rules their own locale.
    twelve = Speech("de_DE", False)
    assert reader_speech("de", "de_DE", twelve) is twelve
