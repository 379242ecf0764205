"""Generated histories: the alerts read model agrees with the domain's own state (the same
quiet start, due time and open alerts the domain would decide with), in any batch size and
after a rebuild."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from itertools import zip_longest
from pathlib import Path
from uuid import UUID

from hypothesis import given
from hypothesis import strategies as st

from domain.application import Overgang
from domain.values import ReferralDetails
from domain.vocabulary import (
    AlertLevel,
    CaseStatus,
    ReviewOutcome,
    TransitionKind,
    TransitionPhase,
)
from infra.runner import ProjectionRunner
from projections.alerts import ALERTS, PEOPLE, WATCH, AlertsProjection, AlertsView
from projections.columns import iso_utc
from projections.store import Row, SQLiteViewStore
from tests.factories import PARTNER, a_context
from tests.strategies import (
    Enrol,
    Refer,
    ReviewReferral,
    StartTransition,
    Step,
    Timing,
    World,
    alert_commands,
    closing_commands,
    contact_commands,
    erasure_commands,
    histories,
    intake_commands,
    perform,
    referrals,
    signal_commands,
    transition_commands,
)

_OPEN = (TransitionPhase.PREPARING, TransitionPhase.IN_EDUCATION)

# Days pass between commands, so transitions go quiet and alerts are raised, escalated and
# resolved (the shared histories move the clock by hours, and rarely get that far).
_slow_timings = st.builds(
    Timing,
    advance=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=9)),
    ago=st.one_of(st.none(), st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=5))),
)
_quiet_steps = st.builds(
    Step,
    st.one_of(
        alert_commands,
        contact_commands,
        alert_commands,
        transition_commands,
        signal_commands,
        closing_commands,
        intake_commands,
    ),
    _slow_timings,
)
_ENROLMENT = [
    Step(ReviewReferral(ReviewOutcome.ACCEPTED), Timing(timedelta(hours=1), None)),
    Step(Enrol(0, None), Timing(timedelta(hours=1), None)),
]


@st.composite
def quiet_histories(draw: st.DrawFn) -> tuple[ReferralDetails, list[Step]]:
    """An enrolled young person with a transition, then mostly contacts, alert commands
    and more transitions."""
    kind = draw(st.sampled_from(TransitionKind))
    start = Step(StartTransition(kind, None), Timing(timedelta(hours=1), None))
    body = [start, *draw(st.lists(_quiet_steps, min_size=5, max_size=30))]
    if draw(st.sampled_from([False] * 9 + [True])):
        body.append(Step(draw(erasure_commands), draw(_slow_timings)))
    return draw(referrals()), [*_ENROLMENT, *body]


def record(cases: list[tuple[ReferralDetails, list[Step]]]) -> tuple[Overgang, list[UUID]]:
    """Every case's referral, then their commands interleaved, so batches mix people."""
    world = World.new()
    for referral, _ in cases:
        Refer(referral).run(world, a_context(PARTNER))
    for round_of_steps in zip_longest(*(steps for _, steps in cases)):
        for person, step in zip(world.people, round_of_steps, strict=True):
            if step is not None:
                perform(world, person, step)
    return world.app, [person.id for person in world.people]


def dump(store: SQLiteViewStore) -> dict[str, list[Row]]:
    with store.transaction(readonly=True) as cur:
        return {
            table: cur.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
            for table in (ALERTS, WATCH, PEOPLE)
        }


def expected_watch(
    app: Overgang, young_person_id: UUID
) -> list[tuple[str, str, str | None, str | None, str | None]]:
    """The watch rows the domain's state implies: what raise/escalate would decide by."""
    person = app.young_person(young_person_id)
    if person.status is not CaseStatus.ENROLLED:
        return []
    open_alert = {transition: alert for alert, transition in person.open_alerts.items()}
    rows = []
    for transition, phase in sorted(person.transitions.items()):
        if phase not in _OPEN:
            continue
        quiet_since = person.quiet_since(UUID(transition))
        assert quiet_since is not None
        alert = open_alert.get(transition)
        level = None if alert is None else person.alert_levels[alert]
        action = "raise" if alert is None else ("escalate" if level is AlertLevel.RAISED else None)
        due = None
        if action is not None:
            due = iso_utc(
                app.quiet_policy.deadline(
                    person.transition_kinds.get(transition),
                    quiet_since,
                    person.education_started_at.get(transition),
                    escalation=action == "escalate",
                )
            )
        rows.append((transition, iso_utc(quiet_since), alert, action, due))
    return rows


@given(
    cases=st.lists(st.one_of(quiet_histories(), histories(max_steps=30)), min_size=1, max_size=3),
    batch_size=st.integers(min_value=1, max_value=6),
)
def test_generated_histories_agree_with_the_domain_in_any_batch_size(
    cases: list[tuple[ReferralDetails, list[Step]]], batch_size: int
) -> None:
    app, people = record(cases)
    ids = [person.hex for person in people]

    with tempfile.TemporaryDirectory() as folder:
        store = SQLiteViewStore(Path(folder) / "views.db")
        try:
            ProjectionRunner(app, store, [AlertsProjection()], batch_size=batch_size).catch_up()
            incremental = dump(store)
            ProjectionRunner(app, store, [AlertsProjection()], batch_size=1000).rebuild("alerts")
            assert dump(store) == incremental
            with store.transaction(readonly=True) as cur:
                watched = AlertsView.watched(cur, ids)
                open_alerts = AlertsView.open_for(cur, ids)
        finally:
            store.close()

    for young_person_id in people:
        key = young_person_id.hex
        rows = [
            (
                row["transition_id"],
                row["quiet_since"],
                row["open_alert_id"],
                row["next_action"],
                row["next_due_at"],
            )
            for row in watched[key]
        ]
        assert rows == expected_watch(app, young_person_id)
        person = app.young_person(young_person_id)
        assert {row["alert_id"] for row in open_alerts[key]} == set(person.open_alerts)
