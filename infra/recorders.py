"""Event recorders that also store idempotency keys in the events' own transaction.

A command sent again with the same ``Idempotency-Key`` must record nothing new, even when
the first attempt's answer was lost in a failure. So the key, the ids the command answered
with and the position it wrote are inserted in the very transaction that inserts its events:
either both are committed or neither is. A second insert of the same key violates the
primary key and rolls back the retry's events as a whole.

The same transaction also writes the webhook deliveries of the command's published events
(the transactional outbox, see ``infra.outbox``).

On SQLite every connection to the event store also has ``secure_delete`` on: what is
deleted from the file (a snapshot, a data key in the same file) is overwritten, not left
readable in free pages.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

import eventsourcing.postgres
from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    InternalError,
    Notification,
    OperationalError,
    StoredEvent,
)
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresDatastore,
)
from eventsourcing.sqlite import (
    SQLiteApplicationRecorder,
    SQLiteConnection,
    SQLiteConnectionPool,
    SQLiteCursor,
    SQLiteDatastore,
)
from eventsourcing.utils import retry
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from domain.application import IdempotentOutcome, IdempotentRecording
from infra.outbox import PostgresOutbox, SQLiteOutbox, outbox_messages_of

IDEMPOTENCY_TABLE = "idempotency_keys"
# The advisory lock that serializes creating the event store's tables (any constant that
# no other lock of Overgang uses), and how often a lost race is tried again.
_DDL_LOCK = 0x0FE7_E5E7
_CREATE_ATTEMPTS = 5
# eventsourcing tries each read and write of the event store ten times, 0.2 s apart, and
# each attempt may wait the connect timeout for a connection: with the database away, a
# command would get its 503 only after some 22 s, longer than proxies and people wait.
# Pooled connections are checked before use (POSTGRES_PRE_PING in infra.bootstrap), so a
# restarted server costs no attempt; the second covers a connection lost in between.
STORE_ATTEMPTS = 2


def _fewer_attempts(method: Any) -> Any:
    """``method`` of eventsourcing's recorders, tried ``STORE_ATTEMPTS`` times."""
    return retry((InterfaceError, OperationalError), max_attempts=STORE_ATTEMPTS, wait=0.2)(
        method.__wrapped__
    )


def _encode_ids(ids: Mapping[str, UUID]) -> str:
    return json.dumps({name: value.hex for name, value in ids.items()}, sort_keys=True)


def _decode_outcome(fingerprint: str, ids: str, position: int) -> IdempotentOutcome:
    decoded = {name: UUID(value) for name, value in json.loads(ids).items()}
    return IdempotentOutcome(fingerprint=fingerprint, ids=decoded, position=position)


def _secure_delete_on(connection: SQLiteConnection) -> None:
    connection.cursor().execute("PRAGMA secure_delete = ON")


def require_secure_delete(pool: SQLiteConnectionPool) -> None:
    """Turn ``secure_delete`` on for every connection ``pool`` has and will make.

    eventsourcing opens its SQLite connections in the pool's ``_create_connection`` and
    offers no hook, so that method is wrapped, on this one pool. The pool is shared by
    every recorder of the factory (events and snapshots alike).
    """
    if getattr(pool, "_overgang_secure_delete", False):
        return
    create_connection = pool._create_connection

    def create_secure_connection() -> SQLiteConnection:
        connection = create_connection()
        _secure_delete_on(connection)
        return connection

    setattr(pool, "_create_connection", create_secure_connection)  # noqa: B010
    # Normally there are none yet: the recorder is built before anything is read.
    for idle in list(pool._pool):
        _secure_delete_on(idle)
    setattr(pool, "_overgang_secure_delete", True)  # noqa: B010


