"""``youngPerson(id, asOf)`` end to end: the case as it stood at a date, by when things
happened (``occurred_at``), through the HTTP app on both backends."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from api.graphql.young_person.as_of import MAX_REPLAYS_PER_REQUEST
from domain.actors import Actor, Role
from tests.e2e import payloads
from tests.e2e.conftest import Api, yp

PERSON = """
query Person($id: ID!, $asOf: DateTime) {
  youngPerson(id: $id, asOf: $asOf) {
    id
    name
    timeline { position occurredAt recordedAt eventType actorId actorRole summary details }
    riskFlags {
      rule ruleVersion severity subject since openUntil
      raisedBy { position version eventType } details
    }
    plan {
      goal draftedTogether firstDraftedAt draftedAt timesDrafted lastReviewedAt nextReview
      timesReviewed
      milestones { id title due originallyDue status setAt resolvedAt timesRescheduled }
    }
    transitions {
      id kind phase fromSituation programme toInstitutionId expectedStart startedAt
      educationStartedAt educationInstitutionId endedAt daysSinceStart
      steps { step occurredAt note }
    }
    decisions {
      decisionId kind readinessLevel occurredAt complete
      checks { name passed } appealCourse { status appealedAt }
    }
  }
}
"""


def at(day: int, hour: int = 9) -> datetime:
    """A moment in May 2024 (UTC): the dates this module's histories happen on."""
    return datetime(2024, 5, day, hour, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat()


def person(api: Api, young_person_id: UUID, as_of: datetime | None = None) -> Any:
    """The young person's answer (``None``: null), with or without ``asOf``."""
    variables: dict[str, Any] = {"id": str(young_person_id)}
    if as_of is not None:
        variables["asOf"] = iso(as_of)
    body = api.graphql(PERSON, **variables)
    assert "errors" not in body, body["errors"]
    return body["data"]["youngPerson"]


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


def event_types(answer: Any) -> list[str]:
    return [entry["eventType"] for entry in answer["timeline"]]


def rules(answer: Any) -> set[str]:
    return {flag["rule"] for flag in answer["riskFlags"]}


@dataclass
class History:
    """A young person's history over May 2024, recorded through the REST API."""

    young_person_id: UUID
    transition_id: UUID
    milestone_id: UUID
    concern_position: int
    late_contact_position: int


def record_history(api: Api) -> History:
    """Referred on 6 May, enrolled the same day, met on 8 May, a plan with a milestone on
    13 May, a transition begun on 20 May, a readiness assessment on 22 May, a concern on
    23 May followed up on 25 May, the milestone reached on 27 May; and on 3 June a phone
    call of 21 May is recorded late."""
    clock = api.clock
    clock.set(at(6))
    counsellor_id = api.counsellor()
    institution_id = api.institution()
    young_person_id = api.referred()
    clock.set(at(6, 10))
    api.command(f"{yp(young_person_id)}/referral-review", payloads.review())
    api.command(f"{yp(young_person_id)}/enrolment", payloads.enrolment(counsellor_id))
    clock.set(at(8))
    api.command(f"{yp(young_person_id)}/contacts", payloads.contact())
    clock.set(at(13))
    api.command(f"{yp(young_person_id)}/plan", payloads.plan())
    milestone = api.command(
        f"{yp(young_person_id)}/milestones", payloads.milestone(due="2024-06-03")
    )
    clock.set(at(20))
    transition = api.command(f"{yp(young_person_id)}/transitions", payloads.transition())
    transition_id = UUID(transition["ids"]["transition_id"])
    api.command(
        f"{yp(young_person_id)}/transitions/{transition_id}/steps", payloads.step(step="applied")
    )
    clock.set(at(22))
    api.command(f"{yp(young_person_id)}/decisions", payloads.decision(counsellor_id))
    clock.set(at(23))
    concern = api.command(f"{yp(young_person_id)}/concerns", payloads.concern(institution_id))
    clock.set(at(25))
    api.command(f"{yp(young_person_id)}/contacts", payloads.contact())
    clock.set(at(27))
    milestone_id = UUID(milestone["ids"]["milestone_id"])
    api.command(f"{yp(young_person_id)}/milestones/{milestone_id}/reached", {})
    clock.set(datetime(2024, 6, 3, 9, tzinfo=UTC))
    late = api.command(
        f"{yp(young_person_id)}/contacts",
        payloads.contact(channel="phone", place="home", occurred_at=iso(at(21))),
    )
    # The access check reads the live caseload view.
    api.services.projections.catch_up()
    return History(
        young_person_id=young_person_id,
        transition_id=transition_id,
        milestone_id=milestone_id,
        concern_position=concern["position"],
        late_contact_position=late["position"],
    )


@pytest.fixture(scope="module")
def history(api: Api) -> History:
    return record_history(api)


# --- what had happened by a date ------------------------------------------------------------


def test_before_the_referral_the_young_person_is_null(api: Api, history: History) -> None:
    assert person(api, history.young_person_id, at(6, 8)) is None


def test_just_after_the_referral_only_the_referral_is_there(api: Api, history: History) -> None:
    answer = person(api, history.young_person_id, at(6, 9))

    assert answer["id"] == str(history.young_person_id)
    assert answer["name"] == payloads.referral()["name"]
    assert event_types(answer) == ["Referred"]
    assert (answer["riskFlags"], answer["plan"], answer["transitions"]) == ([], None, [])


def test_a_week_in_the_plan_and_its_milestone_are_there_and_open(
    api: Api, history: History
) -> None:
    answer = person(api, history.young_person_id, at(15))

    assert event_types(answer) == [
        "Referred",
        "ReferralReviewed",
        "Enrolled",
        "ContactRecorded",
        "PlanDrafted",
        "MilestoneSet",
    ]
    plan = answer["plan"]
    assert (plan["goal"], plan["draftedAt"]) == (
        payloads.plan()["goal"],
        "2024-05-13T09:00:00+00:00",
    )
    [milestone] = plan["milestones"]
    assert (milestone["id"], milestone["status"], milestone["resolvedAt"]) == (
        history.milestone_id.hex,
        "OPEN",
        None,
    )
    assert answer["transitions"] == []
    assert answer["riskFlags"] == []


def test_a_fact_recorded_late_counts_from_when_it_happened(api: Api, history: History) -> None:
    # The phone call of 21 May was recorded on 3 June: as of 21 May noon it is there, in
    # its place by occurred_at, at the position it was recorded with.
    answer = person(api, history.young_person_id, at(21, 12))

    timeline = answer["timeline"]
    assert event_types(answer)[-3:] == [
        "TransitionStarted",
        "TransitionStepRecorded",
        "ContactRecorded",
    ]
    late = timeline[-1]
    assert (late["position"], late["occurredAt"], late["recordedAt"]) == (
        history.late_contact_position,
        "2024-05-21T09:00:00+00:00",
        "2024-06-03T09:00:00+00:00",
    )
    # Just before it happened, it is not.
    before = person(api, history.young_person_id, at(21, 8))
    assert history.late_contact_position not in [e["position"] for e in before["timeline"]]


def test_a_transition_shows_its_phase_steps_and_days_as_of_the_date(
    api: Api, history: History
) -> None:
    answer = person(api, history.young_person_id, at(22, 8))

    [transition] = answer["transitions"]
    assert transition["id"] == history.transition_id.hex
    assert (transition["phase"], transition["startedAt"], transition["daysSinceStart"]) == (
        "PREPARING",
        "2024-05-20T09:00:00+00:00",
        2,
    )
    assert [step["step"] for step in transition["steps"]] == ["APPLIED"]
    # The decision of 22 May at 09:00 had not been made yet; an hour later it had.
    assert "ReadinessAssessed" not in event_types(answer)
    assert answer["decisions"] == []
    decided = person(api, history.young_person_id, at(22, 10))
    assert event_types(decided)[-1] == "ReadinessAssessed"
    [decision] = decided["decisions"]
    assert (decision["kind"], decision["occurredAt"], decision["complete"]) == (
        "READINESS_ASSESSMENT",
        "2024-05-22T09:00:00+00:00",
        True,
    )


def test_a_flag_that_was_open_then_is_shown_though_it_has_cleared_since(
    api: Api, history: History
) -> None:
    before = person(api, history.young_person_id, at(23, 8))
    during = person(api, history.young_person_id, at(24))
    after = person(api, history.young_person_id, at(26))

    assert "institution_signal" not in rules(before)
    [flag] = [f for f in during["riskFlags"] if f["rule"] == "institution_signal"]
    assert flag["since"] == "2024-05-23T09:00:00+00:00"
    assert [ref["position"] for ref in flag["raisedBy"]] == [history.concern_position]
    # Followed up by the reached contact of 25 May.
    assert "institution_signal" not in rules(after)
    assert "institution_signal" not in rules(person(api, history.young_person_id))


def test_a_milestone_reached_later_is_open_before_and_reached_after(
    api: Api, history: History
) -> None:
    before = person(api, history.young_person_id, at(26))["plan"]["milestones"]
    after = person(api, history.young_person_id, at(28))["plan"]["milestones"]

    assert [m["status"] for m in before] == ["OPEN"]
    assert [(m["status"], m["resolvedAt"]) for m in after] == [
        ("REACHED", "2024-05-27T09:00:00+00:00")
    ]


def test_as_of_now_answers_exactly_as_the_live_read_models(api: Api, history: History) -> None:
    live = person(api, history.young_person_id)
    now = api.clock()

    assert person(api, history.young_person_id, now) == live
    # The future is not known yet: a later date answers as of now.
    assert person(api, history.young_person_id, now + timedelta(days=30)) == live


# --- personal data and access ------------------------------------------------------------------


def test_an_erased_persons_past_carries_no_personal_text(api: Api) -> None:
    young_person_id = api.enrolled()
    api.command(f"{yp(young_person_id)}/contacts", payloads.contact(note="test note: anxious"))
    api.command(f"{yp(young_person_id)}/plan", payloads.plan())
    api.command(f"{yp(young_person_id)}/transitions", payloads.transition())
    before_erasure = api.clock()
    api.clock.advance(hours=1)
    api.command(f"{yp(young_person_id)}/erasure", payloads.erasure(), token=api.lead_token)
    api.services.projections.catch_up()

    answer = person(api, young_person_id, before_erasure)

    # The facts stay (for statistics); no personal text is left.
    assert "PersonalDataErased" not in event_types(answer)
    assert "ContactRecorded" in event_types(answer)
    assert answer["plan"]["goal"] is None
    assert answer["name"] is None
    assert [t["programme"] for t in answer["transitions"]] == [None]
    text = json.dumps(answer)
    for personal in (
        payloads.referral()["name"],
        payloads.referral()["reason"],
        "test note",
        payloads.plan()["goal"],
        payloads.transition()["programme"],
        payloads.transition()["from_situation"],
    ):
        assert personal not in text


def test_another_teams_counsellor_is_refused_as_for_an_unknown_id(
    api: Api, history: History
) -> None:
    other_team = api.token_for(Actor(id="counsellor-elsewhere", role=Role.COUNSELLOR), team="x")
    variables = {"asOf": iso(at(24))}

    refused = api.graphql(PERSON, other_team, id=str(history.young_person_id), **variables)
    unknown = api.graphql(PERSON, id=str(uuid4()), **variables)

    assert refused["data"] == unknown["data"] == {"youngPerson": None}
    assert codes(refused) == codes(unknown) == ["forbidden"]
    assert refused["errors"][0]["message"] == unknown["errors"][0]["message"]


def test_a_read_as_of_a_date_is_in_the_access_log(api: Api, history: History) -> None:
    start = api.clock()
    person(api, history.young_person_id, at(24))

    entries = api.services.access_log.entries(
        young_person_id=history.young_person_id, start=start, end=None, limit=100, after=None
    )
    assert {entry.what for entry in entries} >= {"timeline", "plan", "transitions"}
    assert {entry.actor_id for entry in entries} == {api.actor.id}


# --- arguments ---------------------------------------------------------------------------------


def test_a_date_without_a_time_zone_is_refused(api: Api, history: History) -> None:
    body = api.graphql(PERSON, id=str(history.young_person_id), asOf="2024-05-24T09:00:00")

    assert codes(body) == ["invalid_argument"]
    assert body["data"] == {"youngPerson": None}


def test_one_request_may_ask_for_a_bounded_number_of_dates(api: Api, history: History) -> None:
    def query(dates: int) -> str:
        fields = " ".join(
            f'd{day}: youngPerson(id: "{history.young_person_id}", asOf: "{iso(at(day))}") {{ id }}'
            for day in range(7, 7 + dates)
        )
        return f"{{ {fields} }}"

    allowed = api.graphql(query(MAX_REPLAYS_PER_REQUEST))
    too_many = api.graphql(query(MAX_REPLAYS_PER_REQUEST + 1))

    assert "errors" not in allowed
    assert codes(too_many) == ["invalid_argument"]
    # The same date asked twice is replayed once.
    same = f'youngPerson(id: "{history.young_person_id}", asOf: "{iso(at(9))}") {{ id }}'
    repeated = " ".join(f"a{n}: {same}" for n in range(MAX_REPLAYS_PER_REQUEST + 1))
    assert "errors" not in api.graphql(f"{{ {repeated} }}")
