"""What every benchmark script needs: a PostgreSQL database of its own for one run.

Run the scripts as ``python bench/NAME.py``: this folder is then first on ``sys.path``, so
``from _support import fresh_database`` finds this module (``make bench`` skips files
whose names start with ``_``).
"""

from __future__ import annotations

import argparse
import base64
import math
import os
import socket
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import IO

import psycopg

from infra.bootstrap import build_services
from infra.settings import Settings
from infra.simulate import SimulationProgress, SimulationSummary, simulate

EVENTS_PER_PLACE_MONTH = 16.5
"""About how many events one young person's place yields per simulated month (measured
17-18; a little less here, so the target is reached)."""

HISTORY_END = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
"""Where simulated histories end: fixed, so each run writes the same."""


@contextmanager
def fresh_database(server_url: str, *, synchronous_commit: bool = True) -> Iterator[str]:
    """A new, empty database on the server of ``server_url``, dropped afterwards; yields
    its URL. ``synchronous_commit=False`` measures without waiting for the disk."""
    name = f"overgang_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
        if not synchronous_commit:
            conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    try:
        yield server_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def use_throwaway_secrets() -> None:
    """A random master key and token secret for this run, unless set already: settings
    for PostgreSQL refuse to start without the one and with the development default of
    the other. API processes started by the script inherit them through the environment,
    so both sides unwrap the same data keys and trust the same tokens."""
    for name in ("OVERGANG_MASTER_KEY", "OVERGANG_JWT_SECRET"):
        os.environ.setdefault(name, base64.b64encode(os.urandom(32)).decode())


def write_history(
    settings: Settings,
    events: int,
    months: int,
    seed: int,
    progress: Callable[[SimulationProgress], None] | None = None,
) -> tuple[SimulationSummary, float]:
    """A simulated history of at least ``events`` events over ``months`` months into the
    empty event store of ``settings``; its summary, and the seconds writing it took."""
    youth = max(1, math.ceil(events / (EVENTS_PER_PLACE_MONTH * months)))
    print(f"simulating {youth:,} young people at a time over {months} months", file=sys.stderr)
    services = build_services(settings)
    try:
        began = time.perf_counter()
        summary = simulate(
            services.app, youth=youth, months=months, seed=seed, now=HISTORY_END, progress=progress
        )
        return summary, time.perf_counter() - began
    finally:
        services.close()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user and system) a process has used so far; None off Linux or once it
    has gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            # The fields after the command name, which may hold spaces, in parentheses.
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def positive(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def show_tail(log: IO[bytes], name: str) -> None:
    """The end of a server process's log on stderr, when it failed to start or answer."""
    log.flush()
    log.seek(0)
    tail = log.read().decode(errors="replace")[-3000:]
    print(f"--- the end of the {name} log:\n{tail}", file=sys.stderr)
