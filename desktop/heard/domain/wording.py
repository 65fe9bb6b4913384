"""Small words every face uses the same way: a count with its noun ("1 contact", "2
contacts", never "1 contacts" or "1 problem(s)"), and a moment as a person says it near
now ("today 12:19", "tomorrow 09:00", "Mon 12:19" within the week, "Mon 3 Nov 12:19"
beyond it); and a message of the command line's as a window says it (no shell syntax)."""

from __future__ import annotations

import re
from datetime import datetime, tzinfo

from heard.domain.locales import Speech, on_screens


def plural(n: int, word: str, words: str | None = None) -> str:
    """`n` and the noun in its number; `words` when the plural is not word + "s"."""
    return f"{n} {word if n == 1 else (words or word + 's')}"


def day_and_time(at: datetime, now: datetime, zone: tzinfo, speech: Speech | None = None
                 ) -> str:
    """`at` in `zone`, its day said relative to `now` where that reads better than a
    weekday: a weekday alone is ambiguous beyond six days, so farther days carry the date.
    The names and the clock are the user's locale's (`speech`, else the screens': see
    heard.domain.locales)."""
    return (speech or on_screens()).moment(at, now, zone)


def clock(at: datetime, zone: tzinfo) -> str:
    """A time of day alone on a screen: "12:19" (C, 24-hour locales), "12:19 pm"."""
    return on_screens().time_of_day(at, zone)


def stamp(at: datetime, zone: tzinfo) -> str:
    """A moment with its date on a screen: "Wed 25 Nov 09:58" (C), "Mi., 25. Nov. 09:58"."""
    return on_screens().stamp(at, zone)


# What a window says for a command the command line's messages name (longest first wins):
# the place in the app that does the same, or, where only the command line can, that.
_COMMAND_WORDS: tuple[tuple[str, str], ...] = (
    ("heard account add caldav", "a calendar added in Settings > Accounts"),
    ("heard account add calendar", "a calendar added in Settings > Accounts"),
    ("heard account add", "the account's settings in Settings > Accounts"),
    ("heard account password", "its password, typed again in Settings > Accounts"),
    ("heard account test", "Test connection in Settings > Accounts"),
    ("heard account", "Settings > Accounts"),
    ("heard clients", "the Clients tab of Settings"),
    ("heard prospect", "the Client, Prospect and Not a client buttons of the quick-reply"
                       " window"),
    ("heard outbox flush", "the next try, which Heard makes on its own"),
    ("heard outbox", "the outbox, which Heard's command line lists"),
    ("heard status", "the quick-reply window"),
    ("heard ack", "Acknowledge in the quick-reply window"),
    ("heard answered", "Answered in the quick-reply window"),
    ("heard dismiss", "Dismiss in the quick-reply window"),
    ("heard delegate", "Delegate in the quick-reply window"),
    ("heard sharing invite", "Invite another device in Settings > General"),
    ("heard sharing join", "Join with a code in Settings > General"),
    ("heard sharing sync --accept", "Take the other device's change in Settings > General"),
    ("heard sharing", "sharing between your devices, which Heard's command line sets up"),
    ("heard sync", "the next sync, which Heard makes on its own"),
    ("heard doctor", "Heard's check-up (its command line's doctor)"),
)


def in_words(text: str) -> str:
    """`text` as a window says it: a command in backticks ("`heard account add imap …
    --smtp-host`") becomes the place in the app that does the same, other backticks go. The
    command line keeps the commands; a window never shows shell syntax."""
    def spoken(match: re.Match[str]) -> str:
        quoted = match.group(1)
        if not quoted.startswith("heard"):
            return quoted
        for command, words in _COMMAND_WORDS:
            if quoted == command or quoted.startswith(command + " "):
                return words
        return "Heard's command line"

    return re.sub(r"`([^`]*)`", spoken, text)
