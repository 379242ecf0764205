"""Cursor pagination shared by the list fields."""

from __future__ import annotations

import strawberry

from api.graphql.errors import INVALID_ARGUMENT, graphql_error

DEFAULT_PAGE = 50
MAX_PAGE = 500


@strawberry.type(description="Where a page ends and whether more follow.")
class PageInfo:
    end_cursor: str | None = strawberry.field(description="Pass as `after` for the next page.")
    has_next_page: bool


def page_size(first: int) -> int:
    if not 0 <= first <= MAX_PAGE:
        raise graphql_error(INVALID_ARGUMENT, f"first must be between 0 and {MAX_PAGE}")
    return first
