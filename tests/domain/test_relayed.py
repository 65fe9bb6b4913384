"""Recognising voicemail and contact-form notifications, on realistic samples of each system."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from heard.config.patterns import default_pattern_sets
from heard.domain.clients import Client, ClientDirectory
from heard.domain.messages import MessageFacts
from heard.domain.relayed import (
    Field,
    FieldRule,
    PatternSet,
    Relayed,
    RelayKind,
    Source,
    recognise,
)
from heard.mail.parse import parse_message
from tests.support.mail import message
from tests.support.samples import SAMPLES

SETS = default_pattern_sets()
VM = RelayKind.VOICEMAIL
CF = RelayKind.CONTACT_FORM


def voicemail(system: str, label: str, name: str | None, number: str | None,
              number_raw: str | None, message: str = "", *, withheld: bool = False) -> Relayed:
    return Relayed(kind=VM, system=system, label=label, name=name, number=number,
                   number_raw=number_raw, withheld=withheld, email=None, message=message,
                   complete=number is not None)


def form(system: str, label: str, name: str | None, email: str | None, message: str, *,
         number: str | None = None, number_raw: str | None = None,
         subject: str | None = None) -> Relayed:
    return Relayed(kind=CF, system=system, label=label, name=name, number=number,
                   number_raw=number_raw, withheld=False, email=email, message=message,
                   complete=email is not None, subject=subject)


EXPECTED: dict[str, Relayed] = {
    "voicemail/asterisk.eml": voicemail(
        "asterisk", "Asterisk voicemail", "Marcus Bell", "+16175550142", "6175550142"),
    "voicemail/asterisk-withheld.eml": voicemail(
        "asterisk", "Asterisk voicemail", None, None, "anonymous", withheld=True),
    "voicemail/asterisk-not-a-client.eml": voicemail(
        "asterisk", "Asterisk voicemail", "Rosalind Okafor", "+13125550199", "+13125550199"),
    "voicemail/freepbx.eml": voicemail(
        "freepbx", "FreePBX voicemail", "Marisol Vega", "+16175550123", "6175550123"),
    "voicemail/3cx.eml": voicemail(
        "3cx", "3CX voicemail", "Oliver Grant", "+13125550166", "3125550166"),
    "voicemail/ringcentral.eml": voicemail(
        "ringcentral", "RingCentral voicemail", None, "+16505550117", "(650) 555-0117",
        "Hi Dana, this is Theo Lindqvist. I got your name from my neighbour; my landlord is "
        "refusing to return my deposit and I'd like to talk about options. You can reach me "
        "at 650 555 0117. Thanks."),
    "voicemail/google-voice.eml": voicemail(
        "google-voice", "Google Voice voicemail", None, "+19175550134", "(917) 555-0134",
        "Hi, this is Grace Adeyemi calling about the closing on Friday. I need to move\n"
        "the signing to the afternoon if that's possible. Please call me back."),
    "voicemail/teams.eml": voicemail(
        "teams", "Microsoft Teams voicemail", "Elena Petrova", "+13125550187",
        "+1 312 555 0187",
        "Hello Dana, it's Elena Petrova from Northwind Logistics. We received the draft "
        "agreement and have two questions about clause nine. Could you call me back this "
        "afternoon? Thank you."),
    "voicemail/freeswitch.eml": voicemail(
        "freeswitch", "FreeSWITCH voicemail", "Nora Castellanos", "+15125550178",
        "15125550178"),
    "voicemail/freeswitch-notify.eml": voicemail(
        "freeswitch", "FreeSWITCH voicemail", "ACME Corp", "+14155550136", "14155550136"),
    "voicemail/freeswitch-legacy.eml": voicemail(
        "freeswitch", "FreeSWITCH voicemail", None, "+16465550119", "6465550119"),
    "contact_forms/cf7.eml": form(
        "cf7", "WordPress Contact Form 7", "Amelia Brooks", "amelia.brooks@example.net",
        "Hello,\n\nMy landlord sent me a renewal with a 30% increase and a new clause about\n"
        "early termination fees. Could we book a short call this week?\n\nThanks,\nAmelia",
        subject="Question about my lease renewal"),
    "contact_forms/cf7-other-address-in-message.eml": form(
        "cf7", "WordPress Contact Form 7", "Jonas Weber", "jonas.weber@example.org",
        "Hi Ms. Whitfield,\n\nWe are signing a supplier contract next week and would like it "
        "reviewed.\nPlease send the engagement letter to our office manager as well:\n"
        "From: Lena Hofmann <office@weber-bakery.example.com>",
        subject="Contract review for our bakery"),
    "contact_forms/wpforms.eml": form(
        "wpforms", "WPForms", "Samuel Otieno", "samuel.otieno@example.com",
        "My employer has not paid my final two weeks of salary.\n"
        "I have the contract and the payslips. What are my options?"),
    "contact_forms/gravity-forms.eml": form(
        "gravity-forms", "Gravity Forms", "Hiroshi Tanaka", "h.tanaka@example.jp",
        "We are buying our first house and the seller wants to close in ten days.\n"
        "Can you review the purchase agreement before Monday?",
        number="+12065550148", number_raw="(206) 555-0148"),
    "contact_forms/squarespace.eml": form(
        "squarespace", "Squarespace form", "Nadia Haddad", "nadia.haddad@example.org",
        "Hello,\nI was in a car accident last month and the other driver's insurer keeps "
        "calling me.\n\nShould I talk to them before speaking with a lawyer?",
        number="+14155550173", number_raw="(415) 555-0173"),
    "contact_forms/squarespace-no-email-field.eml": form(
        "squarespace", "Squarespace form", "Walter Nguyen", None,
        "Please call me about my father's estate. Mornings are best.",
        number="+15035550191", number_raw="+1 (503) 555-0191"),
    "contact_forms/wix.eml": form(
        "wix", "Wix form", "Carmen Ruiz", "carmen.ruiz@example.com",
        "I need help with a residency application for my mother. Do you offer consultations "
        "in Spanish?", number="+13055550152", number_raw="305-555-0152"),
    "contact_forms/google-forms.eml": form(
        "google-forms", "Google Forms", "Priya Raman", "priya.raman@example.com",
        "My business partner wants to dissolve our LLC and I need to understand my rights.",
        number="+14155550129", number_raw="415-555-0129"),
}


def facts_of(sample: str) -> MessageFacts:
    return parse_message((SAMPLES / sample).read_bytes())


def test_every_sample_has_its_expectation() -> None:
    on_disk = {str(p.relative_to(SAMPLES)) for p in SAMPLES.glob("*/*.eml")}
    assert on_disk == set(EXPECTED)


@pytest.mark.parametrize("sample", sorted(EXPECTED))
def test_each_sample_is_read_exactly(sample: str) -> None:
    assert recognise(facts_of(sample), SETS) == EXPECTED[sample]


@pytest.mark.parametrize("sample", sorted(EXPECTED))
def test_samples_are_real_looking_mime(sample: str) -> None:
    facts = facts_of(sample)
    headers = facts.headers or {}
    assert facts.message_id and facts.date is not None and facts.to
    assert {"from", "to", "subject", "date", "message-id"} <= set(headers)


def test_a_caller_who_is_not_a_client_is_still_read() -> None:
    directory = ClientDirectory([Client("Marcus Bell", phones=("+16175550142",))])
    relayed = recognise(facts_of("voicemail/asterisk-not-a-client.eml"), SETS)
    assert relayed is not None and relayed.number == "+13125550199"
    assert directory.match_phone(relayed.number) is None
    known = recognise(facts_of("voicemail/asterisk.eml"), SETS)
    assert known is not None and known.number is not None
    assert directory.match_phone(known.number) is not None


def test_the_submitters_address_comes_from_the_email_field_not_the_message() -> None:
    relayed = recognise(facts_of("contact_forms/cf7-other-address-in-message.eml"), SETS)
    assert relayed is not None
    assert "office@weber-bakery.example.com" in relayed.message
    assert relayed.email == "jonas.weber@example.org"


def test_a_form_without_an_email_field_never_gives_the_robots_address() -> None:
    facts = facts_of("contact_forms/squarespace-no-email-field.eml")
    relayed = recognise(facts, SETS)
    assert relayed is not None and relayed.email is None and not relayed.complete
    assert facts.from_addr == "form-submission@squarespace.info"


def test_forms_sent_from_the_users_own_address_do_not_give_it_back() -> None:
    # Google Apps Script sends from the form owner's account, and so does WordPress with
    # {admin_email}; with no email question the only address in sight is the owner's own.
    raw = message("Dana Whitfield <dana@whitfield.example>",
                  "New form response: Call back request", to="dana@whitfield.example",
                  headers={"Reply-To": "dana@whitfield.example"},
                  body="Full name: Ivo Petrov\nPhone number: 617-555-0108\n"
                       "Email: dana@whitfield.example\n\nView all responses: "
                       "https://docs.google.com/forms/d/abc/edit#responses\n")
    relayed = recognise(parse_message(raw), SETS)
    assert relayed is not None and relayed.system == "google-forms"
    assert relayed.email is None and relayed.number == "+16175550108"


def test_an_email_field_holding_two_addresses_is_not_guessed() -> None:
    raw = message("Squarespace <form-submission@squarespace.info>", "Form Submission - Contact",
                  body="Sent via form submission from Whitfield Law\n\nName: Ana Lima\n\n"
                       "Email: ana@example.com or ana.lima@example.org\n\nMessage: Hi\n")
    relayed = recognise(parse_message(raw), SETS)
    assert relayed is not None and relayed.name == "Ana Lima"
    assert relayed.email is None


def test_the_email_field_may_carry_a_display_name_and_noise() -> None:
    raw = message("Squarespace <form-submission@squarespace.info>", "Form Submission - Contact",
                  body="Sent via form submission from Whitfield Law\n\nName: Ana Lima\n\n"
                       "Email: Ana.Lima@Example.ORG, accepts marketing: true\n\nMessage: Hi\n")
    relayed = recognise(parse_message(raw), SETS)
    assert relayed is not None and relayed.email == "ana.lima@example.org"


@pytest.mark.parametrize("raw", [
    # A client mentioning a voicemail, in their own words.
    message("Marcus Bell <marcus@bell.example>", "Voicemail from yesterday",
            body="Hi Dana, I left you a voicemail yesterday. Call me at 617-555-0142.\n"),
    # A colleague forwarding a 3CX notification.
    message("Paul <paul@whitfield.example>", "Fwd: New Voicemail from Oliver Grant - 3125550166",
            body="See below.\n\nYou have received a new voice mail from \"Oliver Grant\"\n"),
    # A reply to Asterisk's notification: the person's Message-ID is not Asterisk's.
    message("Dana Whitfield <dana@whitfield.example>", "Re: [PBX]: New message 3 in mailbox 101",
            body="Did anyone call this person back?\n"),
    # Newsletters from the very companies whose robots are recognised.
    message("RingCentral <news@ringcentral.com>", "What's new: voicemail transcription in 12 "
            "languages", headers={"List-Unsubscribe": "<https://ringcentral.example/u>"},
            body="Your voicemail, now transcribed. Read more on our blog.\n"),
    message("Squarespace <no-reply@squarespace.info>", "Your weekly site report",
            body="Your site had 312 visits this week.\n"),
    message("Google Voice <voice-noreply@google.com>", "New text message from (917) 555-0134",
            body="<https://voice.google.com>\n\nAre you free at 3?\n"),
    message("WordPress <wordpress@whitfield.example>", "[Whitfield Law] Please moderate: "
            "\"Lease basics\"", body="A new comment on the post \"Lease basics\" is waiting "
            "for your approval\nAuthor: Spam Bot (IP address: 203.0.113.9)\nEmail: "
            "bot@example.com\n"),
], ids=["human-mentions-voicemail", "forwarded-3cx", "reply-to-asterisk", "newsletter-rc",
        "squarespace-report", "google-voice-text", "wordpress-comment"])
def test_human_mail_and_newsletters_are_not_recognised(raw: bytes) -> None:
    assert recognise(parse_message(raw), SETS) is None


@pytest.mark.parametrize(("subject", "name", "number", "withheld"), [
    ('Voicemail from "Nora Castellanos" <15125550178> 00:00:38', "Nora Castellanos",
     "+15125550178", False),
    ('Voicemail from "15125550178" <15125550178> 00:00:38', None, "+15125550178", False),
    ('Voicemail from "anonymous" <anonymous> 00:00:09', None, None, True),
    ("00:00:21 sec Voicemail from Nora Castellanos 15125550178", "Nora Castellanos",
     "+15125550178", False),
], ids=["named", "number-as-name", "anonymous", "legacy"])
def test_freeswitch_subjects_give_the_caller(subject: str, name: str | None,
                                             number: str | None, withheld: bool) -> None:
    raw = message('"Caller" <15125550178@pbx.example>', subject,
                  headers={"X-Mailer": "FreeSWITCH"}, body="Created: today\n")
    got = recognise(parse_message(raw), SETS)
    assert got is not None and got.system == "freeswitch"
    assert (got.name, got.number, got.withheld) == (name, number, withheld)


def _facts(subject: str = "", body: str = "", headers: dict[str, str] | None = None,
           from_addr: str = "robot@pbx.example", to: tuple[str, ...] = ()) -> MessageFacts:
    return MessageFacts(message_id="<x@pbx.example>", from_addr=from_addr, from_name="",
                        to=to, subject=subject, date=None, headers=headers or {},
                        body_text=body)


def _rule(source: Source, regex: str | None = None, header: str = "") -> FieldRule:
    pattern = re.compile(regex, re.IGNORECASE | re.MULTILINE) if regex else None
    return FieldRule(source, pattern, header)


def test_a_header_rule_for_an_absent_header_fails_the_match() -> None:
    needs = PatternSet("x", VM, "X", headers={"X-Caller": re.compile(".")},
                       fields={Field.NUMBER: (_rule(Source.HEADER, header="x-caller"),)})
    assert needs.headers == {"x-caller": needs.headers["x-caller"]}  # names kept lower-case
    assert recognise(_facts(), [needs]) is None
    got = recognise(_facts(headers={"x-caller": "+1 617 555 0142"}), [needs])
    assert got is not None and got.number == "+16175550142"


def test_the_first_matching_set_reads_the_message() -> None:
    broad = PatternSet("broad", CF, "Broad", body=re.compile("form"))
    narrow = PatternSet("narrow", VM, "Narrow", subject=re.compile("^voicemail", re.I))
    facts = _facts(subject="Voicemail", body="a form")
    first = recognise(facts, [narrow, broad])
    assert first is not None and first.system == "narrow"
    second = recognise(facts, [broad, narrow])
    assert second is not None and second.system == "broad"


def test_every_match_rule_must_match() -> None:
    both = PatternSet("both", VM, "Both", sender=re.compile("@pbx\\.example$"),
                      subject=re.compile("voicemail", re.I))
    assert recognise(_facts(subject="Voicemail"), [both]) is not None
    assert recognise(_facts(subject="Voicemail", from_addr="a@b.example"), [both]) is None
    assert recognise(_facts(subject="Hello"), [both]) is None


def test_the_first_rule_that_yields_a_usable_value_wins() -> None:
    rules = (_rule(Source.HEADER, header="x-name"),
             _rule(Source.SUBJECT, "from (?P<value>.*)$"),
             _rule(Source.BODY, "^Name: (?P<value>.+)$"))
    pset = PatternSet("x", VM, "X", subject=re.compile("."), fields={Field.NAME: rules})
    # The header is absent and the subject's value is a placeholder, so the body wins.
    got = recognise(_facts(subject="Voicemail from WIRELESS CALLER", body="Name: Ada Roe"),
                    [pset])
    assert got is not None and got.name == "Ada Roe"
    got = recognise(_facts(subject="Voicemail from Bo Li", body="Name: Ada Roe",
                           headers={"x-name": "Cy Park"}), [pset])
    assert got is not None and got.name == "Cy Park"


def test_value_groups_are_joined_for_first_and_last_names() -> None:
    rule = _rule(Source.BODY, r"(?s)^First: (?P<value>\S+)$.*?^Last: (?P<value2>\S+)$")
    pset = PatternSet("x", CF, "X", body=re.compile("First"), fields={Field.NAME: (rule,)})
    got = recognise(_facts(body="First: Carmen\nPhone: 1\nLast: Ruiz\n"), [pset])
    assert got is not None and got.name == "Carmen Ruiz"


def test_names_cannot_carry_a_header_injection() -> None:
    pset = PatternSet("x", VM, "X", subject=re.compile("."), fields={
        Field.NAME: (_rule(Source.HEADER, header="x-name"),),
        Field.NUMBER: (_rule(Source.HEADER, header="x-number"),)})
    got = recognise(_facts(subject="vm", headers={
        "x-name": "Eve Adams\r\nX-Injected: yes", "x-number": "617\r\n555\x000142"}), [pset])
    assert got is not None and got.name == "Eve Adams X-Injected: yes"
    assert got.number_raw == "617 555 0142" and got.number == "+16175550142"


@pytest.mark.parametrize(("raw", "name", "number", "withheld"), [
    ("Restricted", "Restricted", None, True),
    ("PRIVATE NUMBER", "PRIVATE NUMBER", None, True),
    ("", "Unknown", None, True),            # no number at all
    ("101", "Front desk", None, False),     # an internal extension: not withheld, not callable
    ("617-555-0142", "Cell Phone MA", "+16175550142", False),
])
def test_withheld_callers_and_placeholder_names(raw: str, name: str, number: str | None,
                                                withheld: bool) -> None:
    pset = PatternSet("x", VM, "X", subject=re.compile("."), fields={
        Field.NAME: (_rule(Source.HEADER, header="x-name"),),
        Field.NUMBER: (_rule(Source.HEADER, header="x-number"),)})
    got = recognise(_facts(subject="vm", headers={"x-name": name, "x-number": raw}), [pset])
    assert got is not None
    assert (got.number, got.withheld, got.complete) == (number, withheld, number is not None)
    placeholder = name in {"Restricted", "PRIVATE NUMBER", "Unknown", "Cell Phone MA"}
    assert got.name == (None if placeholder else name)


@pytest.mark.parametrize(("line", "name", "number_raw"), [
    ('"Marisol Vega" <6175550123>', "Marisol Vega", "6175550123"),
    ("WIRELESS CALLER (650) 555-0117", None, "(650) 555-0117"),
    ("3125550166 - Oliver Grant", "Oliver Grant", "3125550166"),
    ("an unknown caller", None, "an unknown caller"),
    ("jane@example.com", None, "jane@example.com"),
])
def test_a_rule_may_keep_the_whole_line(line: str, name: str | None,
                                        number_raw: str) -> None:
    whole = _rule(Source.BODY, "^From:(?P<value>.+)$")
    pset = PatternSet("x", VM, "X", body=re.compile("From"),
                      fields={Field.NAME: (whole,), Field.NUMBER: (whole,)})
    got = recognise(_facts(body=f"From: {line}\n"), [pset])
    assert got is not None and (got.name, got.number_raw) == (name, number_raw)


def test_numbers_without_a_country_code_follow_the_region() -> None:
    pset = PatternSet("x", VM, "X", subject=re.compile("."),
                      fields={Field.NUMBER: (_rule(Source.HEADER, header="x-number"),)})
    facts = _facts(subject="vm", headers={"x-number": "030 12345678"})
    berlin = recognise(facts, [pset], region="DE")
    assert berlin is not None and berlin.number == "+493012345678"


def test_a_set_must_say_how_to_recognise_its_mail() -> None:
    with pytest.raises(ValueError, match="at least one match rule"):
        PatternSet("greedy", VM, "Greedy")
    with pytest.raises(ValueError, match=r"\(\?P<value>"):
        FieldRule(Source.BODY, re.compile("Name: (.+)"))
    with pytest.raises(ValueError, match="header's name"):
        FieldRule(Source.HEADER)


_FRAGMENTS = st.sampled_from([
    "From: ", "Message Body:\n", "\n-- \n", "contact form", "Name: ", "Email: ", "Phone: ",
    "Message: ", "Sent via form submission from", "Transcription:", "play message",
    "<https://voice.google.com>", "There is a new voicemail in mailbox", "in mailbox 101 from ",
    "received a new voice mail from", "@", "<", ">", "\n", "\r\n", "\x00", "+1 (617) 555-0142",
    "a@b.example", "WIRELESS CALLER", "docs.google.com/forms", "First Name: ", "Last Name: ",
])
_TEXT = st.lists(st.one_of(_FRAGMENTS, st.text(max_size=40)), max_size=30).map("".join)
_SENDERS = st.sampled_from([
    "asterisk@pbx.example", "voice-noreply@google.com", "service@ringcentral.com",
    "form-submission@squarespace.info", "no-reply@crm.wix.com", "a@b.example"])


@settings(max_examples=300, deadline=None)
@given(subject=_TEXT, body=_TEXT, sender=_SENDERS,
       headers=st.dictionaries(
           st.sampled_from(["message-id", "content-class", "x-asterisk-callerid",
                            "x-asterisk-calleridname", "reply-to", "x-callingtelephonenumber",
                            "x-voicemessagesendername"]),
           st.one_of(st.sampled_from(["<Asterisk-1@x>", "voice-uc"]), _TEXT), max_size=5))
def test_recognise_never_raises_on_arbitrary_text(subject: str, body: str, sender: str,
                                                  headers: dict[str, str]) -> None:
    facts = _facts(subject=subject, body=body, headers=headers, from_addr=sender,
                   to=("dana@whitfield.example",))
    relayed = recognise(facts, SETS)
    if relayed is None:
        return
    if relayed.email is not None:
        assert relayed.email == relayed.email.lower()
        assert relayed.email not in {sender, "dana@whitfield.example"}
    for line in (relayed.name, relayed.number_raw, relayed.subject):
        assert line is None or not any(ch < " " for ch in line)
    wants = relayed.number if relayed.kind is VM else relayed.email
    assert relayed.complete == (wants is not None)
