"""GraphQL types of the access log."""

from __future__ import annotations

from datetime import datetime

import strawberry

from api.deps import AccessLogEntry as Entry
from api.graphql.pages import PageInfo


@strawberry.type(description="A read of a young person's personal data.")
class AccessLogEntry:
    at: datetime = strawberry.field(description="When it was read.")
    actor_id: str = strawberry.field(description="Who read it (the token's subject).")
    actor_role: str = strawberry.field(description="In which role.")
    what: str = strawberry.field(
        description="What was read: `timeline`, `plan`, `transitions`, `caseload` (an "
        "entry with the name) or `export`."
    )
    young_person_id: strawberry.ID = strawberry.field(description="Whose data it was.")

    @classmethod
    def of(cls, entry: Entry) -> AccessLogEntry:
        return cls(
            at=entry.at,
            actor_id=entry.actor_id,
            actor_role=entry.actor_role,
            what=entry.what,
            young_person_id=strawberry.ID(str(entry.young_person_id)),
        )


@strawberry.type(description="One page of the access log, in the order it was recorded.")
class AccessLogPage:
    entries: list[AccessLogEntry]
    page_info: PageInfo
