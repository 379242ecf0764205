"""What the API needs from the composition root, and how a route gets it.

``ApiServices`` names exactly what the API uses; ``infra.bootstrap.Services`` satisfies it
structurally, so ``api`` never imports ``infra``. Routes receive the caller through the
``PrincipalDep`` dependency; the services hang on the app (``get_services_of``).

Access: every route declares what it does with one of the dependencies below, each of
which asks the policy in ``api.access``:

- ``requires(Permission.X)``: the caller's role must hold X (organisation commands);
- ``on_young_person(Permission.X)``: X on the young person of the path's
  ``young_person_id`` (their team, or no team yet); checked before the command, so an
  unknown id is refused like another team's;
- ``GuardDep`` in the handler, for checks that need the body (a partner's institution, the
  team a counsellor belongs to).

Checks read the primary, never a read replica (``ApiServices.read_views``): the write side
here, the primary's caseload view in GraphQL. A replica lags behind by its replication
delay, and access must not: a young person handed over to another team is out of reach at
once. Both reads are cheap (the aggregate cache; one batched query a request).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Protocol, cast
from uuid import UUID

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection

from api.access import Permission, Target, require
from api.auth import AuthenticationError, AuthSettings, Principal, TokenVerifier
from domain.actors import Actor
from domain.application import Clock, CommandContext, CommandResult, IdempotentOutcome, Overgang
from domain.errors import CounsellorNotFoundError, YoungPersonNotFoundError
from domain.vocabulary import ErasureRequester
from projections.store import ViewStore


class ApiSettings(AuthSettings, Protocol):
    @property
    def read_your_writes_timeout(self) -> float: ...

    @property
    def graphql_introspection(self) -> bool: ...


class ProjectionWaiter(Protocol):
    def wait_for(self, position: int, timeout: float) -> bool:
        """Wait until every read model has applied ``position``; False on timeout."""
        ...


@dataclass(frozen=True)
class PersonalDataRead:
    """One kind of a young person's personal data one request read."""

    young_person_id: UUID
    what: str
    """For example ``timeline``, ``plan``, ``transitions``, ``caseload``, ``export``."""


@dataclass(frozen=True)
class AccessLogEntry:
    """A recorded read: who (a token's subject), in which role, when, what, whose."""

    sequence: int
    at: datetime
    actor_id: str
    actor_role: str
    what: str
    young_person_id: UUID


class AccessLog(Protocol):
    """The append-only log of reads of personal data (never rebuilt, never purged)."""

    def record(self, actor: Actor, at: datetime, reads: Sequence[PersonalDataRead]) -> None:
        """Append one entry per read, in one statement."""
        ...

    def entries(
        self,
        *,
        young_person_id: UUID | None,
        start: datetime | None,
        end: datetime | None,
        limit: int,
        after: int | None,
    ) -> list[AccessLogEntry]:
        """Entries in recording order, after the sequence ``after``, at most ``limit``;
        only ``young_person_id``'s if given; ``start <= at < end`` where given."""
        ...


class ApiServices(Protocol):
    """The services one API process works with (built by ``infra.bootstrap``)."""

    @property
    def app(self) -> Overgang: ...

    @property
    def views(self) -> ViewStore:
        """The primary's read models: what writes (the access log) and access checks use,
        so a replica lagging behind never lets someone read what they may no longer see."""
        ...

    @property
    def projections(self) -> ProjectionWaiter: ...

    @property
    def read_views(self) -> ViewStore:
        """What GraphQL queries and read-only downloads read: a read replica's read models
        (``OVERGANG_READ_DATABASE_URL``), else ``views``. Never written to."""
        ...

    @property
    def read_views_waiter(self) -> ProjectionWaiter:
        """Read your writes on ``read_views``: waits until *they* show a position."""
        ...

    @property
    def settings(self) -> ApiSettings: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def access_log(self) -> AccessLog: ...

    def find_idempotent_outcome(self, key: str) -> IdempotentOutcome | None:
        """What a command recorded under the (caller-scoped) idempotency ``key``, if any."""
        ...

    def erase_person(
        self,
        young_person_id: UUID,
        requested_by: ErasureRequester,
        legal_basis: str,
        ctx: CommandContext,
    ) -> CommandResult:
        """Erase the young person's personal data: shred their key, record the erasure,
        purge snapshots and read models. ``PersonalDataErasedError`` if already erased."""
        ...


def get_services_of(request: Request) -> ApiServices:
    return cast(ApiServices, request.app.state.services)


def get_verifier_of(connection: HTTPConnection) -> TokenVerifier:
    """The app's token verifier (built once by ``create_app``: it reads key files), for a
    request or a websocket."""
    return cast(TokenVerifier, connection.app.state.verifier)


# auto_error=False: a missing token is answered by our own 401 (with the JSON error body);
# the scheme still documents the bearer token in OpenAPI, so /docs offers "Authorize".
_bearer = HTTPBearer(auto_error=False, description="A JWT issued by `overgang token`.")


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    # `async def` although it does no I/O: FastAPI runs a sync dependency in its thread
    # pool, and that hop costs more than the work. It reads the services from the request
    # rather than through a dependency of its own for the same reason: it runs on every
    # command.
    if credentials is None:
        raise AuthenticationError("a bearer token is required")
    return get_verifier_of(request).principal(credentials.credentials)


PrincipalDep = Annotated[Principal, Depends(current_principal)]


# --- access ----------------------------------------------------------------------------------


class Guard:
    """The caller and what the policy needs to know about a target, for one request."""

    def __init__(self, principal: Principal, services: ApiServices) -> None:
        self.principal = principal
        self.services = services

    def require(self, permission: Permission, target: Target | None = None) -> None:
        require(self.principal, permission, target)

    def young_person(self, young_person_id: UUID, institution_id: UUID | None = None) -> Target:
        """The young person as a target: their team from the write side (cheap: the
        aggregate cache), so a command is judged on the state it will change."""
        institution = None if institution_id is None else str(institution_id)
        try:
            person = self.services.app.young_person(young_person_id)
        except YoungPersonNotFoundError:
            return Target(exists=False, institution_id=institution)
        return Target(
            team=person.team_id,
            institution_id=institution,
            linked_institutions=frozenset(person.linked_institutions),
        )

    def counsellor_team(self, counsellor_id: UUID) -> Target | None:
        """The counsellor's team as a target; None for an unknown counsellor (the
        command answers that: counsellors are no personal data of young people)."""
        try:
            return Target(team=self.services.app.counsellor(counsellor_id).team_id)
        except CounsellorNotFoundError:
            return None


async def current_guard(principal: PrincipalDep, request: Request) -> Guard:
    return Guard(principal, get_services_of(request))


GuardDep = Annotated[Guard, Depends(current_guard)]


def requires(permission: Permission) -> Any:
    """A route dependency: the caller's role must hold ``permission``."""

    async def check(principal: PrincipalDep) -> None:
        require(principal, permission)

    return Depends(check)


def on_young_person(permission: Permission) -> Any:
    """A route dependency: ``permission`` on the path's young person."""

    # Sync: loading the aggregate may touch the database (FastAPI runs it in a thread).
    # The id is read raw: a malformed one is the route's to refuse (422), once.
    def check(request: Request, guard: GuardDep) -> None:
        try:
            young_person_id = UUID(request.path_params["young_person_id"])
        except ValueError:
            return
        guard.require(permission, guard.young_person(young_person_id))

    return Depends(check)
