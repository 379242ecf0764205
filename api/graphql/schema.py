"""The GraphQL schema (every area's queries in one ``Query``), its router and its SDL.

The schema is exported to ``schema.graphql`` at the repository root; a test fails when the
two differ. Regenerate it with ``make schema``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import suppress
from functools import lru_cache

import strawberry
from fastapi import Request
from graphql import GraphQLError, parse
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.fastapi import GraphQLRouter

from api.deps import ApiServices
from api.graphql.caseload.queries import CaseloadQueries
from api.graphql.context import Context
from api.graphql.errors import CodedErrors, InvalidQueriesAreBadRequests
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
class Query(YoungPersonQueries, CaseloadQueries, ReferralQueries):
    """Everything a dashboard can read."""


schema = strawberry.Schema(
    query=Query,
    # Factories, not instances: an extension instance must not be shared by concurrent
    # requests.
    extensions=[
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: AddValidationRules(_LIMITS),
        CodedErrors,
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

    async def context_getter(request: Request) -> Context:
        return Context.for_request(services, request.headers.get("authorization"))

    return GraphQLRouter(schema, context_getter=context_getter, graphql_ide="graphiql")
