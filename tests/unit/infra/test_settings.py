from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from infra.settings import Settings


def test_defaults_run_embedded_under_var() -> None:
    settings = Settings(database_url=None, data_dir=Path("var"))

    assert settings.is_embedded
    assert settings.sqlite_path("views") == Path("var/views.db")
    assert settings.projection_poll_interval == 0.25


def test_environment_prefix_is_overgang(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVERGANG_DATABASE_URL", "postgresql://u:pw@db:5433/overgang")
    monkeypatch.setenv("OVERGANG_PROJECTION_BATCH_SIZE", "250")

    settings = Settings()

    assert not settings.is_embedded
    assert settings.projection_batch_size == 250
    assert settings.postgres_params() == {
        "user": "u",
        "password": "pw",
        "host": "db",
        "port": "5433",
        "dbname": "overgang",
    }


def test_an_empty_database_url_means_embedded() -> None:
    assert Settings(database_url="  ").is_embedded


def test_a_non_postgres_url_is_refused_without_echoing_it() -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(database_url="mysql://root:hunter2@db/x")

    assert "must start with postgresql://" in str(caught.value)
    assert "hunter2" not in str(caught.value)
