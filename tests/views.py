"""Reading a read model in tests: catch up first, then one read transaction."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import TypeVar

from domain.application import Overgang
from infra.runner import ProjectionRunner
from projections.base import DomainEvent, PositionedEvent
from projections.store import ViewCursor

T = TypeVar("T")


def read(runner: ProjectionRunner, query: Callable[[ViewCursor], T]) -> T:
    runner.catch_up()
    with runner.store.transaction(readonly=True) as cur:
        return query(cur)


def logged_events(app: Overgang) -> list[PositionedEvent]:
    """Every event of the application's log, decoded, with its position."""
    notifications = app.recorder.select_notifications(start=1, limit=100_000)
    return [(n.id, app.mapper.to_domain_event(n)) for n in notifications]


def shredded(event: DomainEvent) -> DomainEvent:
    """The event as it decodes once its young person's key is gone: every personal field
    None (events are frozen, hence the copy)."""
    copied = copy.copy(event)
    for name in getattr(type(event), "PERSONAL", ()):
        if hasattr(copied, name):
            object.__setattr__(copied, name, None)
    return copied
