"""``youngPerson { name decisions }`` end to end through the HTTP app on both backends:
the young person's authority decisions as the decision audit keeps them (newest first,
with their checks and appeal course; absent before they were made, with ``asOf``), and
their name (null once erased; each read in the access log)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from domain.actors import Actor, Role
from tests.e2e import payloads
from tests.e2e.conftest import Api, yp

DECISION_FIELDS = """
decisionId youngPersonId kind decisionType readinessLevel occurredAt recordedAt decidedBy
fullyInFavour complete personalDataErased
checks { name passed explanation ruleVersion }
appealCourse { status appealedAt outcome appealDecidedAt revokedAt supersededBy }
"""
PERSON = f"""
query Person($id: ID!, $asOf: DateTime) {{
  youngPerson(id: $id, asOf: $asOf) {{ id name decisions {{ {DECISION_FIELDS} }} }}
}}
"""
AUDIT = f"""
query Audit($from: DateTime) {{
  decisionAudit(from: $from, first: 100) {{ entries {{ {DECISION_FIELDS} }} }}
}}
"""
AUDITOR = Actor(id="auditor-e2e", role=Role.AUDITOR)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def person(api: Api, young_person_id: UUID, as_of: datetime | None = None) -> Any:
    variables: dict[str, Any] = {"id": str(young_person_id)}
    if as_of is not None:
        variables["asOf"] = as_of.isoformat()
    body = api.graphql(PERSON, **variables)
    assert "errors" not in body, body["errors"]
    return body["data"]["youngPerson"]


def decide(api: Api, young_person_id: UUID, decided_by: UUID, kind: str, **fields: Any) -> UUID:
    answer = api.command(
        f"{yp(young_person_id)}/decisions", payloads.decision(decided_by, kind, **fields)
    )
    return UUID(answer["ids"]["decision_id"])


def appeal(api: Api, young_person_id: UUID, decision_id: UUID) -> None:
    api.command(f"{yp(young_person_id)}/decisions/{decision_id}/appeal", payloads.appeal())


def ids(answer: Any) -> list[str]:
    return [decision["decisionId"] for decision in answer["decisions"]]


def reads_since(api: Api, young_person_id: UUID, start: datetime) -> list[tuple[str, str]]:
    """(who, what) of the access log's entries about the young person since ``start``."""
    entries = api.services.access_log.entries(
        young_person_id=young_person_id, start=start, end=None, limit=100, after=None
    )
    return [(entry.actor_id, entry.what) for entry in entries]


# --- decisions --------------------------------------------------------------------------------


def test_decisions_are_newest_first_with_their_checks_and_appeal_course(api: Api) -> None:
    counsellor = api.counsellor()
    young_person_id = api.enrolled(counsellor)
    start = api.clock()
    api.clock.advance(days=1)
    readiness = decide(api, young_person_id, counsellor, "readiness_assessment")
    assessed_at = api.clock()
    api.clock.advance(days=1)
    injunction = decide(
        api, young_person_id, counsellor, "education_injunction", drawn_up_with_young_person=False
    )
    api.clock.advance(days=1)
    # Recorded last, decided first: the order is by when it was decided.
    earlier = decide(
        api,
        young_person_id,
        counsellor,
        "other",
        occurred_at=(assessed_at - HOUR).isoformat(),
    )
    appeal(api, young_person_id, readiness)
    api.services.projections.catch_up()

    answer = person(api, young_person_id)

    assert ids(answer) == [str(injunction), str(readiness), str(earlier)]
    by_id = {decision["decisionId"]: decision for decision in answer["decisions"]}
    assessed = by_id[str(readiness)]
    assert (assessed["kind"], assessed["decisionType"], assessed["readinessLevel"]) == (
        "READINESS_ASSESSMENT",
        "ReadinessAssessed",
        "EDUCATION_READY",
    )
    assert assessed["complete"] is True
    assert [(c["name"], c["passed"]) for c in assessed["checks"]] == [
        ("reasons_with_legal_basis", True),
        ("hearing", True),
        ("appeal_guidance", True),
    ]
    assert (assessed["appealCourse"]["status"], assessed["appealCourse"]["appealedAt"]) == (
        "APPEALED",
        api.clock().isoformat(),
    )
    injunction_entry = by_id[str(injunction)]
    assert injunction_entry["complete"] is False
    assert [c["name"] for c in injunction_entry["checks"] if c["passed"] is False] == [
        "drawn_up_with_young_person"
    ]
    assert injunction_entry["appealCourse"]["status"] == "IN_FORCE"
    assert by_id[str(earlier)]["kind"] == "OTHER"
    assert by_id[str(earlier)]["occurredAt"] == (assessed_at - HOUR).isoformat()
    # The very entries the auditor's decision audit shows.
    audit = api.graphql(AUDIT, api.token_for(AUDITOR), **{"from": start.isoformat()})
    audited = {
        entry["decisionId"]: entry
        for entry in audit["data"]["decisionAudit"]["entries"]
        if entry["youngPersonId"] == str(young_person_id)
    }
    assert audited == by_id


