"""One IMAP connection (heard.mail.imap.connection): what it sets up at login."""

from __future__ import annotations

from heard.mail.imap import Security, ServerSettings, connect
from heard.mail.imap.commands import imap_client
from tests.support.dovecot import MailUser


def test_imaplib_formats_no_debug_lines(mailuser: MailUser) -> None:
    """imapclient turns imaplib's debug output to level 5 (a repr of every line and
    literal read, for a logger Heard keeps quiet): a connection turns it off."""
    conn = connect(ServerSettings("127.0.0.1", mailuser.server.imap_port, Security.PLAIN,
                                  mailuser.name), mailuser.password)
    try:
        imap = imap_client(conn)._imap
        assert imap.debug == 0
        formatted: list[str] = []
        imap._mesg = lambda text, secs=None: formatted.append(text)
        mailuser.append(b"From: a@b.example\r\nSubject: s\r\n\r\nHi\r\n")
        assert conn.status("INBOX").uidnext == 2
        assert formatted == []
    finally:
        conn.close()
