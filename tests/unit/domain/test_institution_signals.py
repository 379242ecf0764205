"""Institutions are partners: they report absence, concern and dropout."""

from __future__ import annotations

from datetime import date
from uuid import UUID, uuid4

import pytest

from domain import young_person_events as ev
from domain.application import Overgang
from domain.errors import (
    CaseClosedError,
    InstitutionNotFoundError,
    InvalidValueError,
    PersonalDataErasedError,
)
from domain.vocabulary import ErasureRequester
from tests.factories import (
    PARTNER,
    a_context,
    an_institution,
    enrolled_young_person,
    referred_young_person,
    refused,
)

MONDAY, FRIDAY = date(2024, 3, 4), date(2024, 3, 8)


def report(app: Overgang, kind: str, young_person_id: UUID, institution_id: UUID) -> None:
    ctx = a_context(PARTNER)
    if kind == "absence":
        app.report_absence(young_person_id, institution_id, MONDAY, FRIDAY, "note", ctx)
    elif kind == "concern":
        app.report_concern(young_person_id, institution_id, "note", ctx)
    else:
        app.report_dropout(young_person_id, institution_id, "note", ctx)


def test_an_absence_is_reported_with_its_source_and_period(app: Overgang) -> None:
    case = enrolled_young_person(app)
    institution_id = an_institution(app)

    app.report_absence(
        case.young_person_id, institution_id, MONDAY, FRIDAY, "note", a_context(PARTNER)
    )

    reported = list(app.events.get(case.young_person_id))[-1]
    assert isinstance(reported, ev.AbsenceReported)
    assert (reported.institution_id, reported.absent_from, reported.absent_to) == (
        institution_id,
        MONDAY,
        FRIDAY,
    )
    assert reported.actor == PARTNER


def test_a_one_day_absence_is_accepted(app: Overgang) -> None:
    young_person_id = referred_young_person(app)
    institution_id = an_institution(app)

    app.report_absence(young_person_id, institution_id, MONDAY, MONDAY, "", a_context(PARTNER))

    assert app.young_person(young_person_id).version == 2


def test_an_absence_that_ends_before_it_begins_is_refused(app: Overgang) -> None:
    case = enrolled_young_person(app)
    institution_id = an_institution(app)

    with refused(app, InvalidValueError):
        app.report_absence(
            case.young_person_id, institution_id, FRIDAY, MONDAY, "", a_context(PARTNER)
        )


@pytest.mark.parametrize("kind", ["absence", "concern", "dropout"])
def test_a_signal_from_an_unknown_institution_is_refused(app: Overgang, kind: str) -> None:
    case = enrolled_young_person(app)

    with refused(app, InstitutionNotFoundError):
        report(app, kind, case.young_person_id, uuid4())


@pytest.mark.parametrize("kind", ["absence", "concern", "dropout"])
def test_a_signal_about_a_closed_case_is_refused(app: Overgang, kind: str) -> None:
    case = enrolled_young_person(app, closed=True)
    institution_id = an_institution(app)

    with refused(app, CaseClosedError):
        report(app, kind, case.young_person_id, institution_id)


@pytest.mark.parametrize("kind", ["absence", "concern", "dropout"])
def test_a_signal_about_an_erased_young_person_is_refused(app: Overgang, kind: str) -> None:
    young_person_id = referred_young_person(app)
    institution_id = an_institution(app)
    app.erase_personal_data(young_person_id, ErasureRequester.YOUNG_PERSON, "GDPR", a_context())

    with refused(app, PersonalDataErasedError):
        report(app, kind, young_person_id, institution_id)


@pytest.mark.parametrize(
    ("kind", "event_class"),
    [("concern", ev.ConcernReported), ("dropout", ev.DropoutReported)],
)
def test_concern_and_dropout_name_the_reporting_institution(
    app: Overgang, kind: str, event_class: type[ev.YoungPersonEvent]
) -> None:
    case = enrolled_young_person(app)
    institution_id = an_institution(app)

    report(app, kind, case.young_person_id, institution_id)

    reported = list(app.events.get(case.young_person_id))[-1]
    assert isinstance(reported, ev.ConcernReported | ev.DropoutReported)
    assert type(reported) is event_class
    assert reported.institution_id == institution_id
