"""A plan made together, early: milestones reached, missed, rescheduled, dropped; reviews."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from uuid import UUID, uuid4

import pytest

from domain import young_person_events as ev
from domain.application import Overgang
from domain.errors import (
    CaseClosedError,
    DomainError,
    MilestoneAlreadyReachedError,
    MilestoneNotFoundError,
    MilestoneNotOpenError,
    NotEnrolledError,
    PlanNotDraftedError,
)
from domain.vocabulary import CaseOutcome, MilestoneStatus
from tests.factories import (
    CaseIds,
    a_context,
    accepted_young_person,
    enrolled_young_person,
    referred_young_person,
    refused,
)

DUE = date(2024, 4, 1)


def a_milestone(app: Overgang, case: CaseIds) -> UUID:
    return app.set_milestone(case.young_person_id, "test milestone", DUE, a_context()).ids[
        "milestone_id"
    ]


def status_of(app: Overgang, case: CaseIds, milestone_id: UUID) -> MilestoneStatus:
    return app.young_person(case.young_person_id).milestones[milestone_id.hex]


Act = Callable[[Overgang, UUID, UUID], object]


def reach(app: Overgang, young_person_id: UUID, milestone_id: UUID) -> object:
    return app.reach_milestone(young_person_id, milestone_id, "note", a_context())


def miss(app: Overgang, young_person_id: UUID, milestone_id: UUID) -> object:
    return app.miss_milestone(young_person_id, milestone_id, "note", a_context())


def reschedule(app: Overgang, young_person_id: UUID, milestone_id: UUID) -> object:
    return app.reschedule_milestone(
        young_person_id, milestone_id, date(2024, 5, 1), "reason", a_context()
    )


def drop(app: Overgang, young_person_id: UUID, milestone_id: UUID) -> object:
    return app.drop_milestone(young_person_id, milestone_id, "reason", a_context())


# --- the plan --------------------------------------------------------------------------------


def test_a_plan_is_drafted_for_an_enrolled_young_person(app: Overgang) -> None:
    case = enrolled_young_person(app)

    app.draft_plan(case.young_person_id, "test goal", True, a_context())

    drafted = list(app.events.get(case.young_person_id))[-1]
    assert isinstance(drafted, ev.PlanDrafted)
    assert (drafted.goal, drafted.drafted_together) == ("test goal", True)
    assert app.young_person(case.young_person_id).plan_drafted is True


def test_a_plan_can_be_drafted_again(app: Overgang) -> None:
    case = enrolled_young_person(app, plan=True)

    app.draft_plan(case.young_person_id, "new goal", False, a_context())

    assert app.young_person(case.young_person_id).version == 5


@pytest.mark.parametrize("stage", ["referred", "accepted"])
def test_no_plan_before_enrolment(app: Overgang, stage: str) -> None:
    young_person_id = (
        referred_young_person(app) if stage == "referred" else accepted_young_person(app)
    )

    with refused(app, NotEnrolledError):
        app.draft_plan(young_person_id, "goal", True, a_context())


def test_no_plan_on_a_closed_case(app: Overgang) -> None:
    case = enrolled_young_person(app, closed=True)

    with refused(app, CaseClosedError):
        app.draft_plan(case.young_person_id, "goal", True, a_context())


def test_a_plan_is_reviewed(app: Overgang) -> None:
    case = enrolled_young_person(app, plan=True)

    app.review_plan(case.young_person_id, "note", date(2024, 6, 1), a_context())

    reviewed = list(app.events.get(case.young_person_id))[-1]
    assert isinstance(reviewed, ev.PlanReviewed)
    assert reviewed.next_review == date(2024, 6, 1)


def test_reviewing_a_plan_never_drafted_is_refused(app: Overgang) -> None:
    case = enrolled_young_person(app)

    with refused(app, PlanNotDraftedError):
        app.review_plan(case.young_person_id, "note", None, a_context())


def test_reviewing_a_plan_before_enrolment_is_refused(app: Overgang) -> None:
    young_person_id = referred_young_person(app)

    with refused(app, NotEnrolledError):
        app.review_plan(young_person_id, "note", None, a_context())


# --- setting milestones ----------------------------------------------------------------------


def test_a_milestone_is_set_open_on_a_drafted_plan(app: Overgang) -> None:
    case = enrolled_young_person(app, plan=True)

    milestone_id = a_milestone(app, case)

    assert status_of(app, case, milestone_id) is MilestoneStatus.OPEN


def test_no_milestone_without_a_plan(app: Overgang) -> None:
    case = enrolled_young_person(app)

    with refused(app, PlanNotDraftedError):
        app.set_milestone(case.young_person_id, "title", DUE, a_context())


def test_no_milestone_before_enrolment(app: Overgang) -> None:
    young_person_id = accepted_young_person(app)

    with refused(app, NotEnrolledError):
        app.set_milestone(young_person_id, "title", DUE, a_context())


def test_no_milestone_on_a_closed_case(app: Overgang) -> None:
    case = enrolled_young_person(app, plan=True, closed=True)

    with refused(app, CaseClosedError):
        app.set_milestone(case.young_person_id, "title", DUE, a_context())


# --- what can happen to a milestone -----------------------------------------------------------


@pytest.mark.parametrize(
    ("act", "status"),
    [
        (reach, MilestoneStatus.REACHED),
        (miss, MilestoneStatus.MISSED),
        (reschedule, MilestoneStatus.OPEN),
        (drop, MilestoneStatus.DROPPED),
    ],
    ids=["reach", "miss", "reschedule", "drop"],
)
def test_an_open_milestone(app: Overgang, act: Act, status: MilestoneStatus) -> None:
    case = enrolled_young_person(app, plan=True)
    milestone_id = a_milestone(app, case)

    act(app, case.young_person_id, milestone_id)

    assert status_of(app, case, milestone_id) is status


@pytest.mark.parametrize(
    ("act", "status"),
    [
        (reach, MilestoneStatus.REACHED),
        (reschedule, MilestoneStatus.OPEN),
        (drop, MilestoneStatus.DROPPED),
    ],
    ids=["reach", "reschedule", "drop"],
)
def test_a_missed_milestone(app: Overgang, act: Act, status: MilestoneStatus) -> None:
    case = enrolled_young_person(app, plan=True)
    milestone_id = a_milestone(app, case)
    miss(app, case.young_person_id, milestone_id)

    act(app, case.young_person_id, milestone_id)

    assert status_of(app, case, milestone_id) is status


def test_a_rescheduled_milestone_carries_its_new_due_date(app: Overgang) -> None:
    case = enrolled_young_person(app, plan=True)
    milestone_id = a_milestone(app, case)

    reschedule(app, case.young_person_id, milestone_id)

    rescheduled = list(app.events.get(case.young_person_id))[-1]
    assert isinstance(rescheduled, ev.MilestoneRescheduled)
    assert (rescheduled.milestone_id, rescheduled.due) == (milestone_id, date(2024, 5, 1))


@pytest.mark.parametrize(
    ("before", "act", "error"),
    [
        ([reach], reach, MilestoneAlreadyReachedError),
        ([reach], miss, MilestoneAlreadyReachedError),
        ([reach], reschedule, MilestoneNotOpenError),
        ([reach], drop, MilestoneNotOpenError),
        ([miss], miss, MilestoneNotOpenError),
        ([drop], reach, MilestoneNotOpenError),
        ([drop], miss, MilestoneNotOpenError),
        ([drop], reschedule, MilestoneNotOpenError),
        ([drop], drop, MilestoneNotOpenError),
        ([miss, reach], reach, MilestoneAlreadyReachedError),
    ],
    ids=[
        "reach-twice",
        "miss-reached",
        "reschedule-reached",
        "drop-reached",
        "miss-twice",
        "reach-dropped",
        "miss-dropped",
        "reschedule-dropped",
        "drop-twice",
        "reach-missed-then-reached",
    ],
)
def test_a_milestone_that_is_no_longer_open_refuses(
    app: Overgang, before: list[Act], act: Act, error: type[DomainError]
) -> None:
    case = enrolled_young_person(app, plan=True)
    milestone_id = a_milestone(app, case)
    for earlier in before:
        earlier(app, case.young_person_id, milestone_id)
    status = status_of(app, case, milestone_id)
    version = app.young_person(case.young_person_id).version

    with refused(app, error):
        act(app, case.young_person_id, milestone_id)
    assert status_of(app, case, milestone_id) is status
    assert app.young_person(case.young_person_id).version == version


@pytest.mark.parametrize("act", [reach, miss, reschedule, drop])
def test_an_unknown_milestone_is_not_found(app: Overgang, act: Act) -> None:
    case = enrolled_young_person(app, plan=True)

    with refused(app, MilestoneNotFoundError):
        act(app, case.young_person_id, uuid4())


@pytest.mark.parametrize("act", [reach, miss, reschedule, drop])
def test_milestones_of_a_closed_case_are_frozen(app: Overgang, act: Act) -> None:
    case = enrolled_young_person(app, plan=True)
    milestone_id = a_milestone(app, case)
    app.close_case(case.young_person_id, CaseOutcome.IN_EDUCATION, "", a_context())

    with refused(app, CaseClosedError):
        act(app, case.young_person_id, milestone_id)
    assert status_of(app, case, milestone_id) is MilestoneStatus.OPEN
