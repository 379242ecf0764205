"""What the API needs from the composition root, and how a route gets it.

``ApiServices`` names exactly what the API uses; ``infra.bootstrap.Services`` satisfies it
structurally, so ``api`` never imports ``infra``. Routes receive the caller through the
``PrincipalDep`` dependency; the services hang on the app (``get_services_of``).
"""

from __future__ import annotations

from typing import Annotated, Protocol, cast
from uuid import UUID

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.auth import AuthenticationError, AuthSettings, Principal, principal_from_token
from domain.application import Clock, CommandContext, CommandResult, IdempotentOutcome, Overgang
from domain.vocabulary import ErasureRequester
from projections.store import ViewStore


class ApiSettings(AuthSettings, Protocol):
    @property
    def read_your_writes_timeout(self) -> float: ...


class ProjectionWaiter(Protocol):
    def wait_for(self, position: int, timeout: float) -> bool:
        """Wait until every read model has applied ``position``; False on timeout."""
        ...


class ApiServices(Protocol):
    """The services one API process works with (built by ``infra.bootstrap``)."""

    @property
    def app(self) -> Overgang: ...

    @property
    def views(self) -> ViewStore: ...

    @property
    def projections(self) -> ProjectionWaiter: ...

    @property
    def settings(self) -> ApiSettings: ...

    @property
    def clock(self) -> Clock: ...

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
    return principal_from_token(credentials.credentials, get_services_of(request).settings)


PrincipalDep = Annotated[Principal, Depends(current_principal)]