def test_a_young_person_without_decisions_has_none_and_another_persons_are_not_theirs(
    api: Api,
) -> None:
    counsellor = api.counsellor()
    deciding = api.enrolled(counsellor)
    quiet = api.enrolled(counsellor)
    decision = decide(api, deciding, counsellor, "sanction")
    api.services.projections.catch_up()
    query = """
    query Two($a: ID!, $b: ID!) {
      a: youngPerson(id: $a) { decisions { decisionId kind } }
      b: youngPerson(id: $b) { decisions { decisionId } }
    }
    """

    body = api.graphql(query, a=str(deciding), b=str(quiet))

    assert "errors" not in body, body["errors"]
    assert body["data"] == {
        "a": {"decisions": [{"decisionId": str(decision), "kind": "SANCTION"}]},
        "b": {"decisions": []},
    }


def test_as_of_a_date_later_decisions_are_absent_and_the_course_is_as_it_stood(
    api: Api,
) -> None:
    counsellor = api.counsellor()
    young_person_id = api.enrolled(counsellor)
    enrolled_at = api.clock()
    api.clock.advance(days=1)
    first = decide(api, young_person_id, counsellor, "readiness_assessment")
    api.clock.advance(days=1)
    appeal(api, young_person_id, first)
    appealed_at = api.clock()
    api.clock.advance(days=1)
    second = decide(api, young_person_id, counsellor, "education_injunction")
    api.services.projections.catch_up()

    before_any = person(api, young_person_id, enrolled_at + HOUR)
    before_appeal = person(api, young_person_id, appealed_at - HOUR)
    before_second = person(api, young_person_id, appealed_at + HOUR)
    now = person(api, young_person_id)

    assert before_any["decisions"] == []
    assert ids(before_appeal) == [str(first)]
    course = before_appeal["decisions"][0]["appealCourse"]
    assert (course["status"], course["appealedAt"]) == ("IN_FORCE", None)
    assert ids(before_second) == [str(first)]
    assert before_second["decisions"][0]["appealCourse"]["status"] == "APPEALED"
    assert ids(now) == [str(second), str(first)]
    # Replayed to now, the audit answers exactly as the live one.
    assert person(api, young_person_id, api.clock()) == now
    # The name as it stood then: given at the referral.
    assert before_any["name"] == payloads.referral()["name"]


def test_another_teams_counsellor_is_refused_the_decisions(api: Api) -> None:
    counsellor = api.counsellor()
    young_person_id = api.enrolled(counsellor)
    decide(api, young_person_id, counsellor, "readiness_assessment")
    api.services.projections.catch_up()
    other_team = api.token_for(Actor(id="counsellor-elsewhere", role=Role.COUNSELLOR), team="x")
    start = api.clock()

    for variables in ({}, {"asOf": api.clock().isoformat()}):
        refused = api.graphql(PERSON, other_team, id=str(young_person_id), **variables)

        assert refused["data"] == {"youngPerson": None}
        assert [error["extensions"]["code"] for error in refused["errors"]] == ["forbidden"]
    assert reads_since(api, young_person_id, start) == []


# --- the name ---------------------------------------------------------------------------------


def test_the_name_is_read_logged_and_gone_after_erasure_with_the_decision_facts_kept(
    api: Api,
) -> None:
    counsellor = api.counsellor()
    young_person_id = api.enrolled(counsellor, name="Test Navnesen")
    decision = decide(api, young_person_id, counsellor, "readiness_assessment")
    api.services.projections.catch_up()
    start = api.clock()

    answer = person(api, young_person_id)

    assert answer["name"] == "Test Navnesen"
    assert sorted(reads_since(api, young_person_id, start)) == [
        (api.actor.id, "decisions"),
        (api.actor.id, "name"),
    ]
    # Only what was asked for is logged.
    api.clock.advance(minutes=1)
    only_id = api.clock()
    body = api.graphql("query($id: ID!) { youngPerson(id: $id) { id } }", id=str(young_person_id))
    assert "errors" not in body
    assert reads_since(api, young_person_id, only_id) == []

    before_erasure = api.clock()
    api.clock.advance(hours=1)
    api.command(f"{yp(young_person_id)}/erasure", payloads.erasure(), token=api.lead_token)
    api.services.projections.catch_up()
    after = api.clock()

    erased = person(api, young_person_id)
    erased_then = person(api, young_person_id, before_erasure)

    assert erased["name"] is None
    assert erased_then["name"] is None
    # The decision stays, for the audit's statistics, without what its texts said.
    for answered in (erased, erased_then):
        [kept] = answered["decisions"]
        assert (kept["decisionId"], kept["personalDataErased"], kept["complete"]) == (
            str(decision),
            True,
            None,
        )
    assert "name" not in {what for _, what in reads_since(api, young_person_id, after)}
