"""Browser tests of the dashboard: the real server on a small demo, driven by Playwright
through the machine's Chromium (Debian's ``chromium``; never ``playwright install``).

Without Chromium the tests are skipped with the reason, except when CI=true, where they
fail (``.ci/run`` installs it). Each view's screenshot lands in
``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from pydantic import SecretStr

from api.auth import DEVELOPMENT_JWT_SECRET
from domain.actors import Actor, Role
from domain.application import CommandContext
from infra.bootstrap import Services, build_services
from infra.cli import _load_demo
from infra.settings import Settings
from tests.factories import a_transition, accepted_young_person, referred_young_person
from tests.http_server import serving

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
DEMO_YOUTH = 36  # two counsellors in one team: a team lead and a counsellor
DEMO_MONTHS = 3
QUIET = timedelta(days=10)  # past the default 7-day threshold: an alert is due
WAIT_MS = 10_000  # Playwright's wait for anything; only a failure waits this long
NO_ONE = UUID(int=0)
SWEEPER = Actor(id="alert-sweeper", role=Role.SYSTEM)


def chromium_path() -> str | None:
    for candidate in (shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@dataclass
class DemoServer:
    """The dashboard's server on a demo data set, with a few facts the tests rely on."""

    base_url: str
    services: Services
    counsellor_id: UUID
    """The demo team's counsellor (role counsellor) the tests log in as."""
    team: str
    alerted_young_person_id: UUID = NO_ONE
    """Enrolled with that counsellor, with an open alert: to acknowledge (set once made)."""
    tokens: dict[str, str] = field(default_factory=dict)

    def token(self, identity: str) -> str:
        """A demo-login token for ``identity`` (``counsellor:<id>``, ``auditor:...``)."""
        if identity not in self.tokens:
            response = httpx.post(
                f"{self.base_url}/api/v1/demo/login", json={"identity": identity}, timeout=10
            )
            response.raise_for_status()
            self.tokens[identity] = response.json()["token"]
        return self.tokens[identity]

    @property
    def counsellor_identity(self) -> str:
        return f"counsellor:{self.counsellor_id}"

    def graphql(self, identity: str, query: str, **variables: Any) -> Any:
        response = httpx.post(
            f"{self.base_url}/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {self.token(identity)}"},
            timeout=10,
        )
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]

    def quiet_young_person(self, name: str) -> tuple[UUID, UUID]:
        """A young person of the counsellor whose transition began ``QUIET`` ago without
        contact since: (young person id, transition id); the alert is due, not raised."""
        app = self.services.app
        actor = Actor(id=str(self.counsellor_id), role=Role.COUNSELLOR)
        young_person_id = accepted_young_person(app, name=name)
        # The demo fills its caseloads: the override keeps the test independent of that.
        app.enrol(
            young_person_id,
            self.counsellor_id,
            "browser test",
            CommandContext(actor=actor),
        )
        began = CommandContext(actor=actor, occurred_at=self.services.clock() - QUIET)
        transition = app.start_transition(young_person_id, a_transition(), began)
        return young_person_id, transition.ids["transition_id"]

    def raise_alert(self, young_person_id: UUID, transition_id: UUID) -> UUID:
        """Raise the due alert as the sweeper does, and wait until the views show it."""
        result = self.services.app.raise_quiet_alert(
            young_person_id, transition_id, CommandContext(actor=SWEEPER)
        )
        assert self.services.projections.wait_for(result.position, timeout=10)
        alert_id: UUID = result.ids["alert_id"]
        return alert_id


@pytest.fixture(scope="session")
def chromium() -> str:
    path = chromium_path()
    if path is None:
        message = "Chromium is not installed (Debian: apt-get install chromium)"
        if IN_CI:
            pytest.fail(f"{message}; CI=true requires the browser tests", pytrace=False)
        pytest.skip(f"{message}; the browser tests need it")
    return path


@pytest.fixture(scope="session")
def demo_server(chromium: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    # Embedded development (SQLite, the development token secret): the demo login is on.
    settings = Settings(
        database_url=None,
        data_dir=tmp_path_factory.mktemp("dashboard") / "var",
        jwt_secret=SecretStr(DEVELOPMENT_JWT_SECRET),
    )
    services = build_services(settings)
    try:
        _load_demo(services, youth=DEMO_YOUTH, months=DEMO_MONTHS)
        services.projections.start_in_thread()
        assert services.projections.wait_for(services.app.recorder.max_notification_id() or 0, 60)
        counsellor_id, team = _demo_counsellor(services)
        with serving(services) as base_url:
            demo = DemoServer(
                base_url=base_url, services=services, counsellor_id=counsellor_id, team=team
            )
            alerted, transition_id = demo.quiet_young_person("Test Alarm")
            demo.raise_alert(alerted, transition_id)
            demo.alerted_young_person_id = alerted
            # A pending referral for the queue, whatever the simulation left pending.
            referred_young_person(services.app)
            last = services.app.recorder.max_notification_id() or 0
            assert services.projections.wait_for(last, 10)
            yield demo
    finally:
        services.projections.stop()
        services.close()


def _demo_counsellor(services: Services) -> tuple[UUID, str]:
    from projections.caseload import CaseloadView

    with services.views.transaction(readonly=True) as cur:
        teams = CaseloadView.teams(cur)
        rows = CaseloadView.team_counsellors(cur, teams)
    for team in teams:
        for row in rows[team]:
            if row["role"] == "counsellor":
                return UUID(row["counsellor_id"]), team
    raise AssertionError("the demo has no counsellor besides its team leads")


@pytest.fixture(scope="session")
def browser(chromium: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium,
            headless=True,
            # Containers: no user namespaces for the sandbox, a small /dev/shm.
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Any, demo_server: DemoServer) -> Iterator[Any]:
    """A fresh browser context (no session) on a laptop-sized screen, in Danish, with
    every script error collected: a test fails on any."""
    context = browser.new_context(
        base_url=demo_server.base_url,
        locale="da-DK",
        timezone_id="Europe/Copenhagen",
        viewport={"width": 1366, "height": 800},
    )
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"the page reported errors: {errors}"


def screenshot(page: Any, name: str) -> Path:
    """Save the whole page as test-artifacts/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
