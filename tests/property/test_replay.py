"""Replaying a stream gives the live state, with or without snapshots, through the mapper.

The application runs with an aggregate cache that is not fast-forwarded, so the cache holds
the very objects the commands mutated: the live state. Snapshots are taken every few
events so that most histories load through one.
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.application import project_aggregate
from eventsourcing.domain import Aggregate, Snapshot
from hypothesis import given

from domain.application import CommandResult
from domain.errors import DomainError
from domain.institution import Institution
from domain.values import ReferralDetails
from tests import strategies as s
from tests.factories import a_context, log_position

SNAPSHOT_INTERVAL = 4
LIVE_CACHE = {"AGGREGATE_CACHE_MAXSIZE": "1000", "AGGREGATE_CACHE_FASTFORWARD": "n"}


def run_history(referral: ReferralDetails, steps: list[s.Step]) -> s.World:
    world = s.World.new(snapshot_interval=SNAPSHOT_INTERVAL, env=LIVE_CACHE)
    s.Refer(referral).run(world, a_context())
    [person] = world.people
    for step in steps:
        before = log_position(world.app)
        outcome = s.perform(world, person, step)
        if isinstance(outcome, DomainError):
            assert log_position(world.app) == before, f"refused {step.command} wrote"
        else:
            assert isinstance(outcome, CommandResult)
            assert outcome.position == log_position(world.app) > before
    return world


def stream_ids(world: s.World) -> list[UUID]:
    return [world.people[0].id, *world.counsellors, *world.institutions]


@given(s.histories())
def test_replaying_a_stream_from_scratch_gives_the_live_aggregate(
    history: tuple[ReferralDetails, list[s.Step]],
) -> None:
    world = run_history(*history)

    for aggregate_id in stream_ids(world):
        live: Aggregate = world.app.repository.get(aggregate_id)  # the cache: the live object
        replayed = project_aggregate(None, world.app.events.get(aggregate_id))
        assert replayed == live, f"stream {aggregate_id}"


@given(s.histories())
def test_loading_through_a_snapshot_gives_the_live_aggregate(
    history: tuple[ReferralDetails, list[s.Step]],
) -> None:
    world = run_history(*history)
    app = world.app
    assert app.snapshots is not None

    for aggregate_id in stream_ids(world):
        live: Aggregate = app.repository.get(aggregate_id)
        # Asking for a version bypasses the cache: latest snapshot plus the events after it.
        loaded: Aggregate = app.repository.get(aggregate_id, version=live.version)
        assert loaded == live, f"stream {aggregate_id}"
        snapshots = list(app.snapshots.get(aggregate_id, desc=True, limit=1))
        # Institutions are not snapshotted: their streams stay short.
        if live.version >= SNAPSHOT_INTERVAL and not isinstance(live, Institution):
            assert snapshots, f"no snapshot of {aggregate_id} at version {live.version}"
        # And a snapshot of the live state, encoded and decoded, is the live state.
        stored = app.mapper.to_stored_event(Snapshot.take(live))
        restored = app.mapper.to_domain_event(stored)
        assert isinstance(restored, Snapshot)
        assert restored.mutate(None) == live


@given(s.histories())
def test_every_event_round_trips_through_the_mapper(
    history: tuple[ReferralDetails, list[s.Step]],
) -> None:
    world = run_history(*history)
    app = world.app
    notifications = app.recorder.select_notifications(start=1, limit=10_000)
    assert [n.id for n in notifications] == list(range(1, log_position(app) + 1))

    for stored in notifications:
        event = app.mapper.to_domain_event(stored)
        again = app.mapper.to_stored_event(event)
        assert (again.originator_id, again.originator_version, again.topic) == (
            stored.originator_id,
            stored.originator_version,
            stored.topic,
        )
        assert again.state == stored.state
        assert app.mapper.to_domain_event(again) == event
