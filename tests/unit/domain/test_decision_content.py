"""What each kind of decision must contain, absolutely: refused by the domain with a named
error. What is a matter of quality (reasons thin, no hearing, not drawn up together) is
recorded and left to the decision audit."""

from __future__ import annotations

from typing import Any

import pytest

from domain.application import Overgang
from domain.errors import (
    DecisionSubjectMissingError,
    InjunctionContentMissingError,
    SanctionReductionMissingError,
)
from tests.factories import a_context, decision_content, enrolled_young_person, injunction, refused


@pytest.mark.parametrize(
    "details",
    [
        {"education_goal": ""},
        {"support_offered": "  "},
        {"education_goal": " ", "support_offered": ""},
    ],
    ids=["no goal", "no support", "neither"],
)
def test_an_injunction_must_name_goal_and_support(app: Overgang, details: dict[str, Any]) -> None:
    case = enrolled_young_person(app)
    content = decision_content(decided_by=case.counsellor_id)

    with refused(app, InjunctionContentMissingError) as caught:
        app.issue_injunction(case.young_person_id, injunction(**details), content, a_context())

    assert caught.value.code == "injunction_content_missing"


def test_a_revision_must_keep_goal_and_support(app: Overgang) -> None:
    case = enrolled_young_person(app)
    content = decision_content(decided_by=case.counsellor_id)
    original = app.issue_injunction(case.young_person_id, injunction(), content, a_context())
    revises = original.ids["decision_id"]

    with refused(app, InjunctionContentMissingError):
        app.revise_injunction(
            case.young_person_id,
            revises,
            injunction(support_offered=""),
            "test changes",
            content,
            a_context(),
        )


def test_a_sanction_must_state_the_reduction(app: Overgang) -> None:
    case = enrolled_young_person(app)
    content = decision_content(decided_by=case.counsellor_id)

    with refused(app, SanctionReductionMissingError):
        app.decide_sanction(case.young_person_id, " ", content, a_context())


def test_another_decision_must_state_its_subject(app: Overgang) -> None:
    case = enrolled_young_person(app)
    content = decision_content(decided_by=case.counsellor_id)

    with refused(app, DecisionSubjectMissingError):
        app.make_other_decision(case.young_person_id, "", content, a_context())


def test_quality_matters_are_recorded_for_the_audit(app: Overgang) -> None:
    case = enrolled_young_person(app)
    thin = decision_content(
        decided_by=case.counsellor_id,
        reasons="",
        main_considerations=" ",
        facts_relied_on="",
        hearing_held_on=None,
        hearing_omitted_reason=None,
    )
    details = injunction(deadline=None, drawn_up_with_young_person=False)

    app.issue_injunction(case.young_person_id, details, thin, a_context())

    assert len(app.young_person(case.young_person_id).decisions) == 1
