"""The access log: every read of a young person's personal data (who, role, when, what,
whose), in the view database.

It is not a read model: nothing in the event log produces it, so rebuilding the read
models must not touch it (its table is no projection's) and erasure leaves it as it is (it
holds ids, roles and kinds of data, never a name). Appending is one statement for all the
reads of a request.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from api.deps import AccessLogEntry, PersonalDataRead
from domain.actors import Actor
from projections.columns import iso_utc, parse_utc
from projections.store import ViewStore, serialize_ddl

TABLE = "access_log"
_COLUMNS = ("at", "actor_id", "actor_role", "what", "young_person_id")


class ViewStoreAccessLog:
    """``api.deps.AccessLog`` on the view store's database."""

    def __init__(self, views: ViewStore) -> None:
        self._views = views

    def setup(self) -> None:
        """Create the table if it is missing (at start, like the read models' tables)."""
        key = (
            "sequence INTEGER PRIMARY KEY AUTOINCREMENT"
            if self._views.dialect == "sqlite"
            else "sequence BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
        )
        with self._views.transaction() as cur:
            serialize_ddl(cur)  # processes starting together would race on the catalogue
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {TABLE} ({key}, at TEXT NOT NULL, "
                "actor_id TEXT NOT NULL, actor_role TEXT NOT NULL, what TEXT NOT NULL, "
                "young_person_id TEXT NOT NULL)"
            )
            cur.execute(
                f"CREATE INDEX IF NOT EXISTS {TABLE}_by_person "
                f"ON {TABLE} (young_person_id, sequence)"
            )

    def record(self, actor: Actor, at: datetime, reads: Sequence[PersonalDataRead]) -> None:
        if not reads:
            return
        when = iso_utc(at)
        rows = [
            (when, actor.id, actor.role.value, read.what, read.young_person_id.hex)
            for read in reads
        ]
        with self._views.transaction() as cur:
            cur.copy_rows(TABLE, _COLUMNS, rows)

    def entries(
        self,
        *,
        young_person_id: UUID | None,
        start: datetime | None,
        end: datetime | None,
        limit: int,
        after: int | None,
    ) -> list[AccessLogEntry]:
        conditions, params = ["sequence > %s"], list[object]([after or 0])
        if young_person_id is not None:
            conditions.append("young_person_id = %s")
            params.append(young_person_id.hex)
        if start is not None:
            conditions.append("at >= %s")
            params.append(iso_utc(start))
        if end is not None:
            conditions.append("at < %s")
            params.append(iso_utc(end))
        params.append(limit)
        with self._views.transaction(readonly=True) as cur:
            rows = cur.execute(
                f"SELECT sequence, {', '.join(_COLUMNS)} FROM {TABLE} "
                f"WHERE {' AND '.join(conditions)} ORDER BY sequence LIMIT %s",
                params,
            ).fetchall()
        return [_entry(row) for row in rows]


def _entry(row: dict[str, Any]) -> AccessLogEntry:
    return AccessLogEntry(
        sequence=int(row["sequence"]),
        at=parse_utc(row["at"]),
        actor_id=row["actor_id"],
        actor_role=row["actor_role"],
        what=row["what"],
        young_person_id=UUID(hex=row["young_person_id"]),
    )
