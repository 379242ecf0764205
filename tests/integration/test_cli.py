"""The `overgang` command as a user runs it: settings from the environment, real stores."""

from __future__ import annotations

import pytest

from domain.actors import Role
from infra.bootstrap import build_services
from infra.cli import main
from infra.settings import Settings
from tests.backends import Backend


@pytest.fixture
def environment(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("OVERGANG_DATA_DIR", str(backend.data_dir))
    if backend.database_url is None:
        monkeypatch.delenv("OVERGANG_DATABASE_URL", raising=False)
    else:
        monkeypatch.setenv("OVERGANG_DATABASE_URL", backend.database_url)
    return backend.settings


def test_token_prints_a_token_the_api_accepts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from api.auth import actor_from_token

    monkeypatch.setenv("OVERGANG_JWT_SECRET", "a-test-secret-of-sufficient-length-123")
    assert main(["token", "--role", "team_lead", "--sub", "lead-7", "--team", "t-1"]) == 0
    token = capsys.readouterr().out.strip()

    actor = actor_from_token(token, Settings())

    assert (actor.id, actor.role) == ("lead-7", Role.TEAM_LEAD)


# The demo proper (a team of five over two years) is larger; the same story, shorter.
SMALL_DEMO = ["demo", "--youth", "12", "--months", "4"]


def test_demo_then_rebuild_gives_every_young_person_event_a_timeline_entry(
    environment: Settings,
) -> None:
    assert main(SMALL_DEMO) == 0
    assert main(["projections", "rebuild", "timeline"]) == 0

    services = build_services(environment)
    try:
        notifications = services.app.recorder.select_notifications(start=1, limit=100_000)
        person_events = [n for n in notifications if "young_person_events" in n.topic]
        with services.views.transaction(readonly=True) as cur:
            row = cur.execute("SELECT COUNT(*) AS n FROM timeline_entries").fetchone()
            tracked = cur.execute(
                "SELECT position FROM projection_tracking WHERE projection = %s", ["timeline"]
            ).fetchone()
    finally:
        services.close()
    assert row is not None and tracked is not None
    assert len(person_events) > 500
    assert row["n"] == len(person_events)
    assert tracked["position"] == notifications[-1].id


def test_demo_is_loaded_only_into_an_empty_log(environment: Settings) -> None:
    assert main(SMALL_DEMO) == 0
    services = build_services(environment)
    first = services.app.recorder.max_notification_id()
    services.close()

    assert main(SMALL_DEMO) == 0

    services = build_services(environment)
    try:
        assert services.app.recorder.max_notification_id() == first
    finally:
        services.close()
