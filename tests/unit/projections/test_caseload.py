"""The caseload read model, fed from the in-memory event store, on SQLite and PostgreSQL."""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime, timedelta
from itertools import zip_longest
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.application import Overgang
from domain.values import ReferralDetails
from domain.vocabulary import (
    CaseOutcome,
    ErasureRequester,
    MilestoneStatus,
    ReviewOutcome,
    TransitionKind,
    TransitionPhase,
)
from infra.runner import ProjectionRunner
from projections.caseload import CaseloadProjection, CaseloadView, days_since
from projections.columns import iso_utc
from projections.store import Row, SQLiteViewStore, ViewCursor, ViewStore
from tests import factories as f
from tests.factories import (
    TEAM,
    TEAM_LEAD,
    a_contact,
    a_context,
    a_counsellor,
    a_transition,
    accepted_young_person,
    an_institution,
    enrolled_young_person,
    referred_young_person,
)
from tests.fakes import DEFAULT_START, FakeClock
from tests.strategies import Refer, Step, World, histories, perform
from tests.views import logged_events, read, shredded

T = TypeVar("T")
OTHER_TEAM = "aalborg-vest"
TABLES = ("caseload", "caseload_milestones", "caseload_transitions", "caseload_counsellors")


@pytest.fixture
def runner(app: Overgang, store: ViewStore) -> ProjectionRunner:
    return ProjectionRunner(app, store, [CaseloadProjection()], batch_size=7)


def caseload(runner: ProjectionRunner, counsellor_id: UUID) -> list[str]:
    """The young people (hex) in a counsellor's caseload, in order."""
    entries = read(runner, lambda cur: CaseloadView.entries(cur, [counsellor_id.hex]))
    return [row["young_person_id"] for row in entries[counsellor_id.hex]]


def row_of(runner: ProjectionRunner, young_person_id: UUID) -> Row:
    rows = read(runner, lambda cur: CaseloadView.of_young_people(cur, [young_person_id.hex]))
    return rows[young_person_id.hex]


def load_of(runner: ProjectionRunner, counsellor_id: UUID) -> tuple[int, int]:
    """A counsellor's (active cases, caseload limit)."""
    row = read(runner, lambda cur: CaseloadView.counsellors(cur, [counsellor_id.hex]))
    return row[counsellor_id.hex]["active_count"], row[counsellor_id.hex]["caseload_limit"]


def dump(store: ViewStore) -> dict[str, list[Row]]:
    """Every row of every caseload table, in a fixed order."""
    with store.transaction(readonly=True) as cur:
        return {
            table: cur.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
            for table in TABLES
        }


def at(days: float) -> str:
    return iso_utc(DEFAULT_START + timedelta(days=days))


# --- who is in a caseload ----------------------------------------------------------------------


def test_an_enrolled_young_person_is_in_their_counsellors_caseload(
    app: Overgang, clock: FakeClock, runner: ProjectionRunner
) -> None:
    counsellor_id = a_counsellor(app)
    young_person_id = accepted_young_person(app, name="Test Person Aa")
    clock.advance(days=1)
    app.enrol(young_person_id, counsellor_id, None, a_context())

    entries = read(runner, lambda cur: CaseloadView.entries(cur, [counsellor_id.hex]))

    [entry] = entries[counsellor_id.hex]
    assert entry["young_person_id"] == young_person_id.hex
    assert entry["name"] == "Test Person Aa"
    assert (entry["counsellor_id"], entry["team_id"]) == (counsellor_id.hex, TEAM)
    assert entry["status"] == "enrolled"
    assert (entry["referred_at"], entry["enrolled_at"]) == (at(0), at(1))
    assert entry["last_reached_contact_at"] is None
    assert entry["transition_id"] is None
    assert entry["next_milestone_id"] is None


