"""The store's schema, as an ordered list of migrations (PRAGMA user_version = index).

Which tables hold what:
- the user's own state, never rebuildable: clients, client_addresses, inquiries,
  inquiry_threads, promises, outbox;
- a cache that a re-sync rebuilds: seen_messages (which source files intake has read).

Never edit a migration that has shipped: add a new one.
"""

from __future__ import annotations

import sqlite3

MIGRATIONS: tuple[str, ...] = (
    # 1: clients, inquiries and what intake has seen.
    """
    CREATE TABLE clients (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        preferred_name TEXT,
        tier TEXT NOT NULL DEFAULT 'standard',
        channel TEXT NOT NULL DEFAULT 'email',
        preferences TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL
    );
    CREATE TABLE client_addresses (
        client_id INTEGER NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('email', 'domain', 'phone')),
        value TEXT NOT NULL,
        UNIQUE (kind, value)
    );
    CREATE TABLE inquiries (
        id INTEGER PRIMARY KEY,
        client_id INTEGER NOT NULL,
        channel TEXT NOT NULL,
        received_at TEXT NOT NULL,
        subject TEXT NOT NULL DEFAULT '',
        sender TEXT NOT NULL DEFAULT '',
        message_id TEXT NOT NULL DEFAULT '',
        preview TEXT NOT NULL DEFAULT '',
        state TEXT NOT NULL,
        acknowledged_at TEXT,
        closed_at TEXT,
        account TEXT NOT NULL DEFAULT '',
        reply_to TEXT NOT NULL DEFAULT '',
        last_message_at TEXT
    );
    CREATE INDEX inquiries_state ON inquiries(state);
    CREATE TABLE inquiry_threads (
        inquiry_id INTEGER NOT NULL REFERENCES inquiries(id) ON DELETE CASCADE,
        message_id TEXT NOT NULL,
        PRIMARY KEY (inquiry_id, message_id)
    );
    CREATE INDEX inquiry_threads_message ON inquiry_threads(message_id);
    CREATE INDEX inquiries_message ON inquiries(message_id);
    CREATE TABLE seen_messages (
        source TEXT NOT NULL,
        key TEXT NOT NULL,
        message_id TEXT NOT NULL DEFAULT '',
        verdict TEXT NOT NULL,
        reason TEXT NOT NULL,
        seen_at TEXT NOT NULL,
        PRIMARY KEY (source, key)
    );
    CREATE INDEX seen_messages_id ON seen_messages(message_id);
    """,
    # 2: promises made by acknowledgements, and the outbox that records intent to send
    # before sending (Message-ID is the idempotency key).
    """
    CREATE TABLE promises (
        id INTEGER PRIMARY KEY,
        inquiry_id INTEGER NOT NULL REFERENCES inquiries(id) ON DELETE CASCADE,
        client_id INTEGER NOT NULL,
        made_at TEXT NOT NULL,
        due TEXT NOT NULL,
        text TEXT NOT NULL DEFAULT '',
        kept_at TEXT
    );
    CREATE INDEX promises_open ON promises(kept_at);
    CREATE TABLE outbox (
        message_id TEXT PRIMARY KEY,
        inquiry_id INTEGER REFERENCES inquiries(id) ON DELETE SET NULL,
        transport TEXT NOT NULL,
        raw BLOB NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
        created_at TEXT NOT NULL,
        sent_at TEXT,
        error TEXT
    );
    """,
    # 3: what intake last saw of each IMAP folder, so a re-sync asks only for what is new.
    """
    CREATE TABLE imap_folders (
        account TEXT NOT NULL,
        folder TEXT NOT NULL,
        uidvalidity INTEGER NOT NULL,
        uidnext INTEGER NOT NULL,
        highestmodseq INTEGER,
        synced_at TEXT NOT NULL,
        PRIMARY KEY (account, folder)
    );
    """,
    # 4: prospects are provisional clients; senders the user said are not clients; the
    # last known health of each account (so `heard status` in another process knows it).
    """
    ALTER TABLE clients ADD COLUMN prospect INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE not_clients (
        value TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('address', 'domain', 'phone')),
        added_at TEXT NOT NULL
    );
    CREATE TABLE account_state (
        name TEXT PRIMARY KEY,
        online INTEGER,
        problem TEXT NOT NULL DEFAULT '',
        since TEXT,
        push INTEGER,
        last_sync TEXT
    );
    """,
    # 5: deadline warnings already given (never twice, also across restarts); when each
    # client last had the status report their preference asks for.
    """
    CREATE TABLE alerts_sent (
        key TEXT PRIMARY KEY,
        at TEXT NOT NULL
    );
    CREATE TABLE status_reports (
        client_id INTEGER PRIMARY KEY REFERENCES clients(id) ON DELETE CASCADE,
        sent_at TEXT NOT NULL
    );
    """,
    # 6: statistics read inquiries by arrival time.
    """
    CREATE INDEX inquiries_received ON inquiries(received_at);
    CREATE INDEX promises_inquiry ON promises(inquiry_id);
    """,
    # 7: the outbox tracks each message through the wire (queued, sending, sent, filed in
    # Sent; failed, unsure, cancelled) with retries; delegations to an assistant.
    """
    CREATE TABLE outbox_new (
        message_id TEXT PRIMARY KEY,
        inquiry_id INTEGER REFERENCES inquiries(id) ON DELETE SET NULL,
        kind TEXT NOT NULL DEFAULT 'ack'
            CHECK (kind IN ('ack', 'auto', 'forward', 'tell')),
        account TEXT NOT NULL,
        raw BLOB NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'filed', 'failed',
                                             'unsure', 'cancelled')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_try TEXT,
        created_at TEXT NOT NULL,
        sent_at TEXT,
        filed_at TEXT,
        error TEXT,
        thread TEXT NOT NULL DEFAULT '',
        recipient TEXT NOT NULL DEFAULT '',
        claim TEXT
    );
    INSERT INTO outbox_new (message_id, inquiry_id, kind, account, raw, state, created_at,
                            sent_at, filed_at, error)
        SELECT message_id, inquiry_id, 'ack', transport, raw,
               CASE state WHEN 'pending' THEN 'queued' WHEN 'sent' THEN 'filed'
                          ELSE 'failed' END,
               created_at, sent_at, sent_at, error
        FROM outbox;
    DROP TABLE outbox;
    ALTER TABLE outbox_new RENAME TO outbox;
    CREATE INDEX outbox_state ON outbox(state);
    CREATE INDEX outbox_thread ON outbox(thread, created_at);
    CREATE TABLE delegations (
        inquiry_id INTEGER PRIMARY KEY REFERENCES inquiries(id) ON DELETE CASCADE,
        assistant TEXT NOT NULL,
        address TEXT NOT NULL,
        forward_id TEXT NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        made_at TEXT NOT NULL,
        due TEXT NOT NULL,
        confirmed_at TEXT,
        prior_ack TEXT
    );
    CREATE INDEX delegations_forward ON delegations(forward_id);
    """,
    # 8: small pieces of state that must survive a restart (snoozed until when, ...).
    """
    CREATE TABLE state (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
    # 9: where the client's message is on the server, for the claim and the marks that
    # keep several devices in step; which device acted on an inquiry.
    """
    ALTER TABLE outbox ADD COLUMN shared TEXT NOT NULL DEFAULT '';
    ALTER TABLE inquiries ADD COLUMN owner TEXT NOT NULL DEFAULT '';
    """,
    # 10: delegations made on another device (to whom, by when), read from the records in
    # the mailbox's Heard folder: the assistant's "delegated to you"; the few inquiries
    # another device acted on, found without reading every past one.
    """
    CREATE TABLE assignments (
        inquiry_id INTEGER PRIMARY KEY REFERENCES inquiries(id) ON DELETE CASCADE,
        made_by TEXT NOT NULL,
        assistant TEXT NOT NULL,
        address TEXT NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        made_at TEXT NOT NULL,
        due TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS inquiries_owner ON inquiries(owner) WHERE owner != '';
    """,
    # 11: why the classifier was not sure a person wrote an inquiry's message (the
    # autopilot answers none of those).
    """
    ALTER TABLE inquiries ADD COLUMN unsure TEXT NOT NULL DEFAULT '';
    """,
    # 12: where a client's message came from (To/Cc, the user's server's authentication
    # verdict, another Heard's): the autopilot writes only where the user would.
    """
    ALTER TABLE inquiries ADD COLUMN provenance TEXT NOT NULL DEFAULT '';
    """,
    # 13: each status lists the messages that could not be taken in lately, the
    # delegations not yet taken up and what the user's devices did in the last day: found
    # without reading every message ever seen (the seen cache grows with the mailbox),
    # every delegation ever made, or every inquiry a device ever claimed (each of this
    # device's acknowledgements claims one).
    """
    CREATE INDEX seen_messages_failed ON seen_messages(seen_at) WHERE verdict = 'failed';
    CREATE INDEX delegations_open ON delegations(due) WHERE confirmed_at IS NULL;
    CREATE INDEX inquiries_handled ON inquiries(COALESCE(closed_at, acknowledged_at, ''))
        WHERE owner != '';
    """,
    # 14: follow-ups (the user waits on a client's reply: by when, and how it ended: the
    # client wrote, the user took it back), and the outbox's new kinds: a nudge to a
    # client who owes a reply, and the autopilot's absence and after-hours replies.
    """
    CREATE TABLE follow_ups (
        id INTEGER PRIMARY KEY,
        client_id INTEGER NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
        set_at TEXT NOT NULL,
        due TEXT NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        subject TEXT NOT NULL DEFAULT '',
        message_id TEXT NOT NULL DEFAULT '',
        origin TEXT NOT NULL DEFAULT 'user' CHECK (origin IN ('user', 'sent')),
        nudged_at TEXT,
        nudges INTEGER NOT NULL DEFAULT 0,
        closed_at TEXT,
        closed_reason TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX follow_ups_open ON follow_ups(due) WHERE closed_at IS NULL;
    CREATE INDEX follow_ups_set ON follow_ups(set_at);
    CREATE TABLE outbox_new (
        message_id TEXT PRIMARY KEY,
        inquiry_id INTEGER REFERENCES inquiries(id) ON DELETE SET NULL,
        kind TEXT NOT NULL DEFAULT 'ack'
            CHECK (kind IN ('ack', 'auto', 'forward', 'tell', 'nudge', 'absence',
                            'after_hours')),
        account TEXT NOT NULL,
        raw BLOB NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'filed', 'failed',
                                             'unsure', 'cancelled')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_try TEXT,
        created_at TEXT NOT NULL,
        sent_at TEXT,
        filed_at TEXT,
        error TEXT,
        thread TEXT NOT NULL DEFAULT '',
        recipient TEXT NOT NULL DEFAULT '',
        claim TEXT,
        shared TEXT NOT NULL DEFAULT ''
    );
    INSERT INTO outbox_new (message_id, inquiry_id, kind, account, raw, state, attempts,
                            next_try, created_at, sent_at, filed_at, error, thread,
                            recipient, claim, shared)
        SELECT message_id, inquiry_id, kind, account, raw, state, attempts, next_try,
               created_at, sent_at, filed_at, error, thread, recipient, claim, shared
        FROM outbox;
    DROP TABLE outbox;
    ALTER TABLE outbox_new RENAME TO outbox;
    CREATE INDEX outbox_state ON outbox(state);
    CREATE INDEX outbox_thread ON outbox(thread, created_at);
    """,
    # 15: a client's language (a locale such as "de" or "en_GB": the templates and the way
    # times are written for them) and time zone (an IANA name: a promise is written in
    # their time too); NULL: the user's.
    """
    ALTER TABLE clients ADD COLUMN language TEXT;
    ALTER TABLE clients ADD COLUMN zone TEXT;
    """,
    # 16: what the user's other devices did in the last day, found by device: 13's index
    # by when alone still read every inquiry this device acted on that day (each of its
    # acknowledgements claims one) on every status, so a busy day's statuses grew dearer
    # with each reply; by device then when, this device's own are never read.
    """
    CREATE INDEX inquiries_handled_by ON inquiries(owner, COALESCE(closed_at, acknowledged_at, ''))
        WHERE owner != '';
    DROP INDEX IF EXISTS inquiries_handled;
    """,
)

LATEST = len(MIGRATIONS)


class SchemaTooNew(RuntimeError):
    def __init__(self, found: int) -> None:
        super().__init__(
            f"the store was written by a newer Heard (schema {found}, this one knows "
            f"{LATEST}); update Heard or use another profile"
        )
        self.found = found


def version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, target: int = LATEST) -> int:
    """Bring the schema to `target`, one transaction per step. Returns the old version."""
    current = version(conn)
    if current > LATEST:
        raise SchemaTooNew(current)
    for number in range(current + 1, target + 1):
        # executescript would commit on its own; run each statement inside one transaction
        # so a crash mid-migration leaves the previous version intact.
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(MIGRATIONS[number - 1]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return current


def _statements(script: str) -> list[str]:
    parts, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            parts.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        parts.append(buffer.strip())
    return parts
