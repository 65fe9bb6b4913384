"""Counting and naming people, and text from mail made safe to show."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from heard.domain.naming import Who, shown, who


def test_a_count_and_the_names_under_it_add_up() -> None:
    four = who([(1, "Megge"), (2, "Raj"), (3, "Dana"), (4, "Sofia")])
    assert (four.count, four.named, four.more) == (4, ("Megge", "Raj", "Dana"), 1)
    assert four.listed() == "Megge, Raj, Dana and 1 more"
    assert four.clients() == "4 clients"
    assert who([(1, "Megge")]).listed() == "Megge" and who([(1, "M")]).clients() == "1 client"
    assert who([(1, "Megge"), (2, "Raj")]).listed() == "Megge and Raj"
    assert who([(1, "A"), (2, "B"), (3, "C")]).listed() == "A, B and C"
    assert who([]).listed() == "" and Who(2, ()).listed() == "2 more"


def test_each_person_counts_once_by_key_whatever_their_name() -> None:
    # Raj wrote three times; two different clients are both called Sam.
    found = who([(1, "Raj"), (2, "Sam"), (1, "Raj"), (3, "Sam"), (1, "Raj")])
    assert found.count == 3 and found.named == ("Raj", "Sam", "Sam")


@given(st.lists(st.integers(0, 20)), st.integers(0, 5))
def test_named_plus_more_is_always_the_count(keys: list[int], named: int) -> None:
    found = who([(k, f"n{k}") for k in keys], named)
    assert found.count == len(set(keys))
    assert len(found.named) + found.more == found.count
    text = found.listed()
    assert all(n in text for n in found.named)
    assert (f"and {found.more} more" in text) == (found.more > 0 and bool(found.named))


def test_text_from_mail_loses_controls_and_bidi_overrides_and_is_cut_short() -> None:
    assert shown("Invoice \u202egpj.exe") == "Invoice gpj.exe"
    assert shown("a\x00b\x07c\x1b[31md\ufeff") == "abc[31md"
    assert shown("line one\r\nline\ttwo") == "line one  line two"
    assert shown("one\n\n two\x85", lines=True) == "one\n\ntwo"
    long = shown("x" * 10_000, 200)
    assert len(long) == 200 and long.endswith("…")
    assert shown(" " * 5000 + "end") == "end"
    # Markup is text here: escaping it is the job of the surface that would read it.
    assert shown('<span foreground="yellow">Wire</span>') == \
        '<span foreground="yellow">Wire</span>'


@given(st.text(), st.integers(1, 300))
def test_shown_text_is_never_longer_than_asked_and_has_no_controls(text: str, limit: int
                                                                   ) -> None:
    out = shown(text, limit)
    assert len(out) <= limit
    assert not any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 or c in "\u202e\u2066" for c in out)
