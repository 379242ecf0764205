"""The outcomes through the HTTP app: GraphQL ``outcomes(asOf)`` for evaluators, team leads
and auditors, on SQLite and PostgreSQL; facts that happened after ``asOf`` do not count."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from domain.actors import Actor, Role
from tests.e2e import payloads
from tests.e2e.conftest import NOW, Api, yp

EVALUATOR = Actor(id="evaluator-e2e", role=Role.EVALUATOR)
AUDITOR = Actor(id="auditor-e2e", role=Role.AUDITOR)
DAY = timedelta(days=1)

OUTCOMES = """
query Outcomes($asOf: DateTime) {
  outcomes(asOf: $asOf) {
    asOf
    counts {
      referred enrolled openCases startedEducation inEducation droppedOut erased
      closedByOutcome { value count }
    }
    cohorts { quarter referred enrolled startedEducation }
    retention { transitionKind spells dropouts censored points { months day atRisk survival } }
    timeToEducation { transitionKind days { count median lowerQuartile upperQuartile } }
    contacts { personWeeks byChannel { value contacts reached perPersonWeek reachedShare } }
    dropouts { byKind { transitionKind dropouts reported } }
    decisions { decisionType decisions notFullyInFavour appealed appealsPending revoked
                appealOutcomes { value count } }
  }
}
"""


def ago(days: int) -> str:
    return (NOW - days * DAY).isoformat()


@dataclass(frozen=True)
class History:
    dropped_out: UUID
    in_education: UUID


@pytest.fixture(scope="module")
def history(api: Api) -> History:
    """Two young people referred and enrolled 100 days ago; both started an education,
    one dropped out 60 days ago; the other was in contact, decided about 50 days ago and
    appealed 40."""
    counsellor, college = api.counsellor(), api.institution()
    people = []
    for _ in range(2):
        person = UUID(
            api.command("/api/v1/referrals", payloads.referral(occurred_at=ago(100)))["ids"][
                "young_person_id"
            ]
        )
        api.command(f"{yp(person)}/referral-review", payloads.review(occurred_at=ago(100)))
        api.command(f"{yp(person)}/enrolment", payloads.enrolment(counsellor, occurred_at=ago(100)))
        people.append(person)
    dropped_out, in_education = people
    for person, started in ((dropped_out, 80), (in_education, 70)):
        body = payloads.transition(kind="basic_to_main_course", occurred_at=ago(90))
        transition = api.command(f"{yp(person)}/transitions", body)["ids"]["transition_id"]
        api.command(
            f"{yp(person)}/transitions/{transition}/education-start",
            payloads.education_start(institution_id=str(college), occurred_at=ago(started)),
        )
    api.command(f"{yp(dropped_out)}/dropouts", payloads.dropout(college, occurred_at=ago(60)))
    # Two in the week from Monday 70 days ago (25 December), one in the week of 8 January.
    for days in (69, 68, 55):
        api.command(
            f"{yp(in_education)}/contacts",
            payloads.contact(channel="sms", place=None, occurred_at=ago(days)),
        )
    decision = api.command(
        f"{yp(in_education)}/decisions",
        payloads.decision(counsellor, "sanction", occurred_at=ago(50)),
    )["ids"]["decision_id"]
    api.command(
        f"{yp(in_education)}/decisions/{decision}/appeal", payloads.appeal(occurred_at=ago(40))
    )
    return History(dropped_out=dropped_out, in_education=in_education)


def ask(api: Api, token: str, as_of: str | None = None) -> dict[str, Any]:
    # The app serves what the read models hold: bring them up to date first.
    api.services.projections.catch_up()
    response = api.client.post(
        "/graphql",
        json={"query": OUTCOMES, "variables": {"asOf": as_of}},
        headers=api.headers(token),
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def outcomes(api: Api, as_of: str | None = None, actor: Actor = EVALUATOR) -> dict[str, Any]:
    body = ask(api, api.token_for(actor), as_of)
    assert "errors" not in body, body
    answer: dict[str, Any] = body["data"]["outcomes"]
    return answer


def by(rows: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    return {row[key]: row for row in rows}


def test_an_evaluator_reads_the_outcomes_as_of_now(api: Api, history: History) -> None:
    answer = outcomes(api)

    assert datetime.fromisoformat(answer["asOf"]) == NOW
    counts = answer["counts"]
    assert {k: v for k, v in counts.items() if k != "closedByOutcome"} == {
        "referred": 2,
        "enrolled": 2,
        "openCases": 2,
        "startedEducation": 2,
        "inEducation": 1,
        "droppedOut": 1,
        "erased": 0,
    }
    assert answer["cohorts"] == [
        {"quarter": "2023-Q4", "referred": 2, "enrolled": 2, "startedEducation": 2}
    ]
    curve = by(answer["retention"], "transitionKind")["basic_to_main_course"]
    # One dropout 20 days in, the other followed for 70 days: nobody yet for 3 months.
    assert (curve["spells"], curve["dropouts"], curve["censored"]) == (2, 1, 1)
    assert curve["points"][0] == {"months": 3, "day": 91, "atRisk": 0, "survival": None}
    days = by(answer["timeToEducation"], "transitionKind")["all"]["days"]
    assert days == {"count": 2, "median": 25.0, "lowerQuartile": 22.5, "upperQuartile": 27.5}
    dropouts = by(answer["dropouts"]["byKind"], "transitionKind")["basic_to_main_course"]
    assert dropouts == {"transitionKind": "basic_to_main_course", "dropouts": 1, "reported": 1}
    sanctions = by(answer["decisions"], "decisionType")["sanction"]
    assert (sanctions["decisions"], sanctions["appealed"], sanctions["appealsPending"]) == (1, 1, 1)
    sms = by(answer["contacts"]["byChannel"], "value")["sms"]
    assert (sms["contacts"], sms["reached"], sms["reachedShare"]) == (3, 3, 1.0)


def test_facts_after_as_of_are_left_out(api: Api, history: History) -> None:
    before_dropout = outcomes(api, ago(61))
    before_education = outcomes(api, ago(85))
    before_referral = outcomes(api, ago(101))

    counts = before_dropout["counts"]
    assert (counts["startedEducation"], counts["inEducation"], counts["droppedOut"]) == (2, 2, 0)
    assert by(before_dropout["decisions"], "decisionType")["all"]["decisions"] == 0
    # The contact 55 days ago is not there yet.
    sms = by(before_dropout["contacts"]["byChannel"], "value")["sms"]
    assert sms["contacts"] == 2
    assert before_education["counts"]["startedEducation"] == 0
    assert before_education["counts"]["enrolled"] == 2
    assert before_referral["counts"]["referred"] == 0
    assert before_referral["cohorts"] == []


def test_team_leads_and_auditors_may_ask_and_no_young_person_id_is_in_the_answer(
    api: Api, history: History
) -> None:
    for token in (api.lead_token, api.token_for(AUDITOR)):
        body = ask(api, token)
        assert "errors" not in body, body
        text = str(body)
        for person in (history.dropped_out, history.in_education):
            assert str(person) not in text and person.hex not in text


@pytest.mark.parametrize(
    "actor",
    [
        Actor(id="counsellor-e2e", role=Role.COUNSELLOR),
        Actor(id="partner-e2e", role=Role.PARTNER),
        Actor(id="admin-e2e", role=Role.ADMIN),
    ],
)
def test_other_roles_are_forbidden(api: Api, actor: Actor) -> None:
    claims = {"institution": "some-institution"} if actor.role is Role.PARTNER else {}
    body = ask(api, api.token_for(actor, **claims))

    assert body["data"] is None
    assert [error["extensions"]["code"] for error in body["errors"]] == ["forbidden"]


def test_without_a_token_it_is_unauthenticated(api: Api) -> None:
    response = api.client.post("/graphql", json={"query": OUTCOMES})

    assert response.status_code == 200
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["unauthenticated"]


def test_as_of_without_a_time_zone_is_refused(api: Api) -> None:
    body = ask(api, api.token_for(EVALUATOR), "2024-01-01T00:00:00")

    assert [error["extensions"]["code"] for error in body["errors"]] == ["invalid_argument"]
