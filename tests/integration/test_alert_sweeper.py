"""The alert sweeper through real stores (SQLite files and PostgreSQL), on a fake clock:
quiet, not quiet, attempts only, escalation, auto-resolution, acknowledgement, a read
model that is behind, and two sweepers racing over the same due rows."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

import pytest

from domain import young_person_events as ev
from domain.application import Overgang
from infra.alerts import LOCK_NAME, AlertSweeper, SweepReport, run_sweeper
from infra.bootstrap import Services, build_services
from infra.locks import FileProjectionLocks
from projections.alerts import AlertsView
from projections.store import Row
from tests.backends import Backend
from tests.factories import (
    CaseIds,
    a_contact,
    a_context,
    a_counsellor,
    a_transition,
    enrolled_young_person,
)
from tests.fakes import DEFAULT_START, FakeClock

DAY = timedelta(days=1)
T = TypeVar("T", bound=ev.AlertEvent)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def services(backend: Backend, clock: FakeClock) -> Iterator[Services]:
    built = build_services(backend.settings, clock=clock)
    try:
        yield built
    finally:
        built.close()


def quiet_transition(app: Overgang) -> tuple[CaseIds, UUID]:
    case = enrolled_young_person(app)
    result = app.start_transition(case.young_person_id, a_transition(), a_context())
    return case, result.ids["transition_id"]


def sweep(services: Services, sweeper: AlertSweeper | None = None) -> SweepReport:
    """Catch the read models up, then sweep once at the clock's now."""
    services.projections.catch_up()
    sweeper = sweeper or AlertSweeper(services.app, services.views, services.clock, batch=2)
    return sweeper.sweep_once()


def alert_events(app: Overgang, young_person_id: UUID, kind: type[T]) -> list[T]:
    return [e for e in app.repository.event_store.get(young_person_id) if isinstance(e, kind)]


def view_alert(services: Services, alert_id: UUID) -> Row:
    services.projections.catch_up()
    with services.views.transaction(readonly=True) as cur:
        row = AlertsView.get(cur, alert_id.hex)
    assert row is not None
    return row


def counts(report: SweepReport) -> tuple[int, int, int, int]:
    return (report.raised, report.escalated, report.skipped, report.conflicts)


# --- one sweeper ---------------------------------------------------------------------------


def test_a_transition_quiet_past_its_threshold_raises_one_alert(
    services: Services, clock: FakeClock
) -> None:
    case, transition_id = quiet_transition(services.app)
    clock.advance(days=7, hours=1)

    report = sweep(services)

    assert counts(report) == (1, 0, 0, 0)
    [raised] = alert_events(services.app, case.young_person_id, ev.AlertRaised)
    assert raised.transition_id == transition_id
    assert raised.actor.id == "alert-sweeper"
    assert raised.occurred_at == clock.now
    assert raised.due_at == DEFAULT_START + 7 * DAY
    assert view_alert(services, raised.alert_id)["status"] == "open"
    # Nothing more is due until the escalation threshold.
    assert counts(sweep(services)) == (0, 0, 0, 0)


def test_a_transition_with_contact_reached_the_day_before_is_not_quiet(
    services: Services, clock: FakeClock
) -> None:
    case, _ = quiet_transition(services.app)
    clock.advance(days=6)
    services.app.record_contact(case.young_person_id, a_contact(reached=True), a_context())
    clock.advance(days=1, hours=1)

    assert counts(sweep(services)) == (0, 0, 0, 0)
    assert alert_events(services.app, case.young_person_id, ev.AlertRaised) == []


def test_attempts_only_do_not_keep_a_transition_from_going_quiet(
    services: Services, clock: FakeClock
) -> None:
    case, _ = quiet_transition(services.app)
    for _ in range(3):
        clock.advance(days=2)
        services.app.record_contact(case.young_person_id, a_contact(reached=False), a_context())
    clock.advance(days=1, hours=1)

    assert counts(sweep(services)) == (1, 0, 0, 0)


def test_a_transition_still_quiet_past_the_second_threshold_escalates(
    services: Services, clock: FakeClock
) -> None:
    case, _ = quiet_transition(services.app)
    clock.advance(days=8)
    sweep(services)
    clock.advance(days=5)
    assert counts(sweep(services)) == (0, 0, 0, 0)  # day 13: not yet

    clock.advance(days=1, hours=1)
    report = sweep(services)

    assert counts(report) == (0, 1, 0, 0)
    [escalated] = alert_events(services.app, case.young_person_id, ev.AlertEscalated)
    assert view_alert(services, escalated.alert_id)["level"] == "escalated"
    clock.advance(days=30)
    assert counts(sweep(services)) == (0, 0, 0, 0)  # escalated: nothing more to do


def test_reached_contact_resolves_the_alert_and_the_next_one_waits_a_full_threshold(
    services: Services, clock: FakeClock
) -> None:
    case, _ = quiet_transition(services.app)
    clock.advance(days=8)
    sweep(services)
    clock.advance(days=1)
    services.app.record_contact(case.young_person_id, a_contact(reached=True), a_context())

    [raised] = alert_events(services.app, case.young_person_id, ev.AlertRaised)
    resolved = view_alert(services, raised.alert_id)
    assert (resolved["status"], resolved["resolution"]) == ("resolved", "contact_reached")
    clock.advance(days=6)
    assert counts(sweep(services)) == (0, 0, 0, 0)  # quiet since the contact: not yet
    clock.advance(days=1)
    assert counts(sweep(services)) == (1, 0, 0, 0)


