"""A transition that goes quiet raises an alert; contact reached ends it.

Every test runs on a stopped clock (``FakeClock``) and moves it by hand: quiet means no
*reached* contact for longer than the threshold (7 days in general, 5 in the first three
weeks of a new education), and attempts do not count.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from uuid import UUID

import pytest
from eventsourcing.domain import Snapshot

from domain import young_person_events as ev
from domain.actors import Actor, Role
from domain.alerts import QuietLimits, QuietPolicy
from domain.application import Overgang
from domain.errors import (
    AlertAlreadyEscalatedError,
    AlertAlreadyOpenError,
    AlertNotOpenError,
    InvalidValueError,
    PersonalDataErasedError,
    TransitionNotQuietError,
)
from domain.vocabulary import (
    AlertLevel,
    AlertResolution,
    AlertSeverity,
    CaseOutcome,
    ErasureRequester,
    QuietPhase,
    TransitionKind,
)
from domain.young_person import YoungPerson
from tests.factories import (
    CaseIds,
    a_contact,
    a_context,
    a_transition,
    an_institution,
    enrolled_young_person,
    refused,
)
from tests.fakes import FakeClock

SWEEPER = a_context(Actor(id="alert-sweeper", role=Role.SYSTEM))
DAY = timedelta(days=1)


def quiet_transition(app: Overgang, clock: FakeClock) -> tuple[CaseIds, UUID]:
    """An enrolled young person whose transition started now, with no contact yet."""
    case = enrolled_young_person(app)
    result = app.start_transition(case.young_person_id, a_transition(), a_context())
    return case, result.ids["transition_id"]


def raise_alert(app: Overgang, case: CaseIds, transition_id: UUID) -> UUID:
    result = app.raise_quiet_alert(case.young_person_id, transition_id, SWEEPER)
    return result.ids["alert_id"]


def events_of(app: Overgang, young_person_id: UUID) -> Sequence[object]:
    return list(app.repository.event_store.get(young_person_id))


def last_event(app: Overgang, young_person_id: UUID) -> object:
    return events_of(app, young_person_id)[-1]


# --- the policy --------------------------------------------------------------------------


START = datetime(2024, 8, 1, 9, 0).astimezone()


def test_default_deadline_is_seven_days_after_the_quiet_began() -> None:
    policy = QuietPolicy()
    deadline = policy.deadline(TransitionKind.OFFER_TO_OFFER, START, None)
    assert deadline == START + 7 * DAY
    assert policy.deadline(TransitionKind.OFFER_TO_OFFER, START, None, escalation=True) == (
        START + 14 * DAY
    )


def test_the_first_three_weeks_of_a_new_education_allow_five_days() -> None:
    policy = QuietPolicy()
    education_started = START + 2 * DAY
    assert policy.deadline(None, START, education_started) == START + 5 * DAY
    assert policy.deadline(None, START, education_started, escalation=True) == START + 10 * DAY


def test_a_quiet_that_began_before_the_education_is_due_when_the_education_starts() -> None:
    # Quiet for six days of preparation (under 7), then the education starts: in the new
    # education's phase five days is the limit, already passed, so it is due at once.
    policy = QuietPolicy()
    education_started = START + 6 * DAY
    assert policy.deadline(None, START, education_started) == education_started


def test_after_the_first_weeks_the_general_threshold_applies_again() -> None:
    policy = QuietPolicy()
    education_started = START - 30 * DAY
    assert policy.phase_at(education_started, START) is QuietPhase.IN_EDUCATION
    assert policy.deadline(None, START, education_started) == START + 7 * DAY


def test_the_first_weeks_ending_switch_to_the_longer_threshold() -> None:
    # Quiet from day 18 of the education: five days would end on day 23, after the
    # three weeks (day 21), where seven days apply: due on day 25.
    policy = QuietPolicy()
    education_started = START - 18 * DAY
    assert policy.deadline(None, START, education_started) == START + 7 * DAY


def test_thresholds_are_configurable_per_kind_and_phase() -> None:
    trial = QuietLimits(quiet=timedelta(days=3), escalate=timedelta(days=6))
    policy = QuietPolicy(by_kind={(TransitionKind.BRIDGE_BUILDING, QuietPhase.PREPARING): trial})
    assert policy.deadline(TransitionKind.BRIDGE_BUILDING, START, None) == START + 3 * DAY
    assert policy.deadline(TransitionKind.OFFER_TO_OFFER, START, None) == START + 7 * DAY


def test_an_escalation_threshold_must_be_longer_than_the_quiet_one() -> None:
    with pytest.raises(InvalidValueError):
        QuietLimits(quiet=timedelta(days=7), escalate=timedelta(days=7))


# --- raising -----------------------------------------------------------------------------


def test_a_transition_quiet_past_its_threshold_raises_an_alert(
    app: Overgang, clock: FakeClock
) -> None:
    case, transition_id = quiet_transition(app, clock)
    started = clock.now
    clock.advance(days=7)
    alert_id = raise_alert(app, case, transition_id)

    raised = last_event(app, case.young_person_id)
    assert isinstance(raised, ev.AlertRaised)
    assert raised.alert_id == alert_id
    assert raised.quiet_since == started
    assert raised.due_at == started + 7 * DAY
    assert raised.threshold_hours == 7 * 24
    assert raised.severity is AlertSeverity.WARNING
    assert raised.counsellor_id == case.counsellor_id
    person = app.young_person(case.young_person_id)
    assert person.open_alerts == {alert_id.hex: transition_id.hex}
    assert person.alert_levels[alert_id.hex] is AlertLevel.RAISED


def test_not_quiet_when_contact_was_reached_the_day_before(app: Overgang, clock: FakeClock) -> None:
    case, transition_id = quiet_transition(app, clock)
    clock.advance(days=6)
    app.record_contact(case.young_person_id, a_contact(reached=True), a_context())
    clock.advance(days=1)
    with refused(app, TransitionNotQuietError):
        raise_alert(app, case, transition_id)


def test_unanswered_calls_and_texts_are_attempts_not_contact(
    app: Overgang, clock: FakeClock
) -> None:
    case, transition_id = quiet_transition(app, clock)
    for _ in range(6):
        clock.advance(days=1)
        app.record_contact(case.young_person_id, a_contact(reached=False), a_context())
    clock.advance(days=1)
    raise_alert(app, case, transition_id)
    assert isinstance(last_event(app, case.young_person_id), ev.AlertRaised)


def test_an_alert_is_raised_once_per_quiet_transition(app: Overgang, clock: FakeClock) -> None:
    case, transition_id = quiet_transition(app, clock)
    clock.advance(days=8)
    raise_alert(app, case, transition_id)
    with refused(app, AlertAlreadyOpenError):
        raise_alert(app, case, transition_id)


def test_absence_reported_during_the_quiet_raises_the_severity(
    app: Overgang, clock: FakeClock
) -> None:
    case, transition_id = quiet_transition(app, clock)
    institution_id = an_institution(app)
    clock.advance(days=3)
    today = clock.now.date()
    app.report_absence(case.young_person_id, institution_id, today, today, "note", a_context())
    clock.advance(days=4)
    raise_alert(app, case, transition_id)
    raised = last_event(app, case.young_person_id)
    assert isinstance(raised, ev.AlertRaised)
    assert raised.severity is AlertSeverity.HIGH


def test_absence_reported_after_the_alert_raises_its_severity(
    app: Overgang, clock: FakeClock
) -> None:
    case, transition_id = quiet_transition(app, clock)
    clock.advance(days=7)
    alert_id = raise_alert(app, case, transition_id)
    today = clock.now.date()
    app.report_absence(case.young_person_id, an_institution(app), today, today, "n", a_context())
    raised = last_event(app, case.young_person_id)
    assert isinstance(raised, ev.AlertSeverityRaised)
    assert raised.alert_id == alert_id
    assert app.young_person(case.young_person_id).alert_severities[alert_id.hex] is (
        AlertSeverity.HIGH
    )


def test_absence_before_the_quiet_began_does_not_count(app: Overgang, clock: FakeClock) -> None:
    case, transition_id = quiet_transition(app, clock)
    yesterday = (clock.now - DAY).date()
    app.report_absence(
        case.young_person_id, an_institution(app), yesterday, yesterday, "n", a_context()
    )
    clock.advance(days=7)
    raise_alert(app, case, transition_id)
    raised = last_event(app, case.young_person_id)
    assert isinstance(raised, ev.AlertRaised)
    assert raised.severity is AlertSeverity.WARNING


# --- escalation --------------------------------------------------------------------------


def test_an_alert_still_quiet_after_the_second_threshold_escalates(
    app: Overgang, clock: FakeClock
) -> None:
    case, transition_id = quiet_transition(app, clock)
    clock.advance(days=7)
    alert_id = raise_alert(app, case, transition_id)
    clock.advance(days=6)
    with refused(app, TransitionNotQuietError):
        app.escalate_quiet_alert(case.young_person_id, alert_id, SWEEPER)
    clock.advance(days=1)
    app.escalate_quiet_alert(case.young_person_id, alert_id, SWEEPER)
    escalated = last_event(app, case.young_person_id)
    assert isinstance(escalated, ev.AlertEscalated)
    assert escalated.threshold_hours == 14 * 24
    assert app.young_person(case.young_person_id).alert_levels[alert_id.hex] is (
        AlertLevel.ESCALATED
    )
    with refused(app, AlertAlreadyEscalatedError):
        app.escalate_quiet_alert(case.young_person_id, alert_id, SWEEPER)


# --- resolution --------------------------------------------------------------------------


def test_reached_contact_resolves_the_alert_by_itself(app: Overgang, clock: FakeClock) -> None:
    case, transition_id = quiet_transition(app, clock)
    clock.advance(days=8)
    alert_id = raise_alert(app, case, transition_id)
    clock.advance(days=1)
    app.record_contact(case.young_person_id, a_contact(reached=False), a_context())
    assert app.young_person(case.young_person_id).open_alerts, "an attempt resolved the alert"
    app.record_contact(case.young_person_id, a_contact(reached=True), a_context())
    resolved = last_event(app, case.young_person_id)
    assert isinstance(resolved, ev.AlertResolved)
    assert resolved.alert_id == alert_id
    assert resolved.resolution is AlertResolution.CONTACT_REACHED
    assert not app.young_person(case.young_person_id).open_alerts


def test_contact_recorded_late_but_before_the_quiet_began_resolves_nothing(
    app: Overgang, clock: FakeClock
) -> None:
    case, transition_id = quiet_transition(app, clock)
    before_the_transition = clock.now - 2 * DAY
    clock.advance(days=8)
    raise_alert(app, case, transition_id)
    app.record_contact(
        case.young_person_id, a_contact(reached=True), a_context(occurred_at=before_the_transition)
    )
    assert isinstance(last_event(app, case.young_person_id), ev.ContactRecorded)
    assert app.young_person(case.young_person_id).open_alerts


def test_an_alert_can_be_acknowledged_with_a_note(app: Overgang, clock: FakeClock) -> None:
    case, transition_id = quiet_transition(app, clock)
    clock.advance(days=8)
    alert_id = raise_alert(app, case, transition_id)
    with refused(app, InvalidValueError):
        app.acknowledge_alert(case.young_person_id, alert_id, "  ", a_context())
    app.acknowledge_alert(case.young_person_id, alert_id, "test: calling her school", a_context())
    acknowledged = last_event(app, case.young_person_id)
    assert isinstance(acknowledged, ev.AlertAcknowledged)
    assert acknowledged.note == "test: calling her school"
    assert "note" in ev.AlertAcknowledged.PERSONAL
    # Acknowledging is not contact: the alert stays open.
    assert alert_id.hex in app.young_person(case.young_person_id).open_alerts


def test_resolved_by_hand_the_quiet_counts_again_from_then(app: Overgang, clock: FakeClock) -> None:
    case, transition_id = quiet_transition(app, clock)
    clock.advance(days=8)
    alert_id = raise_alert(app, case, transition_id)
    with refused(app, InvalidValueError):
        app.resolve_alert(case.young_person_id, alert_id, "", a_context())
    app.resolve_alert(case.young_person_id, alert_id, "test: away with family", a_context())
    resolved = last_event(app, case.young_person_id)
    assert isinstance(resolved, ev.AlertResolved)
    assert resolved.resolution is AlertResolution.BY_HAND
    with refused(app, AlertNotOpenError):
        app.acknowledge_alert(case.young_person_id, alert_id, "late note", a_context())
    clock.advance(days=6)
    with refused(app, TransitionNotQuietError):
        raise_alert(app, case, transition_id)
    clock.advance(days=1)
    raise_alert(app, case, transition_id)


def test_the_transition_ending_resolves_its_alert(app: Overgang, clock: FakeClock) -> None:
    case, transition_id = quiet_transition(app, clock)
    clock.advance(days=8)
    raise_alert(app, case, transition_id)
    app.complete_transition(case.young_person_id, transition_id, a_context())
    resolved = last_event(app, case.young_person_id)
    assert isinstance(resolved, ev.AlertResolved)
    assert resolved.resolution is AlertResolution.TRANSITION_ENDED


def test_closing_the_case_resolves_every_open_alert(app: Overgang, clock: FakeClock) -> None:
    case, first = quiet_transition(app, clock)
    second = app.start_transition(case.young_person_id, a_transition(), a_context()).ids[
        "transition_id"
    ]
    clock.advance(days=8)
    raise_alert(app, case, first)
    raise_alert(app, case, second)
    app.close_case(case.young_person_id, CaseOutcome.MOVED, "note", a_context())
    resolutions = [
        event.resolution
        for event in events_of(app, case.young_person_id)
        if isinstance(event, ev.AlertResolved)
    ]
    assert resolutions == [AlertResolution.CASE_CLOSED, AlertResolution.CASE_CLOSED]


def test_nothing_is_raised_after_erasure(app: Overgang, clock: FakeClock) -> None:
    case, transition_id = quiet_transition(app, clock)
    clock.advance(days=8)
    alert_id = raise_alert(app, case, transition_id)
    app.erase_personal_data(case.young_person_id, ErasureRequester.YOUNG_PERSON, "GDPR 17", SWEEPER)
    assert not app.young_person(case.young_person_id).open_alerts
    with refused(app, PersonalDataErasedError):
        app.acknowledge_alert(case.young_person_id, alert_id, "note", a_context())


# --- snapshots from before alerts ----------------------------------------------------------


def test_a_snapshot_from_before_alerts_is_upcast_with_empty_alert_state(
    app: Overgang, clock: FakeClock
) -> None:
    case, transition_id = quiet_transition(app, clock)
    snapshot = Snapshot.take(app.young_person(case.young_person_id))
    old_state = {
        name: value
        for name, value in snapshot.state.items()
        if name
        not in {
            "last_reached_contact_at",
            "absent_until",
            "transition_kinds",
            "quiet_counted_from",
            "education_started_at",
            "open_alerts",
            "alert_levels",
            "alert_severities",
            "class_version",
        }
    }
    old = Snapshot(
        originator_id=snapshot.originator_id,
        originator_version=snapshot.originator_version,
        timestamp=snapshot.timestamp,
        topic=snapshot.topic,
        state=old_state,
    )
    person = old.mutate(None)
    assert isinstance(person, YoungPerson)
    assert person.open_alerts == {}
    # Nothing is known of the transition's quiet yet: no alert until contact or a reset.
    clock.advance(days=30)
    assert person.quiet_since(transition_id) is None
