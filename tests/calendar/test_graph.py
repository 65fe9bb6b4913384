"""The Microsoft Graph calendar (heard.calendar.graph) against a recorded-fixture server.

Microsoft Graph cannot run here. `RecordedGraph` is a local HTTP server that replays
responses recorded from Microsoft Graph documentation — "Get incremental changes to events
in a calendar view" (https://learn.microsoft.com/en-us/graph/delta-query-events: the round
of 2016-12-01..2016-12-30 with `Prefer: odata.maxpagesize=2`, $skiptoken R0usmcCM996atia_s,
the deltaLink and the `@removed` of the next round), "event: delta"
(https://learn.microsoft.com/en-us/graph/api/event-delta), the event resource type's showAs
and responseStatus values (https://learn.microsoft.com/en-us/graph/api/resources/event) and
"Microsoft Graph throttling guidance" (429 with Retry-After,
https://learn.microsoft.com/en-us/graph/throttling). Event bodies are cut to the properties
Heard reads. It is a stand-in for the service, not a Graph implementation: what Heard does
with the real service is untested (README says so).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from heard.calendar.caldav_source import CalendarUnavailable
from heard.calendar.graph import GraphCalendar, busy_interval
from tests.support.graph import RecordedGraph

START = datetime(2016, 12, 1, tzinfo=UTC)
END = datetime(2016, 12, 30, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")
FIRST = ("/v1.0/me/calendarView/delta?startDateTime=2016-12-01T00%3A00%3A00Z"
         "&endDateTime=2016-12-30T00%3A00%3A00Z")


def event(id_: str, subject: str, start: str, end: str, **more: Any) -> dict[str, Any]:
    return {"@odata.type": "#microsoft.graph.event", "@odata.etag": f'W/"{id_}"',
            "id": id_, "subject": subject, "isAllDay": False, "isCancelled": False,
            "showAs": "busy", "type": "singleInstance",
            "responseStatus": {"response": "none", "time": "0001-01-01T00:00:00Z"},
            "start": {"dateTime": start, "timeZone": "UTC"},
            "end": {"dateTime": end, "timeZone": "UTC"}, **more}


SHOPPING = event("AAMkADNVxRAAA=", "Plan shopping list", "2016-12-10T19:00:00.0000000",
                 "2016-12-10T20:00:00.0000000")
FOOD = event("AAMkADNVxSAAA=", "Prepare food for the party", "2016-12-24T19:00:00.0000000",
             "2016-12-24T23:00:00.0000000", showAs="tentative")
CARDS = event("AAMkADNVxTAAA=", "Rest!", "2016-12-26T17:00:00.0000000",
              "2016-12-26T18:00:00.0000000", showAs="free")
DECLINED = event("AAMkADNVxUAAA=", "Skip the review", "2016-12-12T09:00:00.0000000",
                 "2016-12-12T10:00:00.0000000",
                 responseStatus={"response": "declined", "time": "2016-12-01T10:00:00Z"})
CANCELLED = event("AAMkADNVxVAAA=", "Cancelled: planning", "2016-12-13T09:00:00.0000000",
                  "2016-12-13T10:00:00.0000000", isCancelled=True)
HOLIDAY = event("AAMkADNVxWAAA=", "Out of office", "2016-12-27T00:00:00.0000000",
                "2016-12-28T00:00:00.0000000", showAs="oof", isAllDay=True)
CONTEXT = "https://graph.microsoft.com/v1.0/$metadata#Collection(event)"


@pytest.fixture
def recorded_graph() -> Iterator[RecordedGraph]:
    """A recorded-fixture server: responses recorded from Microsoft Graph documentation."""
    server = RecordedGraph()
    yield server
    server.close()


def first_round(graph: RecordedGraph) -> None:
    """The documentation's first round: two pages by nextLink, then the deltaLink."""
    graph.pages[FIRST] = [(200, {}, {
        "@odata.context": CONTEXT,
        "@odata.nextLink": graph.link("$skiptoken=R0usmcCM996atia_s"),
        "value": [SHOPPING, FOOD]})]
    graph.pages["/v1.0/me/calendarView/delta?$skiptoken=R0usmcCM996atia_s"] = [(200, {}, {
        "@odata.context": CONTEXT,
        "@odata.nextLink": graph.link("$skiptoken=R0usmcBVi2mnAqUr"),
        "value": [CARDS, DECLINED]})]
    graph.pages["/v1.0/me/calendarView/delta?$skiptoken=R0usmcBVi2mnAqUr"] = [(200, {}, {
        "@odata.context": CONTEXT,
        "@odata.deltaLink": graph.link("$deltatoken=R0usmci39OQxqJrxK4"),
        "value": [CANCELLED, HOLIDAY]})]


