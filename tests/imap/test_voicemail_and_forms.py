"""Voicemail and contact-form notifications through real IMAP intake (a Dovecot on
loopback), and `heard explain` on the same sample files.

A robot (a phone system, a website) sends these; the person is in the text. Intake must
make the person the contact: a caller is matched to a client by number or becomes a
prospect, a form's submitter becomes a prospect at their own address, and no reply is
ever addressed to the robot.

The samples are dated 25-26 Nov 2026 and the engine runs on the wall clock. Intake dates
a message min(Date, INTERNALDATE) and skips what lies before its 30-day window, so
appending with an INTERNALDATE of now (`at=`) cannot bring an old Date back into the
window: a sample whose Date has fallen out of it is given a fresh Date instead.
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from heard.config import ConfigFile
from heard.domain.clients import Channel, Client
from heard.engine import Engine, EngineError
from heard.system.paths import Profile
from tests.cli.test_cli import _restore_logging, run_json  # noqa: F401  (autouse fixture)
from tests.support.dovecot import MailUser
from tests.support.imap import imap_profile

SAMPLES = Path(__file__).parent.parent / "samples"
WINDOW = timedelta(days=30)

# voicemail sample -> (caller's name as the system gives it, number in E.164, the same
# number as a client's card has it: national, so the user's phone_region matters)
CALLERS: dict[str, tuple[str | None, str, str]] = {
    "3cx.eml": ("Oliver Grant", "+13125550166", "(312) 555-0166"),
    "asterisk.eml": ("Marcus Bell", "+16175550142", "617-555-0142"),
    "asterisk-not-a-client.eml": ("Rosalind Okafor", "+13125550199", "312 555 0199"),
    "freepbx.eml": ("Marisol Vega", "+16175550123", "(617) 555-0123"),
    "google-voice.eml": (None, "+19175550134", "917.555.0134"),
    "ringcentral.eml": (None, "+16505550117", "650-555-0117"),
    "teams.eml": ("Elena Petrova", "+13125550187", "312-555-0187"),
}
WITHHELD = "asterisk-withheld.eml"
LABELS = {"3cx.eml": "3CX voicemail", "asterisk.eml": "Asterisk voicemail",
          "asterisk-not-a-client.eml": "Asterisk voicemail", WITHHELD: "Asterisk voicemail",
          "freepbx.eml": "FreePBX voicemail", "google-voice.eml": "Google Voice voicemail",
          "ringcentral.eml": "RingCentral voicemail", "teams.eml": "Microsoft Teams voicemail"}

# contact-form sample -> (submitter's name, submitter's address, form's label)
SUBMITTERS: dict[str, tuple[str, str, str]] = {
    "cf7.eml": ("Amelia Brooks", "amelia.brooks@example.net", "WordPress Contact Form 7"),
    "cf7-other-address-in-message.eml": ("Jonas Weber", "jonas.weber@example.org",
                                         "WordPress Contact Form 7"),
    "google-forms.eml": ("Priya Raman", "priya.raman@example.com", "Google Forms"),
    "gravity-forms.eml": ("Hiroshi Tanaka", "h.tanaka@example.jp", "Gravity Forms"),
    "squarespace.eml": ("Nadia Haddad", "nadia.haddad@example.org", "Squarespace form"),
    "wix.eml": ("Carmen Ruiz", "carmen.ruiz@example.com", "Wix form"),
    "wpforms.eml": ("Samuel Otieno", "samuel.otieno@example.com", "WPForms"),
}
NO_EMAIL = "squarespace-no-email-field.eml"
NO_EMAIL_CALLER = ("Walter Nguyen", "+15035550191")


def test_the_tables_cover_every_sample() -> None:
    assert {p.name for p in (SAMPLES / "voicemail").glob("*.eml")} == {*CALLERS, WITHHELD}
    assert {p.name for p in (SAMPLES / "contact_forms").glob("*.eml")} == {*SUBMITTERS,
                                                                          NO_EMAIL}


def voicemail(name: str) -> Path:
    return SAMPLES / "voicemail" / name


def form(name: str) -> Path:
    return SAMPLES / "contact_forms" / name


def header(raw: bytes, name: str) -> str:
    found = re.search(rb"^" + name.encode() + rb": *([^\r\n]*)", raw, re.M | re.I)
    assert found, name
    return found.group(1).decode()


def sample_date(raw: bytes) -> datetime:
    return email.utils.parsedate_to_datetime(header(raw, "Date"))


def deliverable(path: Path, now: datetime) -> bytes:
    """The sample as a phone system or website sends it today: dated a few minutes before
    it reaches the server (the samples' own dates lie in the past)."""
    raw = path.read_bytes()
    offset = sorted(p.name for p in path.parent.glob("*.eml")).index(path.name)
    fresh = email.utils.format_datetime(now - timedelta(minutes=5 + offset)).encode()
    return re.sub(rb"^Date: [^\r\n]*", b"Date: " + fresh, raw, count=1, flags=re.M)


def open_engine(root: Path, user: MailUser, *, dana: bool = False) -> Engine:
    """An IMAP profile whose numbers written without a country code are American; with
    `dana`, also the address the samples are sent to (and some forms are sent from)."""
    profile = imap_profile(root, user)
    file = ConfigFile(profile.config)
    if dana:
        file.set("user", "addresses", [user.address, "dana@whitfield.example"])
    file.set("user", "phone_region", "US")
    return Engine.open(profile)


@pytest.fixture
def engine(tmp_path: Path, mailuser: MailUser, real_keyring: object) -> Iterator[Engine]:
    engine = open_engine(tmp_path / "profile", mailuser)
    yield engine
    engine.close()


@pytest.fixture
def dana_engine(tmp_path: Path, mailuser: MailUser, real_keyring: object
                ) -> Iterator[Engine]:
    engine = open_engine(tmp_path / "profile", mailuser, dana=True)
    yield engine
    engine.close()


def take_in(engine: Engine, user: MailUser, *paths: Path) -> list[Any]:
    """APPEND the samples to INBOX as a phone system's mail would arrive, sync once, and
    return the new waiting items (oldest first)."""
    now = datetime.now(UTC).replace(microsecond=0)
    for path in paths:
        raw = deliverable(path, now)
        user.append(raw, at=now)
        assert min(sample_date(raw), now) > now - WINDOW
    report = engine.sync()
    assert report.errors == [] and report.skipped == []
    assert len(report.new_inquiries) == len(paths)
    items = {i.inquiry.id: i for i in engine.status().waiting}
    for path, inquiry_id in zip(sorted(paths, key=lambda p: sample_date(
            deliverable(p, now))), report.new_inquiries, strict=False):
        # When the call or the form came: its Date, a few minutes before the arrival.
        received = items[inquiry_id].inquiry.received_at
        assert received == sample_date(deliverable(path, now)), path.name
    return [items[i] for i in report.new_inquiries]


# voicemail


@pytest.mark.parametrize("sample", sorted(CALLERS))
def test_voicemail_from_a_clients_number_is_a_call_from_that_client(
        engine: Engine, mailuser: MailUser, sample: str) -> None:
    name, number, as_written = CALLERS[sample]
    client = engine.clients.add(Client("Harbor Freight Partners", emails=("ops@harbor.example",),
                                      phones=(as_written,), tier="vip"))
    assert client.phones == (number,)   # the card's number, read in the user's region

    (item,) = take_in(engine, mailuser, voicemail(sample))

    assert item.inquiry.channel is Channel.CALL
    assert item.client.id == client.id and not item.client.prospect
    assert item.inquiry.sender == number
    assert item.inquiry.subject == f"Voicemail from {name or number}"
    assert [c.id for c in engine.clients.all()] == [client.id]   # no prospect on the side
    # An acknowledgement goes to the client's address, never to the phone system.
    assert engine.replies.acknowledge(item.inquiry.id, dry_run=True).to == "ops@harbor.example"


@pytest.mark.parametrize("sample", sorted(CALLERS))
def test_voicemail_from_an_unknown_number_makes_a_prospect(
        engine: Engine, mailuser: MailUser, sample: str) -> None:
    name, number, _written = CALLERS[sample]
    engine.clients.add(Client("Someone Else", phones=("(212) 555-0100",)))

    (item,) = take_in(engine, mailuser, voicemail(sample))

    prospect = item.client
    assert item.inquiry.channel is Channel.CALL
    assert prospect.prospect is True and prospect.tier == "prospect"
    assert prospect.name == (name or number)
    assert prospect.phones == (number,) and prospect.emails == ()
    assert prospect.channel is Channel.CALL
    assert prospect.preferences.get("via") == f"voicemail ({LABELS[sample]})"
    assert item.inquiry.sender == number
    # A caller who is not a client has no address: there is no one to write to, and
    # certainly not the phone system; acknowledging becomes a promise to call back.
    reply = engine.replies.acknowledge(item.inquiry.id, dry_run=True)
    robot = email.utils.parseaddr(header(voicemail(sample).read_bytes(), "From"))[1]
    assert (reply.to, reply.message_id, reply.call_back) == ("", "", f"tel:{number}")
    assert robot not in repr(reply)


def test_voicemail_from_a_withheld_number_is_a_prospect_call_with_no_number(
        engine: Engine, mailuser: MailUser) -> None:
    (item,) = take_in(engine, mailuser, voicemail(WITHHELD))

    assert item.inquiry.channel is Channel.CALL
    assert item.client.prospect is True and item.client.tier == "prospect"
    assert item.client.phones == () and item.client.emails == ()
    assert item.inquiry.sender == ""
    assert item.inquiry.subject == "Voicemail from unknown caller"
    with pytest.raises(EngineError, match="left no number and no address"):
        engine.replies.acknowledge(item.inquiry.id, dry_run=True)


def test_the_same_unknown_caller_twice_is_one_prospect(
        engine: Engine, mailuser: MailUser) -> None:
    first = voicemail("asterisk.eml").read_bytes()
    again = first.replace(b"<Asterisk-3-1804289383", b"<Asterisk-4-1804289384")
    now = datetime.now(UTC).replace(microsecond=0)
    mailuser.append(deliverable(voicemail("asterisk.eml"), now), at=now)
    engine.sync()
    mailuser.append(again, at=now)
    engine.sync()
    status = engine.status()
    assert len(status.waiting) == 2 and status.count == 1
    (prospect,) = [c for c in engine.clients.all() if c.prospect]
    assert prospect.phones == ("+16175550142",)


# contact forms


@pytest.mark.parametrize("sample", sorted(SUBMITTERS))
def test_a_contact_form_makes_a_prospect_answered_at_the_submitters_address(
        engine: Engine, mailuser: MailUser, sample: str) -> None:
    name, address, _label = SUBMITTERS[sample]
    robot = email.utils.parseaddr(header(form(sample).read_bytes(), "From"))[1]
    assert robot != address

    (item,) = take_in(engine, mailuser, form(sample))

    prospect = item.client
    assert prospect.prospect is True and prospect.tier == "prospect"
    assert (prospect.name, prospect.emails) == (name, (address,))
    assert item.inquiry.channel is Channel.EMAIL
    assert item.inquiry.sender == address and item.inquiry.reply_address == address
    assert robot not in prospect.emails
    assert all(not c.emails or robot not in c.emails for c in engine.clients.all())
    reply = engine.replies.acknowledge(item.inquiry.id, dry_run=True)
    assert reply.to == address


# Form plugins often send from the user's own address (classify recognises relayed mail
# before it looks for own messages, and `heard explain` does find these forms). Over IMAP
# the intake fetches no text for mail from the user's own address (intake.needs_text), so
# the form is never recognised and the submitter is lost as "own message".
@pytest.mark.parametrize("sample", ["google-forms.eml", "gravity-forms.eml", "wpforms.eml"])
def test_a_form_sent_from_the_users_own_address_is_still_a_form(
        dana_engine: Engine, mailuser: MailUser, sample: str) -> None:
    name, address, _label = SUBMITTERS[sample]
    raw = form(sample).read_bytes()
    assert email.utils.parseaddr(header(raw, "From"))[1] == "dana@whitfield.example"
    (item,) = take_in(dana_engine, mailuser, form(sample))
    assert (item.client.name, item.client.emails) == (name, (address,))
    assert dana_engine.replies.acknowledge(item.inquiry.id, dry_run=True).to == address


def test_a_form_sent_from_the_users_own_address_is_recognised_by_explain(
        dana_engine: Engine) -> None:
    for sample in ("google-forms.eml", "gravity-forms.eml", "wpforms.eml"):
        found = dana_engine.intake.explain(form(sample).read_bytes())
        assert found.verdict is not None and found.verdict.is_inquiry, sample
        assert found.verdict.person is not None
        assert found.verdict.person.email == SUBMITTERS[sample][1]


def test_a_form_whose_message_names_another_address_still_replies_to_the_submitter(
        engine: Engine, mailuser: MailUser) -> None:
    (item,) = take_in(engine, mailuser, form("cf7-other-address-in-message.eml"))
    # The office manager's address is part of what Jonas wrote, not who wrote.
    assert "office@weber-bakery.example.com" in item.inquiry.preview
    assert item.inquiry.subject == "Contract review for our bakery"
    assert engine.replies.acknowledge(item.inquiry.id, dry_run=True).to == "jonas.weber@example.org"
    assert [c.emails for c in engine.clients.all()] == [("jonas.weber@example.org",)]


def test_a_form_without_an_email_field_is_a_call_back_never_a_reply_to_the_robot(
        engine: Engine, mailuser: MailUser) -> None:
    (item,) = take_in(engine, mailuser, form(NO_EMAIL))

    name, number = NO_EMAIL_CALLER
    assert item.inquiry.channel is Channel.CALL
    assert item.client.prospect is True
    assert (item.client.name, item.client.phones, item.client.emails) == (name, (number,), ())
    assert item.inquiry.sender == number
    reply = engine.replies.acknowledge(item.inquiry.id, dry_run=True)
    assert "squarespace" not in repr(reply).lower()
    assert (reply.to, reply.call_back) == ("", f"tel:{number}")
    # Acknowledging for real: a promise to call back, and the caller is still waiting.
    engine.replies.acknowledge(item.inquiry.id)
    status = engine.status()
    (promise,) = status.promises
    assert promise.promise.text.startswith("call back by ")
    assert [w.inquiry.id for w in status.waiting] == [item.inquiry.id]
    with pytest.raises(EngineError, match="already promised"):
        engine.replies.acknowledge(item.inquiry.id)


def test_a_client_who_writes_through_the_website_form_is_that_client(
        engine: Engine, mailuser: MailUser) -> None:
    client = engine.clients.add(Client("Amelia Brooks", emails=("amelia.brooks@example.net",)))
    (item,) = take_in(engine, mailuser, form("cf7.eml"))
    assert item.client.id == client.id and not item.client.prospect
    reply = engine.replies.acknowledge(item.inquiry.id, dry_run=True)
    assert reply.to == "amelia.brooks@example.net"


def test_every_sample_in_one_mailbox_is_one_contact_each(
        engine: Engine, mailuser: MailUser) -> None:
    paths = sorted([*(SAMPLES / "voicemail").glob("*.eml"),
                    *(SAMPLES / "contact_forms").glob("*.eml")])
    items = take_in(engine, mailuser, *paths)
    assert len(items) == 16
    assert engine.status().count == 16
    assert sorted(i.inquiry.channel.value for i in items) == ["call"] * 9 + ["email"] * 7
    assert all(i.client.prospect for i in items)


# heard explain


def expected_explain(path: Path) -> dict[str, Any]:
    if path.parent.name == "voicemail":
        label = LABELS[path.name]
        if path.name == WITHHELD:
            return {"channel": "call", "caller": {"name": None, "number": None,
                                                  "withheld": True},
                    "reason": f"possible prospect: voicemail from a withheld number ({label})"}
        name, number, _written = CALLERS[path.name]
        return {"channel": "call", "caller": {"name": name, "number": number,
                                              "withheld": False},
                "reason": f"possible prospect: voicemail from an unknown number ({label})"}
    if path.name == NO_EMAIL:
        return {"channel": "call", "caller": None, "email": None,
                "reason": "possible prospect: website form (no email: call back)"
                          " (Squarespace form)"}
    _name, address, label = SUBMITTERS[path.name]
    return {"channel": "email", "caller": None, "email": address,
            "reason": f"possible prospect: website form ({label})"}


@pytest.mark.parametrize("path", sorted([*(SAMPLES / "voicemail").glob("*.eml"),
                                         *(SAMPLES / "contact_forms").glob("*.eml")]),
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_explain_says_what_each_sample_is(capsys: pytest.CaptureFixture[str],
                                          tmp_path: Path, path: Path) -> None:
    expected = expected_explain(path)
    (found,) = run_json(capsys, "--profile", str(tmp_path / "p"), "explain",
                        str(path))["messages"]
    assert found["file"] == str(path)
    assert found["inquiry"] is True
    assert found["prospect"] is True
    assert found["client"] is None
    assert found["channel"] == expected["channel"]
    assert found["caller"] == expected["caller"]
    assert found["reason"] == expected["reason"]
    assert found["auto_generated"] is False
    if "email" in expected:
        assert found["person"]["email"] == expected["email"]
        assert found["person"]["email"] != email.utils.parseaddr(found["from"])[1]
    # Nothing was stored: explaining is not intake.
    assert run_json(capsys, "--profile", str(tmp_path / "p"), "status")["count"] == 0


def test_explain_names_the_client_a_voicemail_is_from(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    root = str(tmp_path / "p")
    Profile(Path(root)).create()
    ConfigFile(Path(root) / "heard.toml").set("user", "phone_region", "US")
    run_json(capsys, "--profile", root, "clients", "add", "Marcus Bell",
             "--phone", "617-555-0142")
    (found,) = run_json(capsys, "--profile", root, "explain",
                        str(voicemail("asterisk.eml")))["messages"]
    assert found["client"]["name"] == "Marcus Bell"
    assert found["prospect"] is False
    assert found["channel"] == "call"
    assert found["reason"] == "voicemail from a client (Asterisk voicemail)"
    assert found["caller"] == {"name": "Marcus Bell", "number": "+16175550142",
                               "withheld": False}
