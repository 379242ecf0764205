"""Shared fixtures: settings, throwaway PostgreSQL databases, the `backend` parameter.

PostgreSQL tests need a server on 127.0.0.1:5432 (trust auth, user postgres). Without one
they are skipped with the reason, except when CI=true, where they fail.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from infra.settings import Settings
from tests import pg
from tests.backends import Backend

hypothesis_settings.register_profile("default", max_examples=25, deadline=None)
hypothesis_settings.register_profile("ci", max_examples=200, deadline=None)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

# One master key for the tests and the processes they start: settings for PostgreSQL refuse
# to start without one. Tests about master keys pass their own to Settings explicitly.
TEST_MASTER_KEY = base64.b64encode(b"overgang-test-master-key-32bytes").decode()
os.environ.setdefault("OVERGANG_MASTER_KEY", TEST_MASTER_KEY)

_POSTGRES_FIXTURES = {"pg_admin_url", "pg_url", "pg_module_url", "settings_postgres"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Anything that touches PostgreSQL carries the marker, so `-m "not postgres"` works.
    for item in items:
        if _POSTGRES_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture
def settings_sqlite(tmp_path: Path) -> Settings:
    """Embedded settings: SQLite files in this test's temporary folder."""
    return Settings(database_url=None, data_dir=tmp_path / "var")


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    """The maintenance database URL; skips (or fails, under CI) when unreachable."""
    reason = pg.unreachable_reason(pg.ADMIN_URL)
    if reason is not None:
        message = f"PostgreSQL at 127.0.0.1:5432 is unreachable ({reason})"
        if IN_CI:
            pytest.fail(f"{message}; CI=true requires it", pytrace=False)
        pytest.skip(f"{message}; start it to run the PostgreSQL tests")
    return pg.ADMIN_URL


@pytest.fixture
def pg_url(pg_admin_url: str) -> Iterator[str]:
    """A fresh, empty database for this test, dropped afterwards."""
    url = pg.create_database(pg_admin_url)
    try:
        yield url
    finally:
        pg.drop_database(url, pg_admin_url)


@pytest.fixture(scope="module")
def pg_module_url(pg_admin_url: str) -> Iterator[str]:
    """A fresh database shared by the tests of one module, dropped afterwards."""
    url = pg.create_database(pg_admin_url)
    try:
        yield url
    finally:
        pg.drop_database(url, pg_admin_url)


@pytest.fixture
def settings_postgres(pg_url: str, tmp_path: Path) -> Settings:
    """Settings for a fresh PostgreSQL database."""
    return Settings(database_url=pg_url, data_dir=tmp_path / "var")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """Run the test once on SQLite files and once on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return Backend(name="sqlite", data_dir=tmp_path / "var")
    url: str = request.getfixturevalue("pg_url")
    return Backend(name="postgres", data_dir=tmp_path / "var", database_url=url)
