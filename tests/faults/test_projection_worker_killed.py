"""A projection worker killed with SIGKILL in the middle of a batch resumes exactly where
its last commit ended: its read models always equal a clean rebuild of the log up to its
tracking position, and after a restart and catch-up, a clean rebuild of the whole log.

The worker is the real process (`overgang projections run`). The test lets its batches
through one at a time up to a point of the log (a lock on the tracking table it holds and
releases), then kills it inside the next batch's transaction, for sure: a batch moves the
tracking rows first, and the test sees them locked by it before it kills. Most kills hold
one read model's tables locked, so the batch waits there, with the read models before it
written and those after it not, until the process is dead.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.bootstrap import Services, build_services
from infra.settings import Settings
from infra.simulate import simulate
from projections.base import Projection
from tests.faults.readmodels import clean_rebuild, differences, read_tables
from tests.faults.waiting import wait_until
from tests.faults.worker import BatchGate, Database, ProjectionWorker, tables_locked

BATCH_SIZE = 50
YOUTH, MONTHS, SEED = 36, 3, 8  # about 2,000 events: 40 batches of 50
# Where the kills land: the share of the log applied before, and the read model whose
# tables the batch waits at when it is killed (None: no lock, the worker runs freely and
# the kill lands wherever its batch is when the test sees one open).
KILLS: tuple[tuple[float, str | None], ...] = (
    (0.15, None),
    (0.40, "timeline"),  # the first read model a batch writes: none written yet
    (0.70, "outcomes"),  # the last one: all the others written
)
WAIT = 60.0  # seconds; only a failure waits this long


@pytest.fixture
def services(pg_url: str, tmp_path: Path) -> Iterator[Services]:
    settings = Settings(
        database_url=pg_url,
        data_dir=tmp_path / "var",
        postgres_pool_size=1,
        postgres_max_overflow=2,
    )
    services = build_services(settings)
    try:
        yield services
    finally:
        services.close()


@pytest.fixture
def database(pg_url: str) -> Iterator[Database]:
    database = Database(pg_url)
    try:
        yield database
    finally:
        database.close()


@pytest.fixture
def gate(database: Database) -> Iterator[BatchGate]:
    gate = BatchGate(database)
    try:
        yield gate
    finally:
        gate.close()


@pytest.fixture
def worker(pg_url: str, tmp_path: Path) -> Iterator[ProjectionWorker]:
    worker = ProjectionWorker(pg_url, tmp_path / "var", tmp_path / "worker.log", BATCH_SIZE)
    try:
        yield worker
    finally:
        worker.close()


def test_a_worker_killed_mid_batch_resumes_where_its_last_commit_ended(
    services: Services,
    database: Database,
    gate: BatchGate,
    worker: ProjectionWorker,
    pg_admin_url: str,
) -> None:
    app = services.app
    simulate(app, youth=YOUTH, months=MONTHS, seed=SEED, now=services.clock())
    last = app.recorder.max_notification_id() or 0
    projections = {p.name: p for p in services.projections.projections}
    seen: list[dict[str, int]] = []

    for share, waits_at in KILLS:
        gate.shut()
        worker.start()
        while min(_positions(database, projections).values()) < int(last * share):
            gate.let_one_batch_through(worker, WAIT)
        if waits_at is None:
            committed = _kill_in_a_batch(worker, database, gate, projections)
        else:
            committed = _kill_in_a_batch_waiting_at(
                worker, database, gate, projections, projections[waits_at]
            )
        database.wait_until_worker_gone()
        after = _positions(database, projections)

        # Where the last commit ended: with the batch waiting at a lock, no further commit
        # can have come in between; without, one may have.
        if waits_at is not None:
            assert after == committed
        assert all(after[name] >= committed[name] for name in after), (committed, after)
        assert not seen or all(after[name] >= seen[-1][name] for name in after), (seen, after)
        assert max(after.values()) < last, "the kill came after the backlog was done"
        _assert_views_equal_a_clean_rebuild(services, pg_admin_url, projections, after)
        seen.append(after)

    worker.start()
    wait_until(
        lambda: set(_positions(database, projections).values()) == {last},
        WAIT,
        "the restarted worker caught up",
    )
    assert worker.stop() == 0
    _assert_views_equal_a_clean_rebuild(services, pg_admin_url, projections, None)


def _positions(database: Database, projections: dict[str, Projection]) -> dict[str, int]:
    stored = database.positions()
    return {name: stored.get(name, 0) for name in projections}


def _kill_in_a_batch(
    worker: ProjectionWorker,
    database: Database,
    gate: BatchGate,
    projections: dict[str, Projection],
) -> dict[str, int]:
    """Let the worker run and SIGKILL it as soon as a batch of it is seen open; returns
    the positions committed just before."""
    gate.open()
    while True:
        worker.check_alive()
        committed = _positions(database, projections)
        if database.batch_in_flight():
            worker.kill()
            return committed


def _kill_in_a_batch_waiting_at(
    worker: ProjectionWorker,
    database: Database,
    gate: BatchGate,
    projections: dict[str, Projection],
    projection: Projection,
) -> dict[str, int]:
    """SIGKILL the worker while one of its batches waits for ``projection``'s tables;
    returns the positions committed then (the batch in flight is not among them)."""
    for _ in range(10):
        gate.wait_for_the_next_batch(worker, WAIT)
        with tables_locked(database.url, projection.tables):
            gate.open()
            wait_until(
                lambda: (
                    database.worker_waits_for(projection.tables) is not None or not worker.alive
                ),
                WAIT,
                f"the worker reached {projection.name}",
            )
            worker.check_alive()
            statement = database.worker_waits_for(projection.tables) or ""
            if statement.lstrip().upper().startswith("ANALYZE"):
                # Between two batches the runner ANALYZEs its tables now and then; that
                # waits at the lock too. Shut the gate, let it finish, and try again.
                gate.shut()
                continue
            assert database.batch_in_flight(), (
                f"the worker writes {projection.name} outside the transaction that moves "
                "its tracking position"
            )
            committed = _positions(database, projections)
            worker.kill()
            return committed
    raise AssertionError("the worker kept refreshing statistics")


def _assert_views_equal_a_clean_rebuild(
    services: Services,
    admin_url: str,
    projections: dict[str, Projection],
    positions: dict[str, int] | None,
) -> None:
    """Each read model equals a clean rebuild of the log up to its own position (or of
    the whole log)."""
    live = read_tables(services.views, list(projections.values()))
    by_position: dict[int | None, list[Projection]] = {}
    for name, projection in projections.items():
        by_position.setdefault(None if positions is None else positions[name], []).append(
            projection
        )
    for position, group in by_position.items():
        rebuilt = clean_rebuild(services.app, admin_url, up_to=position)
        tables = {table for projection in group for table in projection.tables}
        mine = {table: rows for table, rows in live.items() if table in tables}
        theirs = {table: rows for table, rows in rebuilt.items() if table in tables}
        assert sum(len(rows) for rows in theirs.values()) > 0
        assert differences(mine, theirs) == [], f"up to position {position}"
