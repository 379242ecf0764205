"""Transitions: from school to youth education, basic to main course, benefits to education.

Support continues into the first weeks of the new education, where the risk of dropping
out is highest.
"""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter
from pydantic import Field

from api.access import Permission
from api.deps import on_young_person
from api.idempotency import CommandAccepted, CommandBody, CommandsDep
from api.rest.common import COMMAND_RESPONSES, Day, RequiredText, ShortText, Text
from domain.values import TransitionDetails
from domain.vocabulary import TransitionKind, TransitionStep

router = APIRouter(
    prefix="/young-people",
    tags=["transitions"],
    responses=COMMAND_RESPONSES,
    # Every command here works on the case of the path's young person.
    dependencies=[on_young_person(Permission.WORK_ON_CASE)],
)


class StartTransitionRequest(CommandBody):
    kind: TransitionKind
    from_situation: Text = Field(default="", description="Where the young person comes from.")
    to_institution_id: UUID | None = None
    programme: ShortText = ""
    expected_start: Day | None = None

    def to_domain(self) -> TransitionDetails:
        return TransitionDetails(
            kind=self.kind,
            from_situation=self.from_situation,
            to_institution_id=self.to_institution_id,
            programme=self.programme,
            expected_start=self.expected_start,
        )


class RecordStepRequest(CommandBody):
    step: TransitionStep
    note: Text = ""


class StartEducationRequest(CommandBody):
    institution_id: UUID | None = Field(
        default=None, description="Where the education started, if not the planned one."
    )


class CompleteTransitionRequest(CommandBody):
    pass


class AbandonTransitionRequest(CommandBody):
    reason: RequiredText


@router.post("/{young_person_id}/transitions", status_code=201)
def start_transition(
    young_person_id: UUID, body: StartTransitionRequest, commands: CommandsDep
) -> CommandAccepted:
    """Start a transition (after enrolment); answers with `transition_id`."""
    return commands.run(
        body,
        lambda ctx: commands.app.start_transition(young_person_id, body.to_domain(), ctx),
    )


@router.post("/{young_person_id}/transitions/{transition_id}/steps", status_code=201)
def record_transition_step(
    young_person_id: UUID, transition_id: UUID, body: RecordStepRequest, commands: CommandsDep
) -> CommandAccepted:
    """Record a step of an open transition (applied, admitted, first day, ...)."""
    return commands.run(
        body,
        lambda ctx: commands.app.record_transition_step(
            young_person_id, transition_id, body.step, body.note, ctx
        ),
    )


@router.post("/{young_person_id}/transitions/{transition_id}/education-start", status_code=201)
def start_education(
    young_person_id: UUID,
    transition_id: UUID,
    body: StartEducationRequest,
    commands: CommandsDep,
) -> CommandAccepted:
    """Record that the new education started: the first weeks are the danger zone."""
    return commands.run(
        body,
        lambda ctx: commands.app.start_education(
            young_person_id, transition_id, body.institution_id, ctx
        ),
    )


@router.post("/{young_person_id}/transitions/{transition_id}/completion", status_code=201)
def complete_transition(
    young_person_id: UUID,
    transition_id: UUID,
    body: CompleteTransitionRequest,
    commands: CommandsDep,
) -> CommandAccepted:
    """Record that the transition is complete."""
    return commands.run(
        body,
        lambda ctx: commands.app.complete_transition(young_person_id, transition_id, ctx),
    )


@router.post("/{young_person_id}/transitions/{transition_id}/abandonment", status_code=201)
def abandon_transition(
    young_person_id: UUID,
    transition_id: UUID,
    body: AbandonTransitionRequest,
    commands: CommandsDep,
) -> CommandAccepted:
    """Record that the transition was abandoned, and why."""
    return commands.run(
        body,
        lambda ctx: commands.app.abandon_transition(
            young_person_id, transition_id, body.reason, ctx
        ),
    )
