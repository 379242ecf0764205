"""The timeline copies each batch's rows in as new rows; a batch whose rows are there already
(the view replayed over its own tables by hand) replaces them with the same rendering and
keeps the erasure marker, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from domain.application import Overgang
from projections.base import PositionedEvent
from projections.store import Row, ViewStore
from projections.timeline import ERASED_COLUMN, TABLE, TimelineProjection
from tests.backends import Backend
from tests.factories import new_app
from tests.fakes import FakeClock
from tests.unit.projections.test_timeline import a_full_history


@pytest.fixture
def store(backend: Backend) -> Iterator[ViewStore]:
    store = backend.view_store()
    try:
        yield store
    finally:
        store.close()


def history_without_erasure() -> list[PositionedEvent]:
    clock = FakeClock()
    app: Overgang = new_app(clock)
    a_full_history(app, clock, erase=False)
    notifications = app.recorder.select_notifications(start=1, limit=10_000)
    return [(n.id, app.mapper.to_domain_event(n)) for n in notifications]


def table(store: ViewStore) -> list[Row]:
    with store.transaction(readonly=True) as cur:
        return cur.execute(f"SELECT * FROM {TABLE} ORDER BY position").fetchall()


def test_a_batch_applied_again_leaves_the_rows_as_they_were(store: ViewStore) -> None:
    events = history_without_erasure()
    projection = TimelineProjection()
    with store.transaction() as cur:
        projection.create_tables(cur)
        projection.process(cur, events)
    once = table(store)
    marked = once[1]["position"]
    with store.transaction() as cur:
        # Mark a row as purged, as an erasure does; applying its event again keeps it so.
        cur.execute(f"UPDATE {TABLE} SET {ERASED_COLUMN} = 1 WHERE position = %s", (marked,))

    with store.transaction() as cur:
        projection.process(cur, events[1:])
        projection.process(cur, events[: len(events) // 2])

    again = table(store)
    assert len(once) > 30
    assert [row for row in again if row["position"] != marked] == [
        row for row in once if row["position"] != marked
    ]
    assert [row[ERASED_COLUMN] for row in again if row["position"] == marked] == [1]
