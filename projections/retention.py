"""The retention read model: whose case is closed, and since when.

One row per young person whose case is closed: ``closed_at`` is when the case closed in the
world (the ``CaseClosed`` event's ``occurred_at``). Reopening the case removes the row, and
so does erasing the person's personal data: then there is nothing left to retain. The
retention run (``overgang retention erase``) erases everyone closed before a cut-off.

It holds no personal data: an id and a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from functools import cache
from typing import cast

from domain.young_person_events import CaseClosed, CaseReopened, PersonalDataErased
from projections.base import PositionedEvent, Projection
from projections.columns import iso_utc
from projections.store import ViewCursor

TABLE = "retention_closed_cases"

_CLOSES = "closes"
_ENDS_RETENTION = "ends retention"


@cache
def _effect(event_type: type) -> str | None:
    """What an event of ``event_type`` does to its young person's row, decided once per
    type (an ``isinstance`` per event costs more than the rest of the loop)."""
    if issubclass(event_type, CaseClosed):
        return _CLOSES
    if issubclass(event_type, CaseReopened | PersonalDataErased):
        return _ENDS_RETENTION
    return None


class RetentionProjection(Projection):
    """Keeps ``retention_closed_cases`` up to date: one row per closed case."""

    name = "retention"
    base_tables = (TABLE,)

    def create_tables(self, cur: ViewCursor) -> None:
        table = self.table(TABLE)
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {table} ("
            "young_person_id TEXT PRIMARY KEY, closed_at TEXT NOT NULL)"
        )
        cur.execute(f"CREATE INDEX IF NOT EXISTS {table}_by_closed_at ON {table} (closed_at)")

    def process(self, cur: ViewCursor, events: Sequence[PositionedEvent]) -> None:
        # Fold the batch first: a person's last fact in it decides (closed since when, or
        # not closed), so a batch costs at most two statements.
        closed: dict[str, str | None] = {}
        for _, event in events:
            effect = _effect(type(event))
            if effect is _CLOSES:
                closed[event.originator_id.hex] = iso_utc(cast(CaseClosed, event).occurred_at)
            elif effect is _ENDS_RETENTION:
                closed[event.originator_id.hex] = None
        table = self.table(TABLE)
        upserts = [(person, at) for person, at in closed.items() if at is not None]
        removals = [person for person, at in closed.items() if at is None]
        cur.upsert_rows(table, ("young_person_id", "closed_at"), upserts, key=("young_person_id",))
        if removals:
            cur.execute(f"DELETE FROM {table} WHERE young_person_id = ANY(%s)", (removals,))


def years_before(moment: datetime, years: int) -> datetime:
    """The same moment ``years`` calendar years earlier (29 February becomes the 28th)."""
    day = moment.date()
    try:
        earlier = day.replace(year=day.year - years)
    except ValueError:
        earlier = date(day.year - years, day.month, day.day - 1)
    return moment.replace(year=earlier.year, month=earlier.month, day=earlier.day)


class RetentionView:
    """Queries of ``retention_closed_cases``."""

    @staticmethod
    def closed_before(cur: ViewCursor, cutoff: datetime) -> list[str]:
        """Young people (ids in hex) whose case closed before ``cutoff``, longest closed first."""
        rows = cur.execute(
            f"SELECT young_person_id FROM {TABLE} WHERE closed_at < %s "
            "ORDER BY closed_at, young_person_id",
            (iso_utc(cutoff),),
        ).fetchall()
        return [str(row["young_person_id"]) for row in rows]

    @staticmethod
    def closed_since(cur: ViewCursor, young_person_ids: Sequence[str]) -> dict[str, datetime]:
        """When each of ``young_person_ids`` whose case is closed closed it, keyed by id."""
        ids = list(dict.fromkeys(young_person_ids))
        if not ids:
            return {}
        rows = cur.execute(
            f"SELECT young_person_id, closed_at FROM {TABLE} WHERE young_person_id = ANY(%s)",
            (ids,),
        ).fetchall()
        return {
            str(row["young_person_id"]): datetime.fromisoformat(row["closed_at"]) for row in rows
        }
