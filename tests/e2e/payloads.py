"""The one place that builds valid REST request bodies (and every command route).

Each builder returns a valid JSON body; a test overrides only what it is about
(``contact(reached=False)``). Names and notes are obviously synthetic.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

Json = dict[str, Any]


def _with(fields: Json, overrides: Json) -> Json:
    return {**fields, **overrides}


# --- counsellors and institutions ------------------------------------------------------------


def counsellor(**overrides: Any) -> Json:
    return _with(
        {
            "name": "Test Counsellor",
            "team_id": "aalborg-mobil",
            "role": "counsellor",
            "caseload_limit": 18,
        },
        overrides,
    )


def caseload_limit(**overrides: Any) -> Json:
    return _with({"caseload_limit": 20}, overrides)


def institution(**overrides: Any) -> Json:
    return _with({"name": "Test College", "kind": "vocational_college"}, overrides)


def contact_person(counsellor_id: UUID, **overrides: Any) -> Json:
    return _with({"counsellor_id": str(counsellor_id)}, overrides)


# --- intake, consent and closing ---------------------------------------------------------------


def referral(**overrides: Any) -> Json:
    return _with(
        {
            "name": "Test Person",
            "date_of_birth": "2006-05-17",
            "phone": "+45 00 00 00 00",
            "referrer_name": "Test Referrer",
            "reason": "test reason: struggles to get out of the door",
            "consent_scopes": ["case_work", "sms_contact"],
        },
        overrides,
    )


def review(**overrides: Any) -> Json:
    return _with(
        {"outcome": "accepted", "review_date": "2024-03-01", "note": "test note"}, overrides
    )


def enrolment(counsellor_id: UUID, **overrides: Any) -> Json:
    return _with({"counsellor_id": str(counsellor_id)}, overrides)


def assignment(counsellor_id: UUID, **overrides: Any) -> Json:
    return _with(
        {"counsellor_id": str(counsellor_id), "reason": "test reason: hand-over"}, overrides
    )


def consent(**overrides: Any) -> Json:
    return _with({"scope": "phone_contact"}, overrides)


def closing(**overrides: Any) -> Json:
    return _with({"outcome": "in_education", "note": "test note"}, overrides)


def reopening(**overrides: Any) -> Json:
    return _with({"reason": "test reason: asked for help again"}, overrides)


def erasure(**overrides: Any) -> Json:
    return _with({"requested_by": "young_person", "legal_basis": "GDPR art. 17"}, overrides)


# --- contact --------------------------------------------------------------------------------


def contact(**overrides: Any) -> Json:
    return _with(
        {
            "channel": "meeting",
            "direction": "outgoing",
            "place": "cafe",
            "purpose": "check_in",
            "reached": True,
            "duration_minutes": 30,
            "note": "test note",
        },
        overrides,
    )


def wake_up(**overrides: Any) -> Json:
    return _with(
        {"wake_up_time": "07:00", "weekdays": [1, 2, 3, 4, 5], "channel": "sms"}, overrides
    )


def wake_up_end(**overrides: Any) -> Json:
    return _with({"reason": "test reason: gets up alone now"}, overrides)


# --- plan ------------------------------------------------------------------------------------


def plan(**overrides: Any) -> Json:
    return _with(
        {"goal": "test goal: start at the vocational college", "drafted_together": True}, overrides
    )


def milestone(**overrides: Any) -> Json:
    return _with({"title": "test milestone: visit the college", "due": "2024-04-01"}, overrides)


def milestone_note(**overrides: Any) -> Json:
    return _with({"note": "test note"}, overrides)


def reschedule(**overrides: Any) -> Json:
    return _with({"due": "2024-05-01", "reason": "test reason: illness"}, overrides)


def drop(**overrides: Any) -> Json:
    return _with({"reason": "test reason: no longer relevant"}, overrides)


def plan_review(**overrides: Any) -> Json:
    return _with({"note": "test note", "next_review": "2024-06-01"}, overrides)


# --- transitions -----------------------------------------------------------------------------


def transition(**overrides: Any) -> Json:
    return _with(
        {
            "kind": "school_to_youth_education",
            "from_situation": "test: leaving 9th grade",
            "programme": "test programme",
            "expected_start": "2024-08-12",
        },
        overrides,
    )


def step(**overrides: Any) -> Json:
    return _with({"step": "applied", "note": "test note"}, overrides)


def education_start(**overrides: Any) -> Json:
    return _with({}, overrides)


def completion(**overrides: Any) -> Json:
    return _with({}, overrides)


def abandonment(**overrides: Any) -> Json:
    return _with({"reason": "test reason: chose another programme"}, overrides)


# --- institution signals -----------------------------------------------------------------------


def absence(institution_id: UUID, **overrides: Any) -> Json:
    return _with(
        {
            "institution_id": str(institution_id),
            "absent_from": "2024-02-26",
            "absent_to": "2024-02-28",
            "note": "test note",
        },
        overrides,
    )


def concern(institution_id: UUID, **overrides: Any) -> Json:
    return _with({"institution_id": str(institution_id), "note": "test concern"}, overrides)


def dropout(institution_id: UUID, **overrides: Any) -> Json:
    return _with({"institution_id": str(institution_id), "note": "test note"}, overrides)


# --- authority ----------------------------------------------------------------------------------

_INJUNCTION: Json = {
    "education_goal": "test goal: vocational college",
    "deadline": "2024-09-01",
    "support_offered": "test support: weekly meetings",
    "drawn_up_with_young_person": True,
}

DECISION_SPECIFICS: dict[str, Json] = {
    "readiness_assessment": {"level": "education_ready"},
    "education_injunction": _INJUNCTION,
    "injunction_revision": {**_INJUNCTION, "changes": "test changes: later deadline"},
    "sanction": {"reduction": "test reduction: one week's benefit"},
    "other": {"subject": "test subject: travel allowance"},
}


def decision(
    decided_by: UUID,
    kind: str = "readiness_assessment",
    revises: UUID | None = None,
    **overrides: Any,
) -> Json:
    """A complete decision; not fully in favour, so it carries appeal guidance."""
    fields: Json = {
        "kind": kind,
        "legal_basis": "LAB § 21 b",
        "reasons": "test reasons",
        "main_considerations": "test considerations",
        "facts_relied_on": "test facts",
        "fully_in_favour": False,
        "hearing_held_on": "2024-02-26",
        "appeal_guidance": "test appeal guidance: four weeks to Ankestyrelsen",
        "notified_via": "digital_mail",
        "decided_by": str(decided_by),
        "declared_role": "mentor_and_authority",
        **DECISION_SPECIFICS[kind],
    }
    if revises is not None:
        fields["revises_decision_id"] = str(revises)
    return _with(fields, overrides)


def appeal(**overrides: Any) -> Json:
    return _with({"note": "test note"}, overrides)


def appeal_decision(**overrides: Any) -> Json:
    return _with({"outcome": "upheld", "note": "test note"}, overrides)


def revocation(**overrides: Any) -> Json:
    return _with({"reason": "test reason: new information"}, overrides)


def alert_acknowledgement(**overrides: Any) -> Json:
    return _with({"note": "test note: visiting on Thursday"}, overrides)


def alert_resolution(**overrides: Any) -> Json:
    return _with({"reason": "test reason: away with family"}, overrides)


# --- every command route --------------------------------------------------------------------------


NO_ALERT = UUID(int=7)


@dataclass(frozen=True)
class Refs:
    """Ids a route's path and body may need (existing or not, as the test wants)."""

    young_person_id: UUID
    counsellor_id: UUID
    institution_id: UUID
    milestone_id: UUID
    transition_id: UUID
    decision_id: UUID
    alert_id: UUID = NO_ALERT  # a test that needs an alert raises one


