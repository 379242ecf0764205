"""The dashboard's GraphQL caseload query with open flags, against the same rows in plain SQL.

DESIGN.md's target: a caseload with flags for 20 people answers within a p95 of 20 ms with
10 concurrent clients, and the SQL round trips a request makes do not grow with the size of
the caseload. This script measures, in one run on PostgreSQL (a fresh database, dropped
afterwards):

- **GraphQL**: ``caseload(counsellorId) { activeCount caseloadLimit entries { ... openFlags }
  }`` over HTTP against ``overgang serve --no-projections`` in its own process, from
  ``--clients`` threads with a keep-alive connection each, the counsellors asked round-robin;
- **the limit**: the same rows fetched from Python with plain SQL, ``--clients`` threads with
  a psycopg connection each, through the very view queries the resolvers run (the counsellor
  row, the page of caseload rows, the open flags of those young people: three statements);

and prints p50/p95/p99 latency, throughput and the ratios, and the same with one client (the
time a request takes when none waits before it). GraphQL and SQL take turns in rounds, so
a slow spell of this shared machine falls on both alike. Both clients are Python threads on
the same two cores as the server and the database, so figures include their share of the
machine; compare the ratio rather than the absolute numbers with other machines.

It also counts, in-process, the view transactions and statements one request makes for a
page of one young person and for the whole caseload: those counts must not differ.

The data: a simulated service (``infra.simulate``: months of realistic histories, through the
domain's own command methods), then caseloads evened out with hand-overs (the application's
``assign_counsellor`` command) so that each of the ``--counsellors`` benchmarked counsellors
carries exactly ``--caseload`` active young people; the read models are caught up before the
server starts.

Usage: python bench/graphql_caseload.py [--url postgresql://postgres@127.0.0.1:5432/postgres]
       [--counsellors 5] [--caseload 20] [--requests 300] [--clients 10] [--months 12]
       [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import http.client
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
from _support import (
    cpu_seconds,
    free_port,
    fresh_database,
    positive,
    show_tail,
    use_throwaway_secrets,
)
from psycopg.rows import DictRow, dict_row

from api.auth import Principal, issue_token
from api.graphql.context import Context
from api.graphql.schema import schema
from domain.actors import Actor, Role
from domain.application import CommandContext
from infra.bootstrap import Services, build_services
from infra.settings import Settings
from infra.simulate import PLACES_PER_COUNSELLOR, simulate
from projections.caseload import CaseloadView
from projections.risk_flags import RiskFlagsView
from projections.store import Params, PostgresViewCursor, ViewCursor, ViewStore

QUERY = """
query Caseload($counsellorId: ID!, $first: Int!) {
  caseload(counsellorId: $counsellorId) {
    activeCount
    caseloadLimit
    entries(first: $first) {
      entries {
        youngPersonId
        name
        daysSinceReachedContact
        lastReachedContactAt
        currentTransition { kind phase }
        nextMilestone { due }
        openFlags { rule severity since }
      }
    }
  }
}
"""
PAGE = 50
"""The dashboard's page of entries (larger when a caseload is larger, so all are shown)."""

TARGET_P95_MS = 20.0
ROUNDS = 10
SEED = 2016
TEAM_LEAD = CommandContext(actor=Actor("bench-team-lead", Role.TEAM_LEAD))
HAND_OVER_REASON = "Caseloads evened out for the benchmark."


# --- the data -----------------------------------------------------------------------------


def active_cases(services: Services) -> dict[str, list[str]]:
    """Each counsellor's active young people (hex ids), as the caseload read model has them."""
    with services.views.transaction(readonly=True) as cur:
        counsellors = [
            row["counsellor_id"]
            for row in cur.execute("SELECT counsellor_id FROM caseload_counsellors").fetchall()
        ]
        entries = CaseloadView.entries(cur, counsellors)
    return {key: [row["young_person_id"] for row in rows] for key, rows in entries.items()}


