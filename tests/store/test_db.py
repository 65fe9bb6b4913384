"""The Store: file safety (permissions, WAL, crashes), transactions, and each table's
round trip."""

from __future__ import annotations

import dataclasses
import sqlite3
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from heard.domain.clients import Channel, Client
from heard.domain.ids import ClientId, InquiryId
from heard.domain.inquiries import Inquiry, InquiryState
from heard.domain.outbox import OutboxItem, OutboxKind, OutboxState
from heard.domain.promises import Promise
from heard.errors import ClientClash
from heard.store import Store

BERLIN = ZoneInfo("Europe/Berlin")
TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=BERLIN)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "heard.sqlite3") as store:
        yield store


def add_margaret(store: Store) -> Client:
    return store.add_client(
        Client("Margaret Hale", emails=("Margaret@Hale.example",), domains=("hale.example",),
               phones=("+1 415 555 0134",), preferred_name="Megge", tier="vip",
               preferences={"detail": "brief"}),
        NOW)


def an_inquiry(client: Client, **changes: object) -> Inquiry:
    assert client.id is not None
    inquiry = Inquiry(
        client_id=client.id, channel=Channel.EMAIL,
        received_at=datetime(2026, 11, 25, 9, 12, 30, 250000, tzinfo=BERLIN),
        subject="Lease renewal", sender="margaret@hale.example",
        message_id="<m1@hale.example>", thread_ids=("<m0@hale.example>", "<m1@hale.example>"),
        preview="Could you have a look?", account="work")
    return dataclasses.replace(inquiry, **changes)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# the file