def test_referrals_have_rows_but_only_enrolled_cases_are_in_a_caseload(
    app: Overgang, runner: ProjectionRunner
) -> None:
    counsellor_id = a_counsellor(app)
    referred = referred_young_person(app)
    accepted = accepted_young_person(app)
    waitlisted, declined = referred_young_person(app), referred_young_person(app)
    reviewed = {waitlisted: ReviewOutcome.WAITLISTED, declined: ReviewOutcome.DECLINED}
    for person, outcome in reviewed.items():
        app.review_referral(person, outcome, date(2024, 3, 4), "test note", a_context())
    enrolled = enrolled_young_person(app, counsellor_id=counsellor_id).young_person_id

    people = [referred, accepted, waitlisted, declined, enrolled]
    rows = read(runner, lambda cur: CaseloadView.of_young_people(cur, [p.hex for p in people]))

    assert [rows[p.hex]["status"] for p in people] == [
        "referred",
        "accepted",
        "waitlisted",
        "declined",
        "enrolled",
    ]
    assert all(rows[p.hex]["name"] == "Test Person" for p in people)
    assert caseload(runner, counsellor_id) == [enrolled.hex]
    team = read(runner, lambda cur: CaseloadView.team_entries(cur, [TEAM]))
    assert [row["young_person_id"] for row in team[TEAM]] == [enrolled.hex]


def test_a_hand_over_moves_the_case_to_the_new_counsellor_and_team(
    app: Overgang, runner: ProjectionRunner
) -> None:
    first = a_counsellor(app)
    second = a_counsellor(app, team_id=OTHER_TEAM)
    young_person_id = enrolled_young_person(app, counsellor_id=first).young_person_id
    assert caseload(runner, first) == [young_person_id.hex]

    app.assign_counsellor(young_person_id, second, "test reason", None, a_context(TEAM_LEAD))

    assert caseload(runner, first) == []
    assert caseload(runner, second) == [young_person_id.hex]
    teams = read(runner, lambda cur: CaseloadView.team_entries(cur, [TEAM, OTHER_TEAM]))
    assert teams[TEAM] == []
    assert [row["team_id"] for row in teams[OTHER_TEAM]] == [OTHER_TEAM]
    assert load_of(runner, first)[0] == 0
    assert load_of(runner, second)[0] == 1


def test_a_closed_case_leaves_the_caseload_and_a_reopened_one_returns(
    app: Overgang, clock: FakeClock, runner: ProjectionRunner
) -> None:
    case = enrolled_young_person(app)
    clock.advance(days=2)
    app.close_case(case.young_person_id, CaseOutcome.IN_EDUCATION, "test note", a_context())

    assert caseload(runner, case.counsellor_id) == []
    closed = row_of(runner, case.young_person_id)
    assert (closed["status"], closed["closed_at"]) == ("closed", at(2))

    app.reopen_case(case.young_person_id, "test reason", None, a_context())

    assert caseload(runner, case.counsellor_id) == [case.young_person_id.hex]
    reopened = row_of(runner, case.young_person_id)
    assert (reopened["status"], reopened["closed_at"]) == ("enrolled", None)
    assert load_of(runner, case.counsellor_id)[0] == 1


def test_erasure_purges_the_name_and_milestone_titles_and_keeps_the_facts(
    app: Overgang, runner: ProjectionRunner, store: ViewStore
) -> None:
    case = enrolled_young_person(app, plan=True)
    person = case.young_person_id
    app.set_milestone(person, "Test Title Secret", date(2024, 5, 1), a_context())
    missed = app.set_milestone(person, "Test Title Missed", date(2024, 4, 1), a_context())
    app.miss_milestone(person, missed.ids["milestone_id"], "test note", a_context())
    app.record_contact(person, a_contact(), a_context())
    before = row_of(runner, person)
    assert before["next_milestone_title"] == "Test Title Secret"

    app.erase_personal_data(person, ErasureRequester.YOUNG_PERSON, "GDPR art. 17", a_context())

    after = row_of(runner, person)
    assert after["status"] == "erased"
    assert after["name"] is None
    assert after["next_milestone_title"] is None
    kept = {k: v for k, v in before.items() if k not in {"status", "name", "next_milestone_title"}}
    assert {k: after[k] for k in kept} == kept
    assert caseload(runner, case.counsellor_id) == []
    everything = repr(dump(store))
    assert "Test Person" not in everything
    assert "Test Title" not in everything


