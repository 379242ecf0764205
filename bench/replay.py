"""The evaluators' replay of a long history to a date: time and peak memory, against reading
and decoding the same events alone.

On a fresh PostgreSQL database (created here, dropped afterwards; or ``--database URL`` for
one that holds a simulated history already), ``overgang simulate``'s generator writes
realistic histories through the application (at least 1,000,000 events by default). Then,
each in a process of its own so that its peak memory is its own:

- the limit: read every event in batches (``recorder.select_notifications``) and decode it
  as the replay does (sealed: no personal field opened), nothing else;
- ours: ``overgang replay --as-of DATE --study bench --out DIR`` (every read model rebuilt
  into a scratch store, the outcome figures, pseudonymized tables and the report written).

DESIGN.md's target: a replay of 1,000,000 events to a date in under 60 s and under 1 GiB.

Usage: python bench/replay.py [--url postgresql://postgres@127.0.0.1:5432/postgres]
       [--events 1000000] [--months 24] [--as-of 2025-06-01] [--database URL] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from _support import HISTORY_END, fresh_database, use_throwaway_secrets, write_history

from infra.settings import Settings
from infra.simulate import DEMO_SEED

READ_AND_DECODE = """
import sys, time
from infra.bootstrap import build_app
from infra.replay import READ_BATCH, sealed_mapper
from infra.settings import Settings

app = build_app(Settings())
recorder, mapper = app.recorder, sealed_mapper(app.mapper)
count, start, began = 0, 1, time.perf_counter()
while True:
    notifications = recorder.select_notifications(start=start, limit=READ_BATCH)
    if not notifications:
        break
    for notification in notifications:
        mapper.to_domain_event(notification)
    count += len(notifications)
    start = notifications[-1].id + 1
print(count, time.perf_counter() - began)
"""


def measured(command: list[str], env: dict[str, str]) -> tuple[str, float, float]:
    """Runs ``command``; its standard output, wall seconds and peak memory in MiB."""
    began = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - began
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{command[0]} failed with exit code {process.returncode}")
    return output, seconds, usage.ru_maxrss / 1024  # Linux: kilobytes


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--events", type=int, default=1_000_000, help="at least this many")
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--seed", type=int, default=DEMO_SEED)
    parser.add_argument(
        "--as-of", default=HISTORY_END.date().isoformat(), help="replay to this date"
    )
    parser.add_argument("--database", default=None, help="a database holding a history already")
    parser.add_argument("--quick", action="store_true", help="a small run (about 20,000 events)")
    args = parser.parse_args()
    target = 20_000 if args.quick else args.events
    months = 12 if args.quick else args.months
    use_throwaway_secrets()
    os.environ.setdefault("OVERGANG_PSEUDONYM_SECRET", os.environ["OVERGANG_MASTER_KEY"])

    with ExitStack() as stack:
        url = args.database or stack.enter_context(fresh_database(args.url))
        if args.database is None:
            summary, seconds = write_history(Settings(database_url=url), target, months, args.seed)
            print(f"  wrote {summary.events:,} events in {seconds:,.0f} s", file=sys.stderr)
        env = {**os.environ, "OVERGANG_DATABASE_URL": url}
        out = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "report"
        python = sys.executable
        limit_output, limit_s, limit_mib = measured([python, "-c", READ_AND_DECODE], env)
        replay_output, replay_s, replay_mib = measured(
            [
                *(python, "-m", "infra.cli", "replay", "--no-progress"),
                *("--as-of", args.as_of, "--study", "bench", "--out", str(out)),
            ],
            env,
        )
    read = int(limit_output.split()[0])
    summary = json.loads(replay_output.strip().splitlines()[-1])
    replayed = summary["events_replayed"]
    # The main process's peak (measured here) and its largest worker's (as it reports).
    worker_mib = summary["peak_memory_mib"]["worker"]
    total_mib = replay_mib + worker_mib
    print(
        f"replay on PostgreSQL to {args.as_of}: {summary['events_read']:,} events in the log, "
        f"{replayed:,} replayed, {summary['files']} files written"
    )
    print(
        f"  read + decode alone   {limit_s:7.1f} s {read / limit_s:9,.0f} events/s "
        f"{limit_mib:7.0f} MiB peak"
    )
    print(
        f"  replay (overgang)     {replay_s:7.1f} s {summary['events_read'] / replay_s:9,.0f} "
        f"events/s {replay_mib:7.0f} MiB peak (+ {worker_mib:,} MiB in its worker)"
    )
    print(f"replay time (target < 60 s for 1,000,000 events): {replay_s:.1f} s")
    print(f"replay peak memory, main + worker (target < 1024 MiB): {total_mib:.0f} MiB")
    print(f"ratio replay rate / read + decode rate: {limit_s / replay_s:.2f}")


if __name__ == "__main__":
    main()
