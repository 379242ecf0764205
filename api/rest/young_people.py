"""A young person's case: review of the referral, enrolment, hand-over, consent, closing."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter
from pydantic import Field

from api.access import Permission
from api.deps import GuardDep, on_young_person
from api.idempotency import CommandAccepted, CommandBody, CommandsDep
from api.rest.common import COMMAND_RESPONSES, Day, RequiredText, Text
from domain.vocabulary import CaseOutcome, ConsentScope, ReviewOutcome

router = APIRouter(
    prefix="/young-people",
    tags=["young people"],
    responses=COMMAND_RESPONSES,
    # Every command here works on the case of the path's young person.
    dependencies=[on_young_person(Permission.WORK_ON_CASE)],
)


class ReviewReferralRequest(CommandBody):
    outcome: ReviewOutcome
    review_date: Day
    note: Text = ""


class EnrolRequest(CommandBody):
    counsellor_id: UUID
    over_limit_reason: RequiredText | None = Field(
        default=None, description="Needed to go beyond the counsellor's caseload limit."
    )


class AssignCounsellorRequest(CommandBody):
    counsellor_id: UUID
    reason: RequiredText
    over_limit_reason: RequiredText | None = None


class ConsentRequest(CommandBody):
    scope: ConsentScope
    institution_id: UUID | None = None


class CloseCaseRequest(CommandBody):
    outcome: CaseOutcome
    note: Text = ""


class ReopenCaseRequest(CommandBody):
    reason: RequiredText
    over_limit_reason: RequiredText | None = None


@router.post("/{young_person_id}/referral-review", status_code=201)
def review_referral(
    young_person_id: UUID, body: ReviewReferralRequest, commands: CommandsDep
) -> CommandAccepted:
    """Accept, decline or waitlist a referral at the weekly review."""
    return commands.run(
        body,
        lambda ctx: commands.app.review_referral(
            young_person_id, body.outcome, body.review_date, body.note, ctx
        ),
    )


@router.post("/{young_person_id}/enrolment", status_code=201)
def enrol(
    young_person_id: UUID, body: EnrolRequest, commands: CommandsDep, guard: GuardDep
) -> CommandAccepted:
    """Enrol an accepted young person with a counsellor, who takes on the case.

    Only into the caller's own team: the counsellor must belong to it (otherwise 403).
    Beyond the counsellor's caseload limit only with `over_limit_reason`
    (otherwise 409 `caseload_limit_exceeded`).
    """
    team = guard.counsellor_team(body.counsellor_id)
    if team is not None:
        guard.require(Permission.ENROL_IN_TEAM, team)
    return commands.run(
        body,
        lambda ctx: commands.app.enrol(
            young_person_id, body.counsellor_id, body.over_limit_reason, ctx
        ),
    )


@router.post("/{young_person_id}/counsellor-assignment", status_code=201)
def assign_counsellor(
    young_person_id: UUID, body: AssignCounsellorRequest, commands: CommandsDep
) -> CommandAccepted:
    """Hand the case over to another counsellor, with the reason."""
    return commands.run(
        body,
        lambda ctx: commands.app.assign_counsellor(
            young_person_id, body.counsellor_id, body.reason, body.over_limit_reason, ctx
        ),
    )


@router.post("/{young_person_id}/consents", status_code=201)
def record_consent(
    young_person_id: UUID, body: ConsentRequest, commands: CommandsDep
) -> CommandAccepted:
    """Record a consent the young person gave (for sharing: with the named institution)."""
    return commands.run(
        body,
        lambda ctx: commands.app.record_consent(
            young_person_id, body.scope, body.institution_id, ctx
        ),
    )


@router.post("/{young_person_id}/consent-withdrawals", status_code=201)
def withdraw_consent(
    young_person_id: UUID, body: ConsentRequest, commands: CommandsDep
) -> CommandAccepted:
    """Record that the young person withdrew a consent (possible after closing too)."""
    return commands.run(
        body,
        lambda ctx: commands.app.withdraw_consent(
            young_person_id, body.scope, body.institution_id, ctx
        ),
    )


@router.post("/{young_person_id}/closing", status_code=201)
def close_case(
    young_person_id: UUID, body: CloseCaseRequest, commands: CommandsDep
) -> CommandAccepted:
    """Close the case with its outcome; the counsellor's caseload place is freed."""
    return commands.run(
        body,
        lambda ctx: commands.app.close_case(young_person_id, body.outcome, body.note, ctx),
    )


@router.post("/{young_person_id}/reopening", status_code=201)
def reopen_case(
    young_person_id: UUID, body: ReopenCaseRequest, commands: CommandsDep
) -> CommandAccepted:
    """Reopen a closed case; it counts against the counsellor's caseload again."""
    return commands.run(
        body,
        lambda ctx: commands.app.reopen_case(
            young_person_id, body.reason, body.over_limit_reason, ctx
        ),
    )
