"""Importing clients from the exports people really have (tests/samples/contacts, see its
README): every entry of every sample is either a client (with the right name, preferred
name, addresses and channel) or skipped with its reason; and the pieces the CLI and the
GUI share: the clash check against the directory, and adding through the engine."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from heard.domain.clients import Channel, Client
from heard.engine import Engine
from heard.errors import ClientClash
from heard.setup.clients_import import (
    ImportFormatError,
    ImportResult,
    decode,
    import_clients,
    is_email,
    parse_csv,
    parse_vcards,
    read_clients,
    without_clashes,
)
from tests.support.samples import CONTACTS

Row = tuple[str, str, tuple[str, ...], tuple[str, ...], str | None, Channel]


def table(result: ImportResult) -> list[Row]:
    """(entry, name, emails, phones, preferred name, channel) per client."""
    return [(e.label, e.client.name, e.client.emails, e.client.phones,
             e.client.preferred_name, e.client.channel) for e in result.entries]


EMAIL, CALL = Channel.EMAIL, Channel.CALL


def test_every_sample_has_its_test_below() -> None:
    on_disk = {p.name for p in CONTACTS.iterdir() if p.suffix in (".csv", ".vcf")}
    assert on_disk == {"google-contacts-2024.csv", "google-contacts-legacy.csv",
                       "outlook-desktop.csv", "outlook-com.csv", "google-excel-semicolon.csv",
                       "apple-contacts.vcf", "google-contacts.vcf", "old-phone-2.1.vcf"}


# --- CSV ---

def test_google_contacts_2024_csv() -> None:
    result = read_clients(CONTACTS / "google-contacts-2024.csv")
    assert (result.format, result.encoding) == ("Google Contacts CSV", "UTF-8")
    # Line numbers are the file's: the first client's quoted address spans four lines.
    assert table(result) == [
        ("line 2", "Margarethe Hollis",
         ("m.hollis@hollis-crane.example", "megge.hollis@mailbox.example"),
         ("+14155550142", "(415) 555-0100"), "Megge", EMAIL),
        ("line 6", "Devika R. Raman",            # " ::: " joins two addresses in one cell
         ("devika@raman-structural.example", "devika.raman@post.example"),
         ("+442079460321",), None, EMAIL),
        ("line 7", "Northwind Escrow Services",  # a company with no person's name
         ("closings@northwind-escrow.example",), ("+12125550187",), None, EMAIL),
        ("line 8", "Tomás Ibarra", (), ("+34612345678",), None, CALL),   # a phone only
        ("line 9", "Zoë Ångström-Okafor", ("zoe@angstrom-okafor.example",), (), None, EMAIL),
        ("line 15", "Aaron Feld", ("aaron@feld-consulting.example",), (), None, EMAIL),
        ("line 17", "Samuel Okonkwo Jr.",        # the prefix ("Dr.") is not in the name
         ("s.okonkwo@okonkwo-medical.example",), (), None, EMAIL),
    ]
    assert result.skipped == [
        ("line 11", "no name, email address or phone number"),
        ("line 12", "no name"),
        ("line 13", "not an email address: 'priya.natarajan(at)natarajan-ip.example'"),
        ("line 14", "m.hollis@hollis-crane.example is already in this file:"
                    " line 2 (Margarethe Hollis)"),
        ("line 16", "no email address, domain or phone number"),
    ]
    assert result.notes == [("line 15", "left out 'aaron@feld-consulting': not an email"
                                        " address")]


def test_google_contacts_legacy_csv() -> None:
    result = read_clients(CONTACTS / "google-contacts-legacy.csv")
    assert result.format == "Google Contacts CSV (older export)"
    assert table(result) == [
        ("line 2", "Hannah Leclerc", ("hannah@leclerc-avocats.example",), ("+33612345678",),
         "Nan", EMAIL),
        ("line 3", "Kwame Mensah",               # no "Name": Given + Family
         ("kwame.mensah@mensah-freight.example",), (), None, EMAIL),
        ("line 4", "Baywater Property Group", ("leasing@baywater.example",), (), None, EMAIL),
    ]
    assert result.skipped == [
        ("line 5", "hannah@leclerc-avocats.example is already in this file:"
                   " line 2 (Hannah Leclerc)"),                # the same address, other case
        ("line 6", "no name"),
        ("line 7", "not an email address: 'ines.duarte@@duarte.example'"),
    ]


def test_outlook_desktop_csv() -> None:
    data = (CONTACTS / "outlook-desktop.csv").read_bytes()
    assert b"\x80" in data and b"\xc3" not in data   # the euro sign in Windows-1252
    result = read_clients(CONTACTS / "outlook-desktop.csv")
    assert (result.format, result.encoding) == ("Outlook CSV", "Windows-1252")
    assert table(result) == [
        # The mobile first; not the fax, nor the switchboard every colleague shares.
        ("line 2", "Jürgen Großmann", ("j.grossmann@mueller-soehne.example",),
         ("+491705550123", "+49895550100"), None, EMAIL),
        ("line 3", "Siobhán O'Connell",
         ("siobhan@oconnell-architects.example", "s.oconnell@home.example"),
         ("+35315550147",), None, EMAIL),
        # An Exchange (EX) address: the real one is in the display name.
        ("line 4", "Renée Faure", ("renee.faure@faure-conseil.example",), (), None, EMAIL),
        ("line 6", "Crestline Title & Escrow", ("orders@crestline-title.example",),
         ("+13035550164",), None, EMAIL),
        ("line 10", "Ólafur Sigurðsson", (), ("+3545551234",), None, CALL),
    ]
    entries, reasons = zip(*result.skipped, strict=True)
    assert entries == ("line 5", "line 7", "line 8", "line 9")
    assert reasons[0].startswith("an Exchange directory address, not an email address:"
                                 " '/o=ExchangeLabs/")
    assert reasons[1:] == (
        "no name, email address or phone number",
        "not an email address: 'anja.weber.at.weber-partner.example'",
        "siobhan@oconnell-architects.example is already in this file:"
        " line 3 (Siobhán O'Connell)")


def test_outlook_com_csv() -> None:
    data = (CONTACTS / "outlook-com.csv").read_bytes()
    assert data.startswith(codecs.BOM_UTF8)
    result = read_clients(CONTACTS / "outlook-com.csv")
    assert (result.format, result.encoding) == ("Outlook CSV", "UTF-8")
    assert table(result) == [
        ("line 2", "Ayaka Tanabe", ("ayaka.tanabe@tanabe-ip.example",), ("+819055550123",),
         "Aya", EMAIL),
        ("line 3", "Marcus J Whitfield", ("marcus@whitfield.example",), (), None, EMAIL),
        # Two columns with the same number, written two ways: kept once.
        ("line 6", "Femi Adeyemi", ("femi.adeyemi@lagos-counsel.example",),
         ("+2341 5550100",), None, EMAIL),
    ]
    assert result.skipped == [("line 4", "no name"),
                              ("line 5", "no email address, domain or phone number")]


def test_google_excel_semicolon_csv() -> None:
    result = read_clients(CONTACTS / "google-excel-semicolon.csv")
    assert (result.format, result.encoding) == ("Google Contacts CSV", "Windows-1252")
    assert table(result) == [
        ("line 2", "Käthe Wörner", ("kaethe.woerner@woerner-steuer.example",),
         ("+493055550199",), None, EMAIL),
        ("line 3", "François Lemaire", ("f.lemaire@lemaire-notaires.example",),
         ("+33698765432",), "Fanfan", EMAIL),
        # Without a country code the number is kept as written; the engine reads it in
        # the user's region.
        ("line 6", "Grzegorz Nowak", (), ("0171 5550142",), None, CALL),
    ]
    assert result.skipped == [
        ("line 4", "kaethe.woerner@woerner-steuer.example is already in this file:"
                   " line 2 (Käthe Wörner)"),
        ("line 5", "no name, email address or phone number"),
    ]


# --- vCard ---

def test_apple_contacts_vcf() -> None:
    result = read_clients(CONTACTS / "apple-contacts.vcf")
    assert (result.format, result.encoding) == ("vCard 3.0", "UTF-8")
    assert table(result) == [
        # The type=pref address first; the fax is not a number to match calls on.
        ("card 1 (Margarethe Hollis)", "Margarethe Hollis",
         ("m.hollis@hollis-crane.example", "megge.hollis@mailbox.example"),
         ("+14155550142",), "Megge", EMAIL),
        # A company card: empty FN and N, the name from ORG (with its escaped comma).
        ("card 2 (Northwind Escrow, Inc.)", "Northwind Escrow, Inc.",
         ("closings@northwind-escrow.example",), ("+12125550187",), None, EMAIL),
        # A folded FN line.
        ("card 3 (Maximilian Alexander von und zu Ebersberg-Falkenstein)",
         "Maximilian Alexander von und zu Ebersberg-Falkenstein",
         ("max@ebersberg-falkenstein-vermoegensverwaltung.example",), (), None, EMAIL),
        ("card 8 (Aoife O’Neill-Byrne)", "Aoife O’Neill-Byrne",
         ("aoife@oneill-byrne.example",), ("+353875550123",), None, EMAIL),
        ("card 9 (Tomás Ibarra)", "Tomás Ibarra", (), ("+34612345678",), None, CALL),
    ]
    assert result.skipped == [
        ("card 4 (Clients 2026)", "a contact group, not a person"),
        ("card 5", "no name, email address or phone number"),
        ("card 6 (Priya Natarajan)",
         "not an email address: 'priya.natarajan at natarajan-ip.example'"),
        ("card 7 (Margarethe Hollis)", "m.hollis@hollis-crane.example is already in this"
                                       " file: card 1 (Margarethe Hollis)"),
    ]


def test_google_contacts_vcf() -> None:
    result = read_clients(CONTACTS / "google-contacts.vcf")
    assert table(result) == [
        ("card 1 (Hannah Leclerc)", "Hannah Leclerc",
         ("hannah@leclerc-avocats.example", "hannah.leclerc@courriel.example"),
         ("+33612345678",), "Nan", EMAIL),
        ("card 3 (Baywater Property Group)", "Baywater Property Group",
         ("leasing@baywater.example",), (), None, EMAIL),
        ("card 4 (Kwame Mensah)", "Kwame Mensah", ("kwame.mensah@mensah-freight.example",),
         ("+233245550134",), None, EMAIL),
    ]
    assert result.skipped == [
        ("card 2", "no name"),      # an "other contact": only an address
        ("card 5 (Kwame Mensah)", "kwame.mensah@mensah-freight.example is already in this"
                                  " file: card 4 (Kwame Mensah)"),
    ]


def test_old_phone_2_1_vcf() -> None:
    result = read_clients(CONTACTS / "old-phone-2.1.vcf")
    assert result.format == "vCard 2.1"
    assert table(result) == [
        # Quoted-printable UTF-8 with a soft line break in the middle of the name.
        ("card 1 (Jürgen Großmann von der Lauterbach-Eichstädt)",
         "Jürgen Großmann von der Lauterbach-Eichstädt",
         ("juergen@grossmann-lauterbach.example",), ("+491705550123",), None, EMAIL),
        # Nokia: N only, quoted-printable, the soft break right after the first ';'.
        ("card 2 (João Pereira)", "João Pereira", (), ("+351912555123",), None, CALL),
        # A base64 photo with indented lines and a blank line after it.
        ("card 3 (Olga Petrenko)", "Olga Petrenko", ("olga@petrenko-law.example",), (),
         None, EMAIL),
        # Quoted-printable in ISO-8859-1.
        ("card 4 (Renée Faure)", "Renée Faure", ("renee@faure-conseil.example",), (), None,
         EMAIL),
    ]
    assert result.skipped == [
        ("card 5 (Kanzlei Fax)", "no email address, domain or phone number"),
        ("card 6 (Sven Lindgren)", "the file ends inside this card (no END:VCARD)"),
    ]


# --- what every format shares ---

def test_names_from_contacts_are_one_line_of_plain_text() -> None:
    result = parse_vcards("BEGIN:VCARD\nVERSION:3.0\nFN:Eve\\nBcc: all@example.org\u2028x\n"
                          "NICKNAME:Evie\\, the boss,E\nEMAIL:eve@example.org\nEND:VCARD\n")
    client = result.clients[0]
    assert client.name == "Eve Bcc: all@example.org x"
    assert client.preferred_name == "Evie, the boss"


def test_vcard_4_uris_kind_and_a_card_cut_short() -> None:
    result = parse_vcards(
        "BEGIN:VCARD\nVERSION:4.0\nKIND:group\nFN:Board\nEND:VCARD\n"
        "BEGIN:VCARD\nVERSION:4.0\nFN:Ana Silva\n"
        'TEL;VALUE=uri;TYPE="voice,cell";PREF=1:tel:+351-912-000-111\n'
        "EMAIL:mailto:ana@silva.example\n"
        "BEGIN:VCARD\nVERSION:4.0\nFN:Bruno Costa\nEMAIL:bruno@costa.example\nEND:VCARD\n"
        "END:VCARD\n")
    assert table(result) == [("card 3 (Bruno Costa)", "Bruno Costa",
                              ("bruno@costa.example",), (), None, EMAIL)]
    assert result.skipped == [("card 1 (Board)", "a contact group, not a person"),
                              ("card 2 (Ana Silva)", "the card has no END:VCARD")]
    assert result.format == "vCard 4.0"


def test_a_file_with_no_card_says_so() -> None:
    with pytest.raises(ImportFormatError, match="no vCard in this file"):
        parse_vcards("Name,Email\nAda,ada@example.org\n")


def test_csv_separators_and_excels_sep_line() -> None:
    for text in ("Name;Email\r\nAda Byron;ada@byron.example\r\n",
                 "sep=;\r\nName;Email\r\nAda Byron;ada@byron.example\r\n",
                 "Name\tEmail\nAda Byron\tada@byron.example\n"):
        result = parse_csv(text)
        assert [(e.label, e.client.emails) for e in result.entries] == [
            ("line 3" if text.startswith("sep") else "line 2", ("ada@byron.example",))]


def test_encodings_are_told_by_the_bytes() -> None:
    assert decode("Zoë".encode()) == ("Zoë", "UTF-8")
    assert decode(codecs.BOM_UTF8 + "Zoë".encode()) == ("Zoë", "UTF-8")
    assert decode("Zoë €".encode("utf-16")) == ("Zoë €", "UTF-16")
    assert decode("Zoë €".encode("cp1252")) == ("Zoë €", "Windows-1252")
    assert decode(b"Zo\xeb \x81") == ("Zoë \x81", "ISO-8859-1")   # not even Windows-1252


def test_a_utf16_tab_separated_outlook_export(tmp_path: Path) -> None:
    file = tmp_path / "contacts.csv"
    file.write_bytes("First Name\tLast Name\tE-mail Address\nRenée\tFaure\trenee@faure.example\n"
                     .encode("utf-16"))
    result = read_clients(file)
    assert (result.format, result.encoding) == ("Outlook CSV", "UTF-16")
    assert result.clients[0].name == "Renée Faure"


def test_an_unknown_csv_names_its_columns_and_the_fix() -> None:
    with pytest.raises(ImportFormatError) as caught:
        parse_csv("Vorname,Nachname,E-Mail-Adresse\nJürgen,Großmann,jg@example.org\n")
    assert "'Vorname', 'Nachname', 'E-Mail-Adresse'" in str(caught.value)
    assert "Google Contacts or Outlook" in str(caught.value)
    with pytest.raises(ImportFormatError, match="empty"):
        parse_csv("")


def test_rows_of_empty_cells_are_passed_over() -> None:
    result = parse_csv("Name,Email\nAda Byron,ada@byron.example\n,\n,,\n\n")
    assert len(result.entries) == 1 and result.skipped == []


def test_a_phone_number_on_two_entries_stays_with_the_first() -> None:
    result = parse_csv("name,email,phone\nAnn Ode,ann@ode.example,+1 415 555 0100\n"
                       "Ben Ode,ben@ode.example,+14155550100\n"
                       "Cy Ode,,+1 (415) 555-0100\n")
    assert [(e.client.name, e.client.phones) for e in result.entries] == [
        ("Ann Ode", ("+14155550100",)), ("Ben Ode", ())]
    assert result.notes == [("line 3", "left out phone +14155550100: it is also on line 2"
                                       " (Ann Ode)")]
    assert result.skipped == [("line 4", "phone +1 (415) 555-0100 is already in this file:"
                                         " line 2 (Ann Ode)")]


@pytest.mark.parametrize("address, valid", [
    ("jane@firm.example", True), ("Jane.Roe+law@sub.firm.co.uk", True),
    ("zoë@ångström.example", True), ("jane@firm", False), ("jane@@firm.example", False),
    ("jane firm.example", False), ("jane@firm..example", False), ("@firm.example", False),
    ("jane@firm.example.", False), ("jane(at)firm.example", False),
    ("jane@localhost", True), ("@localhost", False), ("a b@localhost", False)])
def test_what_counts_as_an_email_address(address: str, valid: bool) -> None:
    assert is_email(address) is valid


def test_heard_columns_still_read_as_before() -> None:
    result = parse_csv("name,email,domain,phone,preferred_name,tier,channel\n"
                       "Margaret Hale,margaret@hale.example;meg@home.example,,,Megge,vip,email\n"
                       "Rajesh Patel,,patel-eng.example,+1 415 555 0199,,,CALL\n"
                       "Carla Fax,carla@example.org,,,,,fax\n"
                       "Dora Dom,,not a domain,,,,\n")
    assert [(c.name, c.tier, c.channel, c.domains) for c in result.clients] == [
        ("Margaret Hale", "vip", EMAIL, ()), ("Rajesh Patel", "standard", CALL,
                                               ("patel-eng.example",))]
    assert result.skipped == [("line 4", "channel 'fax' is not email or call"),
                              ("line 5", "not a domain: 'not a domain'")]


def test_a_cards_lang_and_tz_are_the_clients_language_and_zone() -> None:
    result = parse_vcards(
        "BEGIN:VCARD\nVERSION:4.0\nFN:Jana Weber\nEMAIL:jana@weber.example\n"
        "LANG;PREF=2:en\nLANG;PREF=1:de-DE\nTZ:Europe/Berlin\nEND:VCARD\n"
        "BEGIN:VCARD\nVERSION:3.0\nFN:Joe Ray\nEMAIL:joe@ray.example\nTZ:-05:00\n"
        "LANG:klingon-XX\nEND:VCARD\n")
    jana, joe = result.clients
    assert (jana.language, jana.zone) == ("de_DE", "Europe/Berlin")
    assert (joe.language, joe.zone) == (None, None)
    assert result.notes == [
        ("card 2 (Joe Ray)", "left out language 'klingon-XX': not a language Heard knows"),
        ("card 2 (Joe Ray)", "left out time zone '-05:00': not a zone name (like"
                             " Europe/Berlin)")]


def test_heard_columns_take_a_language_and_a_zone() -> None:
    result = parse_csv("name,email,language,zone\n"
                       "Jana Weber,jana@weber.example,de,Europe/Berlin\n"
                       "Ann Lee,ann@lee.example,,\n")
    assert [(c.name, c.language, c.zone) for c in result.clients] == [
        ("Jana Weber", "de", "Europe/Berlin"), ("Ann Lee", None, None)]


# --- against the directory, and adding ---

def test_entries_whose_address_is_taken_are_told_before_adding(engine: Engine) -> None:
    engine.clients.add(Client("Jane Roe", emails=("jane@roe.example",), prospect=True))
    engine.clients.add(Client("Office", phones=("+49 30 5555 0199",)))
    result = parse_csv("name,email,phone\n"
                       "Megge,Margaret@Hale.example,\n"          # the fixture's client
                       "Jane R.,jane@roe.example,\n"
                       "Käthe Wörner,k@woerner.example,030 5555 0199\n"   # Berlin, E.164
                       "Sam New,sam@new.example,\n")
    checked = without_clashes(result, engine.clients.all(), "DE")
    assert [c.name for c in checked.clients] == ["Sam New"]
    assert checked.clashing == [
        ("Megge", "email margaret@hale.example already belongs to client 'Margaret Hale'"),
        ("Jane R.", "email jane@roe.example already belongs to prospect 'Jane Roe'"),
        ("Käthe Wörner", "phone +493055550199 already belongs to client 'Office'"),
    ]
    assert result.clashing == [] and len(result.entries) == 4   # the original is unchanged


def test_import_clients_adds_and_reports_what_the_store_refuses(engine: Engine) -> None:
    result = read_clients(CONTACTS / "google-contacts-2024.csv")
    # Added after the preview was made: the store refuses it, the rest goes in.
    engine.clients.add(Client("Zoë Å.", emails=("zoe@angstrom-okafor.example",)))
    report = import_clients(result, engine.clients.add, refused=(ClientClash,))
    assert [c.name for c in report.added] == [
        "Margarethe Hollis", "Devika R. Raman", "Northwind Escrow Services", "Tomás Ibarra",
        "Aaron Feld", "Samuel Okonkwo Jr."]
    assert all(c.id is not None for c in report.added)
    assert report.clashing == [("Zoë Ångström-Okafor", "email zoe@angstrom-okafor.example"
                                                        " already belongs to client 'Zoë Å.'")]
    assert report.skipped == result.skipped and report.notes == result.notes
    megge = next(c for c in engine.clients.all() if c.name == "Margarethe Hollis")
    assert megge.preferred_name == "Megge" and megge.phones == ("+14155550142",
                                                                 "+14155550100")
    tomas = next(c for c in engine.clients.all() if c.name == "Tomás Ibarra")
    assert tomas.channel is CALL
    lines = report.lines()
    assert lines[0] == "Imported 6 clients, skipped 6."
    assert "  line 12: no name" in lines
    assert "Not added (an address already belongs to someone in Heard):" in lines


def test_import_clients_raises_what_it_was_not_told_to_expect(engine: Engine) -> None:
    result = parse_csv("name,email\nAda Byron,ada@byron.example\nBob Roe,bob@roe.example\n")
    added: list[Client] = []

    def add(client: Client) -> Client:
        if added:
            raise OSError("disk full")
        added.append(client)
        return client

    with pytest.raises(OSError, match="disk full"):
        import_clients(result, add, refused=(ClientClash,))
    assert [c.name for c in added] == ["Ada Byron"]


def test_the_file_must_be_vcard_or_csv(tmp_path: Path) -> None:
    with pytest.raises(ImportFormatError, match=r"use a \.vcf or \.csv file"):
        read_clients(tmp_path / "contacts.xlsx")
    with pytest.raises(ImportFormatError, match="cannot read"):
        read_clients(tmp_path / "missing.vcf")
    # A vCard saved with a .csv name is still read as one.
    file = tmp_path / "export.csv"
    file.write_text("BEGIN:VCARD\nFN:Ada Byron\nEMAIL:ada@byron.example\nEND:VCARD\n")
    assert read_clients(file).clients[0].name == "Ada Byron"
