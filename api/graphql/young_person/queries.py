"""The query of one young person."""

from __future__ import annotations

import strawberry

from api.graphql.arguments import WaitForPosition
from api.graphql.context import Context
from api.graphql.ids import parse_uuid
from api.graphql.permissions import IsAuthenticated
from api.graphql.young_person.types import YoungPerson


@strawberry.type
class YoungPersonQueries:
    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="A young person by id; null when there is none.",
    )
    async def young_person(
        self,
        info: strawberry.Info[Context, None],
        id: strawberry.ID,
        wait_for_position: WaitForPosition = None,
    ) -> YoungPerson | None:
        young_person_id = parse_uuid(id)
        if wait_for_position is not None:
            await info.context.wait_for(wait_for_position)
        if not await info.context.loaders.has_timeline.load(young_person_id.hex):
            return None
        return YoungPerson.of(young_person_id)
