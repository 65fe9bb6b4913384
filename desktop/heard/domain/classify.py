"""What an incoming message is: a client or a prospect waiting, a relayed call or form,
machine mail, or nothing Heard counts; and why, in one phrase.

Intake and `heard explain` share this one decision.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from heard.domain.clients import Channel, Client, ClientDirectory, normalize_email
from heard.domain.messages import MessageFacts, auto_generated_reason
from heard.domain.relayed import PatternSet, Relayed, RelayKind, recognise
from heard.domain.senders import ProspectRules, no_reply_sender, prospect_reason


class Verdict(StrEnum):
    INQUIRY = "inquiry"
    NOT_A_CLIENT = "not a client"
    AUTO_GENERATED = "auto-generated"
    OWN = "own message"


@dataclass(frozen=True)
class Person:
    """Who is behind an inquiry when they are not (yet) in the directory, or when a robot
    (a phone system, a website form) speaks for them."""

    name: str | None
    email: str | None
    phone: str | None           # E.164 when it parses
    via: str | None = None      # "website form (WPForms)", "voicemail (3CX)"
    withheld: bool = False      # a caller who withheld their number
    message: str = ""           # what they wrote or said (a form's text, a transcription)
    subject: str | None = None  # a form's subject field

    @property
    def label(self) -> str:
        return self.name or self.email or self.phone or "unknown caller"


@dataclass(frozen=True)
class Classification:
    verdict: Verdict
    reason: str
    client: Client | None = None
    channel: Channel | None = None
    prospect: bool = False          # a new person who may become a client
    person: Person | None = None    # set for prospects and relayed contacts

    @property
    def is_inquiry(self) -> bool:
        return self.verdict is Verdict.INQUIRY


# Where anyone can have an address: their domain says nothing about an organisation.
FREE_MAIL = frozenset({
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com",
    "yahoo.com", "ymail.com", "icloud.com", "me.com", "mac.com", "aol.com", "gmx.de",
    "gmx.net", "gmx.com", "web.de", "t-online.de", "proton.me", "protonmail.com",
    "pm.me", "mail.com", "zoho.com", "yandex.com", "yandex.ru", "fastmail.com",
    "posteo.de", "mailbox.org", "orange.fr", "free.fr", "laposte.net", "libero.it",
    "qq.com", "163.com", "naver.com",
})


def own_organisation(addresses: frozenset[str]) -> frozenset[str]:
    """The user's organisation's domains, read from their own addresses (a colleague at
    the same firm is never a prospect), leaving out free-mail providers."""
    domains = {a.rpartition("@")[2].lower() for a in addresses if "@" in a}
    return frozenset(d for d in domains if d and d not in FREE_MAIL)


@dataclass(frozen=True)
class Rules:
    """Everything classify needs besides the directory: the user's own addresses, the
    pattern sets that read voicemail and contact forms, the phone region, and who can
    never be a prospect (None: prospects are not looked for)."""

    own: frozenset[str] = frozenset()
    relayed: Sequence[PatternSet] = ()
    region: str = "US"
    prospects: ProspectRules | None = field(default_factory=ProspectRules)
    not_client_phones: frozenset[str] = frozenset()   # E.164 numbers


def classify(facts: MessageFacts, directory: ClientDirectory,
             rules: Rules | frozenset[str] = Rules()) -> Classification:
    """Decide whether an incoming message is someone waiting for an answer, and why."""
    if isinstance(rules, frozenset):
        rules = Rules(own=rules)
    sender = normalize_email(facts.from_addr)
    # First of all: a phone system or a web form is a robot speaking for a person, and
    # form plugins often send from the user's own address.
    relayed = recognise(facts, rules.relayed, rules.region) if rules.relayed else None
    if relayed is not None:
        return _relayed(relayed, directory, rules)
    if sender in rules.own:
        return Classification(Verdict.OWN, "own message")
    auto = auto_generated_reason(facts.auto_headers or {})
    if auto:
        return Classification(Verdict.AUTO_GENERATED, f"auto-generated: {auto}")
    if no_reply_sender(sender):  # even from a client's domain: a robot, not a person
        return Classification(Verdict.AUTO_GENERATED, "auto-generated: no-reply sender")
    client = directory.match_email(sender)
    if client is not None:
        if client.prospect:
            return Classification(Verdict.INQUIRY, "prospect writing again", client,
                                  Channel.EMAIL, prospect=True)
        return Classification(Verdict.INQUIRY, "client message", client, Channel.EMAIL)
    if rules.prospects is None:
        return Classification(Verdict.NOT_A_CLIENT, "not a client")
    is_prospect, reason = prospect_reason(facts, rules.prospects)
    if not is_prospect:
        return Classification(Verdict.NOT_A_CLIENT, reason)
    person = Person(facts.from_name or None, sender, None)
    return Classification(Verdict.INQUIRY, reason, None, Channel.EMAIL, prospect=True,
                          person=person)


def prospect_reason_for_address(address: str, rules: ProspectRules) -> tuple[bool, str]:
    """Whether the user's own lists rule out this address (for people a robot relays)."""
    address = normalize_email(address)
    domain = address.rpartition("@")[2]

    def within(domains: frozenset[str]) -> bool:
        return any(domain == d or domain.endswith("." + d)
                   for d in (x.lower().lstrip("@") for x in domains))

    if within(rules.internal_domains):
        return True, "your own organisation"
    if address in {normalize_email(a) for a in rules.not_clients}:
        return True, "on your not-a-client list"
    if within(rules.not_client_domains):
        return True, "domain on your not-a-client list"
    return False, ""


def _relayed(relayed: Relayed, directory: ClientDirectory, rules: Rules) -> Classification:
    voicemail = relayed.kind is RelayKind.VOICEMAIL
    via = f"voicemail ({relayed.label})" if voicemail else f"website form ({relayed.label})"
    person = Person(relayed.name, relayed.email, relayed.number, via, relayed.withheld,
                    relayed.message, relayed.subject)
    client = None
    if relayed.number:
        client = directory.match_phone(relayed.number, rules.region)
    if client is None and relayed.email:
        client = directory.match_email(relayed.email)
    # Email when there is an address to write to, else a call back.
    channel = Channel.CALL if voicemail or not relayed.email else Channel.EMAIL
    if client is not None and not client.prospect:
        what = "voicemail from a client" if voicemail else "a client wrote via a website form"
        return Classification(Verdict.INQUIRY, f"{what} ({relayed.label})", client, channel,
                              person=person)
    if rules.prospects is None and client is None:
        return Classification(Verdict.NOT_A_CLIENT, f"not a client ({via})", person=person)
    if client is None and relayed.number in rules.not_client_phones:
        return Classification(Verdict.NOT_A_CLIENT,
                              f"not a prospect: number on your not-a-client list ({via})",
                              person=person)
    if client is None and rules.prospects is not None and relayed.email:
        listed, why = prospect_reason_for_address(relayed.email, rules.prospects)
        if listed:
            return Classification(Verdict.NOT_A_CLIENT, f"not a prospect: {why} ({via})",
                                  person=person)
    if voicemail:
        reason = ("possible prospect: voicemail from a withheld number" if relayed.withheld
                  else "possible prospect: voicemail from an unknown number")
    else:
        reason = "possible prospect: website form"
        if not relayed.email and not relayed.number:
            reason += " (incomplete: no email or phone to answer)"
        elif not relayed.email:
            reason += " (no email: call back)"
    if client is not None:
        reason = "prospect again: " + reason.removeprefix("possible prospect: ")
    return Classification(Verdict.INQUIRY, f"{reason} ({relayed.label})", client, channel,
                          prospect=True, person=person)
