"""The plan read model: hand-written histories on the in-memory app, projected into SQLite and
PostgreSQL, and generated histories checked against the domain's own state."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import date, timedelta
from itertools import zip_longest
from pathlib import Path
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.application import Overgang
from domain.values import ReferralDetails
from domain.vocabulary import CaseStatus, ErasureRequester, MilestoneStatus
from infra.runner import ProjectionRunner
from projections.base import PositionedEvent
from projections.plan import MILESTONES, PLANS, PlanProjection, PlanView
from projections.store import Row, SQLiteViewStore, ViewStore
from tests.backends import Backend
from tests.factories import PARTNER, a_context, enrolled_young_person, new_app
from tests.fakes import DEFAULT_START, FakeClock
from tests.strategies import Refer, Step, World, histories, perform
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
    return ProjectionRunner(app, store, [PlanProjection()], batch_size=7)


def plan_of(runner: ProjectionRunner, young_person_id: UUID) -> Row | None:
    runner.catch_up()
    with runner.store.transaction(readonly=True) as cur:
        return PlanView.plans(cur, [young_person_id.hex])[young_person_id.hex]


def milestones_of(runner: ProjectionRunner, young_person_id: UUID) -> list[Row]:
    runner.catch_up()
    with runner.store.transaction(readonly=True) as cur:
        return PlanView.milestones(cur, [young_person_id.hex])[young_person_id.hex]


def at(hours: float) -> str:
    """The stored form of a moment ``hours`` after the fake clock's start."""
    return (DEFAULT_START + timedelta(hours=hours)).isoformat(timespec="microseconds")


def dump(store: ViewStore) -> dict[str, list[Row]]:
    with store.transaction(readonly=True) as cur:
        return {
            table: cur.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
            for table in (PLANS, MILESTONES)
        }


# --- the plan ----------------------------------------------------------------------------------


def test_without_a_plan_there_is_none_and_no_milestones(
    app: Overgang, runner: ProjectionRunner
) -> None:
    young_person_id = enrolled_young_person(app).young_person_id
    unknown = UUID(int=1).hex
    runner.catch_up()

    with runner.store.transaction(readonly=True) as cur:
        plans = PlanView.plans(cur, [young_person_id.hex, unknown])
        milestones = PlanView.milestones(cur, [young_person_id.hex, unknown])
        nothing = (PlanView.plans(cur, []), PlanView.milestones(cur, []))

    assert plans == {young_person_id.hex: None, unknown: None}
    assert milestones == {young_person_id.hex: [], unknown: []}
    assert nothing == ({}, {})


def test_drafting_records_the_goal_and_whether_it_was_written_together(
    app: Overgang, clock: FakeClock, runner: ProjectionRunner
) -> None:
    young_person_id = enrolled_young_person(app).young_person_id
    clock.advance(hours=2)
    app.draft_plan(young_person_id, "test goal: carpenter", True, a_context())

    plan = plan_of(runner, young_person_id)

    assert plan is not None and plan["drafted_together"] is True
    assert plan == {
        "young_person_id": young_person_id.hex,
        "goal": "test goal: carpenter",
        "drafted_together": True,
        "first_drafted_at": at(2),
        "drafted_at": at(2),
        "times_drafted": 1,
        "last_reviewed_at": None,
        "next_review": None,
        "times_reviewed": 0,
    }


def test_drafting_again_replaces_the_goal_and_keeps_the_milestones(
    app: Overgang, clock: FakeClock, runner: ProjectionRunner
) -> None:
    young_person_id = enrolled_young_person(app, plan=True).young_person_id
    app.set_milestone(young_person_id, "test title", date(2024, 4, 1), a_context())
    clock.advance(days=10)
    app.draft_plan(young_person_id, "test goal: second thoughts", False, a_context())

    plan = plan_of(runner, young_person_id)

    assert plan is not None
    assert (plan["goal"], plan["drafted_together"]) == ("test goal: second thoughts", False)
    assert (plan["first_drafted_at"], plan["drafted_at"]) == (at(0), at(240))
    assert plan["times_drafted"] == 2
    assert len(milestones_of(runner, young_person_id)) == 1


