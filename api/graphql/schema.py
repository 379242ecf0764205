"""The GraphQL schema (every area's queries in one ``Query``), its router and its SDL.

The schema is exported to ``schema.graphql`` at the repository root; a test fails when the
two differ. Regenerate it with ``make schema``.
"""

from __future__ import annotations

import strawberry
from fastapi import Request
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.fastapi import GraphQLRouter

from api.deps import ApiServices
from api.graphql.context import Context
from api.graphql.errors import CodedErrors, InvalidQueriesAreBadRequests
from api.graphql.timeline.queries import TimelineQueries

# Generous for dashboards, tight enough that one request cannot ask for the whole database.
MAX_DEPTH = 10
MAX_ALIASES = 100
MAX_TOKENS = 5000


@strawberry.type
class Query(TimelineQueries):
    """Everything a dashboard can read."""


schema = strawberry.Schema(
    query=Query,
    # Factories, not instances: an extension instance must not be shared by concurrent
    # requests.
    extensions=[
        lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
        lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        CodedErrors,
        InvalidQueriesAreBadRequests,
    ],
)


def export_sdl() -> str:
    """The schema in GraphQL SDL, as checked in at ``schema.graphql``."""
    return schema.as_str()


def graphql_router(services: ApiServices) -> GraphQLRouter[Context, None]:
    """The router to mount at ``/graphql`` (GraphiQL in the browser)."""

    async def context_getter(request: Request) -> Context:
        return Context.for_request(services, request.headers.get("authorization"))

    return GraphQLRouter(schema, context_getter=context_getter, graphql_ide="graphiql")
