"""Don't let go at the transition: started, stepped through, education begun, ended."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID, uuid4

import pytest

from domain import young_person_events as ev
from domain.application import Overgang
from domain.errors import (
    CaseClosedError,
    EducationAlreadyStartedError,
    InstitutionNotFoundError,
    NotEnrolledError,
    TransitionNotFoundError,
    TransitionNotOpenError,
)
from domain.vocabulary import CaseOutcome, TransitionKind, TransitionPhase, TransitionStep
from tests.factories import (
    CaseIds,
    a_context,
    a_transition,
    accepted_young_person,
    an_institution,
    enrolled_young_person,
    refused,
)


def a_started_transition(app: Overgang, case: CaseIds) -> UUID:
    result = app.start_transition(case.young_person_id, a_transition(), a_context())
    return result.ids["transition_id"]


def phase_of(app: Overgang, case: CaseIds, transition_id: UUID) -> TransitionPhase:
    return app.young_person(case.young_person_id).transitions[transition_id.hex]


Act = Callable[[Overgang, UUID, UUID], object]


def step(app: Overgang, young_person_id: UUID, transition_id: UUID) -> object:
    return app.record_transition_step(
        young_person_id, transition_id, TransitionStep.VISITED, "note", a_context()
    )


def start_education(app: Overgang, young_person_id: UUID, transition_id: UUID) -> object:
    return app.start_education(young_person_id, transition_id, None, a_context())


def complete(app: Overgang, young_person_id: UUID, transition_id: UUID) -> object:
    return app.complete_transition(young_person_id, transition_id, a_context())


def abandon(app: Overgang, young_person_id: UUID, transition_id: UUID) -> object:
    return app.abandon_transition(young_person_id, transition_id, "reason", a_context())


# --- starting --------------------------------------------------------------------------------


def test_a_transition_starts_in_preparation(app: Overgang) -> None:
    case = enrolled_young_person(app)
    institution_id = an_institution(app)
    details = a_transition(
        kind=TransitionKind.BASIC_TO_MAIN_COURSE, to_institution_id=institution_id
    )

    result = app.start_transition(case.young_person_id, details, a_context())

    transition_id = result.ids["transition_id"]
    started = list(app.events.get(case.young_person_id))[-1]
    assert isinstance(started, ev.TransitionStarted)
    assert (started.transition_id, started.kind, started.to_institution_id) == (
        transition_id,
        TransitionKind.BASIC_TO_MAIN_COURSE,
        institution_id,
    )
    assert phase_of(app, case, transition_id) is TransitionPhase.PREPARING


def test_no_transition_before_enrolment(app: Overgang) -> None:
    young_person_id = accepted_young_person(app)

    with refused(app, NotEnrolledError):
        app.start_transition(young_person_id, a_transition(), a_context())


def test_no_transition_on_a_closed_case(app: Overgang) -> None:
    case = enrolled_young_person(app, closed=True)

    with refused(app, CaseClosedError):
        app.start_transition(case.young_person_id, a_transition(), a_context())


def test_a_transition_to_an_unknown_institution_is_refused(app: Overgang) -> None:
    case = enrolled_young_person(app)

    with refused(app, InstitutionNotFoundError):
        app.start_transition(
            case.young_person_id, a_transition(to_institution_id=uuid4()), a_context()
        )


# --- the course of a transition ----------------------------------------------------------------


def test_steps_are_recorded_on_an_open_transition_in_both_phases(app: Overgang) -> None:
    case = enrolled_young_person(app)
    transition_id = a_started_transition(app, case)

    step(app, case.young_person_id, transition_id)
    start_education(app, case.young_person_id, transition_id)
    step(app, case.young_person_id, transition_id)

    kinds = [type(e) for e in app.events.get(case.young_person_id)][-3:]
    assert kinds == [ev.TransitionStepRecorded, ev.EducationStarted, ev.TransitionStepRecorded]
    assert phase_of(app, case, transition_id) is TransitionPhase.IN_EDUCATION


def test_education_starts_at_a_known_institution(app: Overgang) -> None:
    case = enrolled_young_person(app)
    transition_id = a_started_transition(app, case)
    institution_id = an_institution(app)

    app.start_education(case.young_person_id, transition_id, institution_id, a_context())

    started = list(app.events.get(case.young_person_id))[-1]
    assert isinstance(started, ev.EducationStarted)
    assert started.institution_id == institution_id


def test_education_at_an_unknown_institution_is_refused(app: Overgang) -> None:
    case = enrolled_young_person(app)
    transition_id = a_started_transition(app, case)

    with refused(app, InstitutionNotFoundError):
        app.start_education(case.young_person_id, transition_id, uuid4(), a_context())


def test_education_cannot_start_twice(app: Overgang) -> None:
    case = enrolled_young_person(app)
    transition_id = a_started_transition(app, case)
    start_education(app, case.young_person_id, transition_id)

    with refused(app, EducationAlreadyStartedError):
        start_education(app, case.young_person_id, transition_id)


@pytest.mark.parametrize(
    ("act", "phase"),
    [(complete, TransitionPhase.COMPLETED), (abandon, TransitionPhase.ABANDONED)],
    ids=["complete", "abandon"],
)
@pytest.mark.parametrize("educated", [False, True], ids=["preparing", "in-education"])
def test_an_open_transition_ends(
    app: Overgang, act: Act, phase: TransitionPhase, educated: bool
) -> None:
    case = enrolled_young_person(app)
    transition_id = a_started_transition(app, case)
    if educated:
        start_education(app, case.young_person_id, transition_id)

    act(app, case.young_person_id, transition_id)

    assert phase_of(app, case, transition_id) is phase


@pytest.mark.parametrize("ended_by", [complete, abandon], ids=["completed", "abandoned"])
@pytest.mark.parametrize(
    "act", [step, start_education, complete, abandon], ids=lambda a: a.__name__
)
def test_an_ended_transition_takes_no_more_steps(app: Overgang, ended_by: Act, act: Act) -> None:
    case = enrolled_young_person(app)
    transition_id = a_started_transition(app, case)
    ended_by(app, case.young_person_id, transition_id)
    phase = phase_of(app, case, transition_id)

    with refused(app, TransitionNotOpenError):
        act(app, case.young_person_id, transition_id)
    assert phase_of(app, case, transition_id) is phase


@pytest.mark.parametrize(
    "act", [step, start_education, complete, abandon], ids=lambda a: a.__name__
)
def test_an_unknown_transition_is_not_found(app: Overgang, act: Act) -> None:
    case = enrolled_young_person(app)

    with refused(app, TransitionNotFoundError):
        act(app, case.young_person_id, uuid4())


@pytest.mark.parametrize(
    "act", [step, start_education, complete, abandon], ids=lambda a: a.__name__
)
def test_transitions_of_a_closed_case_are_frozen(app: Overgang, act: Act) -> None:
    case = enrolled_young_person(app)
    transition_id = a_started_transition(app, case)
    app.close_case(case.young_person_id, CaseOutcome.IN_EDUCATION, "", a_context())

    with refused(app, CaseClosedError):
        act(app, case.young_person_id, transition_id)


def test_transitions_are_independent(app: Overgang) -> None:
    case = enrolled_young_person(app)
    first = a_started_transition(app, case)
    second = a_started_transition(app, case)

    abandon(app, case.young_person_id, first)
    start_education(app, case.young_person_id, second)

    assert phase_of(app, case, first) is TransitionPhase.ABANDONED
    assert phase_of(app, case, second) is TransitionPhase.IN_EDUCATION
