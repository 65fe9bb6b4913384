"""What an incoming message is: a client or a prospect waiting, a relayed call or form,
machine mail, or nothing Heard counts; and why, in one phrase.

Intake and `heard explain` share this one decision, taken in this order: a robot relaying
a person (voicemail, a web form); the user's own mail; mail a machine made beyond doubt
(heard.domain.senders.robot_reason), whoever sent it, so a client's own address can still
send an out-of-office and their domain's postmaster is nobody's client; then the
directory. A client's own address with weaker machine signs still counts, marked unsure
(`Classification.unsure`: never answered automatically); a sender matched only by the
client's domain counts only without any machine sign; anyone else is a possible prospect
by the prospect rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from heard.domain.clients import Channel, Client, ClientDirectory, normalize_email
from heard.domain.messages import MessageFacts, auto_generated_reason
from heard.domain.relayed import PatternSet, Relayed, RelayKind, recognise
from heard.domain.senders import ProspectRules, machine_reason, prospect_reason, robot_reason


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
    # Why it may be a robot after all, for an inquiry from a client's own address that
    # carries machine signs short of certain ones (a mailing service's header, an
    # unsubscribe footer): it counts and is shown, but nothing answers it automatically.
    unsure: str = ""

    @property
    def is_inquiry(self) -> bool:
        return self.verdict is Verdict.INQUIRY

    @property
    def sure(self) -> bool:
        """Whether the classifier is sure of this verdict (the autopilot acts only then)."""
        return not self.unsure


# The phrase of heard.domain.senders for a mailing service that relays the mail (Mailgun,
# Amazon SES, ...): a firm's people can send through one too.
_RELAY_SIGN = "mailing service ("

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
    if facts.from_also:
        # Read one way it is a client's, read another someone else's: a forgery's shape.
        return Classification(Verdict.NOT_A_CLIENT, f"From names two addresses ({sender}"
                              f" and {facts.from_also}): taken for nobody's")
    client = directory.match_email(sender)
    # Then what a machine made, for every sender and before the directory has a say: a
    # client's own address sends out-of-office replies, and their domain has a postmaster.
    robot = robot_reason(facts)
    if robot:
        return Classification(Verdict.AUTO_GENERATED, _robot_words(robot, facts, client, rules))
    if client is not None:
        what = "prospect writing again" if client.prospect else "client message"
        signs = machine_reason(facts)
        if signs and sender not in client.emails and not signs.startswith(_RELAY_SIGN):
            # Only the domain is the client's: mail from it is a person's unless a machine
            # sign says otherwise (newsletters, notifications, the ticket system). A
            # sending service alone is how some firms relay their people's mail: unsure.
            return Classification(Verdict.AUTO_GENERATED,
                                  f"auto-generated: {signs} (at {client.name}'s domain)")
        return Classification(Verdict.INQUIRY, what + (f" (unsure: {signs})" if signs else ""),
                              client, Channel.EMAIL, prospect=client.prospect,
                              unsure=signs or "")
    if rules.prospects is None:
        return Classification(Verdict.NOT_A_CLIENT, "not a client")
    is_prospect, reason = prospect_reason(facts, rules.prospects)
    if not is_prospect:
        return Classification(Verdict.NOT_A_CLIENT, reason)
    person = Person(facts.from_name or None, sender, None)
    return Classification(Verdict.INQUIRY, reason, None, Channel.EMAIL, prospect=True,
                          person=person)


def _robot_words(robot: str, facts: MessageFacts, client: Client | None,
                 rules: Rules) -> str:
    """The reason for machine mail, in the words each path has always used: "auto-generated:
    <sign>" for the RFC 3834 headers, a no-reply sender and anyone in the directory; for a
    stranger, the prospect rules' "not a prospect: <sign>" (or "not a client" without them)."""
    if (client is not None or robot == "no-reply sender"
            or auto_generated_reason(facts.auto_headers or {})):
        return f"auto-generated: {robot}"
    if rules.prospects is None:
        return "not a client"
    return f"not a prospect: {machine_reason(facts) or robot}"


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
