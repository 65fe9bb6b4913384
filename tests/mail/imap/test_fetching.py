"""UID FETCH answers read from imaplib's raw responses (heard.mail.imap.fetching): the
fast reading agrees with imapclient's parser on what Dovecot sends, and hands it what it
does not read itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from imapclient.response_parser import parse_fetch_response

from heard.mail.imap import Security, ServerSettings, connect
from heard.mail.imap.commands import imap_client
from heard.mail.imap.fetching import internaldate, read_fetches, uid_ranges
from tests.support.dovecot import MailUser

HEADER = b"From: Margaret Hale <margaret@hale.example>\r\nSubject: Hi\r\n\r\n"


def test_uid_ranges_name_exactly_the_uids() -> None:
    assert uid_ranges([9, 4, 5, 6, 12, 7, 8, 14, 15]) == b"4:9,12,14:15"
    assert uid_ranges([3]) == b"3"
    assert uid_ranges([]) == b""


def test_internaldate_keeps_its_offset() -> None:
    assert internaldate(b"17-Jul-1996 02:44:25 -0700") == datetime(
        1996, 7, 17, 2, 44, 25, tzinfo=timezone(timedelta(hours=-7)))
    assert internaldate(b" 7-Dec-2026 23:05:00 +0530") == datetime(
        2026, 12, 7, 23, 5, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    assert internaldate(b"31-Feb-2026 00:00:00 +0000") is None   # no such day
    assert internaldate(b"nonsense") is None


def test_responses_as_imaplib_hands_them_over() -> None:
    data = [
        (b'1 (UID 7 FLAGS (\\Seen $Heard) INTERNALDATE "07-Dec-2026 10:00:00 +0100" '
         b"BODY[HEADER] {%d}" % len(HEADER), HEADER),
        b")",
        # Items in another order, the literal in the middle.
        (b"2 (BODY[HEADER] {%d}" % len(HEADER), HEADER),
         b' UID 9 INTERNALDATE "08-Dec-2026 11:00:00 +0000" FLAGS ())',
        b"3 (FLAGS (\\Seen))",                       # another session's change: no UID
        (b'4 (UID 11 INTERNALDATE "08-Dec-2026 11:00:00 +0000" FLAGS () BODY[HEADER] NIL)'),
        # A body as a quoted string: imapclient's parser reads it.
        b'5 (UID 12 FLAGS () INTERNALDATE "08-Dec-2026 11:00:00 +0000" BODY[HEADER] "X: y")',
    ]
    found = read_fetches(data, (b"BODY[HEADER]",))
    assert sorted(found) == [7, 9, 11, 12]
    assert found[7].flags == {"\\Seen", "$Heard"}
    assert found[7].bodies[b"BODY[HEADER]"] == HEADER
    assert found[7].arrived == datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    assert found[9].bodies[b"BODY[HEADER]"] == HEADER and found[9].flags == frozenset()
    assert found[11].bodies[b"BODY[HEADER]"] == b""
    assert found[12].bodies[b"BODY[HEADER]"] == b"X: y"
    assert found[12].arrived == datetime(2026, 12, 8, 11, 0, tzinfo=UTC)


def test_agrees_with_imapclient_on_what_dovecot_sends(mailuser: MailUser) -> None:
    bodies = [HEADER + b"Text %d {3}\r\n)" % n for n in range(5)]
    bodies.append(b"Subject: =?utf-8?q?caf=C3=A9?=\r\nX-Odd: (UID 99) \"q\"\r\n\r\n\xff")
    for n, raw in enumerate(bodies):
        mailuser.append(raw, flags=("\\Seen", f"$k{n}") if n % 2 else ())
    conn = connect(ServerSettings("127.0.0.1", mailuser.server.imap_port, Security.PLAIN,
                                  mailuser.name), mailuser.password)
    try:
        client = imap_client(conn)
        client.select_folder("INBOX", readonly=True)
        imap = client._imap
        for items, names in ((b"(BODY.PEEK[HEADER] INTERNALDATE FLAGS)", (b"BODY[HEADER]",)),
                             (b"(BODY.PEEK[TEXT]<0.16384>)", (b"BODY[TEXT]<0>",))):
            imap.untagged_responses.pop("FETCH", None)
            typ, _data = client._raw_command(b"FETCH", [b"1:*", items])
            raw = imap.untagged_responses.pop("FETCH", [])
            assert typ == "OK"
            ours = read_fetches(raw, names)
            theirs = parse_fetch_response(raw, False, True)
            assert sorted(ours) == sorted(theirs) and len(ours) == len(bodies)
            for uid, parts in ours.items():
                expected = theirs[uid]
                for name in names:
                    assert parts.bodies[name] == expected[name]
                if b"FLAGS" in expected:
                    assert parts.flags == {f.decode() for f in expected[b"FLAGS"]}
                    assert parts.arrived == expected[b"INTERNALDATE"]
    finally:
        conn.close()