def test_an_acknowledged_alert_still_escalates(services: Services, clock: FakeClock) -> None:
    case, _ = quiet_transition(services.app)
    clock.advance(days=8)
    sweep(services)
    [raised] = alert_events(services.app, case.young_person_id, ev.AlertRaised)
    services.app.acknowledge_alert(
        case.young_person_id, raised.alert_id, "calling the school", a_context()
    )
    assert view_alert(services, raised.alert_id)["status"] == "acknowledged"

    clock.advance(days=7)

    assert counts(sweep(services)) == (0, 1, 0, 0)
    row = view_alert(services, raised.alert_id)
    assert (row["status"], row["level"]) == ("acknowledged", "escalated")


def test_rows_a_sweep_handled_are_not_handled_again_while_the_view_is_behind(
    services: Services, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    case, _ = quiet_transition(services.app)
    clock.advance(days=8)
    sweeper = AlertSweeper(services.app, services.views, clock, batch=2)
    assert counts(sweep(services, sweeper)) == (1, 0, 0, 0)
    asked: list[UUID] = []
    command = services.app.raise_quiet_alert

    def raise_quiet_alert(young_person_id: UUID, *args: Any) -> Any:
        asked.append(young_person_id)
        return command(young_person_id, *args)

    monkeypatch.setattr(services.app, "raise_quiet_alert", raise_quiet_alert)

    # The read model has not applied the alert yet: the row is still "raise", and the
    # sweeper passes over it without asking the domain.
    assert counts(sweeper.sweep_once()) == (0, 0, 1, 0)
    assert asked == []
    # A sweeper without that memory asks the domain, which refuses: still one alert.
    other = AlertSweeper(services.app, services.views, clock, batch=2)
    assert counts(other.sweep_once()) == (0, 0, 1, 0)
    assert asked == [case.young_person_id]
    assert len(alert_events(services.app, case.young_person_id, ev.AlertRaised)) == 1
    # Once the view has moved on, the row is forgotten.
    services.projections.catch_up()
    assert counts(sweeper.sweep_once()) == (0, 0, 0, 0)
    assert sweeper._handled == {}


def test_a_sweep_handles_every_due_row_page_after_page(
    services: Services, clock: FakeClock
) -> None:
    counsellor = a_counsellor(services.app, caseload_limit=10)
    for _ in range(5):
        case = enrolled_young_person(services.app, counsellor_id=counsellor)
        services.app.start_transition(case.young_person_id, a_transition(), a_context())
    clock.advance(days=8)

    assert counts(sweep(services)) == (5, 0, 0, 0)  # in pages of two


# --- two sweepers at once ------------------------------------------------------------------

PEOPLE = 12


def test_two_sweepers_at_once_raise_each_alert_exactly_once(
    backend: Backend, services: Services, clock: FakeClock
) -> None:
    counsellor = a_counsellor(services.app, caseload_limit=PEOPLE)
    transitions = []
    for _ in range(PEOPLE):
        case = enrolled_young_person(services.app, counsellor_id=counsellor)
        result = services.app.start_transition(case.young_person_id, a_transition(), a_context())
        transitions.append((case.young_person_id, result.ids["transition_id"]))
    clock.advance(days=8)
    services.projections.catch_up()
    # A second process: its own application, connections and caches on the same stores.
    second = build_services(backend.settings, clock=clock)
    start = threading.Barrier(2)
    reports: list[SweepReport] = []

    def run(each: Services) -> None:
        sweeper = AlertSweeper(each.app, each.views, clock, batch=3)
        start.wait()
        reports.append(sweeper.sweep_once())

    try:
        threads = [threading.Thread(target=run, args=(each,)) for each in (services, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        second.close()

    assert len(reports) == 2
    for young_person_id, transition_id in transitions:
        raised = alert_events(services.app, young_person_id, ev.AlertRaised)
        assert [e.transition_id for e in raised] == [transition_id]
    total = reports[0] + reports[1]
    assert total.raised == PEOPLE
    # Every row was seen by both: what one raised, the other skipped (after a conflict
    # or a refusal).
    assert total.skipped == PEOPLE
    assert total.escalated == 0


# --- the run loop --------------------------------------------------------------------------


class StopAfterDeliveries:
    """A webhook deliverer that counts its calls and stops the loop after ``rounds``."""

    def __init__(self, stop: threading.Event, rounds: int = 1) -> None:
        self.stop = stop
        self.rounds = rounds
        self.calls = 0

    def deliver_due(self, now: object = None) -> None:
        self.calls += 1
        if self.calls >= self.rounds:
            self.stop.set()


def test_the_run_loop_sweeps_then_delivers_webhooks_until_stopped(
    services: Services, clock: FakeClock
) -> None:
    case, _ = quiet_transition(services.app)
    clock.advance(days=8)
    services.projections.catch_up()
    stop = threading.Event()
    webhooks = StopAfterDeliveries(stop)

    run_sweeper(stop, AlertSweeper(services.app, services.views, clock), 0.01, webhooks=webhooks)

    assert webhooks.calls == 1
    assert len(alert_events(services.app, case.young_person_id, ev.AlertRaised)) == 1


def test_the_run_loop_stands_by_while_another_process_holds_the_lock(
    services: Services, clock: FakeClock, tmp_path: Path
) -> None:
    case, _ = quiet_transition(services.app)
    clock.advance(days=8)
    services.projections.catch_up()
    holder = FileProjectionLocks(tmp_path / "locks")
    assert holder.try_acquire([LOCK_NAME]) == {LOCK_NAME}
    stop = threading.Event()
    try:
        run_sweeper(
            stop,
            AlertSweeper(services.app, services.views, clock),
            0.01,
            webhooks=StopAfterDeliveries(stop, rounds=3),
            webhook_interval=0.01,
            lock=FileProjectionLocks(tmp_path / "locks"),
        )
    finally:
        holder.release()

    assert alert_events(services.app, case.young_person_id, ev.AlertRaised) == []
