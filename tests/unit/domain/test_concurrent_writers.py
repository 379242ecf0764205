"""Concurrent writers: one wins, the other gets a clear conflict, nothing is half-written."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest

from domain.errors import ConcurrentUpdateError
from tests.factories import (
    a_contact,
    a_context,
    a_counsellor,
    accepted_young_person,
    enrolled_young_person,
    log_position,
    new_app,
)
from tests.fakes import FakeClock


class InterleavingClock(FakeClock):
    """A clock that lets another writer in at its next reading.

    A command reads the clock after loading its aggregates and before saving them, which
    is exactly the window in which a concurrent writer can change the same stream.
    """

    def __init__(self) -> None:
        super().__init__()
        self._other_writer: Callable[[], object] | None = None

    def let_in(self, other_writer: Callable[[], object]) -> None:
        self._other_writer = other_writer

    def __call__(self) -> datetime:
        other_writer, self._other_writer = self._other_writer, None
        if other_writer is not None:
            other_writer()
        return super().__call__()


def test_a_concurrent_write_to_the_same_stream_is_a_conflict() -> None:
    clock = InterleavingClock()
    app = new_app(clock)
    case = enrolled_young_person(app)
    clock.let_in(lambda: app.record_contact(case.young_person_id, a_contact(), a_context()))
    position_before = log_position(app)

    with pytest.raises(ConcurrentUpdateError):
        app.record_contact(case.young_person_id, a_contact(note="second"), a_context())

    # Only the other writer's contact landed.
    assert log_position(app) == position_before + 1
    assert app.young_person(case.young_person_id).contacts_recorded == 1


def test_after_a_conflict_the_command_can_be_retried() -> None:
    clock = InterleavingClock()
    app = new_app(clock)
    case = enrolled_young_person(app)
    clock.let_in(lambda: app.record_contact(case.young_person_id, a_contact(), a_context()))
    with pytest.raises(ConcurrentUpdateError):
        app.record_contact(case.young_person_id, a_contact(), a_context())

    result = app.record_contact(case.young_person_id, a_contact(), a_context())

    assert result.position == log_position(app)
    assert app.young_person(case.young_person_id).contacts_recorded == 2


def test_a_conflict_on_one_stream_writes_nothing_on_the_other() -> None:
    clock = InterleavingClock()
    app = new_app(clock)
    counsellor_id = a_counsellor(app, caseload_limit=5)
    first = accepted_young_person(app)
    second = accepted_young_person(app)
    # While `first` is being enrolled, `second` is enrolled with the same counsellor: the
    # counsellor's stream conflicts, the young person's stream would not have.
    clock.let_in(lambda: app.enrol(second, counsellor_id, None, a_context()))
    position_before = log_position(app)

    with pytest.raises(ConcurrentUpdateError):
        app.enrol(first, counsellor_id, None, a_context())

    assert log_position(app) == position_before + 2  # the other writer's two events
    assert app.young_person(first).version == 2  # its Enrolled event was not written
    assert app.counsellor(counsellor_id).caseload == [second.hex]