def test_a_draft_written_down_late_does_not_replace_a_later_one(
    app: Overgang, clock: FakeClock, runner: ProjectionRunner
) -> None:
    young_person_id = enrolled_young_person(app).young_person_id
    clock.advance(days=2)
    app.draft_plan(young_person_id, "test goal: newer", True, a_context())
    clock.advance(hours=1)
    app.draft_plan(
        young_person_id,
        "test goal: older",
        False,
        a_context(occurred_at=DEFAULT_START + timedelta(days=1)),
    )

    plan = plan_of(runner, young_person_id)

    assert plan is not None
    assert (plan["goal"], plan["drafted_together"]) == ("test goal: newer", True)
    assert (plan["first_drafted_at"], plan["drafted_at"]) == (at(24), at(48))
    assert plan["times_drafted"] == 2


def test_a_review_sets_the_last_review_and_the_next(
    app: Overgang, clock: FakeClock, runner: ProjectionRunner
) -> None:
    young_person_id = enrolled_young_person(app, plan=True).young_person_id
    clock.advance(days=7)
    app.review_plan(young_person_id, "test note", date(2024, 4, 15), a_context())

    plan = plan_of(runner, young_person_id)

    assert plan is not None
    assert (plan["last_reviewed_at"], plan["next_review"]) == (at(7 * 24), "2024-04-15")
    assert plan["times_reviewed"] == 1


def test_a_review_without_a_next_date_clears_it(
    app: Overgang, clock: FakeClock, runner: ProjectionRunner
) -> None:
    young_person_id = enrolled_young_person(app, plan=True).young_person_id
    clock.advance(days=7)
    app.review_plan(young_person_id, "test note", date(2024, 4, 15), a_context())
    clock.advance(days=7)
    app.review_plan(young_person_id, "test note", None, a_context())

    plan = plan_of(runner, young_person_id)

    assert plan is not None
    assert (plan["last_reviewed_at"], plan["next_review"]) == (at(14 * 24), None)
    assert plan["times_reviewed"] == 2


def test_a_review_written_down_late_keeps_the_later_reviews_next_date(
    app: Overgang, clock: FakeClock, runner: ProjectionRunner
) -> None:
    young_person_id = enrolled_young_person(app, plan=True).young_person_id
    clock.advance(days=14)
    app.review_plan(young_person_id, "test note", date(2024, 5, 1), a_context())
    clock.advance(hours=1)
    app.review_plan(
        young_person_id,
        "test note",
        date(2024, 4, 1),
        a_context(occurred_at=DEFAULT_START + timedelta(days=7)),
    )

    plan = plan_of(runner, young_person_id)

    assert plan is not None
    assert (plan["last_reviewed_at"], plan["next_review"]) == (at(14 * 24), "2024-05-01")
    assert plan["times_reviewed"] == 2


def test_review_notes_and_milestone_notes_are_not_copied(
    app: Overgang, runner: ProjectionRunner
) -> None:
    young_person_id = enrolled_young_person(app, plan=True).young_person_id
    milestone_id = app.set_milestone(
        young_person_id, "test title", date(2024, 4, 1), a_context()
    ).ids["milestone_id"]
    app.miss_milestone(young_person_id, milestone_id, "secret-miss-note", a_context())
    app.reschedule_milestone(
        young_person_id, milestone_id, date(2024, 5, 1), "secret-reason", a_context()
    )
    app.reach_milestone(young_person_id, milestone_id, "secret-reach-note", a_context())
    app.review_plan(young_person_id, "secret-review-note", None, a_context())
    runner.catch_up()

    stored = repr(dump(runner.store))

    assert "secret" not in stored


# --- milestones --------------------------------------------------------------------------------


