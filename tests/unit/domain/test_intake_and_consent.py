"""Intake: referral, weekly review, enrolment; consent given and withdrawn."""

from __future__ import annotations

from datetime import date
from uuid import UUID, uuid4

import pytest

from domain import young_person_events as ev
from domain.application import Overgang
from domain.errors import (
    AlreadyEnrolledError,
    CaseClosedError,
    ConsentMissingError,
    ConsentNotGivenError,
    InstitutionNotFoundError,
    InvalidValueError,
    ReferralAlreadyReviewedError,
    ReferralNotAcceptedError,
    YoungPersonNotFoundError,
)
from domain.vocabulary import CaseOutcome, CaseStatus, ConsentScope, ReviewOutcome
from tests.factories import (
    PARTNER,
    a_context,
    a_counsellor,
    a_referral,
    accepted_young_person,
    an_institution,
    enrolled_young_person,
    log_position,
    referred_young_person,
    refused,
)

REVIEW_DATE = date(2024, 3, 1)


def review(app: Overgang, young_person_id: UUID, outcome: ReviewOutcome) -> None:
    app.review_referral(young_person_id, outcome, REVIEW_DATE, "test note", a_context())


# --- referral --------------------------------------------------------------------------------


def test_a_referral_with_consent_starts_a_stream_in_status_referred(app: Overgang) -> None:
    institution_id = an_institution(app)

    result = app.refer(a_referral(institution_id=institution_id), a_context(PARTNER))

    young_person_id = result.ids["young_person_id"]
    person = app.young_person(young_person_id)
    assert person.status is CaseStatus.REFERRED
    assert person.version == 1
    assert result.position == log_position(app)
    [referred] = app.events.get(young_person_id)
    assert isinstance(referred, ev.Referred)
    assert referred.institution_id == institution_id
    assert referred.consent_scopes == [ConsentScope.CASE_WORK, ConsentScope.SMS_CONTACT]
    assert referred.actor == PARTNER


def test_a_referral_without_consent_to_case_work_is_refused(app: Overgang) -> None:
    with refused(app, ConsentMissingError):
        app.refer(a_referral(consent_scopes=(ConsentScope.SMS_CONTACT,)), a_context(PARTNER))


def test_a_referral_without_any_consent_is_refused(app: Overgang) -> None:
    with refused(app, ConsentMissingError):
        app.refer(a_referral(consent_scopes=()), a_context(PARTNER))


@pytest.mark.parametrize("name", ["", "   "])
def test_a_referral_that_does_not_name_the_young_person_is_refused(
    app: Overgang, name: str
) -> None:
    with refused(app, InvalidValueError):
        app.refer(a_referral(name=name), a_context(PARTNER))


def test_a_referral_from_an_unknown_institution_is_refused(app: Overgang) -> None:
    with refused(app, InstitutionNotFoundError):
        app.refer(a_referral(institution_id=uuid4()), a_context(PARTNER))


def test_a_command_about_a_young_person_never_referred_is_not_found(app: Overgang) -> None:
    with refused(app, YoungPersonNotFoundError):
        app.review_referral(uuid4(), ReviewOutcome.ACCEPTED, REVIEW_DATE, "", a_context())


def test_a_counsellor_id_is_not_a_young_person(app: Overgang) -> None:
    counsellor_id = a_counsellor(app)

    with refused(app, YoungPersonNotFoundError):
        app.young_person(counsellor_id)


# --- review ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "status"),
    [
        (ReviewOutcome.ACCEPTED, CaseStatus.ACCEPTED),
        (ReviewOutcome.DECLINED, CaseStatus.DECLINED),
        (ReviewOutcome.WAITLISTED, CaseStatus.WAITLISTED),
    ],
)
def test_the_review_outcome_sets_the_case_status(
    app: Overgang, outcome: ReviewOutcome, status: CaseStatus
) -> None:
    young_person_id = referred_young_person(app)

    review(app, young_person_id, outcome)

    assert app.young_person(young_person_id).status is status


def test_a_waitlisted_referral_can_be_reviewed_again(app: Overgang) -> None:
    young_person_id = referred_young_person(app)
    review(app, young_person_id, ReviewOutcome.WAITLISTED)

    review(app, young_person_id, ReviewOutcome.ACCEPTED)

    assert app.young_person(young_person_id).status is CaseStatus.ACCEPTED


@pytest.mark.parametrize("first", [ReviewOutcome.ACCEPTED, ReviewOutcome.DECLINED])
def test_a_referral_accepted_or_declined_cannot_be_reviewed_again(
    app: Overgang, first: ReviewOutcome
) -> None:
    young_person_id = referred_young_person(app)
    review(app, young_person_id, first)

    with refused(app, ReferralAlreadyReviewedError):
        review(app, young_person_id, ReviewOutcome.WAITLISTED)
    assert app.young_person(young_person_id).version == 2


def test_an_enrolled_young_persons_referral_cannot_be_reviewed(app: Overgang) -> None:
    case = enrolled_young_person(app)

    with refused(app, ReferralAlreadyReviewedError):
        review(app, case.young_person_id, ReviewOutcome.DECLINED)


# --- enrolment -------------------------------------------------------------------------------