def calendar(graph: RecordedGraph, tmp_path: Path, tokens: list[str] | None = None,
             waits: list[float] | None = None) -> GraphCalendar:
    handed = iter(tokens or ["token-1"] * 20)
    return GraphCalendar(tmp_path / "graph", lambda: next(handed), base=graph.base,
                         sleep=(waits if waits is not None else []).append)


def titles(cal: GraphCalendar, tentative_busy: bool = True) -> list[tuple[str, bool]]:
    found, problems = cal.busy_intervals(START, END, BERLIN, tentative_busy=tentative_busy)
    assert problems == []
    return sorted((i.title, i.away) for i in found)


def test_a_full_round_follows_every_page_and_keeps_heard_s_busy_rules(
        recorded_graph: RecordedGraph, tmp_path: Path) -> None:
    first_round(recorded_graph)
    cal = calendar(recorded_graph, tmp_path)
    result = cal.sync(START, END)
    assert (result.changed, result.requests, result.full) == (True, 3, True)
    # free, declined and cancelled never count; tentative counts by the setting; oof and
    # all day is away
    assert titles(cal) == [("Out of office", True), ("Plan shopping list", False),
                           ("Prepare food for the party", False)]
    assert titles(cal, tentative_busy=False) == [("Out of office", True),
                                                 ("Plan shopping list", False)]
    (shopping,) = [i for i in cal.busy_intervals(START, END, BERLIN)[0]
                   if i.title == "Plan shopping list"]
    assert (shopping.start, shopping.end) == (datetime(2016, 12, 10, 19, tzinfo=UTC),
                                              datetime(2016, 12, 10, 20, tzinfo=UTC))
    assert all(auth == "Bearer token-1" for _path, auth in recorded_graph.asked)


def test_the_next_refresh_sends_only_the_delta_link_and_applies_what_changed(
        recorded_graph: RecordedGraph, tmp_path: Path) -> None:
    first_round(recorded_graph)
    cal = calendar(recorded_graph, tmp_path)
    cal.sync(START, END)
    moved = dict(SHOPPING, start={"dateTime": "2016-12-10T21:00:00.0000000",
                                  "timeZone": "UTC"},
                 end={"dateTime": "2016-12-10T22:00:00.0000000", "timeZone": "UTC"})
    recorded_graph.pages["/v1.0/me/calendarView/delta?$deltatoken=R0usmci39OQxqJrxK4"] = [
        (200, {}, {"@odata.context": CONTEXT,
                   "@odata.deltaLink": recorded_graph.link("$deltatoken=R0usmcMDNGg0J1E"),
                   "value": [moved, {"@odata.type": "#microsoft.graph.event",
                                     "id": FOOD["id"], "@removed": {"reason": "deleted"}}]})]
    recorded_graph.asked.clear()
    result = calendar(recorded_graph, tmp_path).sync(START, END)
    assert (result.changed, result.requests, result.full) == (True, 1, False)
    assert [p for p, _a in recorded_graph.asked] == [
        "/v1.0/me/calendarView/delta?$deltatoken=R0usmci39OQxqJrxK4"]
    assert titles(cal) == [("Out of office", True), ("Plan shopping list", False)]
    (shopping,) = [i for i in cal.busy_intervals(START, END, BERLIN)[0]
                   if i.title == "Plan shopping list"]
    assert shopping.start == datetime(2016, 12, 10, 21, tzinfo=UTC)
    # nothing new: one request, nothing changed
    recorded_graph.pages["/v1.0/me/calendarView/delta?$deltatoken=R0usmcMDNGg0J1E"] = [
        (200, {}, {"@odata.context": CONTEXT,
                   "@odata.deltaLink": recorded_graph.link("$deltatoken=R0usmcMDNGg0J1E"),
                   "value": []})]
    again = cal.sync(START, END)
    assert (again.changed, again.requests) == (False, 1)


