from __future__ import annotations

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from heard.mail.parse import MalformedMessage, parse_message
from tests.support.mail import message

HEADER_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)),
                      max_size=60)


def test_headers_threading_and_a_plain_preview() -> None:
    raw = message("Margaret Hale <Margaret@Hale.example>", "Closing   documents",
                  message_id="<m2@hale.example>", in_reply_to="<m1@hale.example>",
                  references="<m0@hale.example> <m1@hale.example>",
                  body="Can we talk today?\n\n> quoted old text\nThanks")
    facts = parse_message(raw)
    assert facts.from_addr == "margaret@hale.example"
    assert facts.from_name == "Margaret Hale"
    assert facts.subject == "Closing documents"
    assert facts.message_id == "<m2@hale.example>"
    assert facts.thread_ids == ("<m0@hale.example>", "<m1@hale.example>", "<m2@hale.example>")
    assert facts.preview == "Can we talk today? Thanks"
    assert facts.to == ("alex@morgan-law.example",)


def test_html_only_mail_gives_its_text_and_loads_nothing() -> None:
    raw = (b"From: a@b.example\r\nSubject: x\r\nContent-Type: text/html\r\n\r\n"
           b"<html><head><style>p{color:red}</style><script>alert(1)</script></head>"
           b"<body><img src='http://tracker.example/pixel.png'><p>Hello&nbsp;there</p>"
           b"<table><tr><td>Caller:</td><td>+1 555 0100</td></tr></table></body></html>")
    facts = parse_message(raw)
    assert facts.body_text == "Hello there\nCaller: +1 555 0100"
    assert facts.preview == "Hello there Caller: +1 555 0100"
    assert "tracker" not in facts.body_text and "alert" not in facts.body_text


def test_every_header_is_kept_once_by_lower_case_name() -> None:
    raw = message("a@b.example", headers={"X-Asterisk-VM-Caller-ID-Num": "5550100"})
    facts = parse_message(raw)
    assert facts.headers is not None
    assert facts.headers["x-asterisk-vm-caller-id-num"] == "5550100"
    assert facts.headers["from"] == "a@b.example"


def test_auto_headers_are_kept_for_the_verdict() -> None:
    raw = message("a@b.example", headers={"Auto-Submitted": "auto-replied",
                                          "List-Id": "<l.example>"})
    assert parse_message(raw).auto_headers == {"auto-submitted": "auto-replied",
                                               "list-id": "<l.example>"}


def test_heards_own_acknowledgement_header_is_recognised() -> None:
    raw = message("alex@morgan-law.example", headers={"X-Heard-Acknowledges": "<q@x>"})
    assert parse_message(raw).heard_acknowledges == "<q@x>"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"Subject: hi\r\n\r\nbody", "no From header"),
        (b"From: undisclosed\r\nSubject: hi\r\n\r\nbody", "no usable address"),
        (b"", "no From header"),
    ],
)
def test_unusable_mail_is_a_typed_error(raw: bytes, reason: str) -> None:
    with pytest.raises(MalformedMessage, match=reason):
        parse_message(raw)


def test_a_date_without_zone_is_taken_as_utc_and_a_bad_date_as_unknown() -> None:
    ok = parse_message(b"From: a@b.example\r\nDate: Wed, 25 Nov 2026 10:00:00 -0000\r\n\r\n")
    assert ok.date is not None and ok.date.utcoffset() is not None
    bad = parse_message(b"From: a@b.example\r\nDate: yesterday-ish\r\n\r\n")
    assert bad.date is None


def test_message_ids_with_control_characters_are_not_kept() -> None:
    raw = (b"From: a@b.example\r\nMessage-ID: <x\x00@b.example>\r\n"
           b"In-Reply-To: <ok@b.example> <bad\x7f@b.example>\r\nSubject: s\r\n\r\nhi")
    facts = parse_message(raw)
    assert facts.message_id == ""
    assert facts.in_reply_to == ("<ok@b.example>",)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(["From", "To", "Cc", "Subject", "Date", "Message-ID",
                             "References", "In-Reply-To", "Reply-To", "Content-Type"]),
       value=HEADER_TEXT, encode=st.booleans())
