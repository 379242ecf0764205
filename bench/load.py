"""Mixed load: the dashboard's GraphQL reads and REST commands against `overgang serve`.

Production-shaped, on PostgreSQL (a fresh database, dropped afterwards, also on Ctrl-C or
an error): a simulated service (``infra.simulate``: ``--youth`` young people followed at a
time by counsellors in teams of five, ``--months`` of history ending now) is written, then
``overgang projections run`` and ``overgang serve --no-projections --no-sweeper`` start as
processes of their own, as docker-compose runs them. Once the projection worker has caught
up, ``--clients`` concurrent clients (threads, each with a keep-alive connection) send a
fixed number of requests between them:

- 80% dashboard queries, the documents read from ``api/dashboard/static/queries.js`` (so
  exactly what the dashboard sends) with the variables its views send: the caseload (a
  page of 100), a young person (timeline, risk flags, plan, transitions, decisions), the
  team's active alerts that go with it (first 500), the referral queue (first 200);
- 20% REST commands, each with an ``Idempotency-Key``: mostly contacts, some milestones
  set and reached, transition steps, and referrals.

Each client acts with a real token as one counsellor or team lead, on that person's own
caseload (clients sharing a counsellor write on disjoint young people, so no command can
meet a legitimate 409). Which request comes when is drawn from ``--seed``.

Printed: throughput, p50/p95/p99 latency overall, per kind and per operation, errors by
status (any error makes the exit status 1), the events written, the projection lag when
the last request was answered (event log head against the worker's tracked positions) and
how long the worker then took to catch up, the peak lag sampled during the load, and the
CPU each process used. A JSON line ends the output.

The load generator runs on the same machine as the API, the worker and PostgreSQL, so its
CPU (printed) is taken from theirs: the figures are those of the whole machine under load,
not a limit of the API alone (``bench/graphql_caseload.py`` and ``bench/record_contact.py``
compare the API with its limits).

Usage: python bench/load.py [--url postgresql://postgres@127.0.0.1:5432/postgres]
       [--requests 4000] [--clients 20] [--workers 1] [--youth 360] [--months 12]
       [--seed 2016] [--quick]
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import random
import re
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import psycopg
from _support import (
    cpu_seconds,
    free_port,
    fresh_database,
    positive,
    show_tail,
    use_throwaway_secrets,
)
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg import sql
from rich.console import Console
from rich.table import Table

from api.auth import issue_token
from infra.bootstrap import build_services
from infra.settings import Settings
from infra.simulate import simulate

QUERIES_JS = Path(__file__).resolve().parent.parent / "api/dashboard/static/queries.js"

COMMAND_SHARE = 0.2
QUERY_MIX = {"caseload": 30, "youngPerson": 30, "alerts": 30, "referralQueue": 10}
"""Of the queries: opening a young person sends the person and the team's active alerts
together (views/person.js), so the two come equally often."""
COMMAND_MIX = {
    "record_contact": 70,
    "set_milestone": 10,
    "reach_milestone": 5,
    "record_transition_step": 10,
    "refer": 5,
}
CASELOAD_PAGE = 100  # views/caseload.js
PERSON_ALERTS = 500  # views/person.js
REFERRAL_PAGE = 200  # views/referrals.js

SEED = 2016
CATCH_UP_TIMEOUT = 300.0
LAG_SAMPLE_INTERVAL = 0.5
TRACKING_TABLE = "projection_tracking"


# --- the dashboard's documents ----------------------------------------------------------------

_JS_CONSTANT = re.compile(r"^(?:export )?const (\w+) = `(.*?)`;", re.S | re.M)
_JS_SUBSTITUTION = re.compile(r"\$\{(\w+)\}")


def dashboard_documents(path: Path = QUERIES_JS) -> dict[str, str]:
    """queries.js's template literals, substituted as JavaScript would, by name."""
    found: dict[str, str] = {}
    for name, body in _JS_CONSTANT.findall(path.read_text(encoding="utf-8")):
        found[name] = _JS_SUBSTITUTION.sub(lambda match: found[match.group(1)], body)
    missing = {"CASELOAD", "YOUNG_PERSON", "ALERTS", "REFERRAL_QUEUE"} - found.keys()
    if missing:
        raise RuntimeError(f"{path} no longer defines {', '.join(sorted(missing))}")
    return found


# --- HTTP -------------------------------------------------------------------------------------


