"""The alerts of the caller's team, newest first, a page at a time."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from uuid import UUID

import strawberry

from api.access import Permission, Target
from api.graphql.alerts.types import Alert, AlertPage, AlertStatus
from api.graphql.arguments import WaitForPosition
from api.graphql.context import Context
from api.graphql.errors import INVALID_ARGUMENT, graphql_error
from api.graphql.ids import parse_uuid
from api.graphql.pages import DEFAULT_PAGE, PageInfo, page_size
from api.graphql.permissions import Allowed
from projections.alerts import AlertsView
from projections.columns import parse_utc
from projections.store import Row


def alert_team(context: Context, team_id: str | None) -> str | None:
    """The team whose alerts the caller asks for (their own by default), after checking
    that they may read them: another team's are refused (`forbidden`)."""
    principal = context.principal
    team = team_id if team_id is not None else (principal.team if principal else None)
    context.require(Permission.READ_ALERTS, Target(team=team))
    return team


@dataclass(frozen=True)
class AlertCursor:
    """Just after the alert with these values (keyset paging, newest first)."""

    raised_at: str
    alert_id: str

    @classmethod
    def after_row(cls, row: Row) -> AlertCursor:
        return cls(row["raised_at"], row["alert_id"])

    def encode(self) -> str:
        """An opaque text for clients (the ``after`` argument)."""
        raw = f"{self.raised_at}|{self.alert_id}".encode()
        return base64.urlsafe_b64encode(raw).decode("ascii")

    @classmethod
    def decode(cls, text: str) -> AlertCursor:
        """The cursor ``encode`` made; ValueError for anything else."""
        try:
            raised_at, alert_id = base64.urlsafe_b64decode(text.encode("ascii")).decode().split("|")
            parse_utc(raised_at)
            UUID(hex=alert_id)
        except (ValueError, UnicodeError, binascii.Error):
            raise ValueError("not an alerts cursor") from None
        return cls(raised_at, alert_id)


@strawberry.type
class AlertQueries:
    @strawberry.field(
        permission_classes=[Allowed(Permission.READ_ALERTS)],
        description="Alerts of quiet transitions in the caller's team (or `teamId`, which "
        "must be the caller's own), newest first.",
    )
    async def alerts(
        self,
        info: strawberry.Info[Context, None],
        status: AlertStatus = AlertStatus.OPEN,
        first: int = DEFAULT_PAGE,
        after: str | None = None,
        team_id: str | None = None,
        counsellor_id: strawberry.ID | None = None,
        wait_for_position: WaitForPosition = None,
    ) -> AlertPage:
        team = alert_team(info.context, team_id)
        size = page_size(first)
        try:
            cursor = None if after is None else AlertCursor.decode(after)
        except ValueError:
            raise graphql_error(INVALID_ARGUMENT, "after is not an alerts cursor") from None
        counsellor = None if counsellor_id is None else parse_uuid(counsellor_id, "counsellorId")
        if wait_for_position is not None:
            await info.context.wait_for(wait_for_position)
        rows = await info.context.read(
            lambda cur: AlertsView.alerts(
                cur,
                statuses=status.statuses(),
                team_id=team,
                counsellor_id=None if counsellor is None else counsellor.hex,
                young_person_ids=None,
                after=None if cursor is None else (cursor.raised_at, cursor.alert_id),
                # One more than asked: whether another page follows, without a count.
                limit=size + 1,
            )
        )
        page = rows[:size]
        now = info.context.loaders.now
        return AlertPage(
            entries=[Alert.from_row(row, now) for row in await info.context.still_in_team(page)],
            page_info=PageInfo(
                end_cursor=AlertCursor.after_row(page[-1]).encode() if page else after,
                has_next_page=len(rows) > size,
            ),
        )
