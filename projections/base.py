"""What a read model looks like to the projection runner."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, TypeAlias

from eventsourcing.domain import DomainEventProtocol

from projections.store import ViewCursor, quote_identifier

DomainEvent: TypeAlias = DomainEventProtocol[Any]
PositionedEvent: TypeAlias = tuple[int, DomainEvent]
"""An event with its position in the event log (an eventsourcing notification id)."""


class Projection(Protocol):
    """A read model: tables in the view store, kept up to date from the event log.

    The runner calls ``process`` with a batch of events in log order, inside the same
    transaction that records the projection's new position, so each event is applied
    exactly once. ``process`` must be a pure function of the events: no clock, no HTTP,
    no reads of the write side. Subclass ``Projection`` explicitly to inherit ``reset``.
    """

    name: str
    """Stable key of the projection's tracking row; also used by ``projections rebuild``."""

    tables: Sequence[str]
    """Every table the projection owns (what ``reset`` empties)."""

    def create_tables(self, cur: ViewCursor) -> None:
        """Idempotent DDL (``CREATE ... IF NOT EXISTS``) valid on SQLite and PostgreSQL.

        Use only BIGINT, INTEGER and TEXT columns so one statement serves both.
        """
        ...

    def process(self, cur: ViewCursor, events: Sequence[PositionedEvent]) -> None:
        """Apply every event of the batch, in order."""
        ...

    def reset(self, cur: ViewCursor) -> None:
        """Empty the projection's tables, before a rebuild from position zero."""
        for table in self.tables:
            cur.execute(f"DELETE FROM {quote_identifier(table)}")
