"""Refused commands: the exact status and code, and nothing written to the log."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from tests.e2e import payloads
from tests.e2e.conftest import NOW, Api, yp
from tests.e2e.payloads import ROUTES, YOUNG_PERSON_ROUTES, Json, Refs, Route

SENTINEL = "Sentinel Person 4711"  # stands for personal data that must not be echoed


def assert_refused(
    api: Api, path: str, body: Any, status: int, code: str, token: str | None = None
) -> dict[str, Any]:
    """Post ``body``, expect ``status`` with ``code``, and check that nothing was written."""
    before = api.position()

    response = api.post(path, body, token=token)

    answer: dict[str, Any] = response.json()
    assert (response.status_code, answer["code"]) == (status, code), answer
    assert api.position() == before
    return answer


# --- unknown young person, on every route about one ----------------------------------------------


@pytest.mark.parametrize("route", YOUNG_PERSON_ROUTES, ids=lambda route: route.name)
def test_unknown_young_person_is_refused_like_another_teams(api: Api, route: Route) -> None:
    # Access is decided first, and an unknown id is out of reach: whether someone exists
    # is not told (test_access_matrix compares the answers for another team's person).
    refs = Refs(
        young_person_id=uuid4(),
        counsellor_id=api.counsellor(),
        institution_id=api.institution(),
        milestone_id=uuid4(),
        transition_id=uuid4(),
        decision_id=uuid4(),
    )

    answer = assert_refused(api, route.url(refs), route.body(refs), 403, "forbidden")

    assert str(refs.young_person_id) not in answer["message"]


# --- rules of the domain -----------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    prepare: Callable[[Api], tuple[str, Json]]
    status: int
    code: str


def _contact_after_closing(api: Api) -> tuple[str, Json]:
    return f"{yp(api.closed())}/contacts", payloads.contact()


def _referral_without_case_work_consent(api: Api) -> tuple[str, Json]:
    return "/api/v1/referrals", payloads.referral(consent_scopes=["sms_contact"])


def _decision_without_appeal_guidance(api: Api) -> tuple[str, Json]:
    body = payloads.decision(api.counsellor(), "sanction", appeal_guidance=None)
    return f"{yp(api.enrolled())}/decisions", body


def _enrolment_beyond_caseload(api: Api) -> tuple[str, Json]:
    counsellor_id = api.counsellor(caseload_limit=1)
    api.enrolled(counsellor_id)
    return f"{yp(api.accepted())}/enrolment", payloads.enrolment(counsellor_id)


def _blank_override_reason(api: Api) -> tuple[str, Json]:
    counsellor_id = api.counsellor(caseload_limit=1)
    api.enrolled(counsellor_id)
    body = payloads.enrolment(counsellor_id, over_limit_reason="   ")
    return f"{yp(api.accepted())}/enrolment", body


def _occurred_a_day_in_the_future(api: Api) -> tuple[str, Json]:
    body = payloads.contact(occurred_at=(NOW + timedelta(days=1)).isoformat())
    return f"{yp(api.referred())}/contacts", body


def _enrolment_before_acceptance(api: Api) -> tuple[str, Json]:
    return f"{yp(api.referred())}/enrolment", payloads.enrolment(api.counsellor())


def _second_review(api: Api) -> tuple[str, Json]:
    return f"{yp(api.accepted())}/referral-review", payloads.review(outcome="declined")


def _plan_before_enrolment(api: Api) -> tuple[str, Json]:
    return f"{yp(api.accepted())}/plan", payloads.plan()


def _milestone_without_plan(api: Api) -> tuple[str, Json]:
    return f"{yp(api.enrolled())}/milestones", payloads.milestone()


def _milestone_reached_twice(api: Api) -> tuple[str, Json]:
    young_person_id = api.with_plan()
    path = f"{yp(young_person_id)}/milestones/{api.milestone(young_person_id)}/reached"
    api.command(path, payloads.milestone_note())
    return path, payloads.milestone_note()


def _unknown_milestone(api: Api) -> tuple[str, Json]:
    return f"{yp(api.with_plan())}/milestones/{uuid4()}/missed", payloads.milestone_note()


def _step_on_unknown_transition(api: Api) -> tuple[str, Json]:
    return f"{yp(api.enrolled())}/transitions/{uuid4()}/steps", payloads.step()


def _step_on_completed_transition(api: Api) -> tuple[str, Json]:
    young_person_id = api.enrolled()
    transition_id = api.transition(young_person_id)
    base = f"{yp(young_person_id)}/transitions/{transition_id}"
    api.command(f"{base}/completion", payloads.completion())
    return f"{base}/steps", payloads.step()


def _education_started_twice(api: Api) -> tuple[str, Json]:
    young_person_id = api.enrolled()
    path = f"{yp(young_person_id)}/transitions/{api.transition(young_person_id)}/education-start"
    api.command(path, payloads.education_start())
    return path, payloads.education_start()


def _absence_ending_before_it_begins(api: Api) -> tuple[str, Json]:
    body = payloads.absence(api.institution(), absent_from="2024-03-01", absent_to="2024-02-01")
    return f"{yp(api.referred())}/absences", body


def _absence_from_unknown_institution(api: Api) -> tuple[str, Json]:
    return f"{yp(api.referred())}/absences", payloads.absence(uuid4())


def _enrolment_with_unknown_counsellor(api: Api) -> tuple[str, Json]:
    return f"{yp(api.accepted())}/enrolment", payloads.enrolment(uuid4())


def _caseload_limit_of_unknown_counsellor(api: Api) -> tuple[str, Json]:
    return f"/api/v1/counsellors/{uuid4()}/caseload-limit", payloads.caseload_limit()


def _contact_person_for_unknown_institution(api: Api) -> tuple[str, Json]:
    path = f"/api/v1/institutions/{uuid4()}/contact-person"
    return path, payloads.contact_person(api.counsellor())


def _assignment_to_the_same_counsellor(api: Api) -> tuple[str, Json]:
    counsellor_id = api.counsellor()
    body = payloads.assignment(counsellor_id)
    return f"{yp(api.enrolled(counsellor_id))}/counsellor-assignment", body


def _withdrawing_consent_never_given(api: Api) -> tuple[str, Json]:
    body = payloads.consent(scope="phone_contact")
    return f"{yp(api.referred())}/consent-withdrawals", body


def _wake_up_ended_without_agreement(api: Api) -> tuple[str, Json]:
    return f"{yp(api.referred())}/wake-up-agreement/end", payloads.wake_up_end()


def _reopening_an_open_case(api: Api) -> tuple[str, Json]:
    return f"{yp(api.enrolled())}/reopening", payloads.reopening()


def _appeal_twice(api: Api) -> tuple[str, Json]:
    young_person_id = api.enrolled()
    decision_id = api.decision(young_person_id, api.counsellor())
    path = f"{yp(young_person_id)}/decisions/{decision_id}/appeal"
    api.command(path, payloads.appeal())
    return path, payloads.appeal()


def _appeal_decided_without_appeal(api: Api) -> tuple[str, Json]:
    young_person_id = api.enrolled()
    decision_id = api.decision(young_person_id, api.counsellor())
    path = f"{yp(young_person_id)}/decisions/{decision_id}/appeal-decision"
    return path, payloads.appeal_decision()


def _revising_a_sanction(api: Api) -> tuple[str, Json]:
    young_person_id, counsellor_id = api.enrolled(), api.counsellor()
    sanction = api.decision(young_person_id, counsellor_id, "sanction")
    body = payloads.decision(counsellor_id, "injunction_revision", revises=sanction)
    return f"{yp(young_person_id)}/decisions", body


def _decision_by_unknown_counsellor(api: Api) -> tuple[str, Json]:
    return f"{yp(api.enrolled())}/decisions", payloads.decision(uuid4())


def _decision_without_legal_basis(api: Api) -> tuple[str, Json]:
    body = payloads.decision(api.counsellor(), legal_basis="  ")
    return f"{yp(api.enrolled())}/decisions", body


def _unknown_decision_revoked(api: Api) -> tuple[str, Json]:
    return f"{yp(api.enrolled())}/decisions/{uuid4()}/revocation", payloads.revocation()


def _institution_with_blank_name(api: Api) -> tuple[str, Json]:
    return "/api/v1/institutions", payloads.institution(name=" ")


REFUSALS: dict[str, Refusal] = {
    "contact after closing": Refusal(_contact_after_closing, 409, "case_closed"),
    "referral without case work consent": Refusal(
        _referral_without_case_work_consent, 422, "consent_missing"
    ),
    "decision not in favour without appeal guidance": Refusal(
        _decision_without_appeal_guidance, 422, "appeal_guidance_missing"
    ),
    "enrolment beyond the caseload limit": Refusal(
        _enrolment_beyond_caseload, 409, "caseload_limit_exceeded"
    ),
    "blank override reason": Refusal(_blank_override_reason, 422, "override_reason_missing"),
    "occurred a day in the future": Refusal(
        _occurred_a_day_in_the_future, 422, "occurred_in_future"
    ),
    "enrolment before acceptance": Refusal(
        _enrolment_before_acceptance, 409, "referral_not_accepted"
    ),
    "second review": Refusal(_second_review, 409, "referral_already_reviewed"),
    "plan before enrolment": Refusal(_plan_before_enrolment, 409, "not_enrolled"),
    "milestone without plan": Refusal(_milestone_without_plan, 409, "plan_not_drafted"),
    "milestone reached twice": Refusal(_milestone_reached_twice, 409, "milestone_already_reached"),
    "unknown milestone": Refusal(_unknown_milestone, 404, "milestone_not_found"),
    "step on unknown transition": Refusal(_step_on_unknown_transition, 404, "transition_not_found"),
    "step on completed transition": Refusal(
        _step_on_completed_transition, 409, "transition_not_open"
    ),
    "education started twice": Refusal(_education_started_twice, 409, "education_already_started"),
    "absence ending before it begins": Refusal(
        _absence_ending_before_it_begins, 422, "invalid_value"
    ),
    "absence from unknown institution": Refusal(
        _absence_from_unknown_institution, 404, "institution_not_found"
    ),
    "enrolment with unknown counsellor": Refusal(
        _enrolment_with_unknown_counsellor, 404, "counsellor_not_found"
    ),
    "caseload limit of unknown counsellor": Refusal(
        _caseload_limit_of_unknown_counsellor, 404, "counsellor_not_found"
    ),
    "contact person for unknown institution": Refusal(
        _contact_person_for_unknown_institution, 404, "institution_not_found"
    ),
    "assignment to the same counsellor": Refusal(
        _assignment_to_the_same_counsellor, 409, "already_assigned"
    ),
    "withdrawing consent never given": Refusal(
        _withdrawing_consent_never_given, 409, "consent_not_given"
    ),
    "wake-up ended without agreement": Refusal(
        _wake_up_ended_without_agreement, 409, "wake_up_not_agreed"
    ),
    "reopening an open case": Refusal(_reopening_an_open_case, 409, "case_not_closed"),
    "appeal twice": Refusal(_appeal_twice, 409, "appeal_already_pending"),
    "appeal decided without appeal": Refusal(
        _appeal_decided_without_appeal, 409, "no_appeal_pending"
    ),
    "revising a sanction": Refusal(_revising_a_sanction, 409, "not_an_injunction"),
    "decision by unknown counsellor": Refusal(
        _decision_by_unknown_counsellor, 404, "counsellor_not_found"
    ),
    "decision without legal basis": Refusal(_decision_without_legal_basis, 422, "invalid_value"),
    "unknown decision revoked": Refusal(_unknown_decision_revoked, 404, "decision_not_found"),
    "institution with blank name": Refusal(_institution_with_blank_name, 422, "invalid_value"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_rule_breaking_command_is_refused_and_writes_nothing(api: Api, case: str) -> None:
    refusal = REFUSALS[case]
    path, body = refusal.prepare(api)

    answer = assert_refused(api, path, body, refusal.status, refusal.code, _token(api, path))

    assert set(answer) == {"code", "message"}
    assert answer["message"]


def test_enrolment_beyond_the_caseload_limit_with_a_reason_is_recorded(api: Api) -> None:
    counsellor_id = api.counsellor(caseload_limit=1)
    api.enrolled(counsellor_id)
    young_person_id = api.accepted()
    before = api.position()

    api.command(
        f"{yp(young_person_id)}/enrolment",
        payloads.enrolment(counsellor_id, over_limit_reason="test reason: sibling of a case"),
    )

    assert api.event_names_since(before) == ["Enrolled", "CaseTaken"]


def test_decision_fully_in_favour_needs_no_appeal_guidance(api: Api) -> None:
    body = payloads.decision(api.counsellor(), fully_in_favour=True, appeal_guidance=None)

    answer = api.command(f"{yp(api.enrolled())}/decisions", body)

    assert set(answer["ids"]) == {"young_person_id", "decision_id"}


# --- malformed requests (no storage involved: SQLite only) ----------------------------------------


@pytest.fixture(scope="module")
def refs(sqlite_api: Api) -> Refs:
    """Ids for the routes' paths: a pending referral (in every counsellor's reach, so the
    request gets as far as validation), the rest unknown."""
    return Refs(
        young_person_id=sqlite_api.referred(),
        counsellor_id=UUID(int=2),
        institution_id=UUID(int=3),
        milestone_id=UUID(int=4),
        transition_id=UUID(int=5),
        decision_id=UUID(int=6),
    )


def _token(api: Api, path: str) -> str | None:
    """A token that may use the route (the default counsellor's for most)."""
    if path.startswith(("/api/v1/counsellors", "/api/v1/institutions")):
        return api.admin_token
    if path.endswith("/erasure"):
        return api.lead_token
    return None


def _body_loc(route: Route, body: Json) -> list[str]:
    """Where pydantic places a body field: under the tag for the decisions' union."""
    return (
        ["body", body["kind"]] if "kind" in body and route.path.endswith("/decisions") else ["body"]
    )


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.name)
def test_malformed_body_is_refused_without_echoing_it(
    sqlite_api: Api, refs: Refs, route: Route
) -> None:
    body = {**route.body(refs), "occurred_at": SENTINEL, "unexpected": SENTINEL}
    loc = _body_loc(route, body)

    answer = assert_refused(
        sqlite_api, route.url(refs), body, 422, "invalid_request", _token(sqlite_api, route.path)
    )

    assert answer["errors"] == [
        {
            "loc": [*loc, "occurred_at"],
            "msg": "Input should be a valid datetime or date, invalid character in year",
            "type": "datetime_from_date_parsing",
        },
        {
            "loc": [*loc, "unexpected"],
            "msg": "Extra inputs are not permitted",
            "type": "extra_forbidden",
        },
    ]
    assert SENTINEL not in str(answer)


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.name)
def test_body_that_is_not_an_object_is_refused(sqlite_api: Api, refs: Refs, route: Route) -> None:
    answer = assert_refused(
        sqlite_api,
        route.url(refs),
        [SENTINEL],
        422,
        "invalid_request",
        _token(sqlite_api, route.path),
    )

    assert [error["loc"] for error in answer["errors"]] == [["body"]]
    assert SENTINEL not in str(answer)


