"""Contact with the young person, and agreed wake-up calls."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter
from pydantic import Field, Strict, StrictBool

from api.access import Permission
from api.deps import on_young_person
from api.idempotency import CommandAccepted, CommandBody, CommandsDep
from api.rest.common import COMMAND_RESPONSES, JsonInteger, Text, TimeOfDay
from domain.values import ContactDetails
from domain.vocabulary import Channel, Direction, Place, Purpose

router = APIRouter(
    prefix="/young-people",
    tags=["contact"],
    responses=COMMAND_RESPONSES,
    # Every command here works on the case of the path's young person.
    dependencies=[on_young_person(Permission.WORK_ON_CASE)],
)

Weekday = Annotated[int, Strict(), Field(ge=1, le=7), JsonInteger]
Minutes = Annotated[int, Strict(), Field(ge=0, le=24 * 60), JsonInteger]


class RecordContactRequest(CommandBody):
    channel: Channel
    direction: Direction
    place: Place | None = Field(default=None, description="Where a meeting took place.")
    purpose: Purpose
    reached: StrictBool = Field(
        description="Whether the young person was reached: an unanswered call or text is "
        "an attempt, not contact."
    )
    duration_minutes: Minutes | None = None
    note: Text = ""

    def to_domain(self) -> ContactDetails:
        return ContactDetails(
            channel=self.channel,
            direction=self.direction,
            place=self.place,
            purpose=self.purpose,
            reached=self.reached,
            duration_minutes=self.duration_minutes,
            note=self.note,
        )


class AgreeWakeUpRequest(CommandBody):
    wake_up_time: TimeOfDay = Field(description="Local time of the call or text, e.g. `07:00`.")
    weekdays: list[Weekday] = Field(
        min_length=1, max_length=7, description="ISO weekdays: 1 is Monday, 7 is Sunday."
    )
    channel: Channel


class EndWakeUpRequest(CommandBody):
    reason: Text = ""


@router.post("/{young_person_id}/contacts", status_code=201)
def record_contact(
    young_person_id: UUID, body: RecordContactRequest, commands: CommandsDep
) -> CommandAccepted:
    """Record a contact (or an attempt) with a young person; answers with `contact_id`."""
    return commands.run(
        body,
        lambda ctx: commands.app.record_contact(young_person_id, body.to_domain(), ctx),
    )


@router.post("/{young_person_id}/wake-up-agreement", status_code=201)
def agree_wake_up(
    young_person_id: UUID, body: AgreeWakeUpRequest, commands: CommandsDep
) -> CommandAccepted:
    """Agree morning wake-up calls or texts on the given weekdays."""
    return commands.run(
        body,
        lambda ctx: commands.app.agree_wake_up(
            young_person_id, body.wake_up_time, list(body.weekdays), body.channel, ctx
        ),
    )


@router.post("/{young_person_id}/wake-up-agreement/end", status_code=201)
def end_wake_up(
    young_person_id: UUID, body: EndWakeUpRequest, commands: CommandsDep
) -> CommandAccepted:
    """End the wake-up agreement."""
    return commands.run(
        body, lambda ctx: commands.app.end_wake_up(young_person_id, body.reason, ctx)
    )
