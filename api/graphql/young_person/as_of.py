"""A young person as the case stood at a date (``youngPerson(id, asOf)``).

The read models a young person's fields read are rebuilt from that one person's stream:
the events that had happened by ``asOf`` (``occurred_at <= asOf``, so a fact recorded
late but dated before it counts), applied in log order by the very projections that keep
the live views, into a throwaway in-memory view store. The fields then answer from
``Loaders`` on that store with ``now = asOf``: risk flags open at that moment, days
since a transition's start counted to that day. What the views show is exactly what
they would have shown had the log held only those events.

A young person's fields need only their own stream: the projections below read nothing
but the young person's events. A field of ``YoungPerson`` that reads another read model
must add its projection to ``person_projections`` (without it, the replayed store has no
such table and the field fails loudly rather than answering empty).

The replay is decrypted like any read (the application's mapper; an erased person's
personal fields decode as None), held in memory only, and dropped with the request.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID

import anyio
from anyio import to_thread
from eventsourcing.persistence import Notification

from api.graphql.context import Context, Loaders
from api.graphql.errors import INVALID_ARGUMENT, graphql_error
from domain.application import Overgang
from projections.base import PositionedEvent, Projection
from projections.caseload import CaseloadProjection
from projections.decision_audit import DecisionAuditProjection
from projections.plan import PlanProjection
from projections.risk_flags import RiskFlagsProjection
from projections.store import MemorySQLiteViewStore
from projections.timeline import TimelineProjection
from projections.transitions import TransitionsProjection

MAX_REPLAYS_PER_REQUEST = 10
"""Distinct (young person, date) replays one request may ask for: each costs a stream's
worth of projecting, and a query may carry up to a hundred aliases."""

_SCAN_BATCH = 1000


class StreamRecorder(Protocol):
    """An event recorder that reads one stream with its log positions (``infra.recorders``)."""

    def select_stream(self, originator_id: UUID) -> Sequence[Notification]: ...


def person_projections() -> list[Projection]:
    """Fresh instances of the read models a young person's fields read (see the module
    docstring)."""
    return [
        TimelineProjection(),
        RiskFlagsProjection(),
        PlanProjection(),
        TransitionsProjection(),
        DecisionAuditProjection(),
        # The name (``YoungPerson.name``): as the referral gave it, null once erased.
        CaseloadProjection(),
    ]


def stream_of(app: Overgang, young_person_id: UUID) -> list[PositionedEvent]:
    """The young person's events with their log positions, in log order, decoded."""
    select_stream = getattr(app.recorder, "select_stream", None)
    if select_stream is not None:
        notifications: Sequence[Notification] = select_stream(young_person_id)
    else:
        notifications = _scan_for(app, young_person_id)
    mapper = app.mapper
    prefetch_keys = getattr(mapper, "prefetch_keys", None)
    if prefetch_keys is not None and notifications:
        prefetch_keys(notifications[:1])
    return [(n.id, mapper.to_domain_event(n)) for n in notifications]


def _scan_for(app: Overgang, young_person_id: UUID) -> list[Notification]:
    # A recorder without select_stream (the in-memory one): read the whole log.
    found: list[Notification] = []
    start = 1
    while batch := app.recorder.select_notifications(start=start, limit=_SCAN_BATCH):
        found += [n for n in batch if n.originator_id == young_person_id]
        start = batch[-1].id + 1
    return found


def happened_by(events: Sequence[PositionedEvent], as_of: datetime) -> list[PositionedEvent]:
    """The events that had happened by ``as_of`` (by ``occurred_at``), in log order; none
    when the stream's first event (the referral) had not happened yet."""
    if not events or events[0][1].occurred_at > as_of:  # type: ignore[attr-defined]
        return []
    return [
        (position, event)
        for position, event in events
        if event.occurred_at <= as_of  # type: ignore[attr-defined]
    ]


def views_as_of(app: Overgang, young_person_id: UUID, as_of: datetime) -> Loaders | None:
    """Loaders on the young person's read models as they stood at ``as_of``; None when the
    young person had not been referred by then. Synchronous: run it off the event loop."""
    events = happened_by(stream_of(app, young_person_id), as_of)
    if not events:
        return None
    store = MemorySQLiteViewStore()
    with store.transaction() as cur:
        for projection in person_projections():
            projection.create_tables(cur)
            projection.process(cur, events)
    return Loaders(store, as_of)


class _Replay:
    """One replay of a request: its result once ``done`` is set."""

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.loaders: Loaders | None = None
        self.failed: BaseException | None = None


# Per request: the replays asked for so far, by (young person, date); weakly keyed, so
# they go with the request's context.
_replays: weakref.WeakKeyDictionary[Context, dict[tuple[UUID, datetime], _Replay]] = (
    weakref.WeakKeyDictionary()
)


async def loaders_as_of(context: Context, young_person_id: UUID, as_of: datetime) -> Loaders | None:
    """``views_as_of`` for this request, in a worker thread; another ask for the same
    young person and date (an alias) shares the first one's replay. ``as_of`` must carry
    a time zone."""
    made = _replays.setdefault(context, {})
    key = (young_person_id, as_of)
    replay = made.get(key)
    if replay is None:
        # Counted before the first await: aliases resolved side by side count too.
        if len(made) >= MAX_REPLAYS_PER_REQUEST:
            raise graphql_error(
                INVALID_ARGUMENT,
                f"at most {MAX_REPLAYS_PER_REQUEST} young people as of a date per request",
            )
        replay = made[key] = _Replay()
        try:
            replay.loaders = await to_thread.run_sync(
                views_as_of, context.services.app, young_person_id, as_of
            )
        except BaseException as error:
            replay.failed = error
            raise
        finally:
            replay.done.set()
        return replay.loaders
    await replay.done.wait()
    if replay.failed is not None:
        raise replay.failed
    return replay.loaders