def test_enrolment_of_an_accepted_referral_sets_counsellor_and_team(app: Overgang) -> None:
    counsellor_id = a_counsellor(app, team_id="aalborg-mobil")
    young_person_id = accepted_young_person(app)

    result = app.enrol(young_person_id, counsellor_id, None, a_context())

    person = app.young_person(young_person_id)
    assert person.status is CaseStatus.ENROLLED
    assert person.counsellor_id == counsellor_id
    assert person.team_id == "aalborg-mobil"
    assert app.counsellor(counsellor_id).caseload == [young_person_id.hex]
    assert result.ids == {"young_person_id": young_person_id, "counsellor_id": counsellor_id}
    assert result.position == log_position(app)


@pytest.mark.parametrize("outcome", [None, ReviewOutcome.WAITLISTED])
def test_enrolment_before_the_referral_is_accepted_is_refused(
    app: Overgang, outcome: ReviewOutcome | None
) -> None:
    counsellor_id = a_counsellor(app)
    young_person_id = referred_young_person(app)
    if outcome is not None:
        review(app, young_person_id, outcome)

    with refused(app, ReferralNotAcceptedError):
        app.enrol(young_person_id, counsellor_id, None, a_context())
    assert app.counsellor(counsellor_id).caseload == []


def test_enrolment_of_a_declined_referral_is_refused_as_closed(app: Overgang) -> None:
    counsellor_id = a_counsellor(app)
    young_person_id = referred_young_person(app)
    review(app, young_person_id, ReviewOutcome.DECLINED)

    with refused(app, CaseClosedError):
        app.enrol(young_person_id, counsellor_id, None, a_context())


def test_enrolling_twice_is_refused(app: Overgang) -> None:
    case = enrolled_young_person(app)

    with refused(app, AlreadyEnrolledError):
        app.enrol(case.young_person_id, case.counsellor_id, None, a_context())
    assert app.young_person(case.young_person_id).version == 3


def test_enrolment_of_a_closed_case_is_refused(app: Overgang) -> None:
    case = enrolled_young_person(app, closed=True)

    with refused(app, CaseClosedError):
        app.enrol(case.young_person_id, case.counsellor_id, None, a_context())


# --- consent ---------------------------------------------------------------------------------


def test_consent_to_share_with_an_institution_can_be_given_and_withdrawn(
    app: Overgang,
) -> None:
    institution_id = an_institution(app)
    young_person_id = referred_young_person(app)
    scope = ConsentScope.SHARING_WITH_INSTITUTION

    app.record_consent(young_person_id, scope, institution_id, a_context())
    given = dict(app.young_person(young_person_id).consents)
    app.withdraw_consent(young_person_id, scope, institution_id, a_context())

    assert given[ev.consent_key(scope, institution_id)] is True
    assert ev.consent_key(scope, institution_id) not in app.young_person(young_person_id).consents


def test_consent_naming_an_unknown_institution_is_refused(app: Overgang) -> None:
    young_person_id = referred_young_person(app)

    with refused(app, InstitutionNotFoundError):
        app.record_consent(
            young_person_id, ConsentScope.SHARING_WITH_INSTITUTION, uuid4(), a_context()
        )


def test_withdrawing_a_consent_never_given_is_refused(app: Overgang) -> None:
    young_person_id = referred_young_person(app)

    with refused(app, ConsentNotGivenError):
        app.withdraw_consent(young_person_id, ConsentScope.PHONE_CONTACT, None, a_context())


def test_consent_for_one_institution_is_not_consent_for_another(app: Overgang) -> None:
    first, second = an_institution(app), an_institution(app)
    young_person_id = referred_young_person(app)
    scope = ConsentScope.SHARING_WITH_INSTITUTION
    app.record_consent(young_person_id, scope, first, a_context())

    with refused(app, ConsentNotGivenError):
        app.withdraw_consent(young_person_id, scope, second, a_context())


def test_consent_cannot_be_recorded_on_a_closed_case(app: Overgang) -> None:
    case = enrolled_young_person(app, closed=True)

    with refused(app, CaseClosedError):
        app.record_consent(case.young_person_id, ConsentScope.PHONE_CONTACT, None, a_context())


def test_consent_can_be_withdrawn_after_the_case_closed(app: Overgang) -> None:
    case = enrolled_young_person(app)
    app.record_consent(case.young_person_id, ConsentScope.PHONE_CONTACT, None, a_context())
    app.close_case(case.young_person_id, CaseOutcome.MOVED, "", a_context())

    app.withdraw_consent(case.young_person_id, ConsentScope.PHONE_CONTACT, None, a_context())

    assert "phone_contact:" not in app.young_person(case.young_person_id).consents


def test_consent_given_in_a_referral_can_be_withdrawn(app: Overgang) -> None:
    young_person_id = referred_young_person(app)  # consents to case work and SMS contact

    app.withdraw_consent(young_person_id, ConsentScope.SMS_CONTACT, None, a_context())

    assert "sms_contact:" not in app.young_person(young_person_id).consents


def test_consent_to_sms_given_in_an_institutions_referral_can_be_withdrawn(
    app: Overgang,
) -> None:
    institution_id = an_institution(app)
    young_person_id = app.refer(
        a_referral(
            institution_id=institution_id,
            consent_scopes=(ConsentScope.CASE_WORK, ConsentScope.SMS_CONTACT),
        ),
        a_context(PARTNER),
    ).ids["young_person_id"]

    app.withdraw_consent(young_person_id, ConsentScope.SMS_CONTACT, None, a_context())

    assert "sms_contact:" not in app.young_person(young_person_id).consents
