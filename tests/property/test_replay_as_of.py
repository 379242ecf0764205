"""A replay as of a moment equals the read models as they stood at that moment.

"As they stood" is what a live projection runner had when it caught up at that moment: the
events recorded by then, applied batch by batch. The replay instead reads the whole log
(later events included) and keeps what its window admits, in one pass. For any simulated
history, any moment and any batch sizes, every table of every read model must come out the
same. Both sides decode alike (sealed: personal fields are None), so what is compared is
the window and the replay's mechanics; that nothing personal is decoded is shown in
tests/integration/test_replay.py.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from eventsourcing.application import Application
from hypothesis import given
from hypothesis import strategies as st

from domain.application import Overgang
from domain.values import ReferralDetails
from infra.bootstrap import all_projections
from infra.replay import ReplayBy, ReplayWindow, replay_into, sealed_mapper
from infra.runner import ProjectionRunner
from projections.base import Projection
from projections.store import (
    TRACKING_TABLE,
    Row,
    ScratchSQLiteViewStore,
    SQLiteViewStore,
    ViewStore,
    quote_identifier,
)
from tests.property.test_projection_resume import _RecorderUpTo, record
from tests.strategies import Step, histories


class _SealedLogUpTo:
    """The log as it stood at ``last``, decoded as the replay decodes it."""

    def __init__(self, app: Overgang, last: int) -> None:
        self.recorder = _RecorderUpTo(app, last)
        self.mapper = sealed_mapper(app.mapper)


def tables(store: ViewStore, projections: Sequence[Projection]) -> dict[str, list[Row]]:
    """Every row of every read model's tables, in a fixed order."""
    found: dict[str, list[Row]] = {}
    with store.transaction(readonly=True) as cur:
        for projection in projections:
            for table in projection.tables:
                rows = cur.execute(f"SELECT * FROM {quote_identifier(table)}").fetchall()
                found[table] = sorted(rows, key=lambda row: [repr(v) for v in row.values()])
    found.pop(TRACKING_TABLE, None)
    return found


def live_views_at(app: Overgang, last: int, path: Path, batch_size: int) -> dict[str, list[Row]]:
    store = SQLiteViewStore(path)
    try:
        projections = all_projections()
        source = cast(Application[Any], _SealedLogUpTo(app, last))
        ProjectionRunner(source, store, projections, batch_size=batch_size).catch_up()
        return tables(store, projections)
    finally:
        store.close()


def replayed_views(
    app: Overgang, window: ReplayWindow, path: Path, batch_size: int
) -> dict[str, list[Row]]:
    store = ScratchSQLiteViewStore(path)
    try:
        projections = all_projections()
        replay_into(
            app.recorder,
            sealed_mapper(app.mapper),
            store,
            projections,
            window,
            batch_size=batch_size,
        )
        return tables(store, projections)
    finally:
        store.close()


def recorded_moments(app: Overgang) -> list[tuple[int, datetime]]:
    """Each log position with the moment its event was recorded."""
    last = app.recorder.max_notification_id() or 0
    notifications = app.recorder.select_notifications(start=1, limit=last)
    return [(n.id, cast(Any, app.mapper.to_domain_event(n)).timestamp) for n in notifications]


@given(
    cases=st.lists(histories(max_steps=12), min_size=1, max_size=3),
    cut=st.floats(min_value=0, max_value=1),
    live_batch=st.integers(min_value=1, max_value=7),
    replay_batch=st.integers(min_value=1, max_value=7),
)
def test_a_replay_by_recorded_time_equals_the_views_as_they_stood_then(
    cases: list[tuple[ReferralDetails, list[Step]]],
    cut: float,
    live_batch: int,
    replay_batch: int,
) -> None:
    app = record(cases)
    moments = recorded_moments(app)
    _, as_of = moments[round(cut * (len(moments) - 1))]
    # Live at ``as_of``: everything recorded by then (one command's events share a moment).
    last = max(position for position, moment in moments if moment <= as_of)

    with tempfile.TemporaryDirectory() as folder:
        live = live_views_at(app, last, Path(folder) / "live.db", live_batch)
        window = ReplayWindow(as_of, ReplayBy.RECORDED)
        replayed = replayed_views(app, window, Path(folder) / "replay.db", replay_batch)

    assert replayed == live


@given(
    cases=st.lists(histories(max_steps=12), min_size=1, max_size=2),
    replay_batch=st.integers(min_value=1, max_value=7),
)
def test_a_replay_as_of_the_latest_fact_equals_the_live_views(
    cases: list[tuple[ReferralDetails, list[Step]]], replay_batch: int
) -> None:
    app = record(cases)
    moments = recorded_moments(app)
    latest = max(moment for _, moment in moments)

    with tempfile.TemporaryDirectory() as folder:
        live = live_views_at(app, moments[-1][0], Path(folder) / "live.db", 100)
        by_occurred = replayed_views(
            app, ReplayWindow(latest, ReplayBy.OCCURRED), Path(folder) / "o.db", replay_batch
        )

    assert by_occurred == live
