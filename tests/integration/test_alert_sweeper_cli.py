"""`overgang alerts sweep` as an operator runs it: separate processes on a data directory
(SQLite) or a PostgreSQL database, two of them at once over the same due rows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from uuid import UUID

from domain import young_person_events as ev
from infra.bootstrap import build_services
from tests.backends import Backend
from tests.factories import a_context, a_counsellor, a_transition, enrolled_young_person

QUIET_FOR = timedelta(days=10)


def quiet_history(backend: Backend, people: int) -> list[tuple[UUID, UUID]]:
    """``people`` enrolled young people whose transitions began ten days ago, with the
    read models caught up (as a projector would have them)."""
    services = build_services(backend.settings)
    try:
        app = services.app
        counsellor = a_counsellor(app, caseload_limit=people)
        started = a_context(occurred_at=datetime.now(UTC) - QUIET_FOR)
        transitions = []
        for _ in range(people):
            case = enrolled_young_person(app, counsellor_id=counsellor)
            result = app.start_transition(case.young_person_id, a_transition(), started)
            transitions.append((case.young_person_id, result.ids["transition_id"]))
        services.projections.catch_up()
    finally:
        services.close()
    return transitions


def raised_per_transition(backend: Backend, people: list[UUID]) -> list[list[UUID]]:
    services = build_services(backend.settings)
    try:
        return [
            [
                event.transition_id
                for event in services.app.repository.event_store.get(young_person_id)
                if isinstance(event, ev.AlertRaised)
            ]
            for young_person_id in people
        ]
    finally:
        services.close()


def start_sweep(backend: Backend, now: datetime) -> subprocess.Popen[str]:
    env = {**os.environ, "OVERGANG_DATA_DIR": str(backend.data_dir)}
    env.pop("OVERGANG_DATABASE_URL", None)
    if backend.database_url is not None:
        env["OVERGANG_DATABASE_URL"] = backend.database_url
    return subprocess.Popen(
        [sys.executable, "-m", "infra.cli", "alerts", "sweep", "--now", now.isoformat()],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finished(process: subprocess.Popen[str]) -> dict[str, int]:
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err[-2000:]
    last_line: dict[str, int] = json.loads(out.strip().splitlines()[-1])
    return last_line


def test_alerts_sweep_raises_what_is_due_and_prints_the_counts(backend: Backend) -> None:
    [(young_person_id, transition_id)] = quiet_history(backend, 1)
    now = datetime.now(UTC)

    first = finished(start_sweep(backend, now))
    # No projector ran in between: the row is still due, and the domain refuses it.
    again = finished(start_sweep(backend, now))

    assert first == {"raised": 1, "escalated": 0, "skipped": 0, "conflicts": 0}
    assert again == {"raised": 0, "escalated": 0, "skipped": 1, "conflicts": 0}
    assert raised_per_transition(backend, [young_person_id]) == [[transition_id]]


def test_alerts_sweep_refuses_a_moment_in_the_future(backend: Backend) -> None:
    quiet_history(backend, 1)
    process = start_sweep(backend, datetime.now(UTC) + timedelta(days=1))
    process.communicate(timeout=120)
    assert process.returncode == 2


def test_two_sweep_processes_at_once_raise_each_alert_once(backend: Backend) -> None:
    people = 8
    transitions = quiet_history(backend, people)
    now = datetime.now(UTC)

    processes = [start_sweep(backend, now) for _ in range(2)]
    reports = [finished(process) for process in processes]

    assert raised_per_transition(backend, [person for person, _ in transitions]) == [
        [transition_id] for _, transition_id in transitions
    ]
    assert sum(report["raised"] for report in reports) == people
    assert sum(report["skipped"] for report in reports) == people
