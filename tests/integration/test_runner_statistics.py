"""A long catch-up has PostgreSQL sample the growing view tables again (``ANALYZE``), on a
schedule that spares the few batches of live work."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from domain.application import Overgang
from infra.runner import ProjectionRunner, _statistics_due
from projections.store import ViewStore
from projections.timeline import TABLE, TimelineProjection
from tests.backends import Backend
from tests.factories import a_contact, a_context, enrolled_young_person, log_position, new_app
from tests.fakes import FakeClock


def test_statistics_are_refreshed_after_the_4th_16th_64th_batch() -> None:
    assert [n for n in range(1, 1100) if _statistics_due(n)] == [4, 16, 64, 256, 1024]


@pytest.fixture
def store(pg_url: str, tmp_path: Path) -> Iterator[ViewStore]:
    store = Backend("postgres", tmp_path / "var", pg_url).view_store()
    try:
        yield store
    finally:
        store.close()


def analyzed(store: ViewStore) -> bool:
    with store.transaction(readonly=True) as cur:
        row = cur.execute(
            "SELECT last_analyze FROM pg_stat_user_tables WHERE relname = %s", (TABLE,)
        ).fetchone()
    return row is not None and row["last_analyze"] is not None


def app_with_events(count: int) -> Overgang:
    clock = FakeClock()
    app = new_app(clock)
    young_person_id = enrolled_young_person(app).young_person_id
    while log_position(app) < count:
        clock.advance(hours=1)
        app.record_contact(young_person_id, a_contact(), a_context())
    return app


def test_a_catch_up_of_a_few_batches_leaves_the_statistics_alone(store: ViewStore) -> None:
    app = app_with_events(12)
    batch_size = -(-log_position(app) // 3)  # three batches
    runner = ProjectionRunner(app, store, [TimelineProjection()], batch_size=batch_size)

    runner.catch_up()

    assert not analyzed(store)


def test_a_longer_catch_up_refreshes_them(store: ViewStore) -> None:
    app = app_with_events(12)
    batch_size = log_position(app) // 4  # four batches, and perhaps a fifth
    runner = ProjectionRunner(app, store, [TimelineProjection()], batch_size=batch_size)

    runner.catch_up()

    assert analyzed(store)
