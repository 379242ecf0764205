"""Many clients writing to one young person at once, through the real HTTP server: every
command answered 201 is in the log exactly once, at the position its answer gave; every
other one got a clear 409 and wrote nothing; and no read model counts anything twice.

Clients start each round together (a barrier), so their commands load the same version
of the young person and race to append to it. Half of them send an Idempotency-Key, which
takes another path through a conflict (the key's outcome is looked up before the 409).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from domain.young_person_events import ContactRecorded, MilestoneSet
from projections.caseload import MILESTONES as CASELOAD_MILESTONES
from projections.outcomes import CONTACTS as OUTCOME_CONTACTS
from projections.plan import MILESTONES as PLAN_MILESTONES
from projections.timeline import TABLE as TIMELINE
from tests.backends import Backend
from tests.e2e import payloads
from tests.e2e.conftest import Api, open_api, yp
from tests.faults.readmodels import clean_rebuild, differences, read_tables
from tests.faults.stream import body_of
from tests.http_server import serving
from tests.views import logged_events

CLIENTS = 16
ROUNDS = 6
WAIT = 60.0  # seconds; only a failure waits this long
CONFLICT = {
    "code": "concurrent_update",
    "message": "the record was changed by someone else; reload and try again",
}


@dataclass(frozen=True)
class Sent:
    kind: str  # "contact_id" or "milestone_id": the id its answer carries
    status: int
    body: Any


@pytest.fixture
def api(pg_url: str, tmp_path: Path) -> Iterator[Api]:
    yield from open_api(
        Backend("postgres", tmp_path / "var", pg_url),
        run_projections=True,
        # Clients queue for pooled connections too: let them wait long enough for that
        # never to end in a 503 on a busy machine.
        postgres_pool_size=4,
        postgres_max_overflow=4,
        postgres_connect_timeout=10,
    )


def test_concurrent_writers_on_one_young_person_land_once_or_get_a_clear_409(
    api: Api, pg_admin_url: str
) -> None:
    young_person_id = api.with_plan()
    before = api.position()
    start = threading.Barrier(CLIENTS)
    sent: list[Sent] = []
    crashes: list[BaseException] = []

    def client(number: int, base_url: str) -> None:
        # One in four clients sets milestones, the others record contacts; every other
        # client sends keys.
        kind, path, body = (
            ("milestone_id", "milestones", payloads.milestone())
            if number % 8 < 2
            else ("contact_id", "contacts", payloads.contact(note=f"test note {number}"))
        )
        keyed = number % 2 == 1
        try:
            with httpx.Client(base_url=base_url, timeout=WAIT) as http:
                for _ in range(ROUNDS):
                    headers = api.headers(key=f"client-{number}-{uuid4()}" if keyed else None)
                    start.wait(WAIT)
                    response = http.post(
                        f"{yp(young_person_id)}/{path}", json=body, headers=headers
                    )
                    sent.append(Sent(kind, response.status_code, body_of(response)))
        except BaseException as error:  # reported by the test: a thread must not die silently
            start.abort()
            crashes.append(error)

    with serving(api.services) as base_url:
        threads = [
            threading.Thread(target=client, args=(number, base_url)) for number in range(CLIENTS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT * 2)

    assert crashes == []
    assert len(sent) == CLIENTS * ROUNDS
    # Accepted or refused as a conflict, nothing else (no 5xx).
    assert {s.status for s in sent} <= {201, 409}
    assert all(s.body == CONFLICT for s in sent if s.status == 409)
    accepted = [s for s in sent if s.status == 201]
    assert accepted, "no command was accepted"
    # Measured: about two in three commands meet another one writing the same version.
    assert len(accepted) < len(sent), "no command met another: the race did not happen"

    # The log holds exactly the accepted commands, each once, where their answers said.
    written = [(p, e) for p, e in logged_events(api.services.app) if p > before]
    assert all(e.originator_id == young_person_id for _, e in written)
    logged = {
        "contact_id": [(p, e.contact_id) for p, e in written if isinstance(e, ContactRecorded)],
        "milestone_id": [(p, e.milestone_id) for p, e in written if isinstance(e, MilestoneSet)],
    }
    assert sum(len(events) for events in logged.values()) == len(written)
    for kind, events in logged.items():
        assert set(Counter(i for _, i in events).values()) <= {1}, kind
        answered = {
            UUID(s.body["ids"][kind]): s.body["position"] for s in accepted if s.kind == kind
        }
        assert answered == {i: p for p, i in events}, kind

    # The read models count each accepted command once.
    assert api.services.projections.wait_for(api.position(), timeout=WAIT)
    person = young_person_id.hex
    contacts = {p for p, _ in logged["contact_id"]}
    milestones = {i.hex for _, i in logged["milestone_id"]}
    with api.services.views.transaction(readonly=True) as cur:
        timeline = cur.execute(
            f"SELECT position FROM {TIMELINE} "
            "WHERE young_person_id = %s AND event_type = 'ContactRecorded'",
            (person,),
        ).fetchall()
        counted = cur.execute(
            f"SELECT SUM(contacts) AS n FROM {OUTCOME_CONTACTS} WHERE young_person_id = %s",
            (person,),
        ).fetchone()
        planned = cur.execute(
            f"SELECT milestone_id FROM {PLAN_MILESTONES} WHERE young_person_id = %s", (person,)
        ).fetchall()
        listed = cur.execute(
            f"SELECT milestone_id FROM {CASELOAD_MILESTONES} WHERE young_person_id = %s",
            (person,),
        ).fetchall()
    assert sorted(row["position"] for row in timeline) == sorted(contacts)
    assert counted is not None and counted["n"] == len(contacts)
    assert sorted(row["milestone_id"] for row in planned) == sorted(milestones)
    assert sorted(row["milestone_id"] for row in listed) == sorted(milestones)
    live = read_tables(api.services.views, api.services.projections.projections)
    assert differences(live, clean_rebuild(api.services.app, pg_admin_url)) == []
