"""Ways a reply leaves Heard (heard.mail.transport): every transport is idempotent on the
Message-ID."""

from __future__ import annotations

from heard.mail.transport import MaildirTransport
from tests.support.mail import MailFolders


def test_delivering_the_same_message_id_twice_keeps_one_copy(mail: MailFolders) -> None:
    transport = MaildirTransport("t", mail.outbox)
    transport.send(b"Subject: x\r\n\r\nbody\r\n", "<same@x>")
    transport.send(b"Subject: x\r\n\r\nbody\r\n", "<same@x>")
    assert len(mail.outbox_messages()) == 1
