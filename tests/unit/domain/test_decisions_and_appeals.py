"""Mentor and authority in one person: decisions that stand up to legal audit, and appeals."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID, uuid4

import pytest

from domain import young_person_events as ev
from domain.application import CommandResult, Overgang
from domain.decisions import DecisionContent
from domain.errors import (
    AppealAlreadyPendingError,
    AppealGuidanceMissingError,
    CaseClosedError,
    CounsellorNotFoundError,
    DecisionNotFoundError,
    DecisionNotInForceError,
    DomainError,
    InvalidValueError,
    NoAppealPendingError,
    NotAnInjunctionError,
    NotEnrolledError,
)
from domain.vocabulary import (
    AppealOutcome,
    CaseOutcome,
    DecisionKind,
    DecisionStatus,
    ReadinessLevel,
)
from tests.factories import (
    CaseIds,
    a_context,
    a_counsellor,
    accepted_young_person,
    decision_content,
    enrolled_young_person,
    injunction,
    refused,
)

Decide = Callable[[Overgang, UUID, DecisionContent], CommandResult]


def assess(app: Overgang, young_person_id: UUID, content: DecisionContent) -> CommandResult:
    return app.assess_readiness(
        young_person_id, ReadinessLevel.ACTIVITY_READY, content, a_context()
    )


def issue(app: Overgang, young_person_id: UUID, content: DecisionContent) -> CommandResult:
    return app.issue_injunction(young_person_id, injunction(), content, a_context())


def sanction(app: Overgang, young_person_id: UUID, content: DecisionContent) -> CommandResult:
    return app.decide_sanction(young_person_id, "test: 20 % for 2 weeks", content, a_context())


def other(app: Overgang, young_person_id: UUID, content: DecisionContent) -> CommandResult:
    return app.make_other_decision(young_person_id, "test subject", content, a_context())


DECISIONS: list[tuple[Decide, type[ev.DecisionRecorded], DecisionKind]] = [
    (assess, ev.ReadinessAssessed, DecisionKind.READINESS_ASSESSMENT),
    (issue, ev.EducationInjunctionIssued, DecisionKind.EDUCATION_INJUNCTION),
    (sanction, ev.SanctionDecided, DecisionKind.SANCTION),
    (other, ev.OtherDecisionMade, DecisionKind.OTHER),
]
DECIDERS = [decide for decide, _, _ in DECISIONS]


def by_name(function: Callable[..., object]) -> str:
    return function.__name__


def a_decision(app: Overgang, case: CaseIds, decide: Decide = issue) -> UUID:
    content = decision_content(decided_by=case.counsellor_id)
    return decide(app, case.young_person_id, content).ids["decision_id"]


def status_of(app: Overgang, case: CaseIds, decision_id: UUID) -> DecisionStatus:
    return app.young_person(case.young_person_id).decisions[decision_id.hex]


def revise(app: Overgang, case: CaseIds, revises: UUID) -> CommandResult:
    content = decision_content(decided_by=case.counsellor_id)
    return app.revise_injunction(
        case.young_person_id, revises, injunction(), "test changes", content, a_context()
    )


def appeal(app: Overgang, case: CaseIds, decision_id: UUID) -> CommandResult:
    return app.appeal_decision(case.young_person_id, decision_id, "note", a_context())


def decide_appeal(app: Overgang, case: CaseIds, decision_id: UUID) -> CommandResult:
    return app.decide_appeal(
        case.young_person_id, decision_id, AppealOutcome.UPHELD, "note", a_context()
    )


def revoke(app: Overgang, case: CaseIds, decision_id: UUID) -> CommandResult:
    return app.revoke_decision(case.young_person_id, decision_id, "reason", a_context())


# --- making decisions --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("decide", "event_class", "kind"), DECISIONS, ids=[d.__name__ for d in DECIDERS]
)
def test_a_decision_is_recorded_in_force_with_its_legal_content(
    app: Overgang, decide: Decide, event_class: type[ev.DecisionRecorded], kind: DecisionKind
) -> None:
    case = enrolled_young_person(app)
    content = decision_content(decided_by=case.counsellor_id)

    result = decide(app, case.young_person_id, content)

    decision_id = result.ids["decision_id"]
    recorded = list(app.events.get(case.young_person_id))[-1]
    assert type(recorded) is event_class
    assert isinstance(recorded, ev.DecisionRecorded)
    assert recorded.decision_id == decision_id
    assert {name: getattr(recorded, name) for name in content.event_fields()} == (
        content.event_fields()
    )
    person = app.young_person(case.young_person_id)
    assert person.decisions[decision_id.hex] is DecisionStatus.IN_FORCE
    assert person.decision_kinds[decision_id.hex] is kind


@pytest.mark.parametrize("decide", DECIDERS, ids=by_name)
@pytest.mark.parametrize("guidance", [None, "", "   "], ids=["none", "empty", "blank"])
def test_a_decision_not_fully_in_favour_without_appeal_guidance_is_refused(
    app: Overgang, decide: Decide, guidance: str | None
) -> None:
    case = enrolled_young_person(app)
    content = decision_content(
        decided_by=case.counsellor_id, fully_in_favour=False, appeal_guidance=guidance
    )

    with refused(app, AppealGuidanceMissingError):
        decide(app, case.young_person_id, content)
    assert app.young_person(case.young_person_id).decisions == {}


@pytest.mark.parametrize("decide", DECIDERS, ids=by_name)
def test_a_decision_fully_in_favour_needs_no_appeal_guidance(app: Overgang, decide: Decide) -> None:
    case = enrolled_young_person(app)
    content = decision_content(
        decided_by=case.counsellor_id, fully_in_favour=True, appeal_guidance=None
    )

    decide(app, case.young_person_id, content)

    assert len(app.young_person(case.young_person_id).decisions) == 1


@pytest.mark.parametrize("legal_basis", ["", "  "], ids=["empty", "blank"])
def test_a_decision_without_legal_basis_is_refused(app: Overgang, legal_basis: str) -> None:
    case = enrolled_young_person(app)
    content = decision_content(decided_by=case.counsellor_id, legal_basis=legal_basis)

    with refused(app, InvalidValueError):
        issue(app, case.young_person_id, content)


def test_a_decision_by_an_unknown_counsellor_is_refused(app: Overgang) -> None:
    case = enrolled_young_person(app)

    with refused(app, CounsellorNotFoundError):
        issue(app, case.young_person_id, decision_content(decided_by=uuid4()))


@pytest.mark.parametrize("decide", DECIDERS, ids=by_name)
def test_no_decision_before_enrolment(app: Overgang, decide: Decide) -> None:
    counsellor_id = a_counsellor(app)
    young_person_id = accepted_young_person(app)

    with refused(app, NotEnrolledError):
        decide(app, young_person_id, decision_content(decided_by=counsellor_id))


@pytest.mark.parametrize("decide", DECIDERS, ids=by_name)
def test_no_decision_on_a_closed_case(app: Overgang, decide: Decide) -> None:
    case = enrolled_young_person(app, closed=True)

    with refused(app, CaseClosedError):
        decide(app, case.young_person_id, decision_content(decided_by=case.counsellor_id))


# --- revising an injunction ---------------------------------------------------------------------


def test_a_revised_injunction_supersedes_the_one_it_revises(app: Overgang) -> None:
    case = enrolled_young_person(app)
    original = a_decision(app, case, issue)

    revised = revise(app, case, original).ids["decision_id"]

    assert status_of(app, case, original) is DecisionStatus.SUPERSEDED
    assert status_of(app, case, revised) is DecisionStatus.IN_FORCE
    kinds = app.young_person(case.young_person_id).decision_kinds
    assert kinds[revised.hex] is DecisionKind.EDUCATION_INJUNCTION
    recorded = list(app.events.get(case.young_person_id))[-1]
    assert isinstance(recorded, ev.EducationInjunctionRevised)
    assert (recorded.revises_decision_id, recorded.changes) == (original, "test changes")


def test_a_revised_injunction_can_itself_be_revised(app: Overgang) -> None:
    case = enrolled_young_person(app)
    revised = revise(app, case, a_decision(app, case, issue)).ids["decision_id"]

    revise(app, case, revised)

    assert status_of(app, case, revised) is DecisionStatus.SUPERSEDED


@pytest.mark.parametrize("decide", [assess, sanction, other], ids=by_name)
def test_only_an_injunction_can_be_revised(app: Overgang, decide: Decide) -> None:
    case = enrolled_young_person(app)
    decision_id = a_decision(app, case, decide)

    with refused(app, NotAnInjunctionError):
        revise(app, case, decision_id)


def test_revising_an_unknown_decision_is_not_found(app: Overgang) -> None:
    case = enrolled_young_person(app)

    with refused(app, DecisionNotFoundError):
        revise(app, case, uuid4())


@pytest.mark.parametrize("ended_by", ["revoked", "superseded"])
def test_an_injunction_no_longer_in_force_cannot_be_revised(app: Overgang, ended_by: str) -> None:
    case = enrolled_young_person(app)
    original = a_decision(app, case, issue)
    if ended_by == "revoked":
        revoke(app, case, original)
    else:
        revise(app, case, original)

    with refused(app, DecisionNotInForceError):
        revise(app, case, original)


def test_a_revision_without_appeal_guidance_is_refused(app: Overgang) -> None:
    case = enrolled_young_person(app)
    original = a_decision(app, case, issue)
    content = decision_content(decided_by=case.counsellor_id, appeal_guidance=None)

    with refused(app, AppealGuidanceMissingError):
        app.revise_injunction(
            case.young_person_id, original, injunction(), "changes", content, a_context()
        )
    assert status_of(app, case, original) is DecisionStatus.IN_FORCE


def test_an_injunction_on_a_closed_case_cannot_be_revised(app: Overgang) -> None:
    case = enrolled_young_person(app)
    original = a_decision(app, case, issue)
    app.close_case(case.young_person_id, CaseOutcome.IN_EDUCATION, "", a_context())

    with refused(app, CaseClosedError):
        revise(app, case, original)


# --- appeals and revocation ----------------------------------------------------------------------


def test_an_appeal_runs_its_course(app: Overgang) -> None:
    case = enrolled_young_person(app)
    decision_id = a_decision(app, case)

    appeal(app, case, decision_id)
    appealed = status_of(app, case, decision_id)
    decide_appeal(app, case, decision_id)

    assert appealed is DecisionStatus.APPEALED
    assert status_of(app, case, decision_id) is DecisionStatus.APPEAL_DECIDED


def test_an_appeal_continues_after_the_case_closed(app: Overgang) -> None:
    case = enrolled_young_person(app)
    decision_id = a_decision(app, case)
    app.close_case(case.young_person_id, CaseOutcome.MOVED, "", a_context())

    appeal(app, case, decision_id)
    decide_appeal(app, case, decision_id)

    assert status_of(app, case, decision_id) is DecisionStatus.APPEAL_DECIDED


Step = Callable[[Overgang, CaseIds, UUID], CommandResult]


def _revise_it(app: Overgang, case: CaseIds, decision_id: UUID) -> CommandResult:
    return revise(app, case, decision_id)


@pytest.mark.parametrize(
    ("before", "act", "error"),
    [
        ([appeal], appeal, AppealAlreadyPendingError),
        ([appeal, decide_appeal], appeal, DecisionNotInForceError),
        ([revoke], appeal, DecisionNotInForceError),
        ([_revise_it], appeal, DecisionNotInForceError),
        ([], decide_appeal, NoAppealPendingError),
        ([appeal, decide_appeal], decide_appeal, NoAppealPendingError),
        ([revoke], decide_appeal, NoAppealPendingError),
        ([revoke], revoke, DecisionNotInForceError),
        ([_revise_it], revoke, DecisionNotInForceError),
    ],
    ids=[
        "appeal-twice",
        "appeal-after-appeal-decided",
        "appeal-revoked",
        "appeal-superseded",
        "decide-without-appeal",
        "decide-twice",
        "decide-revoked",
        "revoke-twice",
        "revoke-superseded",
    ],
)
def test_a_decision_refuses_what_its_status_does_not_allow(
    app: Overgang, before: list[Step], act: Step, error: type[DomainError]
) -> None:
    case = enrolled_young_person(app)
    decision_id = a_decision(app, case, issue)
    for earlier in before:
        earlier(app, case, decision_id)
    status = status_of(app, case, decision_id)

    with refused(app, error):
        act(app, case, decision_id)
    assert status_of(app, case, decision_id) is status


@pytest.mark.parametrize("before", [[], [appeal], [appeal, decide_appeal]], ids=len)
def test_a_decision_can_be_revoked_while_in_force_or_appealed(
    app: Overgang, before: list[Step]
) -> None:
    case = enrolled_young_person(app)
    decision_id = a_decision(app, case)
    for earlier in before:
        earlier(app, case, decision_id)

    revoke(app, case, decision_id)

    assert status_of(app, case, decision_id) is DecisionStatus.REVOKED


@pytest.mark.parametrize("act", [appeal, decide_appeal, revoke], ids=by_name)
def test_an_unknown_decision_is_not_found(app: Overgang, act: Step) -> None:
    case = enrolled_young_person(app)

    with refused(app, DecisionNotFoundError):
        act(app, case, uuid4())