# --- what an entry shows -------------------------------------------------------------------------


def test_only_a_reached_contact_counts_as_contact(
    app: Overgang, clock: FakeClock, runner: ProjectionRunner
) -> None:
    person = enrolled_young_person(app).young_person_id
    clock.advance(days=1)
    app.record_contact(person, a_contact(reached=True), a_context())
    clock.advance(days=1)
    app.record_contact(person, a_contact(reached=False, place=None), a_context())

    first = row_of(runner, person)
    assert (first["last_reached_contact_at"], first["last_attempt_at"]) == (at(1), at(2))

    # A call from before, written down late, does not move the last contact back.
    clock.advance(days=1)
    app.record_contact(person, a_contact(), a_context(occurred_at=DEFAULT_START))
    app.record_contact(person, a_contact(reached=False), a_context(occurred_at=DEFAULT_START))

    later = row_of(runner, person)
    assert (later["last_reached_contact_at"], later["last_attempt_at"]) == (at(1), at(2))


def test_the_next_milestone_is_the_open_one_due_first(
    app: Overgang, runner: ProjectionRunner
) -> None:
    person = enrolled_young_person(app, plan=True).young_person_id

    def next_milestone() -> tuple[UUID | None, str | None, str | None]:
        row = row_of(runner, person)
        milestone_id = row["next_milestone_id"]
        due, title = row["next_milestone_due"], row["next_milestone_title"]
        return (UUID(hex=milestone_id) if milestone_id else None), due, title

    def set_milestone(title: str, due: date) -> UUID:
        return app.set_milestone(person, title, due, a_context()).ids["milestone_id"]

    assert next_milestone() == (None, None, None)
    may = set_milestone("test May", date(2024, 5, 1))
    april = set_milestone("test April", date(2024, 4, 1))
    assert next_milestone() == (april, "2024-04-01", "test April")

    app.reschedule_milestone(person, april, date(2024, 6, 1), "test reason", a_context())
    assert next_milestone() == (may, "2024-05-01", "test May")

    app.reach_milestone(person, may, "test note", a_context())
    assert next_milestone() == (april, "2024-06-01", "test April")

    app.miss_milestone(person, april, "test note", a_context())
    assert next_milestone() == (None, None, None)

    # A missed milestone given a new date is open again, with its title.
    app.reschedule_milestone(person, april, date(2024, 7, 1), "test reason", a_context())
    assert next_milestone() == (april, "2024-07-01", "test April")

    app.drop_milestone(person, april, "test reason", a_context())
    assert next_milestone() == (None, None, None)


def test_the_current_transition_and_its_phase(
    app: Overgang, clock: FakeClock, runner: ProjectionRunner
) -> None:
    person = enrolled_young_person(app).young_person_id
    college, school = an_institution(app), an_institution(app)

    def current() -> tuple[Any, ...]:
        row = row_of(runner, person)
        return tuple(
            row[key]
            for key in (
                "transition_id",
                "transition_kind",
                "transition_phase",
                "transition_started_at",
                "education_started_at",
            )
        )

    clock.advance(days=1)
    first = app.start_transition(person, a_transition(to_institution_id=college), a_context()).ids[
        "transition_id"
    ]
    assert current() == (first.hex, "school_to_youth_education", "preparing", at(1), None)
    assert row_of(runner, person)["transition_to_institution_id"] == college.hex
    assert row_of(runner, person)["transition_expected_start"] == "2024-08-12"

    clock.advance(days=1)
    app.start_education(person, first, school, a_context())
    assert current() == (first.hex, "school_to_youth_education", "in_education", at(1), at(2))
    assert row_of(runner, person)["education_institution_id"] == school.hex

    # The latest started open transition is the current one; when it ends, the other is.
    clock.advance(days=1)
    bridge = app.start_transition(
        person, a_transition(kind=TransitionKind.BRIDGE_BUILDING), a_context()
    ).ids["transition_id"]
    assert current() == (bridge.hex, "bridge_building", "preparing", at(3), None)

    app.abandon_transition(person, bridge, "test reason", a_context())
    assert current() == (first.hex, "school_to_youth_education", "in_education", at(1), at(2))

    app.complete_transition(person, first, a_context())
    assert current() == (None, None, None, None, None)
    assert row_of(runner, person)["transition_to_institution_id"] is None


