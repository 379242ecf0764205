"""GraphQL types of the timeline area, built from rows of the timeline view."""

from __future__ import annotations

import json
from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from projections.store import Row


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
        description="The fact's fields: enums as values, dates in ISO 8601, ids in hex. "
        "After erasure the personal fields are null."
    )
    personal_data_erased: bool = strawberry.field(
        description="The young person's personal data was erased: what happened, when and "
        "by whom remains, the personal fields of `details` are null."
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
            personal_data_erased=bool(row["personal_data_erased"]),
        )
