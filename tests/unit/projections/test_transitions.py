"""The transitions read model: hand-written histories on the in-memory app, projected into
SQLite and PostgreSQL, and generated histories checked against the domain's own state."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from itertools import zip_longest
from pathlib import Path
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.application import Overgang
from domain.values import ReferralDetails
from domain.vocabulary import (
    CaseStatus,
    ErasureRequester,
    TransitionKind,
    TransitionPhase,
    TransitionStep,
)
from infra.runner import ProjectionRunner
from projections.base import PositionedEvent
from projections.columns import iso_utc
from projections.store import Row, SQLiteViewStore, ViewStore
from projections.transitions import (
    STEPS,
    TRANSITIONS,
    TransitionsProjection,
    TransitionsView,
    days_since_start,
)
from tests.backends import Backend
from tests.factories import (
    PARTNER,
    a_context,
    a_transition,
    an_institution,
    enrolled_young_person,
    new_app,
)
from tests.fakes import DEFAULT_START, FakeClock
from tests.strategies import Refer, World, histories, perform
from tests.strategies import Step as HistoryStep
from tests.views import logged_events, shredded


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(clock: FakeClock) -> Overgang:
    return new_app(clock)


@pytest.fixture
def store(backend: Backend) -> Iterator[ViewStore]:
    store = backend.view_store()
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def runner(app: Overgang, store: ViewStore) -> ProjectionRunner:
    return ProjectionRunner(app, store, [TransitionsProjection()], batch_size=7)


def transitions_of(runner: ProjectionRunner, young_person_id: UUID) -> list[Row]:
    runner.catch_up()
    with runner.store.transaction(readonly=True) as cur:
        return TransitionsView.transitions(cur, [young_person_id.hex])[young_person_id.hex]


def steps_of(runner: ProjectionRunner, transition_id: UUID) -> list[Row]:
    runner.catch_up()
    with runner.store.transaction(readonly=True) as cur:
        return TransitionsView.steps(cur, [transition_id.hex])[transition_id.hex]


def at(hours: float) -> str:
    """The stored form of a moment ``hours`` after the fake clock's start."""
    return iso_utc(DEFAULT_START + timedelta(hours=hours))


def dump(store: ViewStore) -> dict[str, list[Row]]:
    with store.transaction(readonly=True) as cur:
        return {
            table: cur.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
            for table in (TRANSITIONS, STEPS)
        }


# --- transitions and their phases ----------------------------------------------------------------


def test_without_transitions_there_are_none(app: Overgang, runner: ProjectionRunner) -> None:
    young_person_id = enrolled_young_person(app).young_person_id
    unknown = UUID(int=1).hex
    runner.catch_up()

    with runner.store.transaction(readonly=True) as cur:
        transitions = TransitionsView.transitions(cur, [young_person_id.hex, unknown])
        steps = TransitionsView.steps(cur, [unknown])
        nothing = (TransitionsView.transitions(cur, []), TransitionsView.steps(cur, []))

    assert transitions == {young_person_id.hex: [], unknown: []}
    assert steps == {unknown: []}
    assert nothing == ({}, {})


def test_a_started_transition_is_preparing_with_where_it_leads(
    app: Overgang, clock: FakeClock, runner: ProjectionRunner
) -> None:
    institution_id = an_institution(app)
    young_person_id = enrolled_young_person(app).young_person_id
    clock.advance(hours=3)
    result = app.start_transition(
        young_person_id,
        a_transition(
            kind=TransitionKind.BASIC_TO_MAIN_COURSE,
            from_situation="test: basic course",
            to_institution_id=institution_id,
            programme="test: carpentry",
            expected_start=date(2024, 8, 12),
        ),
        a_context(),
    )

    assert transitions_of(runner, young_person_id) == [
        {
            "transition_id": result.ids["transition_id"].hex,
            "young_person_id": young_person_id.hex,
            "position": result.position,
            "kind": "basic_to_main_course",
            "phase": "preparing",
            "from_situation": "test: basic course",
            "programme": "test: carpentry",
            "to_institution_id": institution_id.hex,
            "expected_start": "2024-08-12",
            "started_at": at(3),
            "education_started_at": None,
            "education_institution_id": None,
            "ended_at": None,
            "abandon_reason": None,
        }
    ]


