"""Record a contact: the library alone, our command in-process, and through HTTP.

Runs against PostgreSQL (a fresh database, dropped afterwards) and prints the rates and the
two ratios DESIGN.md names:

- HTTP vs in-process: at least 0.60;
- a young person with 1,000 prior events vs one with 10: at most 1.2x the latency.

The API runs as in production, in its own process (`overgang serve --no-projections`),
and is called over keep-alive connections; the concurrent rows give each caller its own
young person, in-process and over HTTP alike.

Usage: python bench/record_contact.py [--url postgresql://postgres@127.0.0.1:5432/postgres]
       [--commands 300] [--clients 8]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

from _support import free_port, fresh_database, use_throwaway_secrets
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from api.auth import issue_token
from domain.actors import Actor, Role
from domain.application import CommandContext
from domain.values import ContactDetails, ReferralDetails
from domain.vocabulary import (
    Channel,
    ConsentScope,
    CounsellorRole,
    Direction,
    Purpose,
    ReviewOutcome,
)
from infra.bootstrap import Services, build_services, event_store_env
from infra.settings import Settings

CTX = CommandContext(actor=Actor("bench", Role.COUNSELLOR))
CONTACT = ContactDetails(
    channel=Channel.PHONE,
    direction=Direction.OUTGOING,
    place=None,
    purpose=Purpose.CHECK_IN,
    reached=True,
    duration_minutes=5,
    note="Checked in before the exam.",
)
CONTACT_JSON = {
    "channel": "phone",
    "direction": "outgoing",
    "purpose": "check_in",
    "reached": True,
    "duration_minutes": 5,
    "note": "Checked in before the exam.",
}


class Note(Aggregate):
    """The library alone: an aggregate with one small event, no rules."""

    @event("Created")
    def __init__(self) -> None:
        self.count = 0

    @event("Noted")
    def note(self, text: str) -> None:
        self.count += 1


ROUNDS = 10


def interleaved(n: int, calls: dict[str, Callable[[], None]]) -> dict[str, tuple[float, float]]:
    """Commands per second and median latency (ms) of each call, n calls each.

    The calls take turns in rounds, so that a slow spell of this shared machine falls on
    all of them alike and the ratios compare like with like.
    """
    latencies: dict[str, list[float]] = {label: [] for label in calls}
    for _ in range(ROUNDS):
        for label, call in calls.items():
            for _ in range(n // ROUNDS):
                began = time.perf_counter()
                call()
                latencies[label].append(time.perf_counter() - began)
    return {
        label: (len(spent) / sum(spent), statistics.median(spent) * 1000)
        for label, spent in latencies.items()
    }


def young_person_with_history(
    services: Services, counsellor_id: uuid.UUID, events: int
) -> uuid.UUID:
    app = services.app
    referral = ReferralDetails(
        name="Bench Person",
        date_of_birth=date(2005, 5, 5),
        phone=None,
        institution_id=None,
        referrer_name="Bench Referrer",
        reason="Benchmark",
        consent_scopes=(ConsentScope.CASE_WORK,),
    )
    person = app.refer(referral, CTX).ids["young_person_id"]
    app.review_referral(person, ReviewOutcome.ACCEPTED, date.today(), "", CTX)
    app.enrol(person, counsellor_id, None, CTX)
    for _ in range(events - 3):
        app.record_contact(person, CONTACT, CTX)
    return person


class Client:
    """A keep-alive HTTP/1.1 client from the standard library.

    Lighter than httpx by about 0.35 ms a request on this machine: the benchmark is about
    the API's cost, so the client should add as little of its own as a load tool would.
    """

    def __init__(self, port: int, token: str) -> None:
        self._connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self._headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def post(self, path: str, body: dict[str, object]) -> None:
        self._connection.request("POST", path, json.dumps(body), self._headers)
        response = self._connection.getresponse()
        response.read()
        if response.status != 201:
            raise RuntimeError(f"POST {path} answered {response.status}")

    def wait_until_up(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
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


def concurrent_rate(total: int, calls: list[Callable[[], None]]) -> float:
    """Commands per second with one worker per call (each on its own young person)."""
    per_worker = total // len(calls)

    def work(call: Callable[[], None]) -> None:
        for _ in range(per_worker):
            call()

    began = time.perf_counter()
    with ThreadPoolExecutor(len(calls)) as pool:
        for future in [pool.submit(work, call) for call in calls]:
            future.result()
    return per_worker * len(calls) / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--commands", type=int, default=300)
    parser.add_argument("--clients", type=int, default=8, help="concurrent callers")
    args = parser.parse_args()
    n, clients = args.commands, args.clients
    use_throwaway_secrets()

    with fresh_database(args.url) as url:
        settings = Settings(database_url=url)
        services = build_services(settings, clock=lambda: datetime.now(UTC))
        app = services.app
        counsellor = app.register_counsellor(
            "Bench Counsellor", "bench", CounsellorRole.COUNSELLOR, 1000, CTX
        ).ids["counsellor_id"]
        short = young_person_with_history(services, counsellor, 10)
        long = young_person_with_history(services, counsellor, 1000)
        crowd = [young_person_with_history(services, counsellor, 10) for _ in range(clients)]

        library = Application[uuid.UUID](
            env=event_store_env(settings) | {"APPLICATION_RECORDER_TOPIC": ""}
        )
        note = Note()
        library.save(note)

        def library_command() -> None:
            aggregate: Note = library.repository.get(note.id)
            aggregate.note(text="Checked in before the exam.")
            library.save(aggregate)

        def in_process(person: uuid.UUID) -> Callable[[], None]:
            def call() -> None:
                app.record_contact(person, CONTACT, CTX)

            return call

        crowd_rate = concurrent_rate(n * 2, [in_process(person) for person in crowd])

        # The API runs as it does in production: its own process (`overgang serve`), so
        # client and server do not share one interpreter.
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "infra.cli", "serve", "--no-projections", "--port", str(port)],
            env={**os.environ, "OVERGANG_DATABASE_URL": url},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        token = issue_token(
            settings, role="counsellor", sub="bench", team="bench", ttl=timedelta(hours=1)
        )
        http_clients = [Client(port, token) for _ in range(clients)]
        try:
            http_clients[0].wait_until_up()

            def over_http(person: uuid.UUID, client: Client) -> Callable[[], None]:
                def call() -> None:
                    client.post(f"/api/v1/young-people/{person}/contacts", CONTACT_JSON)

                return call

            for person in [short, long, *crowd]:  # warm the server's aggregate cache
                over_http(person, http_clients[0])()
            measured = interleaved(
                n,
                {
                    "library": library_command,
                    "short": in_process(short),
                    "long": in_process(long),
                    "http short": over_http(short, http_clients[0]),
                    "http long": over_http(long, http_clients[0]),
                },
            )
            http_crowd_rate = concurrent_rate(
                n * 2, [over_http(p, c) for p, c in zip(crowd, http_clients, strict=True)]
            )
        finally:
            for client in http_clients:
                client.close()
            server.terminate()
            server.wait(timeout=30)
        library.close()
        services.close()
    library_rate, library_ms = measured["library"]
    short_rate, short_ms = measured["short"]
    long_rate, long_ms = measured["long"]
    http_short_rate, http_short_ms = measured["http short"]
    http_long_rate, http_long_ms = measured["http long"]

    print(f"record contact on PostgreSQL, {n} commands per row (median latency)")
    print(f"  library alone (get + 1 event + save)  {library_rate:7.0f}/s  {library_ms:6.2f} ms")
    print(f"  in-process, 10-event history          {short_rate:7.0f}/s  {short_ms:6.2f} ms")
    print(f"  in-process, 1,000-event history       {long_rate:7.0f}/s  {long_ms:6.2f} ms")
    print(f"  in-process, {clients} concurrent callers     {crowd_rate:7.0f}/s")
    print(
        f"  HTTP, 10-event history                {http_short_rate:7.0f}/s  {http_short_ms:6.2f} ms"
    )
    print(
        f"  HTTP, 1,000-event history             {http_long_rate:7.0f}/s  {http_long_ms:6.2f} ms"
    )
    print(f"  HTTP, {clients} concurrent clients           {http_crowd_rate:7.0f}/s")
    print(f"ratio in-process / library alone: {short_rate / library_rate:.2f}")
    print(
        f"ratio HTTP / in-process, one caller (target >= 0.60): {http_short_rate / short_rate:.2f}"
    )
    print(
        f"ratio HTTP / in-process, {clients} concurrent (target >= 0.60): "
        f"{http_crowd_rate / crowd_rate:.2f}"
    )
    print(
        f"ratio long / short history latency, in-process (target <= 1.2): {long_ms / short_ms:.2f}"
    )
    print(
        f"ratio long / short history latency, HTTP (target <= 1.2): "
        f"{http_long_ms / http_short_ms:.2f}"
    )


if __name__ == "__main__":
    main()