class Client:
    """A keep-alive HTTP/1.1 client from the standard library: lighter than httpx, so the
    load generator takes less of the machine it shares with the server."""

    def __init__(self, port: int, token: str) -> None:
        self._connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self._headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def send(
        self, method: str, path: str, body: bytes | None = None, key: str | None = None
    ) -> tuple[int, bytes]:
        headers = self._headers if key is None else {**self._headers, "Idempotency-Key": key}
        try:
            self._connection.request(method, path, body, headers)
            response = self._connection.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException):
            self._connection.close()  # the next request opens a new connection
            raise

    def graphql(self, document: str, variables: dict[str, Any]) -> dict[str, Any]:
        """The answer's data; raises on any error (for the setup, not the measurement)."""
        status, answer = self.send("POST", "/graphql", graphql_body(document, variables))
        parsed = json.loads(answer)
        if status != 200 or parsed.get("errors"):
            raise RuntimeError(f"GraphQL answered {status}: {answer[:300]!r}")
        return dict(parsed["data"])

    def wait_until_up(self, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the API process exited with {process.returncode}")
            try:
                if self.send("GET", "/health")[0] == 200:
                    return
            except (OSError, http.client.HTTPException):
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.1)

    def close(self) -> None:
        self._connection.close()


def error_label(status: int, answer: bytes) -> str:
    """The status and the error's stable code (REST ``code``, GraphQL ``extensions.code``):
    enough to tell one failure from another, with nothing of the request in it."""
    try:
        parsed = json.loads(answer)
        code = parsed.get("code") or ""
        if not code and isinstance(parsed.get("errors"), list) and parsed["errors"]:
            code = parsed["errors"][0].get("extensions", {}).get("code", "graphql_error")
    except (ValueError, AttributeError):
        code = ""
    return f"{status} {code}".strip()


def graphql_body(document: str, variables: dict[str, Any]) -> bytes:
    return json.dumps({"query": document, "variables": variables}).encode()


# --- who does what ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Desk:
    """A counsellor or team lead, with a token of their own, and their caseload."""

    counsellor_id: str
    token: str
    caseload: tuple[str, ...] = ()


@dataclass
class Targets:
    """What one client writes on: its share of the desk's young people, and what of
    theirs is open (kept up to date from the client's own commands)."""

    people: list[str]
    planned: list[str]  # young people with a plan: milestones can be set
    milestones: list[tuple[str, str]]  # open (young person, milestone)
    transitions: list[tuple[str, str]]  # open (young person, transition)


@dataclass(frozen=True)
class Sample:
    operation: str
    kind: str  # "query" or "command"
    seconds: float
    error: str | None  # None, the status and the error's code, or "connection"


def read_desk(client: Client, desk: Desk, documents: dict[str, str]) -> tuple[Desk, Targets]:
    """The desk's caseload and what is open on it, read as the dashboard reads it (this
    also warms the server up)."""
    answer = client.graphql(
        documents["CASELOAD"], {"counsellorId": desk.counsellor_id, "first": CASELOAD_PAGE}
    )
    people = [entry["youngPersonId"] for entry in answer["caseload"]["entries"]["entries"]]
    targets = Targets(people=people, planned=[], milestones=[], transitions=[])
    for person in people:
        found = client.graphql(documents["YOUNG_PERSON"], {"id": person, "waitForPosition": None})
        young_person = found["youngPerson"]
        if young_person["plan"] is not None:
            targets.planned.append(person)
            targets.milestones += [
                (person, milestone["id"])
                for milestone in young_person["plan"]["milestones"]
                if milestone["status"] == "OPEN"
            ]
        targets.transitions += [
            (person, transition["id"])
            for transition in young_person["transitions"]
            if transition["phase"] in ("PREPARING", "IN_EDUCATION")
        ]
    return Desk(desk.counsellor_id, desk.token, tuple(people)), targets


def share_of(targets: Targets, number: int, of: int) -> Targets:
    """The ``number``-th of ``of`` clients' disjoint share of a desk's young people."""
    mine = set(targets.people[number::of])
    return Targets(
        people=[p for p in targets.people if p in mine],
        planned=[p for p in targets.planned if p in mine],
        milestones=[m for m in targets.milestones if m[0] in mine],
        transitions=[t for t in targets.transitions if t[0] in mine],
    )


# --- the load ---------------------------------------------------------------------------------


