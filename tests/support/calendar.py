"""One calendar, the same for every source (.ics file, vdir, Radicale, Xandikos).

The user lives in Berlin. A weekly meeting is set in New York, on Wednesdays at 09:00,
so it is at 15:00 in Berlin, except in the week between the two DST changes (Europe
leaves summer time on 25 October 2026, the USA on 1 November), when it is at 14:00.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")
ME = frozenset({"me@example.com"})
WINDOW = (datetime(2026, 10, 1, tzinfo=BERLIN), datetime(2026, 11, 30, tzinfo=BERLIN))


def at(day: str, hm: str) -> datetime:
    """at("11-04", "13:30"): that instant in Berlin in 2026."""
    month, dom = (int(x) for x in day.split("-"))
    hour, minute = (int(x) for x in hm.split(":"))
    return datetime(2026, month, dom, hour, minute, tzinfo=BERLIN)


def vevent(uid: str, summary: str, *lines: str) -> str:
    return ("BEGIN:VEVENT\r\n" f"UID:{uid}\r\nDTSTAMP:20260901T000000Z\r\n"
            f"SUMMARY:{summary}\r\n" + "".join(f"{line}\r\n" for line in lines)
            + "END:VEVENT\r\n")


def vcalendar(*events: str) -> str:
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Heard tests//EN\r\n"
            + "".join(events) + "END:VCALENDAR\r\n")


NY = "TZID=America/New_York"

# One entry per calendar object (what a CalDAV server holds as one resource): the
# recurring meeting and its moved instance share one object, as they share a UID.
OBJECTS: dict[str, str] = {
    "standup": vcalendar(
        vevent("standup", "Standup NY", f"DTSTART;{NY}:20261007T090000",
               f"DTEND;{NY}:20261007T100000", "RRULE:FREQ=WEEKLY;COUNT=10",
               f"EXDATE;{NY}:20261014T090000"),
        vevent("standup", "Standup NY (moved)", f"RECURRENCE-ID;{NY}:20261111T090000",
               f"DTSTART;{NY}:20261112T100000", f"DTEND;{NY}:20261112T110000")),
    "offsite": vcalendar(vevent("offsite", "Offsite", "DTSTART;VALUE=DATE:20261104",
                                "DTEND;VALUE=DATE:20261105")),
    "trial": vcalendar(vevent("trial", "Trial", "DTSTART;VALUE=DATE:20261105",
                              "DTEND;VALUE=DATE:20261106", "TRANSP:OPAQUE")),
    "focus": vcalendar(vevent("focus", "Focus", "DTSTART:20261104T090000Z",
                              "DTEND:20261104T100000Z", "TRANSP:TRANSPARENT")),
    "lunch": vcalendar(vevent("lunch", "Lunch", "DTSTART;TZID=Europe/Berlin:20261104T120000",
                              "DTEND;TZID=Europe/Berlin:20261104T130000", "STATUS:CANCELLED")),
    "board": vcalendar(vevent(
        "board", "Board", "DTSTART;TZID=Europe/Berlin:20261104T163000",
        "DTEND;TZID=Europe/Berlin:20261104T173000",
        "ORGANIZER:mailto:chair@example.com",
        "ATTENDEE;PARTSTAT=DECLINED:mailto:Me@Example.COM",
        "ATTENDEE;PARTSTAT=ACCEPTED:mailto:other@example.com")),
    "client-a": vcalendar(vevent("client-a", "Client A",
                                 "DTSTART;TZID=Europe/Berlin:20261104T130000",
                                 "DTEND;TZID=Europe/Berlin:20261104T140000")),
    "client-b": vcalendar(vevent("client-b", "Client B",
                                 "DTSTART;TZID=Europe/Berlin:20261104T140000",
                                 "DTEND;TZID=Europe/Berlin:20261104T143000")),
    "maybe": vcalendar(vevent("maybe", "Maybe", "DTSTART;TZID=Europe/Berlin:20261104T080000",
                              "DTEND;TZID=Europe/Berlin:20261104T090000", "STATUS:TENTATIVE")),
    "dentist": vcalendar(vevent("dentist", "Dentist", "DTSTART:20261106T080000",
                                "DTEND:20261106T090000")),  # floating: the user's zone
}


def one_file() -> str:
    """All objects as one .ics file, as a calendar app exports them."""
    body = "".join(text.split("PRODID:-//Heard tests//EN\r\n", 1)[1]
                   .rsplit("END:VCALENDAR", 1)[0] for text in OBJECTS.values())
    return vcalendar(body)


# (start, end, title) in Berlin time, every busy interval in WINDOW.
EXPECTED = [
    ("10-07 15:00", "10-07 16:00", "Standup NY"),
    # 14 October: EXDATE
    ("10-21 15:00", "10-21 16:00", "Standup NY"),
    ("10-28 14:00", "10-28 15:00", "Standup NY"),   # between the DST changes
    ("11-04 08:00", "11-04 09:00", "Maybe"),        # tentative counts by default
    ("11-04 13:00", "11-04 14:00", "Client A"),
    ("11-04 14:00", "11-04 14:30", "Client B"),
    ("11-04 15:00", "11-04 16:00", "Standup NY"),
    ("11-05 00:00", "11-06 00:00", "Trial"),        # all day, marked busy
    ("11-06 08:00", "11-06 09:00", "Dentist"),
    # 11 November moved to the 12th, an hour later in New York
    ("11-12 16:00", "11-12 17:00", "Standup NY (moved)"),
    ("11-18 15:00", "11-18 16:00", "Standup NY"),
    ("11-25 15:00", "11-25 16:00", "Standup NY"),
]

# (instant, min_free, now, until, next_free, event)
CHECKS = [
    (at("10-07", "15:30"), 15, True, at("10-07", "16:00"), at("10-07", "16:00"), "Standup NY"),
    (at("10-14", "15:30"), 15, False, None, at("10-14", "15:30"), None),           # EXDATE
    (at("10-28", "14:30"), 15, True, at("10-28", "15:00"), at("10-28", "15:00"), "Standup NY"),
    (at("10-28", "15:30"), 15, False, None, at("10-28", "15:30"), None),           # DST week
    (at("11-04", "10:30"), 15, False, None, at("11-04", "10:30"), None),  # transparent, all-day
    (at("11-04", "12:30"), 15, False, None, at("11-04", "12:30"), None),  # cancelled lunch
    (at("11-04", "13:30"), 15, True, at("11-04", "14:30"), at("11-04", "14:30"), "Client A"),
    (at("11-04", "13:30"), 45, True, at("11-04", "14:30"), at("11-04", "16:00"), "Client A"),
    (at("11-04", "15:30"), 15, True, at("11-04", "16:00"), at("11-04", "16:00"), "Standup NY"),
    (at("11-04", "16:45"), 15, False, None, at("11-04", "16:45"), None),  # declined
    (at("11-05", "10:00"), 15, True, datetime(2026, 11, 6, tzinfo=BERLIN),
     datetime(2026, 11, 6, tzinfo=BERLIN), "Trial"),
    (at("11-11", "15:30"), 15, False, None, at("11-11", "15:30"), None),           # moved away
    (at("11-12", "16:15"), 15, True, at("11-12", "17:00"), at("11-12", "17:00"),
     "Standup NY (moved)"),
]


def as_table(intervals: list) -> list[tuple[str, str, str]]:  # type: ignore[type-arg]
    def fmt(moment: datetime) -> str:
        return moment.astimezone(BERLIN).strftime("%m-%d %H:%M")
    return sorted((fmt(i.start), fmt(i.end), i.title) for i in intervals)


def min_free(minutes: int) -> timedelta:
    return timedelta(minutes=minutes)
