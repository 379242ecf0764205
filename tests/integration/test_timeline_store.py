"""The timeline contract on both view stores: SQLite files and a fresh PostgreSQL database,
through the services the composition root builds."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from uuid import UUID

import pytest

from domain.vocabulary import Channel, Place, Purpose
from infra.bootstrap import Services, build_services
from projections.store import Row
from projections.timeline import TimelineView
from tests.backends import Backend
from tests.factories import a_contact, a_context, a_counsellor, enrolled_young_person
from tests.fakes import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def services(backend: Backend, clock: FakeClock) -> Iterator[Services]:
    services = build_services(backend.settings, clock=clock)
    try:
        yield services
    finally:
        services.close()


def entries(services: Services, *ids: UUID, **page: int) -> dict[str, list[Row]]:
    services.projections.catch_up()
    with services.views.transaction(readonly=True) as cur:
        return TimelineView.entries(cur, [i.hex for i in ids], **page)


def test_facts_recorded_late_take_their_place_in_time(services: Services, clock: FakeClock) -> None:
    app = services.app
    young_person_id = enrolled_young_person(app).young_person_id
    clock.advance(days=2)
    app.record_contact(young_person_id, a_contact(purpose=Purpose.FOLLOW_UP), a_context())
    clock.advance(hours=1)
    late = app.record_contact(
        young_person_id,
        a_contact(channel=Channel.PHONE, place=Place.HOME, duration_minutes=20),
        a_context(occurred_at=clock.now - timedelta(days=1)),
    )

    rows = entries(services, young_person_id)[young_person_id.hex]

    assert [row["summary"] for row in rows] == [
        "Referred to the team (consent: case work, SMS contact)",
        "Referral reviewed: accepted",
        "Enrolled with a counsellor of team aalborg-mobil",
        "Contact by phone at home: reached (check-in, 20 min)",
        "Contact in a meeting at a cafe: reached (follow-up, 30 min)",
    ]
    assert rows[3]["position"] == late.position
    assert rows[3]["occurred_at"] == "2024-03-05T10:00:00.000000+00:00"
    assert rows[3]["recorded_at"] == "2024-03-06T10:00:00.000000+00:00"


def test_details_keep_any_text_exactly(services: Services) -> None:
    young_person_id = enrolled_young_person(services.app).young_person_id
    note = 'mødtes på havnen \u2013 🙂 "citat" \\ 100%'
    services.app.record_contact(young_person_id, a_contact(note=note), a_context())

    row = entries(services, young_person_id)[young_person_id.hex][-1]

    assert json.loads(row["details"])["note"] == note


@pytest.fixture
def three_people(services: Services) -> list[UUID]:
    app = services.app
    counsellor_id = a_counsellor(app)
    ids = [enrolled_young_person(app, counsellor_id=counsellor_id).young_person_id for _ in "abc"]
    for young_person_id in ids[:2]:
        app.record_contact(young_person_id, a_contact(), a_context())
    return ids


def test_entries_of_many_young_people_in_one_read(
    services: Services, three_people: list[UUID]
) -> None:
    unknown = UUID(int=1)

    grouped = entries(services, *three_people, unknown)

    assert [len(grouped[i.hex]) for i in [*three_people, unknown]] == [4, 4, 3, 0]
    for rows in grouped.values():
        keys = [(row["occurred_at"], row["position"]) for row in rows]
        assert keys == sorted(keys)


def test_pages_by_limit_and_after_position(services: Services, three_people: list[UUID]) -> None:
    everything = entries(services, *three_people)
    cursor = everything[three_people[0].hex][0]["position"]

    first_two = entries(services, *three_people, limit=2)
    after_first = entries(services, three_people[0], after_position=cursor, limit=2)

    assert first_two == {key: rows[:2] for key, rows in everything.items()}
    assert after_first == {three_people[0].hex: everything[three_people[0].hex][1:3]}


def test_known_young_people(services: Services, three_people: list[UUID]) -> None:
    services.projections.catch_up()
    with services.views.transaction(readonly=True) as cur:
        known = TimelineView.known(cur, [three_people[1].hex, UUID(int=1).hex])

    assert known == {three_people[1].hex}


def test_small_batches_and_a_rebuild_give_the_same_view(
    services: Services, three_people: list[UUID]
) -> None:
    services.projections.batch_size = 2
    before = entries(services, *three_people)

    services.projections.rebuild("timeline")

    assert entries(services, *three_people) == before
    assert services.projections.position("timeline") == services.app.recorder.max_notification_id()
