"""A replay split over worker processes: the parts put together, and a failing or dying
worker failing the replay (rather than leaving it waiting, or a view half built)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from infra.bootstrap import build_app
from infra.replay import (
    LogSource,
    ReplayError,
    ReplayWindow,
    replay_in_parallel,
    sealed_mapper,
    split_by_cost,
)
from infra.settings import Settings
from projections.base import PositionedEvent, Projection
from projections.store import ScratchSQLiteViewStore, ViewCursor
from projections.timeline import TimelineProjection
from tests import factories as f
from tests.fakes import FakeClock

WINDOW = ReplayWindow(datetime(2100, 1, 1, tzinfo=UTC))


class _Failing(Projection):
    name = "failing"
    base_tables = ("failing",)

    def __init__(self, how: str) -> None:
        super().__init__()
        self.how = how

    def create_tables(self, cur: ViewCursor) -> None:
        cur.execute(f"CREATE TABLE IF NOT EXISTS {self.table('failing')} (n INTEGER)")

    def process(self, cur: ViewCursor, events: Sequence[PositionedEvent]) -> None:
        if self.how == "dies":
            os._exit(9)  # as the kernel's out-of-memory killer would end it
        raise RuntimeError("a row that must not be quoted")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = Settings(data_dir=tmp_path / "var")
    app = build_app(settings, clock=FakeClock())
    try:
        f.a_counsellor(app)
        f.an_institution(app)
    finally:
        app.close()
    return settings


def open_source(settings: Settings) -> LogSource:
    app = build_app(settings)
    return LogSource(app.recorder, sealed_mapper(app.mapper), close=app.close)


def test_the_costliest_read_models_go_to_different_workers() -> None:
    groups = split_by_cost([TimelineProjection(), _Failing("raises")], 2)
    assert [[p.name for p in group] for group in groups] == [["timeline"], ["failing"]]


@pytest.mark.parametrize(("how", "message"), [("raises", "RuntimeError"), ("dies", "code 9")])
def test_a_failing_worker_fails_the_replay(
    settings: Settings, tmp_path: Path, how: str, message: str
) -> None:
    store = ScratchSQLiteViewStore(tmp_path / "replay.sqlite")
    try:
        with pytest.raises(ReplayError, match=message) as error:
            replay_in_parallel(
                lambda: open_source(settings),
                store,
                [TimelineProjection(), _Failing(how)],
                WINDOW,
                workers=2,
            )
        assert "quoted" not in str(error.value)
    finally:
        store.close()
    assert not list(tmp_path.glob("replay.part*"))
