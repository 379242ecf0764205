"""Queries of caseloads: one counsellor's, or every counsellor's of a team."""

from __future__ import annotations

import strawberry

from api.access import Permission, Target
from api.graphql.arguments import WaitForPosition
from api.graphql.caseload.types import Caseload
from api.graphql.context import Context
from api.graphql.ids import parse_uuid
from api.graphql.permissions import Allowed
from projections.caseload import CaseloadView


@strawberry.type
class CaseloadQueries:
    @strawberry.field(
        permission_classes=[Allowed(Permission.READ_CASELOAD)],
        description="The caseload of a counsellor of the caller's team. Any other id, "
        "known or not, is refused (`forbidden`).",
    )
    async def caseload(
        self,
        info: strawberry.Info[Context, None],
        counsellor_id: strawberry.ID,
        wait_for_position: WaitForPosition = None,
    ) -> Caseload | None:
        key = parse_uuid(counsellor_id, "counsellorId").hex
        if wait_for_position is not None:
            await info.context.wait_for(wait_for_position)
        # Access from the primary, the answer from the read models (see Context.access).
        known = await info.context.access.counsellor.load(key)
        target = Target.unknown() if known is None else Target(team=known["team_id"])
        info.context.require(Permission.READ_CASELOAD, target)
        row = await info.context.loaders.counsellor.load(key)
        return None if row is None else Caseload.from_row(row)

    @strawberry.field(
        permission_classes=[Allowed(Permission.READ_TEAM_CASELOADS)],
        description="The caseload of every counsellor of a team, in counsellor id order "
        "(a team lead, of their own team).",
    )
    async def team_caseloads(
        self,
        info: strawberry.Info[Context, None],
        team_id: str,
        wait_for_position: WaitForPosition = None,
    ) -> list[Caseload]:
        info.context.require(Permission.READ_TEAM_CASELOADS, Target(team=team_id))
        if wait_for_position is not None:
            await info.context.wait_for(wait_for_position)
        rows = await info.context.read(
            lambda cur: CaseloadView.team_counsellors(cur, [team_id])[team_id]
        )
        return [Caseload.from_row(row) for row in rows]