@pytest.mark.parametrize(
    "raw",
    [b'{"name": "Sentinel Person 4711", ', b"", b"not json at all: Sentinel Person 4711"],
    ids=["truncated", "empty", "garbage"],
)
def test_malformed_json_is_refused_without_echoing_it(sqlite_api: Api, raw: bytes) -> None:
    before = sqlite_api.position()

    response = sqlite_api.client.post(
        "/api/v1/referrals",
        content=raw,
        headers={**sqlite_api.headers(), "Content-Type": "application/json"},
    )

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"
    assert SENTINEL not in response.text
    assert sqlite_api.position() == before


@pytest.mark.parametrize(
    ("field", "value", "error_type"),
    [
        ("reached", "yes", "bool_type"),
        ("reached", 1, "bool_type"),
        ("duration_minutes", "30", "int_type"),
        ("duration_minutes", -1, "greater_than_equal"),
        ("channel", "pigeon", "enum"),
        ("note", "x" * 10_001, "string_too_long"),
        ("occurred_at", "2024-03-04T08:00:00", "timezone_aware"),
    ],
)
def test_contact_fields_are_checked_strictly(
    sqlite_api: Api, refs: Refs, field: str, value: object, error_type: str
) -> None:
    path = f"{yp(refs.young_person_id)}/contacts"

    answer = assert_refused(
        sqlite_api, path, payloads.contact(**{field: value}), 422, "invalid_request"
    )

    assert [(error["loc"], error["type"]) for error in answer["errors"]] == [
        (["body", field], error_type)
    ]


