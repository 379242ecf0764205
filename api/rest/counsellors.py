"""Counsellors (mentor and caseworker in one person) and their caseload limits."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter
from pydantic import Field, Strict

from api.access import Permission
from api.deps import requires
from api.idempotency import CommandAccepted, CommandBody, CommandsDep
from api.rest.common import COMMAND_RESPONSES, JsonInteger, Name, TeamId
from domain.vocabulary import CounsellorRole

router = APIRouter(
    prefix="/counsellors",
    tags=["counsellors"],
    responses=COMMAND_RESPONSES,
    dependencies=[requires(Permission.MANAGE_ORGANISATION)],
)

CASELOAD_LIMIT_MAX = 1000
CaseloadLimit = Annotated[int, Strict(), Field(ge=1, le=CASELOAD_LIMIT_MAX), JsonInteger]


class RegisterCounsellorRequest(CommandBody):
    name: Name
    team_id: TeamId = Field(description="The team, as the municipality names it.")
    role: CounsellorRole
    caseload_limit: CaseloadLimit = Field(description="Usually 15 to 20.")


class ChangeCaseloadLimitRequest(CommandBody):
    caseload_limit: CaseloadLimit


@router.post("", status_code=201)
def register_counsellor(body: RegisterCounsellorRequest, commands: CommandsDep) -> CommandAccepted:
    """Register a counsellor in a team; answers with `counsellor_id`."""
    return commands.run(
        body,
        lambda ctx: commands.app.register_counsellor(
            body.name, body.team_id, body.role, body.caseload_limit, ctx
        ),
    )


@router.post("/{counsellor_id}/caseload-limit", status_code=201)
def change_caseload_limit(
    counsellor_id: UUID, body: ChangeCaseloadLimitRequest, commands: CommandsDep
) -> CommandAccepted:
    """Change how many young people the counsellor should follow at most."""
    return commands.run(
        body,
        lambda ctx: commands.app.change_caseload_limit(counsellor_id, body.caseload_limit, ctx),
    )
