"""Who may resolve what. Permission classes read only the context.

Every root field declares ``permission_classes=[Allowed(Permission.X)]`` (see
``api.access``): the caller must be authenticated and their role must hold X. A field
about one target (a young person, a counsellor) then checks the target in its resolver
with ``info.context.require`` / ``require_young_person``, before it reads anything, so an
unknown id is refused like one out of reach.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import strawberry
from strawberry.permission import BasePermission

from api.access import AccessDeniedError, Permission, may_use
from api.graphql.context import Context
from api.graphql.errors import FORBIDDEN, UNAUTHENTICATED, graphql_error


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


class _Allowed(IsAuthenticated):
    permission: Permission

    def has_permission(
        self, source: Any, info: strawberry.Info[Context, None], **kwargs: Any
    ) -> bool:
        if not super().has_permission(source, info, **kwargs):
            return False
        principal = info.context.principal
        if principal is None or not may_use(principal, self.permission):
            raise graphql_error(FORBIDDEN, AccessDeniedError(self.permission).message)
        return True


@cache
def Allowed(permission: Permission) -> type[BasePermission]:  # reads as a class
    """The permission class of a field that needs ``permission`` (one class per permission,
    as strawberry wants classes)."""
    name = "Allowed_" + permission.value
    return type(name, (_Allowed,), {"permission": permission})
