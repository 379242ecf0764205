"""Counsellors and their caseloads: limits, explicit overrides, hand-overs."""

from __future__ import annotations

from uuid import uuid4

import pytest

from domain import counsellor as c
from domain import young_person_events as ev
from domain.application import Overgang
from domain.errors import (
    AlreadyAssignedError,
    CaseClosedError,
    CaseloadLimitExceededError,
    CounsellorNotFoundError,
    InvalidValueError,
    NotEnrolledError,
    OverrideReasonMissingError,
)
from domain.vocabulary import CaseOutcome, CounsellorRole
from tests.factories import (
    TEAM_LEAD,
    a_context,
    a_counsellor,
    accepted_young_person,
    an_institution,
    enrolled_young_person,
    log_position,
    refused,
)

# --- registering -----------------------------------------------------------------------------


def test_a_counsellor_is_registered_with_team_role_and_limit(app: Overgang) -> None:
    result = app.register_counsellor(
        "Test Counsellor", "aalborg-mobil", CounsellorRole.TEAM_LEAD, 15, a_context(TEAM_LEAD)
    )

    counsellor = app.counsellor(result.ids["counsellor_id"])
    assert (counsellor.team_id, counsellor.role, counsellor.caseload_limit) == (
        "aalborg-mobil",
        CounsellorRole.TEAM_LEAD,
        15,
    )
    assert counsellor.caseload == []
    [registered] = app.events.get(counsellor.id)
    assert isinstance(registered, c.CounsellorRegistered)
    assert registered.name == "Test Counsellor"


@pytest.mark.parametrize("limit", [0, -1])
def test_a_caseload_limit_below_one_is_refused(app: Overgang, limit: int) -> None:
    with refused(app, InvalidValueError):
        app.register_counsellor("n", "team", CounsellorRole.COUNSELLOR, limit, a_context())


@pytest.mark.parametrize("team", ["", "  "])
def test_a_counsellor_without_a_team_is_refused(app: Overgang, team: str) -> None:
    with refused(app, InvalidValueError):
        app.register_counsellor("n", team, CounsellorRole.COUNSELLOR, 10, a_context())


def test_the_caseload_limit_can_change(app: Overgang) -> None:
    counsellor_id = a_counsellor(app, caseload_limit=18)

    app.change_caseload_limit(counsellor_id, 12, a_context(TEAM_LEAD))

    assert app.counsellor(counsellor_id).caseload_limit == 12


@pytest.mark.parametrize("limit", [0, -3])
def test_changing_the_limit_below_one_is_refused(app: Overgang, limit: int) -> None:
    counsellor_id = a_counsellor(app)

    with refused(app, InvalidValueError):
        app.change_caseload_limit(counsellor_id, limit, a_context(TEAM_LEAD))
    assert app.counsellor(counsellor_id).caseload_limit == 18


def test_changing_the_limit_of_an_unknown_counsellor_is_refused(app: Overgang) -> None:
    with refused(app, CounsellorNotFoundError):
        app.change_caseload_limit(uuid4(), 10, a_context(TEAM_LEAD))


def test_an_institution_id_is_not_a_counsellor(app: Overgang) -> None:
    institution_id = an_institution(app)

    with refused(app, CounsellorNotFoundError):
        app.counsellor(institution_id)


# --- the limit at enrolment --------------------------------------------------------------------


def test_enrolment_up_to_the_limit_is_accepted(app: Overgang) -> None:
    counsellor_id = a_counsellor(app, caseload_limit=2)

    for _ in range(2):
        enrolled_young_person(app, counsellor_id=counsellor_id)

    assert len(app.counsellor(counsellor_id).caseload) == 2


def test_enrolment_beyond_the_limit_without_override_is_refused_whole(app: Overgang) -> None:
    counsellor_id = a_counsellor(app, caseload_limit=1)
    enrolled_young_person(app, counsellor_id=counsellor_id)
    young_person_id = accepted_young_person(app)

    with refused(app, CaseloadLimitExceededError):
        app.enrol(young_person_id, counsellor_id, None, a_context())
    # The young person's half of the command was not written either.
    assert app.young_person(young_person_id).version == 2
    assert len(app.counsellor(counsellor_id).caseload) == 1


@pytest.mark.parametrize("reason", ["", "   "])
def test_an_override_without_a_reason_is_refused(app: Overgang, reason: str) -> None:
    counsellor_id = a_counsellor(app, caseload_limit=1)
    enrolled_young_person(app, counsellor_id=counsellor_id)
    young_person_id = accepted_young_person(app)

    with refused(app, OverrideReasonMissingError):
        app.enrol(young_person_id, counsellor_id, reason, a_context())


def test_enrolment_beyond_the_limit_with_an_override_and_reason(app: Overgang) -> None:
    counsellor_id = a_counsellor(app, caseload_limit=1)
    enrolled_young_person(app, counsellor_id=counsellor_id)
    young_person_id = accepted_young_person(app)

    app.enrol(young_person_id, counsellor_id, "test: sibling already followed", a_context())

    counsellor = app.counsellor(counsellor_id)
    assert len(counsellor.caseload) == 2
    taken = list(app.events.get(counsellor_id))[-1]
    assert isinstance(taken, c.CaseTaken)
    assert (taken.young_person_id, taken.over_limit_reason) == (
        young_person_id,
        "test: sibling already followed",
    )


