"""The decision audit through the HTTP app: GraphQL ``decisionAudit`` and the CSV export,
for auditors only, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest

from domain.actors import Actor, Role
from tests.e2e import payloads
from tests.e2e.conftest import NOW, Api, yp

AUDITOR = Actor(id="auditor-e2e", role=Role.AUDITOR)
MINUTE = timedelta(minutes=1)

AUDIT = """
query Audit($from: DateTime, $to: DateTime, $incompleteOnly: Boolean!, $first: Int!,
            $after: String) {
  decisionAudit(from: $from, to: $to, incompleteOnly: $incompleteOnly, first: $first,
                after: $after) {
    total
    pageInfo { endCursor hasNextPage }
    entries {
      decisionId youngPersonId kind decisionType occurredAt decidedBy legalBasisPresent
      complete
      checks { name passed explanation ruleVersion }
      dualRole { deciderIsMentor mentorId declaredRole roleDeclared openlyDeclared }
      appealCourse { status appealedAt outcome }
      provenance {
        windowDays contacts contactsReached planDrafted absences concerns dropouts
        byChannel { channel contacts reached }
      }
    }
  }
}
"""


def audit(api: Api, token: str | None = None, **variables: Any) -> dict[str, Any]:
    # The app serves what the read models hold: bring them up to date first.
    api.services.projections.catch_up()
    variables = {"incompleteOnly": False, "first": 50, **variables}
    response = api.client.post(
        "/graphql",
        json={"query": AUDIT, "variables": variables},
        headers=api.headers(token or api.token_for(AUDITOR)),
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def entries(api: Api, **variables: Any) -> dict[str, dict[str, Any]]:
    body = audit(api, **variables)
    assert "errors" not in body, body
    found: list[dict[str, Any]] = body["data"]["decisionAudit"]["entries"]
    return {entry["decisionId"]: entry for entry in found}


def decide(api: Api, young_person_id: UUID, decided_by: UUID, kind: str, **fields: Any) -> UUID:
    body = payloads.decision(decided_by, kind, **fields)
    answer = api.command(f"{yp(young_person_id)}/decisions", body)
    return UUID(answer["ids"]["decision_id"])


@pytest.fixture
def case(api: Api) -> tuple[UUID, UUID]:
    counsellor = api.counsellor()
    return api.enrolled(counsellor), counsellor


def test_an_auditor_reads_checks_dual_role_appeal_and_provenance(
    api: Api, case: tuple[UUID, UUID]
) -> None:
    young_person_id, counsellor = case
    api.command(
        f"{yp(young_person_id)}/contacts",
        payloads.contact(
            channel="sms", reached=False, occurred_at=(NOW - timedelta(days=3)).isoformat()
        ),
    )
    complete = decide(api, young_person_id, counsellor, "readiness_assessment")
    other_decider = api.counsellor()
    incomplete = decide(
        api,
        young_person_id,
        other_decider,
        "education_injunction",
        hearing_held_on=None,
        deadline=None,
        declared_role="not_declared",
    )
    api.command(f"{yp(young_person_id)}/decisions/{complete}/appeal", payloads.appeal())

    found = entries(api)

    first, second = found[str(complete)], found[str(incomplete)]
    assert (first["kind"], first["complete"], first["legalBasisPresent"]) == (
        "READINESS_ASSESSMENT",
        True,
        True,
    )
    assert [check["passed"] for check in first["checks"]] == [True, True, True]
    assert first["dualRole"] == {
        "deciderIsMentor": True,
        "mentorId": str(counsellor),
        "declaredRole": "MENTOR_AND_AUTHORITY",
        "roleDeclared": True,
        "openlyDeclared": True,
    }
    assert (first["appealCourse"]["status"], first["appealCourse"]["outcome"]) == (
        "APPEALED",
        None,
    )
    assert first["provenance"] == {
        "windowDays": 90,
        "contacts": 1,
        "contactsReached": 0,
        "planDrafted": False,
        "absences": 0,
        "concerns": 0,
        "dropouts": 0,
        "byChannel": [{"channel": "SMS", "contacts": 1, "reached": 0}],
    }
    assert second["complete"] is False
    assert {check["name"]: check["passed"] for check in second["checks"]} == {
        "reasons_with_legal_basis": True,
        "hearing": False,
        "appeal_guidance": True,
        "injunction_content": False,
        "drawn_up_with_young_person": True,
    }
    assert second["dualRole"]["deciderIsMentor"] is False
    assert second["dualRole"]["roleDeclared"] is False


def test_incomplete_only_a_period_and_pages(api: Api, case: tuple[UUID, UUID]) -> None:
    young_person_id, counsellor = case
    later = NOW + timedelta(days=400)  # a period of this test's own
    api.clock.set(later)
    try:
        made = [
            decide(
                api,
                young_person_id,
                counsellor,
                "other",
                occurred_at=(later - d * MINUTE).isoformat(),
            )
            for d in (3, 2, 1)
        ]
        thin = decide(
            api, young_person_id, counsellor, "other", reasons="", occurred_at=later.isoformat()
        )
    finally:
        api.clock.set(NOW)
    period = {"from": (later - timedelta(hours=4)).isoformat(), "to": later.isoformat()}

    incomplete = entries(api, incompleteOnly=True, **{"from": period["from"]})
    first_page = audit(api, first=2, **period)["data"]["decisionAudit"]
    second_page = audit(api, first=2, after=first_page["pageInfo"]["endCursor"], **period)["data"][
        "decisionAudit"
    ]

    assert list(incomplete) == [str(thin)]
    assert first_page["total"] == 3
    assert [e["decisionId"] for e in first_page["entries"] + second_page["entries"]] == [
        str(decision) for decision in made
    ]
    assert (first_page["pageInfo"]["hasNextPage"], second_page["pageInfo"]["hasNextPage"]) == (
        True,
        False,
    )


def test_the_audit_is_for_auditors_only(api: Api) -> None:
    body = audit(api, token=api.token_for(Actor(id="c", role=Role.COUNSELLOR)))
    response = api.client.get("/api/v1/decision-audit.csv", headers=api.headers(api.lead_token))

    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "forbidden"
    assert response.status_code == 403


def test_the_csv_has_a_row_per_decision_a_column_per_check_and_no_personal_text(
    api: Api, case: tuple[UUID, UUID]
) -> None:
    young_person_id, counsellor = case
    sanction = decide(api, young_person_id, counsellor, "sanction")
    injunction = decide(
        api, young_person_id, counsellor, "education_injunction", drawn_up_with_young_person=False
    )
    api.services.projections.catch_up()

    response = api.client.get(
        "/api/v1/decision-audit.csv",
        params={"from": NOW.isoformat()},
        headers=api.headers(api.token_for(AUDITOR)),
    )

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = {row["decision_id"]: row for row in csv.DictReader(io.StringIO(response.text))}
    checks = (
        "reasons_with_legal_basis",
        "hearing",
        "appeal_guidance",
        "injunction_content",
        "drawn_up_with_young_person",
        "attempts_to_reach",
    )
    assert [rows[str(sanction)][name] for name in checks] == [
        "pass",
        "pass",
        "pass",
        "",
        "",
        "fail",
    ]
    assert [rows[str(injunction)][name] for name in checks] == [
        "pass",
        "pass",
        "pass",
        "pass",
        "fail",
        "",
    ]
    assert (rows[str(injunction)]["complete"], rows[str(injunction)]["decider_is_mentor"]) == (
        "false",
        "true",
    )
    for text in ("test reasons", "test considerations", "test facts", "test goal", "test support"):
        assert text not in response.text


def test_the_csv_refuses_a_time_without_zone(api: Api) -> None:
    response = api.client.get(
        "/api/v1/decision-audit.csv",
        params={"from": "2024-03-01T00:00:00"},
        headers=api.headers(api.token_for(AUDITOR)),
    )

    assert response.status_code == 422
    assert response.json()["message"] == "from needs a time zone"