class LoadClient:
    """One client: a desk, its share of the young people, and a fixed series of requests."""

    def __init__(
        self,
        number: int,
        client: Client,
        desk: Desk,
        targets: Targets,
        documents: dict[str, str],
        seed: int,
    ) -> None:
        self.number = number
        self._client = client
        self._desk = desk
        self._targets = targets
        self._documents = documents
        self._rng = random.Random(f"{seed}:{number}")
        self._sent = 0

    def run(self, requests: int, commands: int, stop: threading.Event) -> list[Sample]:
        kinds = ["command"] * commands + ["query"] * (requests - commands)
        self._rng.shuffle(kinds)
        samples = []
        for kind in kinds:
            if stop.is_set():
                break
            samples.append(self._command() if kind == "command" else self._query())
        return samples

    def _pick(self, mix: dict[str, int]) -> str:
        return self._rng.choices(list(mix), weights=list(mix.values()))[0]

    def _query(self) -> Sample:
        operation = self._pick(QUERY_MIX)
        if operation == "caseload":
            variables: dict[str, Any] = {
                "counsellorId": self._desk.counsellor_id,
                "first": CASELOAD_PAGE,
            }
            document = self._documents["CASELOAD"]
        elif operation == "youngPerson" and self._desk.caseload:
            variables = {"id": self._rng.choice(self._desk.caseload), "waitForPosition": None}
            document = self._documents["YOUNG_PERSON"]
        elif operation == "referralQueue":
            variables = {"first": REFERRAL_PAGE}
            document = self._documents["REFERRAL_QUEUE"]
        else:
            operation = "alerts"
            variables = {"status": "ACTIVE", "first": PERSON_ALERTS, "waitForPosition": None}
            document = self._documents["ALERTS"]
        body = graphql_body(document, variables)
        began = time.perf_counter()
        try:
            status, answer = self._client.send("POST", "/graphql", body)
        except (OSError, http.client.HTTPException):
            return Sample(operation, "query", time.perf_counter() - began, "connection")
        spent = time.perf_counter() - began
        # GraphQL reports errors with a 200; the substring test costs microseconds.
        failed = status != 200 or b'"errors"' in answer
        return Sample(operation, "query", spent, error_label(status, answer) if failed else None)

    def _command(self) -> Sample:
        operation = self._pick(COMMAND_MIX)
        targets, rng = self._targets, self._rng
        if operation == "reach_milestone" and not targets.milestones:
            operation = "set_milestone"
        if operation == "set_milestone" and not targets.planned:
            operation = "record_contact"
        if operation == "record_transition_step" and not targets.transitions:
            operation = "record_contact"
        if operation == "record_contact" and not targets.people:
            operation = "refer"
        person: str | None = None
        if operation == "record_contact":
            person = rng.choice(targets.people)
            path, body = f"/api/v1/young-people/{person}/contacts", self._contact()
        elif operation == "set_milestone":
            person = rng.choice(targets.planned)
            due = date.today() + timedelta(days=rng.randint(7, 90))
            path = f"/api/v1/young-people/{person}/milestones"
            body = {"title": "Load test milestone: visit the college", "due": due.isoformat()}
        elif operation == "reach_milestone":
            person, milestone = targets.milestones.pop(rng.randrange(len(targets.milestones)))
            path = f"/api/v1/young-people/{person}/milestones/{milestone}/reached"
            body = {"note": "Load test note."}
        elif operation == "record_transition_step":
            person, transition = rng.choice(targets.transitions)
            path = f"/api/v1/young-people/{person}/transitions/{transition}/steps"
            body = {"step": rng.choice(("visited", "other")), "note": "Load test note."}
        else:
            path, body = "/api/v1/referrals", self._referral()
        self._sent += 1
        key = f"load-{self.number}-{self._sent}"
        payload = json.dumps(body).encode()
        began = time.perf_counter()
        try:
            status, answer = self._client.send("POST", path, payload, key)
        except (OSError, http.client.HTTPException):
            return Sample(operation, "command", time.perf_counter() - began, "connection")
        spent = time.perf_counter() - began
        if status != 201:
            return Sample(operation, "command", spent, error_label(status, answer))
        if operation == "set_milestone" and person is not None:
            targets.milestones.append((person, json.loads(answer)["ids"]["milestone_id"]))
        return Sample(operation, "command", spent, None)

    def _contact(self) -> dict[str, Any]:
        rng = self._rng
        channel = rng.choices(("sms", "phone", "meeting"), weights=(5, 3, 2))[0]
        contact: dict[str, Any] = {
            "channel": channel,
            "direction": rng.choice(("outgoing", "incoming")),
            "purpose": rng.choice(("check_in", "wake_up", "reminder", "encouragement")),
            "reached": rng.random() < 0.8,
            "note": "Load test note: talked about the week ahead.",
        }
        if channel == "meeting":
            contact["place"] = rng.choice(("office", "cafe", "outdoors", "education_site"))
            contact["duration_minutes"] = rng.choice((30, 45, 60))
        return contact

    def _referral(self) -> dict[str, Any]:
        return {
            "name": f"Load Person {self.number}-{self._sent}",
            "date_of_birth": date(2006, 1, 1).isoformat(),
            "referrer_name": "Load Referrer",
            "reason": "Load test reason: struggles to get out of the door.",
            "consent_scopes": ["case_work", "sms_contact"],
        }


