"""Referrals: a partner institution refers a young person, with their consent."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter
from pydantic import Field

from api.access import Permission, Target
from api.deps import GuardDep, requires
from api.idempotency import CommandAccepted, CommandBody, CommandsDep
from api.rest.common import COMMAND_RESPONSES, Day, Name, Phone, RequiredText
from domain.values import ReferralDetails
from domain.vocabulary import ConsentScope

router = APIRouter(
    prefix="/referrals",
    tags=["referrals"],
    responses=COMMAND_RESPONSES,
    dependencies=[requires(Permission.REFER)],
)


class ReferralRequest(CommandBody):
    name: Name = Field(description="The young person's name.")
    date_of_birth: Day
    phone: Phone | None = None
    institution_id: UUID | None = Field(default=None, description="The referring institution.")
    referrer_name: Name
    reason: RequiredText = Field(description="A short description of why.")
    consent_scopes: list[ConsentScope] = Field(
        max_length=len(ConsentScope) * 2,
        description="What the young person consented to; `case_work` is required.",
    )

    def to_domain(self) -> ReferralDetails:
        return ReferralDetails(
            name=self.name,
            date_of_birth=self.date_of_birth,
            phone=self.phone,
            institution_id=self.institution_id,
            referrer_name=self.referrer_name,
            reason=self.reason,
            consent_scopes=tuple(dict.fromkeys(self.consent_scopes)),
        )


@router.post("", status_code=201)
def refer(body: ReferralRequest, commands: CommandsDep, guard: GuardDep) -> CommandAccepted:
    """Refer a young person to the team (answers with the new `young_person_id`).

    The referral needs the young person's consent to case work; the team reviews pending
    referrals once a week. A partner refers for its own institution only
    (`institution_id` must be the token's `institution`).
    """
    institution = None if body.institution_id is None else str(body.institution_id)
    guard.require(Permission.REFER, Target(institution_id=institution))
    return commands.run(body, lambda ctx: commands.app.refer(body.to_domain(), ctx))
