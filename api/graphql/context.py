"""What every resolver gets: the services, the caller and this request's DataLoaders.

The context is built anew for each request, and with it the DataLoaders: their caches must
never outlive a request (another caller, newer data). Loaders read the view store in a
worker thread, because the view store is synchronous and the event loop must not wait on
a database.

With a read replica (``ApiServices.read_views``), answers come from the replica and access
from the primary (``Context.access``): a replica lagging behind must never let someone
read a young person who has left their team since. Lists the replica answers by team (a
caseload, alerts) drop the young people the primary places elsewhere now
(``Context.still_in_team``). Without a replica both are the same loaders: no query more.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar
from uuid import UUID

from anyio import to_thread
from strawberry.dataloader import DataLoader
from strawberry.fastapi import BaseContext

from api.access import Permission, Target, require
from api.auth import AuthenticationError, Principal, TokenVerifier, bearer_token
from api.deps import ApiServices, PersonalDataRead
from api.graphql.errors import NOT_YET_VISIBLE, UNAUTHENTICATED, graphql_error
from domain.actors import Actor
from projections.alerts import AlertsView
from projections.caseload import CaseloadView
from projections.decision_audit import DecisionAuditView
from projections.plan import PlanView
from projections.risk_flags import RiskFlagsView
from projections.store import Row, ViewCursor, ViewStore
from projections.timeline import TimelineView
from projections.transitions import TransitionsView

T = TypeVar("T")


@dataclass(frozen=True)
class TimelineKey:
    """One young person's timeline (id in hex), or the part of it a page asks for."""

    young_person_id: str
    limit: int | None = None
    after_position: int | None = None


@dataclass(frozen=True)
class CaseloadKey:
    """One counsellor's active cases (id in hex), or the page of them a query asks for."""

    counsellor_id: str
    limit: int | None = None
    after: str | None = None


class Loaders:
    """Per-request DataLoaders: each batch is one read transaction, one query per kind of
    request, however many young people it covers.

    ``now`` is the request's one reading of the clock: every time-dependent answer in a
    response (open flags, days since contact) agrees with every other.
    """

    def __init__(self, views: ViewStore, now: datetime) -> None:
        self._views = views
        self.now = now
        self.timeline: DataLoader[TimelineKey, list[Row]] = DataLoader(self._load_timelines)
        self.risk_flags = self._by_key(lambda cur, ids: RiskFlagsView.open_flags(cur, ids, now))
        self.plan = self._by_key(PlanView.plans)
        self.milestones = self._by_key(PlanView.milestones)
        self.transitions = self._by_key(TransitionsView.transitions)
        self.transition_steps = self._by_key(TransitionsView.steps)
        self.counsellor = self._by_key(CaseloadView.counsellors)
        self.caseload_entry = self._by_key(CaseloadView.of_young_people)
        self.caseload: DataLoader[CaseloadKey, list[Row]] = DataLoader(self._load_caseloads)
        self.open_alerts = self._by_key(AlertsView.open_for)
        self.decisions = self._by_key(DecisionAuditView.of_young_people)

    def _by_key(
        self, query: Callable[[ViewCursor, list[str]], Mapping[str, T | None]]
    ) -> DataLoader[str, T | None]:
        """A loader over a view query that takes many ids and answers a dict by id; an id
        the view does not know loads as None."""

        async def load(ids: list[str]) -> list[T | None]:
            found = await self.read(lambda cur: query(cur, ids))
            return [found.get(key) for key in ids]

        return DataLoader(load)

    async def _load_caseloads(self, keys: list[CaseloadKey]) -> list[list[Row]]:
        pages: dict[tuple[int | None, str | None], list[str]] = defaultdict(list)
        for key in keys:
            pages[(key.limit, key.after)].append(key.counsellor_id)

        def query(cur: ViewCursor) -> dict[CaseloadKey, list[Row]]:
            found: dict[CaseloadKey, list[Row]] = {}
            for (limit, after), ids in pages.items():
                for counsellor_id, rows in CaseloadView.entries(cur, ids, limit, after).items():
                    found[CaseloadKey(counsellor_id, limit, after)] = rows
            return found

        found = await self.read(query)
        return [found[key] for key in keys]

    async def read(self, query: Callable[[ViewCursor], T]) -> T:
        def run() -> T:
            with self._views.transaction(readonly=True) as cur:
                return query(cur)

        return await to_thread.run_sync(run)

    async def _load_timelines(self, keys: list[TimelineKey]) -> list[list[Row]]:
        # Keys that ask for the same page share one query.
        pages: dict[tuple[int | None, int | None], list[str]] = defaultdict(list)
        for key in keys:
            pages[(key.limit, key.after_position)].append(key.young_person_id)

        def query(cur: ViewCursor) -> dict[TimelineKey, list[Row]]:
            found: dict[TimelineKey, list[Row]] = {}
            for (limit, after), ids in pages.items():
                grouped = TimelineView.entries(cur, ids, limit=limit, after_position=after)
                for young_person_id, rows in grouped.items():
                    found[TimelineKey(young_person_id, limit, after)] = rows
            return found

        found = await self.read(query)
        return [found[key] for key in keys]