# --- the event log and the worker's positions ------------------------------------------------


@dataclass(frozen=True)
class Lag:
    head: int  # the event log's last position
    slowest: int  # the lowest position a read model has reached
    projection: str  # which one

    @property
    def behind(self) -> int:
        return max(0, self.head - self.slowest)


class LogProbe:
    """An autocommit connection of its own: the log's head and the read models' positions
    in one statement, so both come from one snapshot."""

    def __init__(self, url: str, events_table: str, projections: Sequence[str]) -> None:
        self._connection = psycopg.connect(url, autocommit=True)
        self._events = sql.Identifier(*events_table.split("."))
        self._projections = list(projections)
        # The lag sampler's thread and the main thread share the connection.
        self._lock = threading.Lock()

    def lag(self) -> Lag:
        with self._lock:
            return self._lag()

    def _lag(self) -> Lag:
        rows = self._connection.execute(
            sql.SQL(
                "SELECT (SELECT coalesce(max(notification_id), 0) FROM {events}), t.name, "
                "coalesce(p.position, 0) FROM unnest(%s::text[]) AS t(name) "
                "LEFT JOIN {tracking} AS p ON p.projection = t.name"
            ).format(events=self._events, tracking=sql.Identifier(TRACKING_TABLE)),
            (self._projections,),
        ).fetchall()
        head = int(rows[0][0])
        name, position = min(((str(r[1]), int(r[2])) for r in rows), key=lambda r: r[1])
        return Lag(head, position, name)

    def server_pids(self) -> list[int]:
        """PostgreSQL's processes serving this database, and its background processes."""
        with self._lock:
            rows = self._connection.execute(
                "SELECT pid FROM pg_stat_activity "
                "WHERE datname = current_database() OR datname IS NULL"
            ).fetchall()
        return [int(row[0]) for row in rows]

    def events_after(self, position: int) -> int:
        with self._lock:
            row = self._connection.execute(
                sql.SQL("SELECT count(*) FROM {events} WHERE notification_id > %s").format(
                    events=self._events
                ),
                (position,),
            ).fetchone()
        return int(row[0]) if row else 0

    def wait_caught_up(self, head: int, timeout: float = CATCH_UP_TIMEOUT) -> float:
        """Seconds until every read model has reached ``head``."""
        began = time.perf_counter()
        while self.lag().slowest < head:
            if time.perf_counter() - began > timeout:
                raise RuntimeError(f"the projection worker did not reach {head} in {timeout} s")
            time.sleep(0.01)
        return time.perf_counter() - began

    def close(self) -> None:
        self._connection.close()


class LagSampler:
    """Samples the lag during the load, in a thread of its own, and keeps the largest."""

    def __init__(self, probe: LogProbe) -> None:
        self._probe = probe
        self._stop = threading.Event()
        self.peak = 0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(LAG_SAMPLE_INTERVAL):
            self.peak = max(self.peak, self._probe.lag().behind)

    def __enter__(self) -> LagSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# --- processes --------------------------------------------------------------------------------


