"""The timeline read model, fed from the in-memory event store into an SQLite view store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, time, timedelta
from pathlib import Path
from uuid import UUID

import pytest

from domain import young_person_events as ev
from domain.actors import Actor, Role
from domain.application import Overgang
from domain.vocabulary import (
    AppealOutcome,
    CaseOutcome,
    Channel,
    ConsentScope,
    Direction,
    ErasureRequester,
    Place,
    Purpose,
    ReadinessLevel,
    ReviewOutcome,
    TransitionKind,
    TransitionStep,
)
from infra.runner import ProjectionRunner
from projections.store import Row, SQLiteViewStore, ViewStore
from projections.timeline import TimelineProjection, TimelineView
from tests.factories import (
    COUNSELLOR,
    PARTNER,
    TEAM_LEAD,
    a_contact,
    a_context,
    a_counsellor,
    a_transition,
    an_institution,
    decision_content,
    enrolled_young_person,
    injunction,
    new_app,
    referred_young_person,
)
from tests.fakes import DEFAULT_START, FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(clock: FakeClock) -> Overgang:
    return new_app(clock)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ViewStore]:
    store = SQLiteViewStore(tmp_path / "views.db")
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def runner(app: Overgang, store: ViewStore) -> ProjectionRunner:
    return ProjectionRunner(app, store, [TimelineProjection()], batch_size=7)


def timeline(runner: ProjectionRunner, young_person_id: UUID) -> list[Row]:
    runner.catch_up()
    with runner.store.transaction(readonly=True) as cur:
        return TimelineView.entries(cur, [young_person_id.hex])[young_person_id.hex]


def summaries(runner: ProjectionRunner, young_person_id: UUID) -> list[str]:
    return [row["summary"] for row in timeline(runner, young_person_id)]


# --- a history with every kind of fact ---------------------------------------------------------


def a_full_history(app: Overgang, clock: FakeClock, *, erase: bool = True) -> UUID:
    """One young person's case with every event type of the stream, an hour apart
    (without the erasure at the end if ``erase`` is false)."""

    def later() -> None:
        clock.advance(hours=1)

    institution_id = an_institution(app)
    first = a_counsellor(app)
    second = a_counsellor(app)
    young_person_id = referred_young_person(app, institution_id=institution_id)
    person = young_person_id
    later()
    app.review_referral(person, ReviewOutcome.ACCEPTED, date(2024, 3, 4), "ok", a_context())
    later()
    app.enrol(person, first, None, a_context())
    later()
    app.assign_counsellor(person, second, "test reason", None, a_context(TEAM_LEAD))
    later()
    app.record_consent(person, ConsentScope.PHONE_CONTACT, None, a_context())
    later()
    app.withdraw_consent(person, ConsentScope.PHONE_CONTACT, None, a_context())
    later()
    app.record_contact(
        person,
        a_contact(channel=Channel.PHONE, place=Place.HOME, duration_minutes=20),
        a_context(),
    )
    later()
    app.agree_wake_up(person, time(7, 30), [1, 3, 5], Channel.SMS, a_context())
    later()
    app.end_wake_up(person, "test reason", a_context())
    later()
    app.draft_plan(person, "test goal", True, a_context())
    later()
    reached = app.set_milestone(person, "test title", date(2024, 4, 1), a_context())
    later()
    app.reach_milestone(person, reached.ids["milestone_id"], "test note", a_context())
    later()
    missed = app.set_milestone(person, "test title", date(2024, 4, 8), a_context()).ids[
        "milestone_id"
    ]
    later()
    app.miss_milestone(person, missed, "test note", a_context())
    later()
    app.reschedule_milestone(person, missed, date(2024, 5, 6), "test reason", a_context())
    later()
    app.drop_milestone(person, missed, "test reason", a_context())
    later()
    app.review_plan(person, "test note", date(2024, 6, 3), a_context())
    later()
    bridge = app.start_transition(
        person, a_transition(kind=TransitionKind.BRIDGE_BUILDING), a_context()
    ).ids["transition_id"]
    later()
    app.record_transition_step(person, bridge, TransitionStep.FIRST_DAY, "note", a_context())
    later()
    app.start_education(person, bridge, institution_id, a_context())
    later()
    app.complete_transition(person, bridge, a_context())
    later()
    other = app.start_transition(person, a_transition(), a_context()).ids["transition_id"]
    clock.advance(days=8)
    sweeper = a_context(Actor(id="alert-sweeper", role=Role.SYSTEM))
    alert = app.raise_quiet_alert(person, other, sweeper).ids["alert_id"]
    later()
    app.acknowledge_alert(person, alert, "test note", a_context())
    later()
    partner = a_context(PARTNER)
    app.report_absence(
        person, institution_id, date(2024, 3, 11), date(2024, 3, 12), "test note", partner
    )
    clock.advance(days=7)
    app.escalate_quiet_alert(person, alert, sweeper)
    later()
    app.resolve_alert(person, alert, "test reason", a_context())
    later()
    app.abandon_transition(person, other, "test reason", a_context())
    later()
    app.report_concern(person, institution_id, "test note", partner)
    later()
    app.report_dropout(person, institution_id, "test note", partner)
    later()
    content = decision_content(decided_by=second)
    app.assess_readiness(person, ReadinessLevel.EDUCATION_READY, content, a_context())
    later()
    issued = app.issue_injunction(person, injunction(), content, a_context()).ids["decision_id"]
    later()
    app.revise_injunction(person, issued, injunction(), "test changes", content, a_context())
    later()
    sanction = app.decide_sanction(person, "test reduction", content, a_context()).ids[
        "decision_id"
    ]
    later()
    decided = app.make_other_decision(person, "test subject", content, a_context())
    later()
    app.appeal_decision(person, sanction, "test note", a_context())
    later()
    app.decide_appeal(person, sanction, AppealOutcome.UPHELD, "test note", a_context())
    later()
    app.revoke_decision(person, decided.ids["decision_id"], "test reason", a_context())
    later()
    app.close_case(person, CaseOutcome.IN_EDUCATION, "test note", a_context())
    later()
    app.reopen_case(person, "test reason", None, a_context())
    later()
    app.record_subject_access_export(person, "overgang-export", 1, a_context())
    if erase:
        later()
        app.erase_personal_data(person, ErasureRequester.YOUNG_PERSON, "GDPR art. 17", a_context())
    return young_person_id


EVERY_SUMMARY = [
    "Referred by a partner institution (consent: case work, SMS contact)",
    "Referral reviewed: accepted",
    "Enrolled with a counsellor of team aalborg-mobil",
    "Case handed over to another counsellor in team aalborg-mobil",
    "Consent given: phone contact",
    "Consent withdrawn: phone contact",
    "Contact by phone at home: reached (check-in, 20 min)",
    "Wake-up agreed by SMS at 07:30 on Mon, Wed, Fri",
    "Wake-up agreement ended",
    "Plan drafted together with the young person",
    "Milestone set, due 2024-04-01",
    "Milestone reached",
    "Milestone set, due 2024-04-08",
    "Milestone missed",
    "Milestone rescheduled to 2024-05-06",
    "Milestone dropped",
    "Plan reviewed, next review 2024-06-03",
    "Transition started: bridge-building trial",
    "Transition step: first day",
    "Education started",
    "Transition completed",
    "Transition started: school to youth education",
    "Alert: no contact reached for 7 days in the transition",
    "Alert acknowledged",
    "Absence reported by the institution from 2024-03-11 to 2024-03-12",
    "Alert raised to high severity: absence reported during the quiet",
    "Alert escalated to the team lead: no contact reached for 14 days",
    "Alert resolved: by hand",
    "Transition abandoned",
    "Concern reported by the institution",
    "Dropout reported by the institution",
    "Readiness assessed: education-ready",
    "Education injunction issued",
    "Education injunction revised",
    "Sanction decided",
    "Other decision made",
    "Decision appealed",
    "Appeal decided: upheld",
    "Decision revoked",
    "Case closed: in education",
    "Case reopened",
    "Personal data exported to the young person",
    "Personal data erased at the young person's request",
]


def young_person_event_types() -> set[type[ev.YoungPersonEvent]]:
    found: set[type[ev.YoungPersonEvent]] = set()
    pending = [ev.YoungPersonEvent]
    while pending:
        for sub in pending.pop().__subclasses__():
            if sub.__module__ == ev.__name__ and sub not in found:
                found.add(sub)
                pending.append(sub)
    # The bases of the decisions and alerts are abstract: only subclasses are recorded.
    return found - {ev.DecisionRecorded, ev.AlertEvent}


def test_every_young_person_event_is_summarised_exactly(
    app: Overgang, clock: FakeClock, runner: ProjectionRunner
) -> None:
    young_person_id = a_full_history(app, clock)

    rows = timeline(runner, young_person_id)

    assert [row["summary"] for row in rows] == EVERY_SUMMARY
    assert {row["event_type"] for row in rows} == {t.__name__ for t in young_person_event_types()}


def test_every_event_type_has_a_summary_of_its_own() -> None:
    # The descriptor itself: attribute access would bind it to a function.
    dispatcher = vars(TimelineProjection)["summary"].dispatcher
    fallback = dispatcher.dispatch(ev.YoungPersonEvent)

    without = sorted(
        t.__name__ for t in young_person_event_types() if dispatcher.dispatch(t) is fallback
    )

    assert without == []


def test_summaries_name_no_one_and_quote_no_free_text(
    app: Overgang, clock: FakeClock, runner: ProjectionRunner
) -> None:
    young_person_id = a_full_history(app, clock)

    rows = timeline(runner, young_person_id)

    personal_words = ("test", "Test", "GDPR")
    leaked = [row["event_type"] for row in rows if any(w in row["summary"] for w in personal_words)]
    assert leaked == []


def test_a_contact_reads_as_one_line_with_channel_place_outcome_and_purpose(
    app: Overgang, runner: ProjectionRunner
) -> None:
    young_person_id = enrolled_young_person(app).young_person_id
    contacts = [
        a_contact(
            channel=Channel.SMS,
            place=None,
            purpose=Purpose.WAKE_UP,
            reached=False,
            duration_minutes=None,
        ),
        a_contact(channel=Channel.MEETING, place=Place.CAR, purpose=Purpose.PRACTICAL_HELP),
        a_contact(
            channel=Channel.PHONE,
            direction=Direction.INCOMING,
            place=None,
            purpose=Purpose.CRISIS,
            duration_minutes=45,
        ),
    ]
    for contact in contacts:
        app.record_contact(young_person_id, contact, a_context())

    assert summaries(runner, young_person_id)[-3:] == [
        "Contact by SMS: not reached (wake-up)",
        "Contact in a meeting in the car: reached (practical help, 30 min)",
        "Incoming contact by phone: reached (crisis, 45 min)",
    ]


def test_entries_carry_times_actor_and_details_of_the_event(
    app: Overgang, clock: FakeClock, runner: ProjectionRunner
) -> None:
    young_person_id = enrolled_young_person(app).young_person_id
    clock.advance(hours=2)
    occurred = DEFAULT_START + timedelta(hours=1)
    result = app.start_transition(
        young_person_id,
        a_transition(kind=TransitionKind.BRIDGE_BUILDING, expected_start=date(2024, 8, 12)),
        a_context(occurred_at=occurred),
    )

    entry = timeline(runner, young_person_id)[-1]

    assert entry["position"] == result.position
    assert entry["young_person_id"] == young_person_id.hex
    assert entry["occurred_at"] == "2024-03-04T10:00:00.000000+00:00"
    assert entry["recorded_at"] == "2024-03-04T11:00:00.000000+00:00"
    assert entry["event_type"] == "TransitionStarted"
    assert (entry["actor_id"], entry["actor_role"]) == (COUNSELLOR.id, Role.COUNSELLOR.value)
    assert json.loads(entry["details"]) == {
        "transition_id": result.ids["transition_id"].hex,
        "kind": "bridge_building",
        "from_situation": "test: leaving 9th grade",
        "to_institution_id": None,
        "programme": "test programme",
        "expected_start": "2024-08-12",
    }


def test_facts_recorded_late_take_their_place_in_time(
    app: Overgang, clock: FakeClock, runner: ProjectionRunner
) -> None:
    young_person_id = enrolled_young_person(app).young_person_id
    clock.advance(days=3)
    app.record_contact(young_person_id, a_contact(purpose=Purpose.FOLLOW_UP), a_context())
    clock.advance(hours=1)
    # Yesterday's phone call, written down only now.
    app.record_contact(
        young_person_id,
        a_contact(channel=Channel.PHONE, place=None, purpose=Purpose.REMINDER),
        a_context(occurred_at=clock.now - timedelta(days=1)),
    )

    rows = timeline(runner, young_person_id)

    assert [row["summary"] for row in rows] == [
        "Referred to the team (consent: case work, SMS contact)",
        "Referral reviewed: accepted",
        "Enrolled with a counsellor of team aalborg-mobil",
        "Contact by phone: reached (reminder, 30 min)",
        "Contact in a meeting at a cafe: reached (follow-up, 30 min)",
    ]
    late, earlier = rows[3], rows[4]
    assert late["position"] > earlier["position"]
    assert late["recorded_at"] > earlier["recorded_at"]


def test_same_moment_is_ordered_by_log_position(app: Overgang, runner: ProjectionRunner) -> None:
    young_person_id = enrolled_young_person(app).young_person_id
    for purpose in (Purpose.REMINDER, Purpose.ENCOURAGEMENT, Purpose.FOLLOW_UP):
        app.record_contact(young_person_id, a_contact(purpose=purpose), a_context())

    rows = timeline(runner, young_person_id)

    assert len({row["occurred_at"] for row in rows}) == 1
    assert [row["position"] for row in rows] == sorted(row["position"] for row in rows)


def test_counsellor_and_institution_events_are_not_on_any_timeline(
    app: Overgang, runner: ProjectionRunner
) -> None:
    a_counsellor(app)
    an_institution(app)
    young_person_id = enrolled_young_person(app).young_person_id
    runner.catch_up()

    with runner.store.transaction(readonly=True) as cur:
        owners = cur.execute("SELECT DISTINCT young_person_id FROM timeline_entries").fetchall()
        types = cur.execute("SELECT DISTINCT event_type FROM timeline_entries").fetchall()

    assert owners == [{"young_person_id": young_person_id.hex}]
    assert sorted(row["event_type"] for row in types) == [
        "Enrolled",
        "ReferralReviewed",
        "Referred",
    ]


# --- the view's reads -----------------------------------------------------------------------


@pytest.fixture
def three_people(app: Overgang, runner: ProjectionRunner) -> list[str]:
    counsellor_id = a_counsellor(app)
    ids = [enrolled_young_person(app, counsellor_id=counsellor_id).young_person_id for _ in "abc"]
    for young_person_id in ids[:2]:
        app.record_contact(young_person_id, a_contact(), a_context())
    runner.catch_up()
    return [young_person_id.hex for young_person_id in ids]


def test_entries_of_many_young_people_come_grouped(
    runner: ProjectionRunner, three_people: list[str]
) -> None:
    unknown = UUID(int=1).hex
    with runner.store.transaction(readonly=True) as cur:
        grouped = TimelineView.entries(cur, [*three_people, unknown])

    assert {key: len(rows) for key, rows in grouped.items()} == {
        three_people[0]: 4,
        three_people[1]: 4,
        three_people[2]: 3,
        unknown: 0,
    }
    assert all(row["young_person_id"] == key for key, rows in grouped.items() for row in rows)


def test_limit_applies_per_young_person_and_after_position_continues(
    runner: ProjectionRunner, three_people: list[str]
) -> None:
    with runner.store.transaction(readonly=True) as cur:
        everything = TimelineView.entries(cur, three_people)
        first_two = TimelineView.entries(cur, three_people, limit=2)
        cursor = everything[three_people[0]][1]["position"]
        rest = TimelineView.entries(cur, three_people[:1], after_position=cursor)
        nothing = TimelineView.entries(cur, three_people, limit=0)

    assert first_two == {key: rows[:2] for key, rows in everything.items()}
    assert rest == {three_people[0]: everything[three_people[0]][2:]}
    assert nothing == {key: [] for key in three_people}


def test_known_tells_which_young_people_have_a_timeline(
    runner: ProjectionRunner, three_people: list[str]
) -> None:
    with runner.store.transaction(readonly=True) as cur:
        known = TimelineView.known(cur, [three_people[0], UUID(int=1).hex])
        none = TimelineView.known(cur, [])

    assert known == {three_people[0]}
    assert none == set()


def test_a_rebuild_gives_the_same_timeline(
    app: Overgang, clock: FakeClock, runner: ProjectionRunner
) -> None:
    young_person_id = a_full_history(app, clock)
    before = timeline(runner, young_person_id)

    runner.rebuild("timeline")

    assert timeline(runner, young_person_id) == before
