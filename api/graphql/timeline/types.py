"""GraphQL types of the timeline area, built from rows of the timeline view."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from api.graphql.context import Context, TimelineKey
from api.graphql.errors import INVALID_ARGUMENT, graphql_error
from projections.store import Row

MAX_PAGE = 1000


@strawberry.type(description="One fact of a young person's case, rendered for people.")
class TimelineEntry:
    position: int = strawberry.field(
        description="Position in the event log; pass it as `after` to read on from here."
    )
    occurred_at: datetime = strawberry.field(description="When it happened in the world.")
    recorded_at: datetime = strawberry.field(description="When it was recorded.")
    event_type: str = strawberry.field(description="The fact's name, e.g. `ContactRecorded`.")
    actor_id: str = strawberry.field(description="Who recorded it (a token's subject).")
    actor_role: str = strawberry.field(description="In which role they recorded it.")
    summary: str = strawberry.field(description="One line of English; names no one.")
    details: JSON = strawberry.field(
        description="The fact's fields: enums as values, dates in ISO 8601, ids in hex."
    )

    @classmethod
    def from_row(cls, row: Row) -> TimelineEntry:
        return cls(
            position=int(row["position"]),
            occurred_at=datetime.fromisoformat(row["occurred_at"]),
            recorded_at=datetime.fromisoformat(row["recorded_at"]),
            event_type=row["event_type"],
            actor_id=row["actor_id"],
            actor_role=row["actor_role"],
            summary=row["summary"],
            details=JSON(json.loads(row["details"])),
        )


@strawberry.type(description="A young person followed by the team.")
class YoungPerson:
    id: strawberry.ID
    key: strawberry.Private[str]  # the id as the views store it (hex)

    @classmethod
    def of(cls, young_person_id: UUID) -> YoungPerson:
        return cls(id=strawberry.ID(str(young_person_id)), key=young_person_id.hex)

    @strawberry.field(
        description="Every fact of the case in the order it happened (ties: log order)."
    )
    async def timeline(
        self,
        info: strawberry.Info[Context, None],
        first: Annotated[
            int | None,
            strawberry.argument(description=f"At most this many entries (0 to {MAX_PAGE})."),
        ] = None,
        after: Annotated[
            int | None,
            strawberry.argument(
                description="The position of an entry already seen: read on after it."
            ),
        ] = None,
    ) -> list[TimelineEntry]:
        if first is not None and not 0 <= first <= MAX_PAGE:
            raise graphql_error(INVALID_ARGUMENT, f"first must be between 0 and {MAX_PAGE}")
        rows = await info.context.loaders.timeline.load(TimelineKey(self.key, first, after))
        return [TimelineEntry.from_row(row) for row in rows]
