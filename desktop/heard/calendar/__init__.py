"""Calendars: iCalendar files and folders, https subscriptions and CalDAV accounts, read into
busy intervals (heard.calendar.events holds the rules they share)."""

from datetime import timedelta

# How far ahead calendars are read for busy/free answers (and tried when set up).
READ_AHEAD = timedelta(days=8)
