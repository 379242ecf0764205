"""The projection worker as a real process (`overgang projections run`), and a view of it
from the database: its sessions, its open batch, its tracking positions.

The worker's connections carry an ``application_name`` of their own (libpq reads
``PGAPPNAME``), so ``pg_stat_activity`` tells them apart from the test's.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql

from projections.store import TRACKING_TABLE
from tests.faults.waiting import wait_until

WORKER_NAME = "overgang-faults-worker"
"""The ``application_name`` of every connection the worker opens."""


class ProjectionWorker:
    """``overgang projections run`` against ``database_url``, started, killed and stopped
    by the test; its output goes to ``log_path``."""

    def __init__(self, database_url: str, data_dir: Path, log_path: Path, batch_size: int):
        # Only the master key of the test's own environment: other OVERGANG_ settings a
        # developer may have set must not change what the worker does.
        inherited = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith("OVERGANG_") or name == "OVERGANG_MASTER_KEY"
        }
        self._env = {
            **inherited,
            "OVERGANG_DATABASE_URL": database_url,
            "OVERGANG_DATA_DIR": str(data_dir),
            "OVERGANG_PROJECTION_BATCH_SIZE": str(batch_size),
            # One server for every test database: small pools.
            "OVERGANG_POSTGRES_POOL_SIZE": "1",
            "OVERGANG_POSTGRES_MAX_OVERFLOW": "1",
            "PGAPPNAME": WORKER_NAME,
        }
        self._log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def command(self) -> list[str]:
        # The console script the package installs, beside this interpreter.
        return [str(Path(sys.executable).parent / "overgang"), "projections", "run"]

    def start(self) -> None:
        assert self._process is None, "the worker is running already"
        with self._log_path.open("ab") as log:
            log.write(f"--- start {self.starts + 1}\n".encode())
            log.flush()
            self._process = subprocess.Popen(
                self.command, env=self._env, stdout=log, stderr=subprocess.STDOUT
            )
        self.starts += 1

    def kill(self) -> None:
        """SIGKILL: no handler, no clean-up, no last commit."""
        process = self._running()
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        self._process = None

    def stop(self) -> int:
        """SIGTERM, as an orchestrator stops it; returns the exit code."""
        process = self._running()
        process.send_signal(signal.SIGTERM)
        code = process.wait(20)
        self._process = None
        return code

    def close(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(10)

    def log_tail(self, lines: int = 20) -> str:
        if not self._log_path.exists():
            return ""
        return "\n".join(self._log_path.read_text(errors="replace").splitlines()[-lines:])

    def _running(self) -> subprocess.Popen[bytes]:
        assert self._process is not None, "the worker is not running"
        if self._process.poll() is not None:
            raise AssertionError(
                f"the worker exited with {self._process.returncode}:\n{self.log_tail()}"
            )
        return self._process

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def check_alive(self) -> None:
        """Fail the test, with the worker's last output, if it has exited."""
        self._running()


class Database:
    """The test's own autocommit connection to the worker's database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._conn = psycopg.connect(url, autocommit=True)

    def close(self) -> None:
        self._conn.close()

    def positions(self) -> dict[str, int]:
        """Every projection's committed tracking position."""
        rows = self._conn.execute(f"SELECT projection, position FROM {TRACKING_TABLE}").fetchall()
        return {str(name): int(position) for name, position in rows}

    def worker_sessions(self) -> list[int]:
        """The process ids of the worker's sessions (server side)."""
        rows = self._conn.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = %s",
            (WORKER_NAME,),
        ).fetchall()
        return [int(pid) for (pid,) in rows]

    def worker_waits_for(self, tables: Sequence[str]) -> str | None:
        """The statement of the worker's that waits for a lock on one of ``tables``;
        None when none does."""
        row = self._conn.execute(
            "SELECT a.query FROM pg_locks AS l JOIN pg_stat_activity AS a ON a.pid = l.pid "
            "WHERE a.datname = current_database() AND a.application_name = %s "
            "AND NOT l.granted AND l.relation IS NOT NULL "
            "AND l.relation::regclass::text = ANY(%s) LIMIT 1",
            (WORKER_NAME, list(tables)),
        ).fetchone()
        return None if row is None else str(row[0])

    def batch_in_flight(self) -> bool:
        """Whether a transaction has moved a tracking row and not committed yet: the
        runner's batch writes the tracking rows first, then the views, then commits."""
        try:
            self._conn.execute(f"SELECT 1 FROM {TRACKING_TABLE} FOR UPDATE NOWAIT").fetchall()
        except psycopg.errors.LockNotAvailable:
            return True
        return False

    def wait_until_worker_gone(self, timeout: float = 20) -> None:
        """The server notices a dead client's sessions when it next reads from them; an
        open transaction of theirs is rolled back then."""
        wait_until(lambda: not self.worker_sessions(), timeout, "the worker's sessions ended")


class BatchGate:
    """Lets the worker's batches through one at a time, or all of them.

    Shut, it holds the tracking table in SHARE mode: reading positions goes on, but the
    worker's next batch waits at its very first statement (moving the tracking rows),
    before it has written anything. Opening and shutting again lets exactly the waiting
    batch through: the gate's lock queues behind it.
    """

    def __init__(self, database: Database) -> None:
        self._database = database
        self._conn = psycopg.connect(database.url)
        self.is_shut = False

    def close(self) -> None:
        self._conn.close()

    def shut(self) -> None:
        """Shut, once the batch in flight (if any) has committed."""
        self._conn.execute(f"LOCK TABLE {TRACKING_TABLE} IN SHARE MODE")
        self.is_shut = True

    def open(self) -> None:
        self._conn.commit()
        self.is_shut = False

    def wait_for_the_next_batch(self, worker: ProjectionWorker, timeout: float) -> None:
        """Return once the worker's next batch waits at the (shut) gate."""
        assert self.is_shut
        wait_until(
            lambda: (
                self._database.worker_waits_for([TRACKING_TABLE]) is not None or not worker.alive
            ),
            timeout,
            "the worker's next batch reached the gate",
        )
        worker.check_alive()

    def let_one_batch_through(self, worker: ProjectionWorker, timeout: float) -> None:
        self.wait_for_the_next_batch(worker, timeout)
        self.open()
        self.shut()


@contextmanager
def tables_locked(url: str, tables: Sequence[str]) -> Iterator[None]:
    """Hold ``tables`` in ACCESS EXCLUSIVE mode for the block: a batch that reaches one of
    them waits there, in the middle of its transaction, until the block ends."""
    with psycopg.connect(url) as conn, conn.transaction():
        conn.execute(
            sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(
                sql.SQL(", ").join(sql.Identifier(table) for table in tables)
            )
        )
        yield
