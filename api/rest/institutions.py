"""Partner institutions and their contact person in the team."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from api.access import Permission
from api.deps import requires
from api.idempotency import CommandAccepted, CommandBody, CommandsDep
from api.rest.common import COMMAND_RESPONSES, Name
from domain.vocabulary import InstitutionKind

router = APIRouter(
    prefix="/institutions",
    tags=["institutions"],
    responses=COMMAND_RESPONSES,
    dependencies=[requires(Permission.MANAGE_ORGANISATION)],
)


class RegisterInstitutionRequest(CommandBody):
    name: Name
    kind: InstitutionKind
    contact_counsellor_id: UUID | None = None


class AssignContactPersonRequest(CommandBody):
    counsellor_id: UUID


@router.post("", status_code=201)
def register_institution(
    body: RegisterInstitutionRequest, commands: CommandsDep
) -> CommandAccepted:
    """Register a partner institution; answers with `institution_id`."""
    return commands.run(
        body,
        lambda ctx: commands.app.register_institution(
            body.name, body.kind, body.contact_counsellor_id, ctx
        ),
    )


@router.post("/{institution_id}/contact-person", status_code=201)
def assign_contact_person(
    institution_id: UUID, body: AssignContactPersonRequest, commands: CommandsDep
) -> CommandAccepted:
    """Make a team member the institution's contact person."""
    return commands.run(
        body,
        lambda ctx: commands.app.assign_institution_contact(
            institution_id, body.counsellor_id, ctx
        ),
    )
