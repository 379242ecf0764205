"""Projecting is resumable and rebuildable: for any history and any split point, stopping
and resuming gives the same view as one uninterrupted pass, and so does a rebuild."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from itertools import zip_longest
from pathlib import Path
from typing import Any, cast

from eventsourcing.application import Application
from eventsourcing.persistence import Notification
from hypothesis import given
from hypothesis import strategies as st

from domain.application import Overgang
from domain.values import ReferralDetails
from infra.runner import ProjectionRunner
from projections.store import Row, SQLiteViewStore, read_position
from projections.timeline import TimelineProjection
from tests import factories as f
from tests.strategies import Refer, Step, World, histories, perform

# --- histories -----------------------------------------------------------------------------


def record(cases: list[tuple[ReferralDetails, list[Step]]]) -> Overgang:
    """Every case's referral, then their commands interleaved (one step of each in turn),
    so batches mix young people. Refused commands write nothing and are passed over."""
    world = World.new()
    for referral, _ in cases:
        Refer(referral).run(world, f.a_context(f.PARTNER))
    for round_of_steps in zip_longest(*(steps for _, steps in cases)):
        for person, step in zip(world.people, round_of_steps, strict=True):
            if step is not None:
                perform(world, person, step)
    return world.app


# --- a source that ends at the split point -------------------------------------------------


class _RecorderUpTo:
    def __init__(self, app: Overgang, last: int) -> None:
        self._recorder = app.recorder
        self._last = last

    def select_notifications(
        self, start: int | None, limit: int, stop: int | None = None, **kwargs: Any
    ) -> Sequence[Notification]:
        stop = self._last if stop is None else min(stop, self._last)
        if start is not None and start > stop:
            return []
        return self._recorder.select_notifications(start, limit, stop, **kwargs)


class _LogUpTo:
    """The application's event log as it stood at position ``last`` (a process that
    stopped there)."""

    def __init__(self, app: Overgang, last: int) -> None:
        self.recorder = _RecorderUpTo(app, last)
        self.mapper = app.mapper


def project(source: object, path: Path, batch_size: int) -> None:
    """One process's life: open the view store, catch up, stop."""
    store = SQLiteViewStore(path)
    try:
        runner = ProjectionRunner(
            cast(Application[Any], source), store, [TimelineProjection()], batch_size=batch_size
        )
        runner.catch_up()
    finally:
        store.close()


def contents(path: Path) -> tuple[int, list[Row]]:
    store = SQLiteViewStore(path)
    try:
        with store.transaction(readonly=True) as cur:
            rows = cur.execute(
                "SELECT * FROM timeline_entries ORDER BY young_person_id, position"
            ).fetchall()
            return read_position(cur, "timeline"), rows
    finally:
        store.close()


# --- the properties ------------------------------------------------------------------------


@given(
    cases=st.lists(histories(max_steps=12), min_size=1, max_size=3),
    split=st.floats(min_value=0, max_value=1),
    batch_sizes=st.tuples(*[st.integers(min_value=1, max_value=5)] * 3),
)
def test_stopping_anywhere_and_resuming_equals_one_pass_and_a_rebuild(
    cases: list[tuple[ReferralDetails, list[Step]]],
    split: float,
    batch_sizes: tuple[int, int, int],
) -> None:
    app = record(cases)
    last_position = app.recorder.max_notification_id() or 0
    split_at = round(split * last_position)
    first_batch, resumed_batch, single_batch = batch_sizes

    with tempfile.TemporaryDirectory() as folder:
        resumed, single = Path(folder) / "resumed.db", Path(folder) / "single.db"
        project(_LogUpTo(app, split_at), resumed, first_batch)
        assert contents(resumed)[0] == split_at
        project(app, resumed, resumed_batch)
        project(app, single, single_batch)

        assert contents(resumed) == contents(single)
        assert contents(single)[0] == last_position

        store = SQLiteViewStore(resumed)
        try:
            runner = ProjectionRunner(app, store, [TimelineProjection()], batch_size=single_batch)
            runner.rebuild("timeline")
        finally:
            store.close()
        assert contents(resumed) == contents(single)
