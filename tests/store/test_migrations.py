"""The store's schema: a fresh file, an upgrade from the previous version, and a file from
a newer Heard that must be refused rather than damaged."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from heard.domain.clients import Channel
from heard.domain.ids import ClientId, InquiryId
from heard.domain.inquiries import InquiryState
from heard.domain.outbox import OutboxItem, OutboxKind, OutboxState
from heard.domain.promises import Promise
from heard.store import Store, StoreError, migrations
from heard.store.migrations import LATEST, SchemaTooNew

BERLIN = ZoneInfo("Europe/Berlin")
TABLES = {"clients", "client_addresses", "inquiries", "inquiry_threads", "seen_messages",
          "promises", "outbox"}


def raw_connection(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


def tables(conn: sqlite3.Connection) -> set[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
    return {name for (name,) in rows}


def test_migrating_an_empty_file_reaches_the_latest_schema_with_every_table(
        tmp_path: Path) -> None:
    conn = raw_connection(tmp_path / "fresh.sqlite3")
    try:
        old = migrations.migrate(conn)
        assert old == 0
        assert migrations.version(conn) == LATEST
        assert tables(conn) >= TABLES
    finally:
        conn.close()


def test_a_new_store_is_at_the_latest_schema(tmp_path: Path) -> None:
    with Store(tmp_path / "heard.sqlite3") as store:
        assert store.schema_version == LATEST
    conn = raw_connection(tmp_path / "heard.sqlite3")
    try:
        assert tables(conn) >= TABLES
    finally:
        conn.close()


def test_migrating_twice_changes_nothing(tmp_path: Path) -> None:
    conn = raw_connection(tmp_path / "twice.sqlite3")
    try:
        migrations.migrate(conn)
        assert migrations.migrate(conn) == LATEST
        assert migrations.version(conn) == LATEST
    finally:
        conn.close()


def test_a_store_from_the_previous_schema_is_upgraded_and_keeps_its_data(
        tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    received = datetime(2026, 11, 25, 9, 15, tzinfo=BERLIN)
    conn = raw_connection(path)
    try:
        migrations.migrate(conn, target=1)
        assert migrations.version(conn) == 1
        assert "promises" not in tables(conn)
        conn.execute(
            "INSERT INTO clients (id, name, preferred_name, tier, channel, preferences,"
            " created_at) VALUES (7, 'Margaret Hale', 'Megge', 'vip', 'email', '{}', ?)",
            (datetime(2026, 1, 5, tzinfo=UTC).isoformat(),))
        conn.execute("INSERT INTO client_addresses (client_id, kind, value)"
                     " VALUES (7, 'email', 'margaret@hale.example')")
        conn.execute(
            "INSERT INTO inquiries (id, client_id, channel, received_at, subject, sender,"
            " message_id, state, account) VALUES (3, 7, 'email', ?, 'Lease', "
            "'margaret@hale.example', '<m1@hale.example>', 'waiting', 'work')",
            (received.astimezone(UTC).isoformat(),))
        conn.execute("INSERT INTO inquiry_threads (inquiry_id, message_id)"
                     " VALUES (3, '<m1@hale.example>')")
    finally:
        conn.close()

    with Store(path) as store:
        assert store.schema_version == LATEST
        (client,) = store.clients()
        assert (client.id, client.name, client.preferred_name, client.tier) == (
            7, "Margaret Hale", "Megge", "vip")
        assert client.emails == ("margaret@hale.example",)
        inquiry = store.inquiry(InquiryId(3))
        assert inquiry is not None
        assert inquiry.client_id == 7
        assert inquiry.channel is Channel.EMAIL
        assert inquiry.received_at == received
        assert inquiry.state is InquiryState.WAITING
        assert inquiry.thread_ids == ("<m1@hale.example>",)

        # The tables the upgrade added work with the old rows.
        due = datetime(2026, 11, 25, 16, 30, tzinfo=BERLIN)
        promise = store.add_promise(Promise(InquiryId(3), ClientId(7), received, due, "by 16:30"))
        assert [p.id for p in store.open_promises()] == [promise.id]
        store.add_outbox(OutboxItem("<ack1@morgan-law.example>", InquiryId(3), OutboxKind.ACK,
                                    "work", b"raw mail", OutboxState.QUEUED, received))
        assert [(i.message_id, i.account, i.raw) for i in store.outbox()] == [
            ("<ack1@morgan-law.example>", "work", b"raw mail")]


def test_the_outbox_of_schema_6_keeps_its_rows_in_the_new_states(tmp_path: Path) -> None:
    path = tmp_path / "six.sqlite3"
    conn = raw_connection(path)
    try:
        migrations.migrate(conn, target=6)
        for mid, state in (("<a@x>", "pending"), ("<b@x>", "sent"), ("<c@x>", "failed")):
            conn.execute("INSERT INTO outbox (message_id, transport, raw, state, created_at,"
                         " sent_at, error) VALUES (?, 'work', x'00', ?, '2026-11-25T08:00:00"
                         "+00:00', NULL, NULL)", (mid, state))
    finally:
        conn.close()
    with Store(path) as store:
        assert {i.message_id: i.state for i in store.outbox()} == {
            "<a@x>": OutboxState.QUEUED, "<b@x>": OutboxState.FILED,
            "<c@x>": OutboxState.FAILED}


def write_newer_schema(path: Path) -> None:
    conn = raw_connection(path)
    try:
        migrations.migrate(conn)
        conn.execute("INSERT INTO clients (name, created_at) VALUES ('Kept', '2026-01-01')")
        conn.execute(f"PRAGMA user_version = {LATEST + 1}")
    finally:
        conn.close()


def test_a_store_from_a_newer_heard_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "newer.sqlite3"
    write_newer_schema(path)

    with pytest.raises((SchemaTooNew, StoreError)) as info:
        Store(path)

    chain = [info.value, info.value.__cause__]
    found = next((e for e in chain if isinstance(e, SchemaTooNew)), None)
    assert found is not None, f"expected SchemaTooNew, got {info.value!r}"
    assert found.found == LATEST + 1
    message = str(info.value)
    assert "newer Heard" in message
    assert "update Heard or use another profile" in message

    # Refusing must not touch the file: a newer Heard can still read it.
    conn = raw_connection(path)
    try:
        assert migrations.version(conn) == LATEST + 1
        assert conn.execute("SELECT name FROM clients").fetchall() == [("Kept",)]
    finally:
        conn.close()


def test_a_store_from_a_newer_heard_is_reported_as_a_store_error(tmp_path: Path) -> None:
    """The CLI and GUI tell StoreErrors to the user; anything else becomes a traceback."""
    path = tmp_path / "newer.sqlite3"
    write_newer_schema(path)

    with pytest.raises(StoreError, match="update Heard"):
        Store(path)


def test_migrate_refuses_a_newer_schema_directly(tmp_path: Path) -> None:
    path = tmp_path / "newer.sqlite3"
    write_newer_schema(path)
    conn = raw_connection(path)
    try:
        with pytest.raises(SchemaTooNew, match=rf"schema {LATEST + 1}, this one knows {LATEST}"):
            migrations.migrate(conn)
    finally:
        conn.close()


def test_a_failing_migration_leaves_the_previous_version_intact(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "half.sqlite3"
    conn = raw_connection(path)
    try:
        migrations.migrate(conn, target=LATEST - 1)
        broken = (*migrations.MIGRATIONS[:-1],
                  "CREATE TABLE half_done (id INTEGER PRIMARY KEY);\nTHIS IS NOT SQL;\n")
        monkeypatch.setattr(migrations, "MIGRATIONS", broken)
        with pytest.raises(sqlite3.OperationalError):
            migrations.migrate(conn)
        assert migrations.version(conn) == LATEST - 1
        assert "half_done" not in tables(conn)
    finally:
        conn.close()
