"""SQLite persistence: one file per profile, WAL mode, readable by the user only."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from heard.domain.clients import Channel, Client
from heard.domain.delegations import Assignment, Delegation
from heard.domain.ids import ClientId, InquiryId, PromiseId
from heard.domain.inquiries import Inquiry, InquiryState, Provenance
from heard.domain.messages import valid_text
from heard.domain.outbox import OutboxItem, OutboxKind, OutboxState
from heard.domain.promises import Promise
from heard.errors import ClientClash
from heard.store import migrations

# Keys asked for in one statement (SQLite's default limit on parameters is 999 before 3.32).
_CHUNK = 500


class StoreError(RuntimeError):
    pass


if TYPE_CHECKING:
    from heard.domain.followups import FollowUp
    from heard.domain.statistics import TimelineRow


def _ts(at: datetime | None) -> str | None:
    if at is None:
        return None
    if at.tzinfo is None:
        raise ValueError("naive datetime reached the store")
    return at.astimezone(UTC).isoformat()


def _dt(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _req_dt(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _json(preferences: Mapping[str, Any]) -> str:
    # Not ASCII-escaped: a lone surrogate stays a character, which _valid then replaces.
    return json.dumps(dict(preferences), ensure_ascii=False)


def _valid(parameters: Any) -> Any:
    """Query parameters with every text made valid Unicode (lone surrogates replaced)."""
    if isinstance(parameters, Mapping):
        return {k: valid_text(v) if isinstance(v, str) else v for k, v in parameters.items()}
    return tuple(valid_text(v) if isinstance(v, str) else v for v in parameters)


class _Connection(sqlite3.Connection):
    """A connection that writes only valid Unicode.

    SQLite refuses a str holding a lone surrogate (UnicodeEncodeError), and mail is full of
    them (a broken UTF-7 subject): every parameter passes through here, whichever method
    writes it, so no text that reached Heard is ever lost for one character.
    """

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        return super().execute(sql, _valid(parameters))

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> sqlite3.Cursor:
        return super().executemany(sql, (_valid(p) for p in parameters))


class Store:
    """All reads and writes of the profile's database.

    One connection shared by threads and guarded by a lock: SQLite has one writer, and
    the app's writes are small. `transaction()` groups what must land together.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._depth = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            # Create it 0600 before SQLite does: the WAL and SHM files copy this mode.
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        path.chmod(0o600)
        try:
            self._conn = sqlite3.connect(
                path, isolation_level=None, check_same_thread=False, timeout=10,
                factory=_Connection,
            )
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open the store {path}: {exc}") from exc
        try:
            # Refuse a newer schema before writing anything to the file.
            if migrations.version(self._conn) > migrations.LATEST:
                raise migrations.SchemaTooNew(migrations.version(self._conn))
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            migrations.migrate(self._conn)
        except (sqlite3.DatabaseError, migrations.SchemaTooNew) as exc:
            self._conn.close()
            raise StoreError(f"cannot open the store {path}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Nested calls join the outer transaction; the outermost commits or rolls back."""
        with self._lock:
            if self._depth == 0:
                self._conn.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield self._conn
            except BaseException:
                self._depth -= 1
                # SQLite itself rolls everything back on some errors (disk full, I/O).
                if self._depth == 0 and self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
            self._depth -= 1
            if self._depth == 0:
                self._conn.execute("COMMIT")

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Inside a transaction: undo just this part if it fails."""
        with self.transaction() as conn:
            conn.execute("SAVEPOINT part")
            try:
                yield
            except BaseException:
                if conn.in_transaction:  # not after SQLite rolled back the whole transaction
                    conn.execute("ROLLBACK TO part")
                    conn.execute("RELEASE part")
                raise
            conn.execute("RELEASE part")

    def _query(self, sql: str, args: Iterable[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            cur = self._conn.execute(sql, tuple(args))
            cur.row_factory = sqlite3.Row
            return cur.fetchall()

    @property
    def schema_version(self) -> int:
        with self._lock:
            return migrations.version(self._conn)

    # clients

    def add_client(self, client: Client, now: datetime) -> Client:
        client_id = self.insert_client(client, now)
        return self.client(client_id) or client

    def insert_client(self, client: Client, now: datetime) -> ClientId:
        """add_client without reading the record back: its id (intake adds thousands of
        prospects on a first sync)."""
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO clients (name, preferred_name, tier, channel, preferences,"
                " created_at, prospect, language, zone) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (client.name, client.preferred_name, client.tier, client.channel.value,
                 _json(client.preferences), _ts(now), int(client.prospect), client.language,
                 client.zone),
            )
            client_id = ClientId(int(cur.lastrowid or 0))
            self._write_addresses(conn, client_id, client)
        return client_id

    def update_client(self, client: Client) -> Client:
        if client.id is None:
            raise ValueError("client has no id")
        with self.transaction() as conn:
            conn.execute(
                "UPDATE clients SET name=?, preferred_name=?, tier=?, channel=?, preferences=?,"
                " prospect=?, language=?, zone=? WHERE id=?",
                (client.name, client.preferred_name, client.tier, client.channel.value,
                 _json(client.preferences), int(client.prospect), client.language,
                 client.zone, client.id),
            )
            conn.execute("DELETE FROM client_addresses WHERE client_id=?", (client.id,))
            self._write_addresses(conn, client.id, client)
        return self.client(client.id) or client

    def _write_addresses(self, conn: sqlite3.Connection, cid: ClientId, client: Client) -> None:
        for kind, values in (("email", client.emails), ("domain", client.domains),
                             ("phone", client.phones)):
            for value in values:
                row = conn.execute(
                    "SELECT c.name FROM client_addresses a JOIN clients c ON c.id = a.client_id"
                    " WHERE a.kind=? AND a.value=? AND a.client_id != ?", (kind, value, cid)
                ).fetchone()
                if row:
                    raise ClientClash(kind, value, row[0])
                conn.execute(
                    "INSERT OR IGNORE INTO client_addresses (client_id, kind, value)"
                    " VALUES (?, ?, ?)", (cid, kind, value),
                )

    def remove_client(self, client_id: ClientId) -> bool:
        with self.transaction() as conn:
            cur = conn.execute("DELETE FROM clients WHERE id=?", (client_id,))
            return cur.rowcount > 0

    def clients(self) -> list[Client]:
        rows = self._query("SELECT * FROM clients ORDER BY name COLLATE NOCASE, id")
        addresses: dict[int, dict[str, list[str]]] = {}
        for row in self._query("SELECT client_id, kind, value FROM client_addresses ORDER BY"
                               " rowid"):
            addresses.setdefault(row["client_id"], {}).setdefault(row["kind"], []).append(
                row["value"])
        return [self._client(row, addresses.get(row["id"], {})) for row in rows]

    def client_by_address(self, kind: str, value: str) -> Client | None:
        rows = self._query("SELECT client_id FROM client_addresses WHERE kind=? AND value=?",
                           (kind, value))
        return self.client(ClientId(rows[0][0])) if rows else None

    def client(self, client_id: ClientId) -> Client | None:
        rows = self._query("SELECT * FROM clients WHERE id=?", (client_id,))
        if not rows:
            return None
        addresses: dict[str, list[str]] = {}
        for row in self._query("SELECT kind, value FROM client_addresses WHERE client_id=?"
                               " ORDER BY rowid", (client_id,)):
            addresses.setdefault(row["kind"], []).append(row["value"])
        return self._client(rows[0], addresses)

    @staticmethod
    def _client(row: sqlite3.Row, addresses: dict[str, list[str]]) -> Client:
        return Client(
            id=ClientId(row["id"]),
            name=row["name"],
            preferred_name=row["preferred_name"],
            tier=row["tier"],
            channel=Channel(row["channel"]),
            preferences=json.loads(row["preferences"]),
            emails=tuple(addresses.get("email", ())),
            domains=tuple(addresses.get("domain", ())),
            phones=tuple(addresses.get("phone", ())),
            prospect=bool(row["prospect"]),
            language=row["language"],
            zone=row["zone"],
        )

    def restore_client(self, client: Client, now: datetime) -> Client:
        """Put back a removed client under its old id (undo), so its inquiries find it."""
        if client.id is None:
            raise ValueError("client has no id")
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO clients (id, name, preferred_name, tier, channel, preferences,"
                " created_at, prospect, language, zone) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (client.id, client.name, client.preferred_name, client.tier,
                 client.channel.value, _json(client.preferences), _ts(now),
                 int(client.prospect), client.language, client.zone))
            self._write_addresses(conn, client.id, client)
        return self.client(client.id) or client

    # account health, as last seen by any process

    def save_account_state(self, name: str, online: bool | None, problem: str,
                           since: datetime | None, push: bool | None,
                           last_sync: datetime | None) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO account_state (name, online, problem, since, push,"
                " last_sync) VALUES (?, ?, ?, ?, ?, ?)",
                (name, None if online is None else int(online), problem, _ts(since),
                 None if push is None else int(push), _ts(last_sync)))

    def account_states(self) -> dict[str, tuple[bool | None, str, datetime | None,
                                                 bool | None, datetime | None]]:
        return {r["name"]: (None if r["online"] is None else bool(r["online"]), r["problem"],
                            _dt(r["since"]), None if r["push"] is None else bool(r["push"]),
                            _dt(r["last_sync"]))
                for r in self._query("SELECT * FROM account_state")}

    # warnings given, status reports made

    def integrity(self) -> str:
        """"ok", or what SQLite's quick check found wrong."""
        rows = self._conn_query("PRAGMA quick_check", ())
        return "; ".join(str(r[0]) for r in rows[:5]) or "ok"

    def set_owner(self, inquiry_id: InquiryId, owner: str) -> None:
        """Which of the user's devices claimed or acted on this inquiry."""
        with self.transaction() as conn:
            conn.execute("UPDATE inquiries SET owner=? WHERE id=?", (owner, inquiry_id))

    def owners(self) -> dict[InquiryId, str]:
        return {InquiryId(r["id"]): r["owner"] for r in self._query(
            "SELECT id, owner FROM inquiries WHERE owner != '' AND state IN"
            " ('waiting', 'acknowledged', 'delegated')")}

    def handled_elsewhere(self, instance: str, since: datetime) -> list[tuple[Inquiry, str]]:
        """Inquiries another of the user's devices (or the assistant's) acted on since
        `since`: acknowledged, delegated, answered or set aside there; with its name."""
        # The ids first, device by device through the index of claimed inquiries by owner
        # and when acted on: the owners are found by skipping from one to the next (a few
        # devices, whatever the history), then each other device's last day is read; this
        # device's own rows, one per acknowledgement, are never read.
        ids = [r["id"] for r in self._query(
            "WITH RECURSIVE owners(name) AS ("
            " SELECT min(owner) FROM inquiries WHERE owner != ''"
            " UNION ALL SELECT (SELECT min(owner) FROM inquiries WHERE owner != ''"
            " AND owner > name) FROM owners WHERE name IS NOT NULL)"
            " SELECT id FROM inquiries WHERE owner != '' AND owner IN"
            " (SELECT name FROM owners WHERE name IS NOT NULL AND name != ?)"
            " AND COALESCE(closed_at, acknowledged_at, '') >= ? AND state != 'waiting'",
            (instance, _ts(since)))]
        if not ids:
            return []
        found = self._inquiries(f"WHERE i.id IN ({','.join('?' * len(ids))})", ids)
        owners = self.all_owners([i.id for i in found if i.id is not None])
        return [(i, owners.get(i.id, "")) for i in found if i.id is not None]

    def all_owners(self, ids: list[InquiryId]) -> dict[InquiryId, str]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        return {InquiryId(r["id"]): r["owner"] for r in self._query(
            f"SELECT id, owner FROM inquiries WHERE id IN ({marks})", ids)}

    def state(self, key: str) -> str | None:
        rows = self._query("SELECT value FROM state WHERE key=?", (key,))
        return str(rows[0]["value"]) if rows else None

    def states(self, prefix: str) -> dict[str, str]:
        """Every small value whose key starts with `prefix`."""
        pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        return {str(r["key"]): str(r["value"]) for r in self._query(
            "SELECT key, value FROM state WHERE key LIKE ? ESCAPE '\\'", (pattern,))}

    def set_state(self, key: str, value: str | None) -> None:
        """Remember (or, with None, forget) a small value across restarts."""
        with self.transaction() as conn:
            if value is None:
                conn.execute("DELETE FROM state WHERE key=?", (key,))
            else:
                conn.execute("INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)",
                             (key, value))

    def alerts_given(self, keys: Iterable[str]) -> set[str]:
        """Those of `keys` marked as given: what the open work could warn about, looked up
        by key, where reading every key ever given would grow with the history."""
        wanted = sorted(set(keys))
        given: set[str] = set()
        for start in range(0, len(wanted), _CHUNK):
            part = wanted[start:start + _CHUNK]
            given.update(r["key"] for r in self._query(
                f"SELECT key FROM alerts_sent WHERE key IN ({','.join('?' * len(part))})",
                part))
        return given

    def mark_alerts(self, keys: Iterable[str], at: datetime) -> None:
        with self.transaction() as conn:
            conn.executemany("INSERT OR IGNORE INTO alerts_sent (key, at) VALUES (?, ?)",
                             [(k, _ts(at)) for k in keys])

    def status_reports(self) -> dict[ClientId, datetime]:
        return {ClientId(r["client_id"]): _req_dt(r["sent_at"])
                for r in self._query("SELECT client_id, sent_at FROM status_reports")}

    def mark_status_report(self, client_id: ClientId, at: datetime) -> None:
        with self.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO status_reports (client_id, sent_at)"
                         " VALUES (?, ?)", (client_id, _ts(at)))

    # senders the user said are not clients

    def add_not_client(self, value: str, kind: str, at: datetime) -> None:
        with self.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO not_clients (value, kind, added_at)"
                         " VALUES (?, ?, ?)", (value, kind, _ts(at)))

    def remove_not_client(self, value: str) -> bool:
        with self.transaction() as conn:
            return conn.execute("DELETE FROM not_clients WHERE value=?",
                                (value,)).rowcount > 0

    def not_clients(self) -> list[tuple[str, str]]:
        """(value, kind) pairs; kind is "address", "domain" or "phone"."""
        return [(r["value"], r["kind"]) for r in self._query(
            "SELECT value, kind FROM not_clients ORDER BY kind, value")]

    # inquiries

    def add_inquiry(self, inquiry: Inquiry) -> Inquiry:
        found = self.inquiry(self.insert_inquiry(inquiry))
        assert found is not None
        return found

    def insert_inquiry(self, inquiry: Inquiry) -> InquiryId:
        """add_inquiry without reading the record back: its id (a first sync records
        thousands)."""
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO inquiries (client_id, channel, received_at, subject, sender,"
                " message_id, preview, state, acknowledged_at, closed_at, account, reply_to,"
                " last_message_at, unsure, provenance)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (inquiry.client_id, inquiry.channel.value, _ts(inquiry.received_at),
                 inquiry.subject, inquiry.sender, inquiry.message_id, inquiry.preview,
                 inquiry.state.value, _ts(inquiry.acknowledged_at), _ts(inquiry.closed_at),
                 inquiry.account, inquiry.reply_to, _ts(inquiry.last_message_at),
                 inquiry.unsure, inquiry.provenance.to_text()),
            )
            inquiry_id = InquiryId(int(cur.lastrowid or 0))
            self.add_thread_ids(inquiry_id, inquiry.thread_ids)
        return inquiry_id

    def add_thread_ids(self, inquiry_id: InquiryId, ids: Iterable[str]) -> None:
        with self.transaction() as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO inquiry_threads (inquiry_id, message_id) VALUES (?, ?)",
                [(inquiry_id, mid) for mid in ids if mid],
            )

    def note_follow_up(self, inquiry_id: InquiryId, at: datetime, ids: Iterable[str]) -> None:
        """The client wrote again in the thread of a waiting inquiry."""
        with self.transaction() as conn:
            conn.execute(
                "UPDATE inquiries SET last_message_at = max(coalesce(last_message_at, ?), ?)"
                " WHERE id=?", (_ts(at), _ts(at), inquiry_id))
            self.add_thread_ids(inquiry_id, ids)

    def message_was_inquiry(self, message_id: str) -> bool:
        """Another copy of this message (same Message-ID) already made an inquiry."""
        if not message_id:
            return False
        # The inquiry itself (or a follow-up joined to it) is the lasting record: the
        # seen cache of a folder is dropped when its UIDVALIDITY changes.
        return bool(self._query(
            "SELECT 1 FROM seen_messages WHERE message_id=? AND verdict='inquiry'"
            " UNION ALL SELECT 1 FROM inquiry_threads WHERE message_id=? LIMIT 1",
            (message_id, message_id)))

    def move_inquiry(self, inquiry: Inquiry, expected: InquiryState) -> bool:
        """Write a transition only if the stored state is still `expected`.

        The check and the write are one statement inside the writer's transaction, so two
        processes (the tray and a script) can never both acknowledge one inquiry.
        """
        with self.transaction() as conn:
            cur = conn.execute(
                "UPDATE inquiries SET state=?, acknowledged_at=?, closed_at=? WHERE id=? AND"
                " state=?",
                (inquiry.state.value, _ts(inquiry.acknowledged_at), _ts(inquiry.closed_at),
                 inquiry.id, expected.value),
            )
            return cur.rowcount == 1

    def save_inquiry(self, inquiry: Inquiry) -> None:
        """Write an inquiry's state (after a transition)."""
        with self.transaction() as conn:
            conn.execute(
                "UPDATE inquiries SET state=?, acknowledged_at=?, closed_at=? WHERE id=?",
                (inquiry.state.value, _ts(inquiry.acknowledged_at), _ts(inquiry.closed_at),
                 inquiry.id),
            )

    def inquiry(self, inquiry_id: InquiryId) -> Inquiry | None:
        found = self._inquiries("WHERE i.id = ?", (inquiry_id,))
        return found[0] if found else None

    def open_inquiries(self) -> list[Inquiry]:
        return self._inquiries("WHERE i.state IN ('waiting', 'acknowledged')")

    def inquiries_between(self, start: datetime, end: datetime) -> list[Inquiry]:
        return self._inquiries("WHERE i.received_at >= ? AND i.received_at < ?",
                               (_ts(start), _ts(end)))

    def timelines_between(self, start: datetime, end: datetime) -> list[TimelineRow]:
        """The timelines of inquiries received in [start, end), as light rows (no thread
        ids, subject or preview): a year of contacts is read in a fraction of a second."""
        rows = self._conn_query(
            "SELECT id, client_id, channel, received_at, state, acknowledged_at, closed_at"
            " FROM inquiries WHERE received_at >= ? AND received_at < ?"
            " ORDER BY received_at, id", (_ts(start), _ts(end)))
        from heard.domain.statistics import TimelineRow  # off the tray's start-up path

        channels = {c.value: c for c in Channel}
        states = {s.value: s for s in InquiryState}
        parse = datetime.fromisoformat
        return [TimelineRow(iid, cid, channels[ch], parse(rec), states[st],
                            parse(ack) if ack else None, parse(closed) if closed else None)
                for iid, cid, ch, rec, st, ack, closed in rows]

    def promises_between(self, start: datetime, end: datetime) -> list[Promise]:
        """Promises made for inquiries received in [start, end)."""
        rows = self._query(
            "SELECT p.* FROM promises p JOIN inquiries i ON i.id = p.inquiry_id"
            " WHERE i.received_at >= ? AND i.received_at < ? ORDER BY p.id",
            (_ts(start), _ts(end)))
        return [Promise(InquiryId(r["inquiry_id"]), ClientId(r["client_id"]),
                        _req_dt(r["made_at"]), _req_dt(r["due"]), r["text"],
                        _dt(r["kept_at"]), PromiseId(r["id"])) for r in rows]

    def _conn_query(self, sql: str, args: Iterable[Any]) -> list[tuple[Any, ...]]:
        with self._lock:
            cursor = self._conn.execute(sql, tuple(args))
            cursor.row_factory = None  # plain tuples: a year of rows without Row objects
            return list(cursor.fetchall())

    def open_inquiries_in_thread(self, message_ids: Iterable[str],
                                 delegated: bool = False) -> list[Inquiry]:
        """Open inquiries threaded on `message_ids` (and, with `delegated`, those with the
        assistant)."""
        ids = [m for m in message_ids if m]
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        states = "'waiting', 'acknowledged'" + (", 'delegated'" if delegated else "")
        return self._inquiries(
            f"WHERE i.state IN ({states}) AND i.id IN"
            f" (SELECT inquiry_id FROM inquiry_threads WHERE message_id IN ({marks}))", ids)

    def _inquiries(self, where: str, args: Iterable[Any] = ()) -> list[Inquiry]:
        rows = self._query(f"SELECT i.* FROM inquiries i {where} ORDER BY i.received_at, i.id",
                           args)
        if not rows:
            return []
        marks = ",".join("?" * len(rows))
        threads: dict[int, list[str]] = {}
        for t in self._query(f"SELECT inquiry_id, message_id FROM inquiry_threads WHERE"
                             f" inquiry_id IN ({marks}) ORDER BY rowid", [r["id"] for r in rows]):
            threads.setdefault(t["inquiry_id"], []).append(t["message_id"])
        return [
            Inquiry(
                id=InquiryId(r["id"]),
                client_id=ClientId(r["client_id"]),
                channel=Channel(r["channel"]),
                received_at=_req_dt(r["received_at"]),
                subject=r["subject"],
                sender=r["sender"],
                message_id=r["message_id"],
                preview=r["preview"],
                thread_ids=tuple(threads.get(r["id"], ())),
                state=InquiryState(r["state"]),
                acknowledged_at=_dt(r["acknowledged_at"]),
                closed_at=_dt(r["closed_at"]),
                account=r["account"],
                reply_to=r["reply_to"],
                last_message_at=_dt(r["last_message_at"]),
                unsure=r["unsure"],
                provenance=Provenance.from_text(r["provenance"]),
            )
            for r in rows
        ]

    # what intake has read (a cache)

    def seen_keys(self, source: str) -> set[str]:
        return {r["key"] for r in self._query("SELECT key FROM seen_messages WHERE source=?",
                                              (source,))}

    def mark_seen(self, source: str, key: str, message_id: str, verdict: str, reason: str,
                  at: datetime) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO seen_messages (source, key, message_id, verdict, reason,"
                " seen_at) VALUES (?, ?, ?, ?, ?, ?)",
                (source, key, message_id, verdict, reason, _ts(at)),
            )

    def mark_seen_many(self, rows: Iterable[tuple[str, str, str, str, str]],
                       at: datetime) -> None:
        """mark_seen of many messages (source, key, message_id, verdict, reason) in one
        statement: a first sync marks 10,000."""
        stamp = _ts(at)
        with self.transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO seen_messages (source, key, message_id, verdict, reason,"
                " seen_at) VALUES (?, ?, ?, ?, ?, ?)",
                [(*row, stamp) for row in rows],
            )

    def failed_messages(self, since: datetime) -> list[tuple[str, datetime]]:
        """Messages intake could not take in since `since` (its note on each, and when),
        oldest first: kept until a re-read of their folder finds them again."""
        return [(r["reason"], _req_dt(r["seen_at"])) for r in self._query(
            "SELECT reason, seen_at FROM seen_messages WHERE verdict='failed' AND seen_at >= ?"
            " ORDER BY seen_at, key", (_ts(since),))]

    def seen_count(self, source: str | None = None) -> int:
        if source is None:
            return int(self._query("SELECT count(*) FROM seen_messages")[0][0])
        return int(self._query("SELECT count(*) FROM seen_messages WHERE source=?",
                               (source,))[0][0])

    def forget_source(self, source: str) -> None:
        """A folder's keys no longer mean anything (its UIDVALIDITY changed)."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM seen_messages WHERE source=?", (source,))

    def inquiry_keys(self, source: str, keys: Iterable[str]) -> dict[str, str]:
        """Key -> Message-ID of those of `keys` in `source` that were client inquiries
        (looked up by key: a folder's history grows for as long as Heard runs)."""
        wanted = sorted(set(keys))
        found: dict[str, str] = {}
        for start in range(0, len(wanted), _CHUNK):
            part = wanted[start:start + _CHUNK]
            found.update((r["key"], r["message_id"]) for r in self._query(
                "SELECT key, message_id FROM seen_messages WHERE source=? AND"
                f" verdict='inquiry' AND key IN ({','.join('?' * len(part))})",
                [source, *part]))
        return found

    def open_inquiry_keys(self, source: str) -> list[str]:
        """Keys in `source` of client messages whose inquiry is still open or with the
        assistant (one query: a re-sync asks this of every folder)."""
        return [r[0] for r in self._query(
            "SELECT DISTINCT s.key FROM seen_messages s"
            " JOIN inquiry_threads t ON t.message_id = s.message_id"
            " JOIN inquiries i ON i.id = t.inquiry_id"
            " WHERE s.source=? AND s.verdict='inquiry' AND s.message_id != ''"
            " AND i.state IN ('waiting', 'acknowledged', 'delegated')", (source,))]

    # IMAP folder positions

    def imap_state(self, account: str, folder: str) -> tuple[int, int, int | None] | None:
        rows = self._query("SELECT uidvalidity, uidnext, highestmodseq FROM imap_folders"
                           " WHERE account=? AND folder=?", (account, folder))
        if not rows:
            return None
        return int(rows[0][0]), int(rows[0][1]), rows[0][2]

    def save_imap_state(self, account: str, folder: str, uidvalidity: int, uidnext: int,
                        highestmodseq: int | None, at: datetime) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO imap_folders (account, folder, uidvalidity, uidnext,"
                " highestmodseq, synced_at) VALUES (?, ?, ?, ?, ?, ?)",
                (account, folder, uidvalidity, uidnext, highestmodseq, _ts(at)))

    # promises

    def add_promise(self, promise: Promise) -> Promise:
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO promises (inquiry_id, client_id, made_at, due, text, kept_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (promise.inquiry_id, promise.client_id, _ts(promise.made_at), _ts(promise.due),
                 promise.text, _ts(promise.kept_at)),
            )
            return Promise(promise.inquiry_id, promise.client_id, promise.made_at, promise.due,
                           promise.text, promise.kept_at, PromiseId(int(cur.lastrowid or 0)))

    def open_promises(self) -> list[Promise]:
        rows = self._query("SELECT * FROM promises WHERE kept_at IS NULL ORDER BY due, id")
        return [
            Promise(InquiryId(r["inquiry_id"]), ClientId(r["client_id"]), _req_dt(r["made_at"]),
                    _req_dt(r["due"]), r["text"], None, PromiseId(r["id"]))
            for r in rows
        ]

    def close_promises(self, inquiry_id: InquiryId, at: datetime) -> None:
        with self.transaction() as conn:
            conn.execute("UPDATE promises SET kept_at=? WHERE inquiry_id=? AND kept_at IS NULL",
                         (_ts(at), inquiry_id))

    def drop_open_promises(self, inquiry_id: InquiryId) -> None:
        """An acknowledgement that never went out promised nothing."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM promises WHERE inquiry_id=? AND kept_at IS NULL",
                         (inquiry_id,))

    def inquiry_locations(self, message_ids: Iterable[str]) -> list[tuple[str, str]]:
        """(source, key) of the client messages among `message_ids` (not the user's own
        mail, not others cc'd in the thread)."""
        ids = [m for m in message_ids if m]
        if not ids:
            return []
        return [(r["source"], r["key"]) for r in self._query(
            "SELECT source, key FROM seen_messages WHERE verdict='inquiry' AND message_id"
            f" IN ({','.join('?' * len(ids))})", ids)]

    def seen_locations(self, message_id: str) -> list[tuple[str, str]]:
        """(source, key) of every copy intake read of this message."""
        return [(r["source"], r["key"]) for r in self._query(
            "SELECT source, key FROM seen_messages WHERE message_id=?", (message_id,))]

    # outbox

    def add_outbox(self, item: OutboxItem) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO outbox (message_id, inquiry_id, kind, account, raw, state,"
                " attempts, next_try, created_at, thread, recipient, shared)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (item.message_id, item.inquiry_id, item.kind.value, item.account, item.raw,
                 item.state.value, item.attempts, _ts(item.next_try), _ts(item.created_at),
                 item.thread, item.recipient, item.shared),
            )

    @staticmethod
    def _outbox_item(r: sqlite3.Row) -> OutboxItem:
        return OutboxItem(
            r["message_id"], InquiryId(r["inquiry_id"]) if r["inquiry_id"] else None,
            OutboxKind(r["kind"]), r["account"], bytes(r["raw"]), OutboxState(r["state"]),
            _req_dt(r["created_at"]), r["attempts"], _dt(r["next_try"]), _dt(r["sent_at"]),
            _dt(r["filed_at"]), r["error"] or "", r["thread"], r["recipient"],
            r["claim"] or "", r["shared"])

    def outbox_item(self, message_id: str) -> OutboxItem | None:
        rows = self._query("SELECT * FROM outbox WHERE message_id=?", (message_id,))
        return self._outbox_item(rows[0]) if rows else None

    def outbox(self, states: Iterable[OutboxState] | None = None,
               since: datetime | None = None) -> list[OutboxItem]:
        """Messages in these states (all when None), oldest first."""
        sql, args = "SELECT * FROM outbox WHERE 1=1", []
        if states is not None:
            wanted = [s.value for s in states]
            sql += f" AND state IN ({','.join('?' * len(wanted))})"
            args += wanted
        if since is not None:
            sql += " AND created_at >= ?"
            args.append(_ts(since) or "")
        return [self._outbox_item(r) for r in self._query(sql + " ORDER BY created_at", args)]

    def update_outbox(self, message_id: str, state: OutboxState, at: datetime, *,
                      error: str | None = None, next_try: datetime | None = None,
                      attempted: bool = False, expect: OutboxState | None = None,
                      claim: str | None = None) -> bool:
        """Move a message on; with `expect`, only from that state (False if it had moved).
        `claim` names the process sending it (kept while SENDING)."""
        sets = ["state=?", "next_try=?", "claim=?"]
        args: list[Any] = [state.value, _ts(next_try), claim]
        if error is not None:
            sets.append("error=?")
            args.append(error or None)
        if attempted:
            sets.append("attempts=attempts+1")
        if state is OutboxState.SENT:
            sets.append("sent_at=?")
            args.append(_ts(at))
        if state is OutboxState.FILED:
            sets.append("filed_at=?")
            args.append(_ts(at))
            sets.append("sent_at=COALESCE(sent_at, ?)")
            args.append(_ts(at))
        sql = f"UPDATE outbox SET {', '.join(sets)} WHERE message_id=?"
        args.append(message_id)
        if expect is not None:
            sql += " AND state=?"
            args.append(expect.value)
        with self.transaction() as conn:
            return conn.execute(sql, args).rowcount > 0

    def auto_sent_in_thread(self, thread: str, since: datetime) -> bool:
        """Whether the autopilot already sent something in this thread since then."""
        rows = self._query("SELECT 1 FROM outbox WHERE kind='auto' AND thread=? AND"
                           " created_at >= ? AND state != 'cancelled' LIMIT 1",
                           (thread, _ts(since)))
        return bool(rows)

    # delegations

    def add_delegation(self, delegation: Delegation) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO delegations (inquiry_id, assistant, address,"
                " forward_id, note, made_at, due, confirmed_at, prior_ack)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (delegation.inquiry_id, delegation.assistant, delegation.address,
                 delegation.forward_id, delegation.note, _ts(delegation.made_at),
                 _ts(delegation.due), _ts(delegation.confirmed_at),
                 _ts(delegation.prior_ack)))

    @staticmethod
    def _delegation(r: sqlite3.Row) -> Delegation:
        return Delegation(InquiryId(r["inquiry_id"]), r["assistant"], r["address"],
                          r["forward_id"], _req_dt(r["made_at"]), _req_dt(r["due"]),
                          r["note"], _dt(r["confirmed_at"]), _dt(r["prior_ack"]))

    def delegation(self, inquiry_id: InquiryId) -> Delegation | None:
        rows = self._query("SELECT * FROM delegations WHERE inquiry_id=?", (inquiry_id,))
        return self._delegation(rows[0]) if rows else None

    def open_delegations(self) -> list[Delegation]:
        return [self._delegation(r) for r in self._query(
            "SELECT * FROM delegations WHERE confirmed_at IS NULL ORDER BY due")]

    def confirm_delegation(self, inquiry_id: InquiryId, at: datetime) -> bool:
        with self.transaction() as conn:
            return conn.execute(
                "UPDATE delegations SET confirmed_at=? WHERE inquiry_id=? AND"
                " confirmed_at IS NULL", (_ts(at), inquiry_id)).rowcount > 0

    # delegations made on another device

    def set_assignment(self, assignment: Assignment) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO assignments (inquiry_id, made_by, assistant, address,"
                " note, made_at, due) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (assignment.inquiry_id, assignment.by, assignment.assistant,
                 assignment.address, assignment.note, _ts(assignment.made_at),
                 _ts(assignment.due)))

    def assignments(self) -> list[Assignment]:
        """Those whose inquiry is still delegated (answered or set aside: done), by due."""
        return [Assignment(InquiryId(r["inquiry_id"]), r["made_by"], r["assistant"],
                           r["address"], _req_dt(r["made_at"]), _req_dt(r["due"]), r["note"])
                for r in self._query(
                    "SELECT a.* FROM assignments a JOIN inquiries i ON i.id = a.inquiry_id"
                    " WHERE i.state = 'delegated' ORDER BY a.due")]

    def unexplained_delegations(self) -> dict[str, InquiryId]:
        """Inquiries delegated on another device that this one knows nothing more of
        (no delegation made here, no assignment learnt): by the client's Message-ID."""
        return {r["message_id"]: InquiryId(r["id"]) for r in self._query(
            "SELECT i.id, i.message_id FROM inquiries i WHERE i.state = 'delegated'"
            " AND i.message_id != ''"
            " AND NOT EXISTS (SELECT 1 FROM delegations d WHERE d.inquiry_id = i.id)"
            " AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.inquiry_id = i.id)")}

    def remove_delegation(self, inquiry_id: InquiryId) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM delegations WHERE inquiry_id=?", (inquiry_id,))

    # follow-ups (the user waits on a client's reply)

    def add_follow_up(self, follow_up: FollowUp) -> FollowUp:
        import dataclasses

        from heard.domain.followups import FollowUpId

        f = follow_up
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO follow_ups (client_id, set_at, due, note, subject, message_id,"
                " origin, nudged_at, nudges, closed_at, closed_reason)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (f.client_id, _ts(f.set_at), _ts(f.due), f.note, f.subject, f.message_id,
                 f.origin.value, _ts(f.nudged_at), f.nudges, _ts(f.closed_at),
                 f.closed_reason))
            return dataclasses.replace(f, id=FollowUpId(int(cur.lastrowid or 0)))

    def save_follow_up(self, f: FollowUp) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE follow_ups SET due=?, note=?, subject=?, message_id=?, nudged_at=?,"
                " nudges=?, closed_at=?, closed_reason=? WHERE id=?",
                (_ts(f.due), f.note, f.subject, f.message_id, _ts(f.nudged_at), f.nudges,
                 _ts(f.closed_at), f.closed_reason, f.id))

    @staticmethod
    def _follow_up(r: sqlite3.Row) -> FollowUp:
        from heard.domain.followups import FollowUp, FollowUpId, Origin

        return FollowUp(ClientId(r["client_id"]), _req_dt(r["set_at"]), _req_dt(r["due"]),
                        r["note"], r["subject"], r["message_id"], Origin(r["origin"]),
                        _dt(r["nudged_at"]), r["nudges"], _dt(r["closed_at"]),
                        r["closed_reason"], FollowUpId(r["id"]))

    def follow_up(self, follow_up_id: int) -> FollowUp | None:
        rows = self._query("SELECT * FROM follow_ups WHERE id=?", (follow_up_id,))
        return self._follow_up(rows[0]) if rows else None

    def open_follow_ups(self) -> list[FollowUp]:
        return [self._follow_up(r) for r in self._query(
            "SELECT * FROM follow_ups WHERE closed_at IS NULL ORDER BY due, id")]

    def follow_ups_between(self, start: datetime, end: datetime) -> list[FollowUp]:
        """Every follow-up set in [start, end) (the statistics)."""
        return [self._follow_up(r) for r in self._query(
            "SELECT * FROM follow_ups WHERE set_at >= ? AND set_at < ? ORDER BY set_at",
            (_ts(start), _ts(end)))]

    def recent_follow_ups(self, since: datetime) -> list[FollowUp]:
        """Open ones, and those closed since `since` (`heard follow-ups --all`)."""
        return [self._follow_up(r) for r in self._query(
            "SELECT * FROM follow_ups WHERE closed_at IS NULL OR closed_at >= ?"
            " ORDER BY closed_at IS NOT NULL, due, id", (_ts(since),))]

    def close_follow_ups(self, client_id: ClientId, at: datetime, reason: str) -> list[FollowUp]:
        """The client wrote at `at`: their open follow-ups set before then are closed with
        `reason`; those closed are returned."""
        import dataclasses

        found = [self._follow_up(r) for r in self._query(
            "SELECT * FROM follow_ups WHERE closed_at IS NULL AND client_id=? AND set_at<=?",
            (client_id, _ts(at)))]
        closed = [dataclasses.replace(f, closed_at=at, closed_reason=reason) for f in found]
        for f in closed:
            self.save_follow_up(f)
        return closed
