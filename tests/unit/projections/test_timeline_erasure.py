"""The timeline after a young person's personal data was erased, on SQLite and PostgreSQL.

What must go: every personal field of every entry of that person. What must stay: when
each fact happened, what kind of fact it was, who recorded it, its summary and its
non-identifying fields, so that statistics and the shape of the case survive.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, cast
from uuid import UUID

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, StoredEvent

from domain import young_person_events as ev
from domain.application import Overgang
from domain.vocabulary import ErasureRequester, ReviewOutcome
from infra.runner import ProjectionRunner
from projections.store import Row, ViewStore
from projections.timeline import (
    PERSONAL_FIELDS_BY_TYPE,
    TABLE,
    TimelineProjection,
    TimelineView,
    erased_details,
)
from tests.backends import Backend
from tests.factories import a_context, enrolled_young_person, new_app, referred_young_person
from tests.fakes import FakeClock
from tests.unit.projections.test_timeline import a_full_history


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


def erase(app: Overgang, young_person_id: UUID) -> None:
    app.erase_personal_data(
        young_person_id, ErasureRequester.YOUNG_PERSON, "GDPR art. 17", a_context()
    )


def rows_of(store: ViewStore, young_person_id: UUID) -> list[Row]:
    with store.transaction(readonly=True) as cur:
        return TimelineView.entries(cur, [young_person_id.hex])[young_person_id.hex]


def project(app: Application[Any], store: ViewStore, batch_size: int = 7) -> ProjectionRunner:
    runner = ProjectionRunner(app, store, [TimelineProjection()], batch_size=batch_size)
    runner.catch_up()
    return runner


def personal_values(rows: Sequence[Row]) -> list[tuple[str, str, Any]]:
    """Every personal field of the rows that still holds a value."""
    return [
        (row["event_type"], name, value)
        for row in rows
        for name, value in json.loads(row["details"]).items()
        if name in PERSONAL_FIELDS_BY_TYPE[row["event_type"]] and value is not None
    ]


def test_before_erasure_the_entries_hold_the_personal_fields(
    app: Overgang, clock: FakeClock, store: ViewStore
) -> None:
    young_person_id = a_full_history(app, clock, erase=False)

    project(app, store)

    rows = rows_of(store, young_person_id)
    assert ("Referred", "name", "Test Person") in personal_values(rows)
    assert {row["personal_data_erased"] for row in rows} == {0}


@pytest.mark.parametrize("batch_size", [1, 7, 1000])
def test_erasure_nulls_every_personal_field_and_keeps_the_facts(
    app: Overgang, clock: FakeClock, store: ViewStore, batch_size: int
) -> None:
    young_person_id = a_full_history(app, clock, erase=False)
    project(app, store, batch_size=batch_size)
    before = rows_of(store, young_person_id)

    erase(app, young_person_id)
    project(app, store, batch_size=batch_size)

    after = rows_of(store, young_person_id)
    assert personal_values(after) == []
    assert [row["event_type"] for row in after] == [
        *(row["event_type"] for row in before),
        "PersonalDataErased",
    ]
    assert {row["personal_data_erased"] for row in after} == {1}
    kept = ("position", "occurred_at", "recorded_at", "actor_id", "actor_role", "summary")
    assert [{k: row[k] for k in kept} for row in after[:-1]] == [
        {k: row[k] for k in kept} for row in before
    ]
    for old, new in zip(before, after, strict=False):
        personal = PERSONAL_FIELDS_BY_TYPE[old["event_type"]]
        old_details, new_details = json.loads(old["details"]), json.loads(new["details"])
        assert new_details == {
            name: None if name in personal else value for name, value in old_details.items()
        }


def test_erasure_in_the_same_batch_as_the_facts_purges_them_too(
    app: Overgang, clock: FakeClock, store: ViewStore
) -> None:
    young_person_id = a_full_history(app, clock)

    project(app, store, batch_size=10_000)

    rows = rows_of(store, young_person_id)
    assert personal_values(rows) == []
    assert {row["personal_data_erased"] for row in rows} == {1}


def test_a_contact_still_shows_that_it_happened_and_when(
    app: Overgang, clock: FakeClock, store: ViewStore
) -> None:
    young_person_id = a_full_history(app, clock)

    project(app, store)

    rows = rows_of(store, young_person_id)
    [contact] = [row for row in rows if row["event_type"] == "ContactRecorded"]
    details = json.loads(contact["details"])
    assert contact["summary"] == "Contact by phone at home: reached (check-in, 20 min)"
    assert details["note"] is None
    assert (details["channel"], details["reached"], details["duration_minutes"]) == (
        "phone",
        True,
        20,
    )


def test_other_young_people_keep_their_entries(
    app: Overgang, clock: FakeClock, store: ViewStore
) -> None:
    erased = enrolled_young_person(app, plan=True).young_person_id
    kept = enrolled_young_person(app, plan=True).young_person_id
    project(app, store)
    kept_before = rows_of(store, kept)

    erase(app, erased)
    project(app, store)

    assert rows_of(store, kept) == kept_before
    assert personal_values(rows_of(store, kept)) != []


# --- a rebuild after the key was shredded ------------------------------------------------


class ShreddedMapper:
    """Decodes like the application's mapper, but as after crypto-shredding: the personal
    fields of the shredded young people's events come back as None."""

    def __init__(self, mapper: Mapper[UUID], shredded: set[UUID]) -> None:
        self._mapper = mapper
        self._shredded = shredded

    def to_domain_event(self, stored: StoredEvent) -> DomainEventProtocol[UUID]:
        event = self._mapper.to_domain_event(stored)
        if isinstance(event, ev.YoungPersonEvent) and event.originator_id in self._shredded:
            blanks: dict[str, Any] = dict.fromkeys(type(event).PERSONAL)
            return cast(DomainEventProtocol[UUID], dataclasses.replace(event, **blanks))
        return event


