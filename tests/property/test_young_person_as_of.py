"""A young person as of a date is what the read models showed then.

Live read models are kept with every event of the log (all streams, event by event after
each command); the as-of replay reads the young person's stream alone. For any history,
as of the moment of its last fact the replay equals the live views; and for histories
recorded as they happen (nothing backdated), as of any moment it equals what the live
views showed at that moment.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from api.graphql.context import Loaders
from api.graphql.young_person.as_of import person_projections, views_as_of
from domain.values import ReferralDetails
from domain.vocabulary import ReviewOutcome
from projections.base import Projection
from projections.plan import PlanView
from projections.risk_flags import RiskFlagsView
from projections.store import MemorySQLiteViewStore, ViewStore
from projections.timeline import TimelineView
from projections.transitions import TransitionsView
from tests import factories as f
from tests import strategies as s


class LiveViews:
    """The person-scoped read models, kept up to date with the whole log."""

    def __init__(self, world: s.World) -> None:
        self.world = world
        self.store = MemorySQLiteViewStore()
        self.projections: list[Projection] = person_projections()
        self.position = 0
        with self.store.transaction() as cur:
            for projection in self.projections:
                projection.create_tables(cur)

    def catch_up(self) -> None:
        app = self.world.app
        notifications = app.recorder.select_notifications(start=self.position + 1, limit=10_000)
        if not notifications:
            return
        events = [(n.id, app.mapper.to_domain_event(n)) for n in notifications]
        with self.store.transaction() as cur:
            for projection in self.projections:
                projection.process(cur, events)
        self.position = notifications[-1].id


def answer(store: ViewStore, key: str, now: datetime) -> dict[str, Any]:
    """Every row a young person's fields read (what ``Loaders`` would load), at ``now``."""
    with store.transaction(readonly=True) as cur:
        transitions = TransitionsView.transitions(cur, [key])[key]
        return {
            "timeline": TimelineView.entries(cur, [key])[key],
            "risk_flags": RiskFlagsView.open_flags(cur, [key], now)[key],
            "plan": PlanView.plans(cur, [key]).get(key),
            "milestones": PlanView.milestones(cur, [key]).get(key),
            "transitions": transitions,
            "steps": TransitionsView.steps(cur, [t["transition_id"] for t in transitions]),
        }


def as_of(world: s.World, when: datetime) -> dict[str, Any] | None:
    person = world.people[0]
    loaders = views_as_of(world.app, person.id, when)
    if loaders is None:
        return None
    assert isinstance(loaders, Loaders) and loaders.now == when
    return answer(loaders._views, person.id.hex, when)


def referred(referral: ReferralDetails) -> tuple[s.World, LiveViews]:
    world = s.World.new()
    live = LiveViews(world)
    s.Refer(referral).run(world, f.a_context(f.PARTNER))
    return world, live


@given(s.histories())
def test_as_of_the_last_fact_the_replay_equals_the_live_views(
    history: tuple[ReferralDetails, list[s.Step]],
) -> None:
    world, live = referred(history[0])
    person = world.people[0]
    for step in history[1]:
        s.perform(world, person, step)
        live.catch_up()  # batches of any size give the same views
    live.catch_up()
    stream = world.app.events.get(person.id)
    last = max(event.occurred_at for event in stream)  # type: ignore[attr-defined]

    assert as_of(world, last) == answer(live.store, person.id.hex, last)


# Recorded as they happen: each fact's occurred_at is the clock's reading.
_timely_steps = st.builds(
    s.Step,
    s.commands,
    st.builds(
        s.Timing,
        advance=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3)),
        ago=st.none(),
    ),
)


# Accepted, enrolled and with a plan, a day at a time, so most histories go on into plans,
# transitions, decisions and flags.
_ENROLMENT = [
    s.Step(s.ReviewReferral(ReviewOutcome.ACCEPTED), s.Timing(timedelta(days=1), None)),
    s.Step(s.Enrol(0, None), s.Timing(timedelta(days=1), None)),
    s.Step(s.DraftPlan("goal"), s.Timing(timedelta(days=1), None)),
]


@given(s.referrals(), st.booleans(), st.lists(_timely_steps, min_size=1, max_size=30))
def test_as_of_any_moment_the_replay_equals_what_the_views_showed_then(
    referral: ReferralDetails, enrolled: bool, steps: list[s.Step]
) -> None:
    if enrolled:
        steps = [*_ENROLMENT, *steps]
    world, live = referred(referral)
    person = world.people[0]
    live.catch_up()
    shown: dict[datetime, dict[str, Any]] = {}
    referred_at = world.clock()
    shown[referred_at] = answer(live.store, person.id.hex, referred_at)
    for step in steps:
        s.perform(world, person, step)
        live.catch_up()
        now = world.clock()
        # A later command at the same moment overwrites: as of a moment, all of it.
        shown[now] = answer(live.store, person.id.hex, now)

    for moment, then in shown.items():
        assert as_of(world, moment) == then, moment
    # Just before the referral, there was no one.
    assert as_of(world, referred_at - timedelta(microseconds=1)) is None