def test_transitions_of_several_kinds_come_newest_first(
    app: Overgang, clock: FakeClock, runner: ProjectionRunner
) -> None:
    young_person_id = enrolled_young_person(app).young_person_id
    kinds = [
        TransitionKind.BRIDGE_BUILDING,
        TransitionKind.BENEFIT_TO_EDUCATION,
        TransitionKind.OFFER_TO_OFFER,
    ]
    for kind in kinds:
        clock.advance(days=1)
        app.start_transition(
            young_person_id, a_transition(kind=kind, expected_start=None), a_context()
        )
    # Written down last, but it happened first.
    app.start_transition(
        young_person_id,
        a_transition(kind=TransitionKind.EDUCATION_TO_JOB),
        a_context(occurred_at=DEFAULT_START),
    )

    rows = transitions_of(runner, young_person_id)

    assert [(row["kind"], row["started_at"]) for row in rows] == [
        ("offer_to_offer", at(72)),
        ("benefit_to_education", at(48)),
        ("bridge_building", at(24)),
        ("education_to_job", at(0)),
    ]
    assert [row["expected_start"] for row in rows] == [None, None, None, "2024-08-12"]
    assert {row["phase"] for row in rows} == {"preparing"}


def test_transitions_started_at_the_same_moment_come_latest_recorded_first(
    app: Overgang, runner: ProjectionRunner
) -> None:
    young_person_id = enrolled_young_person(app).young_person_id
    ids = [
        app.start_transition(young_person_id, a_transition(), a_context()).ids["transition_id"]
        for _ in range(3)
    ]

    rows = transitions_of(runner, young_person_id)

    assert [row["transition_id"] for row in rows] == [i.hex for i in reversed(ids)]


def test_education_start_records_when_and_where(
    app: Overgang, clock: FakeClock, runner: ProjectionRunner
) -> None:
    institution_id = an_institution(app)
    young_person_id = enrolled_young_person(app).young_person_id
    transition_id = app.start_transition(young_person_id, a_transition(), a_context()).ids[
        "transition_id"
    ]
    clock.advance(days=5)
    app.start_education(young_person_id, transition_id, institution_id, a_context())

    [row] = transitions_of(runner, young_person_id)

    assert row["phase"] == "in_education"
    assert (row["education_started_at"], row["education_institution_id"]) == (
        at(5 * 24),
        institution_id.hex,
    )
    assert row["ended_at"] is None


def test_completion_ends_the_transition(
    app: Overgang, clock: FakeClock, runner: ProjectionRunner
) -> None:
    young_person_id = enrolled_young_person(app).young_person_id
    transition_id = app.start_transition(young_person_id, a_transition(), a_context()).ids[
        "transition_id"
    ]
    clock.advance(days=5)
    app.start_education(young_person_id, transition_id, None, a_context())
    clock.advance(days=60)
    app.complete_transition(young_person_id, transition_id, a_context())

    [row] = transitions_of(runner, young_person_id)

    assert (row["phase"], row["ended_at"], row["abandon_reason"]) == (
        "completed",
        at(65 * 24),
        None,
    )
    assert (row["education_started_at"], row["education_institution_id"]) == (at(5 * 24), None)


def test_abandonment_ends_the_transition_with_its_reason(
    app: Overgang, clock: FakeClock, runner: ProjectionRunner
) -> None:
    young_person_id = enrolled_young_person(app).young_person_id
    transition_id = app.start_transition(young_person_id, a_transition(), a_context()).ids[
        "transition_id"
    ]
    clock.advance(days=3)
    app.abandon_transition(young_person_id, transition_id, "test reason: changed mind", a_context())

    [row] = transitions_of(runner, young_person_id)

    assert (row["phase"], row["ended_at"], row["abandon_reason"]) == (
        "abandoned",
        at(3 * 24),
        "test reason: changed mind",
    )
    assert row["education_started_at"] is None


