"""The `overgang` command as a user runs it: settings from the environment, real stores."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest
from pydantic import SecretStr

from api.auth import issue_token
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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_serve_with_two_workers_answers_and_projects(environment: Settings) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "OVERGANG_DATA_DIR": str(environment.data_dir),
        "OVERGANG_JWT_SECRET": "a-test-secret-of-sufficient-length-123",
    }
    env.pop("OVERGANG_DATABASE_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "infra.cli", "serve", "--workers", "2", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        settings = Settings(
            data_dir=environment.data_dir,
            jwt_secret=SecretStr("a-test-secret-of-sufficient-length-123"),
        )
        token = issue_token(settings, Role.COUNSELLOR, "c-1", team="t-1")
        headers = {"Authorization": f"Bearer {token}"}
        referral = {
            "name": "Test Person",
            "date_of_birth": "2006-03-01",
            "referrer_name": "Test Referrer",
            "reason": "test reason",
            "consent_scopes": ["case_work"],
        }
        written = httpx.post(f"{base}/api/v1/referrals", json=referral, headers=headers)
        assert written.status_code == 201
        query = "query($p: Int){ referralQueue(waitForPosition: $p) { total } }"
        # Several requests: they land on either worker, and each reads its own write.
        for _ in range(6):
            answer = httpx.post(
                f"{base}/graphql",
                json={"query": query, "variables": {"p": written.json()["position"]}},
                headers=headers,
            ).json()
            assert answer == {"data": {"referralQueue": {"total": 1}}}
    finally:
        server.terminate()
        server.wait(timeout=30)
