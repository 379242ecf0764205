"""Alert sweep: 50,000 active young people, against the bare indexed query, in one run.

On a fresh PostgreSQL database (created here, dropped afterwards):

- setup: 50,000 young people are referred, accepted and enrolled, and each starts a
  transition, written through the application's own aggregates and mapper (their
  personal data encrypted per person, as always) with ``app.save`` of 250 young people
  (1,000 events) per transaction, the way ``overgang simulate`` writes; then the alerts
  read model is caught up from zero (the other read models are not needed: the sweeper
  reads only this one). The counsellors' own streams are not written: neither the read
  model nor the sweeper reads them. The transitions start spread evenly over six days, so
  their due times are spread evenly over six days a week later.
- the limit: the bare indexed query the sweep runs (``SELECT ... FROM alert_watch WHERE
  next_due_at <= %s ORDER BY next_due_at ... LIMIT n``) on one open connection, with
  ``EXPLAIN`` showing the index range scan;
- ours: ``AlertSweeper.sweep_once`` (a read-only transaction from the view store's pool,
  the query, and for each due row the domain command), when nothing is due and when 1%
  (500 rows) is due. Then what happens right after a sweep that wrote, while the read
  model has not yet applied its alerts: the sweeper's memory of the rows it handled, a
  sweeper without it (each stale row refused by the domain), and the read model catching
  up.

DESIGN.md's target: under 20 ms per sweep when nothing is due.

Usage: python bench/alert_sweep.py [--url postgresql://postgres@127.0.0.1:5432/postgres]
       [--people 50000] [--due 0.01] [--repeat 200] [--quick]
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
from _support import fresh_database
from pydantic import SecretStr

from domain.actors import Actor, Role
from domain.recording import Stamp
from domain.values import ReferralDetails, TransitionDetails
from domain.vocabulary import ConsentScope, ReviewOutcome, TransitionKind
from domain.young_person import YoungPerson
from infra.alerts import AlertSweeper
from infra.bootstrap import build_services
from infra.runner import ProjectionRunner
from infra.settings import Settings
from projections.alerts import WATCH, AlertsProjection
from projections.columns import iso_utc

START = datetime(2025, 5, 1, 9, 0, tzinfo=UTC)  # the first transition starts here
SPREAD = timedelta(days=6)  # the transitions start evenly over this span
PER_SAVE = 250  # young people per transaction
COUNSELLOR = Actor("bench-counsellor", Role.COUNSELLOR)
PARTNER = Actor("bench-partner", Role.PARTNER)

BARE_QUERY = (
    f"SELECT young_person_id, transition_id, next_action, open_alert_id, next_due_at "
    f"FROM {WATCH} WHERE next_due_at <= %s "
    "ORDER BY next_due_at, young_person_id, transition_id LIMIT %s"
)


class Clock:
    """The application's clock, set by the benchmark."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def stamp(actor: Actor, at: datetime) -> Stamp:
    return Stamp(occurred_at=at, recorded_at=at, actor=actor)


def young_person(number: int, people: int, counsellors: list[UUID]) -> YoungPerson:
    """Referred, accepted, enrolled and starting a transition, in memory (four events)."""
    started = START + SPREAD * number / people
    referred = started - timedelta(days=30)
    person = YoungPerson.refer(
        uuid.uuid4(),
        ReferralDetails(
            name=f"Bench Person {number}",
            date_of_birth=date(2006, 1, 1) + timedelta(days=number % 1000),
            phone=None,
            institution_id=None,
            referrer_name="Bench Referrer",
            reason="bench: struggles to get out of the door",
            consent_scopes=(ConsentScope.CASE_WORK,),
        ),
        stamp(PARTNER, referred),
    )
    person.review_referral(
        ReviewOutcome.ACCEPTED, referred.date(), "bench", stamp(COUNSELLOR, referred)
    )
    counsellor = counsellors[number % len(counsellors)]
    person.enrol(counsellor, "bench-team", stamp(COUNSELLOR, referred + timedelta(days=1)))
    person.start_transition(
        uuid.uuid4(),
        TransitionDetails(
            kind=TransitionKind.SCHOOL_TO_YOUTH_EDUCATION,
            from_situation="bench",
            to_institution_id=None,
            programme="bench programme",
            expected_start=None,
        ),
        stamp(COUNSELLOR, started),
    )
    return person