@contextmanager
def overgang_process(
    args: Sequence[str], env: dict[str, str], log_dir: Path, name: str
) -> Iterator[subprocess.Popen[bytes]]:
    """An ``overgang`` command in a process of its own, stopped (SIGTERM) afterwards; its
    log is shown if the run fails (not when it is interrupted)."""
    with open(log_dir / f"{name}.log", "w+b") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "infra.cli", *args],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield process
        except Exception:
            show_tail(log, name)
            raise
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (``serve --workers N`` forks its workers)."""
    children: dict[int, list[int]] = defaultdict(list)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children[int(fields[1])].append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo += children.get(current, [])
    return tree


def tree_cpu(pids: Sequence[int]) -> float:
    return sum(cpu_seconds(pid) or 0.0 for pid in pids)


def machine_cpu() -> tuple[float, float]:
    """Busy and idle CPU seconds of the whole machine so far (all cores)."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    tick = os.sysconf("SC_CLK_TCK")
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values[:8]) - idle) / tick, idle / tick


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class CpuMeter:
    """CPU seconds each part of the machine spends from now until ``spent()``: the
    processes named, PostgreSQL (this database's connections and the server's background
    processes), this load generator, the rest of the machine (other work on it), idle."""

    def __init__(self, processes: dict[str, list[int]], probe: LogProbe) -> None:
        self._processes = processes
        self._probe = probe
        self._before = {name: tree_cpu(pids) for name, pids in processes.items()}
        self._postgres = {pid: cpu_seconds(pid) or 0.0 for pid in probe.server_pids()}
        self._own = own_cpu()
        self._busy, self._idle = machine_cpu()

    def spent(self) -> dict[str, float]:
        spent = {
            name: tree_cpu(pids) - self._before[name] for name, pids in self._processes.items()
        }
        # A connection opened meanwhile counts from zero; one closed meanwhile is missed.
        spent["PostgreSQL"] = sum(
            (cpu_seconds(pid) or 0.0) - self._postgres.get(pid, 0.0)
            for pid in self._probe.server_pids()
        )
        spent["load generator"] = own_cpu() - self._own
        busy, idle = machine_cpu()
        spent["rest of the machine"] = max(0.0, busy - self._busy - sum(spent.values()))
        spent["idle"] = idle - self._idle
        return spent


# --- measuring and reporting ------------------------------------------------------------------


def percentile(ordered: Sequence[float], p: float) -> float:
    """The p-th percentile of sorted values (linear between the nearest ranks)."""
    if not ordered:
        return math.nan
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class Figures:
    count: int
    errors: int
    p50: float  # milliseconds
    p95: float
    p99: float
    worst: float

    @classmethod
    def of(cls, samples: Sequence[Sample]) -> Figures:
        ordered = sorted(s.seconds * 1000 for s in samples)
        return cls(
            count=len(ordered),
            errors=sum(s.error is not None for s in samples),
            p50=percentile(ordered, 50),
            p95=percentile(ordered, 95),
            p99=percentile(ordered, 99),
            worst=ordered[-1] if ordered else math.nan,
        )


@dataclass
class Run:
    samples: list[Sample]
    wall: float
    events_written: int
    at_end: Lag
    catch_up: float
    peak_lag: int
    cpu: dict[str, float] = field(default_factory=dict)  # seconds during the load


