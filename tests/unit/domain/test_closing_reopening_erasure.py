"""Closing a case, opening it again, and erasing a young person's personal data."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import date
from uuid import UUID

import pytest

from domain import young_person_events as ev
from domain.application import Overgang
from domain.errors import (
    CaseClosedError,
    CaseloadLimitExceededError,
    CaseNotClosedError,
    NotEnrolledError,
    OverrideReasonMissingError,
    PersonalDataErasedError,
)
from domain.vocabulary import (
    AppealOutcome,
    CaseOutcome,
    CaseStatus,
    Channel,
    ConsentScope,
    ErasureRequester,
    ReadinessLevel,
    ReviewOutcome,
    TransitionStep,
)
from tests.factories import (
    WAKE_UP_TIME,
    WEEKDAYS,
    a_contact,
    a_context,
    a_counsellor,
    a_transition,
    accepted_young_person,
    an_institution,
    decision_content,
    enrolled_young_person,
    injunction,
    log_position,
    referred_young_person,
    refused,
)


def close(app: Overgang, young_person_id: UUID) -> None:
    app.close_case(young_person_id, CaseOutcome.IN_EDUCATION, "note", a_context())


def erase(app: Overgang, young_person_id: UUID) -> None:
    app.erase_personal_data(
        young_person_id, ErasureRequester.YOUNG_PERSON, "GDPR art. 17", a_context()
    )


# --- closing ---------------------------------------------------------------------------------


def test_closing_a_case_records_its_outcome_and_releases_the_counsellor(app: Overgang) -> None:
    case = enrolled_young_person(app)

    result = app.close_case(case.young_person_id, CaseOutcome.EMPLOYED, "note", a_context())

    closed = list(app.events.get(case.young_person_id))[-1]
    assert isinstance(closed, ev.CaseClosed)
    assert closed.outcome is CaseOutcome.EMPLOYED
    assert app.young_person(case.young_person_id).status is CaseStatus.CLOSED
    assert app.counsellor(case.counsellor_id).caseload == []
    assert result.position == log_position(app)


def test_closing_a_case_twice_is_refused(app: Overgang) -> None:
    case = enrolled_young_person(app, closed=True)

    with refused(app, CaseClosedError):
        close(app, case.young_person_id)


@pytest.mark.parametrize("outcome", [None, ReviewOutcome.ACCEPTED, ReviewOutcome.WAITLISTED])
def test_a_case_not_enrolled_cannot_be_closed(app: Overgang, outcome: ReviewOutcome | None) -> None:
    young_person_id = referred_young_person(app)
    if outcome is not None:
        app.review_referral(young_person_id, outcome, date(2024, 3, 1), "", a_context())

    with refused(app, NotEnrolledError):
        close(app, young_person_id)


def test_a_declined_referral_cannot_be_closed(app: Overgang) -> None:
    young_person_id = referred_young_person(app)
    app.review_referral(young_person_id, ReviewOutcome.DECLINED, date(2024, 3, 1), "", a_context())

    with refused(app, CaseClosedError):
        close(app, young_person_id)


# --- reopening -------------------------------------------------------------------------------


def test_a_reopened_case_is_enrolled_again_with_the_same_counsellor(app: Overgang) -> None:
    case = enrolled_young_person(app, closed=True)

    app.reopen_case(case.young_person_id, "test: dropped out again", None, a_context())

    person = app.young_person(case.young_person_id)
    assert person.status is CaseStatus.ENROLLED
    assert person.counsellor_id == case.counsellor_id
    assert app.counsellor(case.counsellor_id).caseload == [case.young_person_id.hex]


@pytest.mark.parametrize("stage", ["referred", "accepted", "enrolled"])
def test_only_a_closed_case_can_be_reopened(app: Overgang, stage: str) -> None:
    if stage == "referred":
        young_person_id = referred_young_person(app)
    elif stage == "accepted":
        young_person_id = accepted_young_person(app)
    else:
        young_person_id = enrolled_young_person(app).young_person_id

    with refused(app, CaseNotClosedError):
        app.reopen_case(young_person_id, "reason", None, a_context())


def test_reopening_beyond_the_counsellors_limit_needs_an_override(app: Overgang) -> None:
    counsellor_id = a_counsellor(app, caseload_limit=1)
    first = enrolled_young_person(app, counsellor_id=counsellor_id, closed=True)
    enrolled_young_person(app, counsellor_id=counsellor_id)  # takes the free place

    with refused(app, CaseloadLimitExceededError):
        app.reopen_case(first.young_person_id, "reason", None, a_context())
    assert app.young_person(first.young_person_id).status is CaseStatus.CLOSED
    assert len(app.counsellor(counsellor_id).caseload) == 1


def test_reopening_beyond_the_limit_with_a_blank_override_is_refused(app: Overgang) -> None:
    counsellor_id = a_counsellor(app, caseload_limit=1)
    first = enrolled_young_person(app, counsellor_id=counsellor_id, closed=True)
    enrolled_young_person(app, counsellor_id=counsellor_id)

    with refused(app, OverrideReasonMissingError):
        app.reopen_case(first.young_person_id, "reason", " ", a_context())


def test_reopening_beyond_the_limit_with_an_override_and_reason(app: Overgang) -> None:
    counsellor_id = a_counsellor(app, caseload_limit=1)
    first = enrolled_young_person(app, counsellor_id=counsellor_id, closed=True)
    enrolled_young_person(app, counsellor_id=counsellor_id)

    app.reopen_case(first.young_person_id, "reason", "test: knows the family", a_context())

    assert len(app.counsellor(counsellor_id).caseload) == 2
    assert app.young_person(first.young_person_id).status is CaseStatus.ENROLLED


# --- erasure ---------------------------------------------------------------------------------


def test_erasure_of_an_enrolled_young_person_releases_the_counsellor(app: Overgang) -> None:
    case = enrolled_young_person(app)

    erase(app, case.young_person_id)

    erased = list(app.events.get(case.young_person_id))[-1]
    assert isinstance(erased, ev.PersonalDataErased)
    assert (erased.requested_by, erased.legal_basis) == (
        ErasureRequester.YOUNG_PERSON,
        "GDPR art. 17",
    )
    assert app.young_person(case.young_person_id).status is CaseStatus.ERASED
    assert app.counsellor(case.counsellor_id).caseload == []


@pytest.mark.parametrize("stage", ["referred", "declined", "closed"])
def test_erasure_is_possible_at_any_stage(app: Overgang, stage: str) -> None:
    if stage == "closed":
        young_person_id = enrolled_young_person(app, closed=True).young_person_id
    else:
        young_person_id = referred_young_person(app)
    if stage == "declined":
        app.review_referral(
            young_person_id, ReviewOutcome.DECLINED, date(2024, 3, 1), "", a_context()
        )

    erase(app, young_person_id)

    assert app.young_person(young_person_id).status is CaseStatus.ERASED


Command = Callable[[Overgang, UUID, UUID, dict[str, UUID]], object]

# Every command about a young person, each given the person, a counsellor and the ids of a
# milestone, a transition and a decision that existed before the erasure.
AFTER_ERASURE: dict[str, Command] = {
    "review_referral": lambda app, yp, c, ids: app.review_referral(
        yp, ReviewOutcome.ACCEPTED, date(2024, 3, 1), "", a_context()
    ),
    "enrol": lambda app, yp, c, ids: app.enrol(yp, c, None, a_context()),
    "assign_counsellor": lambda app, yp, c, ids: app.assign_counsellor(
        yp, c, "reason", None, a_context()
    ),
    "record_consent": lambda app, yp, c, ids: app.record_consent(
        yp, ConsentScope.PHONE_CONTACT, None, a_context()
    ),
    "withdraw_consent": lambda app, yp, c, ids: app.withdraw_consent(
        yp, ConsentScope.CASE_WORK, None, a_context()
    ),
    "record_contact": lambda app, yp, c, ids: app.record_contact(yp, a_contact(), a_context()),
    "agree_wake_up": lambda app, yp, c, ids: app.agree_wake_up(
        yp, WAKE_UP_TIME, WEEKDAYS, Channel.SMS, a_context()
    ),
    "end_wake_up": lambda app, yp, c, ids: app.end_wake_up(yp, "reason", a_context()),
    "draft_plan": lambda app, yp, c, ids: app.draft_plan(yp, "goal", True, a_context()),
    "set_milestone": lambda app, yp, c, ids: app.set_milestone(
        yp, "title", date(2024, 5, 1), a_context()
    ),
    "reach_milestone": lambda app, yp, c, ids: app.reach_milestone(
        yp, ids["milestone"], "", a_context()
    ),
    "miss_milestone": lambda app, yp, c, ids: app.miss_milestone(
        yp, ids["milestone"], "", a_context()
    ),
    "reschedule_milestone": lambda app, yp, c, ids: app.reschedule_milestone(
        yp, ids["milestone"], date(2024, 6, 1), "", a_context()
    ),
    "drop_milestone": lambda app, yp, c, ids: app.drop_milestone(
        yp, ids["milestone"], "", a_context()
    ),
    "review_plan": lambda app, yp, c, ids: app.review_plan(yp, "", None, a_context()),
    "start_transition": lambda app, yp, c, ids: app.start_transition(
        yp, a_transition(), a_context()
    ),
    "record_transition_step": lambda app, yp, c, ids: app.record_transition_step(
        yp, ids["transition"], TransitionStep.APPLIED, "", a_context()
    ),
    "start_education": lambda app, yp, c, ids: app.start_education(
        yp, ids["transition"], None, a_context()
    ),
    "complete_transition": lambda app, yp, c, ids: app.complete_transition(
        yp, ids["transition"], a_context()
    ),
    "abandon_transition": lambda app, yp, c, ids: app.abandon_transition(
        yp, ids["transition"], "", a_context()
    ),
    "report_absence": lambda app, yp, c, ids: app.report_absence(
        yp, ids["institution"], date(2024, 3, 4), date(2024, 3, 5), "", a_context()
    ),
    "report_concern": lambda app, yp, c, ids: app.report_concern(
        yp, ids["institution"], "", a_context()
    ),
    "report_dropout": lambda app, yp, c, ids: app.report_dropout(
        yp, ids["institution"], "", a_context()
    ),
    "assess_readiness": lambda app, yp, c, ids: app.assess_readiness(
        yp, ReadinessLevel.EDUCATION_READY, decision_content(decided_by=c), a_context()
    ),
    "issue_injunction": lambda app, yp, c, ids: app.issue_injunction(
        yp, injunction(), decision_content(decided_by=c), a_context()
    ),
    "revise_injunction": lambda app, yp, c, ids: app.revise_injunction(
        yp, ids["decision"], injunction(), "", decision_content(decided_by=c), a_context()
    ),
    "decide_sanction": lambda app, yp, c, ids: app.decide_sanction(
        yp, "", decision_content(decided_by=c), a_context()
    ),
    "make_other_decision": lambda app, yp, c, ids: app.make_other_decision(
        yp, "", decision_content(decided_by=c), a_context()
    ),
    "appeal_decision": lambda app, yp, c, ids: app.appeal_decision(
        yp, ids["decision"], "", a_context()
    ),
    "decide_appeal": lambda app, yp, c, ids: app.decide_appeal(
        yp, ids["appealed"], AppealOutcome.CHANGED, "", a_context()
    ),
    "revoke_decision": lambda app, yp, c, ids: app.revoke_decision(
        yp, ids["decision"], "", a_context()
    ),
    "close_case": lambda app, yp, c, ids: app.close_case(yp, CaseOutcome.OTHER, "", a_context()),
    "reopen_case": lambda app, yp, c, ids: app.reopen_case(yp, "", None, a_context()),
    "record_subject_access_export": lambda app, yp, c, ids: app.record_subject_access_export(
        yp, "overgang-export", 1, a_context()
    ),
    "erase_personal_data": lambda app, yp, c, ids: erase(app, yp),
    "raise_quiet_alert": lambda app, yp, c, ids: app.raise_quiet_alert(
        yp, ids["transition"], a_context()
    ),
    "escalate_quiet_alert": lambda app, yp, c, ids: app.escalate_quiet_alert(
        yp, ids["decision"], a_context()
    ),
    "acknowledge_alert": lambda app, yp, c, ids: app.acknowledge_alert(
        yp, ids["decision"], "note", a_context()
    ),
    "resolve_alert": lambda app, yp, c, ids: app.resolve_alert(
        yp, ids["decision"], "reason", a_context()
    ),
}


def test_every_command_about_a_young_person_is_covered_here() -> None:
    not_about_a_person = {
        "register_counsellor",
        "change_caseload_limit",
        "register_institution",
        "assign_institution_contact",
        "refer",
    }
    # A command is a public method that takes a command context.
    commands = {
        name
        for name, value in vars(Overgang).items()
        if callable(value)
        and not name.startswith("_")
        and "ctx" in inspect.signature(value).parameters
        and name not in not_about_a_person
    }
    assert commands == set(AFTER_ERASURE), (
        "add the new command to AFTER_ERASURE (nothing may follow PersonalDataErased)"
    )


@pytest.mark.parametrize("name", sorted(AFTER_ERASURE))
def test_nothing_may_follow_erasure(app: Overgang, name: str) -> None:
    case = enrolled_young_person(app, plan=True)
    yp = case.young_person_id
    ids = {
        "institution": an_institution(app),
        "milestone": app.set_milestone(yp, "t", date(2024, 5, 1), a_context()).ids["milestone_id"],
        "transition": app.start_transition(yp, a_transition(), a_context()).ids["transition_id"],
        "decision": app.issue_injunction(
            yp, injunction(), decision_content(decided_by=case.counsellor_id), a_context()
        ).ids["decision_id"],
        "appealed": app.issue_injunction(
            yp, injunction(), decision_content(decided_by=case.counsellor_id), a_context()
        ).ids["decision_id"],
    }
    app.appeal_decision(yp, ids["appealed"], "", a_context())
    app.agree_wake_up(yp, WAKE_UP_TIME, WEEKDAYS, Channel.SMS, a_context())
    erase(app, yp)
    other_counsellor = a_counsellor(app)
    version = app.young_person(yp).version

    with refused(app, PersonalDataErasedError):
        AFTER_ERASURE[name](app, yp, other_counsellor, ids)
    assert app.young_person(yp).version == version
