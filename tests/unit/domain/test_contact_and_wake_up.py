"""Contact is the work: contacts and attempts, and agreed wake-up calls."""

from __future__ import annotations

from datetime import time
from uuid import uuid4

import pytest

from domain import young_person_events as ev
from domain.application import Overgang
from domain.errors import (
    CaseClosedError,
    InvalidValueError,
    WakeUpNotAgreedError,
    YoungPersonNotFoundError,
)
from domain.vocabulary import CaseOutcome, Channel, Direction, Place, Purpose, ReviewOutcome
from tests.factories import (
    WAKE_UP_TIME,
    WEEKDAYS,
    a_contact,
    a_context,
    enrolled_young_person,
    log_position,
    referred_young_person,
    refused,
)

# --- contacts --------------------------------------------------------------------------------


def test_a_contact_is_recorded_with_everything_it_carries(app: Overgang) -> None:
    case = enrolled_young_person(app)
    contact = a_contact(
        channel=Channel.PHONE,
        direction=Direction.INCOMING,
        place=None,
        purpose=Purpose.WAKE_UP,
        reached=False,
        duration_minutes=None,
        note="test: no answer",
    )

    result = app.record_contact(case.young_person_id, contact, a_context())

    contact_id = result.ids["contact_id"]
    recorded = list(app.events.get(case.young_person_id))[-1]
    assert isinstance(recorded, ev.ContactRecorded)
    assert (recorded.contact_id, recorded.channel, recorded.direction, recorded.place) == (
        contact_id,
        Channel.PHONE,
        Direction.INCOMING,
        None,
    )
    assert (recorded.purpose, recorded.reached, recorded.duration_minutes, recorded.note) == (
        Purpose.WAKE_UP,
        False,
        None,
        "test: no answer",
    )
    assert app.young_person(case.young_person_id).contacts_recorded == 1
    assert result.position == log_position(app)


def test_contact_is_possible_before_enrolment(app: Overgang) -> None:
    young_person_id = referred_young_person(app)

    app.record_contact(young_person_id, a_contact(place=Place.HOME), a_context())

    assert app.young_person(young_person_id).contacts_recorded == 1


def test_contact_with_a_young_person_never_referred_is_refused(app: Overgang) -> None:
    with refused(app, YoungPersonNotFoundError):
        app.record_contact(uuid4(), a_contact(), a_context())


def test_contact_after_the_case_closed_is_refused(app: Overgang) -> None:
    case = enrolled_young_person(app, closed=True)

    with refused(app, CaseClosedError):
        app.record_contact(case.young_person_id, a_contact(), a_context())
    assert app.young_person(case.young_person_id).contacts_recorded == 0


def test_contact_after_the_referral_was_declined_is_refused(app: Overgang) -> None:
    young_person_id = referred_young_person(app)
    app.review_referral(
        young_person_id, ReviewOutcome.DECLINED, app.clock().date(), "", a_context()
    )

    with refused(app, CaseClosedError):
        app.record_contact(young_person_id, a_contact(), a_context())


def test_a_contact_of_negative_duration_is_refused(app: Overgang) -> None:
    case = enrolled_young_person(app)

    with refused(app, InvalidValueError):
        app.record_contact(case.young_person_id, a_contact(duration_minutes=-1), a_context())
    assert app.young_person(case.young_person_id).contacts_recorded == 0


def test_a_contact_of_zero_minutes_is_recorded(app: Overgang) -> None:
    case = enrolled_young_person(app)

    app.record_contact(case.young_person_id, a_contact(duration_minutes=0), a_context())

    assert app.young_person(case.young_person_id).contacts_recorded == 1


def test_each_contact_gets_its_own_id(app: Overgang) -> None:
    case = enrolled_young_person(app)

    first = app.record_contact(case.young_person_id, a_contact(), a_context())
    second = app.record_contact(case.young_person_id, a_contact(), a_context())

    assert first.ids["contact_id"] != second.ids["contact_id"]
    assert second.position == first.position + 1
    assert app.young_person(case.young_person_id).contacts_recorded == 2


# --- wake-up ---------------------------------------------------------------------------------


def test_a_wake_up_agreement_keeps_its_weekdays_sorted_and_unique(app: Overgang) -> None:
    case = enrolled_young_person(app)

    app.agree_wake_up(case.young_person_id, time(6, 45), [5, 1, 3, 1], Channel.SMS, a_context())

    agreed = list(app.events.get(case.young_person_id))[-1]
    assert isinstance(agreed, ev.WakeUpAgreed)
    assert (agreed.wake_up_time, agreed.weekdays, agreed.channel) == (
        time(6, 45),
        [1, 3, 5],
        Channel.SMS,
    )
    assert app.young_person(case.young_person_id).wake_up_agreed is True


@pytest.mark.parametrize("weekdays", [[], [0], [8], [1, 2, 9], [-1]])
def test_wake_up_days_that_are_not_iso_weekdays_are_refused(
    app: Overgang, weekdays: list[int]
) -> None:
    case = enrolled_young_person(app)

    with refused(app, InvalidValueError):
        app.agree_wake_up(case.young_person_id, WAKE_UP_TIME, weekdays, Channel.SMS, a_context())
    assert app.young_person(case.young_person_id).wake_up_agreed is False


def test_a_wake_up_agreement_on_a_closed_case_is_refused(app: Overgang) -> None:
    case = enrolled_young_person(app, closed=True)

    with refused(app, CaseClosedError):
        app.agree_wake_up(case.young_person_id, WAKE_UP_TIME, WEEKDAYS, Channel.SMS, a_context())


def test_an_agreed_wake_up_can_end(app: Overgang) -> None:
    case = enrolled_young_person(app)
    app.agree_wake_up(case.young_person_id, WAKE_UP_TIME, WEEKDAYS, Channel.PHONE, a_context())

    app.end_wake_up(case.young_person_id, "test: gets up by themself", a_context())

    assert app.young_person(case.young_person_id).wake_up_agreed is False


def test_ending_a_wake_up_never_agreed_is_refused(app: Overgang) -> None:
    case = enrolled_young_person(app)

    with refused(app, WakeUpNotAgreedError):
        app.end_wake_up(case.young_person_id, "reason", a_context())


def test_ending_a_wake_up_twice_is_refused(app: Overgang) -> None:
    case = enrolled_young_person(app)
    app.agree_wake_up(case.young_person_id, WAKE_UP_TIME, WEEKDAYS, Channel.SMS, a_context())
    app.end_wake_up(case.young_person_id, "reason", a_context())

    with refused(app, WakeUpNotAgreedError):
        app.end_wake_up(case.young_person_id, "reason", a_context())


def test_closing_the_case_ends_the_wake_up_agreement(app: Overgang) -> None:
    case = enrolled_young_person(app)
    app.agree_wake_up(case.young_person_id, WAKE_UP_TIME, WEEKDAYS, Channel.SMS, a_context())
    app.close_case(case.young_person_id, CaseOutcome.IN_EDUCATION, "", a_context())
    app.reopen_case(case.young_person_id, "reason", None, a_context())

    with refused(app, WakeUpNotAgreedError):
        app.end_wake_up(case.young_person_id, "reason", a_context())


# --- text that cannot be stored ----------------------------------------------------------------


def test_a_note_that_is_not_valid_unicode_is_refused_as_invalid(app: Overgang) -> None:
    case = enrolled_young_person(app)

    with refused(app, InvalidValueError):
        app.record_contact(case.young_person_id, a_contact(note="\ud800"), a_context())
