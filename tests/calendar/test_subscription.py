"""An .ics subscription served by a real HTTP(S) server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from heard.calendar.caldav_source import CalendarUnavailable
from heard.calendar.subscription import Subscription
from tests.support.calendar import BERLIN, EXPECTED, ME, WINDOW, as_table
from tests.support.feed import Feed


@pytest.fixture
def feed() -> Iterator[Feed]:
    feed = Feed()
    feed.serve()
    yield feed
    feed.close()


def test_an_unchanged_feed_costs_one_request_and_downloads_nothing(
    feed: Feed, tmp_path: Path
) -> None:
    sub = Subscription(feed.url, tmp_path / "feed.ics")
    assert sub.calendars() == []  # nothing before the first refresh
    first = sub.refresh()
    assert (first.changed, first.fetched, first.requests) == (True, 1, 1)
    assert as_table(sub.busy_intervals(*WINDOW, BERLIN, me=ME)[0]) == EXPECTED

    again = sub.refresh()
    assert (again.changed, again.fetched, again.requests) == (False, 0, 1)
    assert len(feed.requests) == 2 and feed.requests[1]["If-None-Match"]

    feed.body = feed.body.replace(b"SUMMARY:Dentist", b"SUMMARY:Dentist (moved)")
    assert sub.refresh().changed
    titles = {i.title for i in sub.busy_intervals(*WINDOW, BERLIN)[0]}
    assert "Dentist (moved)" in titles and "Dentist" not in titles


def test_last_modified_when_the_server_gives_no_etag(feed: Feed, tmp_path: Path) -> None:
    feed.etags = False
    sub = Subscription(feed.url, tmp_path / "feed.ics")
    assert sub.refresh().changed
    assert sub.refresh().changed is False
    assert feed.requests[1]["If-Modified-Since"] == feed.modified


def test_failures_are_said_plainly_and_keep_the_last_copy(feed: Feed, tmp_path: Path) -> None:
    sub = Subscription(feed.url, tmp_path / "feed.ics")
    sub.refresh()
    before = (tmp_path / "feed.ics").read_bytes()

    feed.body, feed.content_type = b"<html>Sign in</html>", "text/html"
    with pytest.raises(CalendarUnavailable, match="did not send a calendar"):
        sub.refresh()
    feed.status = 404
    with pytest.raises(CalendarUnavailable, match=r"no calendar at this address \(HTTP 404\)"):
        sub.refresh()
    feed.close()
    with pytest.raises(CalendarUnavailable, match=r"cannot reach 127\.0\.0\.1"):
        sub.refresh()
    assert (tmp_path / "feed.ics").read_bytes() == before
    assert as_table(sub.busy_intervals(*WINDOW, BERLIN, me=ME)[0]) == EXPECTED


def test_tls_is_verified_and_webcal_means_https(tmp_path: Path) -> None:
    feed = Feed()
    cert = feed.use_tls(tmp_path)
    feed.serve()
    try:
        webcal = feed.url.replace("https://", "webcal://")
        with pytest.raises(CalendarUnavailable, match="is not trusted"):
            Subscription(webcal, tmp_path / "feed.ics").refresh()
        assert not (tmp_path / "feed.ics").exists()
        assert Subscription(webcal, tmp_path / "feed.ics", ca_file=cert).refresh().changed
    finally:
        feed.close()


def test_only_web_addresses() -> None:
    with pytest.raises(CalendarUnavailable, match="not an https:// address"):
        Subscription("file:///etc/passwd", Path("x.ics"))