class Context(BaseContext):
    """The context of one GraphQL request."""

    def __init__(
        self,
        services: ApiServices,
        principal: Principal | None,
        authentication_error: AuthenticationError | None = None,
    ) -> None:
        super().__init__()
        self.services = services
        self.principal = principal
        """The caller; None when the request has no valid token (see ``IsAuthenticated``)."""
        self.actor: Actor | None = None if principal is None else principal.actor
        self.authentication_error = authentication_error
        self.loaders, self.access = self._new_loaders()
        self.reads: dict[PersonalDataRead, None] = {}
        """Personal data this request read; ``RecordReads`` logs them in one statement."""

    def _new_loaders(self) -> tuple[Loaders, Loaders]:
        services = self.services
        now = services.clock()
        loaders = Loaders(services.read_views, now)
        if services.read_views is services.views:
            return loaders, loaders
        return loaders, Loaders(services.views, now)

    def renew_loaders(self) -> None:
        """Fresh loaders and a fresh reading of the clock (a long-lived subscription)."""
        self.loaders, self.access = self._new_loaders()

    @property
    def has_replica(self) -> bool:
        """Whether answers come from a read replica rather than the primary."""
        return self.access is not self.loaders

    @classmethod
    def for_request(
        cls,
        services: ApiServices,
        authorization: str | None,
        verifier: TokenVerifier | None = None,
    ) -> Context:
        """The context for a request with this ``Authorization`` header (or none).

        A request without a valid token still gets a context: the schema may be explored
        (GraphiQL, introspection) without one, and fields that need a caller refuse.
        ``verifier``: the app's (a new one from the settings if not given).
        """
        try:
            token = bearer_token(authorization)
            principal = (verifier or TokenVerifier(services.settings)).principal(token)
        except AuthenticationError as error:
            return cls(services, None, error)
        return cls(services, principal)

    def authenticate(self, authorization: str | None, verifier: TokenVerifier) -> None:
        """Authenticate with this ``Authorization`` value instead: a websocket client may
        send its token in ``connection_init`` rather than in the upgrade request."""
        try:
            self.principal = verifier.principal(bearer_token(authorization))
        except AuthenticationError as error:
            self.principal, self.authentication_error = None, error
        else:
            self.authentication_error = None
        self.actor = None if self.principal is None else self.principal.actor

    # --- access ------------------------------------------------------------------------------

    def require(self, permission: Permission, target: Target | None = None) -> None:
        """``api.access.require`` for the caller (``AccessDeniedError``: code forbidden)."""
        if self.principal is None:
            raise graphql_error(UNAUTHENTICATED, "a bearer token is required")
        require(self.principal, permission, target)

    async def require_young_person(self, permission: Permission, young_person_key: str) -> None:
        """``permission`` on a young person (id in hex), judged from the primary's caseload
        view (any status, pending to erased): an unknown id is refused like another
        team's."""
        row = await self.access.caseload_entry.load(young_person_key)
        target = Target.unknown() if row is None else Target(team=row["team_id"])
        self.require(permission, target)

    async def still_in_team(self, rows: list[Row]) -> list[Row]:
        """``rows`` of a list the read models answered by team (each with ``young_person_id``
        and ``team_id``), less those whose young person the primary places in another team
        now (or does not know). One query for all the rows of a request, and none without
        a replica."""
        if not self.has_replica or not rows:
            return rows
        now = await self.access.caseload_entry.load_many([row["young_person_id"] for row in rows])
        return [
            row
            for row, current in zip(rows, now, strict=True)
            if current is not None and current["team_id"] == row["team_id"]
        ]

    def read_personal_data(self, young_person_key: str, what: str) -> None:
        """Note that this request read ``what`` of the young person (id in hex)."""
        self.reads[PersonalDataRead(UUID(hex=young_person_key), what)] = None

    async def read(self, query: Callable[[ViewCursor], T]) -> T:
        """Run ``query`` in one read transaction (for fields no other field batches with)."""
        return await self.loaders.read(query)

    async def wait_for(self, position: int) -> None:
        """Read your own writes: wait until the read models the answers come from (the
        replica's, if any) have applied ``position``."""
        timeout = self.services.settings.read_your_writes_timeout
        waiter = self.services.read_views_waiter
        reached = await to_thread.run_sync(waiter.wait_for, position, timeout)
        if not reached:
            raise graphql_error(
                NOT_YET_VISIBLE,
                f"position {position} is not yet visible in the read models; retry shortly",
            )
