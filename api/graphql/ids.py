"""Ids in GraphQL: UUIDs in their usual form out, any UUID spelling in."""

from __future__ import annotations

from uuid import UUID

import strawberry

from api.graphql.errors import INVALID_ARGUMENT, graphql_error


def parse_uuid(value: str, argument: str = "id") -> UUID:
    """A client's id argument (usual form or hex); ``invalid_argument`` otherwise."""
    try:
        return UUID(str(value))
    except ValueError:
        raise graphql_error(INVALID_ARGUMENT, f"{argument} must be a UUID") from None


def graphql_id(hex_id: str) -> strawberry.ID:
    """A view's hex id in the usual UUID form."""
    return strawberry.ID(str(UUID(hex=hex_id)))