def test_the_database_and_its_wal_files_are_readable_by_the_user_only(tmp_path: Path) -> None:
    path = tmp_path / "heard.sqlite3"
    with Store(path) as store:
        add_margaret(store)
        assert mode(path) == 0o600
        companions = [p for p in (Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]
        assert companions, "an open WAL database has a -wal file"
        for companion in companions:
            assert mode(companion) == 0o600, companion.name


def test_an_existing_database_that_others_can_read_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "heard.sqlite3"
    Store(path).close()
    path.chmod(0o644)
    Store(path).close()
    assert mode(path) == 0o600


def test_the_journal_is_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "heard.sqlite3"
    Store(path).close()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()


CRASH = textwrap.dedent("""
    import os, sys
    from datetime import datetime
    from zoneinfo import ZoneInfo
    from pathlib import Path
    from heard.domain.clients import Channel, Client
    from heard.domain.inquiries import Inquiry
    from heard.store import Store

    at = datetime(2026, 11, 25, 9, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    store = Store(Path(sys.argv[1]))
    client = store.add_client(Client("Rajesh Patel", domains=("patel-eng.example",)), at)
    store.add_inquiry(Inquiry(client_id=client.id, channel=Channel.EMAIL, received_at=at,
                              subject="Crash test", sender="raj@patel-eng.example"))
    os._exit(0)  # no close(), no checkpoint: as if the process was killed
""")


def test_nothing_committed_is_lost_when_the_process_dies_without_closing(
        tmp_path: Path) -> None:
    path = tmp_path / "heard.sqlite3"
    done = subprocess.run([sys.executable, "-c", CRASH, str(path)], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr

    with Store(path) as store:
        (client,) = store.clients()
        assert client.name == "Rajesh Patel"
        (inquiry,) = store.open_inquiries()
        assert inquiry.subject == "Crash test"
        assert inquiry.client_id == client.id
        assert inquiry.received_at == datetime(2026, 11, 25, 9, 30, tzinfo=BERLIN)


# transactions


def test_a_failed_transaction_rolls_back_everything_in_it(store: Store) -> None:
    kept = store.add_client(Client("Kept Client", emails=("kept@example.org",)), NOW)
    with pytest.raises(RuntimeError, match="boom"), store.transaction():
        client = store.add_client(Client("Rolled Back", emails=("gone@example.org",)), NOW)
        store.add_inquiry(an_inquiry(client))
        store.mark_seen("work:inbox", "key1", "<m1@hale.example>", "inquiry", "client", NOW)
        raise RuntimeError("boom")

    assert [c.name for c in store.clients()] == ["Kept Client"]
    assert store.open_inquiries() == []
    assert store.seen_keys("work:inbox") == set()
    # The store is usable afterwards and the address is free again.
    again = store.add_client(Client("Second Try", emails=("gone@example.org",)), NOW)
    assert {c.id for c in store.clients()} == {kept.id, again.id}


def test_an_error_in_a_nested_transaction_rolls_back_the_outer_one_too(store: Store) -> None:
    with pytest.raises(ValueError, match="inner"), store.transaction():
        store.add_client(Client("Outer", emails=("outer@example.org",)), NOW)
        with store.transaction():
            store.add_client(Client("Inner", emails=("inner@example.org",)), NOW)
            raise ValueError("inner")
    assert store.clients() == []


def test_a_naive_datetime_never_reaches_the_database(store: Store) -> None:
    with pytest.raises(ValueError, match="naive"):
        store.mark_seen("work:inbox", "k", "", "inquiry", "", datetime(2026, 11, 25, 10, 0))
    assert store.seen_count() == 0


# clients


def test_a_client_round_trips_with_normalized_addresses(store: Store) -> None:
    added = add_margaret(store)
    assert added.id is not None
    assert store.client(added.id) == added
    assert added.name == "Margaret Hale"
    assert added.emails == ("margaret@hale.example",)
    assert added.domains == ("hale.example",)
    assert added.phones == ("+14155550134",)
    assert (added.preferred_name, added.tier, added.channel) == ("Megge", "vip", Channel.EMAIL)
    assert dict(added.preferences) == {"detail": "brief"}


def test_a_clients_language_and_zone_are_kept_and_changed(store: Store) -> None:
    added = store.add_client(Client("Jana Weber", emails=("jana@weber.example",),
                                    language="de-DE", zone="Europe/Berlin"), NOW)
    assert added.id is not None
    assert (added.language, added.zone) == ("de_DE", "Europe/Berlin")
    assert store.client(added.id) == added
    cleared = store.update_client(dataclasses.replace(added, language=None, zone=""))
    assert (cleared.language, cleared.zone) == (None, None)
    assert store.clients() == [cleared]


def test_two_clients_cannot_claim_one_email_address(store: Store) -> None:
    add_margaret(store)
    with pytest.raises(ClientClash) as info:
        store.add_client(Client("Impostor", emails=("MARGARET@hale.example",)), NOW)
    assert (info.value.kind, info.value.value, info.value.owner) == (
        "email", "margaret@hale.example", "Margaret Hale")
    assert "Margaret Hale" in str(info.value)
    # The half-added client is not left behind.
    assert [c.name for c in store.clients()] == ["Margaret Hale"]


def test_update_client_changes_fields_and_replaces_addresses(store: Store) -> None:
    client = add_margaret(store)
    changed = dataclasses.replace(client, name="Margaret Hale-Smith", tier="standard",
                                  channel=Channel.CALL, emails=("meg@hale-smith.example",),
                                  domains=(), preferred_name=None)
    updated = store.update_client(changed)
    assert updated == changed
    assert store.clients() == [changed]
    # The old address is free for someone else now.
    store.add_client(Client("New Owner", emails=("margaret@hale.example",)), NOW)


def test_update_client_refuses_an_address_of_another_client_and_keeps_the_old_row(
        store: Store) -> None:
    margaret = add_margaret(store)
    raj = store.add_client(Client("Rajesh Patel", emails=("raj@patel-eng.example",)), NOW)
    with pytest.raises(ClientClash):
        store.update_client(dataclasses.replace(raj, name="Raj",
                                                emails=("margaret@hale.example",)))
    assert store.clients() == [margaret, raj]


def test_update_client_needs_an_id(store: Store) -> None:
    with pytest.raises(ValueError, match="no id"):
        store.update_client(Client("Nobody", emails=("nobody@example.org",)))


def test_remove_client_frees_addresses_and_keeps_past_inquiries(store: Store) -> None:
    client = add_margaret(store)
    assert client.id is not None
    inquiry = store.add_inquiry(an_inquiry(client))
    assert store.remove_client(client.id) is True
    assert store.clients() == []
    assert store.client(client.id) is None
    assert store.remove_client(client.id) is False
    assert inquiry.id is not None
    assert store.inquiry(inquiry.id) == inquiry
    store.add_client(Client("Next Owner", emails=("margaret@hale.example",)), NOW)


def test_clients_are_listed_by_name_ignoring_case(store: Store) -> None:
    for name, email in (("zoe Adams", "z@example.org"), ("Anna Berg", "a@example.org"),
                        ("bob Chen", "b@example.org")):
        store.add_client(Client(name, emails=(email,)), NOW)
    assert [c.name for c in store.clients()] == ["Anna Berg", "bob Chen", "zoe Adams"]


# inquiries


def test_an_inquiry_round_trips_with_aware_times_threads_and_state(store: Store) -> None:
    client = add_margaret(store)
    original = an_inquiry(client)
    saved = store.add_inquiry(original)
    assert saved.id is not None
    assert saved == dataclasses.replace(original, id=saved.id)
    assert saved.received_at == original.received_at
    assert saved.received_at.tzinfo is not None
    assert saved.received_at.utcoffset() is not None
    assert saved.thread_ids == ("<m0@hale.example>", "<m1@hale.example>")
    assert saved.state is InquiryState.WAITING

    acknowledged = saved.acknowledge(datetime(2026, 11, 25, 18, 0, tzinfo=TOKYO))
    store.save_inquiry(acknowledged)
    again = store.inquiry(saved.id)
    assert again == acknowledged
    assert again is not None
    assert again.state is InquiryState.ACKNOWLEDGED
    assert again.acknowledged_at == datetime(2026, 11, 25, 10, 0, tzinfo=BERLIN)

    answered = acknowledged.answer(NOW + timedelta(hours=1))
    store.save_inquiry(answered)
    assert store.inquiry(saved.id) == answered
    assert store.open_inquiries() == []


def test_why_an_inquiry_is_unsure_round_trips(store: Store) -> None:
    client = add_margaret(store)
    unsure = store.add_inquiry(an_inquiry(client, unsure="unsubscribe footer"))
    sure = store.add_inquiry(an_inquiry(client, message_id="<m2@hale.example>"))
    assert (unsure.unsure, sure.unsure) == ("unsubscribe footer", "")
    assert [i.unsure for i in store.open_inquiries()] == ["unsubscribe footer", ""]


def test_open_inquiries_are_the_waiting_and_acknowledged_ones(store: Store) -> None:
    client = add_margaret(store)
    waiting = store.add_inquiry(an_inquiry(client, message_id="<w@x>", thread_ids=("<w@x>",)))
    acked = store.add_inquiry(an_inquiry(client, message_id="<a@x>", thread_ids=("<a@x>",),
                                         state=InquiryState.ACKNOWLEDGED, acknowledged_at=NOW))
    store.add_inquiry(an_inquiry(client, message_id="<d@x>", thread_ids=("<d@x>",),
                                 state=InquiryState.DISMISSED, closed_at=NOW))
    assert {i.id for i in store.open_inquiries()} == {waiting.id, acked.id}


def test_open_inquiries_in_thread_finds_by_any_message_of_the_thread(store: Store) -> None:
    client = add_margaret(store)
    first = store.add_inquiry(an_inquiry(client))
    other = store.add_inquiry(an_inquiry(client, message_id="<o@x>", thread_ids=("<o@x>",)))
    closed = store.add_inquiry(an_inquiry(client, message_id="<c@x>", thread_ids=("<c@x>",),
                                          state=InquiryState.ANSWERED, closed_at=NOW))
    assert first.id is not None

    assert store.open_inquiries_in_thread(["<m0@hale.example>"]) == [first]
    assert store.open_inquiries_in_thread(["<unknown@x>", "<o@x>"]) == [other]
    assert store.open_inquiries_in_thread(["<c@x>"]) == []
    assert closed.id is not None
    assert store.open_inquiries_in_thread([]) == []
    assert store.open_inquiries_in_thread([""]) == []

    store.add_thread_ids(first.id, ["<m2@hale.example>", "<m1@hale.example>", ""])
    assert store.open_inquiries_in_thread(["<m2@hale.example>"])[0].thread_ids == (
        "<m0@hale.example>", "<m1@hale.example>", "<m2@hale.example>")


def test_inquiries_between_uses_instants_not_wall_times(store: Store) -> None:
    client = add_margaret(store)
    early = store.add_inquiry(an_inquiry(client, received_at=datetime(2026, 11, 25, 8, 0,
                                                                      tzinfo=BERLIN)))
    store.add_inquiry(an_inquiry(client, received_at=datetime(2026, 11, 25, 11, 0,
                                                              tzinfo=BERLIN)))
    # 16:00 in Tokyo is 08:00 in Berlin.
    found = store.inquiries_between(datetime(2026, 11, 25, 16, 0, tzinfo=TOKYO),
                                    datetime(2026, 11, 25, 9, 0, tzinfo=BERLIN))
    assert found == [early]


# what intake has seen


def test_seen_keys_are_kept_per_source(store: Store) -> None:
    assert store.seen_keys("work:inbox") == set()
    store.mark_seen("work:inbox", "k1", "<a@x>", "inquiry", "client", NOW)
    store.mark_seen("work:inbox", "k2", "<b@x>", "not_client", "unknown sender", NOW)
    store.mark_seen("work:sent", "k1", "<c@x>", "sent", "reply", NOW)
    assert store.seen_keys("work:inbox") == {"k1", "k2"}
    assert store.seen_keys("work:sent") == {"k1"}
    assert store.seen_count("work:inbox") == 2
    assert store.seen_count() == 3


def test_marking_a_key_seen_again_replaces_it(store: Store) -> None:
    store.mark_seen("work:inbox", "k1", "", "malformed", "no From", NOW)
    store.mark_seen("work:inbox", "k1", "<a@x>", "inquiry", "client", NOW)
    assert store.seen_count("work:inbox") == 1


def test_text_with_lone_surrogates_is_stored_with_replacement_characters(store: Store) -> None:
    # What a broken UTF-7 or UTF-16 mail decodes to: SQLite alone refuses it outright.
    bad = "Lease \ud83d renewal \udcff"
    client = store.add_client(Client(f"Margaret {bad}", emails=("margaret@hale.example",),
                                     preferences={"note": bad}), NOW)
    inquiry = store.add_inquiry(an_inquiry(client, subject=bad, preview=bad, sender="m@h.example"))
    store.mark_seen("work:inbox", "k1", "<a@x>", "failed", f"failed: {bad}", NOW)
    good = "Lease \ufffd renewal \ufffd"
    assert inquiry.subject == good and inquiry.preview == good
    stored = store.client(client.id) if client.id is not None else None
    assert stored is not None and stored.name == f"Margaret {good}"
    assert stored.preferences == {"note": good}
    assert store.failed_messages(NOW - timedelta(days=1)) == [(f"failed: {good}", NOW)]


def test_failed_messages_are_the_ones_seen_since_oldest_first(store: Store) -> None:
    store.mark_seen("work:inbox", "k1", "", "failed", "failed: old", NOW - timedelta(days=9))
    store.mark_seen("work:inbox", "k2", "", "failed", "failed: new", NOW)
    store.mark_seen("work:inbox", "k3", "", "inquiry", "client message", NOW)
    store.mark_seen("work:inbox", "k0", "", "failed", "failed: earlier", NOW - timedelta(days=2))
    assert [note for note, _at in store.failed_messages(NOW - timedelta(days=7))] == [
        "failed: earlier", "failed: new"]


# promises


def test_promises_stay_open_until_their_inquiry_is_closed(store: Store) -> None:
    client = add_margaret(store)
    assert client.id is not None
    one = store.add_inquiry(an_inquiry(client))
    two = store.add_inquiry(an_inquiry(client, message_id="<t@x>", thread_ids=("<t@x>",)))
    assert one.id is not None and two.id is not None
    late = store.add_promise(Promise(two.id, client.id, NOW,
                                     datetime(2026, 11, 25, 17, 0, tzinfo=BERLIN), "by 17:00"))
    soon = store.add_promise(Promise(one.id, client.id, NOW,
                                     datetime(2026, 11, 25, 20, 30, tzinfo=TOKYO), "by 13:30"))
    assert late.id is not None and soon.id is not None and late.id != soon.id

    assert store.open_promises() == [soon, late]   # earliest due first
    assert store.open_promises()[0].due == datetime(2026, 11, 25, 12, 30, tzinfo=BERLIN)

    store.close_promises(one.id, NOW + timedelta(hours=1))
    assert store.open_promises() == [late]
    store.close_promises(InquiryId(9999), NOW)
    assert store.open_promises() == [late]


def test_removing_an_inquirys_client_keeps_its_promise(store: Store) -> None:
    client = add_margaret(store)
    assert client.id is not None
    inquiry = store.add_inquiry(an_inquiry(client))
    assert inquiry.id is not None
    store.add_promise(Promise(inquiry.id, ClientId(client.id), NOW, NOW + timedelta(hours=2)))
    store.remove_client(client.id)
    assert [p.inquiry_id for p in store.open_promises()] == [inquiry.id]


# outbox


def _queued(message_id: str, inquiry_id: InquiryId | None, account: str, raw: bytes,
            at: datetime) -> OutboxItem:
    return OutboxItem(message_id, inquiry_id, OutboxKind.ACK, account, raw,
                      OutboxState.QUEUED, at)


def test_outbox_rows_move_through_their_states_oldest_first(store: Store) -> None:
    client = add_margaret(store)
    inquiry = store.add_inquiry(an_inquiry(client))
    store.add_outbox(_queued("<ack2@x>", inquiry.id, "work", b"second", NOW + timedelta(minutes=1)))
    store.add_outbox(_queued("<ack1@x>", inquiry.id, "work", b"first", NOW))
    store.add_outbox(_queued("<ack3@x>", None, "other", b"third", NOW + timedelta(minutes=2)))
    queued = [OutboxState.QUEUED]
    assert [(i.message_id, i.account, i.raw) for i in store.outbox(queued)] == [
        ("<ack1@x>", "work", b"first"), ("<ack2@x>", "work", b"second"),
        ("<ack3@x>", "other", b"third")]

    assert store.update_outbox("<ack1@x>", OutboxState.SENDING, NOW, expect=OutboxState.QUEUED,
                               claim="host:1:2", attempted=True)
    # A second process cannot claim what the first one is sending.
    assert not store.update_outbox("<ack1@x>", OutboxState.SENDING, NOW,
                                   expect=OutboxState.QUEUED)
    store.update_outbox("<ack1@x>", OutboxState.FILED, NOW + timedelta(minutes=5))
    store.update_outbox("<ack3@x>", OutboxState.FAILED, NOW, error="550 no such user")
    assert [i.message_id for i in store.outbox(queued)] == ["<ack2@x>"]
    first = store.outbox_item("<ack1@x>")
    assert first is not None
    assert (first.attempts, first.filed_at, first.sent_at) == (
        1, NOW + timedelta(minutes=5), NOW + timedelta(minutes=5))
    third = store.outbox_item("<ack3@x>")
    assert third is not None and third.error == "550 no such user"


def test_one_message_id_is_queued_once(store: Store) -> None:
    store.add_outbox(_queued("<ack@x>", None, "work", b"raw", NOW))
    with pytest.raises(sqlite3.IntegrityError):
        store.add_outbox(_queued("<ack@x>", None, "work", b"raw again", NOW))
    assert [i.raw for i in store.outbox()] == [b"raw"]


def test_times_are_stored_as_utc_instants(tmp_path: Path) -> None:
    path = tmp_path / "heard.sqlite3"
    with Store(path) as store:
        store.mark_seen("s", "k", "", "inquiry", "", datetime(2026, 11, 25, 10, 0, tzinfo=BERLIN))
    conn = sqlite3.connect(path)
    try:
        (text,) = conn.execute("SELECT seen_at FROM seen_messages").fetchone()
    finally:
        conn.close()
    assert datetime.fromisoformat(text) == datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    assert text.endswith("+00:00")


def test_small_state_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "heard.sqlite3"
    with Store(path) as store:
        assert store.state("snooze_until") is None
        store.set_state("snooze_until", "2026-11-25T11:00:00+00:00")
    with Store(path) as store:
        assert store.state("snooze_until") == "2026-11-25T11:00:00+00:00"
        store.set_state("snooze_until", None)
        assert store.state("snooze_until") is None


def test_alerts_given_are_looked_up_by_key_also_past_the_parameter_limit(store: Store
                                                                          ) -> None:
    given = [f"toast:new:{n}" for n in range(1200)]
    store.mark_alerts(given, NOW)
    store.mark_alerts(given[:3], NOW)       # marking again changes nothing
    asked = given[::2] + [f"toast:new:{n}" for n in range(5000, 5700)]
    assert store.alerts_given(asked) == set(given[::2])
    assert store.alerts_given([]) == set()


def test_inquiry_keys_are_looked_up_by_key(store: Store) -> None:
    for n in range(1200):
        store.mark_seen("imap:work:INBOX", f"7:{n}", f"<m{n}@x>",
                        "inquiry" if n % 2 else "skipped", "", NOW)
    store.mark_seen("imap:work:Sent", "7:3", "<sent@x>", "inquiry", "", NOW)
    asked = [f"7:{n}" for n in range(0, 1200, 3)] + ["7:99999"]
    assert store.inquiry_keys("imap:work:INBOX", asked) == {
        f"7:{n}": f"<m{n}@x>" for n in range(0, 1200, 3) if n % 2}
    assert store.inquiry_keys("imap:work:INBOX", []) == {}


def test_what_each_status_lists_is_found_without_reading_all_history(store: Store) -> None:
    """The status lists recent intake failures, open delegations and what other devices did
    lately on every refresh of a tray that runs for weeks: through an index, never a scan
    of every message ever seen or every inquiry ever claimed."""
    # The statements Store.failed_messages, open_delegations and handled_elsewhere run.
    for sql, index in (("SELECT reason, seen_at FROM seen_messages WHERE verdict='failed'"
                        " AND seen_at >= ? ORDER BY seen_at, key", "seen_messages_failed"),
                       ("SELECT * FROM delegations WHERE confirmed_at IS NULL ORDER BY due",
                        "delegations_open"),
                       ("SELECT id FROM inquiries WHERE owner != '' AND owner IN (?, ?) AND"
                        " COALESCE(closed_at, acknowledged_at, '') >= ? AND state != 'waiting'",
                        "inquiries_handled_by (owner=? AND <expr>>?)"),
                       ("SELECT min(owner) FROM inquiries WHERE owner != '' AND owner > ?",
                        "inquiries_handled_by (owner>?)")):
        plan = " ".join(str(row[-1]) for row in store._conn.execute(
            f"EXPLAIN QUERY PLAN {sql}", ("2026-01-01",) * sql.count("?")))
        assert f"INDEX {index}" in plan, plan


def test_insert_gives_the_id_of_what_add_would_return(store: Store) -> None:
    """Intake records thousands of prospects and inquiries on a first sync without reading
    each back (insert_client, insert_inquiry): the record is the one add_* returns."""
    client = Client("Jane Prospect", emails=("jane@x.example",), prospect=True)
    client_id = store.insert_client(client, NOW)
    assert store.client(client_id) == dataclasses.replace(client, id=client_id)
    added = store.add_client(Client("Rajesh Patel", emails=("raj@p.example",)), NOW)
    assert added.id == client_id + 1
    inquiry = an_inquiry(dataclasses.replace(client, id=client_id))
    inquiry_id = store.insert_inquiry(inquiry)
    found = store.inquiry(inquiry_id)
    assert found is not None and found.id == inquiry_id
    assert (found.subject, found.thread_ids, found.received_at) == (
        inquiry.subject, inquiry.thread_ids, inquiry.received_at)
