"""The referral queue query."""

from __future__ import annotations

import strawberry

from api.access import Permission
from api.graphql.arguments import WaitForPosition
from api.graphql.context import Context
from api.graphql.errors import INVALID_ARGUMENT, graphql_error
from api.graphql.pages import DEFAULT_PAGE, PageInfo, page_size
from api.graphql.permissions import Allowed
from api.graphql.referrals.types import PendingReferral, ReferralQueuePage
from projections.referral_queue import QueueCursor, ReferralQueueView
from projections.store import Row, ViewCursor


@strawberry.type
class ReferralQueries:
    @strawberry.field(
        permission_classes=[Allowed(Permission.READ_REFERRAL_QUEUE)],
        description="Pending referrals for the weekly review, oldest first.",
    )
    async def referral_queue(
        self,
        info: strawberry.Info[Context, None],
        first: int = DEFAULT_PAGE,
        after: str | None = None,
        include_waitlisted: bool = True,
        wait_for_position: WaitForPosition = None,
    ) -> ReferralQueuePage:
        size = page_size(first)
        try:
            cursor = None if after is None else QueueCursor.decode(after)
        except ValueError:
            raise graphql_error(INVALID_ARGUMENT, "after is not a referral queue cursor") from None
        if wait_for_position is not None:
            await info.context.wait_for(wait_for_position)
        today = info.context.loaders.now.date()

        def query(cur: ViewCursor) -> tuple[list[Row], int]:
            rows = ReferralQueueView.pending(
                cur,
                today=today,
                limit=size + 1,
                after=cursor,
                include_waitlisted=include_waitlisted,
            )
            return rows, ReferralQueueView.count(cur, include_waitlisted=include_waitlisted)

        rows, total = await info.context.read(query)
        page = rows[:size]
        return ReferralQueuePage(
            total=total,
            entries=[PendingReferral.from_row(row) for row in page],
            page_info=PageInfo(
                end_cursor=QueueCursor.after_row(page[-1]).encode() if page else after,
                has_next_page=len(rows) > size,
            ),
        )
