"""Every fact carries when it happened (from the caller) and when it was recorded (the clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID

import pytest

from domain.actors import Role
from domain.application import Overgang
from domain.errors import NaiveDatetimeError, OccurredInFutureError
from domain.recording import RecordedEvent, Stamp
from tests.factories import (
    PARTNER,
    a_contact,
    a_context,
    a_referral,
    an_actor,
    enrolled_young_person,
    new_app,
    refused,
)
from tests.fakes import FakeClock

TOLERANCE = timedelta(minutes=5)  # the application's default


def last_event(app: Overgang, aggregate_id: UUID) -> RecordedEvent:
    event = list(app.events.get(aggregate_id))[-1]
    assert isinstance(event, RecordedEvent)
    return event


def test_recorded_at_comes_from_the_injected_clock(app: Overgang, clock: FakeClock) -> None:
    case = enrolled_young_person(app)
    clock.advance(days=3, hours=2)

    app.record_contact(case.young_person_id, a_contact(), a_context())

    recorded = last_event(app, case.young_person_id)
    assert recorded.timestamp == datetime(2024, 3, 7, 11, 0, tzinfo=UTC)
    assert app.young_person(case.young_person_id).modified_on == recorded.timestamp


def test_occurred_at_defaults_to_the_time_of_recording(app: Overgang, clock: FakeClock) -> None:
    case = enrolled_young_person(app)
    clock.advance(minutes=7)

    app.record_contact(case.young_person_id, a_contact(), a_context())

    recorded = last_event(app, case.young_person_id)
    assert recorded.occurred_at == recorded.timestamp == clock.now


def test_a_fact_recorded_late_keeps_when_it_happened(app: Overgang, clock: FakeClock) -> None:
    case = enrolled_young_person(app)
    last_week = clock.now - timedelta(days=7)

    app.record_contact(case.young_person_id, a_contact(), a_context(occurred_at=last_week))

    recorded = last_event(app, case.young_person_id)
    assert (recorded.occurred_at, recorded.timestamp) == (last_week, clock.now)


def test_the_creating_event_is_stamped_too(app: Overgang, clock: FakeClock) -> None:
    yesterday = clock.now - timedelta(days=1)

    result = app.refer(a_referral(), a_context(PARTNER, occurred_at=yesterday))

    referred = last_event(app, result.ids["young_person_id"])
    assert (referred.occurred_at, referred.timestamp, referred.actor) == (
        yesterday,
        clock.now,
        PARTNER,
    )
    assert app.young_person(result.ids["young_person_id"]).created_on == clock.now


def test_the_actor_and_role_are_recorded(app: Overgang) -> None:
    case = enrolled_young_person(app)
    lead = an_actor(Role.TEAM_LEAD, id="lead-7")

    app.record_contact(case.young_person_id, a_contact(), a_context(lead))

    assert last_event(app, case.young_person_id).actor == lead


def test_a_time_in_another_zone_is_accepted_as_the_same_instant(
    app: Overgang, clock: FakeClock
) -> None:
    case = enrolled_young_person(app)
    copenhagen = timezone(timedelta(hours=1))
    same_instant = clock.now.astimezone(copenhagen)

    app.record_contact(case.young_person_id, a_contact(), a_context(occurred_at=same_instant))

    assert last_event(app, case.young_person_id).occurred_at == clock.now


def test_occurred_at_up_to_the_tolerance_ahead_is_accepted(app: Overgang, clock: FakeClock) -> None:
    case = enrolled_young_person(app)
    at_the_edge = clock.now + TOLERANCE

    app.record_contact(case.young_person_id, a_contact(), a_context(occurred_at=at_the_edge))

    assert last_event(app, case.young_person_id).occurred_at == at_the_edge


def test_occurred_at_beyond_the_tolerance_ahead_is_refused(app: Overgang, clock: FakeClock) -> None:
    case = enrolled_young_person(app)
    too_far = clock.now + TOLERANCE + timedelta(microseconds=1)

    with refused(app, OccurredInFutureError):
        app.record_contact(case.young_person_id, a_contact(), a_context(occurred_at=too_far))
    assert app.young_person(case.young_person_id).contacts_recorded == 0


def test_a_referral_dated_in_the_future_is_refused(app: Overgang, clock: FakeClock) -> None:
    tomorrow = clock.now + timedelta(days=1)

    with refused(app, OccurredInFutureError):
        app.refer(a_referral(), a_context(PARTNER, occurred_at=tomorrow))


def test_the_tolerance_is_the_applications_setting(clock: FakeClock) -> None:
    app = new_app(clock, future_tolerance=timedelta(0))
    case = enrolled_young_person(app)

    with refused(app, OccurredInFutureError):
        app.record_contact(
            case.young_person_id,
            a_contact(),
            a_context(occurred_at=clock.now + timedelta(seconds=1)),
        )


def test_a_naive_occurred_at_is_refused(app: Overgang, clock: FakeClock) -> None:
    case = enrolled_young_person(app)
    naive = clock.now.replace(tzinfo=None) - timedelta(hours=1)

    with refused(app, NaiveDatetimeError):
        app.record_contact(case.young_person_id, a_contact(), a_context(occurred_at=naive))


def test_a_naive_occurred_at_is_refused_even_far_in_the_future(app: Overgang) -> None:
    naive_future = datetime(2999, 1, 1)

    with refused(app, NaiveDatetimeError):
        app.refer(a_referral(), a_context(PARTNER, occurred_at=naive_future))


@pytest.mark.parametrize(
    "occurred_at",
    [None, datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 3, 4, 9, 5, tzinfo=UTC)],
)
def test_a_stamp_keeps_recorded_at_from_now(occurred_at: datetime | None) -> None:
    now = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)

    stamp = Stamp.of(PARTNER, occurred_at, now, TOLERANCE)

    assert (stamp.occurred_at, stamp.recorded_at, stamp.actor) == (
        occurred_at or now,
        now,
        PARTNER,
    )