def test_a_lowered_limit_applies_to_the_next_case(app: Overgang) -> None:
    counsellor_id = a_counsellor(app, caseload_limit=3)
    enrolled_young_person(app, counsellor_id=counsellor_id)
    enrolled_young_person(app, counsellor_id=counsellor_id)
    app.change_caseload_limit(counsellor_id, 1, a_context(TEAM_LEAD))
    young_person_id = accepted_young_person(app)

    with refused(app, CaseloadLimitExceededError):
        app.enrol(young_person_id, counsellor_id, None, a_context())
    assert len(app.counsellor(counsellor_id).caseload) == 2


def test_enrolment_with_an_unknown_counsellor_is_refused(app: Overgang) -> None:
    young_person_id = accepted_young_person(app)

    with refused(app, CounsellorNotFoundError):
        app.enrol(young_person_id, uuid4(), None, a_context())


def test_a_closed_case_frees_its_place(app: Overgang) -> None:
    counsellor_id = a_counsellor(app, caseload_limit=1)
    enrolled_young_person(app, counsellor_id=counsellor_id, closed=True)

    enrolled_young_person(app, counsellor_id=counsellor_id)

    assert len(app.counsellor(counsellor_id).caseload) == 1


# --- hand-over ---------------------------------------------------------------------------------


def test_a_hand_over_moves_the_case_and_releases_the_previous_counsellor(
    app: Overgang,
) -> None:
    case = enrolled_young_person(app)
    successor = a_counsellor(app, team_id="aalborg-vest")
    before = log_position(app)

    result = app.assign_counsellor(
        case.young_person_id, successor, "test: moved", None, a_context(TEAM_LEAD)
    )

    person = app.young_person(case.young_person_id)
    assert (person.counsellor_id, person.team_id) == (successor, "aalborg-vest")
    assert app.counsellor(successor).caseload == [case.young_person_id.hex]
    assert app.counsellor(case.counsellor_id).caseload == []
    assigned = list(app.events.get(case.young_person_id))[-1]
    assert isinstance(assigned, ev.CounsellorAssigned)
    assert (assigned.counsellor_id, assigned.previous_counsellor_id, assigned.reason) == (
        successor,
        case.counsellor_id,
        "test: moved",
    )
    # One command, one transaction: the person's event and both caseload changes.
    assert result.position == log_position(app) == before + 3
    assert result.ids == {"young_person_id": case.young_person_id, "counsellor_id": successor}


def test_a_hand_over_to_a_full_counsellor_is_refused_whole(app: Overgang) -> None:
    case = enrolled_young_person(app)
    successor = a_counsellor(app, caseload_limit=1)
    enrolled_young_person(app, counsellor_id=successor)

    with refused(app, CaseloadLimitExceededError):
        app.assign_counsellor(case.young_person_id, successor, "r", None, a_context())
    assert app.young_person(case.young_person_id).counsellor_id == case.counsellor_id
    assert app.counsellor(case.counsellor_id).caseload == [case.young_person_id.hex]


def test_a_hand_over_to_a_full_counsellor_with_an_override(app: Overgang) -> None:
    case = enrolled_young_person(app)
    successor = a_counsellor(app, caseload_limit=1)
    enrolled_young_person(app, counsellor_id=successor)

    app.assign_counsellor(case.young_person_id, successor, "r", "test: crisis", a_context())

    assert len(app.counsellor(successor).caseload) == 2
    assert app.counsellor(case.counsellor_id).caseload == []


def test_a_hand_over_with_a_blank_override_reason_is_refused(app: Overgang) -> None:
    case = enrolled_young_person(app)
    successor = a_counsellor(app, caseload_limit=1)
    enrolled_young_person(app, counsellor_id=successor)

    with refused(app, OverrideReasonMissingError):
        app.assign_counsellor(case.young_person_id, successor, "r", "", a_context())


def test_a_hand_over_to_the_same_counsellor_is_refused(app: Overgang) -> None:
    case = enrolled_young_person(app)

    with refused(app, AlreadyAssignedError):
        app.assign_counsellor(case.young_person_id, case.counsellor_id, "r", None, a_context())


def test_a_hand_over_before_enrolment_is_refused(app: Overgang) -> None:
    counsellor_id = a_counsellor(app)
    young_person_id = accepted_young_person(app)

    with refused(app, NotEnrolledError):
        app.assign_counsellor(young_person_id, counsellor_id, "r", None, a_context())


def test_a_hand_over_of_a_closed_case_is_refused(app: Overgang) -> None:
    case = enrolled_young_person(app, closed=True)
    successor = a_counsellor(app)

    with refused(app, CaseClosedError):
        app.assign_counsellor(case.young_person_id, successor, "r", None, a_context())


def test_a_hand_over_to_an_unknown_counsellor_is_refused(app: Overgang) -> None:
    case = enrolled_young_person(app)

    with refused(app, CounsellorNotFoundError):
        app.assign_counsellor(case.young_person_id, uuid4(), "r", None, a_context())


def test_after_a_hand_over_closing_releases_the_new_counsellor(app: Overgang) -> None:
    case = enrolled_young_person(app)
    successor = a_counsellor(app)
    app.assign_counsellor(case.young_person_id, successor, "r", None, a_context())

    app.close_case(case.young_person_id, CaseOutcome.COMPLETED, "", a_context())

    assert app.counsellor(successor).caseload == []
    assert app.counsellor(case.counsellor_id).caseload == []