def hand_over(services: Services, young_person: str, to: str) -> None:
    app = services.app
    receiver = app.counsellor(UUID(hex=to))
    full = len(receiver.caseload) >= receiver.caseload_limit
    app.assign_counsellor(
        UUID(hex=young_person),
        receiver.id,
        HAND_OVER_REASON,
        HAND_OVER_REASON if full else None,
        TEAM_LEAD,
    )


def build_caseloads(
    services: Services, counsellors: int, caseload: int, months: int
) -> tuple[list[str], int]:
    """Simulate a service, then hand cases over until each of the first ``counsellors``
    counsellors carries exactly ``caseload`` young people. Returns their ids (hex) and how
    many events the log holds."""
    # Enough young people for the benchmarked caseloads, and at least one more counsellor
    # to take cases from (or give them to).
    youth = max(math.ceil(counsellors * caseload * 1.1), counsellors * PLACES_PER_COUNSELLOR)
    youth += PLACES_PER_COUNSELLOR
    summary = simulate(services.app, youth=youth, months=months, seed=SEED, now=services.clock())
    services.projections.catch_up()
    chosen = [counsellor.hex for counsellor in summary.counsellors[:counsellors]]
    others = [counsellor.hex for counsellor in summary.counsellors[counsellors:]]
    cases = active_cases(services)
    spare = [person for other in others for person in cases[other]]
    if sum(len(cases[c]) for c in chosen) + len(spare) < counsellors * caseload:
        raise RuntimeError("the simulation left too few active cases (try more --months)")
    for number, counsellor in enumerate(chosen):
        limit = services.app.counsellor(UUID(hex=counsellor)).caseload_limit
        if limit < caseload:  # as a team lead would, before handing the cases over
            services.app.change_caseload_limit(UUID(hex=counsellor), caseload, TEAM_LEAD)
        mine = cases[counsellor]
        while len(mine) > caseload:
            receiver = others[(number + len(mine)) % len(others)]
            person = mine.pop()
            hand_over(services, person, receiver)
            spare.append(person)
        while len(mine) < caseload:
            person = spare.pop()
            hand_over(services, person, counsellor)
            mine.append(person)
    services.projections.catch_up()
    cases = active_cases(services)
    if any(len(cases[c]) != caseload for c in chosen):
        raise RuntimeError("the caseloads are not as built")
    return chosen, services.app.recorder.max_notification_id() or 0


# --- the two ways to the same rows --------------------------------------------------------


def variables(counsellor: str, caseload: int) -> dict[str, Any]:
    return {"counsellorId": str(UUID(hex=counsellor)), "first": max(PAGE, caseload)}


class GraphQLClient:
    """A keep-alive HTTP/1.1 client from the standard library (lighter than httpx)."""

    def __init__(self, port: int, tokens: dict[str, str]) -> None:
        self._connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        # A counsellor of each caseload's own team asks for it (caseloads are team-scoped).
        self._headers = {
            counsellor: {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            for counsellor, token in tokens.items()
        }

    def query(self, variables: dict[str, Any]) -> bytes:
        body = json.dumps({"query": QUERY, "variables": variables})
        headers = self._headers[variables["counsellorId"]]
        self._connection.request("POST", "/graphql", body, headers)
        response = self._connection.getresponse()
        answer = response.read()
        # GraphQL reports errors with a 200; the substring test costs microseconds.
        if response.status != 200 or b'"errors"' in answer:
            raise RuntimeError(f"POST /graphql answered {response.status}: {answer[:300]!r}")
        return answer

    def wait_until_up(self, server: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"the server exited with {server.returncode}")
            try:
                self._connection.request("GET", "/health")
                response = self._connection.getresponse()
                response.read()
                if response.status == 200:
                    return
            except OSError:
                self._connection.close()
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.1)

    def close(self) -> None:
        self._connection.close()


