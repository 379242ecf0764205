"""The GraphQL schema (every area's queries in one ``Query``), its router and its SDL.

The schema is exported to ``schema.graphql`` at the repository root; a test fails when the
two differ. Regenerate it with ``make schema``.

Every request the router refuses is answered in JSON, with a status, an error code and a
message: ``{"errors": [{"message": ..., "extensions": {"code": ...}}]}`` (``invalid_request``
for a body that is no GraphQL request, ``unsupported_media_type`` for one that is not JSON,
and the limits' codes of ``api.graphql.limits``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import suppress
from functools import lru_cache
from typing import Any

import strawberry

# Strawberry's own HTTP layer (a dependency of strawberry-graphql): its refusals.
from cross_web import AsyncHTTPRequestAdapter
from cross_web import HTTPException as StrawberryHTTPException
from fastapi import Request, Response, WebSocket
from fastapi.responses import JSONResponse
from graphql import (
    DocumentNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    get_operation_ast,
    parse,
)
from starlette.requests import HTTPConnection
from strawberry.exceptions import ConnectionRejectionError
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.fastapi import GraphQLRouter
from strawberry.http import GraphQLRequestData
from strawberry.http.parse_content_type import parse_content_type
from strawberry.types import ExecutionContext
from strawberry.types.execution import ExecutionResult
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
from api.graphql.errors import (
    INVALID_REQUEST,
    CodedErrors,
    InvalidQueriesAreBadRequests,
    is_server_fault,
)
from api.graphql.limits import (
    CACHED_DOCUMENTS,
    MAX_ALIASES,
    MAX_DEPTH,
    MAX_TOKENS,
    QueryLimits,
    RequestRefusedError,
    check_request_size,
)
from api.graphql.outcomes.queries import OutcomeQueries
from api.graphql.referrals.queries import ReferralQueries
from api.graphql.young_person.queries import YoungPersonQueries

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
        # Last: it validates (with a cache), after the rules above are in place.
        QueryLimits,
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
    # Left out of the OpenAPI document: GraphQL describes itself (`schema.graphql`,
    # introspection), and "JSON in, JSON out" would tell a REST client nothing.
    # GraphiQL needs introspection: without it, /graphql serves no IDE.
    return _Router(
        schema,
        context_getter=context_getter,
        graphql_ide="graphiql" if services.settings.graphql_introspection else None,
        allowed_origins=["*"],
        include_in_schema=False,
    )


_CODE_BY_STATUS = {404: "not_found", 405: "method_not_allowed"}


def _refusal(status: int, code: str, message: str) -> Response:
    """A request refused before it ran, answered as GraphQL clients read errors."""
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": code}}]}, status_code=status
    )


class _Router(GraphQLRouter[Context, None]):
    async def run(  # type: ignore[override]
        self,
        request: Request | WebSocket,
        context: Context | UnsetType = UNSET,
        root_value: UnsetType | None = UNSET,
    ) -> Response | WebSocket:
        """Strawberry's refusals, answered in JSON with a code rather than as plain text."""
        try:
            return await super().run(request, context, root_value)  # type: ignore[arg-type]
        except RequestRefusedError as error:
            return _refusal(error.status, error.code, error.message)
        except StrawberryHTTPException as error:
            code = _CODE_BY_STATUS.get(error.status_code, INVALID_REQUEST)
            return _refusal(error.status_code, code, error.reason)

    def parse_json(self, data: str | bytes) -> Any:
        """The body (or a GET's ``variables``): JSON, and an object (or a batch's list)."""
        try:
            parsed = super().parse_json(data)
        except (UnicodeDecodeError, RecursionError) as error:
            raise RequestRefusedError(
                400, INVALID_REQUEST, "the body is not JSON in UTF-8, or nested too deeply"
            ) from error
        if not isinstance(parsed, dict | list):
            raise RequestRefusedError(
                400, INVALID_REQUEST, 'expected a JSON object, such as {"query": "..."}'
            )
        return parsed

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        """The request, refused when it is not JSON or goes beyond the size limits."""
        content_type, _ = parse_content_type(request.content_type or "")
        if request.method == "POST" and "application/json" not in content_type:
            raise RequestRefusedError(
                415,
                "unsupported_media_type",
                "a GraphQL request is JSON: send it with Content-Type: application/json",
            )
        data = await super().parse_http_body(request)
        for item in data if isinstance(data, list) else [data]:
            check_request_size(item.query, item.variables)
        return data

    async def execute_single(  # type: ignore[override]
        self, request_data: GraphQLRequestData, **kwargs: Any
    ) -> ExecutionResult:
        """Refused here, as strawberry would run them anyway: a document of several
        operations without ``operationName`` (it would pick one), and a subscription over
        plain HTTP (it would fail inside: subscriptions are served over websockets)."""
        if request_data.query is not None:
            with suppress(GraphQLError):  # a syntax error: reported as for any query
                _refuse_unrunnable(
                    _parse(request_data.query, max_tokens=MAX_TOKENS), request_data.operation_name
                )
        return await super().execute_single(request_data=request_data, **kwargs)

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


def _refuse_unrunnable(document: DocumentNode, operation_name: str | None) -> None:
    """``RequestRefusedError`` for what the operation name leaves ambiguous, or a
    subscription."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is None and len(operations) > 1:
        raise RequestRefusedError(
            400,
            INVALID_REQUEST,
            "the document has several operations: name the one to run in `operationName`",
        )
    operation = get_operation_ast(document, operation_name)
    if operation is not None and operation.operation is OperationType.SUBSCRIPTION:
        raise RequestRefusedError(
            400,
            INVALID_REQUEST,
            "subscriptions are served over a websocket (graphql-transport-ws), not over plain HTTP",
        )