def test_milestones_in_each_status_with_when_they_were_set_and_resolved(
    app: Overgang, clock: FakeClock, runner: ProjectionRunner
) -> None:
    young_person_id = enrolled_young_person(app, plan=True).young_person_id
    person = young_person_id

    def milestone(title: str, due: date) -> UUID:
        clock.advance(hours=1)
        result = app.set_milestone(person, title, due, a_context())
        return result.ids["milestone_id"]

    dropped = milestone("test: drop", date(2024, 6, 1))
    reached = milestone("test: reach", date(2024, 3, 20))
    open_ = milestone("test: open", date(2024, 5, 1))
    missed = milestone("test: miss", date(2024, 4, 1))
    clock.advance(hours=1)
    app.reach_milestone(person, reached, "test note", a_context())
    clock.advance(hours=1)
    app.miss_milestone(person, missed, "test note", a_context())
    clock.advance(hours=1)
    app.drop_milestone(person, dropped, "test reason", a_context())

    rows = milestones_of(runner, young_person_id)

    assert [
        (row["milestone_id"], row["title"], row["due"], row["status"], row["set_at"])
        for row in rows
    ] == [
        (reached.hex, "test: reach", "2024-03-20", "reached", at(2)),
        (missed.hex, "test: miss", "2024-04-01", "missed", at(4)),
        (open_.hex, "test: open", "2024-05-01", "open", at(3)),
        (dropped.hex, "test: drop", "2024-06-01", "dropped", at(1)),
    ]
    assert [row["resolved_at"] for row in rows] == [at(5), at(6), None, at(7)]
    assert {row["status"] for row in rows} == {status.value for status in MilestoneStatus}
    assert all(row["young_person_id"] == young_person_id.hex for row in rows)
    assert all(row["times_rescheduled"] == 0 for row in rows)
    assert all(row["originally_due"] == row["due"] for row in rows)


def test_milestones_due_the_same_day_come_in_id_order(
    app: Overgang, runner: ProjectionRunner
) -> None:
    young_person_id = enrolled_young_person(app, plan=True).young_person_id
    ids = [
        app.set_milestone(young_person_id, "test title", date(2024, 4, 1), a_context()).ids[
            "milestone_id"
        ]
        for _ in range(4)
    ]

    rows = milestones_of(runner, young_person_id)

    assert [row["milestone_id"] for row in rows] == sorted(i.hex for i in ids)


def test_rescheduling_a_missed_milestone_opens_it_again_and_counts(
    app: Overgang, clock: FakeClock, runner: ProjectionRunner
) -> None:
    young_person_id = enrolled_young_person(app, plan=True).young_person_id
    milestone_id = app.set_milestone(
        young_person_id, "test title", date(2024, 4, 1), a_context()
    ).ids["milestone_id"]
    clock.advance(days=30)
    app.miss_milestone(young_person_id, milestone_id, "test note", a_context())
    app.reschedule_milestone(
        young_person_id, milestone_id, date(2024, 5, 1), "test reason", a_context()
    )
    app.reschedule_milestone(
        young_person_id, milestone_id, date(2024, 5, 15), "test reason", a_context()
    )

    [rescheduled] = milestones_of(runner, young_person_id)

    assert (rescheduled["status"], rescheduled["resolved_at"]) == ("open", None)
    assert (rescheduled["due"], rescheduled["originally_due"]) == ("2024-05-15", "2024-04-01")
    assert rescheduled["times_rescheduled"] == 2

    clock.advance(days=40)
    app.reach_milestone(young_person_id, milestone_id, "test note", a_context())

    [reached] = milestones_of(runner, young_person_id)

    assert (reached["status"], reached["resolved_at"]) == ("reached", at(70 * 24))
    assert reached["times_rescheduled"] == 2


def test_many_young_people_in_one_read(app: Overgang, runner: ProjectionRunner) -> None:
    first = enrolled_young_person(app, plan=True).young_person_id
    second = enrolled_young_person(app, plan=True).young_person_id
    app.set_milestone(first, "test title", date(2024, 4, 1), a_context())
    for due in (date(2024, 4, 2), date(2024, 4, 3)):
        app.set_milestone(second, "test title", due, a_context())
    runner.catch_up()

    with runner.store.transaction(readonly=True) as cur:
        plans = PlanView.plans(cur, [first.hex, second.hex, first.hex])
        milestones = PlanView.milestones(cur, [first.hex, second.hex])

    assert {key: plan and plan["young_person_id"] for key, plan in plans.items()} == {
        first.hex: first.hex,
        second.hex: second.hex,
    }
    assert {key: [row["due"] for row in rows] for key, rows in milestones.items()} == {
        first.hex: ["2024-04-01"],
        second.hex: ["2024-04-02", "2024-04-03"],
    }


