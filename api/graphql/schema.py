"""The GraphQL schema (every area's queries in one ``Query``), its router and its SDL.

The schema is exported to ``schema.graphql`` at the repository root; a test fails when the
two differ. Regenerate it with ``make schema``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import suppress
from functools import lru_cache

import strawberry
from graphql import GraphQLError, parse
from starlette.requests import HTTPConnection
from strawberry.exceptions import ConnectionRejectionError
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.fastapi import GraphQLRouter
from strawberry.types import ExecutionContext
from strawberry.types.unset import UNSET, UnsetType

from api.deps import ApiServices, get_verifier_of
from api.graphql.access_log.queries import AccessLogQueries
from api.graphql.access_log.recording import RecordReads
from api.graphql.alerts.mutations import AlertMutations
from api.graphql.alerts.queries import AlertQueries
from api.graphql.alerts.subscriptions import AlertSubscriptions
from api.graphql.caseload.queries import CaseloadQueries
from api.graphql.context import Context
from api.graphql.decision_audit.queries import DecisionAuditQueries
from api.graphql.errors import CodedErrors, InvalidQueriesAreBadRequests, is_server_fault
from api.graphql.outcomes.queries import OutcomeQueries
from api.graphql.referrals.queries import ReferralQueries
from api.graphql.young_person.queries import YoungPersonQueries

# Generous for dashboards, tight enough that one request cannot ask for the whole database.
MAX_DEPTH = 10
MAX_ALIASES = 100
MAX_TOKENS = 5000
# Documents parsed and validated are kept (dashboards send the same few queries over and
# over): parsing and validation cost more than executing a caseload query.
CACHED_DOCUMENTS = 256

# The limits' validation rules, built once: a rule class built per request would make
# every request a miss of the validation cache, which is keyed by the rules.
_LIMITS = (
    QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules
    + MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules
)


_parse = lru_cache(maxsize=CACHED_DOCUMENTS)(parse)


class CachedParsing(SchemaExtension):
    """Parses each distinct document once (strawberry's ``ParserCache`` raises a syntax
    error out of the hook instead of reporting it, which would turn a 400 into a 200)."""

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        # On a syntax error strawberry parses it again and reports it as for any query.
        with suppress(GraphQLError):
            context.graphql_document = _parse(context.query, **context.parse_options)
        yield


@strawberry.type
class Query(
    YoungPersonQueries,
    CaseloadQueries,
    ReferralQueries,
    AccessLogQueries,
    DecisionAuditQueries,
    AlertQueries,
    OutcomeQueries,
):
    """Everything a dashboard can read."""


@strawberry.type
class Mutation(AlertMutations):
    """Commands a dashboard sends over GraphQL (every other command is REST)."""


@strawberry.type
class Subscription(AlertSubscriptions):
    """Live feeds, over websockets."""


class _Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Strawberry logs every error at ERROR level with its traceback; a refusal or a
        # broken domain rule is an answer, not a fault, and would bury the real ones.
        super().process_errors([e for e in errors if is_server_fault(e)], execution_context)


schema = _Schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    # Factories, not instances: an extension instance must not be shared by concurrent
    # requests.
    extensions=[
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: AddValidationRules(_LIMITS),
        CodedErrors,
        # After CodedErrors: its own error (access log unavailable) is already coded.
        RecordReads,
        InvalidQueriesAreBadRequests,
        CachedParsing,
        lambda: ValidationCache(maxsize=CACHED_DOCUMENTS),
    ],
)


def export_sdl() -> str:
    """The schema in GraphQL SDL, as checked in at ``schema.graphql``."""
    return schema.as_str()


def graphql_router(services: ApiServices) -> GraphQLRouter[Context, None]:
    """The router to mount at ``/graphql`` (GraphiQL in the browser)."""

    # An HTTPConnection: a request, or a websocket's upgrade request (subscriptions).
    async def context_getter(request: HTTPConnection) -> Context:
        return Context.for_request(
            services, request.headers.get("authorization"), get_verifier_of(request)
        )

    # Websockets from any origin (a dashboard is served from its own): no cookie ever
    # authenticates here, so a foreign page gains nothing without the user's bearer token.
    return _Router(
        schema, context_getter=context_getter, graphql_ide="graphiql", allowed_origins=["*"]
    )


class _Router(GraphQLRouter[Context, None]):
    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """A websocket needs a valid bearer token, from ``connection_init``'s payload
        (``{"Authorization": "Bearer ..."}``) or else the upgrade request's header; without
        one the connection is refused (graphql-transport-ws closes it with 4403)."""
        params = context.connection_params
        if isinstance(params, dict):
            authorization = params.get("Authorization", params.get("authorization"))
            if authorization is not None and context.request is not None:
                value = authorization if isinstance(authorization, str) else None
                context.authenticate(value, get_verifier_of(context.request))
        if context.principal is None:
            error = context.authentication_error
            raise ConnectionRejectionError(
                {"code": "unauthenticated", "message": error.message if error else "no token"}
            )
        return UNSET
