"""Helpers of the engine's tests on tests/conftest.py's profile (one Maildir account, a fixed
clock at NOW, three clients): a client who waits, and an assistant."""

from __future__ import annotations

from datetime import timedelta

from heard import config
from heard.config import ConfigFile
from heard.domain.ids import InquiryId
from heard.engine import Engine
from tests.conftest import NOW
from tests.support.mail import MEGGE, SAM, MailFolders, drop, message


def client_waits(engine: Engine, mail: MailFolders, sender: str = MEGGE,
                 subject: str = "Closing documents", *, mid: str = "<q2@hale.example>",
                 ago: int = 4, body: str = "Could you have a look?") -> InquiryId:
    """`sender` writes again in a thread (after <q1@hale.example>), `ago` minutes before NOW,
    and a sync takes it in: the one new inquiry."""
    drop(mail.inbox, message(sender, subject, message_id=mid, in_reply_to="<q1@hale.example>",
                             references="<q1@hale.example>", body=body),
         NOW - timedelta(minutes=ago))
    [inquiry_id] = engine.sync().new_inquiries
    return inquiry_id


def lease_waits(engine: Engine, mail: MailFolders, ago: int = 4) -> InquiryId:
    """Megge asks about the lease: "Can we sign on Friday?"."""
    return client_waits(engine, mail, subject="Lease", ago=ago, body="Can we sign on Friday?")


def add_assistant(engine: Engine) -> None:
    """Sam Reed is the user's assistant, in heard.toml and in the settings in force."""
    file = ConfigFile(engine.profile.config)
    file.set("assistant", "name", "Sam Reed")
    file.set("assistant", "address", SAM)
    engine.settings = config.load(engine.profile.config)
