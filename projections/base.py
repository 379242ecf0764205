"""What a read model looks like to the projection runner."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any, ClassVar, Self, TypeAlias

from eventsourcing.domain import DomainEventProtocol

from projections.store import ViewCursor, quote_identifier

DomainEvent: TypeAlias = DomainEventProtocol[Any]
PositionedEvent: TypeAlias = tuple[int, DomainEvent]
"""An event with its position in the event log (an eventsourcing notification id)."""

BUILDING_SUFFIX = "__next"
"""Suffix of the tables a rebuild fills before they are swapped in under their own names."""


class Projection:
    """A read model: tables in the view store, kept up to date from the event log.

    The runner calls ``process`` with a batch of events in log order, inside the same
    transaction that records the projection's new position, so each event is applied
    exactly once. ``process`` must be a pure function of the events: no clock, no HTTP,
    no reads of the write side.

    Every table and index name a projection writes goes through ``table()``: a rebuild
    works on a copy (``building()``) whose tables carry a suffix, and swaps them in when
    complete, so readers never see a half-built view. Index names must start with their
    table's name (``f"{table}_by_time"``), so they can be renamed with the table.
    """

    name: ClassVar[str]
    """Stable key of the projection's tracking row; also used by ``projections rebuild``."""

    base_tables: ClassVar[tuple[str, ...]]
    """The names of every table the projection owns, as readers see them."""

    def __init__(self) -> None:
        self.suffix = ""

    def table(self, base: str) -> str:
        """The name to write for table ``base``: itself, or its rebuild copy's."""
        return base + self.suffix

    @property
    def tables(self) -> tuple[str, ...]:
        return tuple(self.table(base) for base in self.base_tables)

    def building(self) -> Self:
        """This projection writing into fresh tables beside the live ones."""
        return self.with_suffix(BUILDING_SUFFIX)

    def with_suffix(self, suffix: str) -> Self:
        """This projection writing into tables named with ``suffix``: a second copy of a
        read model beside the first (a rebuild, or a replay under other rules)."""
        clone = copy.copy(self)
        clone.suffix = suffix
        return clone

    def create_tables(self, cur: ViewCursor) -> None:
        """Idempotent DDL (``CREATE ... IF NOT EXISTS``) valid on SQLite and PostgreSQL.

        Use only BIGINT, INTEGER and TEXT columns so one statement serves both.
        """
        raise NotImplementedError

    def process(self, cur: ViewCursor, events: Sequence[PositionedEvent]) -> None:
        """Apply every event of the batch, in order."""
        raise NotImplementedError

    def reset(self, cur: ViewCursor) -> None:
        """Empty the projection's tables."""
        for table in self.tables:
            cur.execute(f"DELETE FROM {quote_identifier(table)}")

    def drop_tables(self, cur: ViewCursor) -> None:
        for table in self.tables:
            cur.execute(f"DROP TABLE IF EXISTS {quote_identifier(table)}")
