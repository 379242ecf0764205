"""PostgreSQL going away in the middle of streams of commands: the API answers 503 with
``Retry-After`` while it is away, serves again by itself when it is back (same process,
no restart), and every command, retried with its key until accepted, is in the log
exactly once. The projection runner recovers too, and its read models equal a clean
rebuild.

Two ways of going away: the database refuses connections and its sessions are ended
(ALTER DATABASE ... ALLOW_CONNECTIONS false; the server goes on serving the other tests'
databases), or the network between the app and PostgreSQL is cut (a proxy closes every
connection and refuses new ones).

Two clients write meanwhile, each retrying a 503 with the same key: one refers new young
people, one records contacts with one young person. A command in flight when the database
goes away may ride out a short outage (an insert or a read is tried twice, see
``infra.recorders.STORE_ATTEMPTS``), so the 503 the test asks for comes from a command
sent while the database is away: it asks for its key's earlier outcome first, which fails
at once.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID

import httpx
import pytest

from api.errors import RETRY_AFTER_SECONDS
from domain.young_person_events import ContactRecorded, Referred
from tests import pg
from tests.backends import Backend
from tests.e2e import payloads
from tests.e2e.conftest import Api, open_api, yp
from tests.faults.proxy import PostgresProxy
from tests.faults.readmodels import clean_rebuild, differences, read_tables
from tests.faults.stream import CommandStream
from tests.faults.waiting import wait_until
from tests.http_server import serving
from tests.views import logged_events

WAIT = 60.0  # seconds; only a failure waits this long
OUTAGE_SECONDS = 1.5
PROBE_KEY = "sent-while-the-database-is-away"
UNAVAILABLE = {"code": "unavailable", "message": "the database is unavailable; try again shortly"}


class Outage(Protocol):
    database_url: str
    """What the app connects to."""

    def begin(self) -> None: ...

    def end(self) -> None: ...


@dataclass
class DatabaseRefuses:
    database_url: str

    def begin(self) -> None:
        pg.allow_connections(self.database_url, allowed=False)

    def end(self) -> None:
        pg.allow_connections(self.database_url, allowed=True)


@dataclass
class NetworkCut:
    proxy: PostgresProxy
    database_url: str

    def begin(self) -> None:
        self.proxy.refuse_new_connections()
        self.proxy.cut()

    def end(self) -> None:
        self.proxy.accept_new_connections()


@pytest.fixture(params=["database refuses", "network cut"])
def outage(request: pytest.FixtureRequest, pg_url: str) -> Iterator[Outage]:
    if request.param == "database refuses":
        yield DatabaseRefuses(pg_url)
        return
    proxy = PostgresProxy()
    try:
        yield NetworkCut(proxy, proxy.url(pg_url))
    finally:
        proxy.close()


@pytest.fixture
def api(outage: Outage, tmp_path: Path) -> Iterator[Api]:
    """The app, its projection runner in a thread as `overgang serve` runs it."""
    yield from open_api(
        Backend("postgres", tmp_path / "var", outage.database_url),
        run_projections=True,
        # Fail fast while the database is away: a pooled connection is waited for this
        # many seconds (the least there is).
        postgres_connect_timeout=1,
        projection_poll_interval=0.1,
    )


def test_commands_through_an_outage_are_answered_503_and_each_recorded_once(
    api: Api, outage: Outage, pg_admin_url: str
) -> None:
    contacts = f"{yp(api.enrolled())}/contacts"
    before = api.position()

    with serving(api.services) as base_url:
        streams = {
            "young_person_id": CommandStream(
                base_url, "/api/v1/referrals", payloads.referral(), api.headers()
            ),
            "contact_id": CommandStream(base_url, contacts, payloads.contact(), api.headers()),
        }
        for stream in streams.values():
            stream.start()
        try:
            wait_until(
                lambda: all(len(s.accepted()) >= 3 for s in streams.values()),
                WAIT,
                "commands were accepted",
            )
            outage.begin()
            try:
                began = time.monotonic()
                with httpx.Client(base_url=base_url, timeout=WAIT) as client:
                    during = client.post(
                        "/api/v1/referrals",
                        json=payloads.referral(),
                        headers=api.headers(key=PROBE_KEY),
                    )
                # Long enough for the clients' next commands to meet the outage too.
                time.sleep(max(0.0, began + OUTAGE_SECONDS - time.monotonic()))
            finally:
                outage.end()
            back = {name: len(s.accepted()) for name, s in streams.items()}
            wait_until(
                lambda: all(len(s.accepted()) >= back[n] + 3 for n, s in streams.items()),
                WAIT,
                "the API served again",
            )
        finally:
            for stream in streams.values():
                stream.stop()

    assert during.status_code == 503
    assert during.json() == UNAVAILABLE
    assert during.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    # Sent again once the database is back, it is recorded (nothing of it was before).
    probe = api.post("/api/v1/referrals", payloads.referral(), key=PROBE_KEY)
    assert (probe.status_code, probe.headers.get("Idempotent-Replayed")) == (201, None)

    for stream in streams.values():
        assert stream.crash is None
        assert (stream.transport_errors, stream.abandoned) == ([], [])
        # Nothing but accepted and unavailable: no 500, no other 5xx, no conflict.
        assert {answer.status for answer in stream.answers} <= {201, 503}
        for answer in stream.answers:
            if answer.status == 503:
                assert answer.body == UNAVAILABLE
                assert answer.retry_after == str(RETRY_AFTER_SECONDS)
        # Retried until accepted, every one of them.
        assert set(stream.accepted()) == set(stream.keys)

    # Each accepted command is in the log once, at the position its answer gave; nothing
    # else was written.
    written = [(p, e) for p, e in logged_events(api.services.app) if p > before]
    recorded = {
        "young_person_id": [(p, e.originator_id) for p, e in written if isinstance(e, Referred)],
        "contact_id": [(p, _contact_id(e)) for p, e in written if isinstance(e, ContactRecorded)],
    }
    assert sum(len(ids) for ids in recorded.values()) == len(written)
    for name, stream in streams.items():
        assert set(Counter(i for _, i in recorded[name]).values()) == {1}, name
        answers = [a.body for a in stream.accepted().values()]
        if name == "young_person_id":
            answers.append(probe.json())
        answered = {UUID(body["ids"][name]): body["position"] for body in answers}
        assert answered == {i: p for p, i in recorded[name]}, name

    # The projection runner got over it by itself.
    assert api.services.projections.wait_for(api.position(), timeout=WAIT)
    live = read_tables(api.services.views, api.services.projections.projections)
    assert differences(live, clean_rebuild(api.services.app, pg_admin_url)) == []


def _contact_id(event: Any) -> UUID:
    contact_id: UUID = event.contact_id
    return contact_id
