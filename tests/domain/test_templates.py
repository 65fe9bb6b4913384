from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from heard.domain.templates import (
    Template,
    TemplateError,
    format_back,
    format_time,
    header_safe,
)

BERLIN = ZoneInfo("Europe/Berlin")


def test_unknown_placeholders_are_refused_when_the_template_is_made() -> None:
    with pytest.raises(TemplateError, match=r"unknown placeholder \{client.nmae\}"):
        Template("ack", "Re: {subject}", "Hi {client.nmae}")


def test_broken_braces_are_refused() -> None:
    with pytest.raises(TemplateError, match="broken braces"):
        Template("ack", "Re", "Hi {client.name")


def test_render_fills_values_and_keeps_literal_braces() -> None:
    t = Template("ack", "Re: {subject}", "Hi {client.name}, by {reply_by} {{ok}}")
    subject, body = t.render({"client.name": "Megge", "reply_by": "4:30 pm",
                              "subject": "Lease"})
    assert subject == "Re: Lease"
    assert body == "Hi Megge, by 4:30 pm {ok}"


def test_subject_cannot_carry_a_header_injection() -> None:
    t = Template("ack", "Re: {subject}", "x")
    subject, _ = t.render({"subject": "Hello\r\nBcc: victim@example.com"})
    assert "\r" not in subject and "\n" not in subject
    assert subject == "Re: Hello Bcc: victim@example.com"
    assert header_safe("a\x00b\tc") == "a b c"


def test_format_time_in_the_users_zone() -> None:
    now = datetime(2026, 11, 25, 9, 0, tzinfo=BERLIN)
    at = datetime(2026, 11, 25, 15, 30, tzinfo=ZoneInfo("UTC"))  # 16:30 in Berlin
    assert format_time(at, BERLIN, now) == "4:30 pm"
    assert format_time(datetime(2026, 11, 26, 0, 5, tzinfo=BERLIN), BERLIN, now) == \
        "tomorrow 12:05 am"
    assert format_time(datetime(2026, 11, 28, 9, 0, tzinfo=BERLIN), BERLIN, now) == \
        "Saturday 9:00 am"


@pytest.mark.parametrize(("back", "said"), [
    (datetime(2026, 11, 25, 14, 0), "at 2:00 pm"),
    (datetime(2026, 11, 26, 0, 0), "tomorrow morning"),
    (datetime(2026, 11, 26, 9, 0), "tomorrow morning"),
    (datetime(2026, 11, 26, 13, 30), "tomorrow afternoon"),
    (datetime(2026, 11, 30, 9, 0), "on Monday morning"),
    (datetime(2026, 12, 14, 9, 0), "on Dec 14"),
])
def test_when_the_user_is_back_reads_unmistakably(back: datetime, said: str) -> None:
    zone = ZoneInfo("Europe/Berlin")
    now = datetime(2026, 11, 25, 10, 0, tzinfo=zone)
    assert format_back(back.replace(tzinfo=zone), zone, now) == said


def test_a_readers_language_takes_each_translation_but_the_users_own_words_stay() -> None:
    from heard.domain.templates import in_language

    shipped = Template("acknowledge", "Re: {subject}", "Hi {client.name}", language="en")
    mine = Template("retainer", "Re: {subject}", "Dear {client.name}")     # templates.toml
    written = Template("delegated", "Re: {subject}", "Hallo, {assistant.name} hilft")
    german = {n: Template(n, "Re: {subject}", "Hallo {client.name}", language="de")
              for n in ("acknowledge", "delegated")}
    templates = {"acknowledge": shipped, "retainer": mine, "delegated": written}
    to_a_german_client = in_language(templates, german, own=False)
    assert {n: t.language for n, t in to_a_german_client.items()} == {
        "acknowledge": "de", "retainer": "", "delegated": "de"}
    # A German user's own templates.toml is German already: it stays.
    for_a_german_user = in_language(templates, german, own=True)
    assert for_a_german_user["delegated"] is written
    assert for_a_german_user["acknowledge"].language == "de"
