"""Fixtures of the read-model tests: an in-memory application on a fake clock, and a view
store on the backend under test (SQLite file or fresh PostgreSQL database)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from domain.application import Overgang
from projections.store import ViewStore
from tests.backends import Backend
from tests.factories import new_app
from tests.fakes import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(clock: FakeClock) -> Overgang:
    return new_app(clock)


@pytest.fixture
def store(backend: Backend) -> Iterator[ViewStore]:
    store = backend.view_store()
    try:
        yield store
    finally:
        store.close()