# --- personal data -------------------------------------------------------------------------------


def a_plan_with_milestones(app: Overgang, clock: FakeClock) -> UUID:
    young_person_id = enrolled_young_person(app).young_person_id
    app.draft_plan(young_person_id, "test goal: PERSONAL", True, a_context())
    reached = app.set_milestone(
        young_person_id, "test title: PERSONAL", date(2024, 4, 1), a_context()
    ).ids["milestone_id"]
    app.set_milestone(young_person_id, "test title: PERSONAL", date(2024, 5, 1), a_context())
    clock.advance(days=20)
    app.reach_milestone(young_person_id, reached, "test note", a_context())
    app.review_plan(young_person_id, "test note", date(2024, 6, 1), a_context())
    return young_person_id


def test_erasure_purges_goal_and_titles_and_keeps_dates_and_statuses(
    app: Overgang, clock: FakeClock, runner: ProjectionRunner
) -> None:
    erased = a_plan_with_milestones(app, clock)
    kept = a_plan_with_milestones(app, clock)
    before_plan, before_milestones = plan_of(runner, erased), milestones_of(runner, erased)
    clock.advance(days=1)
    app.erase_personal_data(erased, ErasureRequester.YOUNG_PERSON, "GDPR art. 17", a_context())

    assert plan_of(runner, erased) == {**(before_plan or {}), "goal": None}
    assert milestones_of(runner, erased) == [{**row, "title": None} for row in before_milestones]
    stored = dump(runner.store)
    of_erased = [
        row for rows in stored.values() for row in rows if row["young_person_id"] == erased.hex
    ]
    assert "PERSONAL" not in repr(of_erased)
    kept_plan = plan_of(runner, kept)
    assert kept_plan is not None and kept_plan["goal"] == "test goal: PERSONAL"
    assert {row["title"] for row in milestones_of(runner, kept)} == {"test title: PERSONAL"}


def test_erasure_in_the_same_batch_as_the_plan_still_purges(
    app: Overgang, clock: FakeClock, store: ViewStore
) -> None:
    young_person_id = a_plan_with_milestones(app, clock)
    app.erase_personal_data(
        young_person_id, ErasureRequester.YOUNG_PERSON, "GDPR art. 17", a_context()
    )
    ProjectionRunner(app, store, [PlanProjection()], batch_size=1000).catch_up()

    stored = dump(store)

    assert stored[PLANS] and stored[MILESTONES]
    assert "PERSONAL" not in repr(stored)


def test_events_whose_personal_fields_were_shredded_still_project(
    app: Overgang, clock: FakeClock, store: ViewStore
) -> None:
    young_person_id = a_plan_with_milestones(app, clock)
    events: list[PositionedEvent] = [
        (position, shredded(event)) for position, event in logged_events(app)
    ]
    projection = PlanProjection()

    with store.transaction() as cur:
        projection.create_tables(cur)
        projection.process(cur, events)
    with store.transaction(readonly=True) as cur:
        plan = PlanView.plans(cur, [young_person_id.hex])[young_person_id.hex]
        milestones = PlanView.milestones(cur, [young_person_id.hex])[young_person_id.hex]

    assert plan is not None
    assert (plan["goal"], plan["drafted_together"], plan["next_review"]) == (
        None,
        True,
        "2024-06-01",
    )
    assert [(row["title"], row["status"]) for row in milestones] == [
        (None, "reached"),
        (None, "open"),
    ]


# --- batches and rebuilds ------------------------------------------------------------------------


