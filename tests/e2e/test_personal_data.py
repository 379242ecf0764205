"""Erasure and the subject access export through HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import httpx

from tests.e2e import payloads
from tests.e2e.conftest import NOW, Api, yp

TIMELINE = """
query Timeline($id: ID!) {
  youngPerson(id: $id) {
    timeline { eventType summary details personalDataErased }
  }
}
"""


def export(api: Api, young_person_id: UUID, token: str | None = None) -> httpx.Response:
    """The export, as the team lead asks for it (counsellors may not export)."""
    response: httpx.Response = api.client.get(
        f"{yp(young_person_id)}/export", headers=api.headers(token or api.lead_token)
    )
    return response


def exported(api: Api, young_person_id: UUID) -> dict[str, Any]:
    response = export(api, young_person_id)
    assert response.status_code == 200, response.json()
    body: dict[str, Any] = response.json()
    return body


def erase(api: Api, young_person_id: UUID, **kwargs: Any) -> httpx.Response:
    """Erasure, as the team lead asks for it (counsellors may not erase)."""
    kwargs.setdefault("token", api.lead_token)
    return api.post(f"{yp(young_person_id)}/erasure", payloads.erasure(), **kwargs)


def timeline(api: Api, young_person_id: UUID) -> list[dict[str, Any]]:
    api.services.projections.catch_up()
    response = api.client.post(
        "/graphql",
        json={"query": TIMELINE, "variables": {"id": str(young_person_id)}},
        headers=api.headers(),
    )
    body = response.json()
    assert "errors" not in body, body
    entries: list[dict[str, Any]] = body["data"]["youngPerson"]["timeline"]
    return entries


# --- the export ------------------------------------------------------------------------------


def test_the_export_holds_every_fact_with_its_personal_fields(api: Api) -> None:
    young_person_id = api.referred(name="Export Person", phone="+45 12 34 56 78")
    api.command(f"{yp(young_person_id)}/contacts", payloads.contact(note="test: export note"))
    api.services.projections.catch_up()

    body = exported(api, young_person_id)

    assert (body["format"], body["format_version"]) == ("overgang.subject-access-export", 1)
    assert body["young_person_id"] == str(young_person_id)
    assert [event["type"] for event in body["events"]] == [
        "Referred",
        "ContactRecorded",
        "SubjectAccessExported",
    ]
    referred, contact, recorded = body["events"]
    assert (referred["fields"]["name"], referred["fields"]["phone"]) == (
        "Export Person",
        "+45 12 34 56 78",
    )
    assert referred["fields"]["date_of_birth"] == "2006-05-17"
    assert contact["fields"]["note"] == "test: export note"
    assert [event["version"] for event in body["events"]] == [1, 2, 3]
    assert contact["actor"] == {"id": api.actor.id, "role": "counsellor"}
    assert contact["occurred_at"] == NOW.isoformat().replace("+00:00", "Z")
    assert recorded["fields"] == {
        "export_format": "overgang.subject-access-export",
        "format_version": 1,
    }
    assert body["position"] == api.position()
    assert [entry["event_type"] for entry in body["timeline"]] == ["Referred", "ContactRecorded"]
    assert body["timeline"][1]["details"]["note"] == "test: export note"
    assert body["timeline_position"] < body["position"]


def test_the_export_is_not_cached_on_the_way(api: Api) -> None:
    response = export(api, api.referred())

    assert response.headers["cache-control"] == "no-store"


def test_the_export_is_recorded_in_the_timeline(api: Api) -> None:
    young_person_id = api.referred()

    position = exported(api, young_person_id)["position"]

    [event] = api.events_since(position - 1)
    assert type(event).__name__ == "SubjectAccessExported"
    assert timeline(api, young_person_id)[-1] == {
        "eventType": "SubjectAccessExported",
        "summary": "Personal data exported to the young person",
        "details": {"export_format": "overgang.subject-access-export", "format_version": 1},
        "personalDataErased": False,
    }


def test_an_unknown_young_person_is_refused_like_another_teams(api: Api) -> None:
    before = api.position()

    response = export(api, uuid4())

    assert (response.status_code, response.json()["code"]) == (403, "forbidden")
    assert api.position() == before


def test_the_export_is_recorded_in_the_access_log(api: Api) -> None:
    young_person_id = api.referred()

    export(api, young_person_id)

    [entry] = api.services.access_log.entries(
        young_person_id=young_person_id, start=None, end=None, limit=10, after=None
    )
    assert (entry.actor_id, entry.actor_role, entry.what, entry.at) == (
        "team-lead-e2e",
        "team_lead",
        "export",
        NOW,
    )


def test_the_export_needs_a_token(api: Api) -> None:
    young_person_id = api.referred()
    before = api.position()

    response = api.client.get(f"{yp(young_person_id)}/export")

    assert (response.status_code, response.json()["code"]) == (401, "unauthenticated")
    assert api.position() == before


# --- erasure -------------------------------------------------------------------------------


def test_erasure_answers_with_the_position_and_leaves_the_facts(api: Api) -> None:
    young_person_id = api.enrolled()
    api.command(f"{yp(young_person_id)}/contacts", payloads.contact(note="test: private"))

    answer = api.command(f"{yp(young_person_id)}/erasure", payloads.erasure(), token=api.lead_token)

    assert answer["ids"] == {"young_person_id": str(young_person_id)}
    entries = timeline(api, young_person_id)
    assert [entry["eventType"] for entry in entries] == [
        "Referred",
        "ReferralReviewed",
        "Enrolled",
        "ContactRecorded",
        "PersonalDataErased",
    ]
    assert all(entry["personalDataErased"] for entry in entries)
    contact = entries[3]
    assert contact["summary"] == "Contact in a meeting at a cafe: reached (check-in, 30 min)"
    assert contact["details"]["note"] is None
    assert entries[0]["details"]["name"] is None


def test_after_erasure_the_events_decode_without_personal_fields(api: Api) -> None:
    young_person_id = api.referred(name="Decoded Person")
    before = api.position()

    api.command(f"{yp(young_person_id)}/erasure", payloads.erasure(), token=api.lead_token)

    referred = next(iter(api.services.app.events.get(young_person_id)))
    assert (referred.name, referred.phone, referred.reason) == (None, None, None)  # type: ignore[attr-defined]
    assert api.event_names_since(before) == ["PersonalDataErased"]


def test_a_second_erasure_is_refused_as_already_erased(api: Api) -> None:
    young_person_id = api.referred()
    erase(api, young_person_id)
    before = api.position()

    response = erase(api, young_person_id)

    body = response.json()
    assert (response.status_code, body["code"]) == (409, "personal_data_erased")
    assert "already erased" in body["message"]
    assert api.position() == before


def test_a_retried_erasure_with_the_same_key_answers_as_the_first(api: Api) -> None:
    young_person_id = api.referred()
    key = f"erase-{uuid4()}"
    first = erase(api, young_person_id, key=key)

    again = erase(api, young_person_id, key=key)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"


def test_nothing_may_be_recorded_after_erasure(api: Api) -> None:
    young_person_id = api.enrolled()
    erase(api, young_person_id)
    before = api.position()

    response = api.post(f"{yp(young_person_id)}/contacts", payloads.contact())

    assert (response.status_code, response.json()["code"]) == (409, "personal_data_erased")
    assert api.position() == before


def test_there_is_nothing_to_export_after_erasure(api: Api) -> None:
    young_person_id = api.referred()
    erase(api, young_person_id)
    before = api.position()

    response = export(api, young_person_id)

    assert (response.status_code, response.json()["code"]) == (409, "personal_data_erased")
    assert api.position() == before


def test_erasure_of_an_unknown_young_person_shreds_nothing(api: Api) -> None:
    unknown = uuid4()

    # The admin may erase anyone (a team lead would be refused, as for another team's).
    response = erase(api, unknown, token=api.admin_token)

    assert (response.status_code, response.json()["code"]) == (404, "young_person_not_found")
    assert not api.services.keys.is_shredded(unknown)


def test_erasure_needs_who_asked_and_the_legal_basis(api: Api) -> None:
    young_person_id = api.referred()
    before = api.position()

    response = api.post(
        f"{yp(young_person_id)}/erasure",
        {"requested_by": "young_person", "legal_basis": ""},
        token=api.lead_token,
    )

    assert (response.status_code, response.json()["code"]) == (422, "invalid_request")
    assert api.position() == before
    assert not api.services.keys.is_shredded(young_person_id)