class SQLiteIdempotentRecorder(SQLiteApplicationRecorder):
    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events"):
        require_secure_delete(datastore.pool)
        # Before super().__init__, which asks for the create-table statements.
        self.outbox = SQLiteOutbox(datastore)
        super().__init__(datastore, events_table_name=events_table_name)

    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            f"CREATE TABLE IF NOT EXISTS {IDEMPOTENCY_TABLE} ("
            "key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, ids TEXT NOT NULL, "
            "position INTEGER NOT NULL)",
            *self.outbox.create_table_statements(),
        ]

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        positions = super()._insert_events(c, stored_events, **kwargs)
        recording = kwargs.get("idempotency")
        if isinstance(recording, IdempotentRecording) and positions:
            c.execute(
                f"INSERT INTO {IDEMPOTENCY_TABLE} (key, fingerprint, ids, position) "
                "VALUES (?, ?, ?, ?)",
                (
                    recording.key.key,
                    recording.key.fingerprint,
                    _encode_ids(recording.ids),
                    max(positions),
                ),
            )
        if positions:
            self.outbox.insert(c, outbox_messages_of(kwargs), stored_events, positions)
        return positions

    def select_stream(self, originator_id: UUID) -> list[Notification]:
        """Every event of one stream with its log position, in log order (one indexed
        read: a young person's history as of a date replays just their stream)."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT rowid, originator_id, originator_version, topic, state "
                f"FROM {self.events_table_name} WHERE originator_id = ? ORDER BY rowid",
                (originator_id.hex,),
            )
            return [
                Notification(
                    id=row["rowid"],
                    originator_id=originator_id,  # the one asked for: no parsing per row
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=row["state"],
                )
                for row in c.fetchall()
            ]

    def find_outcome(self, key: str) -> IdempotentOutcome | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT fingerprint, ids, position FROM {IDEMPOTENCY_TABLE} WHERE key = ?",
                (key,),
            )
            row = c.fetchone()
        if row is None:
            return None
        return _decode_outcome(row["fingerprint"], row["ids"], row["position"])


class _SerializedCreation(PostgresAggregateRecorder):
    """Creates its tables safely while other processes start against the same database.

    Processes starting together on a new database (compose starts the api, the projector
    and the sweeper at once) race on PostgreSQL's catalogue: "tuple concurrently updated",
    or a duplicate type. The tables are created under an advisory lock; the library makes
    its composite types in transactions of their own first, so a race lost there is simply
    tried again.
    """

    def create_table(self) -> None:
        for attempt in range(_CREATE_ATTEMPTS):
            try:
                super().create_table()
                return
            except (InternalError, IntegrityError):
                if attempt == _CREATE_ATTEMPTS - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))

    def _create_table(self, curs: Cursor[DictRow]) -> None:
        curs.execute("SELECT pg_advisory_xact_lock(%s)", (_DDL_LOCK,))
        super()._create_table(curs)


class PostgresSnapshotRecorder(_SerializedCreation):
    """The snapshot store's recorder."""

    insert_events = _fewer_attempts(PostgresAggregateRecorder.insert_events)
    select_events = _fewer_attempts(PostgresAggregateRecorder.select_events)


class PostgresIdempotentRecorder(_SerializedCreation, PostgresApplicationRecorder):
    insert_events = _fewer_attempts(PostgresApplicationRecorder.insert_events)
    select_events = _fewer_attempts(PostgresApplicationRecorder.select_events)
    select_notifications = _fewer_attempts(PostgresApplicationRecorder.select_notifications)
    max_notification_id = _fewer_attempts(PostgresApplicationRecorder.max_notification_id)

    def __init__(
        self, datastore: PostgresDatastore, events_table_name: str = "stored_events"
    ) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.idempotency_table = SQL("{schema}.{table}").format(
            schema=Identifier(datastore.schema),
            table=Identifier(f"{events_table_name}_{IDEMPOTENCY_TABLE}"),
        )
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {table} (key TEXT PRIMARY KEY, "
                "fingerprint TEXT NOT NULL, ids TEXT NOT NULL, position BIGINT)"
            ).format(table=self.idempotency_table)
        )
        self.outbox = PostgresOutbox(datastore, events_table_name)
        self.sql_create_statements.extend(self.outbox.create_table_statements())

    def _fetch_ids_after_insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        # Runs in the events' transaction once they are inserted, inside the library's
        # error handling: a repeated key fails here (or waits for a concurrent first
        # attempt to commit, then fails) and rolls the events back with it. Not earlier:
        # in pipeline mode a statement failing before the events' insert surfaced now and
        # then as "pipeline aborted" (a 503) instead of the key's own integrity error.
        positions = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        recording = kwargs.get("idempotency")
        if isinstance(recording, IdempotentRecording) and positions:
            curs.execute(
                SQL(
                    "INSERT INTO {table} (key, fingerprint, ids, position) "
                    "VALUES (%s, %s, %s, %s) RETURNING key"
                ).format(table=self.idempotency_table),
                (
                    recording.key.key,
                    recording.key.fingerprint,
                    _encode_ids(recording.ids),
                    max(positions),
                ),
            )
            curs.fetchone()  # the key's own error, if any, is raised here and now
        if positions:
            self.outbox.insert(curs, outbox_messages_of(kwargs), stored_events, positions)
        return positions

    def select_stream(self, originator_id: UUID) -> list[Notification]:
        """Every event of one stream with its log position, in log order (one indexed
        read: a young person's history as of a date replays just their stream)."""
        statement = SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state "
            "FROM {schema}.{table} WHERE originator_id = %s ORDER BY notification_id"
        ).format(schema=Identifier(self.datastore.schema), table=Identifier(self.events_table_name))
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, (originator_id,), prepare=True)
            return [
                Notification(
                    id=row["notification_id"],
                    originator_id=row["originator_id"],
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=bytes(row["state"]),
                )
                for row in curs.fetchall()
            ]

    def find_outcome(self, key: str) -> IdempotentOutcome | None:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                SQL(
                    "SELECT fingerprint, ids, position FROM {table} "
                    "WHERE key = %s AND position IS NOT NULL"
                ).format(table=self.idempotency_table),
                (key,),
            )
            row = curs.fetchone()
        if row is None:
            return None
        return _decode_outcome(row["fingerprint"], row["ids"], row["position"])


class PostgresFactory(eventsourcing.postgres.PostgresFactory):
    """eventsourcing's PostgreSQL persistence with Overgang's recorders (the snapshot
    store's included, which has no topic setting of its own)."""

    aggregate_recorder_class = PostgresSnapshotRecorder
    application_recorder_class = PostgresIdempotentRecorder
