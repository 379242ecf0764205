"""Signals from partner institutions: absence, concern and dropout."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter
from pydantic import Field

from api.access import Permission
from api.deps import Guard, GuardDep, requires
from api.idempotency import CommandAccepted, CommandBody, CommandsDep
from api.rest.common import COMMAND_RESPONSES, Day, RequiredText, Text

router = APIRouter(
    prefix="/young-people",
    tags=["signals"],
    responses=COMMAND_RESPONSES,
    dependencies=[requires(Permission.REPORT_SIGNAL)],
)


def _check(guard: Guard, young_person_id: UUID, institution_id: UUID) -> None:
    """The young person's team may report; a partner for its own institution only."""
    guard.require(Permission.REPORT_SIGNAL, guard.young_person(young_person_id, institution_id))


class ReportAbsenceRequest(CommandBody):
    institution_id: UUID = Field(description="The reporting institution.")
    absent_from: Day
    absent_to: Day
    note: Text = ""


class ReportConcernRequest(CommandBody):
    institution_id: UUID = Field(description="The reporting institution.")
    note: RequiredText


class ReportDropoutRequest(CommandBody):
    institution_id: UUID = Field(description="The reporting institution.")
    note: Text = ""


@router.post("/{young_person_id}/absences", status_code=201)
def report_absence(
    young_person_id: UUID, body: ReportAbsenceRequest, commands: CommandsDep, guard: GuardDep
) -> CommandAccepted:
    """Report an absence from an institution (first and last day)."""
    _check(guard, young_person_id, body.institution_id)
    return commands.run(
        body,
        lambda ctx: commands.app.report_absence(
            young_person_id, body.institution_id, body.absent_from, body.absent_to, body.note, ctx
        ),
    )


@router.post("/{young_person_id}/concerns", status_code=201)
def report_concern(
    young_person_id: UUID, body: ReportConcernRequest, commands: CommandsDep, guard: GuardDep
) -> CommandAccepted:
    """Report an institution's concern about the young person."""
    _check(guard, young_person_id, body.institution_id)
    return commands.run(
        body,
        lambda ctx: commands.app.report_concern(
            young_person_id, body.institution_id, body.note, ctx
        ),
    )


@router.post("/{young_person_id}/dropouts", status_code=201)
def report_dropout(
    young_person_id: UUID, body: ReportDropoutRequest, commands: CommandsDep, guard: GuardDep
) -> CommandAccepted:
    """Report that the young person dropped out of an institution."""
    _check(guard, young_person_id, body.institution_id)
    return commands.run(
        body,
        lambda ctx: commands.app.report_dropout(
            young_person_id, body.institution_id, body.note, ctx
        ),
    )
