"""Reading a read model in tests: catch up first, then one read transaction."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from infra.runner import ProjectionRunner
from projections.store import ViewCursor

T = TypeVar("T")


def read(runner: ProjectionRunner, query: Callable[[ViewCursor], T]) -> T:
    runner.catch_up()
    with runner.store.transaction(readonly=True) as cur:
        return query(cur)
