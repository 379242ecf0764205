"""GraphQL errors with a stable ``extensions.code``, and the masking of everything else.

Resolvers raise ``graphql_error(code, message)`` for answers a client can act on. Any other
exception becomes an error with a fixed message and a code (``unavailable`` for a database
that is away, a domain error's own code), so internals never reach a client. A query that
cannot run at all (bad syntax, unknown fields, beyond the size limits) is answered with
HTTP 400 and the code ``invalid_query`` (or a limit's own code, ``api.graphql.limits``).
"""

from __future__ import annotations

from collections.abc import Iterator

from eventsourcing.persistence import InterfaceError, OperationalError
from fastapi import Response
from graphql import GraphQLError
from strawberry.extensions import MaskErrors, SchemaExtension
from strawberry.fastapi import BaseContext

from api.access import AccessDeniedError
from domain.errors import DomainError
from projections.store import ViewStoreUnavailableError

UNAUTHENTICATED = "unauthenticated"
FORBIDDEN = "forbidden"
NOT_YET_VISIBLE = "not_yet_visible"
INVALID_ARGUMENT = "invalid_argument"
UNAVAILABLE = "unavailable"
INTERNAL_ERROR = "internal_error"
INVALID_QUERY = "invalid_query"
INVALID_REQUEST = "invalid_request"
"""The HTTP body is no GraphQL request (not JSON, no query, variables not an object)."""


def graphql_error(code: str, message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code})


def _is_unexpected(error: GraphQLError) -> bool:
    # Errors we raise on purpose, validation and permission errors are GraphQLErrors
    # themselves (or have no original error); everything else escaped a resolver.
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)


def is_server_fault(error: GraphQLError) -> bool:
    """Whether the error is the server's fault and worth a log line: not an answer given
    on purpose (a refusal, a domain rule, a bad query), which the client acts on."""
    return _is_unexpected(error) and not isinstance(
        error.original_error, AccessDeniedError | DomainError
    )


class CodedErrors(MaskErrors):
    """Replaces unexpected errors by a fixed message with a stable code."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=_is_unexpected)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if isinstance(original, ViewStoreUnavailableError | OperationalError | InterfaceError):
            # The read models' database or the event store (a mutation) is away.
            code, message = UNAVAILABLE, "the database is unavailable; try again shortly"
        elif isinstance(original, AccessDeniedError):
            # Same answer whether the target exists or not (see api.access).
            code, message = FORBIDDEN, original.message
        elif isinstance(original, DomainError):
            code, message = original.code, original.message
        else:
            code, message = INTERNAL_ERROR, "an unexpected error occurred"
        return GraphQLError(
            message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={"code": code},
        )


class InvalidQueriesAreBadRequests(SchemaExtension):
    """HTTP 400 for a query refused before execution: the client's mistake, not an answer."""

    def on_parse(self) -> Iterator[None]:
        yield
        self._refuse_if_invalid()

    def on_validate(self) -> Iterator[None]:
        yield
        self._refuse_if_invalid()

    def _refuse_if_invalid(self) -> None:
        # Read right after parsing and validation: later, strawberry puts execution
        # errors in the same list.
        errors = self.execution_context.pre_execution_errors
        if errors:
            self._refuse(errors)

    def _refuse(self, errors: list[GraphQLError]) -> None:
        for error in errors:
            if not error.extensions or "code" not in error.extensions:
                error.extensions = {**(error.extensions or {}), "code": INVALID_QUERY}
        context = self.execution_context.context
        if isinstance(context, BaseContext) and isinstance(context.response, Response):
            context.response.status_code = 400
