"""One runner per projection: locks a projection runner holds while it applies events.

Tracking rows already make every event apply exactly once, however many runners race; the
locks save the losers' wasted work and make "one instance per projection" hold by design:
each projection is processed by whichever process holds its lock, and the others stand
by and take over when that process goes away (its lock is released with its connection or
file descriptor).
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

import psycopg

log = logging.getLogger(__name__)


class ProjectionLocks(Protocol):
    def try_acquire(self, names: Iterable[str]) -> frozenset[str]:
        """Try to take each lock not yet held; returns every name now held."""
        ...

    def release(self) -> None:
        """Let every lock go."""
        ...


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for ``pg_try_advisory_lock``, per projection name."""
    digest = hashlib.sha256(f"overgang-projection:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class PostgresProjectionLocks:
    """Session-level advisory locks on one dedicated connection.

    If the connection is lost, so are the locks (the server releases them): the holder
    notices at its next ``try_acquire`` and competes for them again.
    """

    def __init__(self, conninfo: str, connect_timeout: int = 5) -> None:
        self._conninfo = conninfo
        self._connect_timeout = connect_timeout
        self._conn: psycopg.Connection[Any] | None = None
        self._held: set[str] = set()

    def try_acquire(self, names: Iterable[str]) -> frozenset[str]:
        wanted = [name for name in names if name not in self._held]
        try:
            conn = self._connection()
            # A round trip even when nothing is wanted: it tells whether the session (and
            # with it every lock held) is still there.
            conn.execute("SELECT 1")
            for name in wanted:
                row = conn.execute(
                    "SELECT pg_try_advisory_lock(%s)", (advisory_key(name),)
                ).fetchone()
                if row is not None and row[0]:
                    self._held.add(name)
                    log.info("projection %s: lock taken, this process runs it", name)
                else:
                    log.debug("projection %s: run by another process", name)
        except psycopg.Error:
            self._drop()
            raise
        return frozenset(self._held)

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._held.clear()
            self._conn = psycopg.connect(
                self._conninfo, autocommit=True, connect_timeout=self._connect_timeout
            )
        return self._conn

    def _drop(self) -> None:
        if self._held:
            log.warning("projection locks lost with their connection; competing again")
        self._held.clear()
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def release(self) -> None:
        self._drop()


class FileProjectionLocks:
    """``flock`` on one file per projection, beside the embedded SQLite read models."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._held: dict[str, int] = {}

    def try_acquire(self, names: Iterable[str]) -> frozenset[str]:
        self._directory.mkdir(parents=True, exist_ok=True)
        for name in names:
            if name in self._held:
                continue
            fd = os.open(self._directory / f"projection-{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                log.debug("projection %s: run by another process", name)
                continue
            self._held[name] = fd
        return frozenset(self._held)

    def release(self) -> None:
        held, self._held = self._held, {}
        for fd in held.values():
            os.close(fd)  # closing the descriptor releases its flock