def test_days_since_counts_whole_days_up_to_now() -> None:
    now = datetime(2024, 3, 10, 12, 0, tzinfo=UTC)

    assert days_since(None, now) is None
    assert days_since(iso_utc(now), now) == 0
    assert days_since(iso_utc(now - timedelta(days=3, hours=23)), now) == 3
    assert days_since(iso_utc(now - timedelta(days=4)), now) == 4
    # Stamped a few minutes ahead: not yet a day, and never negative.
    assert days_since(iso_utc(now + timedelta(minutes=4)), now) == 0


# --- counsellors ---------------------------------------------------------------------------


def test_a_counsellors_load_is_counted_against_their_limit(
    app: Overgang, runner: ProjectionRunner
) -> None:
    counsellor_id = a_counsellor(app, caseload_limit=2)
    colleague = a_counsellor(app)
    people = [enrolled_young_person(app, counsellor_id=counsellor_id) for _ in range(2)]
    assert load_of(runner, counsellor_id) == (2, 2)

    # A third only with an explicit override: the load may exceed the limit.
    third = accepted_young_person(app)
    app.enrol(third, counsellor_id, "test: no one else free", a_context())
    assert load_of(runner, counsellor_id) == (3, 2)

    app.change_caseload_limit(counsellor_id, 4, a_context(TEAM_LEAD))
    app.close_case(people[0].young_person_id, CaseOutcome.MOVED, "test note", a_context())
    assert load_of(runner, counsellor_id) == (2, 4)

    team = read(runner, lambda cur: CaseloadView.team_counsellors(cur, [TEAM, OTHER_TEAM]))
    assert team[OTHER_TEAM] == []
    by_id = {row["counsellor_id"]: row for row in team[TEAM]}
    assert sorted(by_id) == sorted([counsellor_id.hex, colleague.hex])
    assert [row["counsellor_id"] for row in team[TEAM]] == sorted(by_id)
    assert by_id[colleague.hex]["active_count"] == 0
    assert by_id[counsellor_id.hex] == {
        "counsellor_id": counsellor_id.hex,
        "name": "Test Counsellor",
        "team_id": TEAM,
        "role": "counsellor",
        "caseload_limit": 4,
        "registered_at": at(0),
        "active_count": 2,
    }


def test_unknown_ids_read_as_absent_or_empty(app: Overgang, runner: ProjectionRunner) -> None:
    unknown = UUID(int=1).hex
    a_counsellor(app)

    def query(cur: ViewCursor) -> tuple[Any, ...]:
        return (
            CaseloadView.counsellors(cur, [unknown]),
            CaseloadView.of_young_people(cur, [unknown]),
            CaseloadView.entries(cur, [unknown]),
            CaseloadView.team_entries(cur, ["no-such-team"]),
            CaseloadView.team_counsellors(cur, ["no-such-team"]),
            CaseloadView.counsellors(cur, []),
            CaseloadView.entries(cur, []),
        )

    assert read(runner, query) == (
        {},
        {},
        {unknown: []},
        {"no-such-team": []},
        {"no-such-team": []},
        {},
        {},
    )


# --- pages -------------------------------------------------------------------------------------