def measure(
    clients: Sequence[LoadClient], requests: int, probe: LogProbe, cpu_of: dict[str, list[int]]
) -> Run:
    """Every client sends its share of ``requests`` at once with the others."""
    shares = [requests // len(clients) + (n < requests % len(clients)) for n in range(len(clients))]
    # Rounded on the running total, so that the commands are exactly their share of all.
    sent = [sum(shares[:n]) for n in range(len(clients) + 1)]
    commands = [
        round(sent[n + 1] * COMMAND_SHARE) - round(sent[n] * COMMAND_SHARE)
        for n in range(len(clients))
    ]
    start = probe.lag()
    stop = threading.Event()
    meter = CpuMeter(cpu_of, probe)
    began = time.perf_counter()
    pool = ThreadPoolExecutor(len(clients), thread_name_prefix="load")
    try:
        with LagSampler(probe) as sampler:
            futures = [
                pool.submit(client.run, share, command_share, stop)
                for client, share, command_share in zip(clients, shares, commands, strict=True)
            ]
            samples = [sample for future in futures for sample in future.result()]
            wall = time.perf_counter() - began
            at_end = probe.lag()  # right when the last answer came
    except BaseException:
        stop.set()
        raise
    finally:
        pool.shutdown(cancel_futures=True)
    cpu = meter.spent()
    catch_up = probe.wait_caught_up(at_end.head)
    return Run(
        samples=samples,
        wall=wall,
        events_written=probe.events_after(start.head),
        at_end=at_end,
        catch_up=catch_up,
        peak_lag=max(sampler.peak, at_end.behind),
        cpu=cpu,
    )


def report(run: Run, args: argparse.Namespace, setup: dict[str, Any]) -> int:
    console = Console(highlight=False, width=120)
    samples = run.samples
    queries = [s for s in samples if s.kind == "query"]
    commands = [s for s in samples if s.kind == "command"]
    overall = Figures.of(samples)
    errors = Counter(s.error for s in samples if s.error is not None)
    console.print(
        f"mixed load on PostgreSQL: {len(samples):,} requests ({len(queries):,} dashboard "
        f"queries, {len(commands):,} commands) from {args.clients} clients; API "
        f"{args.workers} process(es), projections in a process of their own, "
        f"{os.cpu_count()} cores shared with the load generator"
    )
    rate = setup["events"] / max(setup["caught_up_s"], 1e-3)
    console.print(
        f"data: {setup['events']:,} events, {setup['young_people']:,} young people, "
        f"{setup['counsellors']} counsellors in {setup['teams']} teams; written in "
        f"{setup['written_s']:.1f} s; the worker process started and caught up from zero in "
        f"{setup['caught_up_s']:.1f} s ({rate:,.0f} events/s)"
    )
    table = Table(
        "operation", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors"
    )

    def row(label: str, figures: Figures, style: str | None = None) -> None:
        table.add_row(
            label,
            f"{figures.count:,}",
            f"{figures.count / run.wall:,.1f}",
            f"{figures.p50:.1f}",
            f"{figures.p95:.1f}",
            f"{figures.p99:.1f}",
            f"{figures.worst:.1f}",
            str(figures.errors),
            style=style,
        )

    for kind, mix in (("query", QUERY_MIX), ("command", COMMAND_MIX)):
        for operation in mix:
            mine = [s for s in samples if s.kind == kind and s.operation == operation]
            if mine:
                row(f"  {operation}", Figures.of(mine))
    table.add_section()
    row("queries", Figures.of(queries), "bold")
    row("commands", Figures.of(commands), "bold")
    row("all", overall, "bold")
    console.print(table)
    console.print(
        f"wall {run.wall:.1f} s, throughput {len(samples) / run.wall:,.1f} requests/s; "
        f"latency p50 {overall.p50:.1f} ms, p95 {overall.p95:.1f} ms, p99 {overall.p99:.1f} ms"
    )
    shown = ", ".join(f"{label}: {n}" for label, n in sorted(errors.items())) or "none"
    console.print(f"errors: {sum(errors.values())} ({shown})")
    per_command = run.events_written / len(commands) if commands else 0.0
    console.print(f"events written: {run.events_written:,} ({per_command:.2f} per command)")
    console.print(
        f"projection lag when the load ended: {run.at_end.behind:,} events behind the log's "
        f"head {run.at_end.head:,} (slowest read model: {run.at_end.projection}); caught up "
        f"{run.catch_up * 1000:.1f} ms later; peak lag sampled every {LAG_SAMPLE_INTERVAL} s "
        f"during the load: {run.peak_lag:,} events"
    )
    available = (os.cpu_count() or 1) * run.wall
    console.print(
        f"CPU during the load ({available:.0f} core-seconds available): "
        + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in run.cpu.items())
    )
    api_cpu = run.cpu.get("API", 0.0)
    if samples and api_cpu:
        console.print(f"API CPU per request: {api_cpu / len(samples) * 1000:.2f} ms")
    summary = {
        "requests": len(samples),
        "clients": args.clients,
        "api_workers": args.workers,
        "wall_s": round(run.wall, 2),
        "throughput_rps": round(len(samples) / run.wall, 1),
        "p50_ms": round(overall.p50, 2),
        "p95_ms": round(overall.p95, 2),
        "p99_ms": round(overall.p99, 2),
        "query_p95_ms": round(Figures.of(queries).p95, 2),
        "command_p95_ms": round(Figures.of(commands).p95, 2),
        "errors": dict(sorted(errors.items())),
        "events_written": run.events_written,
        "lag_events_at_end": run.at_end.behind,
        "catch_up_ms": round(run.catch_up * 1000, 1),
        "peak_lag_events": run.peak_lag,
    }
    print(json.dumps(summary), flush=True)
    return 1 if errors else 0


