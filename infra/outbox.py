"""The transactional outbox: webhook deliveries stored with the events that cause them.

The application hands the recorder the :class:`~domain.publishing.OutboxMessage`\\ s of a
command's published events (``save(..., outbox=messages)``); the recorder inserts one row
per message and configured endpoint here, with the cursor of the events' own transaction.
So a delivery exists if and only if its event was committed: a conflicting save or a
retried idempotent command writes none.

A row's ``payload`` is the exact JSON body sent, fixed when the row is written, so every
attempt of one delivery carries the same bytes and the same ``delivery_id``. It names the
young person by id only (payloads hold no personal field), so erasure has nothing to purge.

Deliverers claim due rows with a lease (``attempts + 1`` and ``next_attempt_at`` moved past
the time the attempt may take) in one short transaction, then send outside any transaction.
On PostgreSQL the claim uses ``FOR UPDATE SKIP LOCKED``: two deliverers never claim one row
at once. A deliverer that dies mid-send leaves the row to be claimed again once its lease
ends: delivery is at least once, and receivers drop repeats by delivery id.

Times are the application's clock (``OutboxMessage.recorded_at``) and the deliverer's
injected clock, never the database's: tests drive them with a fake clock.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any, Protocol
from uuid import UUID, uuid4

from eventsourcing.application import Application
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteCursor, SQLiteDatastore
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier

from domain.publishing import OutboxMessage
from projections.columns import iso_utc, parse_utc

OUTBOX_TABLE = "outbox"


@dataclass(frozen=True)
class ClaimedDelivery:
    """A delivery a deliverer has leased and now sends."""

    delivery_id: UUID
    endpoint: str
    event_name: str
    payload: str  # the exact JSON body
    attempts: int  # including the one now being made


@dataclass(frozen=True)
class OutboxRow:
    """A row as stored, for status reports and tests."""

    delivery_id: UUID
    endpoint: str
    event_name: str
    position: int
    payload: str
    created_at: datetime
    attempts: int
    next_attempt_at: datetime
    delivered_at: datetime | None
    failed_at: datetime | None
    last_error: str | None


class Outbox(Protocol):
    """What a deliverer needs of the outbox (see :class:`SQLiteOutbox`, :class:`PostgresOutbox`)."""

    def claim_due(
        self, now: datetime, lease_until: datetime, limit: int
    ) -> list[ClaimedDelivery]: ...

    def mark_delivered(self, delivery_id: UUID, at: datetime) -> None: ...

    def mark_retry(self, delivery_id: UUID, next_attempt_at: datetime, error: str) -> None: ...

    def mark_failed(self, delivery_id: UUID, at: datetime, error: str) -> None: ...

    def rows(self) -> list[OutboxRow]: ...


def _json_default(value: object) -> object:
    # Payloads should already be JSON-ready; these are the domain's usual values.
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"{type(value).__name__} is not JSON-ready in a published payload")


def encode_body(
    delivery_id: UUID, message: OutboxMessage, position: int, recorded_at: datetime
) -> str:
    """The body a receiver gets: the envelope and the event's public payload."""
    return json.dumps(
        {
            "delivery_id": str(delivery_id),
            "event": message.name,
            "position": position,
            "recorded_at": iso_utc(recorded_at),
            "data": dict(message.payload),
        },
        default=_json_default,
        ensure_ascii=False,
        separators=(",", ":"),
        sort_keys=True,
    )


@dataclass(frozen=True)
class _NewRow:
    delivery_id: UUID
    endpoint: str
    event_name: str
    position: int
    payload: str
    created_at: datetime


def _new_rows(
    messages: Sequence[OutboxMessage],
    endpoints: Sequence[str],
    stored_events: Sequence[StoredEvent],
    positions: Sequence[int],
) -> list[_NewRow]:
    """One row per message and endpoint, each naming its own event's log position."""
    by_event: dict[tuple[UUID | None, int | None], int] = {
        (UUID(str(stored.originator_id)), stored.originator_version): position
        for stored, position in zip(stored_events, positions, strict=True)
    }
    last = max(positions)
    rows = []
    for message in messages:
        position = by_event.get((message.originator_id, message.originator_version), last)
        # recorded_at is the application's clock; a message built by hand may lack it.
        recorded_at = message.recorded_at or datetime.now(UTC)
        for endpoint in endpoints:
            delivery_id = uuid4()
            rows.append(
                _NewRow(
                    delivery_id=delivery_id,
                    endpoint=endpoint,
                    event_name=message.name,
                    position=position,
                    payload=encode_body(delivery_id, message, position, recorded_at),
                    created_at=recorded_at,
                )
            )
    return rows


def outbox_messages_of(kwargs: Mapping[str, Any]) -> Sequence[OutboxMessage]:
    """The messages a ``save(..., outbox=...)`` passed down to the recorder."""
    messages = kwargs.get("outbox") or ()
    return [m for m in messages if isinstance(m, OutboxMessage)]


_COLUMNS = (
    "delivery_id, endpoint, event_name, position, payload, created_at, attempts, "
    "next_attempt_at, delivered_at, failed_at, last_error"
)


