"""Recording that a young person's data was exported to them (a subject access request)."""

from __future__ import annotations

from datetime import date
from uuid import uuid4

import pytest

from domain import young_person_events as ev
from domain.application import Overgang
from domain.errors import InvalidValueError, PersonalDataErasedError, YoungPersonNotFoundError
from domain.vocabulary import CaseStatus, ErasureRequester, ReviewOutcome
from tests.factories import (
    COUNSELLOR,
    a_context,
    enrolled_young_person,
    log_position,
    referred_young_person,
    refused,
)
from tests.fakes import FakeClock


def test_an_export_is_recorded_with_its_format_and_who_made_it(
    app: Overgang, clock: FakeClock
) -> None:
    young_person_id = referred_young_person(app)

    result = app.record_subject_access_export(young_person_id, "overgang-export", 1, a_context())

    exported = list(app.events.get(young_person_id))[-1]
    assert isinstance(exported, ev.SubjectAccessExported)
    assert (exported.export_format, exported.format_version) == ("overgang-export", 1)
    assert (exported.actor, exported.occurred_at) == (COUNSELLOR, clock())
    assert result.ids == {"young_person_id": young_person_id}
    assert result.position == log_position(app)


def test_an_export_changes_nothing_the_rules_need(app: Overgang) -> None:
    case = enrolled_young_person(app, plan=True)
    before = app.young_person(case.young_person_id)

    app.record_subject_access_export(case.young_person_id, "overgang-export", 1, a_context())

    after = app.young_person(case.young_person_id)
    assert after.version == before.version + 1
    assert {k: v for k, v in vars(after).items() if not k.startswith("_")} == {
        k: v for k, v in vars(before).items() if not k.startswith("_")
    }


@pytest.mark.parametrize("stage", ["closed", "declined"])
def test_a_young_person_may_have_an_export_after_the_case_ended(app: Overgang, stage: str) -> None:
    if stage == "closed":
        young_person_id = enrolled_young_person(app, closed=True).young_person_id
    else:
        young_person_id = referred_young_person(app)
        app.review_referral(
            young_person_id, ReviewOutcome.DECLINED, date(2024, 3, 1), "", a_context()
        )

    app.record_subject_access_export(young_person_id, "overgang-export", 1, a_context())

    assert isinstance(list(app.events.get(young_person_id))[-1], ev.SubjectAccessExported)


def test_there_is_nothing_to_export_after_erasure(app: Overgang) -> None:
    young_person_id = referred_young_person(app)
    app.erase_personal_data(
        young_person_id, ErasureRequester.YOUNG_PERSON, "GDPR art. 17", a_context()
    )

    with refused(app, PersonalDataErasedError):
        app.record_subject_access_export(young_person_id, "overgang-export", 1, a_context())
    assert app.young_person(young_person_id).status is CaseStatus.ERASED


@pytest.mark.parametrize(("export_format", "version"), [("", 1), ("   ", 1), ("x", 0)])
def test_an_export_must_name_its_format_and_version(
    app: Overgang, export_format: str, version: int
) -> None:
    young_person_id = referred_young_person(app)

    with refused(app, InvalidValueError):
        app.record_subject_access_export(young_person_id, export_format, version, a_context())


def test_an_unknown_young_person_has_nothing_to_export(app: Overgang) -> None:
    with refused(app, YoungPersonNotFoundError):
        app.record_subject_access_export(uuid4(), "overgang-export", 1, a_context())


def test_the_export_fact_holds_no_personal_data() -> None:
    exported = ev.SubjectAccessExported
    assert (frozenset(), {"export_format"}) == (exported.PERSONAL, exported.NON_IDENTIFYING)
