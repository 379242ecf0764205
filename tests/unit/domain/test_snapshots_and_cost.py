"""Snapshots load to the same state as a full replay, and keep a command's cost flat.

Cost is measured by counting what a command reads from the event store: exact and
deterministic, unlike a timing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.application import project_aggregate
from eventsourcing.domain import Snapshot
from eventsourcing.persistence import EventStore

from domain.application import Overgang
from domain.vocabulary import (
    AppealOutcome,
    CaseOutcome,
    Channel,
    ConsentScope,
    TransitionStep,
)
from tests.factories import (
    WAKE_UP_TIME,
    WEEKDAYS,
    CaseIds,
    a_contact,
    a_context,
    a_counsellor,
    a_transition,
    an_institution,
    decision_content,
    enrolled_young_person,
    injunction,
    new_app,
)
from tests.fakes import FakeClock


class ReadCounter:
    """Counts the events an event store hands out (a wrapper, not a mock: it reads)."""

    def __init__(self, store: EventStore[UUID], monkeypatch: pytest.MonkeyPatch) -> None:
        self.events = 0
        self.queries = 0
        inner = store.get

        def counting_get(*args: Any, **kwargs: Any) -> Iterator[Any]:
            self.queries += 1
            for event in inner(*args, **kwargs):
                self.events += 1
                yield event

        monkeypatch.setattr(store, "get", counting_get)

    def take(self) -> tuple[int, int]:
        """(events, queries) since the last take."""
        counts = (self.events, self.queries)
        self.events = self.queries = 0
        return counts


def a_varied_history(app: Overgang, clock: FakeClock) -> CaseIds:
    """A young person whose state touches every field the rules keep."""
    case = enrolled_young_person(app, plan=True)
    yp = case.young_person_id
    ctx = a_context()
    institution_id = an_institution(app)
    app.record_consent(yp, ConsentScope.SHARING_WITH_INSTITUTION, institution_id, ctx)
    app.agree_wake_up(yp, WAKE_UP_TIME, WEEKDAYS, Channel.SMS, ctx)
    for day in range(1, 4):
        clock.advance(days=1)
        app.record_contact(yp, a_contact(reached=day % 2 == 0), a_context())
    first = app.set_milestone(yp, "t", date(2024, 4, 1), ctx).ids["milestone_id"]
    second = app.set_milestone(yp, "t", date(2024, 5, 1), ctx).ids["milestone_id"]
    app.reach_milestone(yp, first, "", ctx)
    app.miss_milestone(yp, second, "", ctx)
    transition_id = app.start_transition(yp, a_transition(), ctx).ids["transition_id"]
    app.record_transition_step(yp, transition_id, TransitionStep.ADMITTED, "", ctx)
    app.start_education(yp, transition_id, institution_id, ctx)
    content = decision_content(decided_by=case.counsellor_id)
    decision_id = app.issue_injunction(yp, injunction(), content, ctx).ids["decision_id"]
    app.appeal_decision(yp, decision_id, "", ctx)
    app.decide_appeal(yp, decision_id, AppealOutcome.CHANGED, "", ctx)
    app.revise_injunction(yp, decision_id, injunction(), "", content, ctx)
    app.assign_counsellor(yp, a_counsellor(app), "", None, ctx)
    app.close_case(yp, CaseOutcome.IN_EDUCATION, "", ctx)
    app.reopen_case(yp, "", None, ctx)
    return case


def replayed_from_scratch(app: Overgang, aggregate_id: UUID) -> object:
    return project_aggregate(None, app.events.get(aggregate_id))


# --- snapshots ---------------------------------------------------------------------------------


def test_loading_through_snapshots_gives_the_state_of_a_full_replay(clock: FakeClock) -> None:
    app = new_app(clock, snapshot_interval=3)
    case = a_varied_history(app, clock)
    person = app.young_person(case.young_person_id)

    assert app.snapshots is not None
    snapshots = list(app.snapshots.get(case.young_person_id))
    assert [s.originator_version for s in snapshots] == list(range(3, person.version + 1, 3))
    assert person == replayed_from_scratch(app, case.young_person_id)
    assert person.milestones and person.transitions and person.decisions and person.consents


def test_every_snapshot_equals_the_replay_to_its_version(clock: FakeClock) -> None:
    app = new_app(clock, snapshot_interval=2)
    case = a_varied_history(app, clock)
    assert app.snapshots is not None

    for snapshot in app.snapshots.get(case.young_person_id):
        assert isinstance(snapshot, Snapshot)
        version = snapshot.originator_version
        replayed = project_aggregate(None, app.events.get(case.young_person_id, lte=version))
        assert snapshot.mutate(None) == replayed, f"snapshot at version {version}"


def test_a_counsellors_snapshot_loads_the_same_caseload(clock: FakeClock) -> None:
    app = new_app(clock, snapshot_interval=2)
    counsellor_id = a_counsellor(app, caseload_limit=5)
    for _ in range(4):
        enrolled_young_person(app, counsellor_id=counsellor_id)

    counsellor = app.counsellor(counsellor_id)

    assert counsellor.version == 5
    assert counsellor == replayed_from_scratch(app, counsellor_id)
    assert len(counsellor.caseload) == 4


def test_a_snapshot_survives_the_mapper(app: Overgang, clock: FakeClock) -> None:
    case = a_varied_history(app, clock)
    person = app.young_person(case.young_person_id)

    stored = app.mapper.to_stored_event(Snapshot.take(person))
    restored = app.mapper.to_domain_event(stored)

    assert isinstance(restored, Snapshot)
    assert restored.mutate(None) == person


# --- the cost of a command ---------------------------------------------------------------------


def expected_reads(version: int, interval: int) -> int:
    """Events one record_contact reads, from a person at ``version``, snapshots every
    ``interval``: the events since the last snapshot. Taking the next snapshot reads
    nothing: the aggregate in hand is snapshotted."""
    return version % interval if version >= interval else version


def test_with_snapshots_a_command_reads_a_bounded_number_of_events(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    interval = 100
    app = new_app(clock, snapshot_interval=interval)
    case = enrolled_young_person(app)
    assert app.snapshots is not None
    events = ReadCounter(app.events, monkeypatch)
    snapshots = ReadCounter(app.snapshots, monkeypatch)

    reads: list[int] = []
    version = app.young_person(case.young_person_id).version
    events.take()
    snapshots.take()
    while version < 1_000:
        app.record_contact(case.young_person_id, a_contact(), a_context())
        read, _ = events.take()
        assert read == expected_reads(version, interval), f"at version {version}"
        _, snapshot_queries = snapshots.take()
        assert snapshot_queries == 1
        reads.append(read)
        version += 1

    assert app.young_person(case.young_person_id).version == 1_000
    assert max(reads) == interval - 1
    # The 1,000th event costs no more than the 100th.
    assert reads[-interval:] == reads[interval - 3 : 2 * interval - 3]


def test_a_person_with_1000_events_costs_what_one_with_10_does(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    interval = 100
    app = new_app(clock, snapshot_interval=interval)
    short = enrolled_young_person(app)
    long = enrolled_young_person(app)
    for _ in range(7):
        app.record_contact(short.young_person_id, a_contact(), a_context())
    for _ in range(997):
        app.record_contact(long.young_person_id, a_contact(), a_context())
    events = ReadCounter(app.events, monkeypatch)

    app.record_contact(short.young_person_id, a_contact(), a_context())
    short_reads, _ = events.take()
    app.record_contact(long.young_person_id, a_contact(), a_context())
    long_reads, _ = events.take()

    assert app.young_person(long.young_person_id).version == 1_001
    assert (short_reads, long_reads) == (10, 0)


def test_without_a_snapshot_a_command_replays_the_whole_history(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The counter measures what matters: with snapshots out of reach, reads grow.
    app = new_app(clock, snapshot_interval=1_000_000)
    case = enrolled_young_person(app)
    for _ in range(47):
        app.record_contact(case.young_person_id, a_contact(), a_context())
    events = ReadCounter(app.events, monkeypatch)

    app.record_contact(case.young_person_id, a_contact(), a_context())

    assert events.take() == (50, 1)