# --- SQLite --------------------------------------------------------------------------------


def _sqlite_time(value: str | None) -> datetime | None:
    return None if value is None else parse_utc(value)


class SQLiteOutbox:
    """The outbox table in the event store's SQLite file (times as fixed-width UTC text)."""

    def __init__(self, datastore: SQLiteDatastore, endpoints: Sequence[str] = ()) -> None:
        self.datastore = datastore
        self.endpoints: tuple[str, ...] = tuple(endpoints)

    def create_table_statements(self) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {OUTBOX_TABLE} ("
            "delivery_id TEXT PRIMARY KEY, endpoint TEXT NOT NULL, event_name TEXT NOT NULL, "
            "position INTEGER NOT NULL, payload TEXT NOT NULL, created_at TEXT NOT NULL, "
            "attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at TEXT NOT NULL, "
            "delivered_at TEXT, failed_at TEXT, last_error TEXT)",
            # Only rows still to deliver are indexed: the due query reads what is due.
            f"CREATE INDEX IF NOT EXISTS {OUTBOX_TABLE}_due ON {OUTBOX_TABLE} "
            "(next_attempt_at) WHERE delivered_at IS NULL AND failed_at IS NULL",
        ]

    def insert(
        self,
        c: SQLiteCursor,
        messages: Sequence[OutboxMessage],
        stored_events: Sequence[StoredEvent],
        positions: Sequence[int],
    ) -> None:
        if not (messages and self.endpoints and positions):
            return
        rows = _new_rows(messages, self.endpoints, stored_events, positions)
        c.executemany(
            f"INSERT INTO {OUTBOX_TABLE} (delivery_id, endpoint, event_name, position, "
            "payload, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    str(row.delivery_id),
                    row.endpoint,
                    row.event_name,
                    row.position,
                    row.payload,
                    iso_utc(row.created_at),
                    iso_utc(row.created_at),
                )
                for row in rows
            ],
        )

    def claim_due(self, now: datetime, lease_until: datetime, limit: int) -> list[ClaimedDelivery]:
        # One write transaction: SQLite serialises writers, so no two claims overlap.
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                f"UPDATE {OUTBOX_TABLE} SET attempts = attempts + 1, next_attempt_at = ? "
                f"WHERE delivery_id IN (SELECT delivery_id FROM {OUTBOX_TABLE} "
                "WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ? "
                "ORDER BY next_attempt_at LIMIT ?) "
                "RETURNING delivery_id, endpoint, event_name, payload, attempts, position",
                (iso_utc(lease_until), iso_utc(now), limit),
            )
            rows = c.fetchall()
        rows = sorted(rows, key=lambda row: (row["position"], row["delivery_id"]))
        return [
            ClaimedDelivery(
                delivery_id=UUID(row["delivery_id"]),
                endpoint=row["endpoint"],
                event_name=row["event_name"],
                payload=row["payload"],
                attempts=row["attempts"],
            )
            for row in rows
        ]

    def _update(self, assignments: str, params: tuple[object, ...], delivery_id: UUID) -> None:
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                f"UPDATE {OUTBOX_TABLE} SET {assignments} "
                "WHERE delivery_id = ? AND delivered_at IS NULL AND failed_at IS NULL",
                (*params, str(delivery_id)),
            )

    def mark_delivered(self, delivery_id: UUID, at: datetime) -> None:
        self._update("delivered_at = ?, last_error = NULL", (iso_utc(at),), delivery_id)

    def mark_retry(self, delivery_id: UUID, next_attempt_at: datetime, error: str) -> None:
        self._update(
            "next_attempt_at = ?, last_error = ?", (iso_utc(next_attempt_at), error), delivery_id
        )

    def mark_failed(self, delivery_id: UUID, at: datetime, error: str) -> None:
        self._update("failed_at = ?, last_error = ?", (iso_utc(at), error), delivery_id)

    def rows(self) -> list[OutboxRow]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT {_COLUMNS} FROM {OUTBOX_TABLE} ORDER BY position, delivery_id")
            found = c.fetchall()
        return [
            OutboxRow(
                delivery_id=UUID(row["delivery_id"]),
                endpoint=row["endpoint"],
                event_name=row["event_name"],
                position=row["position"],
                payload=row["payload"],
                created_at=parse_utc(row["created_at"]),
                attempts=row["attempts"],
                next_attempt_at=parse_utc(row["next_attempt_at"]),
                delivered_at=_sqlite_time(row["delivered_at"]),
                failed_at=_sqlite_time(row["failed_at"]),
                last_error=row["last_error"],
            )
            for row in found
        ]


# --- PostgreSQL ----------------------------------------------------------------------------


