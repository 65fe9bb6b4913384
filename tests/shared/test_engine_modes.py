"""The engine on servers that cannot fully coordinate devices: no CONDSTORE, no keywords."""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime
from pathlib import Path

import pytest

from heard.config import ConfigFile
from heard.domain.clients import Client
from heard.engine import Engine
from heard.paths import Profile
from tests.outbox.conftest import sending_profile
from tests.shared.conftest import restrict
from tests.support.dovecot import Dovecot, MailUser
from tests.support.keyring import keyring_service, real_keyring  # noqa: F401
from tests.support.smtp import FaultySmtp

CLIENT = "margaret@hale.example"


def _engine(root: Path, me: MailUser, smtp: FaultySmtp, instance: str,
            designated: str = "") -> Engine:
    profile: Profile = sending_profile(root / instance, me, smtp.port, smtp.cert)
    ConfigFile(profile.config).set_many([("sharing", "instance", instance),
                                         ("sharing", "designated_instance", designated)])
    engine = Engine.open(profile)
    engine.add_client(Client("Margaret Hale", emails=(CLIENT,), preferred_name="Megge"))
    return engine


def _waiting(engine: Engine, me: MailUser) -> int:
    me.append((f"From: Margaret Hale <{CLIENT}>\r\nTo: {me.address}\r\nSubject: Lease\r\n"
               f"Message-ID: {email.utils.make_msgid(domain='hale.example')}\r\n"
               f"Date: {email.utils.format_datetime(datetime.now(UTC))}\r\n\r\nHi\r\n"
               ).encode())
    (inquiry_id,) = engine.sync().new_inquiries
    return int(inquiry_id)


def _flags(me: MailUser) -> set[str]:
    conn = me.client()
    try:
        conn.select_folder("INBOX", readonly=True)
        return {f.decode() for uid, f in conn.get_flags(conn.search(["ALL"])).items()
                for f in f}
    finally:
        conn.logout()


@pytest.mark.usefixtures("real_keyring")
def test_without_condstore_the_claim_still_guards_and_marks(
        tmp_path: Path, plain_dovecot: Dovecot, faulty_smtp: FaultySmtp) -> None:
    me = plain_dovecot.add_user()
    engine = _engine(tmp_path, me, faulty_smtp, "desk")
    try:
        (account,) = engine.settings.accounts
        assert "CONDSTORE" in engine.sharing.describe(account)   # says what is missing
        assert engine.acknowledge(_waiting(engine, me)).sent
        assert {"$HeardAcked", "$HeardBy_desk", "$HeardSending"} <= _flags(me)
    finally:
        engine.close()


@pytest.mark.usefixtures("real_keyring")
def test_a_server_that_keeps_no_keywords_lets_only_the_designated_device_send(
        tmp_path: Path, shared_dovecot: Dovecot, faulty_smtp: FaultySmtp) -> None:
    me = shared_dovecot.add_user()
    me.append(b"From: a@b.example\r\nAuto-Submitted: auto-generated\r\nSubject: hello\r\n"
              b"\r\nhello\r\n")   # so the Maildir exists
    restrict(me, "lrsitekx")               # everything but keywords ("w")
    lap = _engine(tmp_path, me, faulty_smtp, "lap", designated="desk")
    desk = _engine(tmp_path, me, faulty_smtp, "desk", designated="desk")
    try:
        inquiry_id = _waiting(lap, me)
        (account,) = lap.settings.accounts
        assert "keywords" in lap.sharing.describe(account)
        # The laptop passes its one-click acknowledgement to the desk, sends nothing itself.
        result = lap.acknowledge(inquiry_id)
        assert (result.sent, result.state) == (False, "requested")
        assert "'desk'" in result.error
        assert faulty_smtp.received == []
        desk.sync()                                  # the desk sends it, once
        desk.sync()
        assert len(faulty_smtp.received) == 1
        lap.sync()                                   # and the laptop sees it in Sent
        assert lap.status().count == 0
    finally:
        lap.close()
        desk.close()

