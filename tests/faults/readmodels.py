"""Every table of every read model, and what a clean rebuild makes of the same log.

A clean rebuild is one uninterrupted runner projecting the event log (up to a position,
if given) into empty tables of a database of its own, with another batch size than the
process under test. Tables compare as multisets of whole rows: every column, any order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any, cast

from eventsourcing.application import Application

from domain.application import Overgang
from infra.bootstrap import all_projections
from infra.runner import ProjectionRunner
from projections.base import Projection
from projections.store import PostgresViewStore, Row, ViewStore, quote_identifier
from tests import pg
from tests.property.test_projection_resume import _LogUpTo

Tables = dict[str, list[Row]]

REBUILD_BATCH_SIZE = 1000


def read_tables(store: ViewStore, projections: Sequence[Projection]) -> Tables:
    """Every row of every table of ``projections``, in a fixed order."""
    found: Tables = {}
    with store.transaction(readonly=True) as cur:
        for projection in projections:
            for table in projection.tables:
                rows = cur.execute(f"SELECT * FROM {quote_identifier(table)}").fetchall()
                found[table] = sorted(rows, key=lambda row: [repr(v) for v in row.values()])
    return found


def clean_rebuild(app: Overgang, admin_url: str, up_to: int | None = None) -> Tables:
    """The read models a fresh runner builds from ``app``'s log (to ``up_to``, inclusive)."""
    url = pg.create_database(admin_url, prefix="overgang_rebuild")
    store = PostgresViewStore(url, pool_size=1)
    try:
        projections = all_projections(app.quiet_policy)
        source: Any = app if up_to is None else _LogUpTo(app, up_to)
        runner = ProjectionRunner(
            cast(Application[Any], source), store, projections, batch_size=REBUILD_BATCH_SIZE
        )
        runner.catch_up()
        return read_tables(store, projections)
    finally:
        store.close()
        pg.drop_database(url, admin_url)


def differences(actual: Tables, expected: Tables) -> list[str]:
    """Where ``actual`` and ``expected`` differ, table by table (row counts, no contents:
    the rows carry personal data)."""
    found = []
    for table in sorted(set(actual) | set(expected)):
        mine = Counter(_frozen(row) for row in actual.get(table, []))
        theirs = Counter(_frozen(row) for row in expected.get(table, []))
        extra, missing = sum((mine - theirs).values()), sum((theirs - mine).values())
        if extra or missing:
            found.append(f"{table}: {extra} rows too many, {missing} rows missing")
    return found


def _frozen(row: Row) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted(row.items()))
