"""The query of one young person."""

from __future__ import annotations

import strawberry

from api.access import Permission
from api.graphql.arguments import WaitForPosition
from api.graphql.context import Context
from api.graphql.ids import parse_uuid
from api.graphql.permissions import Allowed
from api.graphql.young_person.types import YoungPerson


@strawberry.type
class YoungPersonQueries:
    @strawberry.field(
        permission_classes=[Allowed(Permission.READ_YOUNG_PERSON)],
        description="A young person of the caller's team, or one not enrolled in any team "
        "yet, by id. Any other id, known or not, is refused (`forbidden`).",
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
        # Before anything else is read: unknown and out-of-reach ids answer alike.
        # The caseload view knows everyone referred: past this check the person exists.
        await info.context.require_young_person(Permission.READ_YOUNG_PERSON, young_person_id.hex)
        return YoungPerson.of(young_person_id)
