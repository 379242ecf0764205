"""GraphQL types of a young person's risk flags, plan and transitions, built from view rows."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from api.graphql.context import Context, Loaders
from domain.vocabulary import MilestoneStatus, TransitionKind, TransitionPhase, TransitionStep
from projections.columns import parse_date, parse_utc
from projections.risk_rules import Severity
from projections.store import Row
from projections.transitions import days_since_start

strawberry.enum(Severity, description="How much a risk flag should worry the team.")
strawberry.enum(MilestoneStatus)
strawberry.enum(TransitionKind)
strawberry.enum(TransitionPhase)
strawberry.enum(TransitionStep)


def optional_time(text: str | None) -> datetime | None:
    return None if text is None else parse_utc(text)


def loaders_of(info: strawberry.Info[Context, None], own: Loaders | None) -> Loaders:
    """The loaders an object answers from: its own (a young person as of a date, and
    everything below it) or else the request's (the live read models)."""
    return info.context.loaders if own is None else own


@strawberry.type(description="An event that raised a risk flag.")
class EventRef:
    position: int = strawberry.field(description="Its position in the event log.")
    version: int = strawberry.field(description="Its version in the young person's stream.")
    event_type: str = strawberry.field(description="The fact's name.")


@strawberry.type(description="An explainable dropout-risk flag, open now.")
class RiskFlag:
    rule: str = strawberry.field(description="The rule that raised it, e.g. `quiet_transition`.")
    rule_version: int = strawberry.field(description="The version of the rule in force.")
    severity: Severity
    subject: str | None = strawberry.field(
        description="The transition or milestone it is about (hex id), if any."
    )
    since: datetime = strawberry.field(description="When the condition became true.")
    open_until: datetime | None = strawberry.field(
        description="When it ends by itself unless something happens first; null: only a "
        "fact ends it."
    )
    raised_by: list[EventRef] = strawberry.field(description="The events that raised it.")
    details: JSON = strawberry.field(description="The rule's thresholds and the facts it saw.")

    @classmethod
    def from_row(cls, row: Row) -> RiskFlag:
        refs: list[dict[str, Any]] = json.loads(row["raised_by"])
        return cls(
            rule=row["rule"],
            rule_version=int(row["rule_version"]),
            severity=Severity(row["severity"]),
            subject=row["subject"] or None,
            since=parse_utc(row["since"]),
            open_until=optional_time(row["open_until"]),
            raised_by=[
                EventRef(position=ref["position"], version=ref["version"], event_type=ref["event"])
                for ref in refs
            ],
            details=JSON(json.loads(row["details"])),
        )


@strawberry.type(description="A milestone of the plan.")
class Milestone:
    id: strawberry.ID
    title: str | None = strawberry.field(description="Personal; null once erased.")
    due: date
    originally_due: date
    status: MilestoneStatus
    set_at: datetime
    resolved_at: datetime | None
    times_rescheduled: int

    @classmethod
    def from_row(cls, row: Row) -> Milestone:
        return cls(
            id=strawberry.ID(row["milestone_id"]),
            title=row["title"],
            due=date.fromisoformat(row["due"]),
            originally_due=date.fromisoformat(row["originally_due"]),
            status=MilestoneStatus(row["status"]),
            set_at=parse_utc(row["set_at"]),
            resolved_at=optional_time(row["resolved_at"]),
            times_rescheduled=int(row["times_rescheduled"]),
        )


@strawberry.type(description="The plan the young person and the counsellor wrote together.")
class Plan:
    goal: str | None = strawberry.field(description="Personal; null once erased.")
    drafted_together: bool
    first_drafted_at: datetime
    drafted_at: datetime = strawberry.field(description="When the current goal was drafted.")
    times_drafted: int
    last_reviewed_at: datetime | None
    next_review: date | None
    times_reviewed: int
    young_person_key: strawberry.Private[str]
    loaders: strawberry.Private[Loaders | None] = None

    @classmethod
    def from_row(cls, row: Row, loaders: Loaders | None = None) -> Plan:
        return cls(
            goal=row["goal"],
            drafted_together=bool(row["drafted_together"]),
            first_drafted_at=parse_utc(row["first_drafted_at"]),
            drafted_at=parse_utc(row["drafted_at"]),
            times_drafted=int(row["times_drafted"]),
            last_reviewed_at=optional_time(row["last_reviewed_at"]),
            next_review=parse_date(row["next_review"]),
            times_reviewed=int(row["times_reviewed"]),
            young_person_key=row["young_person_id"],
            loaders=loaders,
        )

    @strawberry.field(description="Every milestone, by due date.")
    async def milestones(self, info: strawberry.Info[Context, None]) -> list[Milestone]:
        rows = await loaders_of(info, self.loaders).milestones.load(self.young_person_key)
        return [Milestone.from_row(row) for row in rows or []]


@strawberry.type(description="A step on the way through a transition.")
class TransitionStepEntry:
    step: TransitionStep
    occurred_at: datetime
    note: str | None = strawberry.field(description="Personal; null once erased.")


@strawberry.type(description="A transition: from one situation into education or work.")
class Transition:
    id: strawberry.ID
    kind: TransitionKind
    phase: TransitionPhase
    from_situation: str | None = strawberry.field(description="Personal; null once erased.")
    programme: str | None = strawberry.field(description="Personal; null once erased.")
    to_institution_id: strawberry.ID | None
    expected_start: date | None
    started_at: datetime
    education_started_at: datetime | None
    education_institution_id: strawberry.ID | None
    ended_at: datetime | None
    days_since_start: int = strawberry.field(
        description="Whole days from the start to the day of the request (UTC), or of "
        "`asOf` for a young person as of a date."
    )
    loaders: strawberry.Private[Loaders | None] = None

    @classmethod
    def from_row(cls, row: Row, now: datetime, loaders: Loaders | None = None) -> Transition:
        return cls(
            id=strawberry.ID(row["transition_id"]),
            kind=TransitionKind(row["kind"]),
            phase=TransitionPhase(row["phase"]),
            from_situation=row["from_situation"],
            programme=row["programme"],
            to_institution_id=_optional_id(row["to_institution_id"]),
            expected_start=parse_date(row["expected_start"]),
            started_at=parse_utc(row["started_at"]),
            education_started_at=optional_time(row["education_started_at"]),
            education_institution_id=_optional_id(row["education_institution_id"]),
            ended_at=optional_time(row["ended_at"]),
            days_since_start=days_since_start(row["started_at"], now.date()),
            loaders=loaders,
        )

    @strawberry.field(description="Its steps, in the order they happened.")
    async def steps(self, info: strawberry.Info[Context, None]) -> list[TransitionStepEntry]:
        rows = await loaders_of(info, self.loaders).transition_steps.load(str(self.id))
        return [
            TransitionStepEntry(
                step=TransitionStep(row["step"]),
                occurred_at=parse_utc(row["occurred_at"]),
                note=row["note"],
            )
            for row in rows or []
        ]


def _optional_id(value: str | None) -> strawberry.ID | None:
    return None if value is None else strawberry.ID(value)