@pytest.mark.parametrize(
    ("body", "loc", "error_type"),
    [
        (payloads.referral(name="x" * 201), ["body", "name"], "string_too_long"),
        (payloads.referral(name=""), ["body", "name"], "string_too_short"),
        (payloads.referral(reason="x" * 10_001), ["body", "reason"], "string_too_long"),
        (payloads.referral(phone="call me"), ["body", "phone"], "string_pattern_mismatch"),
        (payloads.referral(consent_scopes=["everything"]), ["body", "consent_scopes", 0], "enum"),
    ],
)
def test_referral_fields_are_limited(
    sqlite_api: Api, body: Json, loc: list[object], error_type: str
) -> None:
    answer = assert_refused(sqlite_api, "/api/v1/referrals", body, 422, "invalid_request")

    assert [(error["loc"], error["type"]) for error in answer["errors"]] == [(loc, error_type)]


def test_unknown_decision_kind_is_refused_without_echoing_it(sqlite_api: Api, refs: Refs) -> None:
    body = payloads.decision(uuid4(), kind="other") | {"kind": SENTINEL}
    path = f"{yp(refs.young_person_id)}/decisions"

    answer = assert_refused(sqlite_api, path, body, 422, "invalid_request")

    assert answer["errors"] == [
        {
            "loc": ["body"],
            "msg": "Input tag does not match any of the expected tags: 'readiness_assessment', "
            "'education_injunction', 'injunction_revision', 'sanction', 'other'",
            "type": "union_tag_invalid",
        }
    ]
    assert SENTINEL not in str(answer)


def test_malformed_id_in_the_path_is_refused_without_echoing_it(sqlite_api: Api) -> None:
    answer = assert_refused(
        sqlite_api,
        "/api/v1/young-people/Sentinel-4711/contacts",
        payloads.contact(),
        422,
        "invalid_request",
    )

    assert answer["errors"] == [
        {
            "loc": ["path", "young_person_id"],
            "msg": "Input should be a valid UUID",
            "type": "uuid_parsing",
        }
    ]
    assert "Sentinel" not in str(answer)
