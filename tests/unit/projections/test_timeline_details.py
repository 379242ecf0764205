"""The timeline's ``details`` text: the quick encoding is exactly the plain one.

``details_json`` lets the JSON encoder convert ids, times and vocabulary values as it meets
them; ``event_fields`` (which the subject access export uses too) converts every field
first. Both must give the same text for every event, also with personal fields gone.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.actors import Actor, Role
from domain.application import Overgang
from domain.young_person_events import ContactRecorded, YoungPersonEvent
from projections.timeline import (
    PERSONAL_FIELDS_BY_TYPE,
    _dumps,
    details_json,
    event_fields,
)
from tests.factories import new_app
from tests.fakes import FakeClock
from tests.unit.projections.test_timeline import a_full_history


def plainly(event: Any) -> str:
    return _dumps(event_fields(event))


def recorded_events(app: Overgang) -> Iterator[YoungPersonEvent]:
    for notification in app.recorder.select_notifications(start=1, limit=10_000):
        event = app.mapper.to_domain_event(notification)
        if isinstance(event, YoungPersonEvent):
            yield event


@pytest.fixture(scope="module")
def every_kind_of_event() -> list[YoungPersonEvent]:
    clock = FakeClock()
    app = new_app(clock)
    a_full_history(app, clock)
    events = list(recorded_events(app))
    assert len({type(event) for event in events}) > 30
    return events


def test_details_of_every_event_type_read_as_the_plain_encoding(
    every_kind_of_event: list[YoungPersonEvent],
) -> None:
    for event in every_kind_of_event:
        assert details_json(event) == plainly(event)


def test_details_without_personal_fields_read_as_the_plain_encoding(
    every_kind_of_event: list[YoungPersonEvent],
) -> None:
    # As events decode once the young person's key is shredded.
    for event in every_kind_of_event:
        shredded = copy.copy(event)
        for name in PERSONAL_FIELDS_BY_TYPE[type(event).__name__]:
            object.__setattr__(shredded, name, None)
        assert details_json(shredded) == plainly(shredded)


@given(
    note=st.none() | st.text(),
    minutes=st.none() | st.integers(min_value=0, max_value=10**6),
    hours=st.integers(min_value=-12, max_value=12),
)
def test_any_text_numbers_and_time_zones_read_as_the_plain_encoding(
    note: str | None, minutes: int | None, hours: int
) -> None:
    clock = FakeClock()
    app = new_app(clock)
    event = next(
        event
        for event in recorded_events_of_a_contact(app, clock)
        if isinstance(event, ContactRecorded)
    )
    changed = copy.copy(event)
    object.__setattr__(changed, "note", note)
    object.__setattr__(changed, "duration_minutes", minutes)
    # A time in another zone takes the slow path of the time conversion.
    object.__setattr__(
        changed, "occurred_at", datetime(2024, 1, 2, 3, 4, tzinfo=timezone(timedelta(hours=hours)))
    )
    assert details_json(changed) == plainly(changed)


def recorded_events_of_a_contact(app: Overgang, clock: FakeClock) -> Iterator[YoungPersonEvent]:
    # The history moves the app's own clock: alerts fall due only as time passes.
    a_full_history(app, clock, erase=False)
    return recorded_events(app)


class _WithMapping(YoungPersonEvent):
    """An event type with a dict field: JSON spells a True or None key its own way, so its
    details take the plain path."""

    extra: dict[Any, Any]


def test_an_event_with_a_mapping_field_reads_as_the_plain_encoding() -> None:
    event = object.__new__(_WithMapping)
    object.__setattr__(
        event,
        "__dict__",
        {
            "originator_id": uuid4(),
            "originator_version": 1,
            "timestamp": datetime(2024, 1, 1, tzinfo=UTC),
            "occurred_at": datetime(2024, 1, 1, tzinfo=UTC),
            "actor": Actor("someone", Role.COUNSELLOR),
            "extra": {True: 1, None: 2, 3: "three"},
        },
    )
    assert details_json(event) == plainly(event)
    assert '"True":1' in details_json(event)
