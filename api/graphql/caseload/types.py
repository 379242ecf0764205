"""GraphQL types of the caseload: a counsellor's active young people, at a glance."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

import strawberry

from api.graphql.alerts.types import Alert
from api.graphql.context import CaseloadKey, Context
from api.graphql.ids import graphql_id, parse_uuid
from api.graphql.pages import PageInfo, page_size
from api.graphql.young_person.parts import RiskFlag, optional_time
from api.graphql.young_person.types import YoungPerson
from domain.vocabulary import TransitionKind, TransitionPhase
from projections.caseload import days_since
from projections.columns import parse_date
from projections.store import Row


@strawberry.type(description="The transition a young person is in now.")
class CurrentTransition:
    id: strawberry.ID
    kind: TransitionKind
    phase: TransitionPhase
    started_at: datetime
    education_started_at: datetime | None


@strawberry.type(description="The next open milestone of the plan.")
class NextMilestone:
    id: strawberry.ID
    title: str | None = strawberry.field(description="Personal; null once erased.")
    due: date


@strawberry.type(description="One active young person in a caseload.")
class CaseloadEntry:
    young_person_id: strawberry.ID
    name: str | None = strawberry.field(description="Personal; null once erased.")
    enrolled_at: datetime | None
    last_reached_contact_at: datetime | None = strawberry.field(
        description="The last contact that reached the young person (attempts do not count)."
    )
    days_since_reached_contact: int | None = strawberry.field(
        description="Whole days from the last reached contact to the time of the request."
    )
    last_attempt_at: datetime | None = strawberry.field(
        description="The last unanswered call, text or missed meeting."
    )
    current_transition: CurrentTransition | None
    next_milestone: NextMilestone | None
    key: strawberry.Private[str]

    @classmethod
    def from_row(cls, row: Row, now: datetime) -> CaseloadEntry:
        transition = None
        if row["transition_id"] is not None:
            transition = CurrentTransition(
                id=strawberry.ID(row["transition_id"]),
                kind=TransitionKind(row["transition_kind"]),
                phase=TransitionPhase(row["transition_phase"]),
                started_at=datetime.fromisoformat(row["transition_started_at"]),
                education_started_at=optional_time(row["education_started_at"]),
            )
        milestone = None
        due = parse_date(row["next_milestone_due"])
        if row["next_milestone_id"] is not None and due is not None:
            milestone = NextMilestone(
                id=strawberry.ID(row["next_milestone_id"]),
                title=row["next_milestone_title"],
                due=due,
            )
        young_person_id = row["young_person_id"]
        return cls(
            young_person_id=graphql_id(young_person_id),
            name=row["name"],
            enrolled_at=optional_time(row["enrolled_at"]),
            last_reached_contact_at=optional_time(row["last_reached_contact_at"]),
            days_since_reached_contact=days_since(row["last_reached_contact_at"], now),
            last_attempt_at=optional_time(row["last_attempt_at"]),
            current_transition=transition,
            next_milestone=milestone,
            key=young_person_id,
        )

    @strawberry.field(description="Risk flags open at the time of the request.")
    async def open_flags(self, info: strawberry.Info[Context, None]) -> list[RiskFlag]:
        rows = await info.context.loaders.risk_flags.load(self.key)
        return [RiskFlag.from_row(row) for row in rows or []]

    @strawberry.field(description="Quiet-transition alerts open or acknowledged, newest first.")
    async def open_alerts(self, info: strawberry.Info[Context, None]) -> list[Alert]:
        rows = await info.context.loaders.open_alerts.load(self.key)
        now = info.context.loaders.now
        return [Alert.from_row(row, now) for row in rows or []]

    @strawberry.field(description="Everything else about the young person.")
    def young_person(self) -> YoungPerson:
        return YoungPerson.of(UUID(hex=self.key))


@strawberry.type(description="One page of a counsellor's active cases.")
class CaseloadPage:
    entries: list[CaseloadEntry]
    page_info: PageInfo


@strawberry.type(description="A counsellor's caseload: their active young people and load.")
class Caseload:
    counsellor_id: strawberry.ID
    name: str | None
    team_id: str
    caseload_limit: int
    active_count: int = strawberry.field(description="Active cases now.")
    key: strawberry.Private[str]

    @classmethod
    def from_row(cls, row: Row) -> Caseload:
        return cls(
            counsellor_id=graphql_id(row["counsellor_id"]),
            name=row["name"],
            team_id=row["team_id"],
            caseload_limit=int(row["caseload_limit"]),
            active_count=int(row["active_count"]),
            key=row["counsellor_id"],
        )

    @strawberry.field(description="Whether the counsellor carries more than the limit.")
    def over_limit(self) -> bool:
        return self.active_count > self.caseload_limit

    @strawberry.field(description="Active cases in young person id order, a page at a time.")
    async def entries(
        self, info: strawberry.Info[Context, None], first: int = 50, after: str | None = None
    ) -> CaseloadPage:
        size = page_size(first)
        after_key = None if after is None else parse_uuid(after, "after").hex
        # One more than asked: whether another page follows, without a count.
        rows = await info.context.loaders.caseload.load(CaseloadKey(self.key, size + 1, after_key))
        now = info.context.loaders.now
        page = rows[:size]
        shown = await info.context.still_in_team(page)
        entries = [CaseloadEntry.from_row(row, now) for row in shown]
        for entry in entries:  # each carries the young person's name
            info.context.read_personal_data(entry.key, "caseload")
        return CaseloadPage(
            entries=entries,
            page_info=PageInfo(
                # After the page read, shown or not: the next page goes on from there.
                end_cursor=str(graphql_id(page[-1]["young_person_id"])) if page else after,
                has_next_page=len(rows) > size,
            ),
        )
