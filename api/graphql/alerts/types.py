"""GraphQL types of quiet-transition alerts, built from rows of the alerts read model.

An ``Alert`` is only ever built after access to its young person was checked (the alerts
of the caller's team, an entry of a caseload of the team, an alert raised in the team).
The acknowledgement note and the reason of a resolution by hand are personal data: their
fields note each read for the access log.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from uuid import UUID

import strawberry

from api.graphql.context import Context
from api.graphql.ids import graphql_id
from api.graphql.pages import PageInfo
from api.graphql.young_person.parts import optional_time
from api.graphql.young_person.types import YoungPerson
from domain.vocabulary import (
    AlertLevel,
    AlertResolution,
    AlertSeverity,
    QuietPhase,
    TransitionKind,
)
from projections.alerts import OPEN_STATUSES
from projections.caseload import days_since
from projections.columns import parse_utc
from projections.store import Row

strawberry.enum(
    AlertLevel, description="Who an alert is for: the counsellor, or the team lead too."
)
strawberry.enum(AlertSeverity, description="WARNING; HIGH once an institution reported absence.")
strawberry.enum(AlertResolution, description="How an alert ended.")
strawberry.enum(
    QuietPhase, description="Where in its course the transition was when it went quiet."
)


@strawberry.enum(description="Where an alert is in its life.")
class AlertStatus(Enum):
    OPEN = strawberry.enum_value(
        "open", description="Raised (or escalated); nobody has acknowledged it yet."
    )
    ACKNOWLEDGED = strawberry.enum_value(
        "acknowledged",
        description="Someone saw it and noted what they are doing; open until it resolves.",
    )
    RESOLVED = strawberry.enum_value(
        "resolved",
        description="Ended: contact reached, resolved by hand, or the transition or case ended.",
    )
    ACTIVE = strawberry.enum_value(
        "active", description="As a filter only: OPEN or ACKNOWLEDGED (never an alert's status)."
    )

    def statuses(self) -> list[str]:
        """The read model's statuses this value selects."""
        if self is AlertStatus.ACTIVE:
            return list(OPEN_STATUSES)
        return [str(self.value)]


@strawberry.type(
    description="A transition went quiet: nobody reached the young person within its "
    "threshold. Raised to the counsellor, escalated to the team lead if it stays quiet."
)
class Alert:
    id: strawberry.ID
    young_person_id: strawberry.ID
    transition_id: strawberry.ID
    transition_kind: TransitionKind | None = strawberry.field(
        description="Null for a transition whose kind is unknown."
    )
    counsellor_id: strawberry.ID | None = strawberry.field(
        description="The young person's counsellor (follows a hand-over while open)."
    )
    team_id: str | None
    level: AlertLevel
    severity: AlertSeverity
    status: AlertStatus
    phase: QuietPhase
    quiet_since: datetime = strawberry.field(
        description="The last reached contact, the start of the transition, or the last "
        "resolution by hand, whichever was latest."
    )
    due_at: datetime = strawberry.field(description="When the quiet crossed the threshold.")
    raised_at: datetime
    escalated_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None = strawberry.field(description="Who acknowledged (actor id).")
    resolved_at: datetime | None
    resolution: AlertResolution | None
    days_quiet: int = strawberry.field(
        description="Whole days of quiet: to the time of the request, or to the resolution."
    )
    key: strawberry.Private[str]
    young_person_key: strawberry.Private[str]
    note: strawberry.Private[str | None]
    reason: strawberry.Private[str | None]

    @classmethod
    def from_row(cls, row: Row, now: datetime) -> Alert:
        counsellor, kind = row["counsellor_id"], row["transition_kind"]
        resolved_at = optional_time(row["resolved_at"])
        quiet_until = now if resolved_at is None else resolved_at
        return cls(
            id=graphql_id(row["alert_id"]),
            young_person_id=graphql_id(row["young_person_id"]),
            transition_id=graphql_id(row["transition_id"]),
            transition_kind=None if kind is None else TransitionKind(kind),
            counsellor_id=None if counsellor is None else graphql_id(counsellor),
            team_id=row["team_id"],
            level=AlertLevel(row["level"]),
            severity=AlertSeverity(row["severity"]),
            status=AlertStatus(row["status"]),
            phase=QuietPhase(row["phase"]),
            quiet_since=parse_utc(row["quiet_since"]),
            due_at=parse_utc(row["due_at"]),
            raised_at=parse_utc(row["raised_at"]),
            escalated_at=optional_time(row["escalated_at"]),
            acknowledged_at=optional_time(row["acknowledged_at"]),
            acknowledged_by=row["acknowledged_by"],
            resolved_at=resolved_at,
            resolution=None if row["resolution"] is None else AlertResolution(row["resolution"]),
            days_quiet=days_since(row["quiet_since"], quiet_until) or 0,
            key=row["alert_id"],
            young_person_key=row["young_person_id"],
            note=row["acknowledgement_note"],
            reason=row["resolution_reason"],
        )

    @strawberry.field(description="The note of the acknowledgement. Personal; null once erased.")
    def acknowledgement_note(self, info: strawberry.Info[Context, None]) -> str | None:
        if self.note is not None:
            info.context.read_personal_data(self.young_person_key, "alerts")
        return self.note

    @strawberry.field(description="The reason of a resolution by hand. Personal; null once erased.")
    def resolution_reason(self, info: strawberry.Info[Context, None]) -> str | None:
        if self.reason is not None:
            info.context.read_personal_data(self.young_person_key, "alerts")
        return self.reason

    @strawberry.field(description="Everything else about the young person.")
    def young_person(self) -> YoungPerson:
        return YoungPerson.of(UUID(hex=self.young_person_key))


@strawberry.type(description="One page of alerts, newest first.")
class AlertPage:
    entries: list[Alert]
    page_info: PageInfo


@strawberry.type(description="An alert command was recorded.")
class AlertCommandPayload:
    young_person_id: strawberry.ID
    alert_id: strawberry.ID
    position: int = strawberry.field(
        description="The event log position written: pass it as `waitForPosition` to read "
        "your own write."
    )
