"""``alertRaised`` over websockets (graphql-transport-ws and graphql-ws): an alert raised
after subscribing reaches the subscriber of its team, and only theirs; a connection
without a valid token is refused."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from api.graphql.alerts import subscriptions
from domain.actors import Actor, Role
from projections.alerts import AlertsView
from projections.store import Row, ViewCursor
from tests.e2e.conftest import Api
from tests.e2e.test_alerts_graphql import raise_alerts, team_token
from tests.factories import TEAM

SUBSCRIPTION = """
subscription Raised($team: String) {
  alertRaised(teamId: $team) { id youngPersonId teamId level status daysQuiet youngPerson { id } }
}
"""
TRANSPORT_WS = "graphql-transport-ws"
GRAPHQL_WS = "graphql-ws"
WAIT = 10.0  # seconds; only a failure waits this long


class FirstPoll:
    """Set once the feed has read the read model: from then on its start is fixed, so an
    alert raised now is one raised after subscribing."""

    def __init__(self) -> None:
        self.polled = threading.Event()
        self._read = AlertsView.raised_after

    def raised_after(self, cur: ViewCursor, position: int, limit: int) -> list[Row]:
        rows = self._read(cur, position, limit)
        self.polled.set()
        return rows

    def wait(self) -> None:
        assert self.polled.wait(WAIT), "the subscription never polled"
        self.polled.clear()


@pytest.fixture(scope="module", autouse=True)
def projections_running(api: Api) -> Iterator[None]:
    api.services.projections.start_in_thread()
    yield
    api.services.projections.stop()


@pytest.fixture
def first_poll(monkeypatch: pytest.MonkeyPatch) -> FirstPoll:
    spy = FirstPoll()
    monkeypatch.setattr(subscriptions, "POLL_SECONDS", 0.02)
    monkeypatch.setattr(subscriptions.AlertsView, "raised_after", spy.raised_after)
    return spy


def connect(api: Api, token: str | None, protocol: str = TRANSPORT_WS, header: bool = False) -> Any:
    # A dashboard served from its own origin: accepted (tokens are never cookies).
    headers = {"Origin": "https://dashboard.example"}
    if header and token:
        headers["Authorization"] = f"Bearer {token}"
    return api.client.websocket_connect("/graphql", subprotocols=[protocol], headers=headers)


def initialise(ws: WebSocketTestSession, payload: dict[str, Any] | None) -> dict[str, Any]:
    ws.send_json({"type": "connection_init", **({} if payload is None else {"payload": payload})})
    message: dict[str, Any] = ws.receive_json()
    return message


def subscribe(ws: WebSocketTestSession, **variables: Any) -> None:
    ws.send_json(
        {
            "id": "1",
            "type": "subscribe",
            "payload": {"query": SUBSCRIPTION, "variables": variables},
        }
    )


def test_an_alert_raised_after_subscribing_reaches_its_teams_subscriber(
    api: Api, first_poll: FirstPoll
) -> None:
    with connect(api, None) as ws:
        ack = initialise(ws, {"Authorization": f"Bearer {team_token(api)}"})
        assert ack["type"] == "connection_ack"
        subscribe(ws)
        first_poll.wait()
        [elsewhere] = raise_alerts(api, team="another-team")  # first in the log
        [alert] = raise_alerts(api)

        message = ws.receive_json()

        assert message["type"] == "next", message
        assert message["id"] == "1"
        assert message["payload"]["data"]["alertRaised"] == {
            "id": str(alert.alert_id),
            "youngPersonId": str(alert.young_person_id),
            "teamId": TEAM,
            "level": "RAISED",
            "status": "OPEN",
            "daysQuiet": 8,
            "youngPerson": {"id": str(alert.young_person_id)},
        }
        assert str(elsewhere.alert_id) != message["payload"]["data"]["alertRaised"]["id"]
        ws.send_json({"id": "1", "type": "complete"})


def test_the_token_may_come_in_the_upgrade_request_and_the_legacy_protocol_works(
    api: Api, first_poll: FirstPoll
) -> None:
    lead = api.token_for(Actor(id="lead-subscriber", role=Role.TEAM_LEAD), team=TEAM)
    with connect(api, lead, GRAPHQL_WS, header=True) as ws:
        assert initialise(ws, None)["type"] == "connection_ack"
        ws.send_json({"id": "1", "type": "start", "payload": {"query": SUBSCRIPTION}})
        first_poll.wait()
        [alert] = raise_alerts(api)

        message = ws.receive_json()

        assert message["type"] == "data", message
        assert message["payload"]["data"]["alertRaised"]["id"] == str(alert.alert_id)
        ws.send_json({"id": "1", "type": "stop"})


def test_a_connection_without_a_valid_token_is_refused(api: Api) -> None:
    for payload in (None, {}, {"Authorization": "Bearer not-a-token"}):
        with connect(api, None) as ws:
            ws.send_json(
                {"type": "connection_init", **({} if payload is None else {"payload": payload})}
            )
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_json()
            assert closed.value.code == 4403


def test_another_teams_feed_and_other_roles_are_forbidden(api: Api) -> None:
    auditor = api.token_for(Actor(id="auditor-subscriber", role=Role.AUDITOR))
    for token, variables in ((team_token(api), {"team": "another-team"}), (auditor, {})):
        with connect(api, None) as ws:
            assert initialise(ws, {"Authorization": f"Bearer {token}"})["type"] == "connection_ack"
            subscribe(ws, **variables)

            message = ws.receive_json()

            assert message["type"] in ("error", "next"), message
            errors = (
                message["payload"] if message["type"] == "error" else message["payload"]["errors"]
            )
            assert [error["extensions"]["code"] for error in errors] == ["forbidden"]
