"""`heard clients` (heard.cli.clients): add with every option, edit only what is given,
remove by name or id, list as JSON, and import a contacts export with what was skipped and
why."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import (
    CLIENT_KEYS,
    add_margaret,
    run,
    run_json,
)


def test_clients_add_with_every_option_then_list_as_json(
        capsys: pytest.CaptureFixture[str], empty: str) -> None:
    added = run_json(capsys, "--profile", empty, "clients", "add", "Margaret Hale",
                     "--email", "Margaret@Hale.example", "--email", "meg@home.example",
                     "--domain", "hale.example", "--phone", "+1 415 555 0134",
                     "--preferred-name", "Megge", "--tier", "vip", "--channel", "call")
    run(capsys, "--profile", empty, "clients", "add", "Rajesh Patel", "--domain",
        "patel-eng.example")

    listed = run_json(capsys, "--profile", empty, "clients", "list")
    assert set(listed) == {"clients", "prospects", "not_clients"}
    margaret, raj = listed["clients"]
    assert margaret == added
    assert margaret == {
        "id": 1, "name": "Margaret Hale", "preferred_name": "Megge", "tier": "vip",
        "channel": "call", "emails": ["margaret@hale.example", "meg@home.example"],
        "domains": ["hale.example"], "phones": ["+14155550134"], "preferences": {},
        "language": None, "zone": None,
    }
    assert set(raj) == CLIENT_KEYS
    assert (raj["tier"], raj["channel"], raj["preferred_name"]) == ("standard", "email", None)


def test_clients_add_refuses_an_address_another_client_has(
        capsys: pytest.CaptureFixture[str], empty: str) -> None:
    run(capsys, "--profile", empty, "clients", "add", "Ada Byron", "--email", "ada@example.org")
    code, _out, err = run(capsys, "--profile", empty, "clients", "add", "Impostor",
                          "--email", "ADA@example.org")
    assert code == 1
    assert "ada@example.org already belongs to client 'Ada Byron'" in err
    assert len(run_json(capsys, "--profile", empty, "clients", "list")["clients"]) == 1


def test_clients_edit_changes_only_what_is_given(
        capsys: pytest.CaptureFixture[str], empty: str) -> None:
    run(capsys, "--profile", empty, "clients", "add", "Margaret Hale", "--email",
        "margaret@hale.example", "--preferred-name", "Megge", "--tier", "vip")
    code, out, _err = run(capsys, "--profile", empty, "clients", "edit", "margaret",
                          "--name", "Margaret Hale-Smith", "--channel", "call",
                          "--preferred-name", "")
    assert code == 0
    assert "Updated client #1 Margaret Hale-Smith." in out
    (client,) = run_json(capsys, "--profile", empty, "clients", "list")["clients"]
    assert client["name"] == "Margaret Hale-Smith"
    assert client["channel"] == "call"
    assert client["preferred_name"] is None
    assert client["tier"] == "vip"
    assert client["emails"] == ["margaret@hale.example"]

    assert run(capsys, "--profile", empty, "clients", "edit", "1", "--email",
               "meg@new.example")[0] == 0
    (client,) = run_json(capsys, "--profile", empty, "clients", "list")["clients"]
    assert client["emails"] == ["meg@new.example"]


def test_clients_remove_by_name_or_id(capsys: pytest.CaptureFixture[str], empty: str) -> None:
    for name, email in (("Ada Byron", "ada@example.org"), ("Ada Lovelace", "al@example.org"),
                        ("Grace Hopper", "grace@example.org")):
        run(capsys, "--profile", empty, "clients", "add", name, "--email", email)

    code, _out, err = run(capsys, "--profile", empty, "clients", "remove", "ada")
    assert code == 1
    assert "matches 2 clients" in err

    code, out, _err = run(capsys, "--profile", empty, "clients", "remove", "Ada Byron")
    assert code == 0
    assert "Removed client #1 Ada Byron" in out
    assert run(capsys, "--profile", empty, "clients", "remove", "3")[0] == 0
    names = [c["name"] for c in run_json(capsys, "--profile", empty, "clients", "list")["clients"]]
    assert names == ["Ada Lovelace"]

    code, _out, err = run(capsys, "--profile", empty, "clients", "remove", "Nobody")
    assert code == 1
    assert "no client matches 'Nobody'" in err


CSV = """\
name,email,domain,phone,preferred_name,tier,channel
Margaret Hale,margaret@hale.example;meg@home.example,,,Megge,vip,email
,orphan@example.org,,,,,
Bob Nobody,,,,,,
Rajesh Patel,,patel-eng.example,+1 415 555 0199,,,call
Carla Fax,carla@example.org,,,,,fax
"""

VCF = """\
BEGIN:VCARD
VERSION:3.0
FN:Sofia Lindqvist
NICKNAME:Sofi
EMAIL;TYPE=work:sofia@lindqvist.example
TEL;TYPE=cell:+46 8 555 012 34
END:VCARD
BEGIN:VCARD
VERSION:3.0
EMAIL:nameless@example.org
END:VCARD
BEGIN:VCARD
VERSION:3.0
FN:Tom Becker
END:VCARD
BEGIN:VCARD
VERSION:4.0
N:Curie;Marie;;;
EMAIL:marie@curie.example
END:VCARD
END:VCARD
"""


def test_clients_import_csv_reports_imported_and_skipped_with_reasons(
        capsys: pytest.CaptureFixture[str], empty: str, tmp_path: Path) -> None:
    file = tmp_path / "clients.csv"
    file.write_text(CSV, encoding="utf-8")
    result = run_json(capsys, "--profile", empty, "clients", "import", str(file))
    assert result == {
        "imported": 2,
        "skipped": [
            {"entry": "line 3", "reason": "no name"},
            {"entry": "line 4", "reason": "no email address, domain or phone number"},
            {"entry": "line 6", "reason": "channel 'fax' is not email or call"},
        ],
        "notes": [],
    }
    clients = {c["name"]: c for c in
               run_json(capsys, "--profile", empty, "clients", "list")["clients"]}
    assert set(clients) == {"Margaret Hale", "Rajesh Patel"}
    assert clients["Margaret Hale"]["emails"] == ["margaret@hale.example", "meg@home.example"]
    assert clients["Margaret Hale"]["tier"] == "vip"
    assert clients["Rajesh Patel"]["domains"] == ["patel-eng.example"]
    assert clients["Rajesh Patel"]["channel"] == "call"


def test_clients_import_vcf_reports_imported_and_skipped_with_reasons(
        capsys: pytest.CaptureFixture[str], empty: str, tmp_path: Path) -> None:
    file = tmp_path / "contacts.vcf"
    file.write_text(VCF, encoding="utf-8")
    result = run_json(capsys, "--profile", empty, "clients", "import", str(file))
    assert result == {
        "imported": 2,
        "skipped": [
            {"entry": "card 2", "reason": "no name"},
            {"entry": "card 3 (Tom Becker)",
             "reason": "no email address, domain or phone number"},
        ],
        "notes": [],
    }
    clients = {c["name"]: c for c in
               run_json(capsys, "--profile", empty, "clients", "list")["clients"]}
    assert set(clients) == {"Sofia Lindqvist", "Marie Curie"}
    assert clients["Sofia Lindqvist"]["preferred_name"] == "Sofi"
    assert clients["Sofia Lindqvist"]["phones"] == ["+46855501234"]


def test_clients_import_skips_an_entry_whose_address_is_taken(
        capsys: pytest.CaptureFixture[str], empty: str, tmp_path: Path) -> None:
    run(capsys, "--profile", empty, "clients", "add", "Sofia L.", "--email",
        "sofia@lindqvist.example")
    file = tmp_path / "contacts.vcf"
    file.write_text(VCF, encoding="utf-8")
    result = run_json(capsys, "--profile", empty, "clients", "import", str(file))
    assert result["imported"] == 1
    taken = [s for s in result["skipped"] if s["entry"] == "Sofia Lindqvist"]
    assert len(taken) == 1
    assert "already belongs to client 'Sofia L.'" in taken[0]["reason"]


def test_clients_import_of_an_unknown_format_fails_with_the_fix(
        capsys: pytest.CaptureFixture[str], empty: str, tmp_path: Path) -> None:
    file = tmp_path / "clients.xlsx"
    file.write_text("not really", encoding="utf-8")
    code, _out, err = run(capsys, "--profile", empty, "clients", "import", str(file))
    assert code == 1
    assert "use a .vcf or .csv file" in err



def test_a_clients_language_and_zone_are_set_shown_and_cleared(
        capsys: pytest.CaptureFixture[str], empty: str) -> None:
    added = run_json(capsys, "--profile", empty, "clients", "add", "Jana Weber", "--email",
                     "jana@weber.example", "--language", "de-DE", "--zone", "Europe/Berlin")
    assert (added["language"], added["zone"]) == ("de_DE", "Europe/Berlin")
    code, out, _err = run(capsys, "--profile", empty, "clients", "list")
    assert code == 0 and "[standard, email, de_DE, Europe/Berlin]" in out
    code, _out, err = run(capsys, "--profile", empty, "clients", "edit", "jana", "--zone",
                          "Europe/Bonn")
    assert code == 1 and "'Europe/Bonn' is not a time zone" in err
    run(capsys, "--profile", empty, "clients", "edit", "jana", "--language", "")
    (jana,) = run_json(capsys, "--profile", empty, "clients", "list")["clients"]
    assert (jana["language"], jana["zone"]) == (None, "Europe/Berlin")
    run(capsys, "--profile", empty, "clients", "edit", "jana", "--zone", "")
    (jana,) = run_json(capsys, "--profile", empty, "clients", "list")["clients"]
    assert (jana["language"], jana["zone"]) == (None, None)


def test_clients_edit_json_prints_the_client(
        capsys: pytest.CaptureFixture[str], root: str) -> None:
    client_id = add_margaret(capsys, root)
    edited = run_json(capsys, "--profile", root, "clients", "edit", str(client_id),
                      "--tier", "standard")
    assert edited["id"] == client_id and edited["tier"] == "standard"


@pytest.mark.parametrize(("option", "complaint"), [
    (("--email", "bad address"), "'bad address' is not an email address"),
    (("--phone", "abc"), "'abc' is not a phone number"),
    (("--domain", "nodot"), "'nodot' is not a domain"),
    (("--tier", "platinum"), "'platinum' is not a tier your standards know"),
])
def test_clients_add_and_edit_refuse_what_the_window_and_import_refuse(
        capsys: pytest.CaptureFixture[str], empty: str, tmp_path: Path,
        option: tuple[str, str], complaint: str) -> None:
    code, _out, err = run(capsys, "--profile", empty, "clients", "add", "Ada Byron", *option)
    assert code == 1
    assert complaint in err
    assert run_json(capsys, "--profile", empty, "clients", "list")["clients"] == []
    run(capsys, "--profile", empty, "clients", "add", "Ada Byron", "--email", "ada@example.org")
    code, _out, err = run(capsys, "--profile", empty, "clients", "edit", "ada", *option)
    assert code == 1
    assert complaint in err
    # ... and the import: the same words, under "skipped"
    file = tmp_path / "clients.csv"
    flag, value = option
    column = {"--email": "email", "--phone": "phone", "--domain": "domain",
              "--tier": "tier"}[flag]
    extra = "" if column == "email" else ",ada2@example.org"
    header = "name,email" if column == "email" else f"name,{column},email"
    file.write_text(f"{header}\nAda Twice,{value}{extra}\n", encoding="utf-8")
    result = run_json(capsys, "--profile", empty, "clients", "import", str(file))
    # An entry with a good address keeps it, and the bad value is left out with a note
    said = [*(s["reason"] for s in result["skipped"]), *(n["note"] for n in result["notes"])]
    assert len(said) == 1
    assert value in said[0]
    assert complaint.split(value, 1)[1].strip("' ").removeprefix("is ") in said[0]


def test_a_tier_the_standards_name_is_taken(capsys: pytest.CaptureFixture[str],
                                            empty: str) -> None:
    Path(empty, "heard.toml").write_text('[standards.platinum]\nack_within = "5m"\n',
                                         encoding="utf-8")
    assert run(capsys, "--profile", empty, "clients", "add", "Ada Byron", "--tier",
               "platinum")[0] == 0
