"""A view store that counts the statements sent through it: SQL round trips per request."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager

from projections.store import Params, Row, ViewCursor, ViewStore


class CountingCursor(ViewCursor):
    def __init__(self, inner: ViewCursor, store: CountingViewStore) -> None:
        self.dialect = inner.dialect
        self._inner = inner
        self._store = store

    def execute(self, sql: str, params: Params = ()) -> ViewCursor:
        self._store.statements += 1
        self._inner.execute(sql, params)
        return self

    def executemany(self, sql: str, seq_of_params: Iterable[Params]) -> None:
        self._store.statements += 1
        self._inner.executemany(sql, seq_of_params)

    def fetchone(self) -> Row | None:
        return self._inner.fetchone()

    def fetchall(self) -> list[Row]:
        return self._inner.fetchall()

    def fetchmany(self, size: int) -> list[Row]:
        return self._inner.fetchmany(size)

    @property
    def rowcount(self) -> int:
        return self._inner.rowcount


class CountingViewStore(ViewStore):
    def __init__(self, inner: ViewStore) -> None:
        self.dialect = inner.dialect
        self.inner = inner
        self.statements = 0

    @contextmanager
    def _counted(self, readonly: bool) -> Iterator[ViewCursor]:
        with self.inner.transaction(readonly=readonly) as cur:
            yield CountingCursor(cur, self)

    def transaction(self, *, readonly: bool = False) -> AbstractContextManager[ViewCursor]:
        return self._counted(readonly)

    def close(self) -> None:
        self.inner.close()
