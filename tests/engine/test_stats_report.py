"""The statistics summary as an HTML page (heard.engine.stats_report): text from mail is
text in it (issue 24, 3)."""

from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

from heard.engine import Engine
from heard.engine.stats_report import write_html
from tests.conftest import BERLIN, NOW
from tests.support.hostile import FORBIDDEN, feed
from tests.support.mail import MailFolders


class Page(HTMLParser):
    """The tags a browser would make of the page, and the text it would show."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes |= {name for name, _value in attrs}

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_names_from_mail_are_text_in_the_report(
        engine: Engine, mail: MailFolders, tmp_path: Path) -> None:
    feed(mail.inbox, NOW)   # a new person whose name is markup with a bidi override, ...
    engine.sync()
    since, until = NOW - timedelta(days=1), NOW + timedelta(minutes=1)
    groups = engine.statistics.stats(since, until, "client", None)
    labels = {str(c.id): c.name for c in engine.clients.all()}
    assert any("<b>" in labels.get(g.key, "") for g in groups)   # the stranger is a row
    page = tmp_path / "report.html"
    write_html(page, groups, since, until, BERLIN, '<img src="file:///etc">Alex\u202e',
               labels)
    html = page.read_text(encoding="utf-8")
    found = Page()
    found.feed(html)
    # Only the report's own tags: no image, link, bold or span that mail wrote.
    assert found.tags <= {"html", "head", "meta", "title", "style", "body", "h1", "p",
                          "table", "tr", "th", "td", "span"}
    assert found.attributes <= {"lang", "charset", "http-equiv", "content", "class", "style",
                                "colspan"}
    shown = "".join(found.text)
    # ... shown as written, without the override, and the user's name likewise.
    assert "<b>Urgent</b> KCOLB Bank" in shown
    assert '<img src="file:///etc">Alex' in shown
    assert not [c for c in FORBIDDEN if c in html]
    assert "Dana Scully" in shown
