"""The projection runner against SQLite and PostgreSQL, with a test-only aggregate and
projections (nothing from domain/)."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from infra.locks import FileProjectionLocks, PostgresProjectionLocks, ProjectionLocks
from infra.runner import ProjectionRunner, notify_channel
from projections.base import PositionedEvent, Projection
from projections.store import ViewCursor, ViewStore
from tests.backends import Backend


class Tally(Aggregate):
    class Marked(Aggregate.Event):
        """A mark was made on the tally."""

    @event("Opened")
    def __init__(self) -> None:
        self.marks = 0

    @event(Marked)
    def mark(self) -> None:
        self.marks += 1


class TallyApp(Application[UUID]):
    name = "RunnerTest"


class EventsPerOriginator(Projection):
    """Counts every event per originator."""

    name = "events_per_originator"
    base_tables = ("events_per_originator",)

    def __init__(self) -> None:
        super().__init__()
        self.batch_sizes: list[int] = []

    def create_tables(self, cur: ViewCursor) -> None:
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {self.tables[0]} ("
            "originator_id TEXT PRIMARY KEY, events BIGINT NOT NULL, "
            "last_position BIGINT NOT NULL)"
        )

    def process(self, cur: ViewCursor, events: Sequence[PositionedEvent]) -> None:
        self.batch_sizes.append(len(events))
        table = self.tables[0]
        cur.executemany(
            f"INSERT INTO {table} (originator_id, events, last_position) "
            "VALUES (%s, 1, %s) ON CONFLICT (originator_id) DO UPDATE "
            f"SET events = {table}.events + 1, "
            "last_position = EXCLUDED.last_position",
            [(str(e.originator_id), position) for position, e in events],
        )


class MarksPerOriginator(Projection):
    """Counts only Marked events: a second projection with its own position."""

    name = "marks_per_originator"
    base_tables = ("marks_per_originator",)

    def __init__(self) -> None:
        super().__init__()
        self.batch_sizes: list[int] = []

    def create_tables(self, cur: ViewCursor) -> None:
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {self.tables[0]} ("
            "originator_id TEXT PRIMARY KEY, marks BIGINT NOT NULL)"
        )

    def process(self, cur: ViewCursor, events: Sequence[PositionedEvent]) -> None:
        self.batch_sizes.append(len(events))
        table = self.tables[0]
        for _, e in events:
            if isinstance(e, Tally.Marked):
                cur.execute(
                    f"INSERT INTO {table} (originator_id, marks) VALUES (%s, 1) "
                    "ON CONFLICT (originator_id) DO UPDATE "
                    f"SET marks = {table}.marks + 1",
                    (str(e.originator_id),),
                )


class FailsOnBatch(EventsPerOriginator):
    """Like EventsPerOriginator, but blows up half-way through one batch (once)."""

    def __init__(self, failing_batch: int) -> None:
        super().__init__()
        self.failing_batch = failing_batch
        self.calls = 0

    def process(self, cur: ViewCursor, events: Sequence[PositionedEvent]) -> None:
        self.calls += 1
        super().process(cur, events)
        if self.calls == self.failing_batch:
            raise RuntimeError("simulated crash after writing part of a batch")


@dataclass
class Harness:
    backend: Backend
    app: TallyApp
    store: ViewStore
    runners: list[ProjectionRunner] = field(default_factory=list)

    def runner(
        self,
        *projections: Projection,
        batch_size: int = 1000,
        poll_interval: float = 0.05,
        store: ViewStore | None = None,
    ) -> ProjectionRunner:
        runner = ProjectionRunner(
            self.app,
            store or self.store,
            projections or (EventsPerOriginator(),),
            batch_size=batch_size,
            poll_interval=poll_interval,
        )
        self.runners.append(runner)
        return runner

    def record(self, tallies: int = 3, marks: int = 2) -> dict[str, int]:
        """Saves each tally (Opened + `marks` Marked) in its own transaction; returns the
        expected number of events per originator."""
        expected = {}
        for _ in range(tallies):
            tally = Tally()
            for _ in range(marks):
                tally.mark()
            self.app.save(tally)
            expected[str(tally.id)] = 1 + marks
        return expected

    def last_position(self) -> int:
        return self.app.recorder.max_notification_id() or 0

    def counts(
        self, table: str = "events_per_originator", column: str = "events"
    ) -> dict[str, int]:
        with self.store.transaction(readonly=True) as cur:
            rows = cur.execute(f"SELECT originator_id, {column} FROM {table}").fetchall()
        return {row["originator_id"]: row[column] for row in rows}


@contextmanager
def open_harness(backend: Backend) -> Iterator[Harness]:
    app = TallyApp(env=backend.eventsourcing_env())
    store = backend.view_store()
    h = Harness(backend=backend, app=app, store=store)
    try:
        yield h
    finally:
        for runner in h.runners:
            runner.stop()
        store.close()
        app.close()


@pytest.fixture
def harness(backend: Backend) -> Iterator[Harness]:
    with open_harness(backend) as h:
        yield h


@pytest.fixture
def pg_harness(pg_url: str, tmp_path: Path) -> Iterator[Harness]:
    with open_harness(Backend("postgres", tmp_path / "var", pg_url)) as h:
        yield h


def test_catch_up_applies_every_event_in_batches(harness: Harness) -> None:
    expected = harness.record(tallies=3, marks=2)  # 9 events
    projection = EventsPerOriginator()
    runner = harness.runner(projection, batch_size=4)

    applied = runner.catch_up()

    assert applied == 9
    assert projection.batch_sizes == [4, 4, 1]
    assert harness.counts() == expected
    assert runner.position("events_per_originator") == harness.last_position()


def test_catching_up_again_applies_nothing(harness: Harness) -> None:
    expected = harness.record()
    projection = EventsPerOriginator()
    runner = harness.runner(projection, batch_size=4)
    runner.catch_up()

    assert runner.catch_up() == 0
    assert harness.runner(EventsPerOriginator(), batch_size=4).catch_up() == 0
    assert projection.batch_sizes == [4, 4, 1]
    assert harness.counts() == expected


def test_new_events_are_applied_on_top(harness: Harness) -> None:
    expected = harness.record(tallies=2)
    runner = harness.runner(batch_size=4)
    runner.catch_up()

    expected |= harness.record(tallies=2, marks=4)

    assert runner.catch_up() == 10
    assert harness.counts() == expected


def test_stopping_and_resuming_equals_one_pass(harness: Harness) -> None:
    expected = harness.record(tallies=2, marks=3)
    harness.runner(batch_size=3).catch_up()
    expected |= harness.record(tallies=3, marks=1)

    # A new runner (as after a restart) picks up from the stored position.
    resumed = EventsPerOriginator()
    assert harness.runner(resumed, batch_size=3).catch_up() == 6
    assert resumed.batch_sizes == [3, 3]
    assert harness.counts() == expected


def test_a_batch_that_fails_half_way_leaves_no_trace(harness: Harness) -> None:
    expected = harness.record(tallies=3, marks=2)  # 9 events: batches of 4, 4, 1
    crashing = harness.runner(FailsOnBatch(failing_batch=2), batch_size=4)

    with pytest.raises(RuntimeError, match="simulated crash"):
        crashing.catch_up()

    assert crashing.position("events_per_originator") == 4
    assert sum(harness.counts().values()) == 4

    assert harness.runner(EventsPerOriginator(), batch_size=4).catch_up() == 5
    assert harness.counts() == expected


def test_projections_share_a_batch_when_level_and_keep_their_own_positions(
    harness: Harness,
) -> None:
    expected = harness.record(tallies=3, marks=2)
    everything, marks = EventsPerOriginator(), MarksPerOriginator()
    runner = harness.runner(everything, marks, batch_size=4)
    reads = _count_reads(harness.app)

    assert runner.catch_up() == 9
    assert reads == [4, 4, 1, 0]  # one read per batch for both projections

    assert runner.rebuild("marks_per_originator") == 9
    assert everything.batch_sizes == [4, 4, 1]  # untouched by the other's rebuild
    assert marks.batch_sizes == [4, 4, 1, 4, 4, 1]
    assert harness.counts() == expected
    assert harness.counts("marks_per_originator", "marks") == {k: 2 for k in expected}
    assert runner.position("marks_per_originator") == runner.position("events_per_originator")


def test_rebuild_gives_the_same_view(harness: Harness) -> None:
    harness.record(tallies=4, marks=3)
    runner = harness.runner(batch_size=5)
    runner.catch_up()
    before = harness.counts()
    position = runner.position("events_per_originator")

    assert runner.rebuild("events_per_originator") == 16

    assert harness.counts() == before
    assert runner.position("events_per_originator") == position


class WatchesTheLiveView(EventsPerOriginator):
    """While rebuilding (writing suffixed tables), records what readers of the live table see."""

    def __init__(self, harness: Harness) -> None:
        super().__init__()
        self.harness = harness
        self.seen_while_building: list[dict[str, int]] = []

    def process(self, cur: ViewCursor, events: Sequence[PositionedEvent]) -> None:
        if self.suffix:
            self.seen_while_building.append(self.harness.counts())
        super().process(cur, events)


def _index_names(harness: Harness, table: str) -> set[str]:
    with harness.store.transaction(readonly=True) as cur:
        if cur.dialect == "postgres":
            rows = cur.execute(
                "SELECT indexname AS name FROM pg_indexes WHERE tablename = %s", (table,)
            ).fetchall()
        else:
            rows = cur.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = %s",
                (table,),
            ).fetchall()
    return {str(row["name"]) for row in rows}


def test_readers_see_the_old_view_until_the_rebuilt_one_is_swapped_in(
    harness: Harness,
) -> None:
    expected = harness.record(tallies=3, marks=3)  # 12 events
    projection = WatchesTheLiveView(harness)
    runner = harness.runner(projection, batch_size=5)
    runner.catch_up()
    indexes_before = _index_names(harness, "events_per_originator")

    assert runner.rebuild("events_per_originator") == 12

    # Three batches were written into the new tables; readers saw the full old view each time.
    assert projection.seen_while_building == [expected] * 3
    assert harness.counts() == expected
    assert _index_names(harness, "events_per_originator") == indexes_before
    # A second rebuild finds no leftovers in its way.
    assert runner.rebuild("events_per_originator") == 12
    assert harness.counts() == expected


def test_events_recorded_during_a_rebuild_are_in_the_swapped_in_view(harness: Harness) -> None:
    harness.record(tallies=2, marks=1)
    runner = harness.runner(batch_size=2)
    runner.catch_up()
    late: dict[str, int] = {}

    class RecordsMidway(EventsPerOriginator):
        def process(self, cur: ViewCursor, events: Sequence[PositionedEvent]) -> None:
            if self.suffix and not late:
                late.update(harness.record(tallies=1, marks=4))
            super().process(cur, events)

    rebuilding = RecordsMidway()
    runner = harness.runner(rebuilding, batch_size=2)
    runner.rebuild("events_per_originator")

    assert set(late) <= set(harness.counts())
    assert harness.counts()[next(iter(late))] == 5
    assert runner.position("events_per_originator") == harness.last_position()


def _locks(harness: Harness) -> ProjectionLocks:
    if harness.backend.database_url is None:
        return FileProjectionLocks(harness.backend.data_dir)
    return PostgresProjectionLocks(harness.backend.database_url)


def test_one_runner_per_projection_and_a_stand_by_takes_over(harness: Harness) -> None:
    first, second = EventsPerOriginator(), EventsPerOriginator()
    runners = [
        ProjectionRunner(harness.app, harness.store, [p], poll_interval=0.05, locks=_locks(harness))
        for p in (first, second)
    ]
    harness.runners.extend(runners)
    runners[0].start_in_thread()
    expected = harness.record(tallies=2, marks=2)
    assert runners[0].wait_for(harness.last_position(), timeout=10)
    runners[1].start_in_thread()
    expected |= harness.record(tallies=2, marks=2)
    assert runners[1].wait_for(harness.last_position(), timeout=10)
    time.sleep(0.2)  # rounds in which the stand-by tries (and fails) to take the lock
    assert second.batch_sizes == []

    runners[0].stop()  # its lock goes with it
    expected |= harness.record(tallies=1, marks=1)
    assert runners[1].wait_for(harness.last_position(), timeout=10)
    deadline = time.monotonic() + 10
    while sum(second.batch_sizes) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)

    assert sum(second.batch_sizes) == 2
    assert harness.counts() == expected


def test_rebuild_of_an_unknown_projection_is_refused(harness: Harness) -> None:
    runner = harness.runner()
    with pytest.raises(ValueError, match="no projection named 'nope'"):
        runner.rebuild("nope")


def test_wait_for_returns_once_the_views_reach_a_position(harness: Harness) -> None:
    runner = harness.runner(EventsPerOriginator(), MarksPerOriginator())
    runner.start_in_thread()
    tally = Tally()
    tally.mark()
    recordings = harness.app.save(tally)
    position = recordings[-1].notification.id

    assert runner.wait_for(position, timeout=5)
    assert harness.counts() == {str(tally.id): 2}

    started = time.monotonic()
    assert not runner.wait_for(position + 100, timeout=0.3)
    assert 0.3 <= time.monotonic() - started < 2


def test_wait_for_sees_a_runner_in_another_process(harness: Harness) -> None:
    worker = harness.runner()
    worker.start_in_thread()
    # Same projections and store, never started: it can only learn from the table.
    observer = harness.runner()
    harness.record(tallies=1)

    assert observer.wait_for(harness.last_position(), timeout=5)


def test_run_picks_up_new_events_promptly(harness: Harness) -> None:
    # On PostgreSQL the periodic wake-up is far away: only NOTIFY can be this quick.
    poll = 60.0 if harness.backend.name == "postgres" else 0.05
    harness.record(tallies=2)
    runner = harness.runner(poll_interval=poll)
    runner.start_in_thread()
    assert runner.wait_for(harness.last_position(), timeout=5)

    started = time.monotonic()
    expected = harness.counts() | harness.record(tallies=1)
    assert runner.wait_for(harness.last_position(), timeout=5)

    assert time.monotonic() - started < 2
    assert harness.counts() == expected


def test_stop_is_prompt_even_with_a_long_poll_interval(harness: Harness) -> None:
    runner = harness.runner(poll_interval=60.0)
    thread = runner.start_in_thread()
    assert runner.wait_for(0, timeout=5)
    time.sleep(0.2)

    started = time.monotonic()
    runner.stop()

    assert not thread.is_alive()
    assert time.monotonic() - started < 2


def test_runner_recovers_when_its_listen_connection_is_killed(pg_harness: Harness) -> None:
    harness = pg_harness
    runner = harness.runner(poll_interval=60.0)
    runner.start_in_thread()
    harness.record(tallies=1)
    assert runner.wait_for(harness.last_position(), timeout=5)

    assert _terminate_listeners(harness.backend.settings.database_url or "") == 1
    expected = harness.counts() | harness.record(tallies=1)

    # The first retry comes after RETRY_BASE; reconnecting catches up at once.
    assert runner.wait_for(harness.last_position(), timeout=10)
    assert harness.counts() == expected


def test_notify_channel_follows_the_app_name(backend: Backend) -> None:
    class Overgang(Application[UUID]):
        name = "Overgang"

    app = Overgang(env=backend.eventsourcing_env("overgang"))
    try:
        expected = "overgang_events" if backend.name == "postgres" else None
        assert notify_channel(app) == expected
    finally:
        app.close()


def _count_reads(app: Application[Any]) -> list[int]:
    """Wraps the recorder's select_notifications; the list gets each read's length."""
    reads: list[int] = []
    original = app.recorder.select_notifications

    def counting(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        reads.append(len(result))
        return result

    app.recorder.select_notifications = counting  # type: ignore[method-assign]
    return reads


def _terminate_listeners(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND query LIKE 'LISTEN%%' "
            "AND pid <> pg_backend_pid()"
        ).fetchall()
    return len(rows)
