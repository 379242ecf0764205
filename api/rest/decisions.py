"""Authority decisions, and their appeals and revocations.

The counsellor is also the official who decides. Every decision carries what
Forvaltningsloven asks of it (legal basis, reasons, facts, hearing, appeal guidance when
not fully in the young person's favour), so it stands up to legal audit.
"""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Body
from pydantic import Field, StrictBool

from api.access import Permission
from api.deps import on_young_person
from api.idempotency import CommandAccepted, CommandBody, CommandsDep
from api.rest.common import COMMAND_RESPONSES, Day, Name, RequiredText, Text
from domain.application import CommandContext, CommandResult, Overgang
from domain.decisions import DecisionContent
from domain.values import InjunctionDetails
from domain.vocabulary import (
    AppealOutcome,
    DeclaredRole,
    NotificationMethod,
    ReadinessLevel,
)

router = APIRouter(
    prefix="/young-people",
    tags=["decisions"],
    responses=COMMAND_RESPONSES,
    # Every command here works on the case of the path's young person.
    dependencies=[on_young_person(Permission.WORK_ON_CASE)],
)


class DecisionFields(CommandBody):
    """What every decision carries (Forvaltningsloven sections 19, 22, 24 and 25)."""

    legal_basis: Name = Field(description='The provision relied on, e.g. "LAB § 21 b".')
    reasons: Text
    main_considerations: Text
    facts_relied_on: Text
    fully_in_favour: StrictBool
    hearing_held_on: Day | None = Field(default=None, description="Partshøring, section 19.")
    hearing_omitted_reason: Text | None = Field(
        default=None, description="Why no hearing was required, if none was held."
    )
    appeal_guidance: Text | None = Field(
        default=None,
        description="Klagevejledning (section 25): required unless fully in favour.",
    )
    notified_via: NotificationMethod
    decided_by: UUID = Field(description="The counsellor who decided.")
    declared_role: DeclaredRole = Field(
        description="The role the decider told the young person they were acting in."
    )

    def content(self) -> DecisionContent:
        return DecisionContent(
            legal_basis=self.legal_basis,
            reasons=self.reasons,
            main_considerations=self.main_considerations,
            facts_relied_on=self.facts_relied_on,
            fully_in_favour=self.fully_in_favour,
            hearing_held_on=self.hearing_held_on,
            hearing_omitted_reason=self.hearing_omitted_reason,
            appeal_guidance=self.appeal_guidance,
            notified_via=self.notified_via,
            decided_by=self.decided_by,
            declared_role=self.declared_role,
        )


class InjunctionFields(DecisionFields):
    education_goal: RequiredText
    deadline: Day | None = None
    support_offered: RequiredText  # Ankestyrelsen 87-14: the support offered is required
    drawn_up_with_young_person: StrictBool

    def injunction(self) -> InjunctionDetails:
        return InjunctionDetails(
            education_goal=self.education_goal,
            deadline=self.deadline,
            support_offered=self.support_offered,
            drawn_up_with_young_person=self.drawn_up_with_young_person,
        )


class ReadinessAssessmentRequest(DecisionFields):
    kind: Literal["readiness_assessment"]
    level: ReadinessLevel

    def record(self, app: Overgang, young_person_id: UUID, ctx: CommandContext) -> CommandResult:
        return app.assess_readiness(young_person_id, self.level, self.content(), ctx)


class EducationInjunctionRequest(InjunctionFields):
    kind: Literal["education_injunction"]

    def record(self, app: Overgang, young_person_id: UUID, ctx: CommandContext) -> CommandResult:
        return app.issue_injunction(young_person_id, self.injunction(), self.content(), ctx)


class InjunctionRevisionRequest(InjunctionFields):
    kind: Literal["injunction_revision"]
    revises_decision_id: UUID
    changes: RequiredText

    def record(self, app: Overgang, young_person_id: UUID, ctx: CommandContext) -> CommandResult:
        return app.revise_injunction(
            young_person_id,
            self.revises_decision_id,
            self.injunction(),
            self.changes,
            self.content(),
            ctx,
        )


class SanctionRequest(DecisionFields):
    kind: Literal["sanction"]
    reduction: Name = Field(description="The reduction of benefits decided.")

    def record(self, app: Overgang, young_person_id: UUID, ctx: CommandContext) -> CommandResult:
        return app.decide_sanction(young_person_id, self.reduction, self.content(), ctx)


class OtherDecisionRequest(DecisionFields):
    kind: Literal["other"]
    subject: Name

    def record(self, app: Overgang, young_person_id: UUID, ctx: CommandContext) -> CommandResult:
        return app.make_other_decision(young_person_id, self.subject, self.content(), ctx)


DecisionRequest = Annotated[
    ReadinessAssessmentRequest
    | EducationInjunctionRequest
    | InjunctionRevisionRequest
    | SanctionRequest
    | OtherDecisionRequest,
    Field(discriminator="kind"),
]


class AppealRequest(CommandBody):
    note: Text = ""


class DecideAppealRequest(CommandBody):
    outcome: AppealOutcome
    note: Text = ""


class RevokeDecisionRequest(CommandBody):
    reason: RequiredText


@router.post("/{young_person_id}/decisions", status_code=201)
def make_decision(
    young_person_id: UUID, body: Annotated[DecisionRequest, Body()], commands: CommandsDep
) -> CommandAccepted:
    """Record an authority decision; `kind` says which. Answers with `decision_id`.

    A decision that is not fully in the young person's favour must carry appeal guidance
    (otherwise 422 `appeal_guidance_missing`).
    """
    return commands.run(body, lambda ctx: body.record(commands.app, young_person_id, ctx))


@router.post("/{young_person_id}/decisions/{decision_id}/appeal", status_code=201)
def appeal_decision(
    young_person_id: UUID, decision_id: UUID, body: AppealRequest, commands: CommandsDep
) -> CommandAccepted:
    """Record that the young person appealed a decision in force."""
    return commands.run(
        body,
        lambda ctx: commands.app.appeal_decision(young_person_id, decision_id, body.note, ctx),
    )


@router.post("/{young_person_id}/decisions/{decision_id}/appeal-decision", status_code=201)
def decide_appeal(
    young_person_id: UUID, decision_id: UUID, body: DecideAppealRequest, commands: CommandsDep
) -> CommandAccepted:
    """Record the appeal body's decision on a pending appeal."""
    return commands.run(
        body,
        lambda ctx: commands.app.decide_appeal(
            young_person_id, decision_id, body.outcome, body.note, ctx
        ),
    )


@router.post("/{young_person_id}/decisions/{decision_id}/revocation", status_code=201)
def revoke_decision(
    young_person_id: UUID, decision_id: UUID, body: RevokeDecisionRequest, commands: CommandsDep
) -> CommandAccepted:
    """Revoke a decision."""
    return commands.run(
        body,
        lambda ctx: commands.app.revoke_decision(young_person_id, decision_id, body.reason, ctx),
    )
