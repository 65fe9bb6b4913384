"""The shipped pattern files, and the user's own patterns.toml on top of them."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from heard.config.patterns import (
    SHIPPED_FILES,
    PatternError,
    default_pattern_sets,
    load_pattern_sets,
)
from heard.domain.relayed import RelayKind, recognise
from heard.mail.parse import parse_message
from tests.support.mail import message
from tests.support.samples import SAMPLES

SHIPPED_NAMES = ["freepbx", "asterisk", "3cx", "ringcentral", "google-voice", "freeswitch",
                 "teams", "cf7", "wpforms", "gravity-forms", "squarespace", "wix", "google-forms"]

VONAGE = """
[voicemail.vonage]
label = "Vonage voicemail"

[voicemail.vonage.match]
sender = '@vonagebusiness\\.com$'
subject = '^New Voicemail from'

[voicemail.vonage.fields]
number = [ { body = '^From: (?P<value>.+)$' } ]
message = [ { body = '(?s)^Transcript:\\s*(?P<value>.+)' } ]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "patterns.toml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str) -> str:
    with pytest.raises(PatternError) as caught:
        load_pattern_sets(write(tmp_path, text))
    return str(caught.value)


def test_the_shipped_files_are_packaged_resources() -> None:
    for path in SHIPPED_FILES:
        assert resources.files("heard.resources").joinpath(path).is_file()


def test_the_shipped_sets_load_in_order_with_their_kinds() -> None:
    sets = default_pattern_sets()
    assert [s.name for s in sets] == SHIPPED_NAMES
    assert {s.name for s in sets if s.kind is RelayKind.VOICEMAIL} == set(SHIPPED_NAMES[:7])
    assert all(s.label and s.fields for s in sets)


def test_shipped_regexes_ignore_case_and_read_lines() -> None:
    cf7 = next(s for s in default_pattern_sets() if s.name == "cf7")
    assert cf7.body is not None
    assert cf7.body.search("message body:\ntext\n-- \nsent from a CONTACT FORM")


def test_without_a_user_file_the_defaults_are_used(tmp_path: Path) -> None:
    assert [s.name for s in load_pattern_sets(tmp_path / "patterns.toml")] == SHIPPED_NAMES


def test_a_user_set_is_added_and_tried_first(tmp_path: Path) -> None:
    sets = load_pattern_sets(write(tmp_path, VONAGE))
    assert [s.name for s in sets] == ["vonage", *SHIPPED_NAMES]
    raw = message("Vonage <voicemail@vonagebusiness.com>", "New Voicemail from (310) 555-0199",
                  body="You have a new voicemail.\nFrom: (310) 555-0199\n"
                       "Transcript: Please call me about the lease.\n")
    relayed = recognise(parse_message(raw), sets)
    assert relayed is not None and relayed.system == "vonage"
    assert relayed.number == "+13105550199"
    assert relayed.message == "Please call me about the lease."


def test_a_user_set_replaces_the_shipped_set_of_the_same_name(tmp_path: Path) -> None:
    own = """
[voicemail.3cx]
label = "Our 3CX"
[voicemail.3cx.match]
subject = '^Voicemail for'
[voicemail.3cx.fields]
number = [ { subject = 'caller (?P<value>[\\d ]+)$' } ]
"""
    sets = load_pattern_sets(write(tmp_path, own))
    assert [s.name for s in sets].count("3cx") == 1 and sets[0].label == "Our 3CX"
    ours = parse_message(message("pbx@whitfield.example", "Voicemail for 101, caller 617 555 0142"))
    relayed = recognise(ours, sets)
    assert relayed is not None and relayed.label == "Our 3CX"
    assert relayed.number == "+16175550142"
    # The shipped 3CX wording is no longer recognised: the user's set replaced it.
    assert recognise(parse_message((SAMPLES / "voicemail/3cx.eml").read_bytes()), sets) is None


def test_enabled_false_turns_a_shipped_set_off(tmp_path: Path) -> None:
    sets = load_pattern_sets(write(tmp_path, "[voicemail.teams]\nenabled = false\n"))
    assert "teams" not in [s.name for s in sets] and len(sets) == len(SHIPPED_NAMES) - 1
    teams = parse_message((SAMPLES / "voicemail/teams.eml").read_bytes())
    assert recognise(teams, default_pattern_sets()) is not None
    assert recognise(teams, sets) is None


def test_case_sensitive_sets_say_so(tmp_path: Path) -> None:
    own = VONAGE.replace('label = "Vonage voicemail"',
                         'label = "Vonage voicemail"\ncase_sensitive = true')
    sets = load_pattern_sets(write(tmp_path, own))
    shouting = parse_message(message("voicemail@vonagebusiness.com",
                                     "NEW VOICEMAIL FROM (310) 555-0199",
                                     body="From: (310) 555-0199\n"))
    assert recognise(shouting, sets[:1]) is None
    assert recognise(shouting, load_pattern_sets(write(tmp_path, VONAGE))[:1]) is not None


