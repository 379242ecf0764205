"""The decision audit query (auditors)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from api.access import Permission
from api.graphql.arguments import WaitForPosition
from api.graphql.context import Context
from api.graphql.decision_audit.types import AuditedDecision, DecisionAuditPage
from api.graphql.errors import INVALID_ARGUMENT, graphql_error
from api.graphql.pages import DEFAULT_PAGE, PageInfo, page_size
from api.graphql.permissions import Allowed
from projections.decision_audit import AuditCursor, AuditFilter, DecisionAuditView
from projections.store import Row, ViewCursor


@strawberry.type
class DecisionAuditQueries:
    @strawberry.field(
        permission_classes=[Allowed(Permission.READ_DECISION_AUDIT)],
        description="Every authority decision with its legal completeness checks, dual role, "
        "appeal course and provenance (auditors). Oldest first by when it was decided; "
        "`from` inclusive, `to` exclusive; `incompleteOnly`: just those with a failed check.",
    )
    async def decision_audit(
        self,
        info: strawberry.Info[Context, None],
        from_: Annotated[datetime | None, strawberry.argument(name="from")] = None,
        to: datetime | None = None,
        incomplete_only: bool = False,
        first: int = DEFAULT_PAGE,
        after: str | None = None,
        wait_for_position: WaitForPosition = None,
    ) -> DecisionAuditPage:
        size = page_size(first)
        for name, value in (("from", from_), ("to", to)):
            if value is not None and value.tzinfo is None:
                raise graphql_error(INVALID_ARGUMENT, f"{name} needs a time zone")
        try:
            cursor = None if after is None else AuditCursor.decode(after)
        except ValueError:
            raise graphql_error(INVALID_ARGUMENT, "after is not a decision audit cursor") from None
        if wait_for_position is not None:
            await info.context.wait_for(wait_for_position)
        which = AuditFilter(since=from_, until=to, incomplete_only=incomplete_only)

        def query(cur: ViewCursor) -> tuple[list[Row], int]:
            rows = DecisionAuditView.page(cur, which, limit=size + 1, after=cursor)
            return rows, DecisionAuditView.count(cur, which)

        rows, total = await info.context.read(query)
        page = rows[:size]
        return DecisionAuditPage(
            total=total,
            entries=[AuditedDecision.from_row(row) for row in page],
            page_info=PageInfo(
                end_cursor=AuditCursor.after_row(page[-1]).encode() if page else after,
                has_next_page=len(rows) > size,
            ),
        )
