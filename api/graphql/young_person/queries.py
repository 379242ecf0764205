"""Queries of the timeline area."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import strawberry

from api.graphql.context import Context
from api.graphql.errors import INVALID_ARGUMENT, graphql_error
from api.graphql.permissions import IsAuthenticated
from api.graphql.timeline.types import YoungPerson


def parse_young_person_id(value: strawberry.ID) -> UUID:
    try:
        return UUID(str(value))
    except ValueError:
        raise graphql_error(INVALID_ARGUMENT, "id must be a UUID") from None


@strawberry.type
class TimelineQueries:
    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="A young person by id; null when there is none.",
    )
    async def young_person(
        self,
        info: strawberry.Info[Context, None],
        id: strawberry.ID,
        wait_for_position: Annotated[
            int | None,
            strawberry.argument(
                description="Read your own write: first wait until the read models have "
                "applied this event log position (a command's `position`); answers the "
                "error `not_yet_visible` if they do not in time."
            ),
        ] = None,
    ) -> YoungPerson | None:
        young_person_id = parse_young_person_id(id)
        if wait_for_position is not None:
            await info.context.wait_for(wait_for_position)
        if not await info.context.loaders.has_timeline.load(young_person_id.hex):
            return None
        return YoungPerson.of(young_person_id)
