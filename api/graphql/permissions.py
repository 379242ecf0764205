"""Who may resolve what. Permission classes read only the context."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.permission import BasePermission

from api.graphql.context import Context
from api.graphql.errors import UNAUTHENTICATED, graphql_error


class IsAuthenticated(BasePermission):
    """The request carries a valid bearer token."""

    message = "a bearer token is required"

    def __init__(self) -> None:
        self.error_extensions = {"code": UNAUTHENTICATED}

    def has_permission(
        self, source: Any, info: strawberry.Info[Context, None], **kwargs: Any
    ) -> bool:
        error = info.context.authentication_error
        if error is not None:
            # Say what is wrong with the token (missing, expired, ...), as REST does.
            raise graphql_error(UNAUTHENTICATED, error.message)
        return info.context.actor is not None
