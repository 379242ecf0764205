"""The access log query (auditors)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from anyio import to_thread

from api.access import Permission
from api.graphql.access_log.types import AccessLogEntry, AccessLogPage
from api.graphql.context import Context
from api.graphql.errors import INVALID_ARGUMENT, graphql_error
from api.graphql.ids import parse_uuid
from api.graphql.pages import DEFAULT_PAGE, PageInfo, page_size
from api.graphql.permissions import Allowed


def _cursor(after: str | None) -> int | None:
    if after is None:
        return None
    if not after.isdigit() or len(after) > 18:
        raise graphql_error(INVALID_ARGUMENT, "after is not an access log cursor")
    return int(after)


@strawberry.type
class AccessLogQueries:
    @strawberry.field(
        permission_classes=[Allowed(Permission.READ_ACCESS_LOG)],
        description="Who read which young person's personal data, when and what "
        "(auditors). Oldest first; `from` inclusive, `to` exclusive.",
    )
    async def access_log(
        self,
        info: strawberry.Info[Context, None],
        young_person_id: strawberry.ID | None = None,
        from_: Annotated[datetime | None, strawberry.argument(name="from")] = None,
        to: datetime | None = None,
        first: int = DEFAULT_PAGE,
        after: str | None = None,
    ) -> AccessLogPage:
        size = page_size(first)
        after_sequence = _cursor(after)
        person = None if young_person_id is None else parse_uuid(young_person_id, "youngPersonId")
        for name, value in (("from", from_), ("to", to)):
            if value is not None and value.tzinfo is None:
                raise graphql_error(INVALID_ARGUMENT, f"{name} needs a time zone")
        log = info.context.services.access_log
        found = await to_thread.run_sync(
            lambda: log.entries(
                young_person_id=person, start=from_, end=to, limit=size + 1, after=after_sequence
            )
        )
        page = found[:size]
        return AccessLogPage(
            entries=[AccessLogEntry.of(entry) for entry in page],
            page_info=PageInfo(
                end_cursor=str(page[-1].sequence) if page else after,
                has_next_page=len(found) > size,
            ),
        )