@dataclass
class ShreddedSource:
    """The application's log as a reader sees it once the keys of ``shredded`` are gone."""

    recorder: Any
    mapper: ShreddedMapper


def test_a_rebuild_after_shredding_gives_the_same_timeline(
    app: Overgang, clock: FakeClock, store: ViewStore
) -> None:
    young_person_id = a_full_history(app, clock)
    other = referred_young_person(app)
    app.review_referral(other, ReviewOutcome.ACCEPTED, date(2024, 3, 1), "test note", a_context())
    project(app, store)
    incremental = rows_of(store, young_person_id), rows_of(store, other)

    source = ShreddedSource(app.recorder, ShreddedMapper(app.mapper, {young_person_id}))
    runner = ProjectionRunner(
        cast(Application[Any], source), store, [TimelineProjection()], batch_size=5
    )
    runner.rebuild("timeline")

    assert (rows_of(store, young_person_id), rows_of(store, other)) == incremental


# --- the pieces ------------------------------------------------------------------------------


def test_erased_details_null_exactly_the_personal_fields_of_the_type() -> None:
    details = json.dumps({"note": "test note", "channel": "sms", "reached": True})

    assert json.loads(erased_details("ContactRecorded", details)) == {
        "note": None,
        "channel": "sms",
        "reached": True,
    }


def test_erased_details_of_an_unknown_type_null_every_field() -> None:
    details = json.dumps({"note": "test note", "channel": "sms"})

    assert json.loads(erased_details("SomethingRenamed", details)) == {
        "note": None,
        "channel": None,
    }


def test_every_young_person_event_type_is_known_with_its_personal_fields() -> None:
    assert PERSONAL_FIELDS_BY_TYPE["Referred"] == ev.Referred.PERSONAL
    assert PERSONAL_FIELDS_BY_TYPE["EducationInjunctionRevised"] == (
        ev.EducationInjunctionRevised.PERSONAL
    )
    assert PERSONAL_FIELDS_BY_TYPE["SubjectAccessExported"] == frozenset()


def test_a_timeline_table_from_before_erasure_gets_the_marker_column(store: ViewStore) -> None:
    with store.transaction() as cur:
        cur.execute(
            f"CREATE TABLE {TABLE} ("
            "young_person_id TEXT NOT NULL, position BIGINT NOT NULL, "
            "occurred_at TEXT NOT NULL, recorded_at TEXT NOT NULL, "
            "event_type TEXT NOT NULL, actor_id TEXT NOT NULL, actor_role TEXT NOT NULL, "
            "summary TEXT NOT NULL, details TEXT NOT NULL, "
            "PRIMARY KEY (young_person_id, position))"
        )
        cur.execute(
            f"INSERT INTO {TABLE} VALUES (%s, 1, 't', 't', 'Referred', 'a', 'partner', 's', %s)",
            (UUID(int=1).hex, "{}"),
        )

    for _ in range(2):  # idempotent
        with store.transaction() as cur:
            TimelineProjection().create_tables(cur)

    assert [row["personal_data_erased"] for row in rows_of(store, UUID(int=1))] == [0]