def test_entries_of_many_counsellors_come_in_one_read_paged_per_counsellor(
    app: Overgang, runner: ProjectionRunner
) -> None:
    first, second = a_counsellor(app), a_counsellor(app, team_id=OTHER_TEAM)
    for counsellor_id, count in ((first, 3), (second, 2)):
        for _ in range(count):
            enrolled_young_person(app, counsellor_id=counsellor_id)
    keys = [first.hex, second.hex]

    everything = read(runner, lambda cur: CaseloadView.entries(cur, keys))
    ids = {key: [row["young_person_id"] for row in rows] for key, rows in everything.items()}
    assert {key: len(rows) for key, rows in ids.items()} == {first.hex: 3, second.hex: 2}
    assert all(rows == sorted(rows) for rows in ids.values())

    first_pages = read(runner, lambda cur: CaseloadView.entries(cur, keys, limit=2))
    assert first_pages == {key: rows[:2] for key, rows in everything.items()}

    cursor = ids[first.hex][1]
    rest = read(runner, lambda cur: CaseloadView.entries(cur, [first.hex], limit=2, after=cursor))
    assert rest == {first.hex: everything[first.hex][2:]}

    nothing = read(runner, lambda cur: CaseloadView.entries(cur, keys, limit=0))
    assert nothing == {first.hex: [], second.hex: []}

    teams = read(runner, lambda cur: CaseloadView.team_entries(cur, [TEAM, OTHER_TEAM], limit=1))
    assert teams == {TEAM: everything[first.hex][:1], OTHER_TEAM: everything[second.hex][:1]}

    with pytest.raises(ValueError):
        read(runner, lambda cur: CaseloadView.entries(cur, keys, limit=-1))


# --- personal data that decodes as None, and batch sizes ------------------------------------------


def a_busy_history(app: Overgang, clock: FakeClock) -> None:
    """Several counsellors and young people, with every kind of fact the caseload reads."""
    counsellors = [a_counsellor(app), a_counsellor(app, team_id=OTHER_TEAM, caseload_limit=1)]
    institution_id = an_institution(app)
    people = [enrolled_young_person(app, counsellor_id=counsellors[0], plan=True) for _ in "abc"]
    referred_young_person(app, institution_id=institution_id)
    for index, case in enumerate(people):
        person = case.young_person_id
        clock.advance(hours=5)
        app.record_contact(person, a_contact(reached=index % 2 == 0), a_context())
        due = date(2024, 4, 1 + index)
        milestone = app.set_milestone(person, f"test {index}", due, a_context()).ids["milestone_id"]
        app.set_milestone(person, "test later", due + timedelta(days=9), a_context())
        transition = app.start_transition(
            person, a_transition(to_institution_id=institution_id), a_context()
        ).ids["transition_id"]
        clock.advance(hours=5)
        app.reschedule_milestone(person, milestone, due + timedelta(days=30), "r", a_context())
        app.start_education(person, transition, institution_id, a_context())
    app.assign_counsellor(
        people[0].young_person_id, counsellors[1], "test reason", None, a_context(TEAM_LEAD)
    )
    app.change_caseload_limit(counsellors[1], 3, a_context(TEAM_LEAD))
    app.close_case(people[1].young_person_id, CaseOutcome.EMPLOYED, "note", a_context())
    app.reopen_case(people[1].young_person_id, "reason", None, a_context())
    app.erase_personal_data(
        people[2].young_person_id, ErasureRequester.YOUNG_PERSON, "GDPR art. 17", a_context()
    )


def test_personal_fields_that_decode_as_none_are_tolerated(
    app: Overgang, clock: FakeClock, store: ViewStore
) -> None:
    a_busy_history(app, clock)
    projection = CaseloadProjection()
    with store.transaction() as cur:
        projection.create_tables(cur)
        projection.process(cur, [(p, shredded(e)) for p, e in logged_events(app)])

    tables = dump(store)
    assert {row["name"] for row in tables["caseload"]} == {None}
    assert {row["title"] for row in tables["caseload_milestones"]} == {None}
    assert {row["name"] for row in tables["caseload_counsellors"]} == {None}
    assert len([r for r in tables["caseload"] if r["status"] == "enrolled"]) == 2