def write_people(settings: Settings, clock: Clock, people: int) -> float:
    """Write the young people; returns the seconds it took."""
    services = build_services(settings, clock=clock)
    counsellors = [uuid.uuid4() for _ in range(max(1, people // 18))]
    began = time.perf_counter()
    keys = ThreadPoolExecutor(max_workers=services.settings.postgres_pool_size)
    try:
        for first in range(0, people, PER_SAVE):
            batch = [
                young_person(n, people, counsellors)
                for n in range(first, min(first + PER_SAVE, people))
            ]
            # Each young person's data key is made (one small transaction each) before
            # the save, by several threads, so the disk's commits overlap.
            list(keys.map(lambda p: services.keys.key_for(p.id, create=True), batch))
            services.app.save(*batch)
            if first // PER_SAVE % 40 == 0:
                print(f"  writing: {first + len(batch):,} young people", file=sys.stderr)
    finally:
        keys.shutdown()
        services.close()
    return time.perf_counter() - began


def timed(run: Callable[[], Any], repeat: int) -> list[float]:
    """Seconds per call, for ``repeat`` calls."""
    seconds = []
    for _ in range(repeat):
        began = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - began)
    return seconds


def ms(seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"median {statistics.median(ordered) * 1000:7.2f} ms, p95 {p95 * 1000:7.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--people", type=int, default=50_000)
    parser.add_argument("--due", type=float, default=0.01, help="the share due (default 1%%)")
    parser.add_argument("--repeat", type=int, default=200, help="sweeps timed when none is due")
    parser.add_argument("--quick", action="store_true", help="a small run (2,000 people)")
    args = parser.parse_args()
    people = 2_000 if args.quick else args.people
    due_count = max(1, round(people * args.due))
    repeat = 50 if args.quick else args.repeat

    first_due = START + timedelta(days=7)  # the default threshold: 7 days
    nothing_due = first_due - timedelta(seconds=1)
    # Due times are spread evenly: the first due_count of them are due at this moment.
    some_due = first_due + SPREAD * (due_count - 0.5) / people
    clock = Clock(some_due)

    with fresh_database(args.url) as url:
        master_key = base64.b64encode(os.urandom(32)).decode()
        settings = Settings(database_url=url, master_key=SecretStr(master_key))
        print(f"writing {people:,} young people with an open transition", file=sys.stderr)
        write_s = write_people(settings, clock, people)
        services = build_services(settings, clock=clock)
        try:
            runner = ProjectionRunner(
                services.app, services.views, [AlertsProjection(services.app.quiet_policy)]
            )
            began = time.perf_counter()
            projected = runner.catch_up()
            project_s = time.perf_counter() - began
            with services.views.transaction() as cur:
                cur.execute(f"ANALYZE {WATCH}")
                watched = cur.execute(f"SELECT COUNT(*) AS n FROM {WATCH}").fetchone()
            results = measure(services, runner, clock, url, nothing_due, some_due, repeat)
        finally:
            services.close()

    print(
        f"alert sweep on PostgreSQL: {people:,} active young people, "
        f"{watched['n'] if watched else 0:,} watched transitions"
    )
    print(
        f"  setup: wrote {people * 4:,} events in {write_s:.1f} s, projected {projected:,} "
        f"into the alerts read model in {project_s:.1f} s"
    )
    print(f"  EXPLAIN: {results['plan']}")
    print("  nothing due:")
    print(f"    bare indexed query (one connection)   {ms(results['bare_none'])}")
    print(f"    sweep_once                            {ms(results['sweep_none'])}")
    print(f"  {due_count:,} due ({args.due:.0%}):")
    print(f"    bare indexed query                    {ms(results['bare_some'])}")
    report = results["report"]
    print(
        f"    sweep_once, raising them              {results['sweep_some'] * 1000:7.0f} ms "
        f"({results['sweep_some'] / max(1, report.raised) * 1000:.2f} ms per alert; "
        f"{report.counts()})"
    )
    print("  right after, before the read model has applied those alerts:")
    print(
        f"    the same sweeper (remembers the rows)  {results['again'] * 1000:7.1f} ms "
        f"{results['again_report'].counts()}"
    )
    print(
        f"    a sweeper without that memory          {results['fresh'] * 1000:7.1f} ms "
        f"{results['fresh_report'].counts()}"
    )
    print(
        f"    read model catching up ({results['caught']} events)  "
        f"{results['catch_up'] * 1000:7.1f} ms; then a sweep "
        f"{results['after'] * 1000:.1f} ms {results['after_report'].counts()}"
    )
    none_ms = statistics.median(results["sweep_none"]) * 1000
    bare_ms = statistics.median(results["bare_none"]) * 1000
    print(f"sweep when nothing is due (target < 20 ms): {none_ms:.2f} ms")
    print(f"ratio sweep / bare query, nothing due: {none_ms / bare_ms:.1f}")


def measure(
    services: Any,
    runner: ProjectionRunner,
    clock: Clock,
    url: str,
    nothing_due: datetime,
    some_due: datetime,
    repeat: int,
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    batch = services.settings.alert_sweep_batch
    with psycopg.connect(url, autocommit=True) as conn:
        plan = conn.execute("EXPLAIN " + BARE_QUERY, (iso_utc(some_due), batch)).fetchall()
        results["plan"] = " / ".join(str(row[0]).strip() for row in plan)

        def bare(now: datetime) -> Callable[[], Any]:
            return lambda: conn.execute(BARE_QUERY, (iso_utc(now), batch)).fetchall()

        bare(nothing_due)()  # warm
        results["bare_none"] = timed(bare(nothing_due), repeat)
        results["bare_some"] = timed(bare(some_due), max(10, repeat // 4))

    sweeper = AlertSweeper(services.app, services.views, clock, batch)
    sweeper.sweep_once(nothing_due)  # warm: the pool's connection, the policy check
    results["sweep_none"] = timed(lambda: sweeper.sweep_once(nothing_due), repeat)

    began = time.perf_counter()
    results["report"] = sweeper.sweep_once(some_due)
    results["sweep_some"] = time.perf_counter() - began

    began = time.perf_counter()
    results["again_report"] = sweeper.sweep_once(some_due)
    results["again"] = time.perf_counter() - began

    fresh = AlertSweeper(services.app, services.views, clock, batch)
    began = time.perf_counter()
    results["fresh_report"] = fresh.sweep_once(some_due)
    results["fresh"] = time.perf_counter() - began

    began = time.perf_counter()
    results["caught"] = runner.catch_up()
    results["catch_up"] = time.perf_counter() - began
    after = AlertSweeper(services.app, services.views, clock, batch)
    began = time.perf_counter()
    results["after_report"] = after.sweep_once(some_due)
    results["after"] = time.perf_counter() - began
    return results


if __name__ == "__main__":
    main()
