"""The client directory page against a real engine and store (offscreen): the table and its
filter, add and edit with preferences read back from the engine, remove after asking, and
an import whose preview shows what is skipped and why before the rest is added."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox
from pytestqt.qtbot import QtBot

from heard.domain.clients import Channel, Client
from heard.domain.ids import ClientId
from heard.engine import Engine
from heard.errors import EngineError
from heard.gui.clients_page import COLUMNS, ClientDialog, ClientsPage, tiers_of
from heard.gui.ops import Ops
from tests.conftest import NOW
from tests.support.gui import CTRL
from tests.support.hostile import feed, shown_texts
from tests.support.mail import MailFolders
from tests.support.samples import CONTACTS


@pytest.fixture
def page(qtbot: QtBot, engine: Engine) -> Iterator[ClientsPage]:
    ops = Ops()
    page = ClientsPage(engine, ops)
    qtbot.addWidget(page)
    with qtbot.waitSignal(page.loaded, timeout=5000):
        page.show()
    page.activateWindow()   # shortcuts work in the active window
    qtbot.waitUntil(page.isActiveWindow, timeout=5000)
    yield page
    ops.close()


def named(engine: Engine, name: str) -> Client:
    return next(c for c in engine.clients.all() if c.name == name)


def open_dialog(qtbot: QtBot, page: ClientsPage) -> ClientDialog:
    qtbot.waitUntil(lambda: page.dialog is not None and page.dialog.isVisible(), timeout=5000)
    assert page.dialog is not None
    return page.dialog


def save(qtbot: QtBot, page: ClientsPage, dialog: ClientDialog) -> None:
    with qtbot.waitSignal(page.changed, timeout=5000):
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=5000)


def focus_table(qtbot: QtBot, page: ClientsPage) -> None:
    page.activateWindow()     # back from a dialog: offscreen, nothing does this for us
    qtbot.waitUntil(page.isActiveWindow, timeout=5000)
    page.table.setFocus()
    qtbot.waitUntil(page.table.hasFocus, timeout=5000)


def select(qtbot: QtBot, page: ClientsPage, name: str) -> None:
    qtbot.waitUntil(lambda: name in page.shown_names(), timeout=5000)
    client = next(c for c in page.clients if c.name == name)
    assert page.select(client.id)
    focus_table(qtbot, page)


def test_the_table_shows_every_client_and_the_filter_narrows_it(
        qtbot: QtBot, page: ClientsPage, engine: Engine) -> None:
    engine.clients.add(Client("Jane Roe", emails=("jane@roe-bakery.example",), tier="prospect",
                             prospect=True))
    with qtbot.waitSignal(page.loaded, timeout=5000):
        page.refresh()
    assert page.shown_names() == ["Jane Roe", "Margaret Hale", "Rajesh Patel",
                                  "Sofia Lindqvist"]
    rows = {page.table.item(r, 0).text(): [page.table.item(r, c).text() for c in range(6)]
            for r in range(page.table.rowCount())}
    assert rows["Margaret Hale"] == ["Margaret Hale", "Megge", "vip", "email",
                                     "margaret@hale.example", ""]
    assert rows["Rajesh Patel"][4] == "@patel-eng.example"
    assert rows["Sofia Lindqvist"][3] == "call"
    assert rows["Jane Roe"][5] == "prospect"

    qtbot.keyClicks(page.filter, "patel")
    assert page.shown_names() == ["Rajesh Patel"]
    assert page.selected() is not None and page.selected().name == "Rajesh Patel"
    page.filter.setText("prospect")
    assert page.shown_names() == ["Jane Roe"]
    page.filter.setText("nobody")
    assert page.shown_names() == [] and page.selected() is None
    assert not page.edit_button.isEnabled() and not page.remove_button.isEnabled()


def test_add_with_preferences_saves_them_and_edit_reads_them_back(
        qtbot: QtBot, page: ClientsPage, engine: Engine) -> None:
    qtbot.keyClick(page, Qt.Key.Key_N, CTRL)
    dialog = open_dialog(qtbot, page)
    assert dialog.windowTitle() == "Add client — Heard"
    tiers = [dialog.tier.itemText(i) for i in range(dialog.tier.count())]
    assert tiers == tiers_of(engine) == ["standard", "vip"]
    qtbot.keyClicks(dialog.name, "Ada Byron")
    qtbot.keyClicks(dialog.emails, "ada@byron.example, countess@lovelace.example")
    qtbot.keyClicks(dialog.domains, "byron-analytical.example")
    qtbot.keyClicks(dialog.phones, "+44 20 7946 0000")
    qtbot.keyClicks(dialog.preferred, "Ada")
    dialog.tier.setCurrentText("vip")
    dialog.channel.setCurrentText("Call")
    dialog.detail.setCurrentText("detailed")
    dialog.status_reports.setCurrentText("monthly")
    dialog.assistant.setChecked(False)
    save(qtbot, page, dialog)

    ada = named(engine, "Ada Byron")
    assert ada.emails == ("ada@byron.example", "countess@lovelace.example")
    assert ada.domains == ("byron-analytical.example",)
    assert ada.phones == ("+442079460000",)
    assert (ada.preferred_name, ada.tier, ada.channel) == ("Ada", "vip", Channel.CALL)
    assert dict(ada.preferences) == {"detail": "detailed", "status_reports": "monthly",
                                     "assistant": "no"}
    assert not ada.assistant_allowed
    qtbot.waitUntil(lambda: page.selected() is not None
                    and page.selected().name == "Ada Byron", timeout=5000)
    assert page.message.text() == "Added Ada Byron."

    focus_table(qtbot, page)
    qtbot.keyClick(page.table, Qt.Key.Key_Return)     # Enter edits the selected client
    again = open_dialog(qtbot, page)
    assert again.windowTitle() == "Edit client — Heard"
    assert again.name.text() == "Ada Byron"
    assert again.emails.text() == "ada@byron.example, countess@lovelace.example"
    assert again.phones.text() == "+442079460000"
    assert (again.tier.currentText(), again.channel.currentText()) == ("vip", "Call")
    assert (again.detail.currentText(), again.status_reports.currentText()) == (
        "detailed", "monthly")
    assert not again.assistant.isChecked() and not again.prospect.isVisible()


def test_edit_keeps_the_id_and_the_other_preferences(
        qtbot: QtBot, page: ClientsPage, engine: Engine) -> None:
    sofia = named(engine, "Sofia Lindqvist")
    engine.clients.update(Client(sofia.name, emails=sofia.emails, channel=sofia.channel,
                                preferences={"via": "contact form", "detail": "full"},
                                id=sofia.id))
    with qtbot.waitSignal(page.loaded, timeout=5000):
        page.refresh()
    select(qtbot, page, "Sofia Lindqvist")
    qtbot.keyClick(page.table, Qt.Key.Key_Enter)
    dialog = open_dialog(qtbot, page)
    assert dialog.detail.currentText() == "full"       # a value set elsewhere is kept
    assert dialog.assistant.isChecked()                # no preference: the assistant may
    dialog.preferred.setText("Sofi")
    dialog.status_reports.setCurrentText("weekly")
    save(qtbot, page, dialog)

    edited = named(engine, "Sofia Lindqvist")
    assert edited.id == sofia.id and edited.preferred_name == "Sofi"
    assert edited.channel is Channel.CALL and edited.emails == sofia.emails
    assert dict(edited.preferences) == {"via": "contact form", "detail": "full",
                                        "status_reports": "weekly", "assistant": "yes"}
    assert page.message.text() == "Saved Sofia Lindqvist."


def test_confirming_a_prospect_moves_them_off_the_prospect_tier(
        qtbot: QtBot, page: ClientsPage, engine: Engine) -> None:
    engine.clients.add(Client("Jane Roe", emails=("jane@roe-bakery.example",), tier="prospect",
                             prospect=True, preferences={"via": "contact form"}))
    with qtbot.waitSignal(page.loaded, timeout=5000):
        page.refresh()
    select(qtbot, page, "Jane Roe")
    page.edit_button.click()
    dialog = open_dialog(qtbot, page)
    assert dialog.prospect.isVisible() and dialog.prospect.isChecked()
    assert dialog.tier.currentText() == "prospect"
    dialog.prospect.setChecked(False)
    assert dialog.tier.currentText() == "standard"
    save(qtbot, page, dialog)
    jane = named(engine, "Jane Roe")
    assert not jane.prospect and jane.tier == "standard"
    assert jane.preferences["via"] == "contact form"


def test_a_mistake_or_a_taken_address_is_told_in_the_dialog_which_stays_open(
        qtbot: QtBot, page: ClientsPage, engine: Engine) -> None:
    page.add_button.click()
    dialog = open_dialog(qtbot, page)
    dialog.save_button.click()
    assert dialog.problem.text() == "a client needs a name" and dialog.isVisible()
    dialog.name.setText("Meg <b>Impostor</b>")
    dialog.emails.setText("meg at hale.example")
    dialog.save_button.click()
    assert dialog.problem.text() == "'meg at hale.example' is not an email address"

    dialog.emails.setText("Margaret@Hale.example")      # the fixture's Margaret Hale has it
    dialog.save_button.click()
    qtbot.waitUntil(lambda: "already belongs" in dialog.problem.text(), timeout=5000)
    assert dialog.problem.text() == ("email margaret@hale.example already belongs to client"
                                     " 'Margaret Hale'")
    assert dialog.isVisible() and dialog.save_button.isEnabled()
    assert dialog.problem.textFormat() == Qt.TextFormat.PlainText

    dialog.emails.setText("meg@impostor.example")   # the engine's check, as the CLI's
    dialog.tier.setCurrentText("platinum")
    dialog.save_button.click()
    qtbot.waitUntil(lambda: "platinum" in dialog.problem.text(), timeout=5000)
    assert "is not a tier your standards know" in dialog.problem.text()
    assert dialog.isVisible()

    dialog.tier.setCurrentText("vip")
    save(qtbot, page, dialog)
    assert named(engine, "Meg <b>Impostor</b>").emails == ("meg@impostor.example",)
    assert page.message.text() == "Added Meg <b>Impostor</b>."   # shown as typed
    assert page.message.textFormat() == Qt.TextFormat.PlainText


def test_delete_asks_first_and_cancel_keeps_the_client(
        qtbot: QtBot, page: ClientsPage, engine: Engine) -> None:
    select(qtbot, page, "Rajesh Patel")
    qtbot.keyClick(page.table, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: page.confirm is not None and page.confirm.isVisible(),
                    timeout=5000)
    box = page.confirm
    assert box is not None and box.text() == "Remove Rajesh Patel from your clients?"
    assert box.defaultButton() is box.button(QMessageBox.StandardButton.Cancel)
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert "Rajesh Patel" in [c.name for c in engine.clients.all()]

    page.remove_button.click()
    box = page.confirm
    assert box is not None
    remove = next(b for b in box.buttons()
                  if box.buttonRole(b) == QMessageBox.ButtonRole.DestructiveRole)
    with qtbot.waitSignal(page.changed, timeout=5000):
        remove.click()
    assert "Rajesh Patel" not in [c.name for c in engine.clients.all()]
    qtbot.waitUntil(lambda: "Rajesh Patel" not in page.shown_names(), timeout=5000)
    assert page.message.text() == "Removed Rajesh Patel."


def test_a_strangers_name_from_mail_is_text_in_the_table_and_the_question(
        qtbot: QtBot, page: ClientsPage, engine: Engine, mail: MailFolders) -> None:
    """Issue 24, 3: a prospect is named by what a stranger's mail said (markup, a bidi
    override): the table and the removal question show it as text, without the override."""
    feed(mail.inbox, NOW)
    engine.sync()
    with qtbot.waitSignal(page.loaded, timeout=5000):
        page.refresh()
    texts, problems = shown_texts(page)
    assert problems == []
    name = "<b>Urgent</b> KCOLB Bank"
    assert name in texts and name in page.shown_names()
    stranger = next(c for c in page.clients if c.name.startswith("<b>"))
    assert "\u202e" in stranger.name            # the record keeps what the mail said
    assert page.select(stranger.id)
    focus_table(qtbot, page)
    qtbot.keyClick(page.table, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: page.confirm is not None and page.confirm.isVisible(),
                    timeout=5000)
    box = page.confirm
    assert box is not None and box.text() == f"Remove {name} from your clients?"
    assert box.textFormat() == Qt.TextFormat.PlainText
    assert shown_texts(box)[1] == []
    box.button(QMessageBox.StandardButton.Cancel).click()


def test_an_engine_failure_is_shown_not_swallowed(
        qtbot: QtBot, page: ClientsPage, engine: Engine,
        monkeypatch: pytest.MonkeyPatch) -> None:
    def locked(_client_id: ClientId) -> bool:
        raise EngineError("the store is busy; try again in a moment")

    monkeypatch.setattr(engine.clients, "remove", locked)
    select(qtbot, page, "Rajesh Patel")
    page.remove()
    box = page.confirm
    assert box is not None
    next(b for b in box.buttons()
         if box.buttonRole(b) == QMessageBox.ButtonRole.DestructiveRole).click()
    qtbot.waitUntil(lambda: "busy" in page.message.text(), timeout=5000)
    assert page.message.text() == ("Could not remove Rajesh Patel: the store is busy; try"
                                   " again in a moment")


def test_import_previews_skipped_rows_with_reasons_then_adds_the_rest(
        qtbot: QtBot, page: ClientsPage, engine: Engine) -> None:
    engine.clients.add(Client("Megge H.", emails=("m.hollis@hollis-crane.example",)))
    page.import_file(CONTACTS / "apple-contacts.vcf")
    qtbot.waitUntil(lambda: page.preview is not None and page.preview.isVisible(),
                    timeout=5000)
    preview = page.preview
    assert preview is not None
    assert preview.summary.text() == ("apple-contacts.vcf: vCard 3.0 (UTF-8). 4 to add,"
                                      " 5 skipped (1 already in Heard).")
    assert [preview.to_add.item(r, 0).text() for r in range(preview.to_add.rowCount())] == [
        "Northwind Escrow, Inc.", "Maximilian Alexander von und zu Ebersberg-Falkenstein",
        "Aoife O’Neill-Byrne", "Tomás Ibarra"]
    assert preview.skipped_rows() == [
        ("card 4 (Clients 2026)", "a contact group, not a person"),
        ("card 5", "no name, email address or phone number"),
        ("card 6 (Priya Natarajan)",
         "not an email address: 'priya.natarajan at natarajan-ip.example'"),
        ("card 7 (Margarethe Hollis)", "m.hollis@hollis-crane.example is already in this"
                                       " file: card 1 (Margarethe Hollis)"),
        ("Margarethe Hollis", "already in Heard: email m.hollis@hollis-crane.example already"
                              " belongs to client 'Megge H.'"),
    ]
    assert preview.import_button.text() == "&Import 4 clients"
    before = {c.name for c in engine.clients.all()}
    assert "Tomás Ibarra" not in before            # nothing is added before Import

    with qtbot.waitSignal(page.changed, timeout=5000):
        preview.import_button.click()
    qtbot.waitUntil(lambda: page.report is not None and page.report.isVisible(),
                    timeout=5000)
    assert page.report is not None
    text = page.report.text()
    assert text.startswith("Imported 4 clients, skipped 5.")
    assert "  card 6 (Priya Natarajan): not an email address:" in text
    assert ("  Margarethe Hollis: email m.hollis@hollis-crane.example already belongs to"
            " client 'Megge H.'") in text
    added = {c.name for c in engine.clients.all()} - before
    assert added == {"Northwind Escrow, Inc.", "Tomás Ibarra", "Aoife O’Neill-Byrne",
                     "Maximilian Alexander von und zu Ebersberg-Falkenstein"}
    assert named(engine, "Tomás Ibarra").channel is Channel.CALL
    qtbot.waitUntil(lambda: "Tomás Ibarra" in page.shown_names(), timeout=5000)
    assert page.message.text() == "Imported 4 clients, skipped 5."


def test_ctrl_i_chooses_a_file_and_cancel_adds_nothing(
        qtbot: QtBot, page: ClientsPage, engine: Engine,
        monkeypatch: pytest.MonkeyPatch) -> None:
    chosen = str(CONTACTS / "outlook-desktop.csv")
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *_args, **_kw: (chosen, "CSV (*.csv)")))
    qtbot.keyClick(page, Qt.Key.Key_I, CTRL)
    qtbot.waitUntil(lambda: page.preview is not None and page.preview.isVisible(),
                    timeout=5000)
    assert page.preview is not None
    assert page.preview.summary.text().startswith(
        "outlook-desktop.csv: Outlook CSV (Windows-1252). 5 to add, 4 skipped")
    before = engine.clients.all()
    page.preview.reject()
    assert page.ops.wait(5000)   # an import Cancel had started would be done by now
    assert engine.clients.all() == before and page.report is None


def test_a_file_heard_cannot_read_is_told_in_plain_words(
        qtbot: QtBot, page: ClientsPage, tmp_path: Path) -> None:
    sheet = tmp_path / "Kunden.csv"
    sheet.write_text("Vorname;Nachname;E-Mail-Adresse\nJürgen;Großmann;jg@example.org\n",
                     encoding="utf-8")
    page.import_file(sheet)
    qtbot.waitUntil(lambda: page.message.text().startswith("Could not import"), timeout=5000)
    assert page.message.text().startswith(
        "Could not import Kunden.csv: the CSV's columns ('Vorname', 'Nachname',"
        " 'E-Mail-Adresse') are not an export Heard knows")
    assert page.preview is None


def test_a_clients_language_and_zone_are_typed_or_picked_shown_and_checked(
        qtbot: QtBot, page: ClientsPage, engine: Engine) -> None:
    select(qtbot, page, "Sofia Lindqvist")
    qtbot.keyClick(page.table, Qt.Key.Key_Enter)
    dialog = open_dialog(qtbot, page)
    assert (dialog.language.currentText(), dialog.zone.currentText()) == ("", "")
    assert dialog.language.lineEdit().placeholderText() == "yours"
    dialog.zone.setCurrentText("Europe/Bonn")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert "'Europe/Bonn' is not a time zone" in dialog.problem.text()
    dialog.zone.setCurrentIndex(dialog.zone.findText("Europe/Berlin"))
    dialog.language.setCurrentText("de-DE")
    save(qtbot, page, dialog)

    sofia = named(engine, "Sofia Lindqvist")
    assert (sofia.language, sofia.zone) == ("de_DE", "Europe/Berlin")

    def shown() -> str:
        row = next(r for r in range(page.table.rowCount())
                   if page.table.item(r, 0).text() == "Sofia Lindqvist")
        return page.table.item(row, COLUMNS.index("Language, zone")).text()

    qtbot.waitUntil(lambda: shown() == "de_DE, Europe/Berlin", timeout=5000)
    select(qtbot, page, "Sofia Lindqvist")
    qtbot.keyClick(page.table, Qt.Key.Key_Enter)
    again = open_dialog(qtbot, page)
    assert (again.language.currentText(), again.zone.currentText()) == (
        "de_DE", "Europe/Berlin")
    again.language.setCurrentText("")
    save(qtbot, page, again)
    assert named(engine, "Sofia Lindqvist").language is None
