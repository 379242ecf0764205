"""The young person type: every read model about one young person, loaded per request in
batches (a list of young people costs one query per read model, not one per person).

A ``YoungPerson`` is only ever built after access to them was checked (the root field, or
a caseload of the caller's team); fields that read personal data note it for the access
log."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import strawberry

from api.graphql.context import Context, Loaders, TimelineKey
from api.graphql.decision_audit.types import AuditedDecision
from api.graphql.errors import INVALID_ARGUMENT, graphql_error
from api.graphql.timeline.types import TimelineEntry
from api.graphql.young_person.parts import Plan, RiskFlag, Transition, loaders_of

MAX_PAGE = 1000


def check_page_size(first: int | None) -> None:
    if first is not None and not 0 <= first <= MAX_PAGE:
        raise graphql_error(INVALID_ARGUMENT, f"first must be between 0 and {MAX_PAGE}")


@strawberry.type(description="A young person followed by the team.")
class YoungPerson:
    id: strawberry.ID
    key: strawberry.Private[str]  # the id as the views store it (hex)
    # The read models as they stood at a date (``as_of``); None: the live ones.
    loaders: strawberry.Private[Loaders | None] = None

    @classmethod
    def of(cls, young_person_id: UUID, loaders: Loaders | None = None) -> YoungPerson:
        return cls(id=strawberry.ID(str(young_person_id)), key=young_person_id.hex, loaders=loaders)

    @strawberry.field(
        description="The name given at the referral. Personal; null once erased (with "
        "`asOf` too: an erased name is gone from the past as well)."
    )
    async def name(self, info: strawberry.Info[Context, None]) -> str | None:
        # The caseload view's row: the live one is already loaded by the access check.
        row = await loaders_of(info, self.loaders).caseload_entry.load(self.key)
        name: str | None = None if row is None else row["name"]
        if name is not None:
            info.context.read_personal_data(self.key, "name")
        return name

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
        check_page_size(first)
        rows = await loaders_of(info, self.loaders).timeline.load(
            TimelineKey(self.key, first, after)
        )
        if rows:
            info.context.read_personal_data(self.key, "timeline")
        return [TimelineEntry.from_row(row) for row in rows]

    @strawberry.field(
        description="The dropout-risk flags open at the time of the request (or at `asOf`), "
        "most severe first, each with the rule that raised it and why."
    )
    async def risk_flags(self, info: strawberry.Info[Context, None]) -> list[RiskFlag]:
        rows = await loaders_of(info, self.loaders).risk_flags.load(self.key)
        return [RiskFlag.from_row(row) for row in rows or []]

    @strawberry.field(description="The plan with its milestones; null before one is drafted.")
    async def plan(self, info: strawberry.Info[Context, None]) -> Plan | None:
        row = await loaders_of(info, self.loaders).plan.load(self.key)
        if row is None:
            return None
        info.context.read_personal_data(self.key, "plan")
        return Plan.from_row(row, self.loaders)

    @strawberry.field(description="Every transition, newest first.")
    async def transitions(self, info: strawberry.Info[Context, None]) -> list[Transition]:
        loaders = loaders_of(info, self.loaders)
        rows = await loaders.transitions.load(self.key)
        if rows:
            info.context.read_personal_data(self.key, "transitions")
        return [Transition.from_row(row, loaders.now, self.loaders) for row in rows or []]

    @strawberry.field(
        description="Every authority decision about the young person, newest first (by when "
        "it was decided), with its legal completeness checks and the appeal's course, as "
        "the decision audit keeps them (no free text). With `asOf`: those made by then, "
        "their course as it stood then."
    )
    async def decisions(self, info: strawberry.Info[Context, None]) -> list[AuditedDecision]:
        rows = await loaders_of(info, self.loaders).decisions.load(self.key)
        if rows:
            info.context.read_personal_data(self.key, "decisions")
        return [AuditedDecision.from_row(row) for row in rows or []]
