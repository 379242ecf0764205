"""The plan made together with the young person: its goal, milestones and reviews."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter
from pydantic import Field, StrictBool

from api.access import Permission
from api.deps import on_young_person
from api.idempotency import CommandAccepted, CommandBody, CommandsDep
from api.rest.common import COMMAND_RESPONSES, Day, Name, RequiredText, Text

router = APIRouter(
    prefix="/young-people",
    tags=["plan"],
    responses=COMMAND_RESPONSES,
    # Every command here works on the case of the path's young person.
    dependencies=[on_young_person(Permission.WORK_ON_CASE)],
)


class DraftPlanRequest(CommandBody):
    goal: RequiredText = Field(description="What the course is for, in the young person's words.")
    drafted_together: StrictBool


class SetMilestoneRequest(CommandBody):
    title: Name
    due: Day


class MilestoneNoteRequest(CommandBody):
    note: Text = ""


class RescheduleMilestoneRequest(CommandBody):
    due: Day
    reason: Text = ""


class DropMilestoneRequest(CommandBody):
    reason: Text = ""


class ReviewPlanRequest(CommandBody):
    note: Text = ""
    next_review: Day | None = None


@router.post("/{young_person_id}/plan", status_code=201)
def draft_plan(
    young_person_id: UUID, body: DraftPlanRequest, commands: CommandsDep
) -> CommandAccepted:
    """Write down the plan's goal (after enrolment)."""
    return commands.run(
        body,
        lambda ctx: commands.app.draft_plan(young_person_id, body.goal, body.drafted_together, ctx),
    )


@router.post("/{young_person_id}/milestones", status_code=201)
def set_milestone(
    young_person_id: UUID, body: SetMilestoneRequest, commands: CommandsDep
) -> CommandAccepted:
    """Set a milestone of the plan; answers with `milestone_id`."""
    return commands.run(
        body,
        lambda ctx: commands.app.set_milestone(young_person_id, body.title, body.due, ctx),
    )


@router.post("/{young_person_id}/milestones/{milestone_id}/reached", status_code=201)
def reach_milestone(
    young_person_id: UUID, milestone_id: UUID, body: MilestoneNoteRequest, commands: CommandsDep
) -> CommandAccepted:
    """Record that a milestone was reached (once)."""
    return commands.run(
        body,
        lambda ctx: commands.app.reach_milestone(young_person_id, milestone_id, body.note, ctx),
    )


@router.post("/{young_person_id}/milestones/{milestone_id}/missed", status_code=201)
def miss_milestone(
    young_person_id: UUID, milestone_id: UUID, body: MilestoneNoteRequest, commands: CommandsDep
) -> CommandAccepted:
    """Record that a milestone was missed."""
    return commands.run(
        body,
        lambda ctx: commands.app.miss_milestone(young_person_id, milestone_id, body.note, ctx),
    )


@router.post("/{young_person_id}/milestones/{milestone_id}/rescheduled", status_code=201)
def reschedule_milestone(
    young_person_id: UUID,
    milestone_id: UUID,
    body: RescheduleMilestoneRequest,
    commands: CommandsDep,
) -> CommandAccepted:
    """Move an open or missed milestone to a new due date."""
    return commands.run(
        body,
        lambda ctx: commands.app.reschedule_milestone(
            young_person_id, milestone_id, body.due, body.reason, ctx
        ),
    )


@router.post("/{young_person_id}/milestones/{milestone_id}/dropped", status_code=201)
def drop_milestone(
    young_person_id: UUID, milestone_id: UUID, body: DropMilestoneRequest, commands: CommandsDep
) -> CommandAccepted:
    """Drop an open or missed milestone from the plan."""
    return commands.run(
        body,
        lambda ctx: commands.app.drop_milestone(young_person_id, milestone_id, body.reason, ctx),
    )


@router.post("/{young_person_id}/plan-reviews", status_code=201)
def review_plan(
    young_person_id: UUID, body: ReviewPlanRequest, commands: CommandsDep
) -> CommandAccepted:
    """Record a review of the plan, and when the next one is due."""
    return commands.run(
        body,
        lambda ctx: commands.app.review_plan(young_person_id, body.note, body.next_review, ctx),
    )
