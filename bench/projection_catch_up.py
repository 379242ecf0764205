"""Projection catch-up: every read model from position zero, against reading the events alone.

On a fresh PostgreSQL database (created here, dropped afterwards), ``overgang simulate``'s
generator writes realistic histories through the application (at least 1,000,000 events by
default), then, in one run:

- the limit: read the same events in batches (``recorder.select_notifications``) and decode
  them (``mapper.to_domain_event``), nothing else;
- ours: catch up all read models (``infra.bootstrap.all_projections()``) from zero with
  ``infra.runner.ProjectionRunner``.

Each measurement starts from fresh services, so no cache of the writing side (aggregates,
data keys) helps either. The limit is measured before and after the catch-up, and their
mean is what the catch-up is compared with, so a slow spell of the machine shows.

DESIGN.md's targets: catch-up at least 30,000 events/s, and at least 30% of the rate of
merely reading and decoding.

Usage: python bench/projection_catch_up.py [--url postgresql://postgres@127.0.0.1:5432/postgres]
       [--events 1000000] [--months 24] [--batch-size 1000] [--seed 2016] [--quick]
"""

from __future__ import annotations

import argparse
import base64
import os
import sys
import time
from collections.abc import Callable

from _support import fresh_database, write_history
from pydantic import SecretStr

from infra.bootstrap import all_projections, build_services, build_view_store
from infra.runner import ProjectionRunner
from infra.settings import Settings
from infra.simulate import DEMO_SEED, SimulationProgress


def progress_on_stderr() -> Callable[[SimulationProgress], None]:
    last = [0.0]

    def show(progress: SimulationProgress) -> None:
        now = time.monotonic()
        if progress.week == progress.weeks or now - last[0] > 10:
            last[0] = now
            print(
                f"  writing: week {progress.week}/{progress.weeks}, {progress.events:,} events",
                file=sys.stderr,
                flush=True,
            )

    return show


def read_and_decode(settings: Settings, batch_size: int) -> tuple[int, float]:
    """Events read and decoded, and the seconds it took: the limit of any catch-up."""
    services = build_services(settings)
    try:
        recorder, mapper = services.app.recorder, services.app.mapper
        # Decoding a young person's event needs their data key; read them per batch, as
        # a cold reader of the log best does, if the mapper offers it.
        prefetch = getattr(mapper, "prefetch_keys", None)
        count, start = 0, 1
        began = time.perf_counter()
        while True:
            notifications = recorder.select_notifications(start=start, limit=batch_size)
            if not notifications:
                break
            if prefetch is not None:
                prefetch(notifications)
            for notification in notifications:
                mapper.to_domain_event(notification)
            count += len(notifications)
            start = notifications[-1].id + 1
        return count, time.perf_counter() - began
    finally:
        services.close()


def catch_up(settings: Settings, batch_size: int) -> tuple[int, float, list[str]]:
    """Events applied to every read model from zero, the seconds it took, and the names."""
    services = build_services(settings)
    views = build_view_store(settings)
    try:
        runner = ProjectionRunner(services.app, views, all_projections(), batch_size=batch_size)
        runner.setup()
        began = time.perf_counter()
        count = runner.catch_up()
        return count, time.perf_counter() - began, [p.name for p in runner.projections]
    finally:
        views.close()
        services.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--events", type=int, default=1_000_000, help="at least this many")
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=DEMO_SEED)
    parser.add_argument("--quick", action="store_true", help="a small run (about 20,000 events)")
    args = parser.parse_args()
    target = 20_000 if args.quick else args.events
    months = 12 if args.quick else args.months

    with fresh_database(args.url) as url:
        master_key = base64.b64encode(os.urandom(32)).decode()
        settings = Settings(database_url=url, master_key=SecretStr(master_key))
        summary, write_seconds = write_history(
            settings, target, months, args.seed, progress=progress_on_stderr()
        )

        read_before, read_before_s = read_and_decode(settings, args.batch_size)
        applied, catch_up_s, names = catch_up(settings, args.batch_size)
        read_after, read_after_s = read_and_decode(settings, args.batch_size)

    events = summary.events
    write_rate = events / write_seconds
    read_rates = (read_before / read_before_s, read_after / read_after_s)
    read_rate = sum(read_rates) / 2
    catch_up_rate = applied / catch_up_s
    print(
        f"projection catch-up on PostgreSQL: {events:,} events of {summary.young_people:,} "
        f"young people, {len(summary.counsellors)} counsellors, {months} months "
        f"(batches of {args.batch_size})"
    )
    if events < target:
        print(f"  note: fewer events than the {target:,} asked for")
    print(f"  writing them (simulate, setup)          {write_rate:9,.0f} events/s")
    print(
        f"  read + decode alone                     {read_rate:9,.0f} events/s "
        f"(before {read_rates[0]:,.0f}, after {read_rates[1]:,.0f})"
    )
    print(f"  catch-up, all read models               {catch_up_rate:9,.0f} events/s")
    print(f"    read models: {', '.join(names)}")
    if applied != events or read_before != events:
        print(f"  note: read {read_before:,}, applied {applied:,} of {events:,} events")
    print(f"catch-up rate (target >= 30,000 events/s): {catch_up_rate:,.0f}")
    print(f"ratio catch-up / read + decode (target >= 0.30): {catch_up_rate / read_rate:.2f}")


if __name__ == "__main__":
    main()
