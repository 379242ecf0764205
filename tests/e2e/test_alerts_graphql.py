"""Quiet-transition alerts over GraphQL: the team's list by status, acknowledging and
resolving by mutation, resolution on a reached contact, open alerts on the caseload, and
who may see and act on them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import pytest

from domain.actors import Actor, Role
from domain.application import CommandContext
from tests.e2e.conftest import Api
from tests.factories import TEAM, a_contact, a_context, a_counsellor, a_transition
from tests.factories import enrolled_young_person as enrolled

SWEEPER = CommandContext(actor=Actor(id="alert-sweeper", role=Role.SYSTEM))
COUNSELLOR = Actor(id="counsellor-alerts", role=Role.COUNSELLOR)
QUIET_DAYS = 8  # past the default threshold of 7 days

ALERTS = """
query Alerts($status: AlertStatus!, $counsellor: ID, $first: Int! = 50, $after: String,
             $team: String, $position: Int) {
  alerts(status: $status, counsellorId: $counsellor, first: $first, after: $after,
         teamId: $team, waitForPosition: $position) {
    entries {
      id youngPersonId transitionId transitionKind counsellorId teamId level severity
      status phase quietSince dueAt raisedAt escalatedAt acknowledgedAt acknowledgedBy
      acknowledgementNote resolvedAt resolution resolutionReason daysQuiet
      youngPerson { id }
    }
    pageInfo { endCursor hasNextPage }
  }
}
"""

ACKNOWLEDGE = """
mutation Ack($person: ID!, $alert: ID!, $note: String!) {
  acknowledgeAlert(youngPersonId: $person, alertId: $alert, note: $note) {
    youngPersonId alertId position
  }
}
"""

RESOLVE = """
mutation Resolve($person: ID!, $alert: ID!, $reason: String!) {
  resolveAlert(youngPersonId: $person, alertId: $alert, reason: $reason) {
    youngPersonId alertId position
  }
}
"""


@dataclass(frozen=True)
class RaisedAlert:
    young_person_id: UUID
    alert_id: UUID
    transition_id: UUID
    counsellor_id: UUID
    position: int


def raise_alerts(api: Api, count: int = 1, team: str = TEAM) -> list[RaisedAlert]:
    """``count`` young people of one new counsellor, each with a transition left quiet
    past its threshold and its alert raised (as the sweeper does)."""
    app = api.services.app
    counsellor_id = a_counsellor(app, team_id=team, caseload_limit=count)
    started = []
    for _ in range(count):
        person = enrolled(app, counsellor_id=counsellor_id).young_person_id
        transition = app.start_transition(person, a_transition(), a_context())
        started.append((person, transition.ids["transition_id"]))
    api.clock.advance(days=QUIET_DAYS)
    raised = []
    for person, transition_id in started:
        result = app.raise_quiet_alert(person, transition_id, SWEEPER)
        raised.append(
            RaisedAlert(
                person, result.ids["alert_id"], transition_id, counsellor_id, result.position
            )
        )
    return raised


def team_token(api: Api, actor: Actor = COUNSELLOR, team: str = TEAM) -> str:
    return api.token_for(actor, team=team)


def graphql(api: Api, query: str, token: str | None, **variables: Any) -> dict[str, Any]:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    response = api.client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def data(api: Api, query: str, token: str | None = None, **variables: Any) -> Any:
    body = graphql(api, query, token or team_token(api), **variables)
    assert "errors" not in body, body["errors"]
    return body["data"]


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


def alerts_of(api: Api, counsellor_id: UUID, status: str, **variables: Any) -> list[Any]:
    page = data(api, ALERTS, status=status, counsellor=str(counsellor_id), **variables)
    entries: list[Any] = page["alerts"]["entries"]
    return entries


@pytest.fixture(scope="module", autouse=True)
def projections_running(api: Api) -> Iterator[None]:
    """Read models follow the log as in a serving process (queries wait for positions)."""
    api.services.projections.start_in_thread()
    yield
    api.services.projections.stop()


# --- the list, by status -----------------------------------------------------------------------


def test_alerts_are_listed_by_status_with_their_lifecycle(api: Api) -> None:
    left_open, acknowledged, resolved = raise_alerts(api, 3)
    token = team_token(api)
    data(
        api,
        ACKNOWLEDGE,
        token,
        person=str(acknowledged.young_person_id),
        alert=str(acknowledged.alert_id),
        note="calling her school tomorrow",
    )
    api.clock.advance(days=1)
    written = data(
        api,
        RESOLVE,
        token,
        person=str(resolved.young_person_id),
        alert=str(resolved.alert_id),
        reason="met him at the harbour",
    )["resolveAlert"]
    position = written["position"]
    api.clock.advance(days=1)

    def ids(status: str) -> list[str]:
        entries = alerts_of(api, left_open.counsellor_id, status, position=position)
        return [entry["id"] for entry in entries]

    assert ids("OPEN") == [str(left_open.alert_id)]
    assert ids("ACKNOWLEDGED") == [str(acknowledged.alert_id)]
    assert ids("RESOLVED") == [str(resolved.alert_id)]
    # Newest first: raised at the same moment, then by id descending.
    active = sorted([str(left_open.alert_id), str(acknowledged.alert_id)], reverse=True)
    assert ids("ACTIVE") == active
    assert written == {
        "youngPersonId": str(resolved.young_person_id),
        "alertId": str(resolved.alert_id),
        "position": position,
    }

    [seen] = alerts_of(api, left_open.counsellor_id, "ACKNOWLEDGED")
    assert seen["acknowledgementNote"] == "calling her school tomorrow"
    assert seen["acknowledgedBy"] == COUNSELLOR.id
    assert seen["status"] == "ACKNOWLEDGED"
    [gone] = alerts_of(api, left_open.counsellor_id, "RESOLVED")
    assert (gone["resolution"], gone["resolutionReason"]) == ("BY_HAND", "met him at the harbour")
    assert gone["daysQuiet"] == QUIET_DAYS + 1  # counted to the resolution, not to now
    [still] = alerts_of(api, left_open.counsellor_id, "OPEN")
    assert still == {
        **still,
        "youngPersonId": str(left_open.young_person_id),
        "youngPerson": {"id": str(left_open.young_person_id)},
        "transitionId": str(left_open.transition_id),
        "transitionKind": "SCHOOL_TO_YOUTH_EDUCATION",
        "counsellorId": str(left_open.counsellor_id),
        "teamId": TEAM,
        "level": "RAISED",
        "severity": "WARNING",
        "status": "OPEN",
        "phase": "PREPARING",
        "escalatedAt": None,
        "acknowledgedAt": None,
        "acknowledgementNote": None,
        "resolvedAt": None,
        "resolution": None,
        "daysQuiet": QUIET_DAYS + 2,
    }


def test_alerts_page_newest_first_with_a_cursor(api: Api) -> None:
    raised = raise_alerts(api, 3)
    counsellor_id = raised[0].counsellor_id
    position = raised[-1].position

    seen: list[str] = []
    after = None
    for _ in range(3):
        page = data(
            api,
            ALERTS,
            status="OPEN",
            counsellor=str(counsellor_id),
            first=2,
            after=after,
            position=position,
        )["alerts"]
        seen += [entry["id"] for entry in page["entries"]]
        after = page["pageInfo"]["endCursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break

    assert seen == sorted((str(alert.alert_id) for alert in raised), reverse=True)
    bad = graphql(api, ALERTS, team_token(api), status="OPEN", after="not-a-cursor")
    assert codes(bad) == ["invalid_argument"]


# --- acknowledging and resolving -------------------------------------------------------------


def test_a_blank_reason_and_an_ended_alert_are_refused(api: Api) -> None:
    [alert] = raise_alerts(api)
    person, alert_id = str(alert.young_person_id), str(alert.alert_id)
    before = api.position()

    blank = graphql(api, RESOLVE, team_token(api), person=person, alert=alert_id, reason=" ")

    assert codes(blank) == ["invalid_value"]
    assert api.position() == before
    data(api, RESOLVE, person=person, alert=alert_id, reason="reached her at school")
    after_resolving = api.position()

    again = graphql(api, ACKNOWLEDGE, team_token(api), person=person, alert=alert_id, note="x")

    assert codes(again) == ["alert_not_open"]
    assert again["data"] is None
    assert api.position() == after_resolving


def test_a_reached_contact_resolves_the_alert_by_itself(api: Api) -> None:
    [alert] = raise_alerts(api)
    contact = api.services.app.record_contact(alert.young_person_id, a_contact(), a_context())

    [resolved] = alerts_of(api, alert.counsellor_id, "RESOLVED", position=contact.position)

    assert resolved["id"] == str(alert.alert_id)
    assert resolved["resolution"] == "CONTACT_REACHED"
    assert resolved["resolutionReason"] is None
    assert alerts_of(api, alert.counsellor_id, "ACTIVE") == []


def test_an_attempt_leaves_the_alert_open(api: Api) -> None:
    [alert] = raise_alerts(api)
    attempt = api.services.app.record_contact(
        alert.young_person_id, a_contact(reached=False), a_context()
    )

    entries = alerts_of(api, alert.counsellor_id, "OPEN", position=attempt.position)

    assert [entry["id"] for entry in entries] == [str(alert.alert_id)]


# --- the caseload ------------------------------------------------------------------------------


def test_caseload_entries_carry_their_open_alerts(api: Api) -> None:
    quiet, acknowledged = raise_alerts(api, 2)
    written = data(
        api,
        ACKNOWLEDGE,
        person=str(acknowledged.young_person_id),
        alert=str(acknowledged.alert_id),
        note="texting him tonight",
    )["acknowledgeAlert"]
    query = """
    query Caseload($id: ID!, $position: Int) {
      caseload(counsellorId: $id, waitForPosition: $position) {
        entries { entries { youngPersonId openAlerts { id status level daysQuiet } } }
      }
    }
    """

    caseload = data(api, query, id=str(quiet.counsellor_id), position=written["position"])

    entries = caseload["caseload"]["entries"]["entries"]
    alerts = {entry["youngPersonId"]: entry["openAlerts"] for entry in entries}
    assert alerts == {
        str(quiet.young_person_id): [
            {"id": str(quiet.alert_id), "status": "OPEN", "level": "RAISED", "daysQuiet": 8}
        ],
        str(acknowledged.young_person_id): [
            {
                "id": str(acknowledged.alert_id),
                "status": "ACKNOWLEDGED",
                "level": "RAISED",
                "daysQuiet": 8,
            }
        ],
    }


# --- who may --------------------------------------------------------------------------------------


def test_alerts_are_scoped_to_the_callers_team(api: Api) -> None:
    [ours] = raise_alerts(api)
    [theirs] = raise_alerts(api, team="another-team")
    lead = api.token_for(Actor(id="lead-alerts", role=Role.TEAM_LEAD), team=TEAM)

    def team_alerts(token: str, **variables: Any) -> list[str]:
        page = data(
            api, ALERTS, token, status="OPEN", position=theirs.position, first=500, **variables
        )
        return [entry["id"] for entry in page["alerts"]["entries"]]

    mine = team_alerts(team_token(api))
    assert str(ours.alert_id) in mine and str(theirs.alert_id) not in mine
    assert str(ours.alert_id) in team_alerts(lead)
    assert team_alerts(team_token(api, team="another-team")) == [str(theirs.alert_id)]
    other_team = graphql(api, ALERTS, team_token(api), status="OPEN", team="another-team")
    assert codes(other_team) == ["forbidden"]


@pytest.mark.parametrize(
    "role", [Role.PARTNER, Role.AUDITOR, Role.EVALUATOR, Role.ADMIN], ids=lambda r: r.value
)
def test_other_roles_may_neither_read_nor_acknowledge_alerts(api: Api, role: Role) -> None:
    [alert] = raise_alerts(api)
    token = api.token_for(Actor(id=f"{role.value}-alerts", role=role), team=TEAM, institution="x")
    before = api.position()

    read = graphql(api, ALERTS, token, status="OPEN")
    ack = graphql(
        api,
        ACKNOWLEDGE,
        token,
        person=str(alert.young_person_id),
        alert=str(alert.alert_id),
        note="n",
    )

    assert codes(read) == codes(ack) == ["forbidden"]
    assert api.position() == before


def test_another_teams_counsellor_may_not_acknowledge(api: Api) -> None:
    [alert] = raise_alerts(api)
    before = api.position()

    body = graphql(
        api,
        ACKNOWLEDGE,
        team_token(api, team="another-team"),
        person=str(alert.young_person_id),
        alert=str(alert.alert_id),
        note="not mine",
    )
    unknown = graphql(
        api,
        ACKNOWLEDGE,
        team_token(api),
        person=str(UUID(int=99)),
        alert=str(alert.alert_id),
        note="nobody",
    )

    assert codes(body) == codes(unknown) == ["forbidden"]
    assert api.position() == before


def test_without_a_token_alerts_are_refused(api: Api) -> None:
    body = graphql(api, ALERTS, None, status="OPEN")

    assert codes(body) == ["unauthenticated"]
