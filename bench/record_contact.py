"""Record a contact: the library alone, our command in-process, and through HTTP.

Runs against PostgreSQL (a fresh database, dropped afterwards) and prints the rates and the
two ratios DESIGN.md names:

- HTTP vs in-process: at least 0.60;
- a young person with 1,000 prior events vs one with 10: at most 1.2x the latency.

Usage: python bench/record_contact.py [--url postgresql://postgres@127.0.0.1:5432/postgres]
       [--commands 300]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

import httpx
import psycopg
import uvicorn
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from api.app import create_app
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


@contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    name = f"overgang_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Note(Aggregate):
    """The library alone: an aggregate with one small event, no rules."""

    @event("Created")
    def __init__(self) -> None:
        self.count = 0

    @event("Noted")
    def note(self, text: str) -> None:
        self.count += 1


def rate(n: int, run: Callable[[], None]) -> tuple[float, float]:
    """Commands per second and median latency in ms over n calls."""
    latencies = []
    for _ in range(n):
        began = time.perf_counter()
        run()
        latencies.append(time.perf_counter() - began)
    return n / sum(latencies), statistics.median(latencies) * 1000


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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--commands", type=int, default=300)
    args = parser.parse_args()
    n = args.commands

    with fresh_database(args.url) as url:
        settings = Settings(database_url=url)
        services = build_services(settings, clock=lambda: datetime.now(UTC))
        app = services.app
        counsellor = app.register_counsellor(
            "Bench Counsellor", "bench", CounsellorRole.COUNSELLOR, 100, CTX
        ).ids["counsellor_id"]
        short = young_person_with_history(services, counsellor, 10)
        long = young_person_with_history(services, counsellor, 1000)

        library = Application[uuid.UUID](
            env=event_store_env(settings) | {"APPLICATION_RECORDER_TOPIC": ""}
        )
        note = Note()
        library.save(note)

        def library_command() -> None:
            aggregate = library.repository.get(note.id)
            aggregate.note(text="Checked in before the exam.")
            library.save(aggregate)

        library_rate, library_ms = rate(n, library_command)
        short_rate, short_ms = rate(n, lambda: app.record_contact(short, CONTACT, CTX))
        long_rate, long_ms = rate(n, lambda: app.record_contact(long, CONTACT, CTX))

        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(create_app(services), host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        token = issue_token(settings, role="counsellor", sub="bench", ttl=timedelta(hours=1))
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}
        ) as client:

            def over_http(person: uuid.UUID) -> Callable[[], None]:
                def call() -> None:
                    response = client.post(
                        f"/api/v1/young-people/{person}/contacts", json=CONTACT_JSON
                    )
                    response.raise_for_status()

                return call

            http_short_rate, http_short_ms = rate(n, over_http(short))
            http_long_rate, http_long_ms = rate(n, over_http(long))
        server.should_exit = True
        thread.join()
        library.close()
        services.close()

    print(f"record contact on PostgreSQL, {n} commands each (median latency)")
    print(f"  library alone (get + 1 event + save) {library_rate:8.0f}/s  {library_ms:6.2f} ms")
    print(f"  in-process, 10-event history         {short_rate:8.0f}/s  {short_ms:6.2f} ms")
    print(f"  in-process, 1,000-event history      {long_rate:8.0f}/s  {long_ms:6.2f} ms")
    print(
        f"  HTTP, 10-event history               {http_short_rate:8.0f}/s  {http_short_ms:6.2f} ms"
    )
    print(f"  HTTP, 1,000-event history            {http_long_rate:8.0f}/s  {http_long_ms:6.2f} ms")
    print(f"ratio in-process / library alone: {short_rate / library_rate:.2f}")
    print(f"ratio HTTP / in-process (target >= 0.60): {http_short_rate / short_rate:.2f}")
    print(
        f"ratio long / short history latency, in-process (target <= 1.2): {long_ms / short_ms:.2f}"
    )
    print(
        f"ratio long / short history latency, HTTP (target <= 1.2): "
        f"{http_long_ms / http_short_ms:.2f}"
    )


if __name__ == "__main__":
    main()