def several_interleaved_plans(app: Overgang, clock: FakeClock) -> None:
    people = [enrolled_young_person(app).young_person_id for _ in range(3)]
    milestones: dict[UUID, list[UUID]] = {person: [] for person in people}
    for round_ in range(3):
        for person in people:
            clock.advance(hours=1)
            app.draft_plan(person, f"test goal {round_}", round_ % 2 == 0, a_context())
            result = app.set_milestone(person, "test title", date(2024, 4, 1 + round_), a_context())
            milestones[person].append(result.ids["milestone_id"])
    for person in people:
        first, second, third = milestones[person]
        app.miss_milestone(person, first, "test note", a_context())
        app.reschedule_milestone(person, first, date(2024, 5, 1), "test reason", a_context())
        app.reach_milestone(person, second, "test note", a_context())
        app.drop_milestone(person, third, "test reason", a_context())
        app.review_plan(person, "test note", date(2024, 6, 1), a_context())
    app.erase_personal_data(people[1], ErasureRequester.GUARDIAN, "GDPR art. 17", a_context())


@pytest.mark.parametrize("batch_size", [1, 3])
def test_batch_size_does_not_change_the_tables(
    app: Overgang, clock: FakeClock, store: ViewStore, batch_size: int
) -> None:
    several_interleaved_plans(app, clock)
    ProjectionRunner(app, store, [PlanProjection()], batch_size=1000).catch_up()
    in_one_batch = dump(store)

    ProjectionRunner(app, store, [PlanProjection()], batch_size=batch_size).rebuild("plan")

    assert dump(store) == in_one_batch
    assert [len(rows) for rows in in_one_batch.values()] == [3, 9]


# --- generated histories agree with the domain ---------------------------------------------------


def record(cases: list[tuple[ReferralDetails, list[Step]]]) -> tuple[Overgang, list[UUID]]:
    """Every case's referral, then their commands interleaved, so batches mix people."""
    world = World.new()
    for referral, _ in cases:
        Refer(referral).run(world, a_context(PARTNER))
    for round_of_steps in zip_longest(*(steps for _, steps in cases)):
        for person, step in zip(world.people, round_of_steps, strict=True):
            if step is not None:
                perform(world, person, step)
    return world.app, [person.id for person in world.people]


def was_erased(app: Overgang, young_person_id: UUID) -> bool:
    return app.young_person(young_person_id).status is CaseStatus.ERASED


@given(
    cases=st.lists(histories(max_steps=25), min_size=1, max_size=3),
    batch_size=st.integers(min_value=1, max_value=6),
)
def test_generated_histories_agree_with_the_domain_in_any_batch_size(
    cases: list[tuple[ReferralDetails, list[Step]]], batch_size: int
) -> None:
    app, people = record(cases)
    ids = [person.hex for person in people]

    with tempfile.TemporaryDirectory() as folder:
        store = SQLiteViewStore(Path(folder) / "views.db")
        try:
            ProjectionRunner(app, store, [PlanProjection()], batch_size=1000).catch_up()
            in_one_batch = dump(store)
            runner = ProjectionRunner(app, store, [PlanProjection()], batch_size=batch_size)
            runner.rebuild("plan")
            assert dump(store) == in_one_batch
            with store.transaction(readonly=True) as cur:
                plans = PlanView.plans(cur, ids)
                milestones = PlanView.milestones(cur, ids)
        finally:
            store.close()

    for young_person_id in people:
        person = app.young_person(young_person_id)
        plan = plans[young_person_id.hex]
        assert (plan is not None) == person.plan_drafted
        rows = milestones[young_person_id.hex]
        assert {row["milestone_id"]: MilestoneStatus(row["status"]) for row in rows} == (
            person.milestones
        )
        assert [(row["due"], row["milestone_id"]) for row in rows] == sorted(
            (row["due"], row["milestone_id"]) for row in rows
        )
        if was_erased(app, young_person_id):
            assert plan is None or plan["goal"] is None
            assert all(row["title"] is None for row in rows)
        for row in rows:
            assert (row["resolved_at"] is None) == (row["status"] == "open")
