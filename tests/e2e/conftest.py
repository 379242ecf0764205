"""The HTTP app end to end: real services on SQLite files or PostgreSQL, a fake clock.

One set of services per test module and backend keeps the suite fast; tests stay
independent because each works on young people, counsellors and institutions it creates,
and compares log positions before and after its own command.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
from eventsourcing.domain import DomainEventProtocol
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from api.auth import issue_token
from domain.actors import Actor, Role
from domain.application import CommandContext
from infra.bootstrap import Services, build_services
from infra.settings import Settings
from tests.backends import Backend
from tests.e2e import payloads
from tests.factories import a_transition
from tests.fakes import DEFAULT_START, FakeClock

# The default quiet threshold (domain/alerts.py): a transition this long without contact
# has an alert due.
QUIET_DAYS = 7

SECRET = SecretStr("e2e-secret-long-enough-for-hs256-0123456789")
AUDIENCE = "overgang"
TEAM = "aalborg-mobil"
"""The team of the default token, and of the counsellors ``payloads.counsellor`` makes."""
COUNSELLOR = Actor(id="counsellor-e2e", role=Role.COUNSELLOR)
TEAM_LEAD = Actor(id="team-lead-e2e", role=Role.TEAM_LEAD)
ADMIN = Actor(id="admin-e2e", role=Role.ADMIN)
NOW = DEFAULT_START


class InterjectingClock(FakeClock):
    """A fake clock that can let another writer in between a command's read and its write.

    The application reads the clock after loading the aggregates and before saving them,
    which is exactly the window in which a concurrent writer can get in first.
    """

    def __init__(self, start: datetime = NOW) -> None:
        super().__init__(start)
        self._interjection: Callable[[], object] | None = None

    @contextmanager
    def interjecting(self, action: Callable[[], object]) -> Iterator[None]:
        """Run ``action`` at the next reading of the clock (once) within the block."""
        self._interjection = action
        try:
            yield
        finally:
            self._interjection = None

    def __call__(self) -> datetime:
        action, self._interjection = self._interjection, None
        if action is not None:
            action()
        return super().__call__()


def e2e_settings(backend: Backend) -> Settings:
    return Settings(
        database_url=backend.database_url,
        data_dir=backend.data_dir,
        jwt_secret=SECRET,
        jwt_audience=AUDIENCE,
        # Small pools: every test database lives on one server.
        postgres_pool_size=2,
        postgres_max_overflow=2,
    )


@dataclass
class Api:
    """Drives the REST API as a client would, and looks at the event log directly."""

    client: TestClient
    services: Services
    clock: InterjectingClock
    settings: Settings
    actor: Actor = COUNSELLOR
    _token: str = field(init=False, default="")

    def __post_init__(self) -> None:
        self._token = self.token_for(self.actor)

    # --- requests ------------------------------------------------------------------------

    def token_for(self, actor: Actor, **claims: Any) -> str:
        """A token for ``actor``; counsellors and team leads are of ``TEAM`` unless
        ``team`` says otherwise."""
        if actor.role in (Role.COUNSELLOR, Role.TEAM_LEAD):
            claims.setdefault("team", TEAM)
        return issue_token(self.settings, actor.role, actor.id, **claims)

    @property
    def admin_token(self) -> str:
        """Counsellors and institutions are the admin's to register."""
        return self.token_for(ADMIN)

    @property
    def lead_token(self) -> str:
        """The team lead of ``TEAM`` (erasure, export, team caseloads)."""
        return self.token_for(TEAM_LEAD)

    def headers(self, token: str | None = None, key: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {token or self._token}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        return headers

    def graphql(self, query: str, token: str | None = None, **variables: Any) -> dict[str, Any]:
        """A GraphQL request with ``token`` (default: the default token); the body of its
        answer, which must be a 200."""
        response = self.client.post(
            "/graphql", json={"query": query, "variables": variables}, headers=self.headers(token)
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def post(
        self,
        path: str,
        body: Any,
        *,
        token: str | None = None,
        key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        sent = headers if headers is not None else self.headers(token, key)
        response: httpx.Response = self.client.post(path, json=body, headers=sent)
        return response

    def command(self, path: str, body: Any, **kwargs: Any) -> dict[str, Any]:
        """Post a command that must be accepted; returns the answer's body."""
        response = self.post(path, body, **kwargs)
        assert response.status_code == 201, response.json()
        answer: dict[str, Any] = response.json()
        return answer

    # --- the event log -------------------------------------------------------------------

    def position(self) -> int:
        """The log's last position (0 when empty)."""
        return self.services.app.recorder.max_notification_id() or 0

    def events_since(self, position: int) -> list[DomainEventProtocol[Any]]:
        notifications = self.services.app.recorder.select_notifications(
            start=position + 1, limit=100
        )
        return [self.services.app.mapper.to_domain_event(n) for n in notifications]

    def event_names_since(self, position: int) -> list[str]:
        return [type(event).__name__ for event in self.events_since(position)]

    # --- building state through the API ------------------------------------------------------

    def counsellor(self, **overrides: Any) -> UUID:
        answer = self.command(
            "/api/v1/counsellors", payloads.counsellor(**overrides), token=self.admin_token
        )
        return UUID(answer["ids"]["counsellor_id"])

    def institution(self) -> UUID:
        answer = self.command(
            "/api/v1/institutions", payloads.institution(), token=self.admin_token
        )
        return UUID(answer["ids"]["institution_id"])

    def referred(self, **overrides: Any) -> UUID:
        answer = self.command("/api/v1/referrals", payloads.referral(**overrides))
        return UUID(answer["ids"]["young_person_id"])

    def accepted(self, **referral: Any) -> UUID:
        young_person_id = self.referred(**referral)
        self.command(f"{yp(young_person_id)}/referral-review", payloads.review())
        return young_person_id

    def enrolled(self, counsellor_id: UUID | None = None, **referral: Any) -> UUID:
        young_person_id = self.accepted(**referral)
        counsellor_id = counsellor_id or self.counsellor()
        self.command(f"{yp(young_person_id)}/enrolment", payloads.enrolment(counsellor_id))
        return young_person_id

    def with_plan(self) -> UUID:
        young_person_id = self.enrolled()
        self.command(f"{yp(young_person_id)}/plan", payloads.plan())
        return young_person_id

    def closed(self) -> UUID:
        young_person_id = self.enrolled()
        self.command(f"{yp(young_person_id)}/closing", payloads.closing())
        return young_person_id

    def milestone(self, young_person_id: UUID) -> UUID:
        answer = self.command(f"{yp(young_person_id)}/milestones", payloads.milestone())
        return UUID(answer["ids"]["milestone_id"])

    def transition(self, young_person_id: UUID) -> UUID:
        answer = self.command(f"{yp(young_person_id)}/transitions", payloads.transition())
        return UUID(answer["ids"]["transition_id"])

    def decision(
        self, young_person_id: UUID, decided_by: UUID, kind: str = "readiness_assessment"
    ) -> UUID:
        answer = self.command(
            f"{yp(young_person_id)}/decisions", payloads.decision(decided_by, kind)
        )
        return UUID(answer["ids"]["decision_id"])

    def alert(self, young_person_id: UUID) -> UUID:
        """An open alert: a transition that began (as recorded late) longer ago than the
        quiet threshold, without contact since, raised as the sweeper does. The clock stays
        where it is: other tests of the module read it."""
        app = self.services.app
        began = CommandContext(
            actor=Actor(id="counsellor-1", role=Role.COUNSELLOR),
            occurred_at=self.clock() - timedelta(days=QUIET_DAYS),
        )
        transition = app.start_transition(young_person_id, a_transition(), began)
        sweeper = CommandContext(actor=Actor(id="alert-sweeper", role=Role.SYSTEM))
        result = app.raise_quiet_alert(young_person_id, transition.ids["transition_id"], sweeper)
        return result.ids["alert_id"]


def yp(young_person_id: UUID) -> str:
    return f"/api/v1/young-people/{young_person_id}"


def open_api(
    backend: Backend, *, run_projections: bool = False, **settings_overrides: Any
) -> Iterator[Api]:
    """The app on ``backend`` with the e2e settings, ``settings_overrides`` on top; with
    ``run_projections`` its projection runner follows the log in a thread, as
    ``overgang serve`` runs it."""
    settings = e2e_settings(backend).model_copy(update=settings_overrides)
    clock = InterjectingClock()
    services = build_services(settings, clock=clock)
    try:
        if run_projections:
            services.projections.start_in_thread()
        with TestClient(create_app(services)) as client:
            yield Api(client=client, services=services, clock=clock, settings=settings)
    finally:
        services.close()


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def module_backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Backend:
    """SQLite files, or one fresh PostgreSQL database, shared by the tests of a module."""
    data_dir = tmp_path_factory.mktemp("e2e") / "var"
    if request.param == "sqlite":
        return Backend(name="sqlite", data_dir=data_dir)
    url: str = request.getfixturevalue("pg_module_url")
    return Backend(name="postgres", data_dir=data_dir, database_url=url)


@pytest.fixture(scope="module")
def api(module_backend: Backend) -> Iterator[Api]:
    """The app on each backend, with a fixed clock (2024-03-04 09:00 UTC)."""
    yield from open_api(module_backend)


@pytest.fixture(scope="module")
def sqlite_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """The app on SQLite only: for what happens before any storage is touched."""
    backend = Backend(name="sqlite", data_dir=tmp_path_factory.mktemp("e2e") / "var")
    yield from open_api(backend)


@pytest.fixture
def second_api(api: Api, module_backend: Backend) -> Iterator[Api]:
    """Another app instance (another process, in effect) on the same storage."""
    yield from open_api(module_backend)