def test_a_bad_regex_names_the_file_the_key_and_the_fix(tmp_path: Path) -> None:
    text = problems(tmp_path, VONAGE.replace("[ { body = '^From: (?P<value>.+)$' } ]",
                                             "[ { body = '^From: (?P<value>.+$' } ]")
                    .replace("voicemail.vonage", "voicemail.3cx"))
    assert "patterns.toml: voicemail.3cx.fields.number[0]: bad regex: missing )" in text
    assert "single quotes" in text


def test_a_missing_label_and_a_missing_match_are_both_reported(tmp_path: Path) -> None:
    err_text = problems(tmp_path, """
[voicemail.mine.fields]
number = [ { header = "x-caller" } ]
""")
    lines = err_text.splitlines()
    assert len(lines) == 2
    assert lines[0].endswith('voicemail.mine: needs a label = "..." (the name people see, '
                             'like "Asterisk voicemail")')
    assert "voicemail.mine.match: needs at least one of sender, subject, body or headers" \
        in lines[1]


def test_a_field_regex_without_a_value_group_is_refused(tmp_path: Path) -> None:
    text = problems(tmp_path, VONAGE.replace("(?P<value>.+)$' } ]", "(.+)$' } ]"))
    assert "voicemail.vonage.fields.number[0]: the regex needs a named group (?P<value>...)" \
        in text


@pytest.mark.parametrize(("bad", "expected"), [
    (VONAGE.replace("label =", "lable ="), "voicemail.vonage.lable: unknown key 'lable': "
                                           "did you mean 'label'?"),
    (VONAGE.replace("[voicemail.", "[voicemails."), "voicemails: unknown key 'voicemails': "
                                                    "did you mean 'voicemail'?"),
    (VONAGE.replace("number = [", "phone = ["), "voicemail.vonage.fields.phone: unknown key "
                                                "'phone'"),
    (VONAGE.replace("{ body = '^From", "{ bdy = '^From"), "voicemail.vonage.fields.number[0]: "
                                                          "needs exactly one of header"),
    (VONAGE.replace("sender =", "from ="), "voicemail.vonage.match.from: unknown key 'from'"),
    (VONAGE + '\n[contact_form.vonage]\nlabel = "x"\n', "contact_form.vonage: the name "
                                                        "'vonage' is already used"),
    (VONAGE.replace("number = [ { body = '^From: (?P<value>.+)$' } ]",
                    'number = { header = "x-caller" }'),
     "voicemail.vonage.fields.number: must be a list of rules"),
    (VONAGE.replace("[ { body = '^From: (?P<value>.+)$' } ]",
                    "[ { body = '^From: (?P<value>.+)$', pattern = 'x(?P<value>y)' } ]"),
     "voicemail.vonage.fields.number[0].pattern: only a header rule takes a pattern"),
    ("[voicemail.x]\nlabel = \"X\"\ncase_sensitive = \"yes\"\n[voicemail.x.match]\n"
     "subject = 'x'\n[voicemail.x.fields]\nname = [ { header = \"x\" } ]\n",
     "voicemail.x.case_sensitive: must be true or false"),
    ("[voicemail]\nx = 1\n", "voicemail.x: must be a table"),
    ("[voicemail.x\n", "not valid TOML"),
])
def test_each_mistake_is_named_with_its_key(tmp_path: Path, bad: str, expected: str) -> None:
    assert expected in problems(tmp_path, bad)


def test_a_header_rule_may_keep_part_of_the_header(tmp_path: Path) -> None:
    own = """
[voicemail.sipgate]
label = "sipgate"
[voicemail.sipgate.match]
headers = { x-sipgate-caller = '.' }
[voicemail.sipgate.fields]
number = [ { header = "X-Sipgate-Caller", pattern = '<(?P<value>[^>]+)>' } ]
"""
    sets = load_pattern_sets(write(tmp_path, own))
    raw = message("voicemail@sipgate.example", "Neue Sprachnachricht",
                  headers={"X-Sipgate-Caller": "Jana Beck <+49 30 1234567>"})
    relayed = recognise(parse_message(raw), sets, region="DE")
    assert relayed is not None and relayed.number == "+49301234567"


def test_pattern_error_is_a_value_error_with_its_problems(tmp_path: Path) -> None:
    with pytest.raises(ValueError) as caught:
        load_pattern_sets(write(tmp_path, "[voicemail.x]\nlabel = 3\n"))
    assert isinstance(caught.value, PatternError)
    assert caught.value.origin.endswith("patterns.toml")
    assert len(caught.value.problems) == 3  # the label, the match and the fields