def test_two_transitions_in_sequence_keep_their_own_steps(
    app: Overgang, clock: FakeClock, runner: ProjectionRunner
) -> None:
    young_person_id = enrolled_young_person(app).young_person_id
    person = young_person_id
    bridge = app.start_transition(
        person, a_transition(kind=TransitionKind.BRIDGE_BUILDING), a_context()
    ).ids["transition_id"]
    clock.advance(days=1)
    app.record_transition_step(person, bridge, TransitionStep.VISITED, "test note 1", a_context())
    clock.advance(days=1)
    app.complete_transition(person, bridge, a_context())
    clock.advance(days=1)
    course = app.start_transition(
        person, a_transition(kind=TransitionKind.SCHOOL_TO_YOUTH_EDUCATION), a_context()
    ).ids["transition_id"]
    clock.advance(days=1)
    app.record_transition_step(person, course, TransitionStep.APPLIED, "test note 2", a_context())
    clock.advance(days=1)
    app.record_transition_step(person, course, TransitionStep.ADMITTED, "test note 3", a_context())
    clock.advance(days=1)
    app.start_education(person, course, None, a_context())
    clock.advance(days=1)
    app.record_transition_step(person, course, TransitionStep.FIRST_DAY, "test note 4", a_context())

    rows = transitions_of(runner, young_person_id)
    with runner.store.transaction(readonly=True) as cur:
        steps = TransitionsView.steps(cur, [course.hex, bridge.hex])

    assert [(row["transition_id"], row["phase"]) for row in rows] == [
        (course.hex, "in_education"),
        (bridge.hex, "completed"),
    ]
    assert {
        key: [(s["step"], s["occurred_at"], s["note"]) for s in rows] for key, rows in steps.items()
    } == {
        bridge.hex: [("visited", at(24), "test note 1")],
        course.hex: [
            ("applied", at(96), "test note 2"),
            ("admitted", at(120), "test note 3"),
            ("first_day", at(168), "test note 4"),
        ],
    }
    assert {s["young_person_id"] for rows in steps.values() for s in rows} == {young_person_id.hex}


def test_a_step_written_down_late_takes_its_place_in_time(
    app: Overgang, clock: FakeClock, runner: ProjectionRunner
) -> None:
    young_person_id = enrolled_young_person(app).young_person_id
    transition_id = app.start_transition(young_person_id, a_transition(), a_context()).ids[
        "transition_id"
    ]
    clock.advance(days=3)
    app.record_transition_step(
        young_person_id, transition_id, TransitionStep.ADMITTED, "n", a_context()
    )
    app.record_transition_step(
        young_person_id,
        transition_id,
        TransitionStep.APPLIED,
        "n",
        a_context(occurred_at=DEFAULT_START + timedelta(days=1)),
    )

    steps = steps_of(runner, transition_id)

    assert [s["step"] for s in steps] == ["applied", "admitted"]
    assert steps[0]["position"] > steps[1]["position"]


def test_many_young_people_in_one_read(app: Overgang, runner: ProjectionRunner) -> None:
    first = enrolled_young_person(app).young_person_id
    second = enrolled_young_person(app).young_person_id
    app.start_transition(first, a_transition(), a_context())
    for _ in range(2):
        app.start_transition(second, a_transition(), a_context())
    runner.catch_up()

    with runner.store.transaction(readonly=True) as cur:
        grouped = TransitionsView.transitions(cur, [first.hex, second.hex, first.hex])

    assert {key: len(rows) for key, rows in grouped.items()} == {first.hex: 1, second.hex: 2}
    assert all(row["young_person_id"] == key for key, rows in grouped.items() for row in rows)


# --- days since start ----------------------------------------------------------------------------


def test_days_since_start_counts_calendar_days() -> None:
    started = iso_utc(datetime(2024, 3, 4, 23, 30, tzinfo=UTC))

    assert days_since_start(started, date(2024, 3, 4)) == 0
    assert days_since_start(started, date(2024, 3, 5)) == 1
    assert days_since_start(started, date(2024, 4, 3)) == 30
    assert days_since_start(started, date(2024, 3, 1)) == -3


def test_days_since_start_counts_in_the_readers_time_zone() -> None:
    # 23:30 UTC on 4 March is already 5 March in Copenhagen.
    started = iso_utc(datetime(2024, 3, 4, 23, 30, tzinfo=UTC))
    copenhagen = ZoneInfo("Europe/Copenhagen")

    assert days_since_start(started, date(2024, 3, 5), copenhagen) == 0
    assert days_since_start(started, date(2024, 3, 5)) == 1


@given(
    moment=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    days=st.integers(min_value=-1000, max_value=1000),
)
def test_days_since_start_is_the_days_between_the_dates(moment: datetime, days: int) -> None:
    assert days_since_start(iso_utc(moment), moment.date() + timedelta(days=days)) == days


