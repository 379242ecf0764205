"""Partner institutions and their contact person in the team."""

from __future__ import annotations

from uuid import uuid4

import pytest

from domain import institution as i
from domain.application import Overgang
from domain.errors import CounsellorNotFoundError, InstitutionNotFoundError, InvalidValueError
from domain.vocabulary import InstitutionKind
from tests.factories import TEAM_LEAD, a_context, a_counsellor, an_institution, refused


def test_an_institution_is_registered_with_its_kind_and_contact_person(app: Overgang) -> None:
    counsellor_id = a_counsellor(app)

    result = app.register_institution(
        "Test Production School", InstitutionKind.PRODUCTION_SCHOOL, counsellor_id, a_context()
    )

    institution_id = result.ids["institution_id"]
    assert app.institution(institution_id).contact_counsellor_id == counsellor_id
    [registered] = app.events.get(institution_id)
    assert isinstance(registered, i.InstitutionRegistered)
    assert (registered.name, registered.kind) == (
        "Test Production School",
        InstitutionKind.PRODUCTION_SCHOOL,
    )


def test_an_institution_may_start_without_a_contact_person(app: Overgang) -> None:
    institution_id = an_institution(app)

    assert app.institution(institution_id).contact_counsellor_id is None


@pytest.mark.parametrize("name", ["", "  "])
def test_an_institution_without_a_name_is_refused(app: Overgang, name: str) -> None:
    with refused(app, InvalidValueError):
        app.register_institution(name, InstitutionKind.FGU, None, a_context(TEAM_LEAD))


def test_an_institution_with_an_unknown_contact_person_is_refused(app: Overgang) -> None:
    with refused(app, CounsellorNotFoundError):
        app.register_institution("College", InstitutionKind.VUC, uuid4(), a_context())


def test_a_contact_person_is_assigned(app: Overgang) -> None:
    institution_id = an_institution(app)
    counsellor_id = a_counsellor(app)

    result = app.assign_institution_contact(institution_id, counsellor_id, a_context())

    assert app.institution(institution_id).contact_counsellor_id == counsellor_id
    assert result.ids == {"institution_id": institution_id, "counsellor_id": counsellor_id}


def test_an_unknown_counsellor_cannot_be_contact_person(app: Overgang) -> None:
    institution_id = an_institution(app)

    with refused(app, CounsellorNotFoundError):
        app.assign_institution_contact(institution_id, uuid4(), a_context())


def test_a_contact_person_for_an_unknown_institution_is_refused(app: Overgang) -> None:
    counsellor_id = a_counsellor(app)

    with refused(app, InstitutionNotFoundError):
        app.assign_institution_contact(uuid4(), counsellor_id, a_context())


def test_a_counsellor_id_is_not_an_institution(app: Overgang) -> None:
    counsellor_id = a_counsellor(app)

    with refused(app, InstitutionNotFoundError):
        app.institution(counsellor_id)
