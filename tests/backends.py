"""One description of "where the data lives" for tests that run on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from infra.settings import Settings
from projections.store import PostgresViewStore, SQLiteViewStore, ViewStore
from tests import pg


@dataclass(frozen=True)
class Backend:
    """A storage backend for one test: SQLite files in a temporary folder, or a fresh
    PostgreSQL database (dropped after the test)."""

    name: Literal["sqlite", "postgres"]
    data_dir: Path
    database_url: str | None = None

    @property
    def settings(self) -> Settings:
        """Settings pointing at this backend (environment ignored for these two fields)."""
        return Settings(database_url=self.database_url, data_dir=self.data_dir)

    def eventsourcing_env(self, dbname: str = "events") -> dict[str, str]:
        """eventsourcing env for a throwaway Application on this backend.

        ``dbname`` picks the SQLite file; on PostgreSQL the table name comes from the
        application's name, so every app shares the test database.
        """
        if self.database_url is None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            return {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": str(self.data_dir / f"{dbname}.db"),
            }
        return pg.eventsourcing_env(self.database_url)

    def view_store(self, name: str = "views") -> ViewStore:
        """A new view store (the caller closes it)."""
        if self.database_url is None:
            return SQLiteViewStore(self.data_dir / f"{name}.db")
        return PostgresViewStore(self.database_url, pool_size=2)
