"""The institutions read model, fed from the in-memory event store, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import tempfile
from datetime import date
from itertools import zip_longest
from pathlib import Path
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.application import Overgang
from domain.values import ReferralDetails
from domain.vocabulary import (
    CaseOutcome,
    CaseStatus,
    ErasureRequester,
    InstitutionKind,
    ReviewOutcome,
)
from infra.runner import ProjectionRunner
from projections.columns import iso_utc
from projections.institutions import InstitutionsProjection, InstitutionsView
from projections.store import Row, SQLiteViewStore, ViewStore
from tests import factories as f
from tests.factories import (
    PARTNER,
    TEAM_LEAD,
    a_context,
    a_counsellor,
    a_transition,
    accepted_young_person,
    an_institution,
    enrolled_young_person,
    referred_young_person,
)
from tests.fakes import DEFAULT_START
from tests.strategies import Refer, Step, World, histories, perform
from tests.views import logged_events, read, shredded

TABLES = ("institutions", "institution_links", "institution_cases")
OPEN = (CaseStatus.REFERRED, CaseStatus.WAITLISTED, CaseStatus.ACCEPTED, CaseStatus.ENROLLED)


@pytest.fixture
def runner(app: Overgang, store: ViewStore) -> ProjectionRunner:
    return ProjectionRunner(app, store, [InstitutionsProjection()], batch_size=7)


def linked(runner: ProjectionRunner, institution_id: UUID) -> list[str]:
    grouped = read(
        runner, lambda cur: InstitutionsView.linked_young_people(cur, [institution_id.hex])
    )
    return grouped[institution_id.hex]


def dump(store: ViewStore) -> dict[str, list[Row]]:
    with store.transaction(readonly=True) as cur:
        return {
            table: cur.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
            for table in TABLES
        }


# --- institutions ------------------------------------------------------------------------------


def test_institutions_are_listed_by_name_with_kind_and_contact_person(
    app: Overgang, runner: ProjectionRunner
) -> None:
    contact, successor = a_counsellor(app), a_counsellor(app)
    context = a_context(TEAM_LEAD)
    fgu = app.register_institution("FGU Test", InstitutionKind.FGU, contact, context)
    college = app.register_institution("College Test", InstitutionKind.VUC, None, context)
    fgu_id, college_id = fgu.ids["institution_id"], college.ids["institution_id"]
    app.assign_institution_contact(college_id, successor, context)

    rows = read(runner, InstitutionsView.all)

    assert rows == [
        {
            "institution_id": college_id.hex,
            "name": "College Test",
            "kind": "vuc",
            "contact_counsellor_id": successor.hex,
            "registered_at": iso_utc(DEFAULT_START),
            "linked_count": 0,
        },
        {
            "institution_id": fgu_id.hex,
            "name": "FGU Test",
            "kind": "fgu",
            "contact_counsellor_id": contact.hex,
            "registered_at": iso_utc(DEFAULT_START),
            "linked_count": 0,
        },
    ]
    unknown = UUID(int=1).hex
    by_id = read(runner, lambda cur: InstitutionsView.of_ids(cur, [fgu_id.hex, unknown]))
    assert by_id == {fgu_id.hex: rows[1]}
    assert read(runner, lambda cur: InstitutionsView.of_ids(cur, [])) == {}


# --- links -------------------------------------------------------------------------------------


def test_a_referral_links_while_the_case_is_open_and_closing_suspends_it(
    app: Overgang, runner: ProjectionRunner
) -> None:
    institution_id = an_institution(app)
    counsellor_id = a_counsellor(app)
    person = referred_young_person(app, institution_id=institution_id)
    assert linked(runner, institution_id) == [person.hex]

    app.review_referral(person, ReviewOutcome.ACCEPTED, date(2024, 3, 4), "note", a_context())
    app.enrol(person, counsellor_id, None, a_context())
    assert linked(runner, institution_id) == [person.hex]

    app.close_case(person, CaseOutcome.IN_EDUCATION, "test note", a_context())
    assert linked(runner, institution_id) == []

    app.reopen_case(person, "test reason", None, a_context())
    assert linked(runner, institution_id) == [person.hex]


def test_a_declined_referral_is_not_linked(app: Overgang, runner: ProjectionRunner) -> None:
    institution_id = an_institution(app)
    declined, waitlisted = (referred_young_person(app, institution_id=institution_id) for _ in "ab")
    app.review_referral(declined, ReviewOutcome.DECLINED, date(2024, 3, 4), "n", a_context())
    app.review_referral(waitlisted, ReviewOutcome.WAITLISTED, date(2024, 3, 4), "n", a_context())

    assert linked(runner, institution_id) == [waitlisted.hex]


def test_an_open_transition_links_until_it_ends(app: Overgang, runner: ProjectionRunner) -> None:
    college, school = an_institution(app), an_institution(app)
    person = enrolled_young_person(app).young_person_id
    first = app.start_transition(person, a_transition(to_institution_id=college), a_context())
    first_id = first.ids["transition_id"]
    assert linked(runner, college) == [person.hex]
    assert linked(runner, school) == []

    # The education began elsewhere than planned: both are involved while it is open.
    app.start_education(person, first_id, school, a_context())
    assert (linked(runner, college), linked(runner, school)) == ([person.hex], [person.hex])

    app.complete_transition(person, first_id, a_context())
    assert (linked(runner, college), linked(runner, school)) == ([], [])

    second = app.start_transition(person, a_transition(to_institution_id=school), a_context())
    assert linked(runner, school) == [person.hex]
    app.abandon_transition(person, second.ids["transition_id"], "test reason", a_context())
    assert linked(runner, school) == []


def test_a_signal_links_while_the_case_is_open(app: Overgang, runner: ProjectionRunner) -> None:
    absent, concerned, dropped = (an_institution(app) for _ in "abc")
    person = enrolled_young_person(app).young_person_id
    partner = a_context(PARTNER)
    app.report_absence(person, absent, date(2024, 3, 4), date(2024, 3, 5), "test note", partner)
    app.report_concern(person, concerned, "test note", partner)
    app.report_dropout(person, dropped, "test note", partner)

    grouped = read(runner, lambda cur: InstitutionsView.institutions_of(cur, [person.hex]))
    assert grouped == {person.hex: sorted(i.hex for i in (absent, concerned, dropped))}

    app.close_case(person, CaseOutcome.OTHER, "test note", a_context())
    grouped = read(runner, lambda cur: InstitutionsView.institutions_of(cur, [person.hex]))
    assert grouped == {person.hex: []}


def test_erasure_removes_the_links_for_good(
    app: Overgang, runner: ProjectionRunner, store: ViewStore
) -> None:
    institution_id = an_institution(app)
    person = accepted_young_person(app, institution_id=institution_id)
    app.report_concern(person, institution_id, "test note", a_context(PARTNER))
    assert linked(runner, institution_id) == [person.hex]

    app.erase_personal_data(person, ErasureRequester.YOUNG_PERSON, "GDPR art. 17", a_context())

    assert linked(runner, institution_id) == []
    assert person.hex not in repr(dump(store))


def test_many_reasons_link_once_and_counts_follow(app: Overgang, runner: ProjectionRunner) -> None:
    institution_id, other = an_institution(app), an_institution(app)
    people = [
        enrolled_young_person(app).young_person_id,
        enrolled_young_person(app).young_person_id,
        referred_young_person(app, institution_id=institution_id),
    ]
    for person in people[:2]:
        app.start_transition(person, a_transition(to_institution_id=institution_id), a_context())
        app.report_concern(person, institution_id, "test note", a_context(PARTNER))
        app.report_concern(person, institution_id, "test note", a_context(PARTNER))

    ids = [institution_id.hex, other.hex, UUID(int=1).hex]
    grouped = read(runner, lambda cur: InstitutionsView.linked_young_people(cur, ids))
    assert grouped == {
        institution_id.hex: sorted(p.hex for p in people),
        other.hex: [],
        UUID(int=1).hex: [],
    }
    rows = read(runner, lambda cur: InstitutionsView.of_ids(cur, ids[:2]))
    assert {key: row["linked_count"] for key, row in rows.items()} == {
        institution_id.hex: 3,
        other.hex: 0,
    }
    assert read(runner, lambda cur: InstitutionsView.institutions_of(cur, [])) == {}


# --- personal data that decodes as None, and batch sizes ------------------------------------------


def a_busy_history(app: Overgang) -> tuple[UUID, UUID]:
    college, school = an_institution(app), an_institution(app)
    app.assign_institution_contact(college, a_counsellor(app), a_context(TEAM_LEAD))
    partner = a_context(PARTNER)
    people = [enrolled_young_person(app).young_person_id for _ in "abcd"]
    referred_young_person(app, institution_id=college)
    for index, person in enumerate(people):
        transition = app.start_transition(
            person, a_transition(to_institution_id=college), a_context()
        ).ids["transition_id"]
        app.start_education(person, transition, school, a_context())
        app.report_absence(person, school, date(2024, 3, 4), date(2024, 3, 4), "note", partner)
        if index % 2:
            app.complete_transition(person, transition, a_context())
    app.close_case(people[0], CaseOutcome.MOVED, "note", a_context())
    app.erase_personal_data(people[1], ErasureRequester.GUARDIAN, "GDPR art. 17", a_context())
    return college, school


def test_personal_fields_that_decode_as_none_are_tolerated(app: Overgang, store: ViewStore) -> None:
    a_busy_history(app)
    projection = InstitutionsProjection()
    with store.transaction() as cur:
        projection.create_tables(cur)
        projection.process(cur, [(p, shredded(e)) for p, e in logged_events(app)])

    tables = dump(store)
    assert len(tables["institutions"]) == 2
    # Closing suspends links (their rows stay); erasure and ended transitions remove them.
    assert len(tables["institution_links"]) == 8


def test_batches_of_one_and_of_a_thousand_give_identical_tables(
    app: Overgang, store: ViewStore, runner: ProjectionRunner
) -> None:
    college, school = a_busy_history(app)
    ProjectionRunner(app, store, [InstitutionsProjection()], batch_size=1).catch_up()
    one_by_one = dump(store)

    ProjectionRunner(app, store, [InstitutionsProjection()], batch_size=1000).rebuild(
        "institutions"
    )

    assert dump(store) == one_by_one
    # Linked now: to the college, the referral and one open transition (the other case
    # with one is closed); to the school, that transition's education and an absence.
    ids = [college.hex, school.hex]
    grouped = read(runner, lambda cur: InstitutionsView.linked_young_people(cur, ids))
    assert {key: len(people) for key, people in grouped.items()} == {college.hex: 2, school.hex: 2}


# --- a property: no links outside an open case ---------------------------------------------------


def record(cases: list[tuple[ReferralDetails, list[Step]]]) -> World:
    """Every case's referral (every other one by a partner institution), then their
    commands interleaved, so batches mix people."""
    world = World.new(institutions=2)
    for index, (referral, _) in enumerate(cases):
        referring = world.institutions[1] if index % 2 == 0 else None
        Refer(dataclasses.replace(referral, institution_id=referring)).run(
            world, f.a_context(f.PARTNER)
        )
    for round_of_steps in zip_longest(*(steps for _, steps in cases)):
        for person, step in zip(world.people, round_of_steps, strict=True):
            if step is not None:
                perform(world, person, step)
    return world


@given(
    cases=st.lists(histories(max_steps=20), min_size=1, max_size=4),
    batch_size=st.integers(min_value=1, max_value=5),
)
def test_links_exist_only_for_open_cases_for_any_history_and_batch_size(
    cases: list[tuple[ReferralDetails, list[Step]]], batch_size: int
) -> None:
    world = record(cases)
    app = world.app
    person_ids = [p.id.hex for p in world.people]

    with tempfile.TemporaryDirectory() as folder:
        dumps = []
        for name, size in (("small", batch_size), ("large", 1000)):
            store = SQLiteViewStore(Path(folder) / f"{name}.db")
            try:
                runner = ProjectionRunner(app, store, [InstitutionsProjection()], batch_size=size)
                runner.catch_up()
                dumps.append(dump(store))
                with store.transaction(readonly=True) as cur:
                    links = InstitutionsView.institutions_of(cur, person_ids)
            finally:
                store.close()
        assert dumps[0] == dumps[1]

    for index, person in enumerate(world.people):
        status = app.young_person(person.id).status
        if status not in OPEN:
            assert links[person.id.hex] == []
        elif index % 2 == 0:
            assert world.institutions[1].hex in links[person.id.hex]
