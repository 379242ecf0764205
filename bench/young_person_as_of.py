"""A young person as of a date (``youngPerson(id, asOf)``) against the same person now.

The as-of answer replays the young person's stream into throwaway in-memory read models,
so its cost grows with the length of the history; the live answer reads the kept views.
This script records one young person with ``--events`` events (contacts mostly, with a
plan, milestones, transitions and their steps), catches the read models up, and then asks,
through the HTTP app in-process (``TestClient``), ``youngPerson { timeline riskFlags plan
{ milestones } transitions { steps } }``:

- **live**: without ``asOf`` (the limit: the kept read models);
- **as of now** and **as of the middle** of the history: with ``asOf``;

and prints median and p95 latency and the ratio to live, then the share of an as-of answer
spent reading and decoding the stream, projecting it, and the rest (GraphQL and reading the
views). On SQLite by default; ``--url`` runs it on a fresh PostgreSQL database (dropped
afterwards).

Usage: python bench/young_person_as_of.py [--events 1000] [--requests 50]
       [--url postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from _support import fresh_database, use_throwaway_secrets

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import issue_token
from api.graphql.young_person import as_of
from domain.actors import Role
from domain.vocabulary import Channel, Purpose
from infra.bootstrap import Services, build_services
from infra.settings import Settings
from tests.factories import (
    TEAM,
    a_contact,
    a_context,
    a_transition,
    enrolled_young_person,
)
from tests.fakes import FakeClock

QUERY = """
query Person($id: ID!, $asOf: DateTime) {
  youngPerson(id: $id, asOf: $asOf) {
    timeline { position eventType summary }
    riskFlags { rule since }
    plan { goal milestones { title status } }
    transitions { kind phase steps { step } }
  }
}
"""


def record_history(services: Services, clock: FakeClock, events: int) -> UUID:
    """One young person with about ``events`` events, a few hours apart."""
    app = services.app
    young_person_id = enrolled_young_person(app, plan=True).young_person_id
    written = 5
    while written < events:
        clock.advance(hours=7)
        if written % 100 == 0:
            app.start_transition(young_person_id, a_transition(), a_context())
            written += 1
        elif written % 25 == 0:
            app.set_milestone(young_person_id, "bench milestone", clock().date(), a_context())
            written += 1
        else:
            reached = written % 3 != 0
            contact = a_contact(
                channel=Channel.PHONE if reached else Channel.SMS,
                purpose=Purpose.CHECK_IN if written % 5 else Purpose.WAKE_UP,
                reached=reached,
            )
            app.record_contact(young_person_id, contact, a_context())
            written += 1
    return young_person_id


def timed(call: Callable[[], Any], requests: int) -> list[float]:
    times = []
    for _ in range(requests):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return times


def summary(times: list[float]) -> str:
    p95 = statistics.quantiles(times, n=20)[-1]
    return f"median {statistics.median(times):7.1f} ms   p95 {p95:7.1f} ms"


@contextmanager
def settings_for(url: str | None) -> Iterator[Settings]:
    with tempfile.TemporaryDirectory() as folder:
        if url is None:
            yield Settings(data_dir=Path(folder))
            return
        use_throwaway_secrets()
        with fresh_database(url) as database_url:
            yield Settings(database_url=database_url, data_dir=Path(folder))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--url", default=None, help="a PostgreSQL server (default: SQLite)")
    args = parser.parse_args()
    clock = FakeClock()
    with settings_for(args.url) as settings:
        services = build_services(settings, clock=clock)
        try:
            young_person_id = record_history(services, clock, args.events)
            services.projections.catch_up()
            version: int = services.app.repository.get(young_person_id).version
            token = issue_token(services.settings, Role.COUNSELLOR, "bench", team=TEAM)
            headers = {"Authorization": f"Bearer {token}"}
            now = clock()
            middle = now - timedelta(hours=7 * args.events // 2)
            with TestClient(create_app(services)) as client:

                def ask(when: datetime | None) -> Callable[[], Any]:
                    variables: dict[str, Any] = {"id": str(young_person_id)}
                    if when is not None:
                        variables["asOf"] = when.isoformat()

                    def call() -> Any:
                        response = client.post(
                            "/graphql",
                            json={"query": QUERY, "variables": variables},
                            headers=headers,
                        )
                        body = response.json()
                        assert "errors" not in body, body["errors"]
                        return body

                    return call

                live_answer = ask(None)()
                assert ask(now)() == live_answer, "as of now differs from live"
                for call in (ask(None), ask(now), ask(middle)):
                    timed(call, 3)  # warm up
                live = timed(ask(None), args.requests)
                latest = timed(ask(now), args.requests)
                halfway = timed(ask(middle), args.requests)

            stream = timed(lambda: as_of.stream_of(services.app, young_person_id), 10)
            events = as_of.stream_of(services.app, young_person_id)
            replay = timed(lambda: as_of.views_as_of(services.app, young_person_id, now), 10)
        finally:
            services.close()
    backend = "PostgreSQL" if args.url else "SQLite"
    print(f"{backend}: one young person with {len(events)} events (version {version})")
    print(f"  live                {summary(live)}")
    ratio = statistics.median(latest) / statistics.median(live)
    print(f"  as of now           {summary(latest)}   x{ratio:.1f} live")
    ratio = statistics.median(halfway) / statistics.median(live)
    print(f"  as of the middle    {summary(halfway)}   x{ratio:.1f} live")
    read, total = statistics.median(stream), statistics.median(replay)
    print(
        f"  replay: read+decode {read:.1f} ms, project {total - read:.1f} ms "
        f"(of {statistics.median(latest):.1f} ms for the whole request)"
    )


if __name__ == "__main__":
    main()
