"""What every recorded fact carries, and the base classes that record it.

An event's body must give the same result on every replay, so nothing in here reads a clock:
``recorded_at`` comes from the clock the application was given, ``occurred_at`` from the
caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, Self
from uuid import UUID

from eventsourcing.domain import Aggregate, CanMutateAggregate

from domain.actors import Actor
from domain.errors import InvalidValueError, NaiveDatetimeError, OccurredInFutureError


@dataclass(frozen=True)
class Stamp:
    """When a fact happened in the world, when it was recorded, and by whom."""

    occurred_at: datetime
    recorded_at: datetime
    actor: Actor

    @classmethod
    def of(
        cls,
        actor: Actor,
        occurred_at: datetime | None,
        now: datetime,
        future_tolerance: timedelta,
    ) -> Stamp:
        """Stamp a command. Facts may be recorded late, but not before they happen."""
        if occurred_at is None:
            occurred_at = now
        if occurred_at.tzinfo is None or occurred_at.utcoffset() is None:
            raise NaiveDatetimeError("occurred_at must carry a time zone")
        if occurred_at > now + future_tolerance:
            raise OccurredInFutureError(
                f"occurred_at lies more than {int(future_tolerance.total_seconds())} s "
                "in the future"
            )
        return cls(occurred_at=occurred_at, recorded_at=now, actor=actor)


class RecordedEvent(Aggregate.Event):
    """Base of every fact in Overgang: when it happened and who recorded it.

    Each concrete event declares which of its fields are personal (identifying or free
    text: encrypted per person, shredded on erasure) and which are non-identifying facts
    that stay readable for statistics. A test fails when a text field is neither.
    """

    occurred_at: datetime
    actor: Actor

    PERSONAL: ClassVar[frozenset[str]] = frozenset()
    NON_IDENTIFYING: ClassVar[frozenset[str]] = frozenset()

    def apply(self, aggregate: Any) -> None:
        self.evolve(aggregate)

    def evolve(self, aggregate: Any) -> None:
        """Change the aggregate's state; most facts change nothing the rules need."""


def _require_valid_text(fields: dict[str, Any]) -> None:
    # A lone surrogate cannot be stored as UTF-8: refuse it as invalid input here rather
    # than fail while writing.
    for name, value in fields.items():
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise InvalidValueError(f"{name} is not valid Unicode text") from None


class RecordingAggregate(Aggregate):
    """An aggregate whose events carry a :class:`Stamp`."""

    @classmethod
    def _begin(
        cls, event_class: type[Aggregate.Created], id: UUID, stamp: Stamp, **fields: Any
    ) -> Self:
        _require_valid_text(fields)
        return cls._create(
            event_class,
            id=id,
            timestamp=stamp.recorded_at,
            occurred_at=stamp.occurred_at,
            actor=stamp.actor,
            **fields,
        )

    def _record(
        self, event_class: type[CanMutateAggregate[UUID]], stamp: Stamp, **fields: Any
    ) -> None:
        _require_valid_text(fields)
        self.trigger_event(
            event_class,
            timestamp=stamp.recorded_at,
            occurred_at=stamp.occurred_at,
            actor=stamp.actor,
            **fields,
        )
