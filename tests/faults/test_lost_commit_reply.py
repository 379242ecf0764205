"""The hard case of a retry: the COMMIT reached PostgreSQL, its answer never came back.

A proxy between the app and PostgreSQL lets the events' COMMIT through and closes the
connection instead of passing the answer on. eventsourcing then inserts the events again
on a new connection (it retries an insert that failed with a connection error), which
fails on the events' unique key, because the first insert is there: to the application
that looks exactly like another writer having got in first.

With an ``Idempotency-Key`` the key was committed in the same transaction as the events,
so the command's outcome is found and answered (201, the ids and position of the first
insert, ``Idempotent-Replayed``), at once or on the client's retry after a 503. Without a
key nothing tells the two apart: the answer is a 409 although the command was recorded.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest

from api.errors import RETRY_AFTER_SECONDS
from domain.young_person_events import ContactRecorded
from tests.backends import Backend
from tests.e2e import payloads
from tests.e2e.conftest import Api, open_api, yp
from tests.faults.proxy import PostgresProxy
from tests.faults.waiting import wait_until

REPLAYED = "Idempotent-Replayed"
WAIT = 30.0  # seconds; only a failure waits this long


@pytest.fixture
def proxy() -> Iterator[PostgresProxy]:
    proxy = PostgresProxy()
    try:
        yield proxy
    finally:
        proxy.close()


@pytest.fixture
def api(proxy: PostgresProxy, pg_url: str, tmp_path: Path) -> Iterator[Api]:
    """The app, every connection of it through the proxy."""
    yield from open_api(
        Backend("postgres", tmp_path / "var", proxy.url(pg_url)), postgres_connect_timeout=1
    )


def test_a_lost_commit_reply_is_answered_with_the_recorded_outcome(
    api: Api, proxy: PostgresProxy
) -> None:
    path = f"{yp(api.enrolled())}/contacts"
    before = api.position()
    lost = proxy.drop_next_commit_reply()

    first = api.post(path, payloads.contact(), key="contact-1")

    assert lost.is_set(), "no COMMIT answer was dropped"
    [(position, contact_id)] = _contacts_since(api, before)
    assert first.status_code == 201, first.json()
    assert first.json() == _accepted(path, contact_id, position)
    # The command's own insert had landed: this answer is its recorded outcome.
    assert first.headers[REPLAYED] == "true"

    again = api.post(path, payloads.contact(), key="contact-1")

    assert (again.status_code, again.json()) == (201, first.json())
    assert again.headers[REPLAYED] == "true"
    assert _contacts_since(api, before) == [(position, contact_id)]


def test_a_lost_commit_reply_then_503_is_answered_with_the_recorded_outcome_on_retry(
    api: Api, proxy: PostgresProxy
) -> None:
    path = f"{yp(api.enrolled())}/contacts"
    before = api.position()
    # Each attempt of the insert waits for a pooled connection up to
    # POSTGRES_CONNECT_TIMEOUT (a second at least): shorten the wait while the database
    # stays away, and give it back for the retry.
    pool = api.services.app.recorder.datastore.pool  # type: ignore[attr-defined]
    timeout, pool.timeout = pool.timeout, 0.1
    lost = proxy.drop_next_commit_reply(then_refuse=True)

    first = api.post(path, payloads.contact(), key="contact-2")
    pool.timeout = timeout

    assert lost.is_set(), "no COMMIT answer was dropped"
    assert first.status_code == 503, first.json()
    assert first.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    proxy.accept_new_connections()
    [(position, contact_id)] = _contacts_since(api, before)

    retried = _retry_until_answered(api, path, key="contact-2")

    assert (retried.status_code, retried.json()) == (201, _accepted(path, contact_id, position))
    assert retried.headers[REPLAYED] == "true"
    assert _contacts_since(api, before) == [(position, contact_id)]


def test_without_a_key_a_lost_commit_reply_is_answered_409_although_recorded(
    api: Api, proxy: PostgresProxy
) -> None:
    """A known limit, documented (docs/OPERATIONS.md): without a key, the client is told
    to reload, and finds its contact there; a blind resend would record it twice."""
    path = f"{yp(api.enrolled())}/contacts"
    before = api.position()
    lost = proxy.drop_next_commit_reply()

    answer = api.post(path, payloads.contact())

    assert lost.is_set(), "no COMMIT answer was dropped"
    assert (answer.status_code, answer.json()["code"]) == (409, "concurrent_update")
    assert len(_contacts_since(api, before)) == 1


def _contacts_since(api: Api, position: int) -> list[tuple[int, UUID]]:
    """(position, contact id) of every contact recorded after ``position``."""
    events = api.services.app.recorder.select_notifications(start=position + 1, limit=100)
    decoded = [(n.id, api.services.app.mapper.to_domain_event(n)) for n in events]
    return [(p, e.contact_id) for p, e in decoded if isinstance(e, ContactRecorded)]


def _accepted(path: str, contact_id: UUID, position: int) -> dict[str, Any]:
    young_person_id = path.split("/")[-2]
    return {
        "ids": {"contact_id": str(contact_id), "young_person_id": young_person_id},
        "position": position,
    }


def _retry_until_answered(api: Api, path: str, key: str) -> httpx.Response:
    """Send again with the same key until the answer is no longer a 503 (the app's pool
    reconnects by itself, with a back-off)."""
    answers: list[httpx.Response] = []

    def answered() -> bool:
        answers.append(api.post(path, payloads.contact(), key=key))
        return answers[-1].status_code != 503

    wait_until(answered, WAIT, "the database answered again")
    return answers[-1]