def test_no_header_value_makes_the_parser_raise_anything_but_malformed(
    name: str, value: str, encode: bool
) -> None:
    import base64

    text = (f"=?utf-8?b?{base64.b64encode(value.encode()).decode()}?=" if encode
            else value.replace("\r", " ").replace("\n", " "))
    raw = (f"From: a@b.example\r\n{name}: {text}\r\nSubject: s\r\n\r\nbody\r\n"
           ).encode("utf-8", "surrogateescape")
    try:
        facts = parse_message(raw)
    except MalformedMessage:
        return
    for header_value in (facts.subject, facts.from_addr, facts.reply_to, *facts.to):
        assert "\r" not in header_value and "\n" not in header_value


# Half a surrogate pair: what UTF-7 decodes "+2D0-" to, without complaint.
HALF_PAIR = "+2D0-"


def test_a_utf7_header_with_half_a_surrogate_pair_is_read_as_valid_text() -> None:
    raw = (f"From: =?utf-7?Q?Megge{HALF_PAIR}?= <margaret@hale.example>\r\n"
           f"Subject: =?utf-7?Q?Lease{HALF_PAIR}x?=\r\nMessage-ID: <u7@hale.example>\r\n"
           "\r\nHello\r\n").encode()
    facts = parse_message(raw)
    assert facts.from_addr == "margaret@hale.example"
    assert facts.subject == "Lease\ufffdx" and facts.from_name == "Megge\ufffd"
    facts.subject.encode("utf-8")   # no lone surrogate left: it can be stored and printed


def test_a_utf7_body_with_half_a_surrogate_pair_gives_valid_text() -> None:
    raw = (b"From: margaret@hale.example\r\nSubject: s\r\n"
           b"Content-Type: text/plain; charset=utf-7\r\n\r\nSee +2D0-x you\r\n")
    facts = parse_message(raw)
    assert facts.body_text == "See \ufffdx you\n" and facts.preview == "See \ufffdx you"


@settings(max_examples=200, deadline=None)
@given(charset=st.sampled_from(["utf-7", "utf-16", "utf-8", "latin-1", "shift_jis"]),
       data=st.binary(max_size=40), quoted=st.booleans())
def test_every_text_the_parser_gives_is_valid_unicode(charset: str, data: bytes,
                                                      quoted: bool) -> None:
    import base64

    word = (f"=?{charset}?Q?{''.join(f'={b:02X}' for b in data)}?=" if quoted
            else f"=?{charset}?B?{base64.b64encode(data).decode()}?=")
    raw = (f"From: {word} <a@b.example>\r\nSubject: {word}\r\n"
           f"Content-Type: text/plain; charset={charset}\r\n"
           "Content-Transfer-Encoding: base64\r\n\r\n").encode() + base64.b64encode(data)
    facts = parse_message(raw)
    for text in (facts.subject, facts.from_name, facts.body_text, facts.preview):
        text.encode("utf-8")


def _strict_other(raw: str, addr: str) -> str:
    """What the From reads as besides `addr`, with the strict parser always asked."""
    from email import policy

    from heard.mail.parse import _ANY_ANGLE

    found = {a.lower() for a in _ANY_ANGLE.findall(raw)}
    with contextlib.suppress(Exception):
        found |= {a.addr_spec.lower()
                  for a in policy.default.header_factory("from", raw).addresses
                  if a.addr_spec}
    return min((a for a in found if a != addr and "@" in a), default="")


@settings(max_examples=400, deadline=None)
@given(name=st.text(alphabet="ab .'\"-_=?@<>,()\\", max_size=8),
       local=st.text(alphabet="ab.+-=?_'!#", min_size=1, max_size=6),
       domain=st.text(alphabet="ab.-", min_size=1, max_size=6),
       shape=st.sampled_from(["{n} <{l}@{d}>", "{n}<{l}@{d}>", "{l}@{d}", '"{n}" <{l}@{d}>']))