class SqlClient:
    """The limit: the rows the resolvers read, by the view queries they run, on a connection
    of its own in autocommit (no pool check-out, no transaction around them)."""

    def __init__(self, url: str) -> None:
        self._connection: psycopg.Connection[DictRow] = psycopg.connect(
            url, autocommit=True, row_factory=dict_row
        )
        self._cursor = PostgresViewCursor(self._connection.cursor())

    def query(self, variables: dict[str, Any]) -> int:
        """The counsellor, a page of their caseload, the open flags on it; how many rows."""
        counsellor = UUID(variables["counsellorId"]).hex
        first = variables["first"]
        now = datetime.now(UTC)
        cur = self._cursor
        load = CaseloadView.counsellors(cur, [counsellor])
        # One more than the page, as the resolver asks: whether another page follows.
        entries = CaseloadView.entries(cur, [counsellor], first + 1)[counsellor][:first]
        flags = RiskFlagsView.open_flags(cur, [row["young_person_id"] for row in entries], now)
        return len(load) + len(entries) + sum(len(rows) for rows in flags.values())

    def close(self) -> None:
        self._connection.close()


# --- round trips --------------------------------------------------------------------------


@dataclass
class Counts:
    transactions: int = 0
    statements: int = 0


class CountingCursor(ViewCursor):
    def __init__(self, cursor: ViewCursor, counts: Counts) -> None:
        self._cursor = cursor
        self._counts = counts
        self.dialect = cursor.dialect

    def execute(self, sql: str, params: Params = ()) -> ViewCursor:
        self._counts.statements += 1
        self._cursor.execute(sql, params)
        return self

    def executemany(self, sql: str, seq_of_params: Iterable[Params]) -> None:
        self._counts.statements += 1
        self._cursor.executemany(sql, seq_of_params)

    def fetchone(self) -> dict[str, Any] | None:
        return self._cursor.fetchone()

    def fetchall(self) -> list[dict[str, Any]]:
        return self._cursor.fetchall()

    def fetchmany(self, size: int) -> list[dict[str, Any]]:
        return self._cursor.fetchmany(size)

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount


class CountingViewStore(ViewStore):
    """The view store, counting the transactions and statements the resolvers make."""

    def __init__(self, views: ViewStore) -> None:
        self._views = views
        self.dialect = views.dialect
        self.counts = Counts()

    def transaction(self, *, readonly: bool = False) -> AbstractContextManager[ViewCursor]:
        @contextmanager
        def counted() -> Iterator[ViewCursor]:
            self.counts.transactions += 1
            with self._views.transaction(readonly=readonly) as cur:
                yield CountingCursor(cur, self.counts)

        return counted()

    def close(self) -> None:
        """The store it wraps belongs to the caller."""


def count_per_request(services: Services, counsellor: str, first: int) -> Counts:
    """The view transactions and statements of one caseload request, run in-process."""
    views = CountingViewStore(services.views)
    team = services.app.counsellor(UUID(hex=counsellor)).team_id
    principal = Principal(Actor("bench", Role.COUNSELLOR), team=team)
    context = Context(dataclasses.replace(services, views=views), principal)
    result = asyncio.run(
        schema.execute(
            QUERY,
            variable_values={"counsellorId": str(UUID(hex=counsellor)), "first": first},
            context_value=context,
        )
    )
    if result.errors:
        raise RuntimeError("the in-process query answered with errors")
    return views.counts


# --- measuring ----------------------------------------------------------------------------


@dataclass
class Measured:
    latencies: list[float] = dataclasses.field(default_factory=list)  # seconds
    wall: float = 0.0
    server_cpu: float | None = None  # seconds the API process spent on the CPU, if known

    def percentile(self, p: int) -> float:
        """The p-th percentile in milliseconds."""
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[p - 1] * 1000

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.wall


def run_phase(
    clients: Sequence[Callable[[dict[str, Any]], object]],
    asks: Sequence[dict[str, Any]],
    each: int,
    into: Measured | None,
) -> None:
    """Every client makes ``each`` requests at once with the others, the counsellors in
    turn (each client starting at its own); latencies go ``into`` (None: a warm-up)."""

    def work(number: int, call: Callable[[dict[str, Any]], object]) -> list[float]:
        spent = []
        for k in range(each):
            ask = asks[(number + k) % len(asks)]
            began = time.perf_counter()
            call(ask)
            spent.append(time.perf_counter() - began)
        return spent

    began = time.perf_counter()
    with ThreadPoolExecutor(len(clients)) as pool:
        futures = [pool.submit(work, n, call) for n, call in enumerate(clients)]
        results = [future.result() for future in futures]
    if into is not None:
        into.wall += time.perf_counter() - began
        for spent in results:
            into.latencies += spent