@dataclass(frozen=True)
class Route:
    name: str
    path: str  # a template over the fields of Refs
    body: Callable[[Refs], Json]

    def url(self, refs: Refs) -> str:
        return self.path.format(**refs.__dict__)


_YP = "/api/v1/young-people/{young_person_id}"

ROUTES: tuple[Route, ...] = (
    Route("register_counsellor", "/api/v1/counsellors", lambda r: counsellor()),
    Route(
        "change_caseload_limit",
        "/api/v1/counsellors/{counsellor_id}/caseload-limit",
        lambda r: caseload_limit(),
    ),
    Route("register_institution", "/api/v1/institutions", lambda r: institution()),
    Route(
        "assign_institution_contact",
        "/api/v1/institutions/{institution_id}/contact-person",
        lambda r: contact_person(r.counsellor_id),
    ),
    Route("refer", "/api/v1/referrals", lambda r: referral()),
    Route("review_referral", f"{_YP}/referral-review", lambda r: review()),
    Route("enrol", f"{_YP}/enrolment", lambda r: enrolment(r.counsellor_id)),
    Route(
        "assign_counsellor", f"{_YP}/counsellor-assignment", lambda r: assignment(r.counsellor_id)
    ),
    Route("record_consent", f"{_YP}/consents", lambda r: consent()),
    Route("withdraw_consent", f"{_YP}/consent-withdrawals", lambda r: consent()),
    Route("close_case", f"{_YP}/closing", lambda r: closing()),
    Route("reopen_case", f"{_YP}/reopening", lambda r: reopening()),
    Route("erase_personal_data", f"{_YP}/erasure", lambda r: erasure()),
    Route("record_contact", f"{_YP}/contacts", lambda r: contact()),
    Route("agree_wake_up", f"{_YP}/wake-up-agreement", lambda r: wake_up()),
    Route("end_wake_up", f"{_YP}/wake-up-agreement/end", lambda r: wake_up_end()),
    Route("draft_plan", f"{_YP}/plan", lambda r: plan()),
    Route("set_milestone", f"{_YP}/milestones", lambda r: milestone()),
    Route(
        "reach_milestone", f"{_YP}/milestones/{{milestone_id}}/reached", lambda r: milestone_note()
    ),
    Route(
        "miss_milestone", f"{_YP}/milestones/{{milestone_id}}/missed", lambda r: milestone_note()
    ),
    Route(
        "reschedule_milestone",
        f"{_YP}/milestones/{{milestone_id}}/rescheduled",
        lambda r: reschedule(),
    ),
    Route("drop_milestone", f"{_YP}/milestones/{{milestone_id}}/dropped", lambda r: drop()),
    Route("review_plan", f"{_YP}/plan-reviews", lambda r: plan_review()),
    Route("start_transition", f"{_YP}/transitions", lambda r: transition()),
    Route("record_transition_step", f"{_YP}/transitions/{{transition_id}}/steps", lambda r: step()),
    Route(
        "start_education",
        f"{_YP}/transitions/{{transition_id}}/education-start",
        lambda r: education_start(),
    ),
    Route(
        "complete_transition",
        f"{_YP}/transitions/{{transition_id}}/completion",
        lambda r: completion(),
    ),
    Route(
        "abandon_transition",
        f"{_YP}/transitions/{{transition_id}}/abandonment",
        lambda r: abandonment(),
    ),
    Route("report_absence", f"{_YP}/absences", lambda r: absence(r.institution_id)),
    Route("report_concern", f"{_YP}/concerns", lambda r: concern(r.institution_id)),
    Route("report_dropout", f"{_YP}/dropouts", lambda r: dropout(r.institution_id)),
    Route("assess_readiness", f"{_YP}/decisions", lambda r: decision(r.counsellor_id)),
    Route(
        "issue_injunction",
        f"{_YP}/decisions",
        lambda r: decision(r.counsellor_id, "education_injunction"),
    ),
    Route(
        "revise_injunction",
        f"{_YP}/decisions",
        lambda r: decision(r.counsellor_id, "injunction_revision", revises=r.decision_id),
    ),
    Route("decide_sanction", f"{_YP}/decisions", lambda r: decision(r.counsellor_id, "sanction")),
    Route("make_other_decision", f"{_YP}/decisions", lambda r: decision(r.counsellor_id, "other")),
    Route("appeal_decision", f"{_YP}/decisions/{{decision_id}}/appeal", lambda r: appeal()),
    Route(
        "decide_appeal",
        f"{_YP}/decisions/{{decision_id}}/appeal-decision",
        lambda r: appeal_decision(),
    ),
    Route("revoke_decision", f"{_YP}/decisions/{{decision_id}}/revocation", lambda r: revocation()),
    Route(
        "acknowledge_alert",
        f"{_YP}/alerts/{{alert_id}}/acknowledgement",
        lambda r: alert_acknowledgement(),
    ),
    Route("resolve_alert", f"{_YP}/alerts/{{alert_id}}/resolution", lambda r: alert_resolution()),
)

ROUTES_BY_NAME = {route.name: route for route in ROUTES}
YOUNG_PERSON_ROUTES = tuple(route for route in ROUTES if "{young_person_id}" in route.path)