def test_days_since_a_stored_education_start(
    app: Overgang, clock: FakeClock, runner: ProjectionRunner
) -> None:
    young_person_id = enrolled_young_person(app).young_person_id
    transition_id = app.start_transition(young_person_id, a_transition(), a_context()).ids[
        "transition_id"
    ]
    clock.advance(days=2)
    app.start_education(young_person_id, transition_id, None, a_context())

    [row] = transitions_of(runner, young_person_id)

    today = DEFAULT_START.date() + timedelta(days=12)
    assert days_since_start(row["started_at"], today) == 12
    assert days_since_start(row["education_started_at"], today) == 10


# --- personal data -------------------------------------------------------------------------------


def transitions_with_steps(app: Overgang, clock: FakeClock) -> UUID:
    young_person_id = enrolled_young_person(app).young_person_id
    person = young_person_id
    personal = a_transition(from_situation="test: PERSONAL", programme="test: PERSONAL")
    first = app.start_transition(person, personal, a_context()).ids["transition_id"]
    app.record_transition_step(
        person, first, TransitionStep.APPLIED, "test note: PERSONAL", a_context()
    )
    clock.advance(days=1)
    app.abandon_transition(person, first, "test reason: PERSONAL", a_context())
    second = app.start_transition(person, personal, a_context()).ids["transition_id"]
    app.record_transition_step(
        person, second, TransitionStep.VISITED, "test note: PERSONAL", a_context()
    )
    clock.advance(days=1)
    app.start_education(person, second, None, a_context())
    return young_person_id


def test_erasure_purges_situations_programmes_reasons_and_notes(
    app: Overgang, clock: FakeClock, runner: ProjectionRunner
) -> None:
    erased = transitions_with_steps(app, clock)
    kept = transitions_with_steps(app, clock)
    before = transitions_of(runner, erased)
    clock.advance(days=1)
    app.erase_personal_data(erased, ErasureRequester.YOUNG_PERSON, "GDPR art. 17", a_context())

    after = transitions_of(runner, erased)

    purged = {"from_situation": None, "programme": None, "abandon_reason": None}
    assert after == [{**row, **purged} for row in before]
    assert [row["phase"] for row in after] == ["in_education", "abandoned"]
    steps = [step for row in after for step in steps_of(runner, UUID(row["transition_id"]))]
    assert [(step["step"], step["note"]) for step in steps] == [
        ("visited", None),
        ("applied", None),
    ]
    stored = dump(runner.store)
    of_erased = [row for rows in stored.values() for row in rows if erased.hex in row.values()]
    assert len(of_erased) == 4
    assert "PERSONAL" not in repr(of_erased)
    assert "PERSONAL" in repr(transitions_of(runner, kept))


def test_erasure_in_the_same_batch_as_the_transitions_still_purges(
    app: Overgang, clock: FakeClock, store: ViewStore
) -> None:
    young_person_id = transitions_with_steps(app, clock)
    app.erase_personal_data(
        young_person_id, ErasureRequester.YOUNG_PERSON, "GDPR art. 17", a_context()
    )
    ProjectionRunner(app, store, [TransitionsProjection()], batch_size=1000).catch_up()

    stored = dump(store)

    assert stored[TRANSITIONS] and stored[STEPS]
    assert "PERSONAL" not in repr(stored)


def test_events_whose_personal_fields_were_shredded_still_project(
    app: Overgang, clock: FakeClock, store: ViewStore
) -> None:
    young_person_id = transitions_with_steps(app, clock)
    events: list[PositionedEvent] = [
        (position, shredded(event)) for position, event in logged_events(app)
    ]
    projection = TransitionsProjection()

    with store.transaction() as cur:
        projection.create_tables(cur)
        projection.process(cur, events)
    with store.transaction(readonly=True) as cur:
        rows = TransitionsView.transitions(cur, [young_person_id.hex])[young_person_id.hex]
        steps = TransitionsView.steps(cur, [row["transition_id"] for row in rows])

    assert [
        (row["phase"], row["from_situation"], row["programme"], row["abandon_reason"])
        for row in rows
    ] == [("in_education", None, None, None), ("abandoned", None, None, None)]
    assert [s["note"] for steps_of_one in steps.values() for s in steps_of_one] == [None, None]


# --- batches and rebuilds ------------------------------------------------------------------------


