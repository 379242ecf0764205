"""Processes that start together on a new PostgreSQL database all start.

Compose starts the api, the projector and the sweeper at once against an empty database;
each creates the tables it needs, and PostgreSQL's catalogue does not forgive a race
("tuple concurrently updated", a duplicate type). Without the advisory lock and retry of
``infra.recorders`` this failed in about one start of six processes in two.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests import pg

PROCESSES = 6
ROUNDS = 3


def start(database_url: str, data_dir: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "OVERGANG_DATABASE_URL": database_url, "OVERGANG_DATA_DIR": str(data_dir)}
    return subprocess.Popen(
        # The lightest command that builds every service (event store, snapshots, data
        # keys, access log, read models) and then reads the alerts view.
        [sys.executable, "-m", "infra.cli", "alerts", "sweep"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_processes_starting_together_on_a_new_database_all_start(
    pg_admin_url: str, tmp_path: Path
) -> None:
    for round_ in range(ROUNDS):
        url = pg.create_database(pg_admin_url)
        try:
            processes = [start(url, tmp_path) for _ in range(PROCESSES)]
            failures = []
            for process in processes:
                _, err = process.communicate(timeout=120)
                if process.returncode != 0:
                    failures.append(err.strip().splitlines()[-1] if err.strip() else "")
            assert failures == [], f"round {round_}: {failures}"
        finally:
            pg.drop_database(url, pg_admin_url)
