"""The retention read model (whose case is closed, since when), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.application import Overgang
from domain.vocabulary import CaseOutcome, ErasureRequester
from infra.runner import ProjectionRunner
from projections.retention import RetentionProjection, RetentionView, years_before
from projections.store import ViewStore
from tests.backends import Backend
from tests.factories import a_context, enrolled_young_person, new_app
from tests.fakes import DEFAULT_START, FakeClock


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
    return ProjectionRunner(app, store, [RetentionProjection()], batch_size=3)


def closed_since(runner: ProjectionRunner, *ids: UUID) -> dict[str, datetime]:
    runner.catch_up()
    with runner.store.transaction(readonly=True) as cur:
        return RetentionView.closed_since(cur, [i.hex for i in ids])


def closed_before(runner: ProjectionRunner, cutoff: datetime) -> list[str]:
    runner.catch_up()
    with runner.store.transaction(readonly=True) as cur:
        return RetentionView.closed_before(cur, cutoff)


def close(app: Overgang, young_person_id: UUID, when: datetime | None = None) -> None:
    app.close_case(
        young_person_id, CaseOutcome.IN_EDUCATION, "test note", a_context(occurred_at=when)
    )


def test_a_closed_case_is_held_with_when_it_closed_in_the_world(
    app: Overgang, runner: ProjectionRunner
) -> None:
    young_person_id = enrolled_young_person(app).young_person_id
    closed_at = DEFAULT_START - timedelta(days=3)

    close(app, young_person_id, closed_at)

    assert closed_since(runner, young_person_id) == {young_person_id.hex: closed_at}


def test_an_open_case_is_not_held(app: Overgang, runner: ProjectionRunner) -> None:
    young_person_id = enrolled_young_person(app).young_person_id

    assert closed_since(runner, young_person_id) == {}


def test_reopening_removes_the_case_and_closing_again_holds_the_new_time(
    app: Overgang, clock: FakeClock, runner: ProjectionRunner
) -> None:
    young_person_id = enrolled_young_person(app, closed=True).young_person_id
    runner.catch_up()

    app.reopen_case(young_person_id, "test reason", None, a_context())
    assert closed_since(runner, young_person_id) == {}

    clock.advance(days=30)
    close(app, young_person_id)
    assert closed_since(runner, young_person_id) == {young_person_id.hex: clock.now}


def test_erasure_removes_the_case(app: Overgang, runner: ProjectionRunner) -> None:
    young_person_id = enrolled_young_person(app, closed=True).young_person_id
    runner.catch_up()

    app.erase_personal_data(
        young_person_id, ErasureRequester.RETENTION_POLICY, "retention", a_context()
    )

    assert closed_since(runner, young_person_id) == {}


def test_closed_before_lists_the_longest_closed_first_and_only_before_the_cutoff(
    app: Overgang, runner: ProjectionRunner
) -> None:
    cutoff = DEFAULT_START - timedelta(days=365)
    people = [enrolled_young_person(app).young_person_id for _ in range(4)]
    close(app, people[0], cutoff - timedelta(days=1))
    close(app, people[1], cutoff - timedelta(days=400))
    close(app, people[2], cutoff)  # exactly at the cut-off: not before it
    close(app, people[3], cutoff + timedelta(days=1))

    assert closed_before(runner, cutoff) == [people[1].hex, people[0].hex]


def test_a_rebuild_gives_the_same_view(app: Overgang, runner: ProjectionRunner) -> None:
    kept = enrolled_young_person(app, closed=True).young_person_id
    reopened = enrolled_young_person(app, closed=True).young_person_id
    app.reopen_case(reopened, "test reason", None, a_context())
    before = closed_since(runner, kept, reopened)

    runner.rebuild("retention")

    assert closed_since(runner, kept, reopened) == before == {kept.hex: DEFAULT_START}


@given(
    moment=st.datetimes(
        min_value=datetime(1990, 1, 1), max_value=datetime(2100, 12, 31), timezones=st.just(UTC)
    ),
    years=st.integers(min_value=0, max_value=50),
)
def test_years_before_goes_back_whole_calendar_years(moment: datetime, years: int) -> None:
    earlier = years_before(moment, years)

    assert earlier.year == moment.year - years
    assert (earlier.month, earlier.time(), earlier.tzinfo) == (
        moment.month,
        moment.time(),
        moment.tzinfo,
    )
    assert earlier.day == moment.day or (moment.month, moment.day, earlier.day) == (2, 29, 28)
