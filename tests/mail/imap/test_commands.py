"""The raw IMAP commands of the shared state (heard.mail.imap.commands): their parsers, on
raw server responses as imaplib and imapclient hand them over."""

from __future__ import annotations

from heard.mail.imap.commands import uid_set as _uid_set


def test_uid_sets() -> None:
    assert _uid_set(b"1:3,7,9:8") == {1, 2, 3, 7, 8, 9}
    assert _uid_set(b"") == set()
    assert _uid_set(b"x,5") == {5}
    assert _uid_set(b"1:99999999") == set()        # nonsense is ignored, not allocated


def test_fetch_lines_as_imaplib_keeps_them() -> None:
    from heard.mail.imap.commands import parse_fetches

    parsed = parse_fetches([
        b"2 (UID 2 FLAGS () MODSEQ (6))",
        b"2 (UID 2 FLAGS (\\Seen $HeardBy_a) MODSEQ (7))",    # a later one wins
        b"3 (FLAGS (\\Seen))",                                # no UID: another session's
        b"4 (MODSEQ (8) FLAGS ($x \\Recent) UID 9)",           # any order; \\Recent dropped
        b"5 (UID 10 MODSEQ (9))",                             # no FLAGS: keeps the last known
        b"not a fetch at all (((",
    ])
    assert parsed == {2: (frozenset({"\\Seen", "$HeardBy_a"}), 7),
                      9: (frozenset({"$x"}), 8), 10: (frozenset(), 9)}
