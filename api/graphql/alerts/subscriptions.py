"""``alertRaised``: each alert raised in the subscriber's team, as it is raised.

The feed polls the alerts read model (``AlertsView.raised_after``) rather than listening in
the process: the sweeper that raises alerts may run in another process, and the read model
is where every process's alerts meet. One statement per poll and subscriber; the feed
starts at the head of the event log when the subscription starts, so it brings alerts
raised after that, and none twice.

A websocket connection lives long, and its context with it: each batch of alerts gets
fresh DataLoaders (and a fresh reading of the clock), so nested fields never answer from
a cache older than the alert.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from functools import partial

import anyio
import strawberry
from anyio import to_thread

from api.access import Permission
from api.graphql.alerts.queries import alert_team
from api.graphql.alerts.types import Alert
from api.graphql.context import Context
from api.graphql.permissions import Allowed
from projections.alerts import AlertsView

POLL_SECONDS = 0.5
"""How long the feed waits when it has caught up (tests shorten it)."""
BATCH = 200
"""Alerts read per poll at most; a fuller batch is followed by another read at once."""


@strawberry.type
class AlertSubscriptions:
    @strawberry.subscription(
        permission_classes=[Allowed(Permission.READ_ALERTS)],
        description="Each alert raised in the caller's team (or `teamId`, which must be "
        "the caller's own) from now on. Over websockets (graphql-transport-ws or "
        "graphql-ws); the bearer token goes in the upgrade request's Authorization header "
        "or in the connection_init payload as `Authorization`.",
    )
    async def alert_raised(
        self, info: strawberry.Info[Context, None], team_id: str | None = None
    ) -> AsyncGenerator[Alert, None]:
        context = info.context
        team = alert_team(context, team_id)
        app = context.services.app
        position = await to_thread.run_sync(lambda: app.recorder.max_notification_id() or 0)
        while True:
            rows = await context.read(
                partial(AlertsView.raised_after, position=position, limit=BATCH)
            )
            if rows:
                position = max(int(row["raised_position"]) for row in rows)
                context.renew_loaders()
                now = context.loaders.now
                ours = await context.still_in_team([row for row in rows if row["team_id"] == team])
                for row in ours:
                    yield Alert.from_row(row, now)
            if len(rows) < BATCH:
                await anyio.sleep(POLL_SECONDS)
