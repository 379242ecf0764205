"""Acknowledging an alert with a note, and resolving it by hand with a reason.

A command is judged on the state it will change: the young person's team comes from the
write side (as for REST commands), and an unknown young person is refused like another
team's. Domain errors keep their own codes (``CodedErrors``), for example
``alert_not_open``.
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

import strawberry
from anyio import to_thread

from api.access import Permission
from api.deps import Guard
from api.graphql.alerts.types import AlertCommandPayload
from api.graphql.context import Context
from api.graphql.errors import INVALID_ARGUMENT, UNAUTHENTICATED, graphql_error
from api.graphql.ids import parse_uuid
from api.graphql.permissions import Allowed
from api.rest.common import TEXT_MAX
from domain.application import CommandContext, CommandResult


def _text(value: str, argument: str) -> str:
    # Blank is the domain's to refuse (`invalid_value`); size is the edge's.
    if len(value) > TEXT_MAX:
        raise graphql_error(INVALID_ARGUMENT, f"{argument} must be at most {TEXT_MAX} characters")
    # As REST's text (api.rest.common): PostgreSQL cannot store a NUL in the alerts view.
    if "\x00" in value:
        raise graphql_error(INVALID_ARGUMENT, f"{argument} must not contain NUL characters")
    return value


async def _run(
    context: Context,
    young_person_id: UUID,
    alert_id: UUID,
    command: Callable[[CommandContext], CommandResult],
) -> AlertCommandPayload:
    principal = context.principal
    if principal is None:
        raise graphql_error(UNAUTHENTICATED, "a bearer token is required")
    guard = Guard(principal, context.services)

    def run() -> CommandResult:
        # Loading the aggregate may touch the database: off the event loop, with the command.
        guard.require(Permission.ACKNOWLEDGE_ALERT, guard.young_person(young_person_id))
        return command(CommandContext(actor=principal.actor))

    result = await to_thread.run_sync(run)
    return AlertCommandPayload(
        young_person_id=strawberry.ID(str(young_person_id)),
        alert_id=strawberry.ID(str(alert_id)),
        position=result.position,
    )


@strawberry.type
class AlertMutations:
    @strawberry.mutation(
        permission_classes=[Allowed(Permission.ACKNOWLEDGE_ALERT)],
        description="Acknowledge an open alert with a note on what is being done "
        "(a young person of the caller's team). `alert_not_open` if it has ended.",
    )
    async def acknowledge_alert(
        self,
        info: strawberry.Info[Context, None],
        young_person_id: strawberry.ID,
        alert_id: strawberry.ID,
        note: str,
    ) -> AlertCommandPayload:
        person = parse_uuid(young_person_id, "youngPersonId")
        alert = parse_uuid(alert_id, "alertId")
        text = _text(note, "note")
        app = info.context.services.app
        return await _run(
            info.context, person, alert, lambda ctx: app.acknowledge_alert(person, alert, text, ctx)
        )

    @strawberry.mutation(
        permission_classes=[Allowed(Permission.ACKNOWLEDGE_ALERT)],
        description="Resolve an open alert by hand, with a reason; the quiet counts anew "
        "from now. `alert_not_open` if it has ended.",
    )
    async def resolve_alert(
        self,
        info: strawberry.Info[Context, None],
        young_person_id: strawberry.ID,
        alert_id: strawberry.ID,
        reason: str,
    ) -> AlertCommandPayload:
        person = parse_uuid(young_person_id, "youngPersonId")
        alert = parse_uuid(alert_id, "alertId")
        text = _text(reason, "reason")
        app = info.context.services.app
        return await _run(
            info.context, person, alert, lambda ctx: app.resolve_alert(person, alert, text, ctx)
        )
