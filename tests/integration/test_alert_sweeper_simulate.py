"""The simulated histories (``overgang simulate``, the demo) carry realistic alerts, raised
when the sweeper would have raised them: a sweep after the story finds nothing it missed."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from domain import young_person_events as ev
from infra.alerts import AlertSweeper
from infra.runner import ProjectionRunner
from infra.simulate import simulate
from projections.alerts import AlertsProjection, AlertsView
from projections.store import SQLiteViewStore
from tests.factories import new_app

NOW = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)


def test_simulated_alerts_are_raised_when_due_and_mostly_end_with_contact(
    tmp_path: Path,
) -> None:
    app = new_app(lambda: NOW)
    simulate(app, youth=54, months=9, seed=7, now=NOW)
    notifications = app.recorder.select_notifications(start=1, limit=1_000_000)
    events = [app.mapper.to_domain_event(n) for n in notifications]
    alerts = [e for e in events if isinstance(e, ev.AlertEvent)]
    resolutions = Counter(e.resolution.value for e in alerts if isinstance(e, ev.AlertResolved))
    raised = [e for e in alerts if isinstance(e, ev.AlertRaised)]

    assert len(raised) > 20
    assert all(e.actor.id == "alert-sweeper" and e.occurred_at >= e.due_at for e in raised)
    assert any(isinstance(e, ev.AlertAcknowledged) for e in alerts)
    assert any(isinstance(e, ev.AlertEscalated) for e in alerts)
    assert resolutions["contact_reached"] > sum(resolutions.values()) / 2

    store = SQLiteViewStore(tmp_path / "views.db")
    try:
        ProjectionRunner(app, store, [AlertsProjection(app.quiet_policy)]).catch_up()
        # The story ends a minute before now, and the sweeper of the story runs up to a
        # minute late: everything due two minutes before now has been handled.
        report = AlertSweeper(app, store, lambda: NOW).sweep_once(NOW - timedelta(minutes=2))
        with store.transaction(readonly=True) as cur:
            still_open = AlertsView.count_open(cur)
    finally:
        store.close()
    assert (report.raised, report.escalated) == (0, 0)
    assert still_open == len(raised) - sum(resolutions.values())