def several_interleaved_transitions(app: Overgang, clock: FakeClock) -> None:
    institution_id = an_institution(app)
    people = [enrolled_young_person(app).young_person_id for _ in range(3)]
    started: dict[UUID, list[UUID]] = {person: [] for person in people}
    for kind in (TransitionKind.BRIDGE_BUILDING, TransitionKind.SCHOOL_TO_YOUTH_EDUCATION):
        for person in people:
            clock.advance(hours=1)
            result = app.start_transition(person, a_transition(kind=kind), a_context())
            started[person].append(result.ids["transition_id"])
            app.record_transition_step(
                person,
                result.ids["transition_id"],
                TransitionStep.APPLIED,
                "test note",
                a_context(),
            )
    for person in people:
        bridge, course = started[person]
        app.complete_transition(person, bridge, a_context())
        app.start_education(person, course, institution_id, a_context())
        app.record_transition_step(
            person, course, TransitionStep.FIRST_WEEK, "test note", a_context()
        )
    app.abandon_transition(people[0], started[people[0]][1], "test reason", a_context())
    app.erase_personal_data(people[1], ErasureRequester.GUARDIAN, "GDPR art. 17", a_context())


@pytest.mark.parametrize("batch_size", [1, 3])
def test_batch_size_does_not_change_the_tables(
    app: Overgang, clock: FakeClock, store: ViewStore, batch_size: int
) -> None:
    several_interleaved_transitions(app, clock)
    ProjectionRunner(app, store, [TransitionsProjection()], batch_size=1000).catch_up()
    in_one_batch = dump(store)

    runner = ProjectionRunner(app, store, [TransitionsProjection()], batch_size=batch_size)
    runner.rebuild("transitions")

    assert dump(store) == in_one_batch
    assert [len(rows) for rows in in_one_batch.values()] == [6, 9]


# --- generated histories agree with the domain ---------------------------------------------------


def record(cases: list[tuple[ReferralDetails, list[HistoryStep]]]) -> tuple[Overgang, list[UUID]]:
    """Every case's referral, then their commands interleaved, so batches mix people."""
    world = World.new()
    for referral, _ in cases:
        Refer(referral).run(world, a_context(PARTNER))
    for round_of_steps in zip_longest(*(steps for _, steps in cases)):
        for person, step in zip(world.people, round_of_steps, strict=True):
            if step is not None:
                perform(world, person, step)
    return world.app, [person.id for person in world.people]


@given(
    cases=st.lists(histories(max_steps=25), min_size=1, max_size=3),
    batch_size=st.integers(min_value=1, max_value=6),
)
def test_generated_histories_agree_with_the_domain_in_any_batch_size(
    cases: list[tuple[ReferralDetails, list[HistoryStep]]], batch_size: int
) -> None:
    app, people = record(cases)
    ids = [person.hex for person in people]

    with tempfile.TemporaryDirectory() as folder:
        store = SQLiteViewStore(Path(folder) / "views.db")
        try:
            ProjectionRunner(app, store, [TransitionsProjection()], batch_size=1000).catch_up()
            in_one_batch = dump(store)
            runner = ProjectionRunner(app, store, [TransitionsProjection()], batch_size=batch_size)
            runner.rebuild("transitions")
            assert dump(store) == in_one_batch
            with store.transaction(readonly=True) as cur:
                transitions = TransitionsView.transitions(cur, ids)
                steps = TransitionsView.steps(
                    cur, [row["transition_id"] for rows in transitions.values() for row in rows]
                )
        finally:
            store.close()

    for young_person_id in people:
        person = app.young_person(young_person_id)
        rows = transitions[young_person_id.hex]
        assert {row["transition_id"]: TransitionPhase(row["phase"]) for row in rows} == (
            person.transitions
        )
        assert [row["started_at"] for row in rows] == sorted(
            (row["started_at"] for row in rows), reverse=True
        )
        for row in rows:
            ended = row["phase"] in ("completed", "abandoned")
            assert (row["ended_at"] is not None) == ended
            assert all(
                s["young_person_id"] == young_person_id.hex for s in steps[row["transition_id"]]
            )
        if person.status is CaseStatus.ERASED:
            personal = [
                value
                for row in rows
                for value in (row["from_situation"], row["programme"], row["abandon_reason"])
            ]
            notes = [s["note"] for row in rows for s in steps[row["transition_id"]]]
            assert set(personal) | set(notes) <= {None}
