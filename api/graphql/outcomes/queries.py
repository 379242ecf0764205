"""The outcomes query (evaluators, team leads, auditors)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from api.access import Permission
from api.graphql.arguments import WaitForPosition
from api.graphql.context import Context
from api.graphql.errors import INVALID_ARGUMENT, graphql_error
from api.graphql.outcomes.types import Outcomes
from api.graphql.permissions import Allowed
from projections.outcome_figures import outcomes_as_of


@strawberry.type
class OutcomeQueries:
    @strawberry.field(
        permission_classes=[Allowed(Permission.READ_OUTCOMES)],
        description="What became of the young people as of `asOf` (default: now): how many "
        "were referred, enrolled, started and stayed in education (retention after 3, 6 and "
        "12 months, Kaplan-Meier style, by transition kind), time from referral to "
        "education, contacts per young person per week, dropouts and their timing, "
        "decisions and appeals. Only what happened by `asOf` counts. Aggregates only.",
    )
    async def outcomes(
        self,
        info: strawberry.Info[Context, None],
        as_of: datetime | None = None,
        wait_for_position: WaitForPosition = None,
    ) -> Outcomes:
        if as_of is not None and as_of.tzinfo is None:
            raise graphql_error(INVALID_ARGUMENT, "asOf needs a time zone")
        if wait_for_position is not None:
            await info.context.wait_for(wait_for_position)
        moment = info.context.loaders.now if as_of is None else as_of
        return Outcomes.of(await info.context.read(lambda cur: outcomes_as_of(cur, moment)))
