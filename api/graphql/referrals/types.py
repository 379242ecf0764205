"""GraphQL types of the referral queue."""

from __future__ import annotations

from datetime import date, datetime

import strawberry

from api.graphql.ids import graphql_id
from api.graphql.pages import PageInfo
from domain.vocabulary import ConsentScope
from projections.columns import parse_date, parse_utc
from projections.store import Row

strawberry.enum(ConsentScope)


@strawberry.type(description="A referral waiting for the team's weekly review.")
class PendingReferral:
    young_person_id: strawberry.ID
    status: str = strawberry.field(description="`referred`, or `waitlisted` at a review.")
    referred_at: datetime
    days_waiting: int = strawberry.field(description="Whole days since the referral.")
    institution_id: strawberry.ID | None = strawberry.field(
        description="The referring institution, if a partner referred."
    )
    consent_scopes: list[ConsentScope] = strawberry.field(
        description="What the young person has consented to."
    )
    waitlisted_on: date | None

    @classmethod
    def from_row(cls, row: Row) -> PendingReferral:
        institution = row["institution_id"]
        return cls(
            young_person_id=graphql_id(row["young_person_id"]),
            status=row["status"],
            referred_at=parse_utc(row["referred_at"]),
            days_waiting=int(row["days_waiting"]),
            institution_id=None if institution is None else graphql_id(institution),
            consent_scopes=[ConsentScope(scope) for scope in row["consent_scopes"]],
            waitlisted_on=parse_date(row["waitlisted_on"]),
        )


@strawberry.type(description="One page of the referral queue, oldest first.")
class ReferralQueuePage:
    total: int = strawberry.field(description="Pending referrals in all.")
    entries: list[PendingReferral]
    page_info: PageInfo
