"""The access log through GraphQL: reads of personal data recorded, auditors read them."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from domain.actors import Actor, Role
from tests.e2e import payloads
from tests.e2e.conftest import NOW, Api, yp

READ = """
query Read($id: ID!) {
  youngPerson(id: $id) { timeline { eventType } plan { goal } transitions { id } }
}
"""
LOG = """
query Log($id: ID, $first: Int!, $after: String) {
  accessLog(youngPersonId: $id, first: $first, after: $after) {
    entries { at actorId actorRole what youngPersonId }
    pageInfo { endCursor hasNextPage }
  }
}
"""
AUDITOR = Actor(id="auditor-e2e", role=Role.AUDITOR)


def _graphql(api: Api, query: str, token: str | None = None, **variables: Any) -> Any:
    response = api.client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=api.headers(token)
    )
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def test_reads_of_personal_data_are_logged_once_per_kind_and_auditors_page_through_them(
    api: Api,
) -> None:
    young_person_id = api.with_plan()
    api.command(f"{yp(young_person_id)}/transitions", payloads.transition())
    api.services.projections.catch_up()

    _graphql(api, READ, id=str(young_person_id))
    auditor = api.token_for(AUDITOR)
    first = _graphql(api, LOG, auditor, id=str(young_person_id), first=2)["accessLog"]
    rest = _graphql(
        api, LOG, auditor, id=str(young_person_id), first=2, after=first["pageInfo"]["endCursor"]
    )["accessLog"]

    entries = first["entries"] + rest["entries"]
    assert sorted(entry["what"] for entry in entries) == ["plan", "timeline", "transitions"]
    assert {(e["actorId"], e["actorRole"], e["at"]) for e in entries} == {
        ("counsellor-e2e", "counsellor", NOW.isoformat())
    }
    assert {UUID(entry["youngPersonId"]) for entry in entries} == {young_person_id}
    assert (first["pageInfo"]["hasNextPage"], rest["pageInfo"]["hasNextPage"]) == (True, False)


def test_a_caseload_read_logs_every_young_person_on_the_page(api: Api) -> None:
    counsellor_id = api.counsellor()
    people = {api.enrolled(counsellor_id) for _ in range(3)}
    api.services.projections.catch_up()
    before = api.services.access_log.entries(
        young_person_id=None, start=None, end=None, limit=1000, after=None
    )
    query = "query($id: ID!) { caseload(counsellorId: $id) { entries { entries { name } } } }"

    _graphql(api, query, id=str(counsellor_id))

    logged = api.services.access_log.entries(
        young_person_id=None,
        start=None,
        end=None,
        limit=1000,
        after=before[-1].sequence if before else None,
    )
    assert {(entry.young_person_id, entry.what) for entry in logged} == {
        (person, "caseload") for person in people
    }
