"""The alerts read model: due times on a fake clock, the alert lifecycle, erasure, and the
view's queries; on SQLite and PostgreSQL (the ``backend`` fixture)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from uuid import UUID

import pytest

from domain.actors import Actor, Role
from domain.alerts import QuietLimits, QuietPolicy
from domain.application import CommandContext, Overgang
from domain.vocabulary import CaseOutcome, ErasureRequester, QuietPhase, TransitionKind
from infra.runner import ProjectionRunner
from projections.alerts import ALERTS, PEOPLE, WATCH, AlertsProjection, AlertsView
from projections.columns import iso_utc
from projections.store import Row, ViewStore
from tests.factories import (
    CaseIds,
    a_contact,
    a_context,
    a_counsellor,
    a_transition,
    an_institution,
    enrolled_young_person,
)
from tests.fakes import DEFAULT_START, FakeClock

DAY = timedelta(days=1)
SWEEPER = CommandContext(actor=Actor(id="alert-sweeper", role=Role.SYSTEM))
START = DEFAULT_START


@pytest.fixture
def runner(app: Overgang, store: ViewStore) -> ProjectionRunner:
    # A small batch, so histories span batches.
    return ProjectionRunner(app, store, [AlertsProjection()], batch_size=3)


def watch(runner: ProjectionRunner, young_person_id: UUID) -> list[Row]:
    runner.catch_up()
    with runner.store.transaction(readonly=True) as cur:
        return AlertsView.watched(cur, [young_person_id.hex])[young_person_id.hex]


def only_watch(runner: ProjectionRunner, young_person_id: UUID) -> Row:
    rows = watch(runner, young_person_id)
    assert len(rows) == 1
    return rows[0]


def alert(runner: ProjectionRunner, alert_id: UUID) -> Row:
    runner.catch_up()
    with runner.store.transaction(readonly=True) as cur:
        row = AlertsView.get(cur, alert_id.hex)
    assert row is not None
    return row


def due(runner: ProjectionRunner, now: datetime, limit: int = 100) -> list[Row]:
    runner.catch_up()
    with runner.store.transaction(readonly=True) as cur:
        return AlertsView.due(cur, now, limit)


def at(moment: datetime) -> str:
    return iso_utc(moment)


def start_transition(app: Overgang, case: CaseIds, **details: object) -> UUID:
    result = app.start_transition(case.young_person_id, a_transition(**details), a_context())
    return result.ids["transition_id"]


def raise_alert(app: Overgang, case: CaseIds, transition_id: UUID) -> UUID:
    return app.raise_quiet_alert(case.young_person_id, transition_id, SWEEPER).ids["alert_id"]


# --- due times ---------------------------------------------------------------------------


def test_an_open_transition_is_due_to_raise_seven_days_after_it_started(
    app: Overgang, runner: ProjectionRunner
) -> None:
    case = enrolled_young_person(app)
    transition_id = start_transition(app, case)

    row = only_watch(runner, case.young_person_id)

    assert row["transition_id"] == transition_id.hex
    assert row["transition_kind"] == TransitionKind.SCHOOL_TO_YOUTH_EDUCATION.value
    assert row["counsellor_id"] == case.counsellor_id.hex
    assert row["quiet_since"] == at(START)
    assert (row["next_action"], row["next_due_at"]) == ("raise", at(START + 7 * DAY))
    assert row["open_alert_id"] is None
    assert due(runner, START + 7 * DAY - timedelta(microseconds=1)) == []
    assert [r["transition_id"] for r in due(runner, START + 7 * DAY)] == [transition_id.hex]


def test_the_first_weeks_of_a_new_education_are_due_after_five_days(
    app: Overgang, clock: FakeClock, runner: ProjectionRunner
) -> None:
    case = enrolled_young_person(app)
    transition_id = start_transition(app, case)
    clock.advance(days=1)
    app.start_education(case.young_person_id, transition_id, None, a_context())

    row = only_watch(runner, case.young_person_id)

    assert row["education_started_at"] == at(START + DAY)
    assert row["next_due_at"] == at(START + 5 * DAY)
    assert row["next_due_at"] == at(
        QuietPolicy().deadline(TransitionKind.SCHOOL_TO_YOUTH_EDUCATION, START, START + DAY)
    )


def test_thresholds_per_kind_and_phase_come_from_the_policy(
    app: Overgang, store: ViewStore
) -> None:
    trial = QuietLimits(quiet=timedelta(days=3), escalate=timedelta(days=6))
    policy = QuietPolicy(by_kind={(TransitionKind.BRIDGE_BUILDING, QuietPhase.PREPARING): trial})
    runner = ProjectionRunner(app, store, [AlertsProjection(policy)])
    case = enrolled_young_person(app)
    start_transition(app, case, kind=TransitionKind.BRIDGE_BUILDING)

    assert only_watch(runner, case.young_person_id)["next_due_at"] == at(START + 3 * DAY)


def test_attempts_do_not_move_the_quiet_start_but_reached_contact_does(
    app: Overgang, clock: FakeClock, runner: ProjectionRunner
) -> None:
    case = enrolled_young_person(app)
    start_transition(app, case)
    clock.advance(days=2)
    app.record_contact(case.young_person_id, a_contact(reached=False), a_context())
    assert only_watch(runner, case.young_person_id)["next_due_at"] == at(START + 7 * DAY)

    clock.advance(days=1)
    app.record_contact(case.young_person_id, a_contact(reached=True), a_context())

    row = only_watch(runner, case.young_person_id)
    assert row["quiet_since"] == at(START + 3 * DAY)
    assert row["next_due_at"] == at(START + 10 * DAY)


def test_a_contact_recorded_late_counts_from_when_it_happened(
    app: Overgang, clock: FakeClock, runner: ProjectionRunner
) -> None:
    case = enrolled_young_person(app)
    start_transition(app, case)
    clock.advance(days=4)
    app.record_contact(case.young_person_id, a_contact(), a_context(occurred_at=START + 3 * DAY))
    # An older contact recorded after it does not move the quiet start back.
    app.record_contact(case.young_person_id, a_contact(), a_context(occurred_at=START + DAY))

    assert only_watch(runner, case.young_person_id)["quiet_since"] == at(START + 3 * DAY)


def test_a_contact_before_the_transition_started_does_not_count(
    app: Overgang, clock: FakeClock, runner: ProjectionRunner
) -> None:
    case = enrolled_young_person(app)
    app.record_contact(case.young_person_id, a_contact(), a_context())
    clock.advance(days=2)
    start_transition(app, case)

    assert only_watch(runner, case.young_person_id)["quiet_since"] == at(START + 2 * DAY)


# --- the lifecycle -----------------------------------------------------------------------


def test_a_raised_alert_makes_the_transition_due_to_escalate(
    app: Overgang, clock: FakeClock, runner: ProjectionRunner
) -> None:
    case = enrolled_young_person(app)
    transition_id = start_transition(app, case)
    clock.advance(days=8)
    alert_id = raise_alert(app, case, transition_id)

    row = only_watch(runner, case.young_person_id)
    assert (row["next_action"], row["open_alert_id"], row["open_alert_level"]) == (
        "escalate",
        alert_id.hex,
        "raised",
    )
    assert row["next_due_at"] == at(START + 14 * DAY)
    raised = alert(runner, alert_id)
    assert raised["status"] == "open"
    assert raised["level"] == "raised"
    assert raised["severity"] == "warning"
    assert raised["phase"] == "preparing"
    assert raised["quiet_since"] == at(START)
    assert raised["due_at"] == at(START + 7 * DAY)
    assert raised["raised_at"] == at(START + 8 * DAY)
    assert raised["counsellor_id"] == case.counsellor_id.hex
    assert raised["team_id"] == "aalborg-mobil"
    assert raised["raised_position"] == app.recorder.max_notification_id()


def test_an_escalated_alert_is_not_due_again(
    app: Overgang, clock: FakeClock, runner: ProjectionRunner
) -> None:
    case = enrolled_young_person(app)
    transition_id = start_transition(app, case)
    clock.advance(days=8)
    alert_id = raise_alert(app, case, transition_id)
    clock.advance(days=7)
    app.escalate_quiet_alert(case.young_person_id, alert_id, SWEEPER)

    row = only_watch(runner, case.young_person_id)
    assert (row["next_action"], row["next_due_at"], row["open_alert_level"]) == (
        None,
        None,
        "escalated",
    )
    assert due(runner, START + 365 * DAY) == []
    escalated = alert(runner, alert_id)
    assert (escalated["level"], escalated["escalated_at"]) == ("escalated", at(START + 15 * DAY))


def test_reached_contact_resolves_the_alert_and_moves_the_due_time(
    app: Overgang, clock: FakeClock, runner: ProjectionRunner
) -> None:
    case = enrolled_young_person(app)
    transition_id = start_transition(app, case)
    clock.advance(days=8)
    alert_id = raise_alert(app, case, transition_id)
    clock.advance(days=1)
    app.record_contact(case.young_person_id, a_contact(), a_context())

    resolved = alert(runner, alert_id)
    assert (resolved["status"], resolved["resolution"]) == ("resolved", "contact_reached")
    assert resolved["resolved_at"] == at(START + 9 * DAY)
    row = only_watch(runner, case.young_person_id)
    assert (row["next_action"], row["open_alert_id"]) == ("raise", None)
    assert row["next_due_at"] == at(START + 16 * DAY)


def test_resolving_by_hand_counts_the_quiet_again_from_then(
    app: Overgang, clock: FakeClock, runner: ProjectionRunner
) -> None:
    case = enrolled_young_person(app)
    transition_id = start_transition(app, case)
    clock.advance(days=8)
    alert_id = raise_alert(app, case, transition_id)
    clock.advance(days=2)
    app.resolve_alert(case.young_person_id, alert_id, "away with family", a_context())

    resolved = alert(runner, alert_id)
    assert (resolved["resolution"], resolved["resolution_reason"]) == (
        "by_hand",
        "away with family",
    )
    row = only_watch(runner, case.young_person_id)
    assert (row["quiet_since"], row["next_due_at"]) == (at(START + 10 * DAY), at(START + 17 * DAY))


def test_an_acknowledged_alert_keeps_its_note_and_still_escalates(
    app: Overgang, clock: FakeClock, runner: ProjectionRunner
) -> None:
    case = enrolled_young_person(app)
    transition_id = start_transition(app, case)
    clock.advance(days=8)
    alert_id = raise_alert(app, case, transition_id)
    clock.advance(hours=2)
    app.acknowledge_alert(case.young_person_id, alert_id, "calling the school", a_context())

    acknowledged = alert(runner, alert_id)
    assert acknowledged["status"] == "acknowledged"
    assert acknowledged["acknowledged_at"] == at(START + 8 * DAY + timedelta(hours=2))
    assert acknowledged["acknowledged_by"] == "counsellor-1"
    assert acknowledged["acknowledgement_note"] == "calling the school"
    assert only_watch(runner, case.young_person_id)["next_action"] == "escalate"


def test_an_absence_during_the_quiet_raises_the_severity(
    app: Overgang, clock: FakeClock, runner: ProjectionRunner
) -> None:
    case = enrolled_young_person(app)
    institution_id = an_institution(app)
    transition_id = start_transition(app, case)
    clock.advance(days=8)
    alert_id = raise_alert(app, case, transition_id)
    app.report_absence(
        case.young_person_id, institution_id, date(2024, 3, 6), date(2024, 3, 8), "n", a_context()
    )

    assert alert(runner, alert_id)["severity"] == "high"


def test_ending_the_transition_resolves_its_alert_and_stops_watching_it(
    app: Overgang, clock: FakeClock, runner: ProjectionRunner
) -> None:
    case = enrolled_young_person(app)
    transition_id = start_transition(app, case)
    other_id = start_transition(app, case)
    clock.advance(days=8)
    alert_id = raise_alert(app, case, transition_id)
    app.complete_transition(case.young_person_id, transition_id, a_context())

    assert [row["transition_id"] for row in watch(runner, case.young_person_id)] == [other_id.hex]
    assert alert(runner, alert_id)["resolution"] == "transition_ended"
    app.abandon_transition(case.young_person_id, other_id, "moved away", a_context())
    assert watch(runner, case.young_person_id) == []


def test_closing_the_case_stops_watching_and_reopening_watches_again(
    app: Overgang, clock: FakeClock, runner: ProjectionRunner
) -> None:
    case = enrolled_young_person(app)
    transition_id = start_transition(app, case)
    clock.advance(days=8)
    alert_id = raise_alert(app, case, transition_id)
    app.close_case(case.young_person_id, CaseOutcome.IN_EDUCATION, "note", a_context())

    assert watch(runner, case.young_person_id) == []
    assert alert(runner, alert_id)["resolution"] == "case_closed"

    clock.advance(days=1)
    app.reopen_case(case.young_person_id, "back again", None, a_context())

    row = only_watch(runner, case.young_person_id)
    assert (row["transition_id"], row["next_action"]) == (transition_id.hex, "raise")
    assert row["quiet_since"] == at(START)


def test_a_hand_over_moves_the_watch_rows_and_open_alerts_but_not_resolved_ones(
    app: Overgang, clock: FakeClock, runner: ProjectionRunner
) -> None:
    case = enrolled_young_person(app)
    first_id = start_transition(app, case)
    second_id = start_transition(app, case)
    clock.advance(days=8)
    resolved_id = raise_alert(app, case, first_id)
    app.resolve_alert(case.young_person_id, resolved_id, "seen at school", a_context())
    open_id = raise_alert(app, case, second_id)
    runner.catch_up()  # the hand-over comes in a later batch than the alerts
    new_counsellor = a_counsellor(app, team_id="aalborg-vest")
    app.assign_counsellor(case.young_person_id, new_counsellor, "hand-over", None, a_context())

    assert {row["team_id"] for row in watch(runner, case.young_person_id)} == {"aalborg-vest"}
    moved = alert(runner, open_id)
    assert (moved["counsellor_id"], moved["team_id"]) == (new_counsellor.hex, "aalborg-vest")
    kept = alert(runner, resolved_id)
    assert (kept["counsellor_id"], kept["team_id"]) == (case.counsellor_id.hex, "aalborg-mobil")


def test_erasure_purges_notes_and_reasons_and_stops_watching(
    app: Overgang, clock: FakeClock, runner: ProjectionRunner
) -> None:
    case = enrolled_young_person(app)
    first_id = start_transition(app, case)
    second_id = start_transition(app, case)
    clock.advance(days=8)
    resolved_id = raise_alert(app, case, first_id)
    app.resolve_alert(case.young_person_id, resolved_id, "a private reason", a_context())
    open_id = raise_alert(app, case, second_id)
    app.acknowledge_alert(case.young_person_id, open_id, "a private note", a_context())
    runner.catch_up()
    app.erase_personal_data(case.young_person_id, ErasureRequester.YOUNG_PERSON, "art. 17", SWEEPER)

    assert watch(runner, case.young_person_id) == []
    assert alert(runner, resolved_id)["resolution_reason"] is None
    ended = alert(runner, open_id)
    assert ended["acknowledgement_note"] is None
    # The domain forgets an erased person's open alert; the view does not leave it open.
    assert (ended["status"], ended["resolution"]) == ("resolved", None)
    with runner.store.transaction(readonly=True) as cur:
        people = cur.execute(f"SELECT young_person_id FROM {PEOPLE}").fetchall()
    assert case.young_person_id.hex not in {row["young_person_id"] for row in people}


# --- the view ------------------------------------------------------------------------------


def test_due_pages_in_due_order_and_stops_at_now(
    app: Overgang, clock: FakeClock, runner: ProjectionRunner
) -> None:
    counsellor = a_counsellor(app, caseload_limit=10)
    people = []
    for _ in range(5):
        case = enrolled_young_person(app, counsellor_id=counsellor)
        people.append((case, start_transition(app, case)))
        clock.advance(hours=1)
    runner.catch_up()

    with runner.store.transaction(readonly=True) as cur:
        now = START + 7 * DAY + timedelta(hours=3)  # the first four are due
        first = AlertsView.due(cur, now, 2)
        last = first[-1]
        rest = AlertsView.due(
            cur, now, 10, (last["next_due_at"], last["young_person_id"], last["transition_id"])
        )

    assert [row["transition_id"] for row in first + rest] == [t.hex for _, t in people[:4]]
    assert [row["next_action"] for row in first + rest] == ["raise"] * 4


def test_alerts_filter_and_page_newest_first(
    app: Overgang, clock: FakeClock, runner: ProjectionRunner
) -> None:
    counsellor = a_counsellor(app, caseload_limit=10)
    raised: list[tuple[UUID, UUID]] = []
    for _ in range(3):
        case = enrolled_young_person(app, counsellor_id=counsellor)
        transition_id = start_transition(app, case)
        clock.advance(days=8)
        raised.append((case.young_person_id, raise_alert(app, case, transition_id)))
    app.acknowledge_alert(raised[1][0], raised[1][1], "on it", a_context())
    runner.catch_up()

    with runner.store.transaction(readonly=True) as cur:
        newest_first = [row["alert_id"] for row in AlertsView.alerts(cur, limit=10)]
        page = AlertsView.alerts(cur, limit=2)
        following = AlertsView.alerts(
            cur, after=(page[-1]["raised_at"], page[-1]["alert_id"]), limit=2
        )
        open_only = AlertsView.alerts(cur, statuses=["open"], team_id="aalborg-mobil")
        of_counsellor = AlertsView.alerts(cur, counsellor_id=counsellor.hex)
        of_nobody = AlertsView.alerts(cur, team_id="elsewhere")
        of_first = AlertsView.alerts(cur, young_person_ids=[raised[0][0].hex])
        open_for = AlertsView.open_for(cur, [raised[0][0].hex, "0" * 32])
        feed = AlertsView.raised_after(cur, 0, 10)
        feed_rest = AlertsView.raised_after(cur, feed[0]["raised_position"], 10)
        counts = (AlertsView.count_open(cur), AlertsView.count_open(cur, "elsewhere"))

    assert newest_first == [alert_id.hex for _, alert_id in reversed(raised)]
    assert [row["alert_id"] for row in page + following] == newest_first
    assert [row["alert_id"] for row in open_only] == [raised[2][1].hex, raised[0][1].hex]
    assert len(of_counsellor) == 3
    assert of_nobody == []
    assert [row["alert_id"] for row in of_first] == [raised[0][1].hex]
    assert [row["alert_id"] for row in open_for[raised[0][0].hex]] == [raised[0][1].hex]
    assert open_for["0" * 32] == []
    assert [row["alert_id"] for row in feed] == [alert_id.hex for _, alert_id in raised]
    assert [row["alert_id"] for row in feed_rest] == [alert_id.hex for _, alert_id in raised[1:]]
    assert counts == (3, 0)


# --- rebuild and batches -----------------------------------------------------------------


def a_busy_history(app: Overgang, clock: FakeClock) -> None:
    """Several young people through most of the lifecycle, in interleaved commands."""
    counsellor = a_counsellor(app, caseload_limit=10)
    other = a_counsellor(app, caseload_limit=10, team_id="aalborg-vest")
    cases = [enrolled_young_person(app, counsellor_id=counsellor) for _ in range(4)]
    transitions = [start_transition(app, case) for case in cases]
    clock.advance(days=2)
    app.start_education(cases[1].young_person_id, transitions[1], None, a_context())
    app.record_contact(cases[2].young_person_id, a_contact(reached=False), a_context())
    clock.advance(days=6)
    alerts = [raise_alert(app, case, t) for case, t in zip(cases, transitions, strict=True)]
    app.acknowledge_alert(cases[0].young_person_id, alerts[0], "note", a_context())
    app.record_contact(cases[1].young_person_id, a_contact(), a_context())
    app.assign_counsellor(cases[2].young_person_id, other, "hand-over", None, a_context())
    clock.advance(days=7)
    app.escalate_quiet_alert(cases[0].young_person_id, alerts[0], SWEEPER)
    app.resolve_alert(cases[2].young_person_id, alerts[2], "reason", a_context())
    app.close_case(cases[3].young_person_id, CaseOutcome.MOVED, "note", a_context())
    app.erase_personal_data(cases[0].young_person_id, ErasureRequester.YOUNG_PERSON, "b", SWEEPER)
    clock.advance(days=1)
    app.reopen_case(cases[3].young_person_id, "back", None, a_context())


def dump(store: ViewStore) -> dict[str, list[Row]]:
    with store.transaction(readonly=True) as cur:
        return {
            table: cur.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
            for table in (ALERTS, WATCH, PEOPLE)
        }


def test_any_batch_size_and_a_rebuild_give_the_same_view(
    app: Overgang, clock: FakeClock, store: ViewStore
) -> None:
    a_busy_history(app, clock)
    one_by_one = ProjectionRunner(app, store, [AlertsProjection()], batch_size=1)
    one_by_one.catch_up()
    incremental = dump(store)
    assert incremental[ALERTS] and incremental[WATCH]

    one_by_one.rebuild("alerts")

    assert dump(store) == incremental
    # And all at once, into the rebuilt tables' place.
    ProjectionRunner(app, store, [AlertsProjection()], batch_size=1000).rebuild("alerts")
    assert dump(store) == incremental