def open_flags_shown(client: GraphQLClient, asks: Sequence[dict[str, Any]], caseload: int) -> int:
    """Checks that each caseload shows all its young people; returns the open flags shown."""
    flags = 0
    for ask in asks:
        answer = json.loads(client.query(ask))["data"]["caseload"]
        entries = answer["entries"]["entries"]
        if not answer["activeCount"] == caseload == len(entries):
            raise RuntimeError("a caseload does not show the young people it was built with")
        flags += sum(len(entry["openFlags"]) for entry in entries)
    return flags


def measure(
    server: subprocess.Popen[bytes],
    graphql_clients: Sequence[GraphQLClient],
    sql_clients: Sequence[SqlClient],
    asks: Sequence[dict[str, Any]],
    each: int,
    warm_up: int,
) -> tuple[Measured, Measured, Measured, Measured]:
    """GraphQL and SQL with every client at once, then with one, taking turns in rounds."""
    graphql_calls = [client.query for client in graphql_clients]
    sql_calls = [client.query for client in sql_clients]
    run_phase(graphql_calls, asks, warm_up, None)
    run_phase(sql_calls, asks, warm_up, None)
    graphql, limit, graphql_alone, limit_alone = Measured(), Measured(), Measured(), Measured()
    server_cpu = 0.0
    for _ in range(ROUNDS):
        before = cpu_seconds(server.pid)
        run_phase(graphql_calls, asks, each, graphql)
        after = cpu_seconds(server.pid)
        if before is not None and after is not None:
            server_cpu += after - before
            graphql.server_cpu = server_cpu
        run_phase(sql_calls, asks, each, limit)
        run_phase(graphql_calls[:1], asks, each, graphql_alone)
        run_phase(sql_calls[:1], asks, each, limit_alone)
    return graphql, limit, graphql_alone, limit_alone


@contextmanager
def api_server(url: str, port: int) -> Iterator[subprocess.Popen[bytes]]:
    """``overgang serve`` in its own process, as in production; its log is shown only if it
    fails to start."""
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "infra.cli",
                "serve",
                "--no-projections",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env={**os.environ, "OVERGANG_DATABASE_URL": url},
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            yield server
        except BaseException:
            if server.poll() is not None:
                show_tail(log, "API")
            raise
        finally:
            server.terminate()
            server.wait(timeout=30)


@dataclass
class Results:
    graphql: Measured  # --clients at once
    limit: Measured
    graphql_alone: Measured  # one client: the time a request takes when none waits
    limit_alone: Measured
    small: Counts  # the view work of a page of one young person
    full: Counts  # ... and of the whole caseload
    flags_per_caseload: float


