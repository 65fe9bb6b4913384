"""Times as their reader says them: the user's locale (or a client's language) decides the
clock (15:30 or 3:30 pm), the weekday and month names and the order of a date, and a
promise to a client abroad is written in their zone with the user's beside it ("by 3:30 pm
your time (9:30 pm mine)").

The formats come from the Unicode CLDR through Babel, never from tables of our own; only
the few words of prose around them ("tomorrow", "your time") are Heard's, for the languages
its templates are shipped in. Babel reads its locale data files lazily, on the first use of
a locale: that read is of the library's own packaged data, like a module import, and the
domain stays free of I/O of its own (no file, socket or database of the user's).

"C" (and "POSIX", and no locale at all) is Heard's English as it always wrote it: 12-hour
times in replies ("tomorrow 9:00 am"), the 24-hour "today 12:19" on screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from babel import Locale

C = "C"
CLOCKS = ("auto", "12h", "24h")


class LanguageError(ValueError):
    """A language or locale name that neither Heard nor the CLDR knows."""


def parse_language(text: str) -> str:
    """A locale or language as the user or the environment writes it ("de", "de-DE",
    "de_DE.UTF-8", "de_DE@euro", "C") in the one form kept: "de", "de_DE" or "C"."""
    name = text.strip().split(".", 1)[0].split("@", 1)[0].replace("-", "_")
    if name in ("", C, "POSIX"):
        return C
    from babel import Locale, UnknownLocaleError  # ~40 ms: loaded when a locale is used
    try:
        return str(Locale.parse(name))
    except (UnknownLocaleError, ValueError) as exc:
        raise LanguageError(f"{text!r} is not a language Heard knows; write one like \"de\","
                            " \"en_GB\" or \"fr_CH\"") from exc


def locale_from_environment(environ: dict[str, str] | None) -> str:
    """The user's locale for times from their environment, the way the C library finds
    LC_TIME: LC_ALL, then LC_TIME, then LANG; "C" when none is set or it is unknown."""
    for var in ("LC_ALL", "LC_TIME", "LANG"):
        value = (environ or {}).get(var, "")
        if value:
            try:
                return parse_language(value)
            except LanguageError:
                return C
    return C


def language_of(locale: str) -> str:
    """The language alone: "de" for "de_AT", "en" for "C"."""
    return "en" if locale == C else _locale(locale).language


@lru_cache(maxsize=64)
def _locale(name: str) -> Locale:
    from babel import Locale

    return Locale.parse("en_US" if name == C else name)


def _is_24h(locale: str) -> bool:
    return locale != C and "h" not in _locale(locale).time_formats["short"].pattern \
        and "K" not in _locale(locale).time_formats["short"].pattern


@dataclass(frozen=True)
class _Words:
    """The prose around a time in one language (the times themselves are Babel's)."""

    today: str
    tomorrow: str
    yesterday: str
    morning: str
    afternoon: str
    at: str             # "{time}" today
    part_tomorrow: str  # "{part}" tomorrow
    part_on: str        # "{day}" and "{part}" within the week
    on_date: str        # "{date}" farther away
    both: str           # "{theirs}" (the reader's zone) and "{mine}"
    hours: str          # after a 24-hour time ("15:30 Uhr"); "" where none is said
    now: str            # a meeting that is over
    soon: str           # back, when Heard cannot tell when
    message: str        # {your_message}
    messages: str
    it: str             # {it}
    them: str
    call: str           # "{day}" of the call a reply answers


_WORDS = {
    "en": _Words("today", "tomorrow", "yesterday", "morning", "afternoon", "at {time}",
                 "tomorrow {part}", "on {day} {part}", "on {date}",
                 "{theirs} your time ({mine} mine)", "", "now", "soon", "your message",
                 "your messages", "it", "them", "Your call on {day}"),
    "de": _Words("heute", "morgen", "gestern", "Vormittag", "Nachmittag", "um {time}",
                 "morgen {part}", "am {day}{part_lower}", "am {date}",
                 "{theirs} Ihrer Zeit ({mine} bei mir)", " Uhr", "jetzt", "bald",
                 "Ihre Nachricht", "Ihre Nachrichten", "sie", "sie", "Ihr Anruf vom {day}"),
}


@dataclass(frozen=True)
class Speech:
    """How times are written for one reader: the locale whose names and formats are used
    (a CLDR id such as "de_DE", or C: Heard's English as before), and the clock, 24-hour
    or 12-hour (None: the locale's custom; C writes 12-hour times in replies)."""

    locale: str = C
    hour24: bool | None = None

    @property
    def language(self) -> str:
        return language_of(self.locale)

    @property
    def words(self) -> _Words:
        return _WORDS.get(self.language, _WORDS["en"])

    @property
    def clock24(self) -> bool:
        return _is_24h(self.locale) if self.hour24 is None else self.hour24

    # -- the pieces

    def clock(self, at: datetime, zone: tzinfo) -> str:
        """The time of day: "3:30 pm" (Heard's English: lower case, a plain space),
        "15:30 Uhr", "15:30"."""
        local = at.astimezone(zone)
        if not self.clock24 and self.language == "en":
            hour = local.hour % 12 or 12   # the form every English reply of Heard's used
            return f"{hour}:{local.minute:02d} {'am' if local.hour < 12 else 'pm'}"
        from babel.dates import format_skeleton, format_time

        locale = _locale(self.locale)
        native = locale.time_formats["short"].pattern
        if self.clock24:
            text = format_time(local, native if _is_24h(self.locale) else "HH:mm",
                               locale=locale)
            return text + self.words.hours
        if _is_24h(self.locale):
            return format_skeleton("hm", local, locale=locale)
        return format_time(local, native, locale=locale)

    def weekday(self, day: date, width: Literal["wide", "abbreviated"] = "wide") -> str:
        from babel.dates import get_day_names

        return str(get_day_names(width, locale=_locale(self.locale))[day.weekday()])

    def on_date(self, day: date, skeleton: str = "MMMd") -> str:
        """A date without its year, in the locale's order: "Dec 14", "14 Dec", "14. Dez."."""
        from babel.dates import format_skeleton

        return format_skeleton(skeleton, day, locale=_locale(self.locale))

    def _day(self, day: date, days: int, relative: bool = True) -> str:
        """A day as a reply names it: "" today, "tomorrow", a weekday within the week,
        else the date; weekdays only when `relative` is False (two zones disagree)."""
        if relative and days == 0:
            return ""
        if relative and days == 1:
            return self.words.tomorrow
        if 0 <= days < 7:
            return self.weekday(day)
        return self.on_date(day)

    # -- what replies say

    def when(self, at: datetime, zone: tzinfo, now: datetime | None = None) -> str:
        """"3:00 pm", or "tomorrow 9:00 am" / "Monday 9:00 am" / "Dec 14 9:00 am" when not
        today, in `zone`; German "morgen 09:00 Uhr"."""
        text = self.clock(at, zone)
        if now is None:
            return text
        local = at.astimezone(zone)
        days = (local.date() - now.astimezone(zone).date()).days
        day = self._day(local.date(), days)
        return f"{day} {text}" if day else text

    def both(self, at: datetime, now: datetime, theirs: tzinfo, mine: tzinfo) -> str:
        """A time promised to someone in another zone: theirs first, the user's beside it
        ("3:30 pm your time (9:30 pm mine)"); as `when` alone where the two zones agree at
        that instant. "Tomorrow" in one zone may be today in the other: when the two would
        name the day differently, both name it by its weekday (or date)."""
        if at.astimezone(theirs).utcoffset() == at.astimezone(mine).utcoffset() and \
                now.astimezone(theirs).utcoffset() == now.astimezone(mine).utcoffset():
            return self.when(at, mine, now)
        days = [(at.astimezone(z).date() - now.astimezone(z).date()).days
                for z in (theirs, mine)]
        relative = days[0] == days[1]
        parts = []
        for zone, n in zip((theirs, mine), days, strict=True):
            day = self._day(at.astimezone(zone).date(), n, relative)
            clock = self.clock(at, zone)
            parts.append(f"{day} {clock}" if day else clock)
        return self.words.both.format(theirs=parts[0], mine=parts[1])

    def back(self, at: datetime, zone: tzinfo, now: datetime) -> str:
        """When the user is back, in words a client cannot misread: "at 2:00 pm" today,
        "tomorrow morning", "on Monday afternoon", "on Dec 14" (never "12:00 am"); German
        "um 14:00 Uhr", "morgen Vormittag", "am Montagnachmittag", "am 14. Dez."."""
        local = at.astimezone(zone)
        days = (local.date() - now.astimezone(zone).date()).days
        words = self.words
        if days <= 0:
            return words.at.format(time=self.clock(at, zone))
        part = words.morning if local.hour < 12 else words.afternoon
        if days == 1:
            return words.part_tomorrow.format(part=part)
        if days < 7:
            return words.part_on.format(day=self.weekday(local.date()), part=part,
                                        part_lower=part.lower())
        return words.on_date.format(date=self.on_date(local.date()))

    def call_day(self, at: datetime, zone: tzinfo) -> str:
        """What a reply calls a client's call: "Your call on Wed 25 Nov"."""
        local = at.astimezone(zone)
        # English as every reply of Heard's said it; other languages in their own order
        day = f"{local:%a %d %b}" if self.language == "en" else self.on_date(local.date(),
                                                                          "MMMEd")
        return self.words.call.format(day=day)

    # -- what the screens and the command line say

    def moment(self, at: datetime, now: datetime, zone: tzinfo) -> str:
        """`at` in `zone` near `now`, as the window, the toasts and the command line say it:
        "today 12:19", "tomorrow 09:00", "Mon 12:19" within the week, "Mon 3 Nov 12:19"
        beyond it (C: as Heard always said it); in another locale its weekday and date
        names and its clock ("Mo., 3. Nov., 12:19"; "Mon, Nov 3 12:19 pm"). The screens
        are in English, so "today" and "tomorrow" stay English words."""
        local, today = at.astimezone(zone), now.astimezone(zone).date()
        days = (local.date() - today).days
        named = {0: "today", 1: "tomorrow", -1: "yesterday"}.get(days)
        if self.locale == C and self.hour24 is not False:
            if named is None:
                named = f"{local:%a}" if -6 <= days <= 6 else f"{local:%a} {local.day} {local:%b}"
            return f"{named} {local:%H:%M}"
        if named is None:
            named = self.weekday(local.date(), "abbreviated") if -6 <= days <= 6 else \
                self.on_date(local.date(), "MMMEd")
        clock = self.clock(at, zone).removesuffix(self.words.hours) if self.words.hours \
            else self.clock(at, zone)
        return f"{named} {clock}"

    def stamp(self, at: datetime, zone: tzinfo) -> str:
        """A moment with its date on screen: "Wed 25 Nov 09:58" (C), "Mi., 25. Nov. 09:58"."""
        local = at.astimezone(zone)
        if self.locale == C and self.hour24 is not False:
            return f"{local:%a %d %b %H:%M}"
        return f"{self.on_date(local.date(), 'MMMEd')} {self.time_of_day(at, zone)}"

    def time_of_day(self, at: datetime, zone: tzinfo) -> str:
        """A time alone on screen: "12:19" (C, and 24-hour locales), "12:19 pm"."""
        if self.locale == C and self.hour24 is not False:
            return f"{at.astimezone(zone):%H:%M}"
        clock = self.clock(at, zone)
        return clock.removesuffix(self.words.hours) if self.words.hours else clock


ENGLISH = Speech()

# How the screens write times (the tray's windows, toasts and tooltip; the command line's
# words for people): the user's locale, which each face says once it has the settings
# (use_on_screens), as the C library keeps LC_TIME for a process. What goes to a client
# always names its own Speech and never reads this.
_screens = ENGLISH


def use_on_screens(speech: Speech) -> None:
    global _screens
    _screens = speech


def on_screens() -> Speech:
    return _screens


def reader_speech(written_in: str, reader: str, user: Speech) -> Speech:
    """How the times of a text in the language `written_in` are written for a reader whose
    locale is `reader` (a client's language, else the user's, `user`): the reader's clock,
    and the reader's names and order where they read that language (a text in English to a
    German reader says "tomorrow 09:00", in German "morgen 09:00 Uhr")."""
    if reader == user.locale and language_of(reader) == written_in:
        return user
    clock = user.clock24 if reader == user.locale else Speech(reader).clock24
    return Speech(reader if language_of(reader) == written_in else written_in, clock)


def speech_for(locale: str, clock: str = "auto") -> Speech:
    """The user's Speech from their locale and the [locale] time_format setting."""
    return Speech(locale, None if clock == "auto" else clock == "24h")
