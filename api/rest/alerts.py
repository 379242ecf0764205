"""Quiet-transition alerts: acknowledging one with a note, resolving one by hand.

Alerts are raised, escalated and resolved on contact by the system (the sweeper and the
domain); people acknowledge them and may resolve them by hand. Both are for the
counsellors and team lead of the young person's team.
"""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from api.access import Permission
from api.deps import on_young_person
from api.idempotency import CommandAccepted, CommandBody, CommandsDep
from api.rest.common import COMMAND_RESPONSES, RequiredText

router = APIRouter(
    prefix="/young-people",
    tags=["alerts"],
    responses=COMMAND_RESPONSES,
    dependencies=[on_young_person(Permission.ACKNOWLEDGE_ALERT)],
)


class AcknowledgeAlertRequest(CommandBody):
    note: RequiredText


class ResolveAlertRequest(CommandBody):
    reason: RequiredText


@router.post("/{young_person_id}/alerts/{alert_id}/acknowledgement", status_code=201)
def acknowledge_alert(
    young_person_id: UUID, alert_id: UUID, body: AcknowledgeAlertRequest, commands: CommandsDep
) -> CommandAccepted:
    """Acknowledge an open alert with a note on what is being done; `alert_not_open` (409)
    once it has ended. Answers with `alert_id`."""
    return commands.run(
        body,
        lambda ctx: commands.app.acknowledge_alert(young_person_id, alert_id, body.note, ctx),
    )


@router.post("/{young_person_id}/alerts/{alert_id}/resolution", status_code=201)
def resolve_alert(
    young_person_id: UUID, alert_id: UUID, body: ResolveAlertRequest, commands: CommandsDep
) -> CommandAccepted:
    """Resolve an open alert by hand, with a reason: the transition counts as quiet again
    only from now. `alert_not_open` (409) once it has ended. Answers with `alert_id`."""
    return commands.run(
        body,
        lambda ctx: commands.app.resolve_alert(young_person_id, alert_id, body.reason, ctx),
    )