def report(results: Results, args: argparse.Namespace) -> None:
    def row(label: str, m: Measured) -> str:
        return (
            f"  {label:<36} p50 {m.percentile(50):7.2f} ms  p95 {m.percentile(95):7.2f} ms  "
            f"p99 {m.percentile(99):7.2f} ms  {m.rate:6.0f} requests/s"
        )

    graphql, limit, small, full = results.graphql, results.limit, results.small, results.full
    print(
        f"caseload with flags on PostgreSQL: {args.counsellors} counsellors x {args.caseload} "
        f"young people ({results.flags_per_caseload:.1f} open flags per caseload), "
        f"{len(graphql.latencies)} requests each way with {args.clients} concurrent clients, "
        f"{len(results.graphql_alone.latencies)} with one"
    )
    print(row(f"plain SQL, {args.clients} clients", limit))
    print(row(f"GraphQL over HTTP, {args.clients} clients", graphql))
    print(row("plain SQL, 1 client", results.limit_alone))
    print(row("GraphQL over HTTP, 1 client", results.graphql_alone))
    print(
        f"  view transactions / statements per request: first 1 -> {small.transactions} / "
        f"{small.statements}, first {max(PAGE, args.caseload)} -> {full.transactions} / "
        f"{full.statements}; round trips (pool check, BEGIN, statements, COMMIT) "
        f"{3 * full.transactions + full.statements}, plain SQL 3"
    )
    if graphql.server_cpu is not None:
        per_request = graphql.server_cpu / len(graphql.latencies) * 1000
        print(
            f"  API process CPU per GraphQL request: {per_request:.2f} ms (one process: at "
            f"most {1000 / per_request:.0f} requests/s on one core; {args.clients} clients "
            f"waiting on it see about {args.clients * per_request:.0f} ms)"
        )
    print(f"ratio GraphQL / SQL p50 latency: {graphql.percentile(50) / limit.percentile(50):.2f}")
    print(f"ratio GraphQL / SQL p95 latency: {graphql.percentile(95) / limit.percentile(95):.2f}")
    print(f"ratio GraphQL / SQL throughput: {graphql.rate / limit.rate:.2f}")
    alone = results.graphql_alone.percentile(95) / results.limit_alone.percentile(95)
    print(f"ratio GraphQL / SQL p95 latency, 1 client: {alone:.2f}")
    verdict = "met" if graphql.percentile(95) < TARGET_P95_MS else "NOT met"
    print(
        f"GraphQL p95 with {args.clients} clients (target < {TARGET_P95_MS:.0f} ms with 10 "
        f"clients, 20 people): {graphql.percentile(95):.2f} ms, {verdict}"
    )
    same = (small.transactions, small.statements) == (full.transactions, full.statements)
    print(f"SQL round trips independent of caseload size (target): {'yes' if same else 'NO'}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--counsellors", type=positive, default=5, help="caseloads asked in turn")
    parser.add_argument("--caseload", type=positive, default=20, help="young people each")
    parser.add_argument("--requests", type=positive, default=300, help="requests per client")
    parser.add_argument("--clients", type=positive, default=10, help="concurrent clients")
    parser.add_argument("--months", type=positive, default=12, help="history simulated")
    parser.add_argument("--quick", action="store_true", help="fewer requests, shorter history")
    args = parser.parse_args()
    if args.quick:
        args.requests, args.months = min(args.requests, 50), min(args.months, 3)
    each = max(1, args.requests // ROUNDS)  # per client per round
    warm_up = min(20, each)
    # PostgreSQL settings refuse to start without a master key, and a token needs a
    # secret; the API process started below inherits both.
    use_throwaway_secrets()

    with fresh_database(args.url) as url:
        settings = Settings(database_url=url)
        services = build_services(settings)
        try:
            began = time.perf_counter()
            chosen, events = build_caseloads(services, args.counsellors, args.caseload, args.months)
            print(
                f"data: {events:,} events, {args.counsellors} caseloads of {args.caseload} "
                f"built in {time.perf_counter() - began:.1f} s"
            )
            asks = [variables(counsellor, args.caseload) for counsellor in chosen]
            small = count_per_request(services, chosen[0], 1)
            full = count_per_request(services, chosen[0], max(PAGE, args.caseload))
            tokens = {
                ask["counsellorId"]: issue_token(
                    settings,
                    role="counsellor",
                    sub="bench",
                    team=services.app.counsellor(UUID(ask["counsellorId"])).team_id,
                    ttl=timedelta(hours=1),
                )
                for ask in asks
            }
            port = free_port()
            graphql_clients = [GraphQLClient(port, tokens) for _ in range(args.clients)]
            sql_clients = [SqlClient(url) for _ in range(args.clients)]
            try:
                with api_server(url, port) as server:
                    graphql_clients[0].wait_until_up(server)
                    flags = open_flags_shown(graphql_clients[0], asks, args.caseload)
                    results = measure(server, graphql_clients, sql_clients, asks, each, warm_up)
            finally:
                for graphql_client in graphql_clients:
                    graphql_client.close()
                for sql_client in sql_clients:
                    sql_client.close()
        finally:
            services.close()
    report(Results(*results, small=small, full=full, flags_per_caseload=flags / len(asks)), args)


if __name__ == "__main__":
    main()