def test_throttling_waits_as_retry_after_says(recorded_graph: RecordedGraph,
                                              tmp_path: Path) -> None:
    first_round(recorded_graph)
    throttled = (429, {"Retry-After": "2"}, {"error": {
        "code": "TooManyRequests", "message": "Please retry again later."}})
    recorded_graph.pages[FIRST].insert(0, throttled)
    recorded_graph.pages[FIRST].insert(1, (503, {"Retry-After": "7"}, {"error": {
        "code": "ServiceUnavailable", "message": "Service Unavailable"}}))
    waits: list[float] = []
    result = calendar(recorded_graph, tmp_path, waits=waits).sync(START, END)
    assert waits == [2.0, 7.0]
    assert result.requests == 5 and result.changed


def test_a_retry_after_too_long_leaves_the_copy_as_it_was(recorded_graph: RecordedGraph,
                                                           tmp_path: Path) -> None:
    recorded_graph.pages[FIRST] = [(429, {"Retry-After": "3600"}, {"error": {
        "code": "TooManyRequests", "message": "Please retry again later."}})]
    with pytest.raises(CalendarUnavailable, match="throttling"):
        calendar(recorded_graph, tmp_path).sync(START, END)
    assert not (tmp_path / "graph").exists()


def test_an_expired_token_is_asked_for_again_once(recorded_graph: RecordedGraph,
                                                  tmp_path: Path) -> None:
    first_round(recorded_graph)
    recorded_graph.pages[FIRST].insert(0, (401, {}, {"error": {
        "code": "InvalidAuthenticationToken", "message": "Access token has expired."}}))
    cal = calendar(recorded_graph, tmp_path, tokens=["old", "new", "new", "new"])
    cal.sync(START, END)
    assert [a for _p, a in recorded_graph.asked] == ["Bearer old", "Bearer new",
                                                     "Bearer new", "Bearer new"]
    recorded_graph.pages[FIRST] = [(401, {}, {"error": {
        "code": "InvalidAuthenticationToken", "message": "Access token has expired."}})]
    with pytest.raises(CalendarUnavailable, match="sign in again"):
        calendar(recorded_graph, tmp_path / "other").sync(START, END)


def test_a_delta_token_gone_starts_a_new_round(recorded_graph: RecordedGraph,
                                               tmp_path: Path) -> None:
    first_round(recorded_graph)
    cal = calendar(recorded_graph, tmp_path)
    cal.sync(START, END)
    recorded_graph.pages["/v1.0/me/calendarView/delta?$deltatoken=R0usmci39OQxqJrxK4"] = [
        (410, {}, {"error": {"code": "SyncStateNotFound", "message": "gone"}})]
    result = cal.sync(START, END)
    assert result.full and result.requests == 4


def test_a_link_to_another_host_is_not_followed(recorded_graph: RecordedGraph,
                                                tmp_path: Path) -> None:
    recorded_graph.pages[FIRST] = [(200, {}, {
        "@odata.nextLink": "https://evil.example/v1.0/me/calendarView/delta?$skiptoken=x",
        "value": []})]
    with pytest.raises(CalendarUnavailable, match="elsewhere"):
        calendar(recorded_graph, tmp_path).sync(START, END)


def test_showas_values_as_the_event_resource_documents_them() -> None:
    def show(value: str, **more: Any) -> bool:
        return busy_interval(event("x", "x", "2016-12-10T19:00:00.0000000",
                                   "2016-12-10T20:00:00.0000000", showAs=value, **more),
                             BERLIN) is not None

    assert [show(v) for v in ("busy", "tentative", "oof", "free", "workingElsewhere",
                              "unknown")] == [True, True, True, False, False, True]
    # An all-day event Outlook shows as free (a birthday) is no busy day.
    assert not show("free", isAllDay=True)
    # Times in a Windows zone name, when the UTC preference was not honoured.
    windows = event("y", "y", "2016-12-10T11:00:00.0000000", "2016-12-10T12:00:00.0000000")
    for key, at in (("start", "2016-12-10T11:00:00.0000000"),
                    ("end", "2016-12-10T12:00:00.0000000")):
        windows[key] = {"dateTime": at, "timeZone": "Pacific Standard Time"}
    pacific = busy_interval(windows, BERLIN)
    assert pacific is not None and pacific.start == datetime(2016, 12, 10, 19, tzinfo=UTC)


def test_the_token_never_goes_unencrypted_to_another_machine(tmp_path: Path) -> None:
    with pytest.raises(CalendarUnavailable):
        GraphCalendar(tmp_path, lambda: "t", base="http://graph.example/v1.0")