def test_a_plain_from_is_read_as_the_strict_parser_reads_it(
        name: str, local: str, domain: str, shape: str) -> None:
    """The From-parses-two-ways rule asks the strict parser only of a From that is not
    one plain mailbox (parse._PLAIN_FROM): where it skips it, the answer is the same."""
    import email.utils

    from heard.mail.parse import _PLAIN_FROM, _other_address, valid_address

    raw = " ".join(shape.format(n=name, l=local, d=domain).split())
    addr = email.utils.parseaddr(raw)[1].lower()
    if _PLAIN_FROM.match(raw) and valid_address(addr):
        assert _other_address(raw, addr) == _strict_other(raw, addr)


def test_a_from_naming_two_addresses_is_still_told_with_plain_names_around() -> None:
    from heard.mail.parse import _PLAIN_FROM

    for raw in ("margaret@hale.example)<attacker@evil.example>",
                "Megge <margaret@hale.example>, <attacker@evil.example>",
                '"Megge" <margaret@hale.example> <attacker@evil.example>'):
        assert not _PLAIN_FROM.match(raw)
        facts = parse_message(f"From: {raw}\r\nSubject: s\r\n\r\nHi\r\n".encode())
        # Which of the two is the From depends on the Python's email parser (Debian 12's
        # 3.11.2 reads the first one the other way round): both are named, whichever it is.
        assert {facts.from_addr, facts.from_also} == {"margaret@hale.example",
                                                      "attacker@evil.example"}


def test_text_added_to_facts_read_from_the_headers_is_parse_message_of_it_all() -> None:
    """A first sync reads the headers, then fetches the start of a third of the texts:
    with_text gives what parsing the whole again would, without the headers twice."""
    from heard.mail.parse import with_text

    raw = message("Megge <margaret@hale.example>", "Lease", body="Could you call me?\n"
                  "> quoted\nThanks")
    head, _, _ = raw.partition(b"\r\n\r\n")
    assert with_text(parse_message(head + b"\r\n\r\n", with_preview=False), raw) == \
        parse_message(raw)


_MAILBOX_SHAPES = ["{n} <{l}@{d}>", "{n}<{l}@{d}>", "{l}@{d}", '"{n}" <{l}@{d}>', "<{l}@{d}>",
                   "({n}) {l}@{d}", "{l}@{d} ({n})", "{n} {l}@{d}"]
_names = st.text(alphabet="ab .'\"-_=?@<>,()\\é", max_size=8)
_locals = st.text(alphabet="ab.+-=?_'!#", min_size=1, max_size=6)
_domains = st.text(alphabet="ab.-", min_size=1, max_size=6)


@settings(max_examples=600, deadline=None)
@given(name=_names, local=_locals, domain=_domains, shape=st.sampled_from(_MAILBOX_SHAPES))
def test_a_plain_from_is_read_as_parseaddr_reads_it(
        name: str, local: str, domain: str, shape: str) -> None:
    """The From's name and address come from a regular expression when the header is one
    plain mailbox (parse._plain_mailbox): the same as email.utils.parseaddr's reading."""
    from heard.mail.parse import Headers, MalformedMessage, _address, _address_slowly

    raw = " ".join(shape.format(n=name, l=local, d=domain).split())
    try:
        slow: tuple[str, str] | str = _address_slowly(raw)
    except MalformedMessage as exc:
        slow = exc.reason
    try:
        fast: tuple[str, str] | str = _address(Headers([("From", raw)]))
    except MalformedMessage as exc:
        fast = exc.reason
    assert fast == slow


@settings(max_examples=600, deadline=None)
@given(boxes=st.lists(st.tuples(_names, _locals, _domains, st.sampled_from(_MAILBOX_SHAPES)),
                      max_size=4),
       cc=st.sampled_from(["", "b@c.example", "x, y@z.example", '"L, M" <l@m.example>']),
       sep=st.sampled_from([", ", ",", " , "]))
def test_plain_address_lists_are_read_as_getaddresses_reads_them(
        boxes: list[tuple[str, str, str, str]], cc: str, sep: str) -> None:
    from heard.mail.parse import _addresses, _addresses_slowly

    to = sep.join(shape.format(n=n, l=local, d=d) for n, local, d, shape in boxes)
    assert _addresses(to, cc) == _addresses_slowly(to, cc)
    assert _addresses(to) == _addresses_slowly(to)
