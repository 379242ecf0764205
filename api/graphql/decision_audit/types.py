"""GraphQL types of the decision audit, built from ``DecisionAuditView`` entries."""

from __future__ import annotations

from datetime import datetime

import strawberry

from api.graphql.ids import graphql_id
from api.graphql.pages import PageInfo
from domain.vocabulary import (
    AppealOutcome,
    Channel,
    DecisionKind,
    DecisionStatus,
    DeclaredRole,
    NotificationMethod,
    ReadinessLevel,
)
from projections.columns import parse_utc
from projections.decision_checks import PROVENANCE_DAYS, Check
from projections.store import Row

strawberry.enum(DecisionKind)
strawberry.enum(DecisionStatus)
strawberry.enum(DeclaredRole, description="The role the decider told the young person of.")
strawberry.enum(AppealOutcome)
strawberry.enum(NotificationMethod)
strawberry.enum(ReadinessLevel)
strawberry.enum(Channel)


def _time(text: str | None) -> datetime | None:
    return None if text is None else parse_utc(text)


def _id(hex_id: str | None) -> strawberry.ID | None:
    return None if hex_id is None else graphql_id(hex_id)


@strawberry.type(description="One legal completeness check of a decision.")
class AuditCheck:
    name: str = strawberry.field(
        description="`reasons_with_legal_basis`, `hearing`, `appeal_guidance`, "
        "`injunction_content`, `drawn_up_with_young_person` or `attempts_to_reach`."
    )
    passed: bool | None = strawberry.field(
        description="False: incomplete. Null: cannot tell any more (the young person's "
        "personal data was erased)."
    )
    explanation: str
    rule_version: int | None = strawberry.field(
        description="The version of the rule applied, for rules with versions."
    )

    @classmethod
    def of(cls, check: Check) -> AuditCheck:
        return cls(
            name=check.name,
            passed=check.passed,
            explanation=check.explanation,
            rule_version=check.rule_version,
        )


@strawberry.type(description="Mentor and authority in one person, and whether it was said.")
class DualRole:
    decider_is_mentor: bool = strawberry.field(
        description="The decider was the young person's counsellor at the decision."
    )
    mentor_id: strawberry.ID | None = strawberry.field(
        description="The young person's counsellor at the decision."
    )
    declared_role: DeclaredRole
    role_declared: bool = strawberry.field(description="A role was declared at all.")
    openly_declared: bool = strawberry.field(
        description="The decider is the mentor and declared both roles (the open dual role)."
    )


@strawberry.type(description="What became of the decision.")
class AppealCourse:
    status: DecisionStatus
    appealed_at: datetime | None
    outcome: AppealOutcome | None
    appeal_decided_at: datetime | None
    revoked_at: datetime | None
    superseded_by: strawberry.ID | None = strawberry.field(
        description="The revised injunction that replaced this one."
    )
    superseded_at: datetime | None


@strawberry.type
class ChannelContacts:
    channel: Channel
    contacts: int = strawberry.field(description="Recorded, reached or not.")
    reached: int


@strawberry.type(
    description=f"What the decider could see on the day: the {PROVENANCE_DAYS} days before "
    "the decision, as recorded before it."
)
class Provenance:
    window_days: int
    contacts: int = strawberry.field(description="Contacts recorded, reached or not.")
    contacts_reached: int
    by_channel: list[ChannelContacts]
    plan_drafted: bool
    milestones_open: int
    milestones_reached: int
    milestones_missed: int
    absences: int = strawberry.field(description="Absences reported by institutions.")
    concerns: int
    dropouts: int


@strawberry.type(description="An authority decision and its legal audit.")
class AuditedDecision:
    decision_id: strawberry.ID
    young_person_id: strawberry.ID
    kind: DecisionKind
    decision_type: str = strawberry.field(
        description="The event: `ReadinessAssessed`, `EducationInjunctionIssued`, "
        "`EducationInjunctionRevised`, `SanctionDecided` or `OtherDecisionMade`."
    )
    readiness_level: ReadinessLevel | None
    revises_decision_id: strawberry.ID | None
    occurred_at: datetime
    recorded_at: datetime
    decided_by: strawberry.ID
    fully_in_favour: bool
    notified_via: NotificationMethod
    legal_basis_present: bool
    complete: bool | None = strawberry.field(
        description="False when a check failed; null when none failed but one cannot tell."
    )
    checks: list[AuditCheck]
    dual_role: DualRole
    appeal_course: AppealCourse
    provenance: Provenance
    personal_data_erased: bool

    @classmethod
    def from_row(cls, row: Row) -> AuditedDecision:
        role = DeclaredRole(row["declared_role"])
        level, outcome = row["readiness_level"], row["appeal_outcome"]
        return cls(
            decision_id=graphql_id(row["decision_id"]),
            young_person_id=graphql_id(row["young_person_id"]),
            kind=DecisionKind(row["kind"]),
            decision_type=row["event_type"],
            readiness_level=None if level is None else ReadinessLevel(level),
            revises_decision_id=_id(row["revises_decision_id"]),
            occurred_at=parse_utc(row["occurred_at"]),
            recorded_at=parse_utc(row["recorded_at"]),
            decided_by=graphql_id(row["decided_by"]),
            fully_in_favour=row["fully_in_favour"],
            notified_via=NotificationMethod(row["notified_via"]),
            legal_basis_present=row["legal_basis_present"],
            complete=row["complete"],
            checks=[AuditCheck.of(check) for check in row["checks"]],
            dual_role=DualRole(
                decider_is_mentor=row["decider_is_mentor"],
                mentor_id=_id(row["mentor_id"]),
                declared_role=role,
                role_declared=role is not DeclaredRole.NOT_DECLARED,
                openly_declared=row["decider_is_mentor"]
                and role is DeclaredRole.MENTOR_AND_AUTHORITY,
            ),
            appeal_course=AppealCourse(
                status=DecisionStatus(row["status"]),
                appealed_at=_time(row["appealed_at"]),
                outcome=None if outcome is None else AppealOutcome(outcome),
                appeal_decided_at=_time(row["appeal_decided_at"]),
                revoked_at=_time(row["revoked_at"]),
                superseded_by=_id(row["superseded_by"]),
                superseded_at=_time(row["superseded_at"]),
            ),
            provenance=Provenance(
                window_days=PROVENANCE_DAYS,
                contacts=row["contacts"],
                contacts_reached=row["contacts_reached"],
                by_channel=[
                    ChannelContacts(channel=Channel(channel), contacts=contacts, reached=reached)
                    for channel, (contacts, reached) in row["contacts_by_channel"].items()
                ],
                plan_drafted=row["plan_drafted"],
                milestones_open=row["milestones_open"],
                milestones_reached=row["milestones_reached"],
                milestones_missed=row["milestones_missed"],
                absences=row["absences"],
                concerns=row["concerns"],
                dropouts=row["dropouts"],
            ),
            personal_data_erased=row["personal_data_erased"],
        )


@strawberry.type(description="One page of the decision audit, oldest decision first.")
class DecisionAuditPage:
    total: int = strawberry.field(description="Decisions matching the filter, in all.")
    entries: list[AuditedDecision]
    page_info: PageInfo
