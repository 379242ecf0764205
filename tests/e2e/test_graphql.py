"""GraphQL through the HTTP app: read your own write, auth, unknown ids, batching, drift."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from api.auth import issue_token
from api.graphql.schema import export_sdl
from domain.actors import Role
from infra.bootstrap import Services, build_services
from tests.backends import Backend
from tests.counting import CountingViewStore
from tests.factories import TEAM, a_contact, a_context, a_counsellor, enrolled_young_person

ROOT = Path(__file__).resolve().parents[2]

TIMELINE = """
query Timeline($id: ID!, $position: Int) {
  youngPerson(id: $id, waitForPosition: $position) {
    id
    timeline { position occurredAt recordedAt eventType actorId actorRole summary details }
  }
}
"""


# What happens before any storage is touched needs no second backend.
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def services(backend: Backend) -> Iterator[Services]:
    settings = backend.settings.model_copy(
        update={
            "jwt_secret": SecretStr("graphql-e2e-secret-long-enough-for-hs256"),
            "read_your_writes_timeout": 0.5,
            "projection_poll_interval": 0.02,
        }
    )
    services = build_services(settings)
    try:
        # What a serving process does before it answers: the read models' tables exist.
        services.projections.setup()
        yield services
    finally:
        services.close()


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services)) as client:
        yield client


@pytest.fixture
def token(services: Services) -> str:
    return issue_token(services.settings, Role.COUNSELLOR, "counsellor-7", team=TEAM)


def graphql(
    client: TestClient,
    query: str,
    token: str | None = None,
    *,
    status: int = 200,
    **variables: Any,
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    assert response.status_code == status
    body: dict[str, Any] = response.json()
    return body


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


# --- read your own write -------------------------------------------------------------------


def test_a_contact_recorded_over_rest_is_on_the_timeline_at_its_position(
    services: Services, client: TestClient, token: str
) -> None:
    services.projections.start_in_thread()
    young_person_id = enrolled_young_person(services.app).young_person_id
    response = client.post(
        f"/api/v1/young-people/{young_person_id}/contacts",
        json={
            "channel": "phone",
            "direction": "outgoing",
            "place": "home",
            "purpose": "check_in",
            "reached": True,
            "duration_minutes": 20,
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201
    position = response.json()["position"]

    body = graphql(client, TIMELINE, token, id=str(young_person_id), position=position)

    assert "errors" not in body
    person = body["data"]["youngPerson"]
    assert person["id"] == str(young_person_id)
    last = person["timeline"][-1]
    assert last["summary"] == "Contact by phone at home: reached (check-in, 20 min)"
    assert (last["position"], last["eventType"]) == (position, "ContactRecorded")
    assert (last["actorId"], last["actorRole"]) == ("counsellor-7", "counsellor")
    assert last["details"]["purpose"] == "check_in"


def test_a_position_not_yet_projected_is_not_yet_visible(
    services: Services, client: TestClient, token: str
) -> None:
    # No runner is running: the read models stay where they are.
    young_person_id = enrolled_young_person(services.app).young_person_id
    position = services.app.recorder.max_notification_id()

    body = graphql(client, TIMELINE, token, id=str(young_person_id), position=position)

    assert codes(body) == ["not_yet_visible"]
    assert body["data"] == {"youngPerson": None}


# --- who may ask, and about whom -----------------------------------------------------------


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token", "Basic abc"])
def test_without_a_valid_token_the_answer_is_unauthenticated(
    services: Services, client: TestClient, authorization: str | None
) -> None:
    young_person_id = enrolled_young_person(services.app).young_person_id
    services.projections.catch_up()
    headers = {"Authorization": authorization} if authorization else {}

    response = client.post(
        "/graphql",
        json={"query": TIMELINE, "variables": {"id": str(young_person_id)}},
        headers=headers,
    )

    assert response.status_code == 200
    assert codes(response.json()) == ["unauthenticated"]
    assert response.json()["data"] == {"youngPerson": None}


def test_an_unknown_young_person_is_refused_like_another_teams(
    services: Services, client: TestClient, token: str
) -> None:
    counsellor_id = a_counsellor(services.app, team_id="another-team")
    others = enrolled_young_person(services.app, counsellor_id=counsellor_id).young_person_id
    services.projections.catch_up()

    unknown = graphql(client, TIMELINE, token, id=str(UUID(int=7)))
    another_teams = graphql(client, TIMELINE, token, id=str(others))

    assert codes(unknown) == ["forbidden"]
    assert unknown == another_teams


@sqlite_only
def test_an_id_that_is_not_a_uuid_is_refused(client: TestClient, token: str) -> None:
    body = graphql(client, TIMELINE, token, id="not-a-uuid")

    assert codes(body) == ["invalid_argument"]


def test_ids_in_hex_are_accepted_and_answered_in_the_usual_form(
    services: Services, client: TestClient, token: str
) -> None:
    young_person_id = enrolled_young_person(services.app).young_person_id
    services.projections.catch_up()

    body = graphql(client, TIMELINE, token, id=young_person_id.hex)

    assert body["data"]["youngPerson"]["id"] == str(young_person_id)


def test_a_view_store_that_is_away_answers_unavailable_without_internals(
    services: Services, client: TestClient, token: str
) -> None:
    services.views.close()

    body = graphql(client, TIMELINE, token, id=str(UUID(int=7)))

    assert body["errors"] == [
        {
            "message": "the database is unavailable; try again shortly",
            "locations": [{"line": 3, "column": 3}],
            "path": ["youngPerson"],
            "extensions": {"code": "unavailable"},
        }
    ]


# --- paging and batching -------------------------------------------------------------------


def test_timeline_pages_with_first_and_after(
    services: Services, client: TestClient, token: str
) -> None:
    young_person_id = enrolled_young_person(services.app).young_person_id
    services.projections.catch_up()
    query = """
    query Page($id: ID!, $first: Int, $after: Int) {
      youngPerson(id: $id) { timeline(first: $first, after: $after) { position summary } }
    }"""

    def page(**args: Any) -> list[dict[str, Any]]:
        body = graphql(client, query, token, id=str(young_person_id), **args)
        entries: list[dict[str, Any]] = body["data"]["youngPerson"]["timeline"]
        return entries

    everything = page()
    first_two = page(first=2)
    rest = page(after=first_two[-1]["position"])

    assert first_two + rest == everything
    assert codes(graphql(client, query, token, id=str(young_person_id), first=-1)) == [
        "invalid_argument"
    ]


def many_young_people_query(ids: list[UUID]) -> str:
    fields = "\n".join(
        f'p{n}: youngPerson(id: "{i}") {{ id timeline {{ summary }} }}' for n, i in enumerate(ids)
    )
    return f"{{ {fields} }}"


def test_statements_per_request_do_not_grow_with_the_number_of_young_people(
    services: Services, token: str
) -> None:
    counsellor_id = a_counsellor(services.app)
    ids = [
        enrolled_young_person(services.app, counsellor_id=counsellor_id).young_person_id
        for _ in range(6)
    ]
    for young_person_id in ids:
        services.app.record_contact(young_person_id, a_contact(), a_context())
    services.projections.catch_up()
    counting = CountingViewStore(services.views)
    services.views = counting

    statements = []
    with TestClient(create_app(services)) as client:
        for some in (ids[:1], ids[:3], ids):
            counting.statements = 0
            body = graphql(client, many_young_people_query(some), token)
            assert "errors" not in body
            assert len(body["data"]) == len(some)
            statements.append(counting.statements)

    # One query for who exists, one for all their timelines.
    assert statements == [2, 2, 2]


# --- limits, the IDE and the checked-in schema ------------------------------------------------


@sqlite_only
@pytest.mark.parametrize(
    "query",
    [
        pytest.param(many_young_people_query([UUID(int=n) for n in range(101)]), id="aliases"),
        pytest.param("{ youngPerson(id: ", id="syntax"),
        pytest.param("{ youngPeople { id } }", id="unknown-field"),
        pytest.param("{" * 100 + "}" * 100, id="nesting"),
    ],
)
def test_a_query_that_cannot_run_is_a_bad_request(
    client: TestClient, token: str, query: str
) -> None:
    body = graphql(client, query, token, status=400)

    assert body["data"] is None
    assert set(codes(body)) == {"invalid_query"}


@sqlite_only
def test_graphiql_is_served_to_browsers(client: TestClient) -> None:
    response = client.get("/graphql", headers={"Accept": "text/html"})

    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


def test_the_checked_in_schema_matches_the_code() -> None:
    checked_in = (ROOT / "schema.graphql").read_text(encoding="utf-8")

    assert checked_in.rstrip("\n") == export_sdl().rstrip("\n"), (
        "schema.graphql is out of date; regenerate it with `make schema`"
    )
