"""The query of one young person, now or as the case stood at a date."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from api.access import Permission
from api.graphql.arguments import WaitForPosition
from api.graphql.context import Context
from api.graphql.errors import INVALID_ARGUMENT, graphql_error
from api.graphql.ids import parse_uuid
from api.graphql.permissions import Allowed
from api.graphql.young_person.as_of import loaders_as_of
from api.graphql.young_person.types import YoungPerson


@strawberry.type
class YoungPersonQueries:
    @strawberry.field(
        permission_classes=[Allowed(Permission.READ_YOUNG_PERSON)],
        description="A young person of the caller's team, or one not enrolled in any team "
        "yet, by id. Any other id, known or not, is refused (`forbidden`). With `asOf`: "
        "the case as it stood at that moment.",
    )
    async def young_person(
        self,
        info: strawberry.Info[Context, None],
        id: strawberry.ID,
        wait_for_position: WaitForPosition = None,
        as_of: Annotated[
            datetime | None,
            strawberry.argument(
                description="Answer as the case stood at this moment (with a time zone): "
                "every field shows what the read models would have shown had only the "
                "facts that happened by then (by `occurredAt`, so facts recorded later "
                "but dated before count) been recorded. Risk flags are those open at "
                "`asOf`, days are counted to it. Null when the young person had not been "
                "referred by then; a moment after the request's clock answers as of now."
            ),
        ] = None,
    ) -> YoungPerson | None:
        young_person_id = parse_uuid(id)
        if as_of is not None and (as_of.tzinfo is None or as_of.utcoffset() is None):
            raise graphql_error(INVALID_ARGUMENT, "asOf must carry a time zone")
        if wait_for_position is not None:
            await info.context.wait_for(wait_for_position)
        # Before anything else is read: unknown and out-of-reach ids answer alike.
        # The caseload view knows everyone referred: past this check the person exists.
        # Access is judged on the case as it stands now, also for a past date.
        await info.context.require_young_person(Permission.READ_YOUNG_PERSON, young_person_id.hex)
        if as_of is None:
            return YoungPerson.of(young_person_id)
        # The future is not known yet: a later moment is answered as of now.
        as_of = min(as_of, info.context.loaders.now)
        loaders = await loaders_as_of(info.context, young_person_id, as_of)
        return None if loaders is None else YoungPerson.of(young_person_id, loaders)
