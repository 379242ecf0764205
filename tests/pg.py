"""Throwaway PostgreSQL databases for tests.

Each database is created on the local server (trust auth, user postgres) and dropped
with ``WITH (FORCE)`` afterwards, so a test that leaks a connection cannot block the drop.
"""

from __future__ import annotations

import uuid

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def unreachable_reason(admin_url: str = ADMIN_URL) -> str | None:
    """None when the server answers; otherwise why not (no credentials in it)."""
    try:
        with psycopg.connect(admin_url, connect_timeout=3, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as error:
        return f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
    return None


def create_database(admin_url: str = ADMIN_URL, prefix: str = "overgang_test") -> str:
    """Create a fresh, empty database; returns its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return database_url(admin_url, name)


def drop_database(url: str, admin_url: str = ADMIN_URL) -> None:
    name = conninfo_to_dict(url)["dbname"]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(str(name)))
        )


def allow_connections(url: str, allowed: bool, admin_url: str = ADMIN_URL) -> None:
    """Refuse (or allow again) connections to ``url``'s database, ending the open ones:
    the database goes away for its clients while the server stays up for everyone else."""
    name = str(conninfo_to_dict(url)["dbname"])
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS {}").format(
                sql.Identifier(name), sql.SQL("true" if allowed else "false")
            )
        )
        if not allowed:
            # Waits (up to 5 s) until each session has ended, not just been told to.
            conn.execute(
                "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )


def database_url(admin_url: str, dbname: str) -> str:
    params = conninfo_to_dict(admin_url)
    user = params.get("user", "postgres")
    password = params.get("password")
    auth = f"{user}:{password}" if password else f"{user}"
    host = params.get("host", "127.0.0.1")
    port = params.get("port", "5432")
    return f"postgresql://{auth}@{host}:{port}/{dbname}"


def eventsourcing_env(url: str) -> dict[str, str]:
    """eventsourcing's POSTGRES_* keys for the database at ``url``."""
    params = conninfo_to_dict(make_conninfo(url))
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": str(params["dbname"]),
        "POSTGRES_HOST": str(params.get("host", "127.0.0.1")),
        "POSTGRES_PORT": str(params.get("port", "5432")),
        "POSTGRES_USER": str(params.get("user", "postgres")),
        "POSTGRES_PASSWORD": str(params.get("password", "")),
        # Small pools: every test database lives on one server with max_connections 100.
        "POSTGRES_POOL_SIZE": "2",
        "POSTGRES_MAX_OVERFLOW": "2",
        "POSTGRES_LOCK_TIMEOUT": "5",
        "CREATE_TABLE": "y",
    }