def test_batches_of_one_and_of_a_thousand_give_identical_tables(
    app: Overgang, clock: FakeClock, store: ViewStore
) -> None:
    a_busy_history(app, clock)
    ProjectionRunner(app, store, [CaseloadProjection()], batch_size=1).catch_up()
    one_by_one = dump(store)

    ProjectionRunner(app, store, [CaseloadProjection()], batch_size=1000).rebuild("caseload")

    assert dump(store) == one_by_one
    assert len(one_by_one["caseload"]) == 4
    assert len(one_by_one["caseload_milestones"]) == 6


# --- a property: the caseload agrees with the aggregates ------------------------------------------


def record(cases: list[tuple[ReferralDetails, list[Step]]]) -> World:
    """Every case's referral, then their commands interleaved, so batches mix people."""
    world = World.new(caseload_limits=(1, 2, 3))
    for referral, _ in cases:
        Refer(referral).run(world, f.a_context(f.PARTNER))
    for round_of_steps in zip_longest(*(steps for _, steps in cases)):
        for person, step in zip(world.people, round_of_steps, strict=True):
            if step is not None:
                perform(world, person, step)
    return world


_OPEN_PHASES = (TransitionPhase.PREPARING, TransitionPhase.IN_EDUCATION)


@given(
    cases=st.lists(histories(max_steps=25), min_size=1, max_size=3),
    batch_size=st.integers(min_value=1, max_value=5),
)
def test_the_caseload_agrees_with_the_aggregates_for_any_history_and_batch_size(
    cases: list[tuple[ReferralDetails, list[Step]]], batch_size: int
) -> None:
    world = record(cases)
    app = world.app
    counsellor_ids = [c.hex for c in world.counsellors]
    person_ids = [p.id.hex for p in world.people]

    with tempfile.TemporaryDirectory() as folder:
        dumps = []
        for name, size in (("small", batch_size), ("large", 1000)):
            store = SQLiteViewStore(Path(folder) / f"{name}.db")
            try:
                ProjectionRunner(app, store, [CaseloadProjection()], batch_size=size).catch_up()
                dumps.append(dump(store))
                with store.transaction(readonly=True) as cur:
                    entries = CaseloadView.entries(cur, counsellor_ids)
                    counsellors = CaseloadView.counsellors(cur, counsellor_ids)
                    rows = CaseloadView.of_young_people(cur, person_ids)
            finally:
                store.close()
        assert dumps[0] == dumps[1]

    for counsellor_id in world.counsellors:
        carried = sorted(app.counsellor(counsellor_id).caseload)
        assert [row["young_person_id"] for row in entries[counsellor_id.hex]] == carried
        assert counsellors[counsellor_id.hex]["active_count"] == len(carried)

    for person in world.people:
        aggregate, row = app.young_person(person.id), rows[person.id.hex]
        assert row["status"] == aggregate.status.value
        expected_counsellor = aggregate.counsellor_id.hex if aggregate.counsellor_id else None
        assert (row["counsellor_id"], row["team_id"]) == (expected_counsellor, aggregate.team_id)
        open_transitions = {
            t: phase.value for t, phase in aggregate.transitions.items() if phase in _OPEN_PHASES
        }
        if open_transitions:
            assert row["transition_phase"] == open_transitions[row["transition_id"]]
        else:
            assert (row["transition_id"], row["transition_phase"]) == (None, None)
        open_milestones = {m for m, s in aggregate.milestones.items() if s is MilestoneStatus.OPEN}
        if open_milestones:
            assert row["next_milestone_id"] in open_milestones
        else:
            assert row["next_milestone_id"] is None