# --- main -------------------------------------------------------------------------------------


def build_clients(
    port: int, desks: Sequence[Desk], documents: dict[str, str], clients: int, seed: int
) -> tuple[list[LoadClient], list[Client]]:
    """One client per desk in turn; the desks' caseloads read (and the server warmed)."""
    connections = [Client(port, desks[n % len(desks)].token) for n in range(clients)]
    used = desks[: min(len(desks), clients)]
    with ThreadPoolExecutor(len(used)) as pool:
        read = list(
            pool.map(lambda n: read_desk(connections[n], used[n], documents), range(len(used)))
        )
    load_clients = []
    for n, connection in enumerate(connections):
        desk, targets = read[n % len(used)]
        sharing = len(range(n % len(used), clients, len(used)))
        mine = share_of(targets, n // len(used), sharing)
        load_clients.append(LoadClient(n, connection, desk, mine, documents, seed))
    return load_clients, connections


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--requests", type=positive, default=4000, help="in all")
    parser.add_argument("--clients", type=positive, default=20, help="concurrent clients")
    parser.add_argument("--workers", type=positive, default=1, help="API processes")
    parser.add_argument("--youth", type=positive, default=360, help="followed at a time")
    parser.add_argument("--months", type=positive, default=12, help="history simulated")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--quick", action="store_true", help="fewer requests, shorter history")
    args = parser.parse_args()
    if args.quick:
        args.requests, args.months = min(args.requests, 400), min(args.months, 3)
    documents = dashboard_documents()
    # Settings for PostgreSQL refuse to start without a master key and with the default
    # token secret; the processes started below inherit both.
    use_throwaway_secrets()
    # SIGTERM unwinds like Ctrl-C: the processes stop and the database is dropped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    with fresh_database(args.url) as url, tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=url, data_dir=Path(tmp))
        services = build_services(settings)
        try:
            began = time.perf_counter()
            summary = simulate(
                services.app,
                youth=args.youth,
                months=args.months,
                seed=args.seed,
                now=services.clock(),
            )
            written = time.perf_counter() - began
            desks = []
            for counsellor_id in summary.counsellors:
                counsellor = services.app.counsellor(counsellor_id)
                token = issue_token(
                    settings,
                    role=counsellor.role.value,
                    sub=str(counsellor_id),
                    team=counsellor.team_id,
                    ttl=timedelta(hours=2),
                )
                desks.append(Desk(str(counsellor_id), token))
            recorder = services.app.recorder
            if not isinstance(recorder, PostgresApplicationRecorder):
                raise RuntimeError("the event store is not PostgreSQL")
            probe = LogProbe(
                url, recorder.events_table_name, [p.name for p in services.projections.projections]
            )
        finally:
            services.close()
        env = {**os.environ, "OVERGANG_DATABASE_URL": url, "OVERGANG_DATA_DIR": tmp}
        port = free_port()
        serve = ["serve", "--no-projections", "--no-sweeper", "--host", "127.0.0.1"]
        serve += ["--port", str(port), "--workers", str(args.workers)]
        try:
            with overgang_process(["projections", "run"], env, Path(tmp), "projections") as worker:
                # Caught up before the API starts, so that neither slows the other down.
                caught_up = probe.wait_caught_up(probe.lag().head)
                setup = {
                    "events": summary.events,
                    "young_people": summary.young_people,
                    "counsellors": len(summary.counsellors),
                    "teams": len(summary.teams),
                    "written_s": written,
                    "caught_up_s": caught_up,
                }
                with overgang_process(serve, env, Path(tmp), "API") as api:
                    Client(port, desks[0].token).wait_until_up(api)
                    clients, connections = build_clients(
                        port, desks, documents, args.clients, args.seed
                    )
                    try:
                        cpu_of = {"API": process_tree(api.pid), "projection worker": [worker.pid]}
                        run = measure(clients, args.requests, probe, cpu_of)
                    finally:
                        for connection in connections:
                            connection.close()
                    if api.poll() is not None or worker.poll() is not None:
                        raise RuntimeError("the API or the worker stopped during the load")
                    status = report(run, args, setup)
                    if status:
                        with open(Path(tmp) / "API.log", "rb") as log:
                            show_tail(log, "API")
        finally:
            probe.close()
    return status


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted: the processes were stopped and the database dropped", file=sys.stderr)
        sys.exit(130)