class PostgresOutbox:
    """The outbox table beside the events table, in the event store's schema."""

    def __init__(
        self, datastore: PostgresDatastore, events_table_name: str, endpoints: Sequence[str] = ()
    ) -> None:
        self.datastore = datastore
        self.endpoints: tuple[str, ...] = tuple(endpoints)
        name = f"{events_table_name}_{OUTBOX_TABLE}"
        self.table = SQL("{schema}.{table}").format(
            schema=Identifier(datastore.schema), table=Identifier(name)
        )
        self.due_index = Identifier(f"{name}_due")

    def create_table_statements(self) -> list[Composed]:
        return [
            SQL(
                "CREATE TABLE IF NOT EXISTS {table} ("
                "delivery_id UUID PRIMARY KEY, endpoint TEXT NOT NULL, "
                "event_name TEXT NOT NULL, position BIGINT NOT NULL, payload TEXT NOT NULL, "
                "created_at TIMESTAMPTZ NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, "
                "next_attempt_at TIMESTAMPTZ NOT NULL, delivered_at TIMESTAMPTZ, "
                "failed_at TIMESTAMPTZ, last_error TEXT)"
            ).format(table=self.table),
            # Only rows still to deliver are indexed: the due query reads what is due.
            SQL(
                "CREATE INDEX IF NOT EXISTS {index} ON {table} (next_attempt_at) "
                "WHERE delivered_at IS NULL AND failed_at IS NULL"
            ).format(index=self.due_index, table=self.table),
        ]

    def insert(
        self,
        curs: Cursor[DictRow],
        messages: Sequence[OutboxMessage],
        stored_events: Sequence[StoredEvent],
        positions: Sequence[int],
    ) -> None:
        if not (messages and self.endpoints and positions):
            return
        rows = _new_rows(messages, self.endpoints, stored_events, positions)
        curs.executemany(
            SQL(
                "INSERT INTO {table} (delivery_id, endpoint, event_name, position, payload, "
                "created_at, next_attempt_at) VALUES (%s, %s, %s, %s, %s, %s, %s)"
            ).format(table=self.table),
            [
                (
                    row.delivery_id,
                    row.endpoint,
                    row.event_name,
                    row.position,
                    row.payload,
                    row.created_at,
                    row.created_at,
                )
                for row in rows
            ],
        )

    def claim_due(self, now: datetime, lease_until: datetime, limit: int) -> list[ClaimedDelivery]:
        # SKIP LOCKED: a row another deliverer is claiming right now is left to it; once
        # that claim commits, its lease keeps the row out of every due query.
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL(
                    "UPDATE {table} SET attempts = attempts + 1, next_attempt_at = %s "
                    "WHERE delivery_id IN (SELECT delivery_id FROM {table} "
                    "WHERE delivered_at IS NULL AND failed_at IS NULL "
                    "AND next_attempt_at <= %s ORDER BY next_attempt_at LIMIT %s "
                    "FOR UPDATE SKIP LOCKED) "
                    "RETURNING delivery_id, endpoint, event_name, payload, attempts, position"
                ).format(table=self.table),
                (lease_until, now, limit),
            )
            rows = curs.fetchall()
        rows.sort(key=lambda row: (row["position"], str(row["delivery_id"])))
        return [
            ClaimedDelivery(
                delivery_id=row["delivery_id"],
                endpoint=row["endpoint"],
                event_name=row["event_name"],
                payload=row["payload"],
                attempts=row["attempts"],
            )
            for row in rows
        ]

    def _update(self, assignments: str, params: tuple[object, ...], delivery_id: UUID) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL(
                    "UPDATE {table} SET " + assignments + " "
                    "WHERE delivery_id = %s AND delivered_at IS NULL AND failed_at IS NULL"
                ).format(table=self.table),
                (*params, delivery_id),
            )

    def mark_delivered(self, delivery_id: UUID, at: datetime) -> None:
        self._update("delivered_at = %s, last_error = NULL", (at,), delivery_id)

    def mark_retry(self, delivery_id: UUID, next_attempt_at: datetime, error: str) -> None:
        self._update("next_attempt_at = %s, last_error = %s", (next_attempt_at, error), delivery_id)

    def mark_failed(self, delivery_id: UUID, at: datetime, error: str) -> None:
        self._update("failed_at = %s, last_error = %s", (at, error), delivery_id)

    def rows(self) -> list[OutboxRow]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                SQL("SELECT " + _COLUMNS + " FROM {table} ORDER BY position, delivery_id").format(
                    table=self.table
                )
            )
            found = curs.fetchall()
        return [OutboxRow(**row) for row in found]


def outbox_of(app: Application[Any]) -> SQLiteOutbox | PostgresOutbox:
    """The outbox of ``app``'s recorder (one of ``infra.recorders``)."""
    outbox = getattr(app.recorder, "outbox", None)
    if not isinstance(outbox, SQLiteOutbox | PostgresOutbox):
        raise TypeError(
            f"the application's recorder is {type(app.recorder).__name__}, which has no "
            "outbox: set APPLICATION_RECORDER_TOPIC to one of infra.recorders"
        )
    return outbox


def use_webhook_endpoints(app: Application[Any], endpoints: Sequence[str]) -> None:
    """Address each published event of ``app`` to every one of ``endpoints`` from now on.

    Called by the composition root before anything is saved; with none, nothing is written.
    """
    outbox_of(app).endpoints = tuple(endpoints)
