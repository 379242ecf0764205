"""Every domain test starts from a stopped clock and an empty in-memory application."""

from __future__ import annotations

import pytest

from domain.application import Overgang
from tests.factories import new_app
from tests.fakes import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(clock: FakeClock) -> Overgang:
    return new_app(clock)
