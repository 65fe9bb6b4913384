"""Hostile mail: what anyone who can send the user an e-mail can put where Heard shows it
(issue 24, 3). Each sample goes through real intake; the tests assert what reaches the
window, its tooltips and the toasts: text, as written, never markup, never an image."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from heard.mail.maildir import Maildir


@dataclass(frozen=True)
class Hostile:
    name: str
    sender: str
    subject: str
    body: str
    marker: str   # text that must show literally wherever the subject or body is shown


MARKUP = '<span foreground="yellow" size="xx-large">Wire 50k to IBAN DE00 now</span>'
IMAGE = '<table><tr><td><img src="file:///usr/share/pixmaps/debian-logo.png" width="2000">'
LINK = '<a href="https://evil.example/pay">Pay the invoice</a>'

SAMPLES: tuple[Hostile, ...] = (
    Hostile("markup", "Margaret Hale <margaret@hale.example>", MARKUP,
            "Please see the subject.", "<span foreground="),
    Hostile("image", "Rajesh Patel <raj@patel-eng.example>", "Drawings " + IMAGE,
            IMAGE + " covering the screen", "<img src="),
    Hostile("link", "Sofia Lindqvist <sofia@lindqvist.example>", LINK, LINK, "<a href="),
    # A new person whose very name is markup, with a bidi override and control characters.
    Hostile("name", '"<b>Urgent</b> \u202eKCOLB\u202c Bank" <bank@evil.example>',
            "Account \u202egpj.exe\x07\x1b[2J", "Open the \u202egpj.exe attachment",
            "<b>Urgent</b>"),
    Hostile("long", "Dana Scully <dana@scully.example>", "Long " + "x" * 10_000,
            "y" * 20_000, "Long xxx"),
)


# Characters no surface may show from mail: bidirectional overrides and controls.
FORBIDDEN = ("\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068",
             "\u2069", "\x07", "\x1b")


def feed(inbox: Maildir, now: datetime) -> None:
    """Every sample as a client's (or a stranger's) message in the Maildir `inbox`, a
    minute apart before `now`; the caller syncs (real intake)."""
    from tests.support.mail import drop, message

    for n, sample in enumerate(SAMPLES):
        drop(inbox, message(sample.sender, sample.subject, body=sample.body),
             now - timedelta(minutes=10 - n))


def shown_texts(root: object) -> tuple[list[str], list[str]]:
    """What `root` (a QWidget) and every widget in it show, as Qt would draw it: labels,
    buttons, group titles, line edits, combo box entries, table, tree and list cells,
    tooltips and window titles (rich text read through QTextDocument, as Qt renders it).
    Returns (texts, problems): a problem is markup from mail that Qt would interpret (a
    label or tooltip taken as rich text that holds a tag of the corpus, an image or a
    link), a bidi override or control character, or a text longer than a screen holds."""
    from PySide6.QtGui import Qt, QTextDocument
    from PySide6.QtWidgets import (
        QAbstractButton,
        QComboBox,
        QGroupBox,
        QLabel,
        QLineEdit,
        QListWidget,
        QMessageBox,
        QTableWidget,
        QTreeWidget,
        QTreeWidgetItemIterator,
        QWidget,
    )

    assert isinstance(root, QWidget)
    texts: list[str] = []
    problems: list[str] = []

    def rich(text: str, where: str) -> str:
        doc = QTextDocument()
        doc.setHtml(text)
        formats = doc.allFormats()
        if any(f.isImageFormat() for f in formats):
            problems.append(f"{where}: an image is drawn: {text[:120]!r}")
        if any(f.isCharFormat() and f.toCharFormat().isAnchor() for f in formats):
            problems.append(f"{where}: a link is drawn: {text[:120]!r}")
        if any(f"<{tag}" in text for tag in ("span", "img", "a ", "b>", "table")):
            problems.append(f"{where}: markup from mail taken as rich text: {text[:120]!r}")
        return doc.toPlainText()

    def add(text: str, where: str, as_rich: bool = False, limit: int = 2000) -> None:
        if not text:
            return
        if as_rich:
            text = rich(text, where)
        bad = [c for c in FORBIDDEN if c in text]
        if bad:
            problems.append(f"{where}: shows {bad!r}: {text[:120]!r}")
        if len(text) > limit:
            problems.append(f"{where}: {len(text)} characters shown")
        texts.append(text)

    def tip(widget_tip: str, where: str) -> None:
        add(widget_tip, f"{where} tooltip", Qt.mightBeRichText(widget_tip), limit=1200)

    for widget in [root, *root.findChildren(QWidget)]:
        where = f"{type(widget).__name__} {widget.objectName() or widget.accessibleName()}"
        tip(widget.toolTip(), where)
        if widget.isWindow():
            add(widget.windowTitle(), f"{where} title", limit=300)
        if isinstance(widget, QLabel):
            fmt = widget.textFormat()
            add(widget.text(), where, fmt == Qt.TextFormat.RichText or (
                fmt == Qt.TextFormat.AutoText and Qt.mightBeRichText(widget.text())))
        elif isinstance(widget, QMessageBox):
            fmt = widget.textFormat()
            for text in (widget.text(), widget.informativeText()):
                add(text, where, fmt == Qt.TextFormat.RichText or (
                    fmt == Qt.TextFormat.AutoText and Qt.mightBeRichText(text)))
        elif isinstance(widget, QAbstractButton):
            add(widget.text(), where, limit=300)
        elif isinstance(widget, QGroupBox):
            add(widget.title(), where, limit=300)
        elif isinstance(widget, QLineEdit) and widget.isReadOnly():
            add(widget.text(), where)
        elif isinstance(widget, QComboBox):
            for i in range(widget.count()):
                add(widget.itemText(i), f"{where} entry {i}", limit=300)
        elif isinstance(widget, QTableWidget):
            for r in range(widget.rowCount()):
                for c in range(widget.columnCount()):
                    item = widget.item(r, c)
                    if item is not None:
                        add(item.text(), f"{where} cell {r},{c}", limit=500)
                        tip(item.toolTip(), f"{where} cell {r},{c}")
        elif isinstance(widget, QListWidget):
            for r in range(widget.count()):
                add(widget.item(r).text(), f"{where} row {r}", limit=500)
                tip(widget.item(r).toolTip(), f"{where} row {r}")
        elif isinstance(widget, QTreeWidget):
            it = QTreeWidgetItemIterator(widget)
            while (row := it.value()) is not None:
                it += 1
                for c in range(widget.columnCount()):
                    add(row.text(c), f"{where} cell {c}", limit=500)
                    tip(row.toolTip(c), f"{where} cell {c}")
    return texts, problems
